// Small blocking clients for tests and benchmarks (library kefu_http_testing;
// not linked into the server). Each object owns its own io_context and runs
// it only inside its blocking calls, so it must be used from one thread at a
// time. All of them talk to 127.0.0.1.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "http/server.h"

namespace kefu::http::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;
using std::chrono::milliseconds;

// One request on a fresh connection. The Response carries the status, the
// Content-Type, the body and every response header (in `headers`). Fails
// (Unavailable / DeadlineExceeded) when no complete response arrives.
Result<Response> Fetch(int port, std::string_view method, std::string_view target, std::string_view body = "",
                       const Headers& headers = {}, milliseconds timeout = milliseconds(10'000));

// Writes `bytes` as they are and returns everything the server sends until it
// closes the connection or `timeout` passes (then what arrived so far).
Result<std::string> RawExchange(int port, std::string_view bytes, milliseconds timeout = milliseconds(5'000));

// A blocking WebSocket client. Incoming messages are read in the background
// of every blocking call and queued, so none is lost between Receive calls.
class WsClient {
 public:
  // Connects and upgrades. A rejected upgrade fails with FailedPrecondition
  // whose message starts with "HTTP <status>: " followed by the body.
  static Result<std::unique_ptr<WsClient>> Connect(int port, std::string_view target, const Headers& headers = {},
                                                   milliseconds timeout = milliseconds(5'000));
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  Status Send(std::string_view text);
  Status SendBinary(std::string_view data);
  // The next message; DeadlineExceeded on timeout, Unavailable once the
  // connection is closed and nothing is queued.
  Result<std::string> Receive(milliseconds timeout = milliseconds(5'000));
  // The next message, text or binary (Receive returns both, without saying which).
  struct Frame {
    std::string data;
    bool binary = false;
  };
  Result<Frame> ReceiveFrame(milliseconds timeout = milliseconds(5'000));
  // Normal close (1000); waits for the server's close frame.
  Status Close();
  bool closed() const;
  // The close code the server sent (e.g. 1001, 1007, 1008, 1009), 0 if none.
  int close_code() const;

  struct Impl;

 private:
  explicit WsClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A blocking server-sent-events client.
class SseClient {
 public:
  struct Event {
    std::string event;  // "" when the server sent none
    std::string data;   // data lines joined with '\n'
  };
  // Fails with FailedPrecondition "HTTP <status>: <body>" unless the server
  // answers 200 text/event-stream.
  static Result<std::unique_ptr<SseClient>> Connect(int port, std::string_view target, const Headers& headers = {},
                                                    milliseconds timeout = milliseconds(5'000));
  ~SseClient();
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  // The next event (comments such as heartbeats are skipped unless
  // include_comments, in which case they come back with event ":").
  Result<Event> Next(milliseconds timeout = milliseconds(5'000), bool include_comments = false);
  bool closed() const;

  struct Impl;

 private:
  explicit SseClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kefu::http::testing
