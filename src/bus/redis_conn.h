// One connection to Redis over libhiredis (internal to src/bus; hiredis is
// included only by redis_conn.cpp). The socket is non-blocking and driven by
// poll() with a timeout and an optional wake descriptor, so a caller can
// always stop waiting; replies are parsed by hiredis's reader into
// RedisReply values within ReplyLimits (a reply or a pending read larger than
// max_bytes, or an array longer than max_elements, fails the connection
// instead of allocating without bound). Not thread-safe: one thread owns a
// connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kefu::bus {

// redis://[[user]:password@]host[:port][/db]
struct RedisEndpoint {
  std::string host;
  int port = 6379;
  std::string user;
  std::string password;
  int db = 0;
  // "host:port" (and "/db"), never the password: for logs and health.
  std::string Describe() const;
};
// InvalidArgument naming bus.url for anything else (rediss:// is refused:
// Debian's hiredis 0.14 has no TLS).
Result<RedisEndpoint> ParseRedisUrl(std::string_view url);

struct RedisReply {
  enum class Type { kString, kStatus, kError, kInteger, kNil, kArray };
  Type type = Type::kNil;
  std::string str;                 // kString, kStatus, kError
  int64_t integer = 0;             // kInteger
  std::vector<RedisReply> elements;  // kArray

  bool IsError() const { return type == Type::kError; }
  bool IsArray() const { return type == Type::kArray; }
};

struct ReplyLimits {
  size_t max_bytes = 64u << 20;  // one reply's strings and array slots, and unparsed input
  int max_elements = 1 << 20;    // one array
};

class RedisConnection {
 public:
  using Clock = std::chrono::steady_clock;

  // Connects (waiting at most connect_timeout_ms), then AUTH and SELECT as
  // the endpoint says. Unavailable with the reason when it cannot.
  static Result<std::unique_ptr<RedisConnection>> Open(const RedisEndpoint& endpoint, int connect_timeout_ms,
                                                       ReplyLimits limits = {});
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Queues a command (binary-safe arguments) in the output buffer.
  void Append(const std::vector<std::string_view>& argv);
  // Writes the output buffer: true once written, false when `wake_fd` (-1 =
  // none) became readable first; Unavailable when the connection failed or
  // `deadline` passed.
  Result<bool> Flush(Clock::time_point deadline, int wake_fd = -1);
  // The next reply. nullopt when `wake_fd` (-1 = none) became readable before
  // one was complete (the partial input stays buffered); DeadlineExceeded at
  // `deadline`; Unavailable when the connection failed or a limit was passed.
  Result<std::optional<RedisReply>> Read(Clock::time_point deadline, int wake_fd = -1);
  // Append + Flush + Read, without a wake descriptor.
  Result<RedisReply> Command(const std::vector<std::string_view>& argv, Clock::time_point deadline);

  int fd() const;

 private:
  struct Impl;
  explicit RedisConnection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// An eventfd for waking a thread that waits in RedisConnection::Read/Flush
// (or in Wait). Signal from any thread; Clear from the waiting one.
class Waker {
 public:
  Waker();
  ~Waker();
  Waker(const Waker&) = delete;
  Waker& operator=(const Waker&) = delete;
  void Signal();
  void Clear();
  int fd() const { return fd_; }
  // Sleeps until signalled or `deadline`; true when signalled (not cleared).
  bool Wait(RedisConnection::Clock::time_point deadline);

 private:
  int fd_ = -1;
};

}  // namespace kefu::bus
