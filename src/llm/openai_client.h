// OpenAiClient: LlmClient for any server speaking the OpenAI chat-completions
// API (vLLM, SGLang, llama.cpp server, Ollama, hosted APIs). See docs/llm.md.
//
// Each Chat() call POSTs {base_url}/chat/completions over HTTP/1.1 (http:// or
// https:// with peer verification against the system trust store and SNI) on a
// fresh connection, synchronously on the calling thread. Streaming responses
// (SSE) are delivered to the DeltaFn as they arrive.
//
// Time: LlmConfig::timeout_ms bounds the whole Chat() call, retries and
// backoff included; connect_timeout_ms bounds each connection attempt.
// Retries (at most max_retries, backoff retry_backoff_ms doubled each time):
// connection failures, HTTP 429 and 5xx, and streams that break - but ONLY
// while no content delta has been passed to the DeltaFn. Once any delta was
// emitted the call is never retried (the caller has already shown text), and
// the failure is returned.
// Circuit breaker: breaker_failures consecutive failed calls open it; while
// open, Chat() fails at once with Unavailable; after breaker_cooldown_ms (on the
// injected Clock) one trial call is let through (half-open).
// Errors: DeadlineExceeded (timeouts), Unavailable (unreachable, 429/5xx,
// broken stream, breaker open, other HTTP errors), InvalidArgument (HTTP 400 /
// 422: the server's error message is included).
//
// Thread-safe: many threads may call Chat() at once. The Registry and Clock must
// outlive the client.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "common/clock.h"
#include "common/config.h"
#include "common/metrics.h"
#include "llm/circuit_breaker.h"
#include "llm/http_target.h"
#include "llm/llm_client.h"

namespace kefu::llm {

class OpenAiClient final : public LlmClient {
 public:
  // Validates `cfg` (base_url scheme/host, model, timeouts) and prepares TLS.
  static Result<std::unique_ptr<OpenAiClient>> Create(const LlmConfig& cfg, metrics::Registry& metrics,
                                                      const Clock& clock);
  ~OpenAiClient() override;

  Result<ChatResponse> Chat(const ChatRequest& req, const DeltaFn& on_delta) override;

  CircuitBreaker::State breaker_state() const { return breaker_.state(); }

 private:
  using Target = HttpTarget;
  struct Attempt;
  struct Io;

  OpenAiClient(const LlmConfig& cfg, Target target, metrics::Registry& metrics, const Clock& clock);
  Attempt Once(const std::string& body, bool stream, const DeltaFn& on_delta,
               std::chrono::steady_clock::time_point deadline);
  template <typename Stream>
  Attempt Exchange(Io& io, Stream& s, const std::string& body, bool stream, const DeltaFn& on_delta,
                   std::chrono::steady_clock::time_point deadline);
  void Finish(const Result<ChatResponse>& result, int64_t start_ns);

  const LlmConfig cfg_;
  const Target target_;
  const Clock& clock_;
  metrics::Registry& registry_;
  metrics::Histogram& seconds_;
  metrics::Counter& prompt_tokens_;
  metrics::Counter& completion_tokens_;
  metrics::Counter& retries_;
  metrics::Gauge& breaker_open_;
  std::unique_ptr<boost::asio::ssl::context> tls_;  // null for http://
  CircuitBreaker breaker_;
};

}  // namespace kefu::llm
