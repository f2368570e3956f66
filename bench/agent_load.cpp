// kefu_agent_load: the human-agent benchmark of issue 4. N agents and M
// customers, all over WebSocket, with the tenant's default routing rules.
//
//   kefu_agent_load --port 8080 --agents 200 --customers 2000 --rate 400 --seconds 20
//
// Set-up (not measured): the admin API creates the agents (skill "general",
// max_chats = ceil(M / N)); each logs in, goes online and opens the agent
// WebSocket. Each customer opens a conversation and its customer WebSocket and
// asks for a human ("转人工"); the routing rules queue the conversation and the
// benchmark has agent (i mod N) accept customer i.
//
// Measured: customers send messages open-loop at --rate messages/s in total.
// Latency = the customer's WebSocket send → the assigned agent's WebSocket
// "message" frame carrying that client_msg_id. With --agent-replies each
// agent answers every message and the reverse path (agent REST send → the
// customer's WebSocket frame) is measured too. At the end every message must
// have reached exactly its agent exactly once: lost, duplicated and misrouted
// counts are reported and make the exit status non-zero.
#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <optional>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// A blocking HTTP/1.1 client over one kept-alive connection (set-up only).
class SyncHttp {
 public:
  SyncHttp(std::string host, int port) : host_(std::move(host)), port_(port), stream_(ioc_) {}

  // Returns {status, parsed body (null when not JSON)}.
  std::pair<int, json> Call(http::verb verb, const std::string& target, const json& body,
                            const std::vector<std::pair<std::string, std::string>>& headers) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      try {
        if (!connected_) {
          tcp::resolver resolver(ioc_);
          stream_.connect(resolver.resolve(host_, std::to_string(port_)));
          connected_ = true;
        }
        http::request<http::string_body> req{verb, target, 11};
        req.set(http::field::host, host_);
        req.keep_alive(true);
        for (const auto& [k, v] : headers) req.set(k, v);
        if (!body.is_null()) {
          req.set(http::field::content_type, "application/json");
          req.body() = body.dump();
        }
        req.prepare_payload();
        http::write(stream_, req);
        beast::flat_buffer buf;
        http::response<http::string_body> res;
        http::read(stream_, buf, res);
        if (!res.keep_alive()) Reset();
        return {res.result_int(), json::parse(res.body(), nullptr, false)};
      } catch (const std::exception&) {
        Reset();
        if (attempt == 1) throw;
      }
    }
    return {0, nullptr};
  }

 private:
  void Reset() {
    beast::error_code ec;
    stream_.socket().close(ec);
    connected_ = false;
  }
  std::string host_;
  int port_;
  asio::io_context ioc_;
  beast::tcp_stream stream_;
  bool connected_ = false;
};

struct Sent {
  Clock::time_point at;
  int agent = -1;  // who must receive it
};

struct Stats {
  std::mutex mu;
  std::unordered_map<std::string, Sent> pending;  // client_msg_id -> send info, GUARDED_BY(mu)
  std::unordered_map<std::string, int> received;  // client_msg_id -> times an agent saw it, GUARDED_BY(mu)
  std::vector<double> to_agent_ms;                // GUARDED_BY(mu)
  std::unordered_map<std::string, Clock::time_point> replies_pending;  // reply client_msg_id, GUARDED_BY(mu)
  std::vector<double> to_customer_ms;                                   // GUARDED_BY(mu)
  std::atomic<long> open{0}, errors{0}, sent{0}, misrouted{0}, bot_after_handoff{0};
  bool measuring = false;  // GUARDED_BY(mu)
};

// Agent replies waiting to be posted over REST by the reply workers.
struct Reply {
  std::string conversation_id, client_msg_id;
  int agent;
};
class ReplyQueue {
 public:
  void Push(Reply r) {
    {
      std::lock_guard lock(mu_);
      q_.push_back(std::move(r));
    }
    cv_.notify_one();
  }
  // Blocks; nullopt once closed and empty.
  std::optional<Reply> Pop() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return closed_ || !q_.empty(); });
    if (q_.empty()) return std::nullopt;
    Reply r = std::move(q_.front());
    q_.pop_front();
    return r;
  }
  void Close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Reply> q_;
  bool closed_ = false;
};

// One WebSocket (customer or agent) on the shared io_context.
class Socket : public std::enable_shared_from_this<Socket> {
 public:
  using OnFrame = std::function<void(const json&)>;
  Socket(asio::io_context& ioc, std::string host, int port, std::string target, Stats& stats, OnFrame on_frame)
      : ws_(asio::make_strand(ioc)), resolver_(ws_.get_executor()), host_(std::move(host)), port_(port),
        target_(std::move(target)), stats_(stats), on_frame_(std::move(on_frame)) {}

  void Start() {
    resolver_.async_resolve(host_, std::to_string(port_), [self = shared_from_this()](beast::error_code ec,
                                                                                      tcp::resolver::results_type r) {
      if (ec) return self->Fail("resolve", ec);
      beast::get_lowest_layer(self->ws_).async_connect(r, [self](beast::error_code ec, tcp::endpoint) {
        if (ec) return self->Fail("connect", ec);
        beast::get_lowest_layer(self->ws_).expires_never();
        self->ws_.async_handshake(self->host_, self->target_, [self](beast::error_code ec) {
          if (ec) return self->Fail("handshake", ec);
          self->stats_.open++;
          self->Read();
        });
      });
    });
  }

  // Thread-safe: queues a text frame.
  void Send(std::string text) {
    asio::post(ws_.get_executor(), [self = shared_from_this(), text = std::move(text)]() mutable {
      self->queue_.push_back(std::move(text));
      if (self->queue_.size() == 1) self->WriteNext();
    });
  }

  void Close() {
    asio::post(ws_.get_executor(), [self = shared_from_this()] {
      self->closing_ = true;
      beast::error_code ec;
      self->ws_.next_layer().socket().close(ec);
    });
  }

 private:
  void WriteNext() {
    ws_.text(true);
    ws_.async_write(asio::buffer(queue_.front()), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Fail("write", ec);
      self->queue_.pop_front();
      if (!self->queue_.empty()) self->WriteNext();
    });
  }

  void Read() {
    ws_.async_read(buf_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        if (!self->closing_) self->Fail("read", ec);
        return;
      }
      json j = json::parse(beast::buffers_to_string(self->buf_.data()), nullptr, false);
      self->buf_.consume(self->buf_.size());
      if (!j.is_discarded()) self->on_frame_(j);
      self->Read();
    });
  }

  void Fail(const char* what, beast::error_code ec) {
    if (stats_.errors++ < 5) std::fprintf(stderr, "%s: %s: %s\n", target_.c_str(), what, ec.message().c_str());
  }

  websocket::stream<beast::tcp_stream> ws_;
  tcp::resolver resolver_;
  std::string host_;
  int port_;
  std::string target_;
  Stats& stats_;
  OnFrame on_frame_;
  beast::flat_buffer buf_;
  std::deque<std::string> queue_;
  bool closing_ = false;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

[[noreturn]] void Die(const std::string& what, int status, const json& body) {
  std::fprintf(stderr, "set-up failed: %s: HTTP %d %s\n", what.c_str(), status, body.dump().c_str());
  std::exit(2);
}

void WaitFor(const std::function<bool()>& done, int seconds, const char* what) {
  auto deadline = Clock::now() + std::chrono::seconds(seconds);
  while (!done()) {
    if (Clock::now() > deadline) {
      std::fprintf(stderr, "timed out waiting for %s\n", what);
      std::exit(2);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"kefu agent benchmark: agents and customers over WebSocket with the default routing rules"};
  std::string host = "127.0.0.1", widget_key = "demo", admin_key = "demo-admin-key", tenant = "demo", json_out;
  int port = 8080, agents = 200, customers = 2000, seconds = 20, warmup = 3, threads = 1;
  double rate = 400;
  bool agent_replies = false;
  cli.add_option("--host", host);
  cli.add_option("--port", port);
  cli.add_option("--tenant", tenant);
  cli.add_option("--widget-key", widget_key);
  cli.add_option("--admin-key", admin_key, "tenant API key used to create the agents");
  cli.add_option("--agents,-a", agents);
  cli.add_option("--customers,-c", customers);
  cli.add_option("--rate", rate, "customer messages per second, all customers together");
  cli.add_option("--seconds,-s", seconds, "measurement duration");
  cli.add_option("--warmup", warmup, "seconds of load before measuring");
  cli.add_option("--threads", threads, "client I/O threads");
  cli.add_flag("--agent-replies", agent_replies, "agents answer every message; measure agent -> customer too");
  cli.add_option("--json", json_out, "also write the figures as JSON to this file");
  CLI11_PARSE(cli, argc, argv);

  const int per_agent = (customers + agents - 1) / agents;
  const auto t_setup = Clock::now();
  SyncHttp api(host, port);
  const std::vector<std::pair<std::string, std::string>> admin = {{"Authorization", "Bearer " + admin_key}};
  const std::vector<std::pair<std::string, std::string>> widget = {{"X-Kefu-Widget-Key", widget_key}};

  // Agents: create (idempotent across runs: an existing username is fine), log in, go online.
  const std::string run_tag = std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 1000000);
  std::vector<std::string> tokens(agents);
  for (int i = 0; i < agents; ++i) {
    std::string username = "bench" + run_tag + "_" + std::to_string(i);
    auto [st, body] = api.Call(http::verb::post, "/v1/admin/agents",
                               {{"username", username},
                                {"name", "压测客服" + std::to_string(i)},
                                {"role", "agent"},
                                {"password", "bench-password"},
                                {"skills", {"general"}},
                                {"max_chats", per_agent}},
                               admin);
    if (st != 200 && st != 201) Die("create agent " + username, st, body);
    auto [ls, login] = api.Call(http::verb::post, "/v1/agent/login",
                                {{"tenant_id", tenant}, {"username", username}, {"password", "bench-password"}}, {});
    if (ls != 200) Die("login " + username, ls, login);
    tokens[i] = login.value("token", "");
    auto [ps, presence] = api.Call(http::verb::put, "/v1/agent/presence", {{"presence", "online"}},
                                   {{"Authorization", "Bearer " + tokens[i]}});
    if (ps != 200) Die("presence " + username, ps, presence);
  }

  asio::io_context ioc;
  auto guard = asio::make_work_guard(ioc);
  Stats stats;
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back([&] { ioc.run(); });

  std::vector<std::string> conv_ids(customers);
  std::unordered_map<std::string, int> customer_of_conv;  // written before any frame can need it
  for (int i = 0; i < customers; ++i) {
    char customer[16];
    std::snprintf(customer, sizeof customer, "C%04d", i % 50 + 1);
    auto [st, body] = api.Call(http::verb::post, "/v1/conversations", {{"customer_id", customer}, {"channel", "app"}},
                               widget);
    if (st != 201) Die("create conversation", st, body);
    conv_ids[i] = body.value("id", "");
    customer_of_conv[conv_ids[i]] = i;
  }

  // Agent sockets: a customer message frame is matched to its send.
  std::vector<std::shared_ptr<Socket>> agent_ws(agents);
  std::vector<std::shared_ptr<Socket>> customer_ws(customers);
  std::atomic<long> reply_seq{0};
  ReplyQueue replies;
  std::vector<std::thread> reply_workers;
  for (int w = 0; w < (agent_replies ? 4 : 0); ++w)
    reply_workers.emplace_back([&] {
      SyncHttp h(host, port);
      while (auto r = replies.Pop()) {
        auto [st, body] = h.Call(http::verb::post, "/v1/agent/conversations/" + r->conversation_id + "/messages",
                                 {{"text", "好的，马上为您处理"}, {"client_msg_id", r->client_msg_id}},
                                 {{"Authorization", "Bearer " + tokens[r->agent]}});
        if (st != 200 && st != 201 && stats.errors++ < 5)
          std::fprintf(stderr, "agent reply: HTTP %d %s\n", st, body.dump().c_str());
      }
    });
  for (int a = 0; a < agents; ++a) {
    agent_ws[a] = std::make_shared<Socket>(
        ioc, host, port, "/v1/agent/ws?token=" + tokens[a], stats, [&, a](const json& f) {
          if (f.value("type", "") != "message") return;
          const json& m = f["message"];
          std::string role = m.value("role", "");
          if (role == "bot") {
            std::lock_guard lock(stats.mu);
            if (stats.measuring) stats.bot_after_handoff++;
            return;
          }
          if (role != "customer" || !m["client_msg_id"].is_string()) return;
          std::string id = m["client_msg_id"];
          auto now = Clock::now();
          bool reply = false;
          {
            std::lock_guard lock(stats.mu);
            auto it = stats.pending.find(id);
            if (it == stats.pending.end()) return;  // set-up traffic
            if (it->second.agent != a) stats.misrouted++;
            if (++stats.received[id] == 1) {
              if (stats.measuring) stats.to_agent_ms.push_back(std::chrono::duration<double, std::milli>(now - it->second.at).count());
              reply = agent_replies;
            }
          }
          if (reply) {
            // The agent's answer goes over REST, like the workspace does.
            std::string conv = f.value("conversation_id", m.value("conversation_id", ""));
            std::string rid = "r" + std::to_string(reply_seq++);
            {
              std::lock_guard lock(stats.mu);
              stats.replies_pending[rid] = Clock::now();
            }
            replies.Push(Reply{conv, rid, a});
          }
        });
    agent_ws[a]->Start();
  }
  for (int i = 0; i < customers; ++i) {
    customer_ws[i] = std::make_shared<Socket>(
        ioc, host, port, "/v1/conversations/" + conv_ids[i] + "/ws?widget_key=" + widget_key, stats,
        [&](const json& f) {
          if (f.value("type", "") != "message") return;
          const json& m = f["message"];
          if (m.value("role", "") != "agent" || !m["client_msg_id"].is_string()) return;
          auto now = Clock::now();
          std::lock_guard lock(stats.mu);
          // Stored as "agent:<agent id>:<client_msg_id>".
          std::string rid = m["client_msg_id"].get<std::string>();
          rid = rid.substr(rid.rfind(':') + 1);
          auto it = stats.replies_pending.find(rid);
          if (it == stats.replies_pending.end()) return;
          if (stats.measuring) stats.to_customer_ms.push_back(std::chrono::duration<double, std::milli>(now - it->second).count());
          stats.replies_pending.erase(it);
        });
    customer_ws[i]->Start();
  }
  WaitFor([&] { return stats.open >= agents + customers || stats.errors > 0; }, 60, "WebSockets to open");
  if (stats.errors > 0) return 2;

  // Hand every customer to an agent: ask for a human, then agent (i mod N) accepts.
  for (int i = 0; i < customers; ++i)
    customer_ws[i]->Send(json{{"type", "message"}, {"client_msg_id", "h" + std::to_string(i)}, {"text", "转人工"}}.dump());
  for (int i = 0; i < customers; ++i) {
    int a = i % agents;
    auto deadline = Clock::now() + std::chrono::seconds(30);
    for (;;) {
      auto [st, body] = api.Call(http::verb::post, "/v1/agent/conversations/" + conv_ids[i] + "/accept", json::object(),
                                 {{"Authorization", "Bearer " + tokens[a]}});
      if (st == 200) break;
      if (Clock::now() > deadline) Die("accept " + conv_ids[i], st, body);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the routing turn has not queued it yet
    }
  }
  double setup_s = std::chrono::duration<double>(Clock::now() - t_setup).count();

  // Open-loop load.
  std::atomic<bool> sending{true};
  std::thread pacer([&] {
    auto start = Clock::now();
    for (long n = 0; sending; ++n) {
      auto due = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(n / rate));
      if (due > Clock::now()) std::this_thread::sleep_until(due);
      if (!sending) break;
      int i = static_cast<int>(n % customers);
      std::string id = "m" + std::to_string(n);
      {
        std::lock_guard lock(stats.mu);
        stats.pending[id] = Sent{Clock::now(), i % agents};
      }
      stats.sent++;
      customer_ws[i]->Send(json{{"type", "message"}, {"client_msg_id", id}, {"text", "请问第" + std::to_string(n) + "号问题怎么处理？"}}.dump());
    }
  });
  std::this_thread::sleep_for(std::chrono::seconds(warmup));
  {
    std::lock_guard lock(stats.mu);
    stats.measuring = true;
  }
  auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  {
    std::lock_guard lock(stats.mu);
    stats.measuring = false;
  }
  sending = false;
  pacer.join();

  // Let the tail arrive, then audit delivery.
  long lost = 0, duplicated = 0;
  auto drain_deadline = Clock::now() + std::chrono::seconds(10);
  for (;;) {
    {
      std::lock_guard lock(stats.mu);
      if (stats.received.size() >= stats.pending.size() || Clock::now() > drain_deadline) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::vector<double> to_agent, to_customer;
  {
    std::lock_guard lock(stats.mu);
    for (const auto& [id, s] : stats.pending) {
      auto it = stats.received.find(id);
      if (it == stats.received.end()) ++lost;
      else if (it->second > 1) ++duplicated;
    }
    to_agent = stats.to_agent_ms;
    to_customer = stats.to_customer_ms;
  }
  replies.Close();
  for (auto& t : reply_workers) t.join();
  for (auto& s : agent_ws) s->Close();
  for (auto& s : customer_ws) s->Close();
  guard.reset();
  ioc.stop();
  for (auto& t : pool) t.join();

  json out = {{"agents", agents},
              {"customers", customers},
              {"setup_s", setup_s},
              {"offered_rate", rate},
              {"seconds", elapsed},
              {"messages_sent", stats.sent.load()},
              {"measured_messages", to_agent.size()},
              {"to_agent_p50_ms", Percentile(to_agent, 0.5)},
              {"to_agent_p99_ms", Percentile(to_agent, 0.99)},
              {"to_agent_max_ms", Percentile(to_agent, 1.0)},
              {"lost", lost},
              {"duplicated", duplicated},
              {"misrouted", stats.misrouted.load()},
              {"bot_messages_after_handoff", stats.bot_after_handoff.load()},
              {"errors", stats.errors.load()}};
  if (agent_replies) {
    out["to_customer_p50_ms"] = Percentile(to_customer, 0.5);
    out["to_customer_p99_ms"] = Percentile(to_customer, 0.99);
  }
  std::printf("agents / customers    %d / %d (set-up %.1f s)\n", agents, customers, setup_s);
  std::printf("messages              %ld sent at %.0f/s; %zu measured in %.1f s\n", stats.sent.load(), rate,
              to_agent.size(), elapsed);
  std::printf("customer -> agent     p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", out["to_agent_p50_ms"].get<double>(),
              out["to_agent_p99_ms"].get<double>(), out["to_agent_max_ms"].get<double>());
  if (agent_replies)
    std::printf("agent -> customer     p50 %.2f ms, p99 %.2f ms\n", out["to_customer_p50_ms"].get<double>(),
                out["to_customer_p99_ms"].get<double>());
  std::printf("delivery              %ld lost, %ld duplicated, %ld misrouted, %ld bot messages after handoff\n", lost,
              duplicated, stats.misrouted.load(), stats.bot_after_handoff.load());
  std::printf("errors                %ld\n", stats.errors.load());
  if (!json_out.empty()) std::ofstream(json_out) << out.dump(2) << "\n";
  bool ok = lost == 0 && duplicated == 0 && stats.misrouted == 0 && stats.bot_after_handoff == 0 && stats.errors == 0;
  return ok ? 0 : 1;
}
