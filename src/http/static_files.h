// Static file serving for Server::Static (module-private). Thread-safe: a
// mount is immutable after construction and reads files on each request.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/server.h"

namespace kefu::http::internal {

struct StaticMount {
  std::string prefix;  // "/" or "/app" (no trailing slash except for "/")
  std::string dir;     // absolute, canonical
  bool spa_fallback = false;
};

// Content type for a file name by extension ("application/octet-stream" default).
std::string_view ContentTypeFor(std::string_view filename);

// The response for a GET of decoded `path`, or nullopt when `path` is not
// under the mount's prefix. A path that would escape the directory ("..") gets
// 404, as does a missing file without SPA fallback.
std::optional<Response> ServeStatic(const StaticMount& mount, std::string_view path,
                                    std::string_view if_none_match, std::string_view if_modified_since);

}  // namespace kefu::http::internal
