#include "inbox/url.h"

#include <algorithm>
#include <string_view>

namespace kefu::inbox {

Result<ParsedUrl> ParseUrl(const std::string& url) {
  if (url.size() > 2000) return InvalidArgument("url is longer than 2000 bytes");
  for (unsigned char c : url)
    if (c <= 0x20 || c == 0x7f) return InvalidArgument("url must not contain spaces or control characters");
  ParsedUrl p;
  std::string_view rest = url;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
    p.port = "80";
  } else if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
    p.tls = true;
    p.port = "443";
  } else {
    return InvalidArgument("url must start with http:// or https://");
  }
  if (rest.find('#') != std::string_view::npos) return InvalidArgument("url must not have a fragment");
  size_t end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, end);
  std::string_view path = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (authority.find('@') != std::string_view::npos) return InvalidArgument("url must not contain user info");
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return InvalidArgument("url has a malformed IPv6 host");
    p.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return InvalidArgument("url has a malformed host");
      p.port = std::string(after.substr(1));
    }
  } else {
    size_t colon = authority.rfind(':');
    p.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) p.port = std::string(authority.substr(colon + 1));
  }
  if (p.host.empty()) return InvalidArgument("url has no host");
  if (p.port.empty() || p.port.size() > 5 ||
      !std::all_of(p.port.begin(), p.port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoi(p.port) < 1 || std::stoi(p.port) > 65535)
    return InvalidArgument("url has a bad port");
  p.path = path.empty() ? "/" : std::string(path);
  if (p.path.front() == '?') p.path = "/" + p.path;
  return p;
}

}  // namespace kefu::inbox
