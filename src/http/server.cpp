#include "http/server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "http/router.h"
#include "http/static_files.h"

namespace kefu::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

std::string ErrorBody(std::string_view code, std::string_view message) {
  nlohmann::json j = {{"error", {{"code", code}, {"message", message}}}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Response Response::Error(int status, std::string_view code, std::string_view message) {
  Response r;
  r.status = status;
  r.body = ErrorBody(code, message);
  return r;
}

std::string Request::Header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (beast::iequals(k, name)) return v;
  return {};
}

ServerSettings ServerSettings::FromConfig(const ServerConfig& c) {
  ServerSettings s;
  s.host = c.host;
  s.port = c.port;
  s.io_threads = c.io_threads;
  s.max_body_bytes = c.max_body_bytes;
  s.max_ws_message_bytes = c.max_ws_message_bytes;
  s.request_timeout_ms = c.request_timeout_ms;
  s.ws_idle_timeout_s = c.ws_idle_timeout_s;
  s.ws_max_messages_per_s = c.ws_max_messages_per_s;
  s.shutdown_grace_ms = c.shutdown_grace_ms;
  s.max_connections = c.max_connections;
  s.max_connections_per_ip = c.max_connections_per_ip;
  s.static_dir = c.static_dir;
  return s;
}

namespace internal {

struct ResponderState {
  std::function<void(Response&&)> deliver;
  std::atomic<bool> sent{false};
  ~ResponderState() {
    if (!sent.exchange(true) && deliver) {
      try {
        deliver(Response::Error(500, "internal", "the handler did not respond"));
      } catch (...) {
      }
    }
  }
};

struct SseCloseState {
  std::mutex mu;
  bool ran = false;                 // GUARDED_BY(mu)
  std::vector<std::function<void()>> fns;  // GUARDED_BY(mu)
};

// Every live connection, so Stop() can reach it. Methods are called from any
// thread and post to the connection's strand.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // force = false: wind down gracefully; true: close the socket now.
  virtual void Shutdown(bool force) = 0;
};

class ServerImpl;

// One accepted TCP connection's place under the connection caps. The HTTP
// session holds it and hands it on to the WebSocket or SSE session the
// connection becomes; the place is freed when the last holder goes.
struct ConnSlot {
  ConnSlot(ServerImpl& s, std::string a) : srv(s), ip(std::move(a)) {}
  ~ConnSlot();
  ServerImpl& srv;
  std::string ip;
};

struct RouteEntry {
  Handler handler;
  metrics::Histogram* hist = nullptr;
};

std::string DefaultErrorCodeHttp(ErrorCode c, int* status) {
  switch (c) {
    case ErrorCode::kOk: *status = 200; break;
    case ErrorCode::kInvalidArgument: *status = 400; break;
    case ErrorCode::kNotFound: *status = 404; break;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kConflict:
    case ErrorCode::kFailedPrecondition: *status = 409; break;
    case ErrorCode::kUnauthenticated: *status = 401; break;
    case ErrorCode::kPermissionDenied: *status = 403; break;
    case ErrorCode::kResourceExhausted: *status = 429; break;
    case ErrorCode::kPayloadTooLarge: *status = 413; break;
    case ErrorCode::kDeadlineExceeded: *status = 504; break;
    case ErrorCode::kUnavailable: *status = 503; break;
    case ErrorCode::kUnimplemented: *status = 501; break;
    case ErrorCode::kInternal: *status = 500; break;
  }
  return std::string(ErrorCodeName(c));
}

class ServerImpl : public std::enable_shared_from_this<ServerImpl> {
 public:
  ServerImpl(ServerSettings settings, metrics::Registry& m)
      : s(std::move(settings)),
        metrics(m),
        ioc(std::max(1, s.io_threads)),
        acceptor(net::make_strand(ioc)),
        accept_timer(acceptor.get_executor()) {
    conn_gauge = &m.GetGauge("kefu_http_open_connections", "Open TCP connections (HTTP, SSE and WebSocket)");
    ws_gauge = &m.GetGauge("kefu_ws_open_connections", "Open WebSocket connections");
    ws_in = &m.GetCounter("kefu_ws_messages_total", "WebSocket messages", "direction=\"in\"");
    ws_out = &m.GetCounter("kefu_ws_messages_total", "WebSocket messages", "direction=\"out\"");
    ws_limited = &m.GetCounter("kefu_ws_rate_limited_total", "WebSocket messages dropped by the per-connection rate limit");
    rejected_total = &m.GetCounter("kefu_http_connections_rejected_total",
                                   "TCP connections refused by a connection cap", "reason=\"max_connections\"");
    rejected_per_ip = &m.GetCounter("kefu_http_connections_rejected_total",
                                    "TCP connections refused by a connection cap", "reason=\"max_connections_per_ip\"");
    error_renderer = [](const Status& st) {
      int code = 500;
      std::string name = DefaultErrorCodeHttp(st.code(), &code);
      return Response::Error(code, name, st.message());
    };
  }

  // --- registry of connections ---
  void Register(uint64_t id, std::shared_ptr<SessionBase> session, bool ws) {
    {
      std::lock_guard l(mu);
      sessions.emplace(id, std::move(session));
    }
    open_conns.fetch_add(1);
    conn_gauge->Add(1);
    if (ws) {
      open_ws.fetch_add(1);
      ws_gauge->Add(1);
    }
  }
  void Unregister(uint64_t id, bool ws) {
    std::shared_ptr<SessionBase> doomed;  // released outside the lock
    {
      std::lock_guard l(mu);
      auto it = sessions.find(id);
      if (it == sessions.end()) return;
      doomed = std::move(it->second);
      sessions.erase(it);
      open_conns.fetch_sub(1);
      conn_gauge->Add(-1);
      if (ws) {
        open_ws.fetch_sub(1);
        ws_gauge->Add(-1);
      }
      cv.notify_all();
    }
  }
  // A place for a new connection from `ip`, or null (with *reason) over a cap.
  std::shared_ptr<ConnSlot> TryAcquire(const std::string& ip, const char** reason) {
    std::lock_guard l(mu);
    if (tcp_conns >= size_t(max_conns)) {
      *reason = "max_connections";
      return nullptr;
    }
    int& n = per_ip[ip];
    if (s.max_connections_per_ip > 0 && n >= s.max_connections_per_ip) {
      if (n == 0) per_ip.erase(ip);
      *reason = "max_connections_per_ip";
      return nullptr;
    }
    ++n;
    ++tcp_conns;
    return std::make_shared<ConnSlot>(*this, ip);
  }
  void Release(const std::string& ip) {
    std::lock_guard l(mu);
    --tcp_conns;
    auto it = per_ip.find(ip);
    if (it != per_ip.end() && --it->second <= 0) per_ip.erase(it);
  }
  // Answers a connection over a cap with a 503 (best effort, never blocks)
  // and closes it. Logged at most once per 10 s, with the count since.
  void Reject(tcp::socket& sock, const std::string& ip, const char* reason) {
    (std::string_view(reason) == "max_connections" ? rejected_total : rejected_per_ip)->Inc();
    bool log_now = false;
    int64_t suppressed = 0;
    {
      std::lock_guard l(mu);
      auto now = SteadyClock::now();
      ++rejects_since_log;
      if (now - last_reject_log >= std::chrono::seconds(10)) {
        log_now = true;
        suppressed = rejects_since_log - 1;
        rejects_since_log = 0;
        last_reject_log = now;
      }
    }
    if (log_now)
      log::Warn("http_connection_rejected", {{"reason", reason},
                                             {"remote_ip", ip},
                                             {"max_connections", max_conns},
                                             {"max_connections_per_ip", s.max_connections_per_ip},
                                             {"also_rejected_since_last_log", suppressed}});
    static const std::string kResponse = [] {
      std::string body = ErrorBody("unavailable", "too many open connections; retry later");
      return "HTTP/1.1 503 Service Unavailable\r\nServer: kefu\r\nContent-Type: application/json\r\n"
             "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body;
    }();
    beast::error_code ec;
    sock.non_blocking(true, ec);
    if (!ec) sock.write_some(net::buffer(kResponse), ec);
    sock.shutdown(tcp::socket::shutdown_both, ec);
    sock.close(ec);
  }
  void InFlightStart() { in_flight.fetch_add(1); }
  void InFlightDone() {
    if (in_flight.fetch_sub(1) == 1) {
      std::lock_guard l(mu);
      cv.notify_all();
    }
  }
  std::vector<std::shared_ptr<SessionBase>> Snapshot() {
    std::lock_guard l(mu);
    std::vector<std::shared_ptr<SessionBase>> out;
    out.reserve(sessions.size());
    for (auto& [id, s] : sessions) out.push_back(s);
    return out;
  }

  void DoAccept();
  Status Start();
  void Stop();

  void CountRequest(const std::string& method, const std::string& route, int code, metrics::Histogram* hist,
                    double seconds) {
    std::string labels = "method=\"" + metrics::EscapeLabel(method) + "\",route=\"" + metrics::EscapeLabel(route) +
                         "\",code=\"" + std::to_string(code) + "\"";
    metrics.GetCounter("kefu_http_requests_total", "HTTP requests by method, route pattern and status", labels).Inc();
    if (!hist)
      hist = &metrics.GetHistogram("kefu_http_request_seconds", "HTTP request latency by route pattern",
                                   "route=\"" + metrics::EscapeLabel(route) + "\"");
    hist->Observe(seconds);
  }

  ServerSettings s;
  metrics::Registry& metrics;
  net::io_context ioc;
  tcp::acceptor acceptor;
  net::steady_timer accept_timer;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  int bound_port = 0;

  Router<RouteEntry> routes;
  Router<WsAcceptor> ws_routes;
  Router<SseAcceptor> sse_routes;
  std::vector<StaticMount> statics;
  std::vector<std::string> route_list;
  std::function<Response(const Status&)> error_renderer;

  std::mutex mu;
  std::condition_variable cv;
  std::unordered_map<uint64_t, std::shared_ptr<SessionBase>> sessions;  // GUARDED_BY(mu)
  std::unordered_map<std::string, int> per_ip;                         // GUARDED_BY(mu): open per address
  size_t tcp_conns = 0;                                                // GUARDED_BY(mu)
  SteadyClock::time_point last_reject_log{};                           // GUARDED_BY(mu)
  int64_t rejects_since_log = 0;                                       // GUARDED_BY(mu)
  int max_conns = 1;  // resolved in Start()
  int running_threads = 0;                                             // GUARDED_BY(mu)

  std::mutex lifecycle_mu;  // serializes Start/Stop
  bool started = false;     // GUARDED_BY(lifecycle_mu)
  bool stop_done = false;   // GUARDED_BY(lifecycle_mu)

  std::atomic<uint64_t> next_id{1};
  std::atomic<uint64_t> next_request_id{1};
  std::atomic<bool> stopping{false};  // no new work: 503, close idle connections
  std::atomic<bool> dead{false};      // I/O threads joined: handles drop their calls
  std::atomic<int64_t> in_flight{0};
  std::atomic<size_t> open_conns{0};
  std::atomic<size_t> open_ws{0};

  metrics::Gauge* conn_gauge;
  metrics::Gauge* ws_gauge;
  metrics::Counter* ws_in;
  metrics::Counter* ws_out;
  metrics::Counter* ws_limited;
  metrics::Counter* rejected_total;
  metrics::Counter* rejected_per_ip;
};

ConnSlot::~ConnSlot() { srv.Release(ip); }

namespace {

std::string RemoteOf(const tcp::socket& sock) {
  beast::error_code ec;
  auto ep = sock.remote_endpoint(ec);
  if (ec) return "";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

std::string ErrorFrame(std::string_view code, std::string_view message) {
  nlohmann::json j = {{"type", "error"}, {"code", code}, {"message", message}};
  return j.dump();
}

bool IsHttpParseError(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category();
}

}  // namespace

// ---------------------------------------------------------------- WebSocket

class WsSession : public SessionBase, public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(ServerImpl& srv, tcp::socket&& sock, WsHandlers h, std::string remote, std::shared_ptr<ConnSlot> slot)
      : srv_(srv), ws_(std::move(sock)), h_(std::move(h)), id_(srv.next_id.fetch_add(1)), remote_(std::move(remote)),
        slot_(std::move(slot)) {}

  // On the connection's strand.
  void Run(bhttp::request<bhttp::string_body>&& req) {
    conn_ = std::make_shared<WsConnection>(id_, remote_, weak_from_this(), srv_.shared_from_this());
    srv_.Register(id_, shared_from_this(), /*ws=*/true);
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout opt;
    opt.handshake_timeout = std::chrono::milliseconds(srv_.s.request_timeout_ms);
    opt.idle_timeout = std::chrono::seconds(std::max(1, srv_.s.ws_idle_timeout_s));
    opt.keep_alive_pings = true;
    ws_.set_option(opt);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(bhttp::field::server, "kefu"); }));
    websocket::permessage_deflate pmd;
    pmd.server_enable = false;
    pmd.client_enable = false;
    ws_.set_option(pmd);
    // Messages are read piecewise (ReadLimit) so that an oversized one gets
    // an error frame before the 1009 close; Beast's own limit is only a
    // backstop for what is discarded after that.
    max_message_bytes_ = std::max<int64_t>(1, srv_.s.max_ws_message_bytes);
    ws_.read_message_max(0);
    ws_.text(true);
    text_bucket_.Init(srv_.s.ws_max_messages_per_s);
    binary_bucket_.Init(h_.max_binary_messages_per_s > 0 ? h_.max_binary_messages_per_s : srv_.s.ws_max_messages_per_s);
    req_ = std::move(req);
    ws_.async_accept(req_, beast::bind_front_handler(&WsSession::OnAccept, shared_from_this()));
  }

  void Shutdown(bool force) override {
    net::post(ws_.get_executor(), [self = shared_from_this(), force] {
      if (self->finished_) return;
      if (force || !self->opened_) {
        beast::error_code ec;
        beast::get_lowest_layer(self->ws_).socket().close(ec);
      } else {
        self->StartClose(websocket::close_code::going_away, "server shutting down");
      }
    });
  }

  // Thread-safe entry points used by WsConnection.
  void PostSend(std::string&& data, bool binary) {
    net::post(ws_.get_executor(), [self = shared_from_this(), d = std::move(data), binary]() mutable {
      self->SendFrame(std::move(d), binary);
    });
  }
  void PostClose(std::string&& reason, int code) {
    net::post(ws_.get_executor(), [self = shared_from_this(), r = std::move(reason), code]() mutable {
      self->StartClose(static_cast<websocket::close_code>(code), std::move(r));
    });
  }

 private:
  void OnAccept(beast::error_code ec) {
    req_ = {};
    if (ec) {
      log::Debug("ws_handshake_failed", {{"remote", remote_}, {"error", ec.message()}});
      return Finish();
    }
    opened_ = true;
    if (h_.on_open) {
      try {
        h_.on_open(conn_);
      } catch (const std::exception& e) {
        log::Error("ws_handler_exception", {{"callback", "on_open"}, {"error", e.what()}, {"ws_id", id_}});
      } catch (...) {
        log::Error("ws_handler_exception", {{"callback", "on_open"}, {"ws_id", id_}});
      }
    }
    DoRead();
  }

  // Reads at most one byte past the message limit, so an oversized message
  // is noticed without buffering it.
  void DoRead() {
    const auto room = static_cast<size_t>(max_message_bytes_ + 1 - static_cast<int64_t>(buf_.size()));
    ws_.async_read_some(buf_, discarding_ ? size_t{64 << 10} : room,
                        beast::bind_front_handler(&WsSession::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec) {
      // Beast has already sent the close frame for protocol violations
      // (1007 invalid UTF-8, ...).
      if (log::Enabled(log::Level::kDebug))
        log::Debug("ws_read_end", {{"ws_id", id_}, {"remote", remote_}, {"error", ec.message()}});
      return Finish();
    }
    if (discarding_) {  // the rest of an oversized message, while the close is under way
      buf_.consume(buf_.size());
      if (ws_.is_message_done()) discarding_ = false;
      return DoRead();
    }
    if (static_cast<int64_t>(buf_.size()) > max_message_bytes_) {
      buf_.consume(buf_.size());
      buf_.shrink_to_fit();
      discarding_ = !ws_.is_message_done();
      log::Warn("ws_message_too_big", {{"ws_id", id_}, {"remote", remote_}, {"limit", max_message_bytes_}});
      SendText(ErrorFrame("payload_too_large",
                          "a message may have at most " + std::to_string(max_message_bytes_) + " bytes"));
      StartClose(websocket::close_code::too_big, "message too big");
      return DoRead();
    }
    if (!ws_.is_message_done()) return DoRead();
    srv_.ws_in->Inc();
    const bool text_frame = ws_.got_text();
    if (!text_frame && !h_.on_binary) {
      buf_.consume(buf_.size());
      SendText(ErrorFrame("unsupported_frame", "binary frames are not supported; send UTF-8 text"));
      return DoRead();
    }
    if (!AllowMessage(text_frame ? text_bucket_ : binary_bucket_)) {
      buf_.consume(buf_.size());
      return DoRead();
    }
    auto data = buf_.cdata();
    std::string payload(static_cast<const char*>(data.data()), data.size());
    buf_.consume(buf_.size());
    if (buf_.capacity() > 8192) buf_.shrink_to_fit();  // idle connections stay small
    auto& handler = text_frame ? h_.on_message : h_.on_binary;
    if (handler && !close_pending_) {
      const char* name = text_frame ? "on_message" : "on_binary";
      try {
        handler(conn_, std::move(payload));
      } catch (const std::exception& e) {
        log::Error("ws_handler_exception", {{"callback", name}, {"error", e.what()}, {"ws_id", id_}});
        SendText(ErrorFrame("internal", "internal error"));
      } catch (...) {
        log::Error("ws_handler_exception", {{"callback", name}, {"ws_id", id_}});
        SendText(ErrorFrame("internal", "internal error"));
      }
    }
    DoRead();
  }

  // A token bucket of `limit` messages per second with as much burst (text
  // and binary messages have one each).
  struct Bucket {
    int limit = 0;  // 0 = unlimited
    double tokens = 0;
    SteadyClock::time_point last_refill;
    void Init(int lim) {
      limit = lim;
      tokens = lim;
      last_refill = SteadyClock::now();
    }
  };

  // Over the limit a message is dropped with an error frame; more drops than
  // the limit within one second (flooding at twice the rate) closes with 1008.
  bool AllowMessage(Bucket& b) {
    const int lim = b.limit;
    if (lim <= 0) return true;
    auto now = SteadyClock::now();
    double elapsed = std::chrono::duration<double>(now - b.last_refill).count();
    b.last_refill = now;
    b.tokens = std::min<double>(lim, b.tokens + elapsed * lim);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return true;
    }
    srv_.ws_limited->Inc();
    if (now - drop_window_start_ > std::chrono::seconds(1)) {
      drop_window_start_ = now;
      drops_ = 0;
    }
    if (++drops_ > lim) {
      if (!close_pending_) log::Warn("ws_flood_closed", {{"ws_id", id_}, {"remote", remote_}});
      StartClose(websocket::close_code::policy_error, "rate limit exceeded");
    } else {
      SendText(ErrorFrame("rate_limited", "too many messages: at most " + std::to_string(lim) + " per second"));
    }
    return false;
  }

  void SendText(std::string&& text) { SendFrame(std::move(text), false); }

  void SendFrame(std::string&& data, bool binary) {
    if (finished_ || close_pending_) return;
    queued_bytes_ += int64_t(data.size());
    if (queued_bytes_ > srv_.s.ws_max_queued_bytes) {
      log::Warn("ws_send_queue_overflow", {{"ws_id", id_}, {"remote", remote_}, {"queued_bytes", queued_bytes_}});
      // Keep the frame being written (Beast needs its buffer), drop the rest.
      if (writing_) outq_.resize(1);
      else outq_.clear();
      queued_bytes_ = 0;
      for (auto& m : outq_) queued_bytes_ += int64_t(m.data.size());
      StartClose(websocket::close_code::policy_error, "client too slow");
      return;
    }
    outq_.push_back({std::move(data), binary});
    if (!writing_) DoWrite();
  }

  void DoWrite() {
    writing_ = true;
    ws_.binary(outq_.front().binary);
    ws_.async_write(net::buffer(outq_.front().data), beast::bind_front_handler(&WsSession::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, size_t) {
    writing_ = false;
    if (!outq_.empty()) {
      queued_bytes_ -= int64_t(outq_.front().data.size());
      outq_.pop_front();
    }
    if (ec || finished_) {
      beast::error_code ignored;
      beast::get_lowest_layer(ws_).socket().close(ignored);  // the pending read ends → Finish
      outq_.clear();
      return;
    }
    srv_.ws_out->Inc();
    if (!outq_.empty()) return DoWrite();
    if (close_pending_ && !close_started_) DoClose();
  }

  void StartClose(websocket::close_code code, std::string reason) {
    if (finished_ || close_pending_) return;
    close_pending_ = true;
    close_reason_ = websocket::close_reason(code, reason);
    if (!writing_) DoClose();
  }

  void DoClose() {
    close_started_ = true;
    ws_.async_close(close_reason_, [self = shared_from_this()](beast::error_code ec) {
      if (ec) {
        beast::error_code ignored;
        beast::get_lowest_layer(self->ws_).socket().close(ignored);
      }
      // The pending read completes once the peer answers (or times out).
    });
  }

  void Finish() {
    if (finished_) return;
    finished_ = true;
    conn_->closed_->store(true);
    if (opened_ && h_.on_close) {
      try {
        h_.on_close(conn_);
      } catch (const std::exception& e) {
        log::Error("ws_handler_exception", {{"callback", "on_close"}, {"error", e.what()}, {"ws_id", id_}});
      } catch (...) {
        log::Error("ws_handler_exception", {{"callback", "on_close"}, {"ws_id", id_}});
      }
    }
    h_ = {};  // drop the handler's captures (they may hold handles)
    // A write in flight still reads its buffer: keep that frame until OnWrite.
    if (writing_) outq_.resize(1);
    else outq_.clear();
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
    srv_.Unregister(id_, /*ws=*/true);
  }

  ServerImpl& srv_;
  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buf_;
  bhttp::request<bhttp::string_body> req_;
  WsHandlers h_;
  uint64_t id_;
  std::string remote_;
  std::shared_ptr<ConnSlot> slot_;
  std::shared_ptr<WsConnection> conn_;
  struct OutFrame {
    std::string data;
    bool binary = false;
  };
  std::deque<OutFrame> outq_;
  int64_t queued_bytes_ = 0;
  int64_t max_message_bytes_ = 1;
  bool discarding_ = false;  // reading past an oversized message
  bool writing_ = false;
  bool opened_ = false;
  bool close_pending_ = false;
  bool close_started_ = false;
  bool finished_ = false;
  websocket::close_reason close_reason_;
  Bucket text_bucket_, binary_bucket_;
  SteadyClock::time_point drop_window_start_;
  int drops_ = 0;
};

// ---------------------------------------------------------------- SSE

class SseSession : public SessionBase, public std::enable_shared_from_this<SseSession> {
 public:
  SseSession(ServerImpl& srv, tcp::socket&& sock, std::function<void(std::shared_ptr<SseStream>)> on_open,
             std::shared_ptr<ConnSlot> slot)
      : srv_(srv), stream_(std::move(sock)), heartbeat_(stream_.get_executor()), on_open_(std::move(on_open)),
        id_(srv.next_id.fetch_add(1)), slot_(std::move(slot)) {}

  // On the connection's strand.
  void Run() {
    handle_ = std::make_shared<SseStream>(id_, weak_from_this(), srv_.shared_from_this());
    srv_.Register(id_, shared_from_this(), /*ws=*/false);
    std::string head =
        "HTTP/1.1 200 OK\r\n"
        "Server: kefu\r\n"
        "Content-Type: text/event-stream; charset=utf-8\r\n"
        "Cache-Control: no-cache\r\n"
        "X-Accel-Buffering: no\r\n"
        "Connection: close\r\n";
    if (!srv_.s.cors_allow_origin.empty()) head += "Access-Control-Allow-Origin: " + srv_.s.cors_allow_origin + "\r\n";
    head += "\r\n: connected\n\n";
    Enqueue(std::move(head));
    stream_.async_read_some(net::buffer(rbuf_), beast::bind_front_handler(&SseSession::OnRead, shared_from_this()));
    ArmHeartbeat();
    if (on_open_) {
      try {
        on_open_(handle_);
      } catch (const std::exception& e) {
        log::Error("sse_handler_exception", {{"error", e.what()}});
        Finish();
      } catch (...) {
        log::Error("sse_handler_exception", {});
        Finish();
      }
      on_open_ = nullptr;
    }
  }

  void Shutdown(bool force) override {
    net::post(stream_.get_executor(), [self = shared_from_this(), force] {
      if (force) return self->Finish();
      self->CloseAfterFlush();
    });
  }

  void PostSend(std::string&& frame) {
    net::post(stream_.get_executor(), [self = shared_from_this(), f = std::move(frame)]() mutable { self->Enqueue(std::move(f)); });
  }
  void PostClose() {
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->CloseAfterFlush(); });
  }

 private:
  void Enqueue(std::string&& frame) {
    if (finished_ || close_pending_) return;
    queued_bytes_ += int64_t(frame.size());
    if (queued_bytes_ > srv_.s.ws_max_queued_bytes) {
      log::Warn("sse_send_queue_overflow", {{"sse_id", id_}});
      return Finish();
    }
    outq_.push_back(std::move(frame));
    if (!writing_) DoWrite();
  }

  void DoWrite() {
    writing_ = true;
    stream_.expires_after(std::chrono::milliseconds(srv_.s.write_timeout_ms));
    net::async_write(stream_, net::buffer(outq_.front()), beast::bind_front_handler(&SseSession::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, size_t) {
    writing_ = false;
    if (finished_) return;
    stream_.expires_never();
    queued_bytes_ -= int64_t(outq_.front().size());
    outq_.pop_front();
    if (ec) return Finish();
    if (!outq_.empty()) return DoWrite();
    if (close_pending_) Finish();
  }

  void CloseAfterFlush() {
    if (finished_) return;
    close_pending_ = true;
    if (!writing_) Finish();
  }

  void ArmHeartbeat() {
    heartbeat_.expires_after(std::chrono::seconds(std::max(1, srv_.s.sse_heartbeat_s)));
    heartbeat_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->finished_) return;
      self->Enqueue(": ping\n\n");
      self->ArmHeartbeat();
    });
  }

  // The client sends nothing on an event stream; any read result other than
  // data means it has gone.
  void OnRead(beast::error_code ec, size_t) {
    if (ec) return Finish();
    stream_.async_read_some(net::buffer(rbuf_), beast::bind_front_handler(&SseSession::OnRead, shared_from_this()));
  }

  void Finish() {
    if (finished_) return;
    finished_ = true;
    handle_->closed_->store(true);
    heartbeat_.cancel();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
    // A write in flight still reads its buffer: keep that frame.
    if (writing_) outq_.resize(1);
    else outq_.clear();
    srv_.Unregister(id_, /*ws=*/false);
    handle_->RunOnClose();
  }

  ServerImpl& srv_;
  beast::tcp_stream stream_;
  net::steady_timer heartbeat_;
  std::function<void(std::shared_ptr<SseStream>)> on_open_;
  uint64_t id_;
  std::shared_ptr<ConnSlot> slot_;
  std::shared_ptr<SseStream> handle_;
  std::deque<std::string> outq_;
  int64_t queued_bytes_ = 0;
  std::array<char, 64> rbuf_{};
  bool writing_ = false;
  bool close_pending_ = false;
  bool finished_ = false;
};

// ---------------------------------------------------------------- HTTP

class HttpSession : public SessionBase, public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(ServerImpl& srv, tcp::socket&& sock, std::shared_ptr<ConnSlot> slot)
      : srv_(srv), stream_(std::move(sock)), timer_(stream_.get_executor()), id_(srv.next_id.fetch_add(1)),
        slot_(std::move(slot)) {
    remote_ = RemoteOf(stream_.socket());
  }

  // Called on the acceptor's strand.
  void Start() {
    srv_.Register(id_, shared_from_this(), /*ws=*/false);
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->DoRead(); });
  }

  void Shutdown(bool force) override {
    net::post(stream_.get_executor(), [self = shared_from_this(), force] {
      if (self->closed_) return;
      if (force || self->lingering_) return self->Close();
      if (self->reading_) {
        // Idle keep-alive (or mid-request): the read is cancelled → Close.
        beast::error_code ec;
        self->stream_.socket().cancel(ec);
      }
      // In flight or writing: the response goes out with Connection: close.
    });
  }

 private:
  void DoRead() {
    if (closed_) return;
    if (srv_.stopping.load()) return Close();
    parser_.emplace();
    parser_->header_limit(uint32_t(std::max<int64_t>(1024, srv_.s.max_header_bytes)));
    // Upload routes may carry more than max_body_bytes: the limit is the
    // larger one until the head is read, then the route's own (CheckHead).
    parser_->body_limit(uint64_t(std::max<int64_t>(0, std::max(srv_.s.max_body_bytes, UploadLimit()))));
    body_limit_ = srv_.s.max_body_bytes;
    head_checked_ = false;
    reading_ = true;
    timed_out_ = false;
    timer_.expires_after(std::chrono::milliseconds(srv_.s.request_timeout_ms));
    timer_.async_wait([w = weak_from_this()](beast::error_code ec) {
      auto self = w.lock();
      if (ec || !self || !self->reading_) return;
      self->timed_out_ = true;
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);
    });
    ParseBuffered();
  }

  // Most unparsed bytes kept while the parser still needs more: a request
  // head, a chunk header or the chunked trailer (which Beast does not bound:
  // a trailer field over 64 KiB made it throw out of the I/O handler, and the
  // connection was never answered or closed).
  size_t MaxUnparsed() const { return size_t(std::max<int64_t>(1024, srv_.s.max_header_bytes)) + 1024; }

  // Feeds the buffered bytes to the parser (pipelined requests are already
  // there) and reads more while it needs more. Beast's parser throws on some
  // oversized input (std::length_error for fields over 64 KiB): every
  // exception here ends the request with an answer instead of escaping.
  void ParseBuffered() {
    beast::error_code ec;
    try {
      while (!parser_->is_done()) {
        if (buffer_.size() == 0) break;
        size_t used = parser_->put(buffer_.data(), ec);
        buffer_.consume(used);
        if (!ec && !head_checked_ && parser_->is_header_done() && !CheckHead()) return;
        if (ec == bhttp::error::need_more) {
          ec = {};
          break;
        }
        if (ec) break;
        if (used == 0) break;
      }
    } catch (const std::exception& e) {
      log::Warn("http_parse_exception", {{"remote", remote_}, {"error", e.what()}});
      return ReadFailed(bhttp::error::header_limit);
    }
    if (ec) return OnRead(ec, 0);
    if (parser_->is_done()) return OnRead({}, 0);
    // A body of known length streams straight into the parser; anything else
    // waiting for its end (head, chunk header, trailer) must fit MaxUnparsed.
    bool plain_body = parser_->is_header_done() && !parser_->chunked();
    size_t limit = MaxUnparsed();
    if (!plain_body && buffer_.size() >= limit) return ReadFailed(bhttp::error::header_limit);
    size_t want = plain_body ? 65536 : std::min<size_t>(65536, limit - buffer_.size());
    try {
      stream_.async_read_some(buffer_.prepare(want),
                              beast::bind_front_handler(&HttpSession::OnBytes, shared_from_this()));
    } catch (const std::exception& e) {
      log::Warn("http_read_exception", {{"remote", remote_}, {"error", e.what()}});
      reading_ = false;
      Close();
    }
  }

  void OnBytes(beast::error_code ec, size_t n) {
    if (closed_) return;
    buffer_.commit(n);
    if (ec == net::error::eof) {
      if (!parser_->got_some()) return OnRead(bhttp::error::end_of_stream, 0);
      beast::error_code eof_ec;
      parser_->put_eof(eof_ec);
      if (!eof_ec && !parser_->is_done()) eof_ec = bhttp::error::partial_message;
      return OnRead(eof_ec, 0);
    }
    if (ec) return OnRead(ec, 0);
    ParseBuffered();
  }

  // Ends the current read with `ec` as if Beast had reported it.
  void ReadFailed(beast::error_code ec) { OnRead(ec, 0); }

  int64_t UploadLimit() const { return srv_.s.is_upload_path ? srv_.s.max_upload_body_bytes : 0; }

  // The body limit of the request being read, from its request line (parsed
  // first, so known even when Beast refused the head for its Content-Length).
  int64_t RouteBodyLimit() const {
    if (UploadLimit() <= srv_.s.max_body_bytes) return srv_.s.max_body_bytes;
    const auto& h = parser_->get();
    std::string_view target(h.target().data(), h.target().size());
    std::string_view path = target.substr(0, target.find('?'));
    const std::string_view method(h.method_string().data(), h.method_string().size());
    return srv_.s.is_upload_path(method, path) ? UploadLimit() : srv_.s.max_body_bytes;
  }

  // Once the request head is parsed: the body limit of this request (the
  // upload limit for an upload route, else max_body_bytes); a declared
  // Content-Length over it fails before any of the body is read. False =
  // refused (ReadFailed was called).
  bool CheckHead() {
    head_checked_ = true;
    const int64_t upload = UploadLimit();
    if (upload <= srv_.s.max_body_bytes) return true;  // one limit for every route, set in DoRead
    const int64_t limit = RouteBodyLimit();
    body_limit_ = limit;
    if (auto len = parser_->content_length(); len && *len > uint64_t(limit)) {
      ReadFailed(bhttp::error::body_limit);
      return false;
    }
    parser_->body_limit(uint64_t(limit));  // chunked bodies: counted as they come
    return true;
  }

  void OnRead(beast::error_code ec, size_t) {
    reading_ = false;
    timer_.cancel();
    if (closed_) return;
    keep_alive_ = false;
    head_ = false;
    if (ec) {
      start_ = SteadyClock::now();
      request_id_ = 0;
      method_ = "-";
      route_ = "unmatched";
      hist_ = nullptr;
      if (timed_out_) {
        if (parser_->got_some())
          return Reply(Response::Error(408, "request_timeout", "the request was not received in time"));
        return Close();
      }
      if (ec == bhttp::error::body_limit && !head_checked_) body_limit_ = RouteBodyLimit();
      if (ec == bhttp::error::body_limit)
        return Reply(Response::Error(413, "payload_too_large",
                                     "request body exceeds " + std::to_string(body_limit_) + " bytes"));
      if (ec == bhttp::error::header_limit)
        return Reply(Response::Error(431, "header_too_large", "request header or trailer is too large"));
      if (IsHttpParseError(ec) && ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message)
        return Reply(Response::Error(400, "invalid_request", "malformed HTTP request: " + ec.message()));
      return Close();
    }
    auto req = parser_->release();
    try {
      Handle(std::move(req));
    } catch (const std::exception& e) {
      log::Error("http_handle_exception", {{"request_id", request_id_}, {"route", route_}, {"error", e.what()}});
      keep_alive_ = false;
      if (!writing_ && !closed_) Reply(Response::Error(500, "internal", "internal error"));
    }
  }

  void Handle(bhttp::request<bhttp::string_body>&& req) {
    start_ = SteadyClock::now();
    request_id_ = srv_.next_request_id.fetch_add(1);
    keep_alive_ = req.keep_alive();
    method_ = std::string(req.method_string());
    head_ = req.method() == bhttp::verb::head;
    route_ = "unmatched";
    hist_ = nullptr;
    target_ = std::string(req.target());
    if (srv_.stopping.load()) {
      keep_alive_ = false;
      return Reply(Response::Error(503, "unavailable", "the server is shutting down"));
    }
    if (req.version() >= 11 && req.count(bhttp::field::host) != 1) {
      keep_alive_ = false;
      return Reply(Response::Error(400, "invalid_request", "an HTTP/1.1 request needs exactly one Host header"));
    }
    Request r;
    r.method = method_;
    r.target = target_;
    std::string_view t = target_;
    auto q = t.find('?');
    auto path = PercentDecode(t.substr(0, q), false);
    std::optional<std::map<std::string, std::string>> query;
    if (q != std::string_view::npos) query = ParseQuery(t.substr(q + 1));
    else query.emplace();
    if (!path || !query || path->empty() || path->front() != '/')
      return Reply(Response::Error(400, "invalid_request", "malformed request target"));
    r.path = std::move(*path);
    r.query = std::move(*query);
    r.headers.reserve(8);
    for (const auto& f : req) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    r.remote = remote_;
    r.request_id = request_id_;
    // Route on segments decoded one by one, so an encoded '/' stays inside its segment.
    std::vector<std::string> segs = SplitPath(t.substr(0, q));
    for (auto& seg : segs) {
      auto d = PercentDecode(seg, false);
      if (!d) return Reply(Response::Error(400, "invalid_request", "malformed request target"));
      seg = std::move(*d);
    }

    if (websocket::is_upgrade(req)) return Upgrade(std::move(req), std::move(r), segs);
    r.body = std::move(req.body());
    const std::string& m = r.method;
    if (m == "OPTIONS") return Preflight(r, segs);

    auto match = srv_.routes.Find(m, segs);
    if (!match.value && head_) match = srv_.routes.Find("GET", segs);
    if (match.value) {
      route_ = *match.pattern;
      hist_ = match.value->hist;
      r.path_params = std::move(match.params);
      return Dispatch(*match.value, std::move(r));
    }
    if (m == "GET") {
      auto sse = srv_.sse_routes.Find("GET", segs);
      if (sse.value) {
        route_ = *sse.pattern;
        r.path_params = std::move(sse.params);
        return StartSse(*sse.value, r);
      }
    }
    if (m == "GET" || m == "HEAD") {
      for (const auto& mount : srv_.statics) {
        auto resp = ServeStatic(mount, r.path, r.Header("If-None-Match"), r.Header("If-Modified-Since"));
        if (!resp) continue;
        route_ = mount.prefix == "/" ? "/*" : mount.prefix + "/*";
        return Reply(std::move(*resp));
      }
    }
    std::vector<std::string> allowed = match.allowed;
    if (srv_.ws_routes.Find("GET", segs).value || srv_.sse_routes.Find("GET", segs).value) allowed.push_back("GET");
    if (!allowed.empty()) {
      std::string allow;
      for (auto& a : allowed) allow += (allow.empty() ? "" : ", ") + a;
      auto resp = Response::Error(405, "method_not_allowed", "method " + m + " not allowed; use " + allow);
      resp.headers.emplace_back("Allow", allow);
      return Reply(std::move(resp));
    }
    Reply(Response::Error(404, "not_found", "no route for " + m + " " + r.path));
  }

  void Preflight(const Request& r, const std::vector<std::string>& segs) {
    auto allowed = srv_.routes.Find("OPTIONS", segs).allowed;
    if (srv_.ws_routes.Find("GET", segs).value || srv_.sse_routes.Find("GET", segs).value) allowed.push_back("GET");
    if (allowed.empty()) {
      for (const auto& mount : srv_.statics)
        if (mount.prefix == "/" || r.path.starts_with(mount.prefix)) allowed = {"GET", "HEAD"};
    }
    if (allowed.empty()) return Reply(Response::Error(404, "not_found", "no route for " + r.path));
    route_ = "OPTIONS *";
    std::string allow = "OPTIONS";
    for (auto& a : allowed) allow += ", " + a;
    Response resp;
    resp.status = 204;
    resp.content_type.clear();
    resp.headers.emplace_back("Allow", allow);
    if (!srv_.s.cors_allow_origin.empty()) {
      resp.headers.emplace_back("Access-Control-Allow-Methods", allow);
      std::string req_headers = r.Header("Access-Control-Request-Headers");
      resp.headers.emplace_back("Access-Control-Allow-Headers",
                                req_headers.empty() ? "Content-Type, Authorization, X-Kefu-Widget-Key" : req_headers);
      resp.headers.emplace_back("Access-Control-Max-Age", "600");
    }
    Reply(std::move(resp));
  }

  void Dispatch(const RouteEntry& e, Request&& r) {
    in_flight_ = true;
    srv_.InFlightStart();
    auto state = std::make_shared<ResponderState>();
    state->deliver = [w = weak_from_this(), life = srv_.shared_from_this()](Response&& resp) {
      if (life->dead.load()) return;
      if (auto s = w.lock())
        net::post(s->stream_.get_executor(),
                  [s, resp = std::move(resp)]() mutable { s->Reply(std::move(resp)); });
    };
    Responder responder(std::move(state));
    try {
      e.handler(std::move(r), responder);
    } catch (const std::exception& ex) {
      log::Error("handler_exception", {{"request_id", request_id_}, {"route", route_}, {"error", ex.what()}});
      responder.Send(Response::Error(500, "internal", "internal error"));
    } catch (...) {
      log::Error("handler_exception", {{"request_id", request_id_}, {"route", route_}});
      responder.Send(Response::Error(500, "internal", "internal error"));
    }
  }

  Result<WsHandlers> CallWsAcceptor(const WsAcceptor& a, const Request& r) {
    try {
      return a(r);
    } catch (const std::exception& ex) {
      log::Error("handler_exception", {{"request_id", request_id_}, {"route", route_}, {"error", ex.what()}});
    } catch (...) {
      log::Error("handler_exception", {{"request_id", request_id_}, {"route", route_}});
    }
    return Internal("internal error");
  }

  void Upgrade(bhttp::request<bhttp::string_body>&& req, Request&& r, const std::vector<std::string>& segs) {
    auto match = srv_.ws_routes.Find("GET", segs);
    if (!match.value) return Reply(Response::Error(404, "not_found", "no WebSocket route for " + r.path));
    route_ = *match.pattern;
    r.path_params = std::move(match.params);
    // Answer a handshake Beast would refuse ourselves, with the JSON error
    // body every other error has (Beast's own answer is plain text).
    if (req[bhttp::field::sec_websocket_version] != "13") {
      keep_alive_ = false;
      auto resp = Response::Error(426, "upgrade_required", "unsupported WebSocket version; use Sec-WebSocket-Version: 13");
      resp.headers.emplace_back("Sec-WebSocket-Version", "13");
      return Reply(std::move(resp));
    }
    {
      std::string_view key = req[bhttp::field::sec_websocket_key];
      auto b64 = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/'; };
      if (key.size() != 24 || key.substr(22) != "==" || !std::all_of(key.begin(), key.begin() + 22, b64)) {
        keep_alive_ = false;
        return Reply(Response::Error(400, "invalid_request", "Sec-WebSocket-Key must be 16 random bytes in base64"));
      }
    }
    auto handlers = CallWsAcceptor(*match.value, r);
    if (!handlers.ok()) {
      keep_alive_ = false;
      return Reply(srv_.error_renderer(handlers.status()));
    }
    Log(101);
    srv_.CountRequest(method_, route_, 101, nullptr, Seconds());
    auto ws = std::make_shared<WsSession>(srv_, stream_.release_socket(), std::move(handlers).value(), remote_, slot_);
    Detach();
    ws->Run(std::move(req));
  }

  void StartSse(const SseAcceptor& a, const Request& r) {
    Result<std::function<void(std::shared_ptr<SseStream>)>> opened = Internal("internal error");
    try {
      opened = a(r);
    } catch (const std::exception& ex) {
      log::Error("handler_exception", {{"request_id", request_id_}, {"route", route_}, {"error", ex.what()}});
    } catch (...) {
      log::Error("handler_exception", {{"request_id", request_id_}, {"route", route_}});
    }
    if (!opened.ok()) {
      keep_alive_ = false;
      return Reply(srv_.error_renderer(opened.status()));
    }
    Log(200);
    srv_.CountRequest(method_, route_, 200, nullptr, Seconds());
    auto sse = std::make_shared<SseSession>(srv_, stream_.release_socket(), std::move(opened).value(), slot_);
    Detach();
    sse->Run();
  }

  // The socket now belongs to a WebSocket/SSE session.
  void Detach() {
    closed_ = true;
    timer_.cancel();
    srv_.Unregister(id_, false);
  }

  double Seconds() const { return std::chrono::duration<double>(SteadyClock::now() - start_).count(); }

  void Log(int status) {
    if (!log::Enabled(log::Level::kDebug)) return;
    log::Debug("http_access", {{"request_id", request_id_},
                               {"method", method_},
                               {"target", target_},
                               {"route", route_},
                               {"status", status},
                               {"ms", Seconds() * 1000},
                               {"remote", remote_}});
  }

  // On the strand: writes the response, then reads the next request or closes.
  void Reply(Response&& resp) {
    if (closed_ || writing_) {
      FinishInFlight();
      return;
    }
    auto& res = res_.emplace();
    res.version(11);
    res.result(unsigned(resp.status));
    res.set(bhttp::field::server, "kefu");
    if (!resp.content_type.empty()) res.set(bhttp::field::content_type, resp.content_type);
    for (auto& [k, v] : resp.headers) res.insert(k, v);
    if (!srv_.s.cors_allow_origin.empty()) res.set(bhttp::field::access_control_allow_origin, srv_.s.cors_allow_origin);
    if (request_id_) res.set("X-Request-Id", std::to_string(request_id_));
    bool ka = keep_alive_ && !srv_.stopping.load();
    res.keep_alive(ka);
    bool no_body = resp.status == 204 || resp.status == 304 || (resp.status >= 100 && resp.status < 200);
    if (no_body) {
      res.body().clear();
    } else if (head_) {
      res.content_length(resp.body.size());
    } else {
      res.body() = std::move(resp.body);
      res.prepare_payload();
    }
    Log(resp.status);
    srv_.CountRequest(method_, route_, resp.status, hist_, Seconds());
    writing_ = true;
    stream_.expires_after(std::chrono::milliseconds(srv_.s.write_timeout_ms));
    try {
      bhttp::async_write(stream_, res, beast::bind_front_handler(&HttpSession::OnWrite, shared_from_this(), ka));
    } catch (const std::exception& e) {
      log::Error("http_write_exception", {{"request_id", request_id_}, {"error", e.what()}});
      writing_ = false;
      res_.reset();
      Close();
    }
  }

  void OnWrite(bool ka, beast::error_code ec, size_t) {
    writing_ = false;
    stream_.expires_never();
    res_.reset();
    FinishInFlight();
    if (closed_) return;
    if (ec) return Close();
    if (!ka) return LingerClose();
    if (buffer_.size() == 0 && buffer_.capacity() > 16384) buffer_.shrink_to_fit();
    DoRead();
  }

  void FinishInFlight() {
    if (!in_flight_) return;
    in_flight_ = false;
    srv_.InFlightDone();
  }

  // Half-closes, then drains what the client still sends for up to a second,
  // so an early error response (413, 400) is not destroyed by a TCP reset.
  void LingerClose() {
    lingering_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    stream_.expires_after(std::chrono::seconds(1));
    DrainRead();
  }
  void DrainRead() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec || self->closed_) return self->Close();
      self->DrainRead();
    });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    timer_.cancel();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
    FinishInFlight();
    srv_.Unregister(id_, false);
  }

  ServerImpl& srv_;
  beast::tcp_stream stream_;
  net::steady_timer timer_;
  uint64_t id_;
  std::shared_ptr<ConnSlot> slot_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::string_body>> res_;
  bool reading_ = false;
  bool writing_ = false;
  bool timed_out_ = false;
  bool in_flight_ = false;
  bool closed_ = false;
  bool lingering_ = false;
  bool keep_alive_ = false;
  bool head_ = false;
  bool head_checked_ = false;  // CheckHead ran for the request being read
  int64_t body_limit_ = 0;     // this request's body limit, for the 413 message
  // The request being answered (for metrics and the access log).
  SteadyClock::time_point start_;
  uint64_t request_id_ = 0;
  std::string method_;
  std::string route_;
  std::string target_;
  metrics::Histogram* hist_ = nullptr;
};

// ---------------------------------------------------------------- server

void ServerImpl::DoAccept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket sock) {
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
      // Out of file descriptors and the like: back off instead of spinning.
      log::Warn("http_accept_failed", {{"error", ec.message()}});
      accept_timer.expires_after(std::chrono::milliseconds(50));
      accept_timer.async_wait([this](beast::error_code e) {
        if (!e && acceptor.is_open()) DoAccept();
      });
      return;
    }
    if (stopping.load()) {
      beast::error_code ignored;
      sock.close(ignored);
    } else {
      beast::error_code ep_ec;
      auto ep = sock.remote_endpoint(ep_ec);
      std::string ip = ep_ec ? std::string() : ep.address().to_string();
      const char* reason = "";
      auto slot = TryAcquire(ip, &reason);
      if (!slot) {
        Reject(sock, ip, reason);
      } else {
        sock.set_option(tcp::no_delay(true), ec);
        std::make_shared<HttpSession>(*this, std::move(sock), std::move(slot))->Start();
      }
    }
    DoAccept();
  });
}

Status ServerImpl::Start() {
  std::lock_guard lk(lifecycle_mu);
  if (started) return FailedPrecondition("server already started");
  beast::error_code ec;
  auto addr = net::ip::make_address(s.host, ec);
  if (ec) return InvalidArgument("server.host: not an IP address: " + s.host);
  if (s.port < 0 || s.port > 65535) return InvalidArgument("server.port out of range: " + std::to_string(s.port));
  tcp::endpoint ep(addr, uint16_t(s.port));
  std::string where = s.host + ":" + std::to_string(s.port);
  acceptor.open(ep.protocol(), ec);
  if (ec) return Unavailable("open " + where + ": " + ec.message());
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  acceptor.bind(ep, ec);
  if (ec) return Unavailable("bind " + where + ": " + ec.message());
  acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Unavailable("listen " + where + ": " + ec.message());
  bound_port = acceptor.local_endpoint(ec).port();
  if (s.max_connections > 0) {
    max_conns = s.max_connections;
  } else {
    // Keep 64 descriptors for the database, logs, model files and outbound calls.
    rlimit rl{};
    int64_t fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? int64_t(rl.rlim_cur) : 1 << 20;
    max_conns = int(std::clamp<int64_t>(fds - 64, 16, 1 << 20));
  }
  started = true;
  work.emplace(ioc.get_executor());
  net::post(acceptor.get_executor(), [this] { DoAccept(); });
  int n = std::max(1, s.io_threads);
  {
    std::lock_guard l(mu);
    running_threads = n;
  }
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([this] {
      for (;;) {
        try {
          ioc.run();
          break;
        } catch (const std::exception& e) {
          log::Error("http_io_exception", {{"error", e.what()}});
        } catch (...) {
          log::Error("http_io_exception", {});
        }
      }
      std::lock_guard l(mu);
      --running_threads;
      cv.notify_all();
    });
  }
  log::Info("http_listening", {{"host", s.host},
                               {"port", bound_port},
                               {"io_threads", n},
                               {"max_connections", max_conns},
                               {"max_connections_per_ip", s.max_connections_per_ip}});
  return Status::Ok();
}

void ServerImpl::Stop() {
  std::lock_guard lk(lifecycle_mu);
  if (!started || stop_done) return;
  stop_done = true;
  auto t0 = SteadyClock::now();
  stopping.store(true);
  net::post(acceptor.get_executor(), [this] {
    beast::error_code ec;
    acceptor.close(ec);
    accept_timer.cancel();
  });
  for (auto& session : Snapshot()) session->Shutdown(false);
  auto deadline = t0 + std::chrono::milliseconds(std::max(0, s.shutdown_grace_ms));
  {
    // First the requests whose handlers have not answered yet, then the
    // WebSocket close handshakes (a peer gets at most kWsCloseWait to answer).
    constexpr auto kWsCloseWait = std::chrono::milliseconds(1000);
    std::unique_lock l(mu);
    cv.wait_until(l, deadline, [&] { return in_flight.load() == 0; });
    cv.wait_until(l, std::min(deadline, SteadyClock::now() + kWsCloseWait), [&] { return open_ws.load() == 0; });
  }
  int64_t unfinished = in_flight.load();
  for (auto& session : Snapshot()) session->Shutdown(true);
  work.reset();
  bool drained;
  {
    // With every socket closed the I/O threads run out of work and return.
    std::unique_lock l(mu);
    drained = cv.wait_for(l, std::chrono::seconds(2), [&] { return running_threads == 0; });
  }
  if (!drained) ioc.stop();
  for (auto& t : threads) t.join();
  threads.clear();
  dead.store(true);
  {
    std::lock_guard l(mu);
    sessions.clear();
  }
  log::Info("http_stopped", {{"ms", std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count()},
                             {"unfinished_requests", unfinished}});
}

}  // namespace internal

// ---------------------------------------------------------------- handles

void Responder::Send(Response r) const {
  if (!state_ || state_->sent.exchange(true)) return;
  if (state_->deliver) state_->deliver(std::move(r));
}

bool Responder::sent() const { return state_ && state_->sent.load(); }

Responder Responder::FromCallback(std::function<void(Response)> fn) {
  auto s = std::make_shared<internal::ResponderState>();
  s->deliver = [fn = std::move(fn)](Response&& r) { fn(std::move(r)); };
  return Responder(std::move(s));
}

WsConnection::WsConnection(uint64_t id, std::string remote, std::weak_ptr<internal::WsSession> s,
                           std::shared_ptr<internal::ServerImpl> life)
    : id_(id), remote_(std::move(remote)), session_(std::move(s)), life_(std::move(life)),
      closed_(std::make_shared<std::atomic<bool>>(false)) {}

void WsConnection::Send(std::string text) {
  if (closed_->load() || life_->dead.load()) return;
  if (auto s = session_.lock()) s->PostSend(std::move(text), false);
}

void WsConnection::SendBinary(std::string bytes) {
  if (closed_->load() || life_->dead.load()) return;
  if (auto s = session_.lock()) s->PostSend(std::move(bytes), true);
}

void WsConnection::Close(std::string reason, int code) {
  if (closed_->load() || life_->dead.load()) return;
  if (code < 1000 || code > 4999 || code == 1005 || code == 1006 || code == 1015) code = 1000;  // only codes a frame may carry
  if (auto s = session_.lock()) s->PostClose(std::move(reason), code);
}

bool WsConnection::closed() const { return closed_->load(); }

SseStream::SseStream(uint64_t id, std::weak_ptr<internal::SseSession> s, std::shared_ptr<internal::ServerImpl> life)
    : id_(id), session_(std::move(s)), life_(std::move(life)),
      closed_(std::make_shared<std::atomic<bool>>(false)),
      close_state_(std::make_shared<internal::SseCloseState>()) {}

SseStream::~SseStream() = default;

void SseStream::Send(std::string_view event, std::string_view data) {
  if (closed_->load() || life_->dead.load()) return;
  std::string frame;
  frame.reserve(event.size() + data.size() + 24);
  if (!event.empty()) {
    frame += "event: ";
    frame += event;
    frame += '\n';
  }
  size_t pos = 0;
  for (;;) {
    size_t nl = data.find('\n', pos);
    std::string_view line = data.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    frame += "data: ";
    frame += line;
    frame += '\n';
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  frame += '\n';
  if (auto s = session_.lock()) s->PostSend(std::move(frame));
}

void SseStream::Close() {
  if (closed_->load() || life_->dead.load()) return;
  if (auto s = session_.lock()) s->PostClose();
}

bool SseStream::closed() const { return closed_->load(); }

void SseStream::OnClose(std::function<void()> fn) {
  {
    std::lock_guard l(close_state_->mu);
    if (!close_state_->ran) {
      close_state_->fns.push_back(std::move(fn));
      return;
    }
  }
  fn();
}

void SseStream::RunOnClose() {
  std::vector<std::function<void()>> fns;
  {
    std::lock_guard l(close_state_->mu);
    close_state_->ran = true;
    fns.swap(close_state_->fns);
  }
  for (auto& fn : fns) {
    try {
      fn();
    } catch (const std::exception& e) {
      log::Error("sse_handler_exception", {{"callback", "on_close"}, {"error", e.what()}});
    } catch (...) {
    }
  }
}

// ---------------------------------------------------------------- Server

Server::Server(ServerSettings settings, metrics::Registry& metrics)
    : impl_(std::make_shared<internal::ServerImpl>(std::move(settings), metrics)) {}

Server::~Server() { Stop(); }

void Server::Route(std::string method, std::string pattern, Handler h) {
  internal::RouteEntry e;
  e.handler = std::move(h);
  e.hist = &impl_->metrics.GetHistogram("kefu_http_request_seconds", "HTTP request latency by route pattern",
                                        "route=\"" + metrics::EscapeLabel(pattern) + "\"");
  impl_->route_list.push_back(method + " " + pattern);
  impl_->routes.Add(std::move(method), std::move(pattern), std::move(e));
}

void Server::WebSocket(std::string pattern, WsAcceptor a) {
  impl_->route_list.push_back("GET " + pattern);
  impl_->ws_routes.Add("GET", std::move(pattern), std::move(a));
}

void Server::Sse(std::string pattern, SseAcceptor a) {
  impl_->route_list.push_back("GET " + pattern);
  impl_->sse_routes.Add("GET", std::move(pattern), std::move(a));
}

void Server::Static(std::string url_prefix, std::string dir, bool spa_fallback) {
  internal::StaticMount m;
  while (url_prefix.size() > 1 && url_prefix.back() == '/') url_prefix.pop_back();
  if (url_prefix.empty() || url_prefix.front() != '/') url_prefix.insert(url_prefix.begin(), '/');
  m.prefix = std::move(url_prefix);
  std::error_code ec;
  auto canon = std::filesystem::canonical(dir, ec);
  m.dir = ec ? dir : canon.string();
  while (m.dir.size() > 1 && m.dir.back() == '/') m.dir.pop_back();
  m.spa_fallback = spa_fallback;
  impl_->statics.push_back(std::move(m));
}

void Server::SetErrorRenderer(std::function<Response(const Status&)> fn) { impl_->error_renderer = std::move(fn); }

Status Server::Start() { return impl_->Start(); }
int Server::port() const { return impl_->bound_port; }
void Server::Stop() { impl_->Stop(); }
std::vector<std::string> Server::Routes() const { return impl_->route_list; }
size_t Server::OpenConnections() const { return impl_->open_conns.load(); }
int Server::MaxConnections() const { return impl_->max_conns; }
size_t Server::OpenWebSockets() const { return impl_->open_ws.load(); }

}  // namespace kefu::http
