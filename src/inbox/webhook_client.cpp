// The Boost.Beast webhook transport (see webhooks.h, MakeBeastTransport).
#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <exception>
#include <functional>

#include "common/deadline_io.h"
#include "inbox/url.h"
#include "inbox/webhooks.h"

namespace kefu::inbox {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

constexpr uint64_t kMaxResponseBytes = 64 << 10;

using Io = DeadlineIo;

class BeastTransport final : public WebhookTransport {
 public:
  explicit BeastTransport(bool allow_private) : allow_private_(allow_private) {
    try {
      auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
      beast::error_code ec;
      ctx->set_default_verify_paths(ec);
      if (!ec) ctx->set_verify_mode(ssl::verify_peer, ec);
      if (!ec) tls_ = std::move(ctx);
    } catch (const std::exception&) {
      tls_.reset();  // https endpoints then fail with a clear error
    }
  }

  PostOutcome Post(const std::string& url, const std::vector<std::pair<std::string, std::string>>& headers,
                   const std::string& body, int timeout_ms) override {
    try {
      return PostOnce(url, headers, body, timeout_ms);
    } catch (const std::exception& e) {
      return PostOutcome{0, std::string("webhook request failed: ") + e.what(), -1};
    }
  }

 private:
  PostOutcome PostOnce(const std::string& url, const std::vector<std::pair<std::string, std::string>>& headers,
                       const std::string& body, int timeout_ms) {
    auto target = ParseUrl(url);
    if (!target.ok()) return PostOutcome{0, target.status().message(), -1};
    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
    Io io;
    tcp::resolver resolver(io.ioc);
    tcp::resolver::results_type endpoints;
    beast::error_code ec = io.Run(
        deadline,
        [&](auto done) {
          resolver.async_resolve(target->host, target->port,
                                 [done, &endpoints](beast::error_code e, tcp::resolver::results_type r) {
                                   endpoints = std::move(r);
                                   done(e);
                                 });
        },
        [&] { resolver.cancel(); });
    if (ec) return Failure("resolving " + target->host, ec);
    // Connect only to public addresses: the check is on what is dialled, so a
    // DNS answer that changes after this point cannot redirect the request.
    std::vector<tcp::endpoint> allowed;
    for (const auto& r : endpoints)
      if (allow_private_ || !IsPrivateAddress(r.endpoint().address())) allowed.push_back(r.endpoint());
    if (allowed.empty())
      return PostOutcome{0, target->host + " resolves only to private addresses (inbox.webhook_allow_private is off)", -1};

    auto connect = [&](tcp::socket& sock) {
      return io.Run(
          deadline,
          [&](auto done) {
            net::async_connect(sock, allowed, [done](beast::error_code e, const tcp::endpoint&) { done(e); });
          },
          [&] {
            beast::error_code ignored;
            sock.close(ignored);
          });
    };
    if (!target->tls) {
      tcp::socket sock(io.ioc);
      ec = connect(sock);
      if (ec) return Failure("connecting to " + target->host, ec);
      return Exchange(io, sock, *target, headers, body, deadline);
    }
    if (!tls_) return PostOutcome{0, "TLS is unavailable (no system CA certificates)", -1};
    ssl::stream<tcp::socket> tls(io.ioc, *tls_);
    if (!SSL_set_tlsext_host_name(tls.native_handle(), target->host.c_str()))
      return PostOutcome{0, "cannot set TLS SNI for " + target->host, -1};
    tls.set_verify_callback(ssl::host_name_verification(target->host));
    ec = connect(tls.next_layer());
    if (ec) return Failure("connecting to " + target->host, ec);
    ec = io.Run(
        deadline, [&](auto done) { tls.async_handshake(ssl::stream_base::client, done); },
        [&] {
          beast::error_code ignored;
          tls.next_layer().close(ignored);
        });
    if (ec) return Failure("TLS handshake with " + target->host, ec);
    return Exchange(io, tls, *target, headers, body, deadline);
  }

  static PostOutcome Failure(const std::string& what, beast::error_code ec) {
    if (ec == net::error::timed_out) return PostOutcome{0, what + " timed out", -1};
    return PostOutcome{0, what + " failed: " + ec.message(), -1};
  }

  template <typename Stream>
  PostOutcome Exchange(Io& io, Stream& s, const ParsedUrl& target,
                       const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body,
                       SteadyClock::time_point deadline) {
    auto close = [&s] {
      beast::error_code ignored;
      beast::get_lowest_layer(s).close(ignored);
    };
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, target.path, 11};
    bool default_port = target.port == (target.tls ? "443" : "80");
    req.set(bhttp::field::host, default_port ? target.host : target.host + ":" + target.port);
    req.set(bhttp::field::user_agent, "kefu-webhooks/1");
    req.set(bhttp::field::content_type, "application/json");
    req.set(bhttp::field::connection, "close");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    beast::error_code ec = io.Run(
        deadline, [&](auto done) { bhttp::async_write(s, req, [done](beast::error_code e, std::size_t) { done(e); }); },
        close);
    if (ec) return Failure("sending to " + target.host, ec);

    beast::flat_buffer buf;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(kMaxResponseBytes);
    ec = io.Run(
        deadline,
        [&](auto done) { bhttp::async_read(s, buf, parser, [done](beast::error_code e, std::size_t) { done(e); }); },
        close);
    // A status line that arrived counts even if the body was cut off or too big.
    if (ec && !parser.is_header_done()) return Failure("waiting for the response from " + target.host, ec);
    PostOutcome out;
    out.status = static_cast<int>(parser.get().result_int());
    std::string_view retry_after = parser.get()[bhttp::field::retry_after];
    if (!retry_after.empty() && retry_after.size() < 9 &&
        retry_after.find_first_not_of("0123456789") == std::string_view::npos)
      out.retry_after_ms = std::stoll(std::string(retry_after)) * 1000;
    if (out.status < 200 || out.status >= 300) {
      std::string snippet = parser.get().body().substr(0, 200);
      out.error = "HTTP " + std::to_string(out.status) + (snippet.empty() ? "" : ": " + snippet);
    }
    return out;
  }

  std::unique_ptr<ssl::context> tls_;  // null when the system trust store cannot be loaded
  bool allow_private_;
};

}  // namespace

std::unique_ptr<WebhookTransport> MakeBeastTransport(bool allow_private) {
  return std::make_unique<BeastTransport>(allow_private);
}

}  // namespace kefu::inbox
