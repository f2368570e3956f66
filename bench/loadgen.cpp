// kefu_loadgen: drives N concurrent connections against a running server and
// reports requests (turns)/s, latency percentiles and the server's memory per
// open conversation and CPU per request.
//
//   kefu_loadgen --port 8080 --conversations 500 --seconds 20 --server-pid PID
//
// Modes (--mode):
//   ws         (default) each conversation is created over HTTP, then opens its
//              WebSocket and sends one customer message at a time, waiting for
//              the bot's reply frame (reply_to = the acknowledged message).
//   http-turn  each connection owns a conversation and POSTs
//              /v1/conversations/{id}/messages over keep-alive HTTP/1.1; the
//              synchronous response carries the reply.
//   http-get   each keep-alive connection GETs --path (a static file: the same
//              tool against nginx, bench/run_vs_nginx.sh).
// Closed loop by default: each connection sends its next request when the
// previous one is answered. --rate R: open loop, R requests/s spread round-robin
// over the connections; a request due while its connection is still busy waits
// for it, and its latency counts from when it was due (no coordinated omission).
// Memory: VmRSS of the first --server-pid before and after all conversations are
// open and idle. CPU: user + system time of every --server-pid (comma-separated).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

const std::vector<std::string> kQuestions = {
    "我的订单到哪了", "退货运费谁出", "多久发货", "可以开发票吗", "七天无理由退货怎么操作", "那它什么时候到？",
    "会员有什么权益", "支持花呗分期吗", "优惠券怎么用", "退款多久到账", "衣服尺码怎么选", "保修期多长",
};

long RssKiB(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// User + system CPU seconds the process has used so far (/proc/PID/stat), -1 if unknown.
double CpuSeconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  double utime = -1, stime = -1;
  for (int i = 3; fields >> f; ++i) {  // field 3 is the state
    if (i == 14) utime = std::stod(f);
    if (i == 15) {
      stime = std::stod(f);
      break;
    }
  }
  if (utime < 0 || stime < 0) return -1;
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string CreateConversation(const std::string& host, int port, const std::string& key, const std::string& customer) {
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  stream.connect(resolver.resolve(host, std::to_string(port)));
  http::request<http::string_body> req{http::verb::post, "/v1/conversations", 11};
  req.set(http::field::host, host);
  req.set(http::field::content_type, "application/json");
  req.set("X-Kefu-Widget-Key", key);
  req.body() = json{{"customer_id", customer}, {"channel", "app"}}.dump();
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res);
  if (res.result_int() != 201) throw std::runtime_error("create conversation: HTTP " + std::to_string(res.result_int()) + " " + res.body());
  return json::parse(res.body())["id"];
}

// CPU seconds of all the processes together, -1 if any is unknown.
double CpuSeconds(const std::vector<int>& pids) {
  double sum = 0;
  for (int pid : pids) {
    double s = CpuSeconds(pid);
    if (s < 0) return -1;
    sum += s;
  }
  return sum;
}

struct Stats {
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::atomic<long> turns{0}, errors{0}, open{0}, late{0};
};

// One connection of the load: a WebSocket conversation or a keep-alive HTTP
// connection. Runs on its own strand; Send/OnDone are called there only.
class Client : public std::enable_shared_from_this<Client> {
 public:
  Client(Stats& stats, std::atomic<bool>& running, std::atomic<bool>& sending, int index)
      : stats_(stats), running_(running), sending_(sending), index_(index) {}
  virtual ~Client() = default;
  virtual void Start() = 0;
  virtual void Close() = 0;

  // Closed loop: start sending (when the measurement phase starts).
  void Kick() {
    asio::post(Executor(), [self = shared_from_this()] { self->Send(Clock::now()); });
  }

  // Open loop: one request due at `due`; it waits if this connection is busy.
  void Tick(Clock::time_point due) {
    asio::post(Executor(), [self = shared_from_this(), due] {
      self->open_loop_ = true;
      if (self->waiting_) {
        self->stats_.late++;
        self->backlog_.push_back(due);
        return;
      }
      self->Send(due);
    });
  }

 protected:
  virtual asio::any_io_executor Executor() = 0;
  // Sends request number n_ (already counted); the latency clock started at due_.
  virtual void Write() = 0;

  void Send(Clock::time_point due) {
    if (!running_ || !sending_) return;
    ++n_;
    due_ = due;
    waiting_ = true;
    Write();
  }

  // The answer to the request in flight arrived (ok) or failed (!ok).
  void OnDone(bool ok) {
    if (!waiting_) return;
    waiting_ = false;
    if (ok) {
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - due_).count();
      {
        std::lock_guard lock(stats_.mu);
        stats_.latencies_ms.push_back(ms);
      }
      stats_.turns++;
    } else {
      stats_.errors++;
    }
    if (!open_loop_) return Send(Clock::now());
    if (!backlog_.empty()) {
      Clock::time_point due = backlog_.front();
      backlog_.pop_front();
      Send(due);
    }
  }

  void Fail(const char* what, beast::error_code ec) {
    if (stats_.errors++ < 5) std::fprintf(stderr, "connection %d: %s: %s\n", index_, what, ec.message().c_str());
  }

  Stats& stats_;
  std::atomic<bool>& running_;
  std::atomic<bool>& sending_;
  int index_;
  long n_ = 0;
  bool waiting_ = false;
  bool open_loop_ = false;
  Clock::time_point due_;
  std::deque<Clock::time_point> backlog_;
};

// A WebSocket conversation: message frames in, the bot's reply frame out.
class WsConv final : public Client {
 public:
  WsConv(asio::io_context& ioc, std::string host, int port, std::string key, std::string id, int index, Stats& stats,
         std::atomic<bool>& running, std::atomic<bool>& sending)
      : Client(stats, running, sending, index),
        ws_(asio::make_strand(ioc)),
        host_(std::move(host)),
        port_(port),
        key_(std::move(key)),
        id_(std::move(id)),
        resolver_(ws_.get_executor()) {}

  void Start() override {
    auto self = std::static_pointer_cast<WsConv>(shared_from_this());
    resolver_.async_resolve(host_, std::to_string(port_), [self](beast::error_code ec, tcp::resolver::results_type r) {
      if (ec) return self->Fail("resolve", ec);
      beast::get_lowest_layer(self->ws_).async_connect(r, [self](beast::error_code ec, tcp::endpoint) {
        if (ec) return self->Fail("connect", ec);
        beast::get_lowest_layer(self->ws_).expires_never();
        self->ws_.async_handshake(self->host_, "/v1/conversations/" + self->id_ + "/ws?widget_key=" + self->key_,
                                  [self](beast::error_code ec) {
                                    if (ec) return self->Fail("handshake", ec);
                                    self->stats_.open++;
                                    self->Read();
                                  });
      });
    });
  }

  void Close() override {
    asio::post(ws_.get_executor(), [self = std::static_pointer_cast<WsConv>(shared_from_this())] {
      beast::error_code ec;
      self->ws_.next_layer().socket().close(ec);
    });
  }

 private:
  asio::any_io_executor Executor() override { return ws_.get_executor(); }

  void Write() override {
    out_ = json{{"type", "message"},
                {"client_msg_id", "b" + std::to_string(index_) + "-" + std::to_string(n_)},
                {"text", kQuestions[(index_ + n_) % kQuestions.size()]}}
               .dump();
    pending_id_ = -1;
    ws_.text(true);
    ws_.async_write(asio::buffer(out_), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return static_cast<WsConv*>(self.get())->Fail("write", ec);
    });
  }

  void Read() {
    auto self = std::static_pointer_cast<WsConv>(shared_from_this());
    ws_.async_read(buf_, [self](beast::error_code ec, size_t) {
      if (ec) {
        if (self->running_) self->Fail("read", ec);
        return;
      }
      self->OnFrame(beast::buffers_to_string(self->buf_.data()));
      self->buf_.consume(self->buf_.size());
      self->Read();
    });
  }

  void OnFrame(const std::string& text) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) return;
    std::string type = j.value("type", "");
    if (type == "ack") {
      pending_id_ = j["message"].value("id", int64_t{-1});
    } else if (type == "message") {
      const json& m = j["message"];
      if (waiting_ && m.value("role", "") == "bot" && pending_id_ >= 0 &&
          m.value("reply_to", int64_t{-2}) == pending_id_)
        OnDone(true);
    } else if (type == "error") {
      OnDone(false);
    }
  }

  websocket::stream<beast::tcp_stream> ws_;
  std::string host_;
  int port_;
  std::string key_, id_;
  tcp::resolver resolver_;
  beast::flat_buffer buf_;
  std::string out_;
  int64_t pending_id_ = -1;
};

// A keep-alive HTTP/1.1 connection: GET a static path, or POST a turn to its
// own conversation (id non-empty) and read the synchronous reply.
class HttpConn final : public Client {
 public:
  HttpConn(asio::io_context& ioc, std::string host, int port, std::string key, std::string id, std::string path,
           int index, Stats& stats, std::atomic<bool>& running, std::atomic<bool>& sending)
      : Client(stats, running, sending, index),
        stream_(asio::make_strand(ioc)),
        host_(std::move(host)),
        port_(port),
        key_(std::move(key)),
        id_(std::move(id)),
        path_(std::move(path)),
        resolver_(stream_.get_executor()) {}

  void Start() override {
    auto self = std::static_pointer_cast<HttpConn>(shared_from_this());
    resolver_.async_resolve(host_, std::to_string(port_), [self](beast::error_code ec, tcp::resolver::results_type r) {
      if (ec) return self->Fail("resolve", ec);
      self->stream_.async_connect(r, [self](beast::error_code ec, tcp::endpoint) {
        if (ec) return self->Fail("connect", ec);
        self->stream_.expires_never();
        self->stream_.socket().set_option(tcp::no_delay(true));
        self->stats_.open++;
      });
    });
  }

  void Close() override {
    asio::post(stream_.get_executor(), [self = std::static_pointer_cast<HttpConn>(shared_from_this())] {
      beast::error_code ec;
      self->stream_.socket().close(ec);
    });
  }

 private:
  asio::any_io_executor Executor() override { return stream_.get_executor(); }

  void Write() override {
    req_ = {};
    req_.version(11);
    req_.set(http::field::host, host_);
    req_.keep_alive(true);
    if (id_.empty()) {
      req_.method(http::verb::get);
      req_.target(path_);
    } else {
      req_.method(http::verb::post);
      req_.target("/v1/conversations/" + id_ + "/messages");
      req_.set(http::field::content_type, "application/json");
      req_.set("X-Kefu-Widget-Key", key_);
      req_.body() = json{{"client_msg_id", "h" + std::to_string(index_) + "-" + std::to_string(n_)},
                         {"text", kQuestions[(index_ + n_) % kQuestions.size()]}}
                        .dump();
    }
    req_.prepare_payload();
    auto self = std::static_pointer_cast<HttpConn>(shared_from_this());
    http::async_write(stream_, req_, [self](beast::error_code ec, size_t) {
      if (ec) {
        self->Fail("write", ec);
        return self->OnDone(false);
      }
      self->res_ = {};
      http::async_read(self->stream_, self->buf_, self->res_, [self](beast::error_code ec, size_t) {
        if (ec) {
          if (self->running_) self->Fail("read", ec);
          return;
        }
        const bool ok = self->res_.result_int() == 200;
        if (!ok && self->stats_.errors < 5)
          std::fprintf(stderr, "connection %d: HTTP %d %s\n", self->index_, self->res_.result_int(),
                       self->res_.body().substr(0, 200).c_str());
        self->OnDone(ok);
      });
    });
  }

  beast::tcp_stream stream_;
  std::string host_;
  int port_;
  std::string key_, id_, path_;
  tcp::resolver resolver_;
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
};

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"kefu load generator: concurrent conversations or static GETs"};
  std::string host = "127.0.0.1", key = "demo", json_out, mode = "ws", path = "/", server_pids;
  int port = 8080, conversations = 500, seconds = 20, warmup = 3, threads = 1;
  double rate = 0;
  cli.add_option("--host", host);
  cli.add_option("--port", port);
  cli.add_option("--widget-key", key);
  cli.add_option("--mode", mode, "ws | http-turn | http-get")->check(CLI::IsMember({"ws", "http-turn", "http-get"}));
  cli.add_option("--path", path, "http-get: the path to GET");
  cli.add_option("--conversations,-c", conversations, "concurrent conversations (connections)");
  cli.add_option("--seconds,-s", seconds, "measurement duration");
  cli.add_option("--warmup", warmup, "seconds of load before measuring");
  cli.add_option("--server-pid", server_pids, "server process(es), comma-separated: memory of the first, CPU of all");
  cli.add_option("--threads", threads, "client I/O threads");
  cli.add_option("--rate", rate, "open loop: total requests/s spread over the connections (0 = closed loop)");
  cli.add_option("--json", json_out, "also write the figures as JSON to this file");
  CLI11_PARSE(cli, argc, argv);

  std::vector<int> pids;
  {
    std::stringstream in(server_pids);
    for (std::string p; std::getline(in, p, ',');)
      if (!p.empty()) pids.push_back(std::stoi(p));
  }
  const int server_pid = pids.empty() ? 0 : pids.front();

  std::vector<std::string> ids;
  ids.reserve(conversations);
  if (mode != "http-get") {
    for (int i = 0; i < conversations; ++i) {
      char customer[16];
      std::snprintf(customer, sizeof customer, "C%04d", i % 50 + 1);
      ids.push_back(CreateConversation(host, port, key, customer));
    }
  }

  long rss_before = server_pid ? RssKiB(server_pid) : -1;
  asio::io_context ioc;
  auto guard = asio::make_work_guard(ioc);
  Stats stats;
  std::atomic<bool> running{true}, sending{false};
  std::vector<std::shared_ptr<Client>> convs;
  for (int i = 0; i < conversations; ++i) {
    if (mode == "ws")
      convs.push_back(std::make_shared<WsConv>(ioc, host, port, key, ids[i], i, stats, running, sending));
    else
      convs.push_back(std::make_shared<HttpConn>(ioc, host, port, key, mode == "http-turn" ? ids[i] : std::string(),
                                                 path, i, stats, running, sending));
    convs.back()->Start();
  }
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back([&] { ioc.run(); });

  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (stats.open < conversations && Clock::now() < deadline && stats.errors == 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  long rss_idle = server_pid ? RssKiB(server_pid) : -1;

  sending = true;
  std::thread pacer;
  if (rate > 0) {
    pacer = std::thread([&] {
      auto start = Clock::now();
      long i = 0;
      while (running) {
        auto due = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(i / rate));
        if (due > Clock::now()) std::this_thread::sleep_until(due);
        if (!sending) break;
        convs[i % convs.size()]->Tick(due);
        ++i;
      }
    });
  } else {
    for (auto& c : convs) c->Kick();
  }
  std::this_thread::sleep_for(std::chrono::seconds(warmup));
  {
    std::lock_guard lock(stats.mu);
    stats.latencies_ms.clear();
  }
  long turns0 = stats.turns, late0 = stats.late;
  const double cpu0 = pids.empty() ? -1 : CpuSeconds(pids);
  auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  long turns1 = stats.turns, late1 = stats.late;
  double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu1 = pids.empty() ? -1 : CpuSeconds(pids);
  long rss_load = server_pid ? RssKiB(server_pid) : -1;
  sending = false;
  std::vector<double> lat;
  {
    std::lock_guard lock(stats.mu);
    lat = stats.latencies_ms;
  }
  running = false;
  if (pacer.joinable()) pacer.join();
  for (auto& c : convs) c->Close();
  guard.reset();
  ioc.stop();
  for (auto& t : pool) t.join();

  double tps = (turns1 - turns0) / elapsed;
  double p50 = Percentile(lat, 0.50), p99 = Percentile(lat, 0.99), pmax = Percentile(lat, 1.0);
  json out = {{"mode", mode},
              {"conversations", conversations},
              {"open_connections", stats.open.load()},
              {"seconds", elapsed},
              {"turns", turns1 - turns0},
              {"turns_per_s", tps},
              {"p50_ms", p50},
              {"p99_ms", p99},
              {"max_ms", pmax},
              {"errors", stats.errors.load()},
              {"offered_rate", rate},
              {"late_sends", late1 - late0}};
  if (server_pid) {
    out["server_rss_kib_before"] = rss_before;
    out["server_rss_kib_idle_open"] = rss_idle;
    out["server_rss_kib_under_load"] = rss_load;
    out["kib_per_idle_conversation"] = conversations ? double(rss_idle - rss_before) / conversations : 0;
    if (cpu0 >= 0 && cpu1 >= 0) {
      out["server_cpu_s"] = cpu1 - cpu0;
      out["server_cpu_us_per_turn"] = turns1 > turns0 ? (cpu1 - cpu0) * 1e6 / double(turns1 - turns0) : 0;
    }
  }
  const char* unit = mode == "http-get" ? "requests" : "turns";
  std::printf("mode               %s, %d connections (%ld open)\n", mode.c_str(), conversations, stats.open.load());
  std::printf("%-18s %ld in %.1f s\n", unit, turns1 - turns0, elapsed);
  std::printf("%s/s%*s %.0f\n", unit, int(16 - std::strlen(unit)), "", tps);
  std::printf("latency            p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", p50, p99, pmax);
  std::printf("errors             %ld\n", stats.errors.load());
  if (rate > 0)
    std::printf(
        "open loop          %.0f/s offered; %ld sends were due while their connection was busy (they waited, "
        "counted from when due)\n",
        rate, late1 - late0);
  if (server_pid && mode != "http-get")
    std::printf("server memory      %.1f KiB per idle open conversation (RSS %ld -> %ld KiB; %ld KiB under load)\n",
                out["kib_per_idle_conversation"].get<double>(), rss_before, rss_idle, rss_load);
  if (out.contains("server_cpu_s"))
    std::printf("server CPU         %.0f us per %s (%.2f cores busy)\n", out["server_cpu_us_per_turn"].get<double>(),
                mode == "http-get" ? "request" : "turn", out["server_cpu_s"].get<double>() / elapsed);
  if (!json_out.empty()) std::ofstream(json_out) << out.dump(2) << "\n";
  return stats.errors > 0 ? 1 : 0;
}
