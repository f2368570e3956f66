// The demo shop's data files (demo/shop/*), compiled into the binary by
// embed.cmake. Internal to the demo module.
#pragma once

#include <string_view>
#include <vector>

namespace kefu::demo {

struct EmbeddedFile {
  std::string_view name;  // file name, e.g. "orders.json"
  std::string_view data;  // contents, UTF-8
};

// Static storage; safe to call from any thread.
const std::vector<EmbeddedFile>& EmbeddedFiles();

}  // namespace kefu::demo
