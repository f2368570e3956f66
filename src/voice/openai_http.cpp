#include "voice/openai_http.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <exception>
#include <thread>
#include <utility>

#include "common/deadline_io.h"
#include "common/log.h"
#include "llm/http_target.h"
#include "llm/openai_protocol.h"

namespace kefu::voice {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct OpenAiHttp::Attempt {
  Status status;
  bool retryable = false;
  HttpReply reply;
};

Result<std::unique_ptr<OpenAiHttp>> OpenAiHttp::Create(const HttpSettings& s, const std::string& section,
                                                       const std::string& route, const Clock& clock) {
  auto parsed = llm::ParseBaseUrl(s.base_url, route, section + ".base_url");
  if (!parsed.ok()) return parsed.status();
  Target t = std::move(parsed).value();
  if (s.timeout_ms <= 0 || s.connect_timeout_ms <= 0) return InvalidArgument(section + ".timeout_ms must be positive");
  if (s.max_retries < 0 || s.retry_backoff_ms < 0)
    return InvalidArgument(section + ".max_retries must not be negative");

  std::unique_ptr<OpenAiHttp> client(new OpenAiHttp(s, section, std::move(t), clock));
  if (client->target_.tls) {
    auto ctx = llm::MakeTlsClientContext();
    if (!ctx.ok()) return ctx.status();
    client->tls_ = std::move(ctx).value();
  }
  return client;
}

OpenAiHttp::OpenAiHttp(const HttpSettings& settings, std::string section, Target target, const Clock& clock)
    : settings_(settings),
      section_(std::move(section)),
      target_(std::move(target)),
      url_((target_.tls ? "https://" : "http://") + target_.host + ":" + target_.port + target_.path),
      breaker_(settings.breaker_failures, settings.breaker_cooldown_ms, clock) {}

OpenAiHttp::~OpenAiHttp() = default;

Result<HttpReply> OpenAiHttp::Post(const std::string& content_type, const std::string& body) {
  if (!breaker_.Allow()) {
    return Unavailable(section_ + " server circuit breaker is open after repeated failures");
  }
  const auto deadline = SteadyClock::now() + milliseconds(settings_.timeout_ms);
  Attempt a;
  for (int attempt = 0;; ++attempt) {
    try {
      a = Once(content_type, body, deadline);
    } catch (const std::exception& e) {
      a = Attempt{Internal(section_ + " request failed: " + e.what()), false, {}};
    }
    if (a.status.ok() || !a.retryable || attempt >= settings_.max_retries) break;
    const auto backoff = milliseconds(static_cast<int64_t>(settings_.retry_backoff_ms) << std::min(attempt, 20));
    if (SteadyClock::now() + backoff >= deadline) break;
    log::Warn(section_ + "_retry",
              {{"attempt", attempt + 1}, {"error", a.status.ToString()}, {"backoff_ms", backoff.count()}});
    std::this_thread::sleep_for(backoff);
  }
  breaker_.Record(a.status.ok() || a.status.code() == ErrorCode::kInvalidArgument);
  if (!a.status.ok()) return a.status;
  return std::move(a.reply);
}

OpenAiHttp::Attempt OpenAiHttp::Once(const std::string& content_type, const std::string& body,
                                     SteadyClock::time_point deadline) {
  DeadlineIo io;
  const auto connect_deadline = std::min(deadline, SteadyClock::now() + milliseconds(settings_.connect_timeout_ms));
  const std::string where = target_.host + ":" + target_.port;
  auto connect_failure = [&](beast::error_code ec, const char* step) {
    if (ec == net::error::timed_out) {
      const bool total = connect_deadline == deadline;
      return Attempt{
          DeadlineExceeded(std::string(step) + " " + section_ + " server " + where + " timed out"), !total, {}};
    }
    return Attempt{
        Unavailable(std::string(step) + " " + section_ + " server " + where + " failed: " + ec.message()), true, {}};
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
    return Exchange(sock, &io, content_type, body, deadline);
  }
  ssl::stream<tcp::socket> tls(io.ioc, *tls_);
  if (!SSL_set_tlsext_host_name(tls.native_handle(), target_.host.c_str())) {
    return Attempt{Internal("cannot set TLS SNI for " + target_.host), false, {}};
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
  if (ec) return Attempt{Unavailable("TLS handshake with " + where + " failed: " + ec.message()), false, {}};
  return Exchange(tls, &io, content_type, body, deadline);
}

template <typename Stream>
OpenAiHttp::Attempt OpenAiHttp::Exchange(Stream& s, void* io_ptr, const std::string& content_type,
                                         const std::string& body, SteadyClock::time_point deadline) {
  DeadlineIo& io = *static_cast<DeadlineIo*>(io_ptr);
  Attempt a;
  auto close = [&s] {
    beast::error_code ignored;
    beast::get_lowest_layer(s).close(ignored);
  };
  auto io_failure = [&](beast::error_code ec, const std::string& what) {
    if (ec == net::error::timed_out) {
      a.status = DeadlineExceeded(section_ + " request ran out of its " + std::to_string(settings_.timeout_ms) +
                                  " ms (" + what + ")");
      a.retryable = false;
    } else if (ec == http::error::body_limit) {
      a.status = Unavailable(section_ + " server response is larger than " +
                             std::to_string(settings_.max_response_bytes) + " bytes");
      a.retryable = false;
    } else {
      a.status = Unavailable(section_ + " connection failed while " + what + ": " + ec.message());
      a.retryable = true;
    }
    return std::move(a);
  };

  http::request<http::string_body> req{http::verb::post, target_.path, 11};
  const bool default_port = target_.port == (target_.tls ? "443" : "80");
  req.set(http::field::host, default_port ? target_.host : target_.host + ":" + target_.port);
  req.set(http::field::user_agent, "kefu");
  req.set(http::field::content_type, content_type);
  if (!settings_.api_key.empty()) req.set(http::field::authorization, "Bearer " + settings_.api_key);
  req.body() = body;
  req.prepare_payload();
  beast::error_code ec = io.Run(
      deadline, [&](auto done) { http::async_write(s, req, [done](beast::error_code e, std::size_t) { done(e); }); },
      close);
  if (ec) return io_failure(ec, "sending the request");

  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(static_cast<uint64_t>(settings_.max_response_bytes));
  ec = io.Run(
      deadline,
      [&](auto done) { http::async_read(s, buf, parser, [done](beast::error_code e, std::size_t) { done(e); }); },
      close);
  if (ec) return io_failure(ec, "reading the response");
  const int code = parser.get().result_int();
  if (code != 200) {
    std::string msg = section_ + " server returned HTTP " + std::to_string(code) + ": " +
                      llm::openai::ErrorMessage(parser.get().body());
    const bool client_error = code == 400 || code == 413 || code == 415 || code == 422;
    a.status = client_error ? InvalidArgument(std::move(msg)) : Unavailable(std::move(msg));
    a.retryable = code == 429 || code >= 500;
    return a;
  }
  a.reply.content_type = std::string(parser.get()[http::field::content_type]);
  a.reply.body = std::move(parser.get().body());
  return a;
}

}  // namespace kefu::voice
