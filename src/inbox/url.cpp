#include "inbox/url.h"

#include <algorithm>
#include <cctype>
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

bool IsPrivateAddress(const boost::asio::ip::address& a) {
  if (a.is_v6()) {
    const auto v6 = a.to_v6();
    if (v6.is_v4_mapped()) return IsPrivateAddress(boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6));
    const auto b = v6.to_bytes();
    return v6.is_loopback() || v6.is_unspecified() || v6.is_link_local() || v6.is_multicast() ||
           (b[0] & 0xfe) == 0xfc;  // fc00::/7 unique local
  }
  const uint32_t v = a.to_v4().to_uint();
  auto in = [v](uint32_t net, int bits) { return (v >> (32 - bits)) == (net >> (32 - bits)); };
  return in(0x00000000, 8) || in(0x0a000000, 8) || in(0x7f000000, 8) || in(0x64400000, 10) ||
         in(0xa9fe0000, 16) || in(0xac100000, 12) || in(0xc0a80000, 16) || in(0xc0000000, 24) ||
         in(0xe0000000, 4) || in(0xf0000000, 4);
}

bool IsPrivateHost(const std::string& host) {
  std::string h = host;
  std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  while (!h.empty() && h.back() == '.') h.pop_back();
  if (h == "localhost" || h.ends_with(".localhost")) return true;
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(h, ec);
  return !ec && IsPrivateAddress(addr);
}

}  // namespace kefu::inbox
