#include "llm/openai_client.h"

#include "llm/http_target.h"

#include <algorithm>
#include <exception>
#include <functional>
#include <thread>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <openssl/ssl.h>

#include "common/json.h"
#include "common/deadline_io.h"
#include "common/log.h"
#include "llm/openai_protocol.h"

namespace kefu::llm {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr uint64_t kMaxBodyBytes = 32u << 20;

Status StatusForHttp(int code, std::string_view body) {
  std::string msg = "llm server returned HTTP " + std::to_string(code) + ": " + openai::ErrorMessage(body);
  if (code == 400 || code == 422) return InvalidArgument(std::move(msg));
  return Unavailable(std::move(msg));
}

}  // namespace

struct OpenAiClient::Attempt {
  Status status;
  bool retryable = false;  // the failure may be transient (connect error, 429, 5xx, broken stream)
  bool emitted = false;    // a content delta reached the caller's DeltaFn
  ChatResponse response;
};

struct OpenAiClient::Io : DeadlineIo {};

Result<std::unique_ptr<OpenAiClient>> OpenAiClient::Create(const LlmConfig& cfg, metrics::Registry& metrics,
                                                           const Clock& clock) {
  auto parsed = ParseBaseUrl(cfg.base_url, "/chat/completions", "llm.base_url");
  if (!parsed.ok()) return parsed.status();
  Target t = std::move(parsed).value();
  if (cfg.model.empty()) return InvalidArgument("llm.model must be set when llm.base_url is");
  if (cfg.timeout_ms <= 0) return InvalidArgument("llm.timeout_ms must be positive");
  if (cfg.connect_timeout_ms <= 0) return InvalidArgument("llm.connect_timeout_ms must be positive");
  if (cfg.max_retries < 0) return InvalidArgument("llm.max_retries must not be negative");
  if (cfg.retry_backoff_ms < 0) return InvalidArgument("llm.retry_backoff_ms must not be negative");

  std::unique_ptr<OpenAiClient> client(new OpenAiClient(cfg, std::move(t), metrics, clock));
  if (client->target_.tls) {
    auto ctx = MakeTlsClientContext();
    if (!ctx.ok()) return ctx.status();
    client->tls_ = std::move(ctx).value();
  }
  return client;
}

OpenAiClient::OpenAiClient(const LlmConfig& cfg, Target target, metrics::Registry& metrics, const Clock& clock)
    : cfg_(cfg),
      target_(std::move(target)),
      clock_(clock),
      registry_(metrics),
      seconds_(metrics.GetHistogram("kefu_llm_request_seconds", "LLM chat calls, retries included")),
      prompt_tokens_(metrics.GetCounter("kefu_llm_tokens_total", "Tokens reported by the LLM server", "kind=\"prompt\"")),
      completion_tokens_(
          metrics.GetCounter("kefu_llm_tokens_total", "Tokens reported by the LLM server", "kind=\"completion\"")),
      retries_(metrics.GetCounter("kefu_llm_retries_total", "LLM request attempts that were retried")),
      breaker_open_(metrics.GetGauge("kefu_llm_breaker_open", "1 while the LLM circuit breaker is open or half-open")),
      breaker_(cfg.breaker_failures, cfg.breaker_cooldown_ms, clock) {}

OpenAiClient::~OpenAiClient() = default;

Result<ChatResponse> OpenAiClient::Chat(const ChatRequest& req, const DeltaFn& on_delta) {
  const int64_t start_ns = clock_.MonotonicNs();
  if (!breaker_.Allow()) {
    Result<ChatResponse> rejected = Unavailable("llm circuit breaker is open after repeated failures");
    registry_.GetCounter("kefu_llm_requests_total", "LLM chat calls by outcome", "outcome=\"breaker_open\"").Inc();
    return rejected;
  }
  const int timeout_ms = req.timeout_ms && *req.timeout_ms > 0 ? std::min(*req.timeout_ms, cfg_.timeout_ms)
                                                                 : cfg_.timeout_ms;
  const auto deadline = SteadyClock::now() + milliseconds(timeout_ms);
  const std::string body =
      openai::BuildRequestBody(req, cfg_.model, req.temperature.value_or(cfg_.temperature),
                               req.max_tokens.value_or(cfg_.max_tokens))
          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);

  Attempt a;
  for (int attempt = 0;; ++attempt) {
    try {
      a = Once(body, req.stream, on_delta, deadline);
    } catch (const std::exception& e) {  // allocation failure or a throwing DeltaFn
      a = Attempt{Internal(std::string("llm request failed: ") + e.what()), false, true, {}};
    }
    if (a.status.ok() || !a.retryable || a.emitted || attempt >= cfg_.max_retries) break;
    const auto backoff = milliseconds(static_cast<int64_t>(cfg_.retry_backoff_ms) << std::min(attempt, 20));
    if (SteadyClock::now() + backoff >= deadline) break;
    retries_.Inc();
    log::Warn("llm_retry", {{"attempt", attempt + 1}, {"error", a.status.ToString()}, {"backoff_ms", backoff.count()}});
    std::this_thread::sleep_for(backoff);
  }

  // A request the server rejected as malformed says nothing about its health.
  breaker_.Record(a.status.ok() || a.status.code() == ErrorCode::kInvalidArgument);
  breaker_open_.Set(breaker_.state() == CircuitBreaker::State::kClosed ? 0 : 1);
  Result<ChatResponse> result = a.status.ok() ? Result<ChatResponse>(std::move(a.response)) : Result<ChatResponse>(a.status);
  Finish(result, start_ns);
  return result;
}

void OpenAiClient::Finish(const Result<ChatResponse>& result, int64_t start_ns) {
  seconds_.Observe(static_cast<double>(clock_.MonotonicNs() - start_ns) / 1e9);
  std::string outcome(result.ok() ? "ok" : ErrorCodeName(result.status().code()));
  registry_.GetCounter("kefu_llm_requests_total", "LLM chat calls by outcome", "outcome=\"" + outcome + "\"").Inc();
  if (result.ok()) {
    prompt_tokens_.Inc(result->prompt_tokens);
    completion_tokens_.Inc(result->completion_tokens);
  } else {
    log::Warn("llm_failed", {{"error", result.status().ToString()}});
  }
}

OpenAiClient::Attempt OpenAiClient::Once(const std::string& body, bool stream, const DeltaFn& on_delta,
                                         SteadyClock::time_point deadline) {
  Io io;
  const auto connect_deadline = std::min(deadline, SteadyClock::now() + milliseconds(cfg_.connect_timeout_ms));
  const std::string where = target_.host + ":" + target_.port;
  auto connect_failure = [&](beast::error_code ec, const char* step) {
    if (ec == net::error::timed_out) {
      bool total = connect_deadline == deadline;
      return Attempt{DeadlineExceeded(std::string(step) + " " + where + " timed out"), !total, false, {}};
    }
    return Attempt{Unavailable(std::string(step) + " " + where + " failed: " + ec.message()), true, false, {}};
  };

  tcp::resolver resolver(io.ioc);
  tcp::resolver::results_type endpoints;
  beast::error_code ec = io.Run(
      connect_deadline,
      [&](auto done) {
        resolver.async_resolve(target_.host, target_.port,
                               [done, &endpoints](beast::error_code e, tcp::resolver::results_type r) {
                                 endpoints = std::move(r);
                                 done(e);
                               });
      },
      [&] { resolver.cancel(); });
  if (ec) return connect_failure(ec, "resolving");

  auto connect = [&](tcp::socket& sock) {
    return io.Run(
        connect_deadline,
        [&](auto done) {
          net::async_connect(sock, endpoints, [done](beast::error_code e, const tcp::endpoint&) { done(e); });
        },
        [&] {
          beast::error_code ignored;
          sock.close(ignored);
        });
  };

  if (!tls_) {
    tcp::socket sock(io.ioc);
    ec = connect(sock);
    if (ec) return connect_failure(ec, "connecting to");
    return Exchange(io, sock, body, stream, on_delta, deadline);
  }

  ssl::stream<tcp::socket> tls(io.ioc, *tls_);
  if (!SSL_set_tlsext_host_name(tls.native_handle(), target_.host.c_str())) {
    return Attempt{Internal("cannot set TLS SNI for " + target_.host), false, false, {}};
  }
  tls.set_verify_callback(ssl::host_name_verification(target_.host));
  ec = connect(tls.next_layer());
  if (ec) return connect_failure(ec, "connecting to");
  ec = io.Run(
      connect_deadline, [&](auto done) { tls.async_handshake(ssl::stream_base::client, done); },
      [&] {
        beast::error_code ignored;
        tls.next_layer().close(ignored);
      });
  if (ec == net::error::timed_out) return connect_failure(ec, "TLS handshake with");
  if (ec) return Attempt{Unavailable("TLS handshake with " + where + " failed: " + ec.message()), false, false, {}};
  return Exchange(io, tls, body, stream, on_delta, deadline);
}

template <typename Stream>
OpenAiClient::Attempt OpenAiClient::Exchange(Io& io, Stream& s, const std::string& body, bool stream,
                                             const DeltaFn& on_delta, SteadyClock::time_point deadline) {
  Attempt a;
  auto close = [&s] {
    beast::error_code ignored;
    beast::get_lowest_layer(s).close(ignored);
  };
  auto io_failure = [&](beast::error_code ec, const std::string& what) {
    if (ec == net::error::timed_out) {
      a.status = DeadlineExceeded("llm request ran out of its time (" + what + ")");
      a.retryable = false;  // the whole call's time is used up
    } else {
      a.status = Unavailable("llm connection failed while " + what + ": " + ec.message());
      a.retryable = true;
    }
    return std::move(a);
  };

  http::request<http::string_body> req{http::verb::post, target_.path, 11};
  bool default_port = target_.port == (target_.tls ? "443" : "80");
  req.set(http::field::host, default_port ? target_.host : target_.host + ":" + target_.port);
  req.set(http::field::user_agent, "kefu");
  req.set(http::field::content_type, "application/json");
  req.set(http::field::accept, stream ? "text/event-stream" : "application/json");
  if (!cfg_.api_key.empty()) req.set(http::field::authorization, "Bearer " + cfg_.api_key);
  req.body() = body;
  req.prepare_payload();

  beast::error_code ec = io.Run(
      deadline,
      [&](auto done) { http::async_write(s, req, [done](beast::error_code e, std::size_t) { done(e); }); }, close);
  if (ec) return io_failure(ec, "sending the request");

  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxBodyBytes);
  ec = io.Run(
      deadline,
      [&](auto done) {
        http::async_read_header(s, buf, parser, [done](beast::error_code e, std::size_t) { done(e); });
      },
      close);
  if (ec) return io_failure(ec, "waiting for the response");

  auto read_rest = [&]() {
    return io.Run(
        deadline,
        [&](auto done) { http::async_read(s, buf, parser, [done](beast::error_code e, std::size_t) { done(e); }); },
        close);
  };

  const int code = parser.get().result_int();
  if (code != 200) {
    ec = read_rest();
    if (ec == net::error::timed_out) return io_failure(ec, "reading an error response");
    a.status = StatusForHttp(code, parser.get().body());
    a.retryable = code == 429 || code >= 500;
    return a;
  }

  std::string_view content_type = parser.get()[http::field::content_type];
  if (!stream || content_type.find("text/event-stream") == std::string_view::npos) {
    // Non-streamed request, or a server that ignored "stream": a whole chat.completion.
    ec = read_rest();
    if (ec) return io_failure(ec, "reading the response");
    Result<ChatResponse> r = openai::ParseCompletion(parser.get().body());
    if (!r.ok()) {
      a.status = r.status();
      return a;
    }
    a.response = std::move(r).value();
    if (on_delta && !a.response.content.empty()) {
      a.emitted = true;
      on_delta(a.response.content);
    }
    return a;
  }

  openai::SseParser sse;
  openai::StreamAccumulator acc;
  std::vector<std::string> events;
  std::string delta;
  bool done_marker = false;
  auto consume = [&]() -> Status {
    for (std::string& data : events) {
      if (done_marker) break;
      if (data == "[DONE]") {
        done_marker = true;
        break;
      }
      nlohmann::json chunk = ParseJsonOrDiscarded(data);
      if (chunk.is_discarded()) return Unavailable("llm stream carried an event that is not JSON");
      KEFU_RETURN_IF_ERROR(acc.Apply(chunk, delta));
      if (!delta.empty() && on_delta) {
        a.emitted = true;
        on_delta(delta);
      }
    }
    events.clear();
    return Status::Ok();
  };

  for (;;) {
    // Bytes that arrived with the header, or in the last read.
    std::string& pending = parser.get().body();
    if (!pending.empty()) {
      sse.Feed(pending, events);
      pending.clear();
      Status st = consume();
      if (!st.ok()) {
        a.status = st;
        a.retryable = true;
        return a;
      }
    }
    if (done_marker || parser.is_done()) break;
    ec = io.Run(
        deadline,
        [&](auto done) {
          http::async_read_some(s, buf, parser, [done](beast::error_code e, std::size_t) { done(e); });
        },
        close);
    if (ec && ec != http::error::end_of_stream) {
      bool emitted = a.emitted;
      Attempt failed = io_failure(ec, "streaming the response");
      failed.emitted = emitted;
      return failed;
    }
    if (ec) break;
  }
  if (!done_marker) {
    sse.Finish(events);
    Status st = consume();
    if (!st.ok()) {
      a.status = st;
      a.retryable = true;
      return a;
    }
  }
  if (!done_marker && !acc.finished()) {
    a.status = Unavailable("llm stream ended before [DONE]");
    a.retryable = true;
    return a;
  }
  a.response = acc.Take();
  return a;
}

}  // namespace kefu::llm
