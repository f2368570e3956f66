#include "bus/redis_conn.h"

#include <fcntl.h>
#include <hiredis.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

// The reply functions below follow hiredis 0.14's redisReplyObjectFunctions
// (Debian 12); 1.x changed their signatures.
#if HIREDIS_MAJOR != 0
#error "src/bus/redis_conn.cpp is written against hiredis 0.14 (Debian 12 libhiredis-dev); adapt ReplyFunctions"
#endif

namespace kefu::bus {

// --- URL ---

std::string RedisEndpoint::Describe() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::string out = h + ":" + std::to_string(port);
  if (db != 0) out += "/" + std::to_string(db);
  return out;
}

namespace {

constexpr const char* kUrlForm = "expected redis://[[user]:password@]host[:port][/db]";

Status BadUrl(const std::string& why) {
  return InvalidArgument("bus.url: " + why + " (" + kUrlForm + ")");
}

bool AllDigits(std::string_view s) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// %XX decoding of the user and password; false on a malformed escape.
bool PercentDecode(std::string_view in, std::string& out) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (in.size() - i < 3) return false;  // fewer than two characters follow
    const int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

}  // namespace

Result<RedisEndpoint> ParseRedisUrl(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.rfind("rediss://", 0) == 0) return BadUrl("rediss:// (TLS) is not supported by this build");
  if (url.rfind(kScheme, 0) != 0) {
    const auto colon = url.find("://");
    return BadUrl(colon == std::string_view::npos ? "not a URL"
                                                  : "unknown scheme '" + std::string(url.substr(0, colon)) + "'");
  }
  std::string_view rest = url.substr(kScheme.size());
  RedisEndpoint ep;
  std::string_view authority = rest, path;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    path = rest.substr(slash + 1);
  }
  if (rest.find_first_of("?#") != std::string_view::npos) return BadUrl("query strings are not supported");
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    std::string_view user = userinfo, password;
    bool has_password = false;
    if (auto colon = userinfo.find(':'); colon != std::string_view::npos) {
      user = userinfo.substr(0, colon);
      password = userinfo.substr(colon + 1);
      has_password = true;
    }
    if (!PercentDecode(user, ep.user) || !PercentDecode(password, ep.password))
      return BadUrl("malformed %-escape in the user or password");
    if (!has_password && !ep.user.empty()) return BadUrl("a user without a password");
  }
  std::string_view host = authority, port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return BadUrl("unterminated [IPv6 address]");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return BadUrl("unexpected text after the address");
      port = after.substr(1);
      if (port.empty()) return BadUrl("empty port");
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) return BadUrl("empty port");
  }
  if (host.empty()) return BadUrl("no host");
  for (char c : host)
    if (static_cast<unsigned char>(c) <= ' ' || c == '/' || c == '@') return BadUrl("invalid host");
  ep.host = std::string(host);
  if (!port.empty()) {
    if (!AllDigits(port)) return BadUrl("port '" + std::string(port) + "' is not a number");
    ep.port = std::stoi(std::string(port));
    if (ep.port < 1 || ep.port > 65535) return BadUrl("port " + std::string(port) + " is not 1..65535");
  }
  if (!path.empty()) {
    if (!AllDigits(path)) return BadUrl("database '" + std::string(path) + "' is not a number");
    ep.db = std::stoi(std::string(path));
  }
  return ep;
}

// --- replies within limits ---

namespace {

struct ParseState {
  ReplyLimits limits;
  size_t bytes = 0;  // of the reply being parsed
  std::string over;  // why the last reply was refused ("" = it was not)
};

RedisReply::Type TypeOf(int hiredis_type) {
  switch (hiredis_type) {
    case REDIS_REPLY_STRING:
      return RedisReply::Type::kString;
    case REDIS_REPLY_STATUS:
      return RedisReply::Type::kStatus;
    case REDIS_REPLY_ERROR:
      return RedisReply::Type::kError;
    case REDIS_REPLY_INTEGER:
      return RedisReply::Type::kInteger;
    case REDIS_REPLY_ARRAY:
      return RedisReply::Type::kArray;
    default:
      return RedisReply::Type::kNil;
  }
}

// Where the value a task describes goes: a new root, or its slot in the
// parent array (sized by CreateArray). nullptr (hiredis then fails the
// reader with "out of memory") when the reply would pass the limits.
RedisReply* Slot(const redisReadTask* task, size_t bytes) {
  auto* st = static_cast<ParseState*>(task->privdata);
  if (task->parent == nullptr) st->bytes = 0;  // a new reply begins
  st->bytes += bytes + sizeof(RedisReply);
  if (st->bytes > st->limits.max_bytes) {
    st->over = "a reply larger than " + std::to_string(st->limits.max_bytes) + " bytes";
    return nullptr;
  }
  if (task->parent == nullptr) return new RedisReply();
  auto* parent = static_cast<RedisReply*>(task->parent->obj);
  return &parent->elements[static_cast<size_t>(task->idx)];
}

void* CreateString(const redisReadTask* task, char* str, size_t len) {
  RedisReply* r = Slot(task, len);
  if (!r) return nullptr;
  r->type = TypeOf(task->type);
  r->str.assign(str, len);
  return r;
}

void* CreateArray(const redisReadTask* task, int elements) {
  auto* st = static_cast<ParseState*>(task->privdata);
  if (elements < 0 || elements > st->limits.max_elements) {
    st->over =
        "an array of " + std::to_string(elements) + " elements (limit " + std::to_string(st->limits.max_elements) + ")";
    return nullptr;
  }
  RedisReply* r = Slot(task, static_cast<size_t>(elements) * sizeof(RedisReply));
  if (!r) return nullptr;
  r->type = RedisReply::Type::kArray;
  r->elements.resize(static_cast<size_t>(elements));
  return r;
}

void* CreateInteger(const redisReadTask* task, long long value) {
  RedisReply* r = Slot(task, 0);
  if (!r) return nullptr;
  r->type = RedisReply::Type::kInteger;
  r->integer = value;
  return r;
}

void* CreateNil(const redisReadTask* task) {
  RedisReply* r = Slot(task, 0);
  if (!r) return nullptr;
  r->type = RedisReply::Type::kNil;
  return r;
}

// hiredis frees only a root (an unfinished reply when it fails or is freed).
void FreeObject(void* reply) {
  delete static_cast<RedisReply*>(reply);
}

redisReplyObjectFunctions kReplyFunctions = {CreateString, CreateArray, CreateInteger, CreateNil, FreeObject};

enum class Wait { kReady, kWoken, kTimeout, kError };

Wait WaitFor(int fd, short events, RedisConnection::Clock::time_point deadline, int wake_fd) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - RedisConnection::Clock::now()).count();
    if (left < 0) left = 0;
    pollfd fds[2] = {{fd, events, 0}, {wake_fd, POLLIN, 0}};
    const int n = ::poll(fds, wake_fd >= 0 ? 2 : 1, static_cast<int>(std::min<int64_t>(left + 1, 60'000)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Wait::kError;
    }
    if (wake_fd >= 0 && (fds[1].revents & POLLIN)) return Wait::kWoken;
    if (fds[0].revents) return Wait::kReady;  // also POLLERR / POLLHUP: the read or write says why
    if (RedisConnection::Clock::now() >= deadline) return Wait::kTimeout;
  }
}

}  // namespace

struct RedisConnection::Impl {
  redisContext* ctx = nullptr;
  ParseState parse;
  std::string where;  // host:port for errors
  Status broken;      // once a call failed, every later one fails the same way

  ~Impl() {
    if (ctx) redisFree(ctx);
  }

  Status Fail(const std::string& why) {
    broken = Unavailable("redis " + where + ": " + why);
    return broken;
  }
};

RedisConnection::RedisConnection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RedisConnection::~RedisConnection() = default;

int RedisConnection::fd() const {
  return impl_->ctx ? impl_->ctx->fd : -1;
}

Result<std::unique_ptr<RedisConnection>> RedisConnection::Open(const RedisEndpoint& endpoint, int connect_timeout_ms,
                                                               ReplyLimits limits) {
  auto impl = std::make_unique<Impl>();
  impl->where = endpoint.Describe();
  impl->parse.limits = limits;
  timeval tv{connect_timeout_ms / 1000, (connect_timeout_ms % 1000) * 1000};
  impl->ctx = redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, tv);
  if (impl->ctx == nullptr) return Unavailable("redis " + impl->where + ": cannot allocate a connection");
  if (impl->ctx->err) {
    std::string why = impl->ctx->errstr;
    return Unavailable("redis " + impl->where + ": " + (why.empty() ? "cannot connect" : why));
  }
  // From here on poll() drives the socket: hiredis treats EAGAIN as "later"
  // once its blocking flag is off.
  const int flags = ::fcntl(impl->ctx->fd, F_GETFL);
  if (flags < 0 || ::fcntl(impl->ctx->fd, F_SETFL, flags | O_NONBLOCK) < 0)
    return Unavailable("redis " + impl->where + ": fcntl: " + std::strerror(errno));
  impl->ctx->flags &= ~REDIS_BLOCK;
  (void)redisEnableKeepAlive(impl->ctx);
  impl->ctx->reader->fn = &kReplyFunctions;
  impl->ctx->reader->privdata = &impl->parse;

  std::unique_ptr<RedisConnection> conn(new RedisConnection(std::move(impl)));
  const auto deadline = Clock::now() + std::chrono::milliseconds(connect_timeout_ms);
  if (!endpoint.password.empty()) {
    std::vector<std::string_view> auth = {"AUTH"};
    if (!endpoint.user.empty()) auth.push_back(endpoint.user);
    auth.push_back(endpoint.password);
    KEFU_ASSIGN_OR_RETURN(RedisReply r, conn->Command(auth, deadline));
    if (r.IsError()) return Unavailable("redis " + conn->impl_->where + ": AUTH refused: " + r.str);
  }
  if (endpoint.db != 0) {
    const std::string db = std::to_string(endpoint.db);
    KEFU_ASSIGN_OR_RETURN(RedisReply r, conn->Command({"SELECT", db}, deadline));
    if (r.IsError()) return Unavailable("redis " + conn->impl_->where + ": SELECT " + db + " refused: " + r.str);
  }
  return conn;
}

void RedisConnection::Append(const std::vector<std::string_view>& argv) {
  if (!impl_->broken.ok()) return;
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (auto a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  if (redisAppendCommandArgv(impl_->ctx, static_cast<int>(argv.size()), ptrs.data(), lens.data()) != REDIS_OK)
    (void)impl_->Fail("cannot queue a command (out of memory)");
}

Result<bool> RedisConnection::Flush(Clock::time_point deadline, int wake_fd) {
  if (!impl_->broken.ok()) return impl_->broken;
  for (;;) {
    int done = 0;
    if (redisBufferWrite(impl_->ctx, &done) != REDIS_OK) return impl_->Fail(impl_->ctx->errstr);
    if (done) return true;
    switch (WaitFor(impl_->ctx->fd, POLLOUT, deadline, wake_fd)) {
      case Wait::kReady:
        break;
      case Wait::kWoken:
        return false;
      case Wait::kTimeout:
        return impl_->Fail("write timed out");
      case Wait::kError:
        return impl_->Fail(std::string("poll: ") + std::strerror(errno));
    }
  }
}

Result<std::optional<RedisReply>> RedisConnection::Read(Clock::time_point deadline, int wake_fd) {
  if (!impl_->broken.ok()) return impl_->broken;
  redisContext* c = impl_->ctx;
  for (;;) {
    void* raw = nullptr;
    impl_->parse.over.clear();
    if (redisGetReplyFromReader(c, &raw) != REDIS_OK) {
      return impl_->Fail(!impl_->parse.over.empty() ? "refused " + impl_->parse.over
                                                    : std::string("protocol error: ") + c->errstr);
    }
    if (raw != nullptr) {
      std::unique_ptr<RedisReply> reply(static_cast<RedisReply*>(raw));
      return std::optional<RedisReply>(std::move(*reply));
    }
    if (c->reader->len - c->reader->pos > impl_->parse.limits.max_bytes)
      return impl_->Fail("refused a reply larger than " + std::to_string(impl_->parse.limits.max_bytes) + " bytes");
    switch (WaitFor(c->fd, POLLIN, deadline, wake_fd)) {
      case Wait::kReady:
        break;
      case Wait::kWoken:
        return std::optional<RedisReply>();
      case Wait::kTimeout:
        return DeadlineExceeded("redis " + impl_->where + ": no reply in time");
      case Wait::kError:
        return impl_->Fail(std::string("poll: ") + std::strerror(errno));
    }
    if (redisBufferRead(c) != REDIS_OK)
      return impl_->Fail(c->err == REDIS_ERR_EOF ? std::string("connection closed by the server") : c->errstr);
  }
}

Result<RedisReply> RedisConnection::Command(const std::vector<std::string_view>& argv, Clock::time_point deadline) {
  Append(argv);
  KEFU_ASSIGN_OR_RETURN(bool flushed, Flush(deadline));
  (void)flushed;
  KEFU_ASSIGN_OR_RETURN(std::optional<RedisReply> r, Read(deadline));
  if (!r) return Internal("redis: woken without a wake descriptor");
  return std::move(*r);
}

// --- Waker ---

Waker::Waker() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
Waker::~Waker() {
  if (fd_ >= 0) ::close(fd_);
}

void Waker::Signal() {
  const uint64_t one = 1;
  (void)!::write(fd_, &one, sizeof one);
}

void Waker::Clear() {
  uint64_t n;
  (void)!::read(fd_, &n, sizeof n);
}

bool Waker::Wait(RedisConnection::Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - RedisConnection::Clock::now()).count();
    if (left <= 0) {
      pollfd p{fd_, POLLIN, 0};
      return ::poll(&p, 1, 0) > 0;
    }
    pollfd p{fd_, POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 60'000)));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

}  // namespace kefu::bus
