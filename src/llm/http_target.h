// The server an OpenAI-compatible client talks to, read from its base_url, and
// the TLS context for https:// (shared by llm::OpenAiClient and the voice
// engines' voice::OpenAiHttp).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/ssl/context.hpp>

#include "common/status.h"

namespace kefu::llm {

struct HttpTarget {
  bool tls = false;
  std::string host;
  std::string port;
  std::string path;  // e.g. "/v1/chat/completions"
};

// Reads "http(s)://host[:port][/prefix]" (an IPv6 host in brackets) and
// appends `route` to the path unless it already ends with it. Errors name
// `key` ("llm.base_url"): InvalidArgument for another scheme, no host, a
// malformed IPv6 host, or a port that is not 1-5 digits.
Result<HttpTarget> ParseBaseUrl(std::string_view base_url, std::string_view route, const std::string& key);

// A TLS client context that verifies peers against the system trust store.
Result<std::unique_ptr<boost::asio::ssl::context>> MakeTlsClientContext();

}  // namespace kefu::llm
