// URL parsing for webhook endpoints (module-private).
#pragma once

#include <string>

#include "common/status.h"

namespace kefu::inbox {

struct ParsedUrl {
  bool tls = false;
  std::string host;  // without brackets for IPv6
  std::string port;  // "80" / "443" when absent
  std::string path;  // path + query, at least "/"
};

// Accepts http://host[:port][/path][?query] and https://...; rejects user
// info, fragments, whitespace and control characters, and anything over
// 2,000 bytes.
Result<ParsedUrl> ParseUrl(const std::string& url);

}  // namespace kefu::inbox
