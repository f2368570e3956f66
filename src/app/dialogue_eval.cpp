#include "app/dialogue_eval.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <time.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "app/server_app.h"
#include "common/json.h"
#include "dialogue/understanding_eval.h"

namespace kefu::app {

namespace fs = std::filesystem;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using nlohmann::json;
using tcp = boost::asio::ip::tcp;

namespace {

struct HttpResult {
  int status = 0;
  json body;
};

// One blocking request on a kept-alive loopback connection.
class Client {
 public:
  explicit Client(int port) : port_(port), stream_(ioc_) {}

  Result<HttpResult> Call(bhttp::verb method, const std::string& target, const json& body,
                          const std::vector<std::pair<std::string, std::string>>& headers) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      beast::error_code ec;
      if (!connected_) {
        stream_.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), uint16_t(port_)), ec);
        if (ec) return Unavailable("connect: " + ec.message());
        connected_ = true;
      }
      bhttp::request<bhttp::string_body> req{method, target, 11};
      req.set(bhttp::field::host, "127.0.0.1");
      req.keep_alive(true);
      for (const auto& [k, v] : headers) req.set(k, v);
      if (!body.is_null()) {
        req.set(bhttp::field::content_type, "application/json");
        req.body() = body.dump(-1, ' ', false, json::error_handler_t::replace);
      }
      req.prepare_payload();
      bhttp::write(stream_, req, ec);
      bhttp::response<bhttp::string_body> res;
      if (!ec) bhttp::read(stream_, buf_, res, ec);
      if (ec) {
        beast::error_code ignored;
        stream_.socket().close(ignored);
        connected_ = false;
        buf_.clear();
        continue;  // the server closed a kept-alive connection: once more on a fresh one
      }
      if (!res.keep_alive()) {
        beast::error_code ignored;
        stream_.socket().close(ignored);
        connected_ = false;
      }
      HttpResult out;
      out.status = int(res.result_int());
      out.body = ParseJsonOrDiscarded(res.body());
      return out;
    }
    return Unavailable("request failed twice: " + target);
  }

 private:
  int port_;
  boost::asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buf_;
  bool connected_ = false;
};

double CpuUs(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

Result<std::vector<json>> ReadJsonl(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read " + path.string());
  std::vector<json> out;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto j = ParseJson(line);
    if (!j.ok()) return InvalidArgument(path.string() + ":" + std::to_string(n) + ": " + j.status().message());
    out.push_back(std::move(*j));
  }
  return out;
}

std::vector<std::string> Strings(const json& v) {
  std::vector<std::string> out;
  if (v.is_array())
    for (const auto& x : v)
      if (x.is_string()) out.push_back(x.get<std::string>());
  return out;
}

const std::vector<std::pair<std::string, std::string>> kAdmin = {{"Authorization", "Bearer demo-admin-key"}};
const std::vector<std::pair<std::string, std::string>> kWidget = {{"X-Kefu-Widget-Key", "demo"}};

class Replayer {
 public:
  explicit Replayer(int port) : client_(port) {}

  Status LogInAgent() {
    auto login = client_.Call(bhttp::verb::post, "/v1/agent/login",
                              {{"tenant_id", "demo"}, {"username", "agent1"}, {"password", "demo1234"}}, {});
    if (!login.ok()) return login.status();
    if (login->status != 200) return Unavailable("agent login: " + login->body.dump());
    std::string token = login->body.value("token", "");
    auto p = client_.Call(bhttp::verb::put, "/v1/agent/presence", {{"presence", "online"}},
                          {{"Authorization", "Bearer " + token}});
    if (!p.ok()) return p.status();
    if (p->status != 200) return Unavailable("agent presence: " + p->body.dump());
    return Status::Ok();
  }

  // A new conversation for `customer` (null: an anonymous visitor). A named
  // customer is verified, as the shop's app would do with a customer token.
  Result<std::string> Start(const json& customer) {
    json body = {{"channel", "web"}};
    Result<HttpResult> r = Unavailable("");
    if (customer.is_string()) {
      body["customer_id"] = customer;
      r = client_.Call(bhttp::verb::post, "/v1/conversations", body, kAdmin);
    } else {
      body["customer_id"] = "visitor-" + std::to_string(++visitors_);
      r = client_.Call(bhttp::verb::post, "/v1/conversations", body, kWidget);
    }
    if (!r.ok()) return r.status();
    if (r->status != 201) return Unavailable("create conversation: " + r->body.dump());
    return r->body.value("id", "");
  }

  // Posts one customer turn and observes what the pipeline did.
  Result<dialogue::TurnObservation> Turn(const std::string& conv, const std::string& text, double* server_cpu_us) {
    dialogue::TurnObservation o;
    double p0 = CpuUs(CLOCK_PROCESS_CPUTIME_ID), t0 = CpuUs(CLOCK_THREAD_CPUTIME_ID);
    auto r = client_.Call(bhttp::verb::post, "/v1/conversations/" + conv + "/messages?wait=true",
                          {{"client_msg_id", "m" + std::to_string(++msgs_)}, {"text", text}}, kWidget);
    double p1 = CpuUs(CLOCK_PROCESS_CPUTIME_ID), t1 = CpuUs(CLOCK_THREAD_CPUTIME_ID);
    *server_cpu_us = (p1 - p0) - (t1 - t0);  // everything but this client thread
    if (!r.ok()) return r.status();
    if (r->status != 200) {
      o.reply_text = "HTTP " + std::to_string(r->status) + " " + r->body.dump();
      o.conversation_status = "open";
      return o;
    }
    const json& reply = r->body.contains("reply") ? r->body["reply"] : json();
    o.bot_replied = reply.is_object() && reply.value("id", 0) != 0;
    if (o.bot_replied) {
      o.reply_text = reply.value("text", "");
      const json meta = reply.value("meta", json::object());
      o.meta = meta;
      if (meta.contains("tools") && meta["tools"].is_array())
        for (const auto& t : meta["tools"])
          if (t.is_object()) o.tools.push_back(t.value("name", ""));
      o.order_id = meta.value("order_id", "");
      if (meta.contains("citations") && meta["citations"].is_array())
        for (const auto& c : meta["citations"])
          if (c.is_object()) o.citations.push_back(c.value("id", ""));
      o.clarify = meta.value("clarify", false) || meta.contains("missing_slot");
      o.unknown = meta.value("unknown", false);
      o.handoff_claimed = meta.value("handoff", false);
      o.intent = meta.value("intent", "");
      o.understood_as = meta.value("understood_as", "");
    }
    auto c = client_.Call(bhttp::verb::get, "/v1/conversations/" + conv, nullptr, kWidget);
    if (c.ok() && c->status == 200) o.conversation_status = c->body.value("status", "");
    return o;
  }

 private:
  Client client_;
  int visitors_ = 0;
  int msgs_ = 0;
};

bool InSplit(const json& item, const std::string& split) {
  return split == "all" || item.value("split", "") == split;
}

}  // namespace

Result<json> RunDialogueEval(const DialogueEvalOptions& options) {
  fs::path data = options.data_dir;
  if (data.empty()) {
    const char* src = std::getenv("KEFU_SOURCE_DIR");
    data = fs::path(src ? src : ".") / "tests" / "understanding";
  }
  if (options.split != "dev" && options.split != "test" && options.split != "all")
    return InvalidArgument("--split must be dev, test or all");
  std::vector<json> utterances, dialogues;
  if (options.only != "dialogues") {
    auto u = ReadJsonl(data / "utterances.jsonl");
    if (!u.ok()) return u.status();
    utterances = std::move(*u);
  }
  if (options.only != "utterances") {
    auto d = ReadJsonl(data / "dialogues.jsonl");
    if (!d.ok()) return d.status();
    dialogues = std::move(*d);
  }

  auto cfg = Config::Load(options.config_path);
  if (!cfg.ok()) return cfg.status();
  fs::path dir = fs::temp_directory_path() / ("kefu_eval_dialogue_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  struct Cleanup {
    fs::path d;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(d, ec);
    }
  } cleanup{dir};
  cfg->storage.data_dir = dir.string();
  cfg->server.host = "127.0.0.1";
  cfg->server.port = 0;
  if (!cfg->IsExplicit("log.level")) cfg->log.level = "error";
  ApplyDemoDefaults(*cfg);
  ServeOptions so;
  so.demo = true;
  auto app = ServerApp::Create(*cfg, so);
  if (!app.ok()) return app.status();
  if (auto st = (*app)->Start(); !st.ok()) return st;
  Replayer rp((*app)->port());
  if (options.agents_online)
    if (auto st = rp.LogInAgent(); !st.ok()) return st;

  dialogue::UnderstandingReport report;
  std::ofstream turns_out;
  if (!options.turns_path.empty()) {
    turns_out.open(options.turns_path);
    if (!turns_out) return InvalidArgument("cannot write " + options.turns_path);
  }
  // Posts one turn of `item` (an utterance or an exchange) and judges it.
  auto replay = [&](const std::string& conv, const json& item, const json& turn, std::string id, const char* kind,
                    const char* tags) -> Status {
    double cpu = 0;
    auto o = rp.Turn(conv, turn.value("text", ""), &cpu);
    if (!o.ok()) return o.status();
    dialogue::UnderstandingReport::Item it;
    it.id = std::move(id);
    it.kind = kind;
    it.split = item.value("split", "");
    it.lang = item.value("lang", "");
    it.tags = Strings(item.value(tags, json::array()));
    it.text = turn.value("text", "");
    it.expect = turn.value("expect", json::object());
    it.verdict = dialogue::Judge(it.expect, *o);
    if (turns_out)
      turns_out << json{{"id", it.id},           {"kind", it.kind},     {"lang", it.lang},
                        {"text", it.text},       {"expect", it.expect}, {"got", it.verdict.got},
                        {"correct", it.verdict.correct}, {"meta", o->meta},
                        {"reply", o->reply_text}}
                       .dump()
                << "\n";
    it.reply_text = o->reply_text;
    it.understood_as = o->understood_as;
    it.server_cpu_us = cpu;
    report.Add(std::move(it));
    return Status::Ok();
  };
  for (const auto& u : utterances) {
    if (!InSplit(u, options.split)) continue;
    auto conv = rp.Start(u.contains("customer") ? u["customer"] : json());
    if (!conv.ok()) return conv.status();
    KEFU_RETURN_IF_ERROR(replay(*conv, u, u, u.value("id", ""), "utterance", "style"));
  }
  for (const auto& d : dialogues) {
    if (!InSplit(d, options.split)) continue;
    auto conv = rp.Start(d.contains("customer") ? d["customer"] : json());
    if (!conv.ok()) return conv.status();
    int n = 0;
    for (const auto& t : d.value("turns", json::array()))
      KEFU_RETURN_IF_ERROR(replay(*conv, d, t, d.value("id", "") + "#" + std::to_string(++n), "dialogue", "phenomena"));
  }
  (*app)->Stop();
  json j = report.ToJson();
  j["split"] = options.split;
  j["data"] = data.string();
  j["llm"] = cfg->LlmEnabled();
  return j;
}

}  // namespace kefu::app
