// The Redis connection against a fake server that answers whatever bytes a
// test scripts: replies are parsed within limits (a hostile or broken server
// cannot make it allocate without bound), a closed or silent server is a
// clear error, a wake descriptor interrupts a wait. Also the bus.url parser.
#include "bus/redis_conn.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace kefu::bus {
namespace {

using namespace std::chrono_literals;
using Clock = RedisConnection::Clock;

RedisEndpoint Local(int port) {
  RedisEndpoint e;
  e.host = "127.0.0.1";
  e.port = port;
  return e;
}

// Accepts one connection; for every command it reads, writes `reply`; then
// keeps the connection open until destroyed (or closes it at once when
// `close_after` is set).
class FakeRedis {
 public:
  explicit FakeRedis(std::string reply, bool close_after = false)
      : reply_(std::move(reply)), close_after_(close_after) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listen_fd_, 4), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeRedis() {
    stop_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    if (conn_fd_ >= 0) ::shutdown(conn_fd_, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
    if (conn_fd_ >= 0) ::close(conn_fd_);
  }
  int port() const { return port_; }
  RedisEndpoint endpoint() const { return Local(port_); }

 private:
  void Serve() {
    conn_fd_ = ::accept(listen_fd_, nullptr, nullptr);
    if (conn_fd_ < 0) return;
    char buf[4096];
    while (!stop_) {
      const ssize_t n = ::read(conn_fd_, buf, sizeof buf);
      if (n <= 0) return;
      size_t off = 0;
      while (off < reply_.size()) {
        const ssize_t w = ::write(conn_fd_, reply_.data() + off, reply_.size() - off);
        if (w <= 0) return;
        off += static_cast<size_t>(w);
      }
      if (close_after_) {
        ::shutdown(conn_fd_, SHUT_RDWR);
        return;
      }
    }
  }

  std::string reply_;
  bool close_after_;
  int listen_fd_ = -1;
  std::atomic<int> conn_fd_{-1};
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

Result<RedisReply> Ask(const FakeRedis& fake, ReplyLimits limits = {}, std::chrono::milliseconds timeout = 5s) {
  KEFU_ASSIGN_OR_RETURN(auto conn, RedisConnection::Open(fake.endpoint(), 2000, limits));
  return conn->Command({"PING"}, Clock::now() + timeout);
}

TEST(RedisConnection, ParsesNestedReplies) {
  FakeRedis fake("*3\r\n$5\r\nhello\r\n:42\r\n*2\r\n+OK\r\n$-1\r\n");
  auto r = Ask(fake);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->IsArray());
  ASSERT_EQ(r->elements.size(), 3u);
  EXPECT_EQ(r->elements[0].str, "hello");
  EXPECT_EQ(r->elements[1].integer, 42);
  ASSERT_EQ(r->elements[2].elements.size(), 2u);
  EXPECT_EQ(r->elements[2].elements[0].type, RedisReply::Type::kStatus);
  EXPECT_EQ(r->elements[2].elements[0].str, "OK");
  EXPECT_EQ(r->elements[2].elements[1].type, RedisReply::Type::kNil);
}

TEST(RedisConnection, ErrorRepliesAreValuesNotFailures) {
  FakeRedis fake("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  auto r = Ask(fake);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->IsError());
  EXPECT_EQ(r->str.rfind("WRONGTYPE", 0), 0u);
}

TEST(RedisConnection, RefusesAnArrayLongerThanTheLimit) {
  // A header announcing a billion elements must not allocate them.
  FakeRedis fake("*1000000000\r\n");
  auto r = Ask(fake, {.max_bytes = 1 << 20, .max_elements = 1000});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.status().message().find("1000000000 elements"), std::string::npos) << r.status().message();
}

TEST(RedisConnection, RefusesAReplyLargerThanTheLimit) {
  // Many small strings adding up past max_bytes.
  std::string many = "*500\r\n";
  for (int i = 0; i < 500; ++i) many += "$100\r\n" + std::string(100, 'x') + "\r\n";
  FakeRedis fake(many);
  auto r = Ask(fake, {.max_bytes = 16 * 1024, .max_elements = 1000});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("larger than 16384 bytes"), std::string::npos) << r.status().message();
}

TEST(RedisConnection, RefusesABulkStringThatNeverEnds) {
  // A bulk string announced as 1 GB: the buffered input is cut at the limit.
  std::string huge = "$1000000000\r\n" + std::string(64 * 1024, 'x');
  FakeRedis fake(huge);
  auto r = Ask(fake, {.max_bytes = 16 * 1024, .max_elements = 1000});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("larger than"), std::string::npos) << r.status().message();
}

TEST(RedisConnection, AProtocolErrorIsAFailure) {
  FakeRedis fake("?what\r\n");
  auto r = Ask(fake);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("protocol error"), std::string::npos) << r.status().message();
}

TEST(RedisConnection, AServerThatClosesOrStaysSilentIsAnError) {
  {
    FakeRedis fake("", /*close_after=*/true);
    auto r = Ask(fake);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("closed"), std::string::npos) << r.status().message();
  }
  {
    FakeRedis fake("");  // reads, never answers
    auto r = Ask(fake, {}, 200ms);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kDeadlineExceeded) << r.status().ToString();
  }
}

TEST(RedisConnection, AWakeInterruptsAWaitAndTheConnectionStaysUsable) {
  FakeRedis fake("+PONG\r\n");
  auto conn = RedisConnection::Open(fake.endpoint(), 2000);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  Waker waker;
  waker.Signal();
  auto woken = (*conn)->Read(Clock::now() + 5s, waker.fd());
  ASSERT_TRUE(woken.ok());
  EXPECT_FALSE(woken->has_value());
  waker.Clear();
  auto r = (*conn)->Command({"PING"}, Clock::now() + 5s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->str, "PONG");
}

TEST(RedisConnection, NothingListeningIsUnavailable) {
  int port;
  {
    FakeRedis probe("");
    port = probe.port();
  }  // closed: nothing listens there now
  auto conn = RedisConnection::Open(Local(port), 1000);
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(conn.status().message().find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << conn.status().message();
}

TEST(RedisUrl, Parses) {
  auto a = ParseRedisUrl("redis://127.0.0.1:6380");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 6380);
  EXPECT_EQ(a->db, 0);
  EXPECT_TRUE(a->password.empty());

  auto b = ParseRedisUrl("redis://redis.internal");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->port, 6379);

  auto c = ParseRedisUrl("redis://:s%40cret@[::1]:7000/2");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->port, 7000);
  EXPECT_EQ(c->password, "s@cret");
  EXPECT_EQ(c->db, 2);
  EXPECT_EQ(c->Describe(), "[::1]:7000/2");  // never the password

  auto d = ParseRedisUrl("redis://kefu:pw@h:1");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->user, "kefu");
  EXPECT_EQ(d->password, "pw");
}

TEST(RedisUrl, RefusesWithAMessageNamingTheKey) {
  for (const char* bad :
       {"", "redis://", "redis://:6379", "redis://h:", "redis://h:x", "redis://h:99999", "redis://h/x", "redis://[::1",
        "redis://user@h", "redis://h?db=1", "rediss://h", "tcp://h:1", "redis://:%zz@h"}) {
    auto r = ParseRedisUrl(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message().rfind("bus.url: ", 0), 0u) << r.status().message();
  }
  auto secret = ParseRedisUrl("redis://:topsecret@h:notaport");
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.status().message().find("topsecret"), std::string::npos) << secret.status().message();
}

}  // namespace
}  // namespace kefu::bus
