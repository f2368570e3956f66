// OpenAiHttp: the blocking HTTP client the voice engines use to reach an
// OpenAI-compatible server (whisper.cpp server, FunASR, vLLM, hosted APIs).
// It follows llm::OpenAiClient (docs/llm.md): http:// or https:// (peer
// verification against the system trust store, SNI), a fresh connection per
// attempt, driven on the calling thread.
//
// Time: timeout_ms bounds the whole Post(), retries and backoff included;
// connect_timeout_ms bounds each connection attempt.
// Retries (at most max_retries, backoff retry_backoff_ms doubled each time):
// connection failures, HTTP 429 and 5xx, responses cut short.
// Circuit breaker: breaker_failures consecutive failed calls open it; then
// calls fail at once with Unavailable until breaker_cooldown_ms have passed.
// Errors: DeadlineExceeded (timeouts), InvalidArgument (HTTP 400/413/415/422,
// with the server's message), Unavailable (everything else).
//
// Thread-safe: many threads may call Post() at once. The Clock must outlive
// the client.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "llm/circuit_breaker.h"
#include "llm/http_target.h"

namespace boost::asio::ssl {
class context;
}

namespace kefu::voice {

struct HttpSettings {
  std::string base_url;  // e.g. http://127.0.0.1:8000/v1
  std::string api_key;   // sent as "Authorization: Bearer ..." when set
  int timeout_ms = 30'000;
  int connect_timeout_ms = 3'000;
  int max_retries = 2;
  int retry_backoff_ms = 200;
  int breaker_failures = 5;
  int breaker_cooldown_ms = 30'000;
  int64_t max_response_bytes = 64 << 20;
};

struct HttpReply {
  std::string content_type;
  std::string body;
};

class OpenAiHttp {
 public:
  // `section` names the config section in error messages ("asr", "tts");
  // `route` is appended to base_url's path (e.g. "/audio/transcriptions").
  static Result<std::unique_ptr<OpenAiHttp>> Create(const HttpSettings& settings, const std::string& section,
                                                    const std::string& route, const Clock& clock);
  ~OpenAiHttp();

  // POSTs `body`; the reply of an HTTP 200, or the error described above.
  Result<HttpReply> Post(const std::string& content_type, const std::string& body);

  llm::CircuitBreaker::State breaker_state() const { return breaker_.state(); }
  const std::string& url() const { return url_; }

 private:
  using Target = llm::HttpTarget;
  struct Attempt;
  OpenAiHttp(const HttpSettings& settings, std::string section, Target target, const Clock& clock);
  Attempt Once(const std::string& content_type, const std::string& body,
               std::chrono::steady_clock::time_point deadline);
  template <typename Stream>
  Attempt Exchange(Stream& s, void* io, const std::string& content_type, const std::string& body,
                   std::chrono::steady_clock::time_point deadline);

  const HttpSettings settings_;
  const std::string section_;
  const Target target_;
  const std::string url_;
  std::unique_ptr<boost::asio::ssl::context> tls_;  // null for http://
  llm::CircuitBreaker breaker_;
};

}  // namespace kefu::voice
