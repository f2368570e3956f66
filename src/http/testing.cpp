#include "http/testing.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace kefu::http::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

tcp::endpoint Loopback(int port) { return {net::ip::address_v4::loopback(), uint16_t(port)}; }

// Runs `ioc` on this thread until done() or the deadline.
template <typename Pred>
bool RunUntil(net::io_context& ioc, Pred done, Clock::time_point deadline) {
  while (!done()) {
    auto now = Clock::now();
    if (now >= deadline) return false;
    if (ioc.stopped()) ioc.restart();
    if (ioc.run_one_for(deadline - now) == 0 && ioc.stopped() && !done()) {
      // No work left at all: nothing can make done() true.
      return done();
    }
  }
  return true;
}

Status Connect(net::io_context& ioc, beast::tcp_stream& stream, int port, Clock::time_point deadline) {
  beast::error_code ec = net::error::would_block;
  stream.expires_at(deadline);
  stream.async_connect(Loopback(port), [&](beast::error_code e) { ec = e; });
  RunUntil(ioc, [&] { return ec != net::error::would_block; }, deadline + milliseconds(100));
  if (ec) return Unavailable("connect 127.0.0.1:" + std::to_string(port) + ": " + ec.message());
  return Status::Ok();
}

}  // namespace

Result<Response> Fetch(int port, std::string_view method, std::string_view target, std::string_view body,
                       const Headers& headers, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  KEFU_RETURN_IF_ERROR(Connect(ioc, stream, port, deadline));
  bhttp::request<bhttp::string_body> req;
  req.version(11);
  req.method_string(method);
  req.target(target);
  req.set(bhttp::field::host, "127.0.0.1:" + std::to_string(port));
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = std::string(body);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") req.prepare_payload();
  // A write error is not final: the server may have answered early (413).
  bool wrote = false;
  beast::error_code write_ec;
  bhttp::async_write(stream, req, [&](beast::error_code e, size_t) {
    write_ec = e;
    wrote = true;
  });
  RunUntil(ioc, [&] { return wrote; }, deadline + milliseconds(100));

  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(uint64_t(256) << 20);
  if (method == "HEAD") parser.skip(true);
  bool read = false;
  beast::error_code read_ec;
  bhttp::async_read(stream, buf, parser, [&](beast::error_code e, size_t) {
    read_ec = e;
    read = true;
  });
  RunUntil(ioc, [&] { return read; }, deadline + milliseconds(100));
  if (!read || read_ec == beast::error::timeout) return DeadlineExceeded("no response within the timeout");
  if (read_ec)
    return Unavailable("reading the response: " + read_ec.message() + (write_ec ? " (write: " + write_ec.message() + ")" : ""));
  auto res = parser.release();
  Response out;
  out.status = int(res.result_int());
  out.content_type = std::string(res[bhttp::field::content_type]);
  for (const auto& f : res) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  out.body = std::move(res.body());
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return out;
}

Result<std::string> RawExchange(int port, std::string_view bytes, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  KEFU_RETURN_IF_ERROR(Connect(ioc, stream, port, deadline));
  stream.expires_never();
  std::string out_bytes(bytes);
  bool wrote = false;
  net::async_write(stream, net::buffer(out_bytes), [&](beast::error_code, size_t) { wrote = true; });
  RunUntil(ioc, [&] { return wrote; }, deadline);
  std::string got;
  std::array<char, 4096> chunk;
  bool done = false;
  std::function<void()> read_more = [&] {
    stream.async_read_some(net::buffer(chunk), [&](beast::error_code e, size_t n) {
      got.append(chunk.data(), n);
      if (e) {
        done = true;
        return;
      }
      read_more();
    });
  };
  read_more();
  RunUntil(ioc, [&] { return done; }, deadline);
  beast::error_code ec;
  stream.socket().close(ec);
  ioc.restart();
  ioc.poll();  // let the cancelled read finish while `got` and `chunk` are alive
  return got;
}

// ---------------------------------------------------------------- WsClient

struct WsClient::Impl {
  net::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer buf;
  std::deque<WsClient::Frame> inbox;
  std::string out;
  bool closed = false;
  int close_code = 0;

  void StartRead() {
    ws.async_read(buf, [this](beast::error_code ec, size_t) {
      if (ec) {
        closed = true;
        close_code = int(ws.reason().code);
        return;
      }
      inbox.push_back({beast::buffers_to_string(buf.data()), !ws.got_text()});
      buf.consume(buf.size());
      StartRead();
    });
  }

  Status Write(std::string_view data, bool text) {
    if (closed) return Unavailable("connection closed (code " + std::to_string(close_code) + ")");
    out.assign(data);
    ws.text(text);
    bool done = false;
    beast::error_code ec;
    ws.async_write(net::buffer(out), [&](beast::error_code e, size_t) {
      ec = e;
      done = true;
    });
    if (!RunUntil(ioc, [&] { return done; }, Clock::now() + milliseconds(10'000)))
      return DeadlineExceeded("websocket write timed out");
    if (ec) return Unavailable("websocket write: " + ec.message());
    return Status::Ok();
  }

  ~Impl() {
    beast::error_code ec;
    beast::get_lowest_layer(ws).socket().close(ec);
    ioc.restart();
    ioc.poll();
  }
};

WsClient::WsClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WsClient::~WsClient() = default;

Result<std::unique_ptr<WsClient>> WsClient::Connect(int port, std::string_view target, const Headers& headers,
                                                    milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  auto impl = std::make_unique<Impl>();
  KEFU_RETURN_IF_ERROR(testing::Connect(impl->ioc, beast::get_lowest_layer(impl->ws), port, deadline));
  impl->ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
    for (const auto& [k, v] : headers) req.set(k, v);
  }));
  impl->ws.read_message_max(uint64_t(64) << 20);
  websocket::response_type res;
  beast::error_code ec = net::error::would_block;
  std::string host = "127.0.0.1:" + std::to_string(port);
  impl->ws.async_handshake(res, host, target, [&](beast::error_code e) { ec = e; });
  RunUntil(impl->ioc, [&] { return ec != net::error::would_block; }, deadline + milliseconds(100));
  if (ec == websocket::error::upgrade_declined)
    return FailedPrecondition("HTTP " + std::to_string(res.result_int()) + ": " + res.body());
  if (ec) return Unavailable("websocket handshake: " + ec.message());
  beast::get_lowest_layer(impl->ws).expires_never();
  impl->ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
  impl->StartRead();
  return std::unique_ptr<WsClient>(new WsClient(std::move(impl)));
}

Status WsClient::Send(std::string_view text) { return impl_->Write(text, true); }
Status WsClient::SendBinary(std::string_view data) { return impl_->Write(data, false); }

Result<std::string> WsClient::Receive(milliseconds timeout) {
  KEFU_ASSIGN_OR_RETURN(Frame f, ReceiveFrame(timeout));
  return std::move(f.data);
}

Result<WsClient::Frame> WsClient::ReceiveFrame(milliseconds timeout) {
  RunUntil(impl_->ioc, [&] { return !impl_->inbox.empty() || impl_->closed; }, Clock::now() + timeout);
  if (!impl_->inbox.empty()) {
    Frame m = std::move(impl_->inbox.front());
    impl_->inbox.pop_front();
    return m;
  }
  if (impl_->closed) return Unavailable("connection closed (code " + std::to_string(impl_->close_code) + ")");
  return DeadlineExceeded("no message within the timeout");
}

Status WsClient::Close() {
  if (impl_->closed) return Status::Ok();
  bool done = false;
  beast::error_code ec;
  impl_->ws.async_close(websocket::close_code::normal, [&](beast::error_code e) {
    ec = e;
    done = true;
  });
  RunUntil(impl_->ioc, [&] { return done && impl_->closed; }, Clock::now() + milliseconds(5'000));
  if (ec) return Unavailable("websocket close: " + ec.message());
  return Status::Ok();
}

bool WsClient::closed() const { return impl_->closed; }
int WsClient::close_code() const { return impl_->close_code; }

// ---------------------------------------------------------------- SseClient

struct SseClient::Impl {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  std::string pending;
  std::array<char, 4096> chunk{};
  bool closed = false;

  void StartRead() {
    stream.async_read_some(net::buffer(chunk), [this](beast::error_code ec, size_t n) {
      pending.append(chunk.data(), n);
      if (ec) {
        closed = true;
        return;
      }
      StartRead();
    });
  }

  ~Impl() {
    beast::error_code ec;
    stream.socket().close(ec);
    ioc.restart();
    ioc.poll();
  }
};

SseClient::SseClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SseClient::~SseClient() = default;

Result<std::unique_ptr<SseClient>> SseClient::Connect(int port, std::string_view target, const Headers& headers,
                                                      milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  auto impl = std::make_unique<Impl>();
  KEFU_RETURN_IF_ERROR(testing::Connect(impl->ioc, impl->stream, port, deadline));
  impl->stream.expires_never();
  std::string req = "GET " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                    "\r\nAccept: text/event-stream\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  req += "\r\n";
  bool wrote = false;
  net::async_write(impl->stream, net::buffer(req), [&](beast::error_code, size_t) { wrote = true; });
  RunUntil(impl->ioc, [&] { return wrote; }, deadline);
  impl->StartRead();
  auto* p = impl.get();
  RunUntil(impl->ioc, [&] { return p->closed || p->pending.find("\r\n\r\n") != std::string::npos; }, deadline);
  auto end = p->pending.find("\r\n\r\n");
  if (end == std::string::npos) return DeadlineExceeded("no response head within the timeout");
  std::string head = p->pending.substr(0, end);
  p->pending.erase(0, end + 4);
  int status = head.size() > 12 ? std::atoi(head.c_str() + 9) : 0;
  if (status != 200 || head.find("text/event-stream") == std::string::npos) {
    // Collect the (small) error body.
    RunUntil(impl->ioc, [&] { return p->closed || p->pending.find('}') != std::string::npos; }, deadline);
    return FailedPrecondition("HTTP " + std::to_string(status) + ": " + p->pending);
  }
  return std::unique_ptr<SseClient>(new SseClient(std::move(impl)));
}

Result<SseClient::Event> SseClient::Next(milliseconds timeout, bool include_comments) {
  auto deadline = Clock::now() + timeout;
  auto* p = impl_.get();
  for (;;) {
    auto end = p->pending.find("\n\n");
    if (end != std::string::npos) {
      std::string block = p->pending.substr(0, end);
      p->pending.erase(0, end + 2);
      Event ev;
      bool has_data = false, comment = false;
      size_t pos = 0;
      while (pos <= block.size()) {
        size_t nl = block.find('\n', pos);
        std::string line = block.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? block.size() + 1 : nl + 1;
        if (line.empty()) continue;
        if (line[0] == ':') {
          comment = true;
          continue;
        }
        auto colon = line.find(':');
        std::string field = line.substr(0, colon);
        std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
        if (!value.empty() && value[0] == ' ') value.erase(0, 1);
        if (field == "event") ev.event = value;
        if (field == "data") {
          if (has_data) ev.data += '\n';
          ev.data += value;
          has_data = true;
        }
      }
      if (has_data || !ev.event.empty()) return ev;
      if (comment && include_comments) return Event{":", block};
      continue;
    }
    if (p->closed) return Unavailable("stream closed");
    if (!RunUntil(p->ioc, [&] { return p->closed || p->pending.find("\n\n") != std::string::npos; }, deadline))
      return DeadlineExceeded("no event within the timeout");
  }
}

bool SseClient::closed() const { return impl_->closed && impl_->pending.find("\n\n") == std::string::npos; }

}  // namespace kefu::http::testing
