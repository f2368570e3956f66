// URL parsing for webhook endpoints (module-private).
#pragma once

#include <string>

#include <boost/asio/ip/address.hpp>

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

// True for addresses a webhook must not reach unless private targets are
// allowed (server-side request forgery): loopback, private (RFC 1918, IPv6
// unique-local), link-local (169.254/16 incl. cloud metadata, fe80::/10),
// carrier-grade NAT (100.64/10), "this network" (0/8, ::), multicast and
// reserved ranges; IPv4-mapped IPv6 addresses are judged by their IPv4 part.
bool IsPrivateAddress(const boost::asio::ip::address& a);
// For endpoint URLs: a host that is "localhost" (or *.localhost) or an IP
// literal for which IsPrivateAddress holds. Host names are checked again
// after resolution, at delivery.
bool IsPrivateHost(const std::string& host);

}  // namespace kefu::inbox
