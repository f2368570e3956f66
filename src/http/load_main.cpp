// kefu_http_load: measures the WebSocket server against its targets
// (docs/http.md): turns per second with latency percentiles, and the memory
// an idle WebSocket costs the server. The server runs in a forked child
// process (an echo WebSocket route, like a chat turn without the dialogue
// work) so its memory and CPU are measured apart from the load generator.
//
//   kefu_http_load [--conns 100] [--rate 2000] [--seconds 5] [--idle 500] [--io-threads 2]
//
// Bounded in time and count; talks to 127.0.0.1 only.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "http/server.h"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

int Arg(int argc, char** argv, const char* name, int def) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::atoi(argv[i + 1]);
  return def;
}

long RssKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

// Child: serve until stdin of the pipe closes.
[[noreturn]] void Serve(int io_threads, int port_fd, int quit_fd) {
  kefu::metrics::Registry metrics;
  kefu::http::ServerSettings s;
  s.port = 0;
  s.io_threads = io_threads;
  s.ws_max_messages_per_s = 1000;
  kefu::http::Server server(s, metrics);
  server.WebSocket("/ws", [](const kefu::http::Request&) -> kefu::Result<kefu::http::WsHandlers> {
    kefu::http::WsHandlers h;
    h.on_message = [](std::shared_ptr<kefu::http::WsConnection> c, std::string&& text) { c->Send(std::move(text)); };
    return h;
  });
  if (!server.Start().ok()) _exit(1);
  int port = server.port();
  (void)!write(port_fd, &port, sizeof port);
  char b;
  (void)!read(quit_fd, &b, 1);
  server.Stop();
  _exit(0);
}

struct Client {
  websocket::stream<beast::tcp_stream> ws;
  beast::flat_buffer buf;
  std::string out;
  net::steady_timer timer;
  Clock::time_point sent_at;
  bool waiting = false;
  Client(net::io_context& ioc) : ws(ioc), timer(ioc) {}
};

}  // namespace

int main(int argc, char** argv) {
  int conns = Arg(argc, argv, "--conns", 100);
  int rate = Arg(argc, argv, "--rate", 2000);
  int seconds = Arg(argc, argv, "--seconds", 5);
  int idle = Arg(argc, argv, "--idle", 500);
  int io_threads = Arg(argc, argv, "--io-threads", 2);

  int port_pipe[2], quit_pipe[2];
  if (pipe(port_pipe) != 0 || pipe(quit_pipe) != 0) return 1;
  pid_t child = fork();
  if (child == 0) {
    close(quit_pipe[1]);
    Serve(io_threads, port_pipe[1], quit_pipe[0]);
  }
  close(quit_pipe[0]);
  int port = 0;
  if (read(port_pipe[0], &port, sizeof port) != sizeof port) return 1;
  std::printf("server pid %d port %d io_threads %d\n", int(child), port, io_threads);

  net::io_context ioc;
  auto connect = [&](Client& c) {
    c.ws.next_layer().connect(tcp::endpoint(net::ip::address_v4::loopback(), uint16_t(port)));
    c.ws.next_layer().socket().set_option(tcp::no_delay(true));
    c.ws.handshake("127.0.0.1", "/ws");
  };

  // 1. Idle connections: server RSS growth per connection.
  long rss0 = RssKiB(child);
  std::vector<std::unique_ptr<Client>> idle_clients;
  for (int i = 0; i < idle; ++i) {
    idle_clients.push_back(std::make_unique<Client>(ioc));
    connect(*idle_clients.back());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  long rss1 = RssKiB(child);
  if (idle > 0)
    std::printf("idle websockets: %d, server RSS %ld KiB -> %ld KiB, %.1f KiB per connection\n", idle, rss0, rss1,
                double(rss1 - rss0) / idle);

  // 2. Paced turns: each connection sends one message every conns/rate
  // seconds and waits for the echo; latency is send → echo received.
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < conns; ++i) {
    clients.push_back(std::make_unique<Client>(ioc));
    connect(*clients.back());
  }
  std::vector<double> lat_ms;
  lat_ms.reserve(size_t(rate) * seconds + 1000);
  auto interval = std::chrono::nanoseconds(int64_t(1e9 * conns / std::max(1, rate)));
  auto start = Clock::now();
  auto end = start + std::chrono::seconds(seconds);
  int64_t skipped = 0;
  std::function<void(Client&)> tick;
  std::function<void(Client&)> read_echo = [&](Client& c) {
    c.ws.async_read(c.buf, [&, cp = &c](beast::error_code ec, size_t) {
      if (ec) return;
      lat_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - cp->sent_at).count());
      cp->buf.consume(cp->buf.size());
      cp->waiting = false;
      read_echo(*cp);
    });
  };
  tick = [&](Client& c) {
    if (Clock::now() >= end) return;
    if (c.waiting) {
      ++skipped;  // previous turn not answered within the interval
    } else {
      c.waiting = true;
      c.sent_at = Clock::now();
      c.out = "{\"type\":\"message\",\"client_msg_id\":\"x\",\"text\":\"我的订单到哪了\"}";
      c.ws.async_write(net::buffer(c.out), [](beast::error_code, size_t) {});
    }
    c.timer.expires_at(c.timer.expiry() + interval);
    c.timer.async_wait([&, cp = &c](beast::error_code ec) {
      if (!ec) tick(*cp);
    });
  };
  for (int i = 0; i < conns; ++i) {
    auto& c = *clients[i];
    read_echo(c);
    c.timer.expires_at(Clock::now() + interval * i / conns);
    c.timer.async_wait([&, cp = &c](beast::error_code ec) {
      if (!ec) tick(*cp);
    });
  }
  ioc.run_for(std::chrono::seconds(seconds) + std::chrono::milliseconds(500));
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(lat_ms.begin(), lat_ms.end());
  auto pct = [&](double p) { return lat_ms.empty() ? 0.0 : lat_ms[size_t(p * (lat_ms.size() - 1))]; };
  std::printf("turns: %zu in %.2f s = %.0f/s (target %d/s over %d connections), skipped %lld\n", lat_ms.size(),
              elapsed, lat_ms.size() / std::min<double>(elapsed, seconds), rate, conns, (long long)skipped);
  std::printf("latency ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n", pct(0.5), pct(0.9), pct(0.99),
              lat_ms.empty() ? 0.0 : lat_ms.back());

  close(quit_pipe[1]);
  int status = 0;
  waitpid(child, &status, 0);
  return 0;
}
