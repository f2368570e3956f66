#include "llm/http_target.h"

#include <algorithm>
#include <exception>

#include <boost/beast/core/error.hpp>

namespace kefu::llm {

Result<HttpTarget> ParseBaseUrl(std::string_view base_url, std::string_view route, const std::string& key) {
  HttpTarget t;
  std::string_view url = base_url;
  const std::string got = " (got '" + std::string(base_url) + "')";
  if (url.starts_with("http://")) {
    url.remove_prefix(7);
    t.port = "80";
  } else if (url.starts_with("https://")) {
    url.remove_prefix(8);
    t.tls = true;
    t.port = "443";
  } else {
    return InvalidArgument(key + " must start with http:// or https://" + got);
  }
  const size_t slash = url.find('/');
  const std::string_view authority = url.substr(0, slash);
  std::string path(slash == std::string_view::npos ? std::string_view() : url.substr(slash));
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (!path.ends_with(route)) path += route;
  t.path = std::move(path);
  if (!authority.empty() && authority.front() == '[') {  // [ipv6]:port
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return InvalidArgument(key + " has a malformed IPv6 host");
    t.host = std::string(authority.substr(1, close - 1));
    const std::string_view rest = authority.substr(close + 1);
    if (rest.starts_with(":")) t.port = std::string(rest.substr(1));
  } else {
    const size_t colon = authority.rfind(':');
    t.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) t.port = std::string(authority.substr(colon + 1));
  }
  if (t.host.empty()) return InvalidArgument(key + " has no host" + got);
  if (t.port.empty() || t.port.size() > 5 ||
      !std::all_of(t.port.begin(), t.port.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return InvalidArgument(key + " has a bad port" + got);
  return t;
}

Result<std::unique_ptr<boost::asio::ssl::context>> MakeTlsClientContext() {
  namespace ssl = boost::asio::ssl;
  try {
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    boost::beast::error_code ec;
    ctx->set_default_verify_paths(ec);
    if (ec) return Unavailable("cannot load the system CA certificates: " + ec.message());
    ctx->set_verify_mode(ssl::verify_peer, ec);
    if (ec) return Internal("cannot enable TLS peer verification: " + ec.message());
    return ctx;
  } catch (const std::exception& e) {
    return Internal(std::string("cannot create the TLS context: ") + e.what());
  }
}

}  // namespace kefu::llm
