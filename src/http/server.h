// kefu::http — a generic HTTP/1.1 + WebSocket + server-sent-events server on
// Boost.Beast/Asio. It knows nothing of kefu's domain: api/ registers routes.
//
// Threads: `io_threads` Asio threads run all network I/O; every connection is
// bound to its own strand. Handlers are called on an I/O thread and must not
// block: slow work goes to a worker pool, which answers through the Responder
// (callable from any thread). WebSocket and SSE handles (WsConnection,
// SseStream) may likewise be used from any thread, and may outlive the server
// (calls on them after Stop() are ignored).
//
// Errors the server itself produces all have the body
//   {"error":{"code":"<code>","message":"..."}}
// (400 invalid_request, 404 not_found, 405 method_not_allowed, 408
// request_timeout, 413 payload_too_large, 426 upgrade_required, 431
// header_too_large, 429 rate_limited, 500 internal, 503 unavailable).
// Nothing thrown while reading, parsing or writing a request escapes: the
// client gets an answer (400/431/500) and the connection is closed.
// docs/http.md lists the limits.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/config.h"
#include "common/metrics.h"
#include "common/status.h"

namespace kefu::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // percent-decoded path, without the query
  std::string target;  // the raw request target as sent
  std::map<std::string, std::string> query;        // decoded ('+' is a space); last value wins
  std::map<std::string, std::string> path_params;  // {name} segments of the matched pattern
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote;  // peer address "ip:port"
  uint64_t request_id = 0;  // unique per server, also in the access log

  // First header with this name (case-insensitive), or "" when absent.
  std::string Header(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers

  // A response with the standard error body.
  static Response Error(int status, std::string_view code, std::string_view message);
};

// {"error":{"code":...,"message":...}} as text.
std::string ErrorBody(std::string_view code, std::string_view message);

namespace internal {
struct ResponderState;
class WsSession;
class SseSession;
class ServerImpl;
struct SseCloseState;
}  // namespace internal

// The one-shot answer channel of an HTTP request. Copyable; all copies share
// one state. Send() may be called from any thread; only the first call has an
// effect. If every copy is dropped without a Send, the client gets a 500.
class Responder {
 public:
  void Send(Response r) const;
  bool sent() const;

  // A Responder that hands the response to `fn` (for unit tests of handlers,
  // or adapting). `fn` runs on the thread that calls Send.
  static Responder FromCallback(std::function<void(Response)> fn);

  explicit Responder(std::shared_ptr<internal::ResponderState> state) : state_(std::move(state)) {}

 private:
  std::shared_ptr<internal::ResponderState> state_;
};

using Handler = std::function<void(Request&&, Responder)>;

// One open WebSocket. The server owns the connection; handlers keep
// shared_ptr/weak_ptr handles. All methods are thread-safe.
class WsConnection {
 public:
  // Queues a text frame. Frames are sent in the order of Send calls (from one
  // thread). Dropped when the connection is closed or closing. A client that
  // does not read, letting more than ws_max_queued_bytes pile up, is closed.
  void Send(std::string text);
  // Queues a binary frame, in order with the text frames, under the same
  // ws_max_queued_bytes bound.
  void SendBinary(std::string bytes);
  // Starts a close after the frames already queued: normal (1000), or e.g.
  // 1008 (policy violation) for a client that broke the route's protocol.
  void Close(std::string reason = "", int code = 1000);
  uint64_t id() const { return id_; }
  bool closed() const;
  const std::string& remote() const { return remote_; }

  WsConnection(uint64_t id, std::string remote, std::weak_ptr<internal::WsSession> s,
               std::shared_ptr<internal::ServerImpl> life);

 private:
  friend class internal::WsSession;
  uint64_t id_;
  std::string remote_;
  std::weak_ptr<internal::WsSession> session_;
  std::shared_ptr<internal::ServerImpl> life_;
  std::shared_ptr<std::atomic<bool>> closed_;
};

// Callbacks of one WebSocket, all called on the connection's I/O strand (one
// at a time, never concurrently for one connection). Must not block.
// on_close is called exactly once after on_open, whatever ends the connection.
// Every message, text or binary, is at most max_ws_message_bytes: a larger
// one gets an error frame (payload_too_large) and the close 1009.
struct WsHandlers {
  std::function<void(std::shared_ptr<WsConnection>)> on_open;
  std::function<void(std::shared_ptr<WsConnection>, std::string&& text)> on_message;
  // Binary messages; unset = refused with an error frame (unsupported_frame),
  // the connection stays open.
  std::function<void(std::shared_ptr<WsConnection>, std::string&& bytes)> on_binary;
  std::function<void(std::shared_ptr<WsConnection>)> on_close;
  // Binary messages per second (a token bucket apart from text messages';
  // dropped and closed like those); 0 = ws_max_messages_per_s.
  int max_binary_messages_per_s = 0;
};

// Called at upgrade time on the I/O thread; a non-ok Result rejects the upgrade
// with the HTTP error response made by the server's error renderer.
using WsAcceptor = std::function<Result<WsHandlers>(const Request&)>;

// One open server-sent-events response (text/event-stream). Thread-safe.
// The server sends a ": ping" comment every sse_heartbeat_s.
class SseStream {
 public:
  // Queues "event: <event>\ndata: <line>\n...\n\n" (multi-line data is split).
  void Send(std::string_view event, std::string_view data);
  // Flushes queued events, then closes the connection.
  void Close();
  bool closed() const;
  // `fn` runs once when the stream ends (client gone, Close, server stop), on
  // an I/O thread; right away on the calling thread if already closed.
  void OnClose(std::function<void()> fn);
  uint64_t id() const { return id_; }

  SseStream(uint64_t id, std::weak_ptr<internal::SseSession> s, std::shared_ptr<internal::ServerImpl> life);
  ~SseStream();

 private:
  friend class internal::SseSession;
  void RunOnClose();

  uint64_t id_;
  std::weak_ptr<internal::SseSession> session_;
  std::shared_ptr<internal::ServerImpl> life_;
  std::shared_ptr<std::atomic<bool>> closed_;
  std::shared_ptr<internal::SseCloseState> close_state_;
};

// Called at request time on the I/O thread; on success the returned function
// is called with the open stream (after the response header is sent).
using SseAcceptor = std::function<Result<std::function<void(std::shared_ptr<SseStream>)>>(const Request&)>;

struct ServerSettings {
  std::string host = "127.0.0.1";
  int port = 0;                          // 0 = ephemeral; see Server::port()
  int io_threads = 2;
  int64_t max_body_bytes = 1 << 20;      // larger bodies get 413
  // Upload routes (pictures on a message): a request whose path
  // is_upload_path says yes may carry up to max_upload_body_bytes instead
  // (0 or no predicate = no exception). Decided from the request head,
  // before any of the body is read.
  int64_t max_upload_body_bytes = 0;
  std::function<bool(std::string_view method, std::string_view path)> is_upload_path;
  int64_t max_header_bytes = 16 << 10;   // larger request heads get 431
  int64_t max_ws_message_bytes = 64 << 10;  // larger messages: an error frame, then close (1009)
  int request_timeout_ms = 30'000;       // reading one request (also keep-alive idle); 408
  int write_timeout_ms = 30'000;         // writing one response / SSE event
  int ws_idle_timeout_s = 300;           // no traffic for this long (pings sent at half) → close
  int ws_max_messages_per_s = 50;        // per connection; 0 = unlimited
  int64_t ws_max_queued_bytes = 4 << 20; // unsent outgoing bytes before a slow client is closed
  int sse_heartbeat_s = 15;
  int shutdown_grace_ms = 10'000;
  std::string static_dir;                // informational; mounts are made with Server::Static
  std::string cors_allow_origin = "*";   // empty = no CORS headers
  // Open TCP connections at once, in total and per client address; over a
  // cap a new connection gets a 503 and is closed (log line + metric
  // kefu_http_connections_rejected_total). max_connections 0 = RLIMIT_NOFILE
  // minus 64; max_connections_per_ip 0 = no per-address cap.
  int max_connections = 0;
  int max_connections_per_ip = 256;

  static ServerSettings FromConfig(const ServerConfig& c);
};

class Server {
 public:
  // `metrics` must outlive the server.
  Server(ServerSettings settings, metrics::Registry& metrics);
  ~Server();  // calls Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registration happens before Start(), from one thread.
  // `pattern` is a path whose segments may be "{name}" (one non-empty segment).
  // Literal segments win over parameters when two patterns match.
  void Route(std::string method, std::string pattern, Handler h);
  void WebSocket(std::string pattern, WsAcceptor a);
  void Sse(std::string pattern, SseAcceptor a);
  // Serves files under `dir` at `url_prefix` (GET/HEAD) when no route matches:
  // content types by extension, ETag + Last-Modified (304 on a match), no
  // escape from `dir`. With spa_fallback, an unknown path under the prefix
  // whose last segment has no '.' gets dir/index.html.
  void Static(std::string url_prefix, std::string dir, bool spa_fallback);
  // How a non-ok Status from an acceptor becomes a response (api/ passes its
  // own mapping); the default maps ErrorCode to the usual HTTP statuses.
  void SetErrorRenderer(std::function<Response(const Status&)> fn);

  // Binds and starts the I/O threads. Fails (no throw) if the address is taken.
  Status Start();
  int port() const;
  // Graceful stop, idempotent: stops accepting (new connections are refused),
  // answers requests that arrive meanwhile with 503, lets requests whose
  // handler has not answered yet finish for up to shutdown_grace_ms (their
  // responses carry Connection: close), closes WebSockets with 1001 and SSE
  // streams, then closes whatever is left and joins the I/O threads.
  void Stop();

  // "GET /v1/x" for every Route, plus "GET /x" for each WebSocket and Sse
  // pattern, in registration order.
  std::vector<std::string> Routes() const;
  size_t OpenConnections() const;  // TCP connections: HTTP, SSE and WebSocket
  int MaxConnections() const;      // the total cap in force (max_connections or the derived one)
  size_t OpenWebSockets() const;

 private:
  std::shared_ptr<internal::ServerImpl> impl_;
};

}  // namespace kefu::http
