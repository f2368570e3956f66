// The agent workspace end to end: ServerApp with the demo tenant on port 0, a
// temporary data dir (real SQLite), real HTTP and WebSockets — routing in the
// turn, queues, accept/reply/close, double accepts, permissions, transfers,
// rules hot reload and tenant isolation over every agent/supervisor/admin route.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <cstdlib>
#include <functional>
#include <optional>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "api/tenants.h"
#include "app/schema.h"
#include "app/server_app.h"
#include "common/crypto.h"
#include "common/random_testing.h"
#include "http/testing.h"
#include "routing/rule_store.h"
#include "support/fake_openai.h"
#include "support/test_server.h"

namespace kefu {
namespace {

namespace fs = std::filesystem;
using http::testing::Fetch;
using http::testing::Headers;
using http::testing::WsClient;
using nlohmann::json;
using namespace std::chrono_literals;

const Headers kWidget = {{"X-Kefu-Widget-Key", "demo"}, {"Content-Type", "application/json"}};
const Headers kAdmin = {{"Authorization", "Bearer demo-admin-key"}, {"Content-Type", "application/json"}};

Headers Bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
}

class AgentsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("agents_test", /*per_test=*/true);
    fs::create_directories(dir_ / "rules");
    Config cfg = testing::TestConfig(dir_);
    cfg.routing.rules_dir = (dir_ / "rules").string();
    cfg.routing.reload_interval_s = 1;
    cfg.agents.assignment = "manual";  // these tests accept from the queue; AutoAssignTest below
    Configure(cfg);
    cfg_ = cfg;
    Prepare();
    auto a = testing::StartServer(cfg);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    app_ = std::move(*a);
    port_ = app_->port();
  }
  // Runs before the server starts, on the fresh data dir.
  virtual void Prepare() {}
  virtual void Configure(Config&) {}
  void TearDown() override {
    app_.reset();
    fs::remove_all(dir_);
  }

  json Call(const std::string& method, const std::string& target, const json& body, int expect,
            const Headers& h = kWidget) {
    auto r = Fetch(port_, method, target, body.is_null() ? "" : body.dump(), h);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
    EXPECT_EQ(r->status, expect) << method << " " << target << " -> " << r->body;
    return json::parse(r->body, nullptr, false);
  }

  std::string Login(const std::string& username, const std::string& tenant = "demo") {
    json r = Call("POST", "/v1/agent/login", {{"tenant_id", tenant}, {"username", username}, {"password", "demo1234"}},
                  200, {{"Content-Type", "application/json"}});
    return r.value("token", "");
  }
  void Online(const std::string& token) {
    Call("PUT", "/v1/agent/presence", {{"presence", "online"}}, 200, Bearer(token));
  }
  std::string NewConversation(const std::string& customer = "C0001") {
    return Call("POST", "/v1/conversations", {{"customer_id", customer}, {"channel", "web"}}, 201).value("id", "");
  }
  json Say(const std::string& cid, const std::string& text) {
    return Call("POST", "/v1/conversations/" + cid + "/messages",
                {{"client_msg_id", "m" + std::to_string(++msg_)}, {"text", text}}, 200);
  }
  std::unique_ptr<WsClient> AgentWs(const std::string& token) {
    auto ws = WsClient::Connect(port_, "/v1/agent/ws?token=" + token);
    EXPECT_TRUE(ws.ok()) << ws.status().ToString();
    if (!ws.ok()) return nullptr;
    auto hello = (*ws)->Receive();
    EXPECT_TRUE(hello.ok());
    EXPECT_EQ(json::parse(*hello)["type"], "hello");
    return std::move(*ws);
  }
  // The next frame satisfying `pred`, skipping others; null on timeout.
  static json WaitFrame(WsClient& ws, const std::function<bool(const json&)>& pred,
                        std::chrono::milliseconds timeout = 5000ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      auto f = ws.Receive(std::max(left, 1ms));
      if (!f.ok()) break;
      json j = json::parse(*f, nullptr, false);
      if (pred(j)) return j;
    }
    return nullptr;
  }
  // The stored routing decision of the conversation's latest customer turn
  // (the admin route: the customer's own view of a message has no decision).
  json LastDecision(const std::string& cid) {
    json d = Call("GET", "/v1/conversations/" + cid + "/decisions", nullptr, 200, kAdmin);
    if (!d.contains("items") || d["items"].empty()) return json::object();
    return d["items"].back()["decision"];
  }
  // Puts a conversation in the general queue (an agent must be online).
  std::string Queued(const std::string& customer = "C0003") {
    std::string cid = NewConversation(customer);
    json r = Say(cid, "转人工");
    EXPECT_EQ(r["reply"]["role"], "system") << r.dump();
    EXPECT_EQ(LastDecision(cid)["handoff"], true) << r.dump();
    return cid;
  }

  fs::path dir_;
  Config cfg_;
  std::unique_ptr<app::ServerApp> app_;
  int port_ = 0;
  int msg_ = 0;
};

TEST_F(AgentsServerTest, AngryCustomerIsQueuedAgentAcceptsRepliesAndBotStaysSilent) {
  std::string t1 = Login("agent1");
  Online(t1);
  auto ws = AgentWs(t1);
  ASSERT_TRUE(ws);
  std::string cid = NewConversation("C0002");
  json r = Say(cid, "我要投诉！你们的东西用了两天就坏了，太气人了");
  EXPECT_EQ(r["reply"]["role"], "system");
  EXPECT_NE(r["reply"]["text"].get<std::string>().find("正在为您转接人工客服"), std::string::npos) << r.dump();
  EXPECT_NE(r["reply"]["text"].get<std::string>().find("预计等待"), std::string::npos);
  EXPECT_FALSE(r["message"]["meta"].contains("decision")) << "internal routing is not shown to the customer";
  EXPECT_TRUE(r["message"]["meta"].contains("analysis"));
  const json decision = LastDecision(cid);
  EXPECT_EQ(decision["handoff"], true);
  EXPECT_EQ(decision["actions"][0]["queue"], "complaints");
  EXPECT_TRUE(r["message"]["meta"].contains("analysis"));
  EXPECT_EQ(Call("GET", "/v1/conversations/" + cid, nullptr, 200)["status"], "queued");

  json q = WaitFrame(*ws, [&](const json& f) { return f["type"] == "queue" && f["item"]["conversation_id"] == cid; });
  ASSERT_FALSE(q.is_null());
  EXPECT_EQ(q["item"]["queue"], "complaints");
  EXPECT_EQ(q["item"]["customer"]["id"], "C0002");
  json queue = Call("GET", "/v1/agent/queue", nullptr, 200, Bearer(t1));
  ASSERT_EQ(queue["items"].size(), 1u);

  // The handoff summary is there before the accept.
  json detail = Call("GET", "/v1/agent/conversations/" + cid, nullptr, 200, Bearer(t1));
  EXPECT_EQ(detail["handoff"]["rule_id"], "complaint-to-human");
  EXPECT_FALSE(detail["handoff"]["summary"].get<std::string>().empty());
  EXPECT_FALSE(detail["handoff"]["emotion_trajectory"].empty());

  json acc = Call("POST", "/v1/agent/conversations/" + cid + "/accept", json::object(), 200, Bearer(t1));
  EXPECT_EQ(acc["conversation"]["status"], "human");
  ASSERT_FALSE(WaitFrame(*ws, [&](const json& f) { return f["type"] == "assigned"; }).is_null());

  auto cws = WsClient::Connect(port_, "/v1/conversations/" + cid + "/ws?widget_key=demo");
  ASSERT_TRUE(cws.ok());
  json served = WaitFrame(**cws, [](const json& f) {
    return f["type"] == "message" && f["message"]["text"].get<std::string>().find("为您服务") != std::string::npos;
  });
  ASSERT_FALSE(served.is_null());
  EXPECT_NE(served["message"]["text"].get<std::string>().find("小王"), std::string::npos);

  json sent = Call("POST", "/v1/agent/conversations/" + cid + "/messages",
                   {{"text", "您好，我是小王，马上为您处理"}, {"client_msg_id", "a-1"}}, 200, Bearer(t1));
  json retry = Call("POST", "/v1/agent/conversations/" + cid + "/messages",
                    {{"text", "您好，我是小王，马上为您处理"}, {"client_msg_id", "a-1"}}, 200, Bearer(t1));
  EXPECT_EQ(sent["id"], retry["id"]);  // a retried send is stored once
  json got = WaitFrame(**cws, [](const json& f) { return f["type"] == "message" && f["message"]["role"] == "agent"; });
  ASSERT_FALSE(got.is_null());
  EXPECT_EQ(got["message"]["meta"]["agent"]["name"], "小王");

  // The customer writes: the agent gets it with its analysis, the bot says nothing.
  json r2 = Say(cid, "我的订单到哪了");
  EXPECT_TRUE(r2["reply"].is_null()) << r2.dump();
  json m = WaitFrame(*ws, [](const json& f) { return f["type"] == "message" && f["message"]["role"] == "customer"; });
  ASSERT_FALSE(m.is_null());
  EXPECT_EQ(m["conversation_id"], cid);
  EXPECT_TRUE(m["message"]["meta"].contains("analysis"));
  Call("POST", "/v1/agent/conversations/" + cid + "/notes", {{"text", "客户情绪激动，优先处理"}}, 200, Bearer(t1));
  json list = Call("GET", "/v1/conversations/" + cid + "/messages", nullptr, 200);
  int bots_after_handoff = 0, agent_messages = 0;
  bool handed = false;
  for (const auto& msg : list["messages"]) {
    EXPECT_NE(msg["role"], "note");  // notes never reach the customer
    agent_messages += msg["role"] == "agent";
    if (msg["role"] == "system") handed = true;
    if (handed && msg["role"] == "bot") ++bots_after_handoff;
  }
  EXPECT_EQ(bots_after_handoff, 0);
  EXPECT_EQ(agent_messages, 1);
  json detail2 = Call("GET", "/v1/agent/conversations/" + cid, nullptr, 200, Bearer(t1));
  bool has_note = false;
  for (const auto& msg : detail2["messages"]) has_note |= msg["role"] == "note";
  EXPECT_TRUE(has_note);
  json sugg = Call("GET", "/v1/agent/conversations/" + cid + "/suggestions", nullptr, 200, Bearer(t1));
  EXPECT_FALSE(sugg["items"].empty());
  json panel = Call("GET", "/v1/agent/customers/C0002", nullptr, 200, Bearer(t1));
  EXPECT_EQ(panel["customer"]["id"], "C0002");
  EXPECT_FALSE(panel["conversations"].empty());

  // Close: the bot resumes.
  json closed = Call("POST", "/v1/agent/conversations/" + cid + "/close", json::object(), 200, Bearer(t1));
  EXPECT_EQ(closed["conversation"]["status"], "open");
  json r3 = Say(cid, "多久发货");
  EXPECT_EQ(r3["reply"]["role"], "bot") << r3.dump();
}

// Routing from the text alone (no NLU models loaded), so these tests do not
// depend on how the sentiment/emotion models are calibrated: keywords,
// repetition by meaning and the default rules.
class TextOnlyRoutingTest : public AgentsServerTest {
 protected:
  void Prepare() override {
    const char* old = std::getenv("KEFU_MODEL_DIR");
    saved_ = old ? std::optional<std::string>(old) : std::nullopt;
    ::setenv("KEFU_MODEL_DIR", (dir_ / "no-models").c_str(), 1);
  }
  void TearDown() override {
    if (saved_) ::setenv("KEFU_MODEL_DIR", saved_->c_str(), 1);
    else ::unsetenv("KEFU_MODEL_DIR");
    AgentsServerTest::TearDown();
  }
  std::optional<std::string> saved_;
};

TEST_F(TextOnlyRoutingTest, CalmRefundQuestionKeepsSelfService) {
  std::string t1 = Login("agent1");
  Online(t1);
  std::string cid = NewConversation();
  json r = Say(cid, "怎么申请退款");
  EXPECT_EQ(r["reply"]["role"], "bot") << r.dump();
  EXPECT_EQ(LastDecision(cid)["handoff"], false);
}

TEST_F(TextOnlyRoutingTest, ThirdRepetitionEscalatesAndSupervisorIsAlerted) {
  std::string t1 = Login("agent1");
  Online(t1);
  std::string ts = Login("super");
  auto sws = AgentWs(ts);
  ASSERT_TRUE(sws);
  std::string cid = NewConversation("C0004");
  EXPECT_EQ(Say(cid, "到底什么时候发货")["reply"]["role"], "bot");
  EXPECT_EQ(Say(cid, "怎么还不发货")["reply"]["role"], "bot");
  json r = Say(cid, "什么时候发货啊");
  EXPECT_EQ(r["reply"]["role"], "system") << r.dump();
  EXPECT_EQ(LastDecision(cid)["trace"]["stopped_by"], "repeat");
  json alert = WaitFrame(*sws, [](const json& f) { return f["type"] == "alert"; });
  ASSERT_FALSE(alert.is_null());
  EXPECT_EQ(alert["alert"]["kind"], "repeated_escalation");
  json d = Call("GET", "/v1/conversations/" + cid + "/decisions", nullptr, 200, kAdmin);
  ASSERT_EQ(d["items"].size(), 3u);
  EXPECT_EQ(d["items"][2]["decision"]["facts"]["repeat_count"], 3);
  json board = Call("GET", "/v1/supervisor/board", nullptr, 200, Bearer(ts));
  EXPECT_FALSE(board["alerts"].empty());
  ASSERT_FALSE(board["queues"].empty());
  EXPECT_EQ(board["queues"][0]["waiting"], 1);
}

TEST_F(AgentsServerTest, DoubleAcceptExactlyOneWins) {
  std::string t1 = Login("agent1"), t3 = Login("agent3");
  Online(t1);
  Online(t3);
  for (int round = 0; round < 5; ++round) {
    std::string cid = Queued("C000" + std::to_string(round + 1));
    int s1 = 0, s3 = 0;
    std::thread a([&] { s1 = Fetch(port_, "POST", "/v1/agent/conversations/" + cid + "/accept", "{}", Bearer(t1))->status; });
    std::thread b([&] { s3 = Fetch(port_, "POST", "/v1/agent/conversations/" + cid + "/accept", "{}", Bearer(t3))->status; });
    a.join();
    b.join();
    EXPECT_TRUE((s1 == 200 && s3 == 409) || (s1 == 409 && s3 == 200)) << s1 << " " << s3;
    json again = Call("POST", "/v1/agent/conversations/" + cid + "/accept", json::object(), 409, Bearer(t1));
    EXPECT_EQ(again["error"]["code"], "already_assigned");
  }
}

TEST_F(AgentsServerTest, PermissionsTokensTransfersAndCapacity) {
  std::string t1 = Login("agent1"), t2 = Login("agent2");
  Online(t1);
  std::string cid = Queued();
  Call("POST", "/v1/agent/conversations/" + cid + "/accept", json::object(), 200, Bearer(t1));
  json e = Call("POST", "/v1/agent/conversations/" + cid + "/messages", {{"text", "hi"}}, 403, Bearer(t2));
  EXPECT_EQ(e["error"]["code"], "not_assigned");
  Call("POST", "/v1/agent/conversations/" + cid + "/close", json::object(), 403, Bearer(t2));
  Call("POST", "/v1/agent/conversations/" + cid + "/transfer", {{"group", "after_sale"}}, 403, Bearer(t2));
  Call("GET", "/v1/supervisor/board", nullptr, 403, Bearer(t2));
  Call("GET", "/v1/admin/agents", nullptr, 403, Bearer(t2));

  json u = Call("GET", "/v1/agent/me", nullptr, 401, Bearer("kat_0000"));
  EXPECT_EQ(u["error"]["code"], "unauthenticated");
  Call("GET", "/v1/agent/me", nullptr, 401, {});
  auto ws = WsClient::Connect(port_, "/v1/agent/ws?token=kat_bad");
  ASSERT_FALSE(ws.ok());
  EXPECT_NE(ws.status().message().find("401"), std::string::npos);
  Call("POST", "/v1/agent/login", {{"tenant_id", "demo"}, {"username", "agent1"}, {"password", "nope-nope"}}, 401,
       {{"Content-Type", "application/json"}});

  json nf = Call("POST", "/v1/agent/conversations/" + cid + "/transfer", {{"group", "no-such-group"}}, 404, Bearer(t1));
  EXPECT_EQ(nf["error"]["code"], "not_found");
  Call("POST", "/v1/agent/conversations/" + cid + "/transfer", {{"agent_id", "a_missing"}}, 404, Bearer(t1));
  Call("GET", "/v1/agent/conversations/c_missing", nullptr, 404, Bearer(t1));
  // The state is unchanged by the failed transfers.
  EXPECT_EQ(Call("GET", "/v1/agent/conversations", nullptr, 200, Bearer(t1))["items"].size(), 1u);

  // Transfer to agent2 directly: agent2 may now reply, agent1 may not.
  json me2 = Call("GET", "/v1/agent/me", nullptr, 200, Bearer(t2));
  json tr = Call("POST", "/v1/agent/conversations/" + cid + "/transfer", {{"agent_id", me2["id"]}}, 200, Bearer(t1));
  EXPECT_EQ(tr["conversation"]["assigned_agent_id"], me2["id"]);
  Call("POST", "/v1/agent/conversations/" + cid + "/messages", {{"text", "hi"}}, 200, Bearer(t2));
  Call("POST", "/v1/agent/conversations/" + cid + "/messages", {{"text", "hi"}}, 403, Bearer(t1));
  // To a group with nobody free online: back in that group's queue.
  json back = Call("POST", "/v1/agent/conversations/" + cid + "/transfer", {{"group", "vip"}}, 200, Bearer(t2));
  EXPECT_EQ(back["conversation"]["status"], "queued");
  EXPECT_EQ(back["conversation"]["queue"], "vip");

  // Logged-out tokens stop working.
  Call("POST", "/v1/agent/logout", json::object(), 200, Bearer(t2));
  Call("GET", "/v1/agent/me", nullptr, 401, Bearer(t2));

  // max_chats: an agent with room for one chat cannot accept a second.
  Call("POST", "/v1/admin/agents",
       {{"username", "solo"}, {"name", "单线"}, {"password", "demo1234"}, {"skills", {"general"}}, {"max_chats", 1}},
       201, kAdmin);
  std::string ts = Login("solo");
  Online(ts);
  std::string c1 = Queued("C0005"), c2 = Queued("C0006");
  Call("POST", "/v1/agent/conversations/" + c1 + "/accept", json::object(), 200, Bearer(ts));
  json cap = Call("POST", "/v1/agent/conversations/" + c2 + "/accept", json::object(), 409, Bearer(ts));
  EXPECT_EQ(cap["error"]["code"], "at_capacity");
}

TEST_F(AgentsServerTest, NoAgentOnlineLeavesAMessage) {
  std::string cid = NewConversation();
  json r = Say(cid, "转人工");
  EXPECT_EQ(r["reply"]["role"], "system");
  EXPECT_NE(r["reply"]["text"].get<std::string>().find("留言"), std::string::npos) << r.dump();
  EXPECT_EQ(Call("GET", "/v1/conversations/" + cid, nullptr, 200)["status"], "open");
  json f = Say(cid, "我的手机号是13800000000，请尽快回电");
  EXPECT_EQ(f["reply"]["meta"]["follow_up"], true) << f.dump();
  auto db = storage::Database::Open((dir_ / "kefu.db").string());
  ASSERT_TRUE(db.ok());
  auto s = (*db)->Lock();
  auto& st = s.Prepare("SELECT count(*) FROM handoff_requests WHERE conversation_id = ? AND status = 'follow_up'");
  st.Bind(1, cid);
  ASSERT_TRUE(*st.Step());
  EXPECT_EQ(st.Int(0), 1);
  st.Reset();
  EXPECT_EQ(Say(cid, "多久发货")["reply"]["role"], "bot");  // the bot resumes
}

TEST_F(TextOnlyRoutingTest, RulesFileHotReloadRejectsUnknownFieldAndKeepsOldRules) {
  std::string t1 = Login("agent1");
  Online(t1);
  const fs::path file = dir_ / "rules" / "demo.toml";
  {
    std::ofstream out(file);
    out << "[[rule]]\nid = \"shipping\"\nwhen.keywords_any = [\"发货\"]\n"
           "then = [{ action = \"transfer\", queue = \"general\" }]\n";
  }
  std::this_thread::sleep_for(2500ms);
  std::string cid = NewConversation();
  EXPECT_EQ(Say(cid, "多久发货")["reply"]["role"], "system");  // the new rule
  {
    std::ofstream out(file);
    out << "[[rule]]\nid = \"x\"\nwhen.keywords_any = [\"发货\"]\nbogus = 1\nthen = [{ action = \"continue\" }]\n";
  }
  std::this_thread::sleep_for(2500ms);
  std::string cid2 = NewConversation("C0007");
  json r = Say(cid2, "多久发货");
  EXPECT_EQ(r["reply"]["role"], "system") << "the old rules stay in force: " << r.dump();
  routing::RuleStore probe;
  auto loaded = probe.Load("demo", file.string());
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("line 4"), std::string::npos) << loaded.status().message();
  EXPECT_NE(loaded.status().message().find("bogus"), std::string::npos);
}

// A second tenant "other" with its own admin API key, made before the server starts.
class TenantIsolationTest : public AgentsServerTest {
 protected:
  void Prepare() override {
    auto db = storage::OpenWithSchema((dir_ / "kefu.db").string(), app::Schema());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    FakeClock clock;
    api::TenantDirectory dir(**db, clock);
    ASSERT_TRUE(dir.Ensure("other", "Other shop", "other-widget").ok());
    ASSERT_TRUE(dir.AddApiKey("other", "other-admin-key", "test").ok());
  }
};

// Another tenant's agent, supervisor and admin credentials reach nothing of
// the demo tenant through any agent, supervisor or admin route, or the WebSocket.
TEST_F(TenantIsolationTest, EveryAgentSupervisorAdminRouteAndTheWebSocket) {
  const Headers other_admin = {{"Authorization", "Bearer other-admin-key"}, {"Content-Type", "application/json"}};
  for (const char* u : {"x-agent", "x-super", "x-admin"}) {
    std::string role = std::string(u) == "x-agent" ? "agent" : std::string(u) == "x-super" ? "supervisor" : "admin";
    Call("POST", "/v1/admin/agents",
         {{"username", u}, {"password", "demo1234"}, {"role", role}, {"skills", {"general", "after_sale", "vip"}}}, 201,
         other_admin);
  }
  std::vector<std::string> other_tokens = {Login("x-agent", "other"), Login("x-super", "other"), Login("x-admin", "other")};
  for (auto& t : other_tokens) Online(t);
  // Demo credentials do not log in to the other tenant and vice versa.
  Call("POST", "/v1/agent/login", {{"tenant_id", "other"}, {"username", "agent1"}, {"password", "demo1234"}}, 401,
       {{"Content-Type", "application/json"}});

  std::vector<std::unique_ptr<WsClient>> other_ws;
  for (auto& t : other_tokens) other_ws.push_back(AgentWs(t));

  // Demo-tenant state: one queued and one assigned conversation.
  std::string t1 = Login("agent1");
  Online(t1);
  std::string queued = Queued("C0009");  // a VIP
  EXPECT_EQ(Call("GET", "/v1/conversations/" + queued + "/decisions", nullptr, 200, kAdmin)["items"][0]["decision"]["facts"]["tier"], "vip");
  std::string assigned = Queued("C0008");
  Call("POST", "/v1/agent/conversations/" + assigned + "/accept", json::object(), 200, Bearer(t1));
  Call("POST", "/v1/agent/conversations/" + assigned + "/messages", {{"text", "您好"}}, 200, Bearer(t1));
  json demo_agents = Call("GET", "/v1/admin/agents", nullptr, 200, kAdmin);
  std::string demo_agent_id = demo_agents["items"][0]["id"];

  for (const auto& tok : other_tokens) {
    Headers h = Bearer(tok);
    EXPECT_TRUE(Call("GET", "/v1/agent/queue", nullptr, 200, h)["items"].empty());
    EXPECT_TRUE(Call("GET", "/v1/agent/conversations", nullptr, 200, h)["items"].empty());
    for (const auto& cid : {queued, assigned}) {
      const std::string base = "/v1/agent/conversations/" + cid;
      Call("GET", base, nullptr, 404, h);
      Call("POST", base + "/accept", json::object(), 404, h);
      Call("POST", base + "/messages", {{"text", "x"}}, 404, h);
      Call("POST", base + "/notes", {{"text", "x"}}, 404, h);
      Call("POST", base + "/transfer", {{"group", "general"}}, 404, h);
      Call("POST", base + "/close", json::object(), 404, h);
      Call("GET", base + "/suggestions", nullptr, 404, h);
      auto tk = Fetch(port_, "POST", "/v1/supervisor/conversations/" + cid + "/takeover", "{}", h);
      EXPECT_TRUE(tk->status == 404 || tk->status == 403) << tk->status << tk->body;
      auto dec = Fetch(port_, "GET", "/v1/conversations/" + cid + "/decisions", "", h);
      EXPECT_TRUE(dec->status == 404 || dec->status == 403) << dec->status << dec->body;
    }
    Call("GET", "/v1/agent/customers/C0008", nullptr, 404, h);
    json canned = Call("GET", "/v1/agent/canned", nullptr, 200, h);
    EXPECT_TRUE(canned["items"].empty());
    json me = Call("GET", "/v1/agent/me", nullptr, 200, h);
    EXPECT_EQ(me["tenant_id"], "other");
    auto board = Fetch(port_, "GET", "/v1/supervisor/board", "", h);
    if (board->status == 200) {
      json b = json::parse(board->body);
      EXPECT_TRUE(b["queues"].empty());
      for (const auto& a : b["agents"]) EXPECT_EQ(a["tenant_id"], "other");
      EXPECT_TRUE(b["alerts"].empty());
    }
    auto agents = Fetch(port_, "GET", "/v1/admin/agents", "", h);
    if (agents->status == 200) {
      const json listed = json::parse(agents->body);  // named: a range over a temporary's member would dangle
      for (const auto& a : listed["items"]) EXPECT_EQ(a["tenant_id"], "other");
    }
    auto put = Fetch(port_, "PUT", "/v1/admin/agents/" + demo_agent_id, R"({"name":"hijack"})", h);
    EXPECT_TRUE(put->status == 404 || put->status == 403) << put->status;
    auto groups = Fetch(port_, "GET", "/v1/admin/groups", "", h);
    if (groups->status == 200) {
      EXPECT_TRUE(json::parse(groups->body)["items"].empty());
    }
  }
  // The other tenant's admin API key: same.
  json oa = Call("GET", "/v1/admin/agents", nullptr, 200, other_admin);
  for (const auto& a : oa["items"]) EXPECT_EQ(a["tenant_id"], "other");
  Call("PUT", "/v1/admin/agents/" + demo_agent_id, {{"name", "hijack"}}, 404, other_admin);
  Call("GET", "/v1/conversations/" + queued + "/decisions", nullptr, 404, other_admin);
  EXPECT_EQ(Call("GET", "/v1/admin/agents", nullptr, 200, kAdmin)["items"][0]["name"], demo_agents["items"][0]["name"]);

  // Their WebSockets never saw a demo frame (only hello, maybe board/pong).
  for (auto& ws : other_ws) {
    ASSERT_TRUE(ws);
    ASSERT_TRUE(ws->Send(R"({"type":"ping"})").ok());
    for (;;) {
      auto f = ws->Receive(1500ms);
      ASSERT_TRUE(f.ok()) << "no pong";
      json j = json::parse(*f);
      if (j["type"] == "pong") break;
      EXPECT_EQ(j["type"], "board") << j.dump();
      for (const auto& a : j["board"]["agents"]) EXPECT_EQ(a["tenant_id"], "other");
      EXPECT_TRUE(j["board"]["queues"].empty());
    }
  }
}

// ---- automatic assignment ----------------------------------------------------

class AutoAssignTest : public AgentsServerTest {
 protected:
  void Configure(Config& c) override { c.agents.assignment = "auto"; }
  // Conversations assigned to the token's agent.
  std::set<std::string> Mine(const std::string& token) {
    std::set<std::string> out;
    const json mine = Call("GET", "/v1/agent/conversations", nullptr, 200, Bearer(token));
    for (const auto& i : mine["items"]) out.insert(i["conversation"]["id"].get<std::string>());
    return out;
  }
  std::string IdOf(const std::string& token) {
    return Call("GET", "/v1/agent/me", nullptr, 200, Bearer(token))["id"].get<std::string>();
  }
};

TEST_F(AutoAssignTest, GoesStraightToTheLeastLoadedAgentWithTheSkill) {
  std::string t1 = Login("agent1"), t2 = Login("agent2"), t3 = Login("agent3");  // after_sale: agent1, agent3
  for (const auto& t : {t1, t2, t3}) Online(t);
  auto ws1 = AgentWs(t1), ws2 = AgentWs(t2), ws3 = AgentWs(t3);
  ASSERT_TRUE(ws1 && ws2 && ws3);
  std::string a = NewConversation("C0002"), b = NewConversation("C0003"), g = NewConversation("C0004");
  json ra = Say(a, "我要投诉！你们的东西用了两天就坏了，太气人了");
  EXPECT_EQ(ra["reply"]["role"], "system");
  EXPECT_EQ(ra["reply"]["meta"]["event"], "assigned") << ra.dump();
  EXPECT_NE(ra["reply"]["text"].get<std::string>().find("为您服务"), std::string::npos);
  EXPECT_EQ(Call("GET", "/v1/conversations/" + a, nullptr, 200)["status"], "human");
  const std::string first = ra["reply"]["meta"]["agent"]["id"];
  json rb = Say(b, "你们太差劲了，我要投诉！");
  EXPECT_EQ(rb["reply"]["meta"]["event"], "assigned") << rb.dump();
  const std::string second = rb["reply"]["meta"]["agent"]["id"];
  // Both need after_sale: one each (the second goes to the one with fewer chats).
  EXPECT_EQ(std::set<std::string>({first, second}), std::set<std::string>({IdOf(t1), IdOf(t3)}));
  // A general handoff goes to agent2, the only one with no chat.
  json rg = Say(g, "转人工");
  EXPECT_EQ(rg["reply"]["meta"]["agent"]["id"], IdOf(t2)) << rg.dump();
  EXPECT_EQ(Mine(t2), std::set<std::string>({g}));
  EXPECT_EQ(Mine(t1).size() + Mine(t3).size(), 2u);
  // The assigned agent's screen got the conversation; nothing waits in a queue.
  auto& ws_first = first == IdOf(t1) ? *ws1 : *ws3;
  EXPECT_FALSE(WaitFrame(ws_first, [&](const json& f) {
                 return f["type"] == "assigned" && f["conversation"]["conversation"]["id"] == a;
               }).is_null());
  EXPECT_TRUE(Call("GET", "/v1/agent/queue", nullptr, 200, Bearer(t1))["items"].empty());
  // The agent replies at once (no accept) and the bot stays silent on the next turn.
  Call("POST", "/v1/agent/conversations/" + a + "/messages", {{"text", "您好，我来处理"}}, 200,
       Bearer(first == IdOf(t1) ? t1 : t3));
  json silent = Say(a, "好的");
  EXPECT_TRUE(silent["reply"].is_null()) << silent.dump();
}

TEST_F(AutoAssignTest, AWaitingConversationIsAssignedWhenASlotFreesOrAnAgentComesOnline) {
  Call("POST", "/v1/admin/agents",
       {{"username", "solo"}, {"name", "单线"}, {"password", "demo1234"}, {"skills", {"general"}}, {"max_chats", 1}},
       201, kAdmin);
  std::string ts = Login("solo");
  Online(ts);
  auto ws = AgentWs(ts);
  ASSERT_TRUE(ws);
  std::string c1 = NewConversation("C0005"), c2 = NewConversation("C0006"), c3 = NewConversation("C0007");
  EXPECT_EQ(Say(c1, "转人工")["reply"]["meta"]["event"], "assigned");
  json w2 = Say(c2, "转人工");  // solo is full: c2 waits with its place and estimated wait
  EXPECT_NE(w2["reply"]["text"].get<std::string>().find("正在为您转接人工客服"), std::string::npos) << w2.dump();
  EXPECT_EQ(Call("GET", "/v1/conversations/" + c2, nullptr, 200)["status"], "queued");
  Say(c3, "转人工");
  EXPECT_EQ(Call("GET", "/v1/conversations/" + c3, nullptr, 200)["status"], "queued");

  // solo closes c1: the oldest waiting one (c2) is assigned to solo at once.
  Call("POST", "/v1/agent/conversations/" + c1 + "/close", json::object(), 200, Bearer(ts));
  EXPECT_FALSE(WaitFrame(*ws, [&](const json& f) {
                 return f["type"] == "assigned" && f["conversation"]["conversation"]["id"] == c2;
               }).is_null());
  EXPECT_EQ(Mine(ts), std::set<std::string>({c2}));
  // The customer was told who serves them.
  json msgs = Call("GET", "/v1/conversations/" + c2 + "/messages", nullptr, 200);
  bool told = false;
  for (const auto& m : msgs["messages"])
    told |= m["role"] == "system" && m["text"] == "客服 单线 为您服务" && m["meta"]["auto"] == true;
  EXPECT_TRUE(told) << msgs.dump();

  // agent2 is online over REST only (no workspace connected): no chats for it.
  std::string t2 = Login("agent2");
  Online(t2);
  EXPECT_TRUE(Mine(t2).empty());
  EXPECT_EQ(Call("GET", "/v1/conversations/" + c3, nullptr, 200)["status"], "queued");
  // Its workspace connects: c3 (still waiting) goes to agent2 within the tick.
  auto ws2 = AgentWs(t2);
  ASSERT_TRUE(ws2);
  EXPECT_FALSE(WaitFrame(*ws2, [&](const json& f) {
                 return f["type"] == "assigned" && f["conversation"]["conversation"]["id"] == c3;
               }).is_null());
  EXPECT_EQ(Mine(t2), std::set<std::string>({c3}));
  EXPECT_EQ(Call("GET", "/v1/conversations/" + c3, nullptr, 200)["status"], "human");
  // A customer who closes a served conversation frees the slot (the tick assigns the next one).
  std::string c4 = NewConversation("C0008");
  Say(c4, "转人工");  // solo is full, agent2 has room: assigned to agent2
  EXPECT_EQ(Mine(t2).size(), 2u);
  ws2.reset();  // agent2's workspace goes away: nothing more for it
  // The server notices the closed socket asynchronously: wait until the
  // supervisor board shows agent2 without a workspace.
  const std::string tsup = Login("super");
  bool gone = false;
  const std::string id2 = IdOf(t2);
  for (int i = 0; i < 250 && !gone; ++i) {
    const json board = Call("GET", "/v1/supervisor/board", nullptr, 200, Bearer(tsup));
    for (const auto& a : board["agents"]) gone |= a["id"] == id2 && a["workspace_connected"] == false;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(gone);
  std::string c5 = NewConversation("C0009");
  Say(c5, "转人工");
  EXPECT_EQ(Call("GET", "/v1/conversations/" + c5, nullptr, 200)["status"], "queued");
  Call("POST", "/v1/conversations/" + c2 + "/close", json::object(), 200);  // the customer of solo's chat leaves
  EXPECT_FALSE(WaitFrame(*ws, [&](const json& f) {
                 return f["type"] == "assigned" && f["conversation"]["conversation"]["id"] == c5;
               }).is_null());
}

TEST_F(AgentsServerTest, ReplyDraftsNeedAnLlm) {
  std::string t1 = Login("agent1");
  Online(t1);
  std::string cid = Queued();
  EXPECT_EQ(Call("GET", "/v1/agent/conversations/" + cid + "/suggestions", nullptr, 200, Bearer(t1))["llm"], "off");
  json e = Call("POST", "/v1/agent/conversations/" + cid + "/drafts", json::object(), 503, Bearer(t1));
  EXPECT_NE(e["error"]["message"].get<std::string>().find("llm_off"), std::string::npos) << e.dump();
  json d = Call("GET", "/v1/agent/conversations/" + cid, nullptr, 200, Bearer(t1));
  EXPECT_EQ(d["handoff"]["summary_source"], "extractive");
}

// ---- LLM assist (fake OpenAI-compatible server) --------------------------------

class LlmAssistTest : public AgentsServerTest {
 protected:
  void Configure(Config& c) override {
    c.agents.assignment = "auto";
    c.llm.base_url = fake_.base_url();
    c.llm.model = "fake-model";
    c.llm.timeout_ms = 3000;
    c.llm.max_retries = 0;
    c.llm.retry_backoff_ms = 10;
  }
  testing::FakeOpenAiServer fake_;
};

TEST_F(LlmAssistTest, GeneratedHandoffSummaryIsPushedAndDraftsAreGrounded) {
  std::string t1 = Login("agent1");
  Online(t1);
  auto ws = AgentWs(t1);
  ASSERT_TRUE(ws);
  std::string cid = NewConversation("C0002");
  json r = Say(cid, "我要投诉！你们的东西用了两天就坏了，太气人了");  // no bot turn: routed to agent1 at once
  ASSERT_EQ(r["reply"]["meta"]["event"], "assigned") << r.dump();
  // The summary is written in the background and pushed as a handoff frame
  // (generous wait: once timed out at 5 s with the whole suite running on two cores).
  json h = WaitFrame(
      *ws, [&](const json& f) { return f["type"] == "handoff" && f["conversation_id"] == cid; }, 15000ms);
  ASSERT_FALSE(h.is_null());
  EXPECT_EQ(h["handoff"]["summary_source"], "llm");
  const std::string gen = h["handoff"]["generated_summary"];
  // The fake model echoes the prompt: the transcript reached it.
  EXPECT_NE(gen.find("我要投诉"), std::string::npos) << gen;
  EXPECT_FALSE(h["handoff"]["summary"].get<std::string>().empty()) << "the extractive summary stays";
  bool summary_prompt = false;
  for (const auto& q : fake_.Requests())
    summary_prompt |= q.json["messages"][0]["content"].get<std::string>().find("交接摘要") != std::string::npos;
  EXPECT_TRUE(summary_prompt);
  json detail = Call("GET", "/v1/agent/conversations/" + cid, nullptr, 200, Bearer(t1));
  EXPECT_EQ(detail["handoff"]["generated_summary"], gen) << "stored, not only pushed";

  EXPECT_EQ(Call("GET", "/v1/agent/conversations/" + cid + "/suggestions", nullptr, 200, Bearer(t1))["llm"],
            "available");
  const size_t before = fake_.RequestCount();
  fake_.Enqueue(testing::FakeReply::Json(R"(["非常抱歉给您带来不便，请提供订单号，我马上为您处理。", "商品质量问题支持7天无理由退换，我帮您登记。"])"));
  json d = Call("POST", "/v1/agent/conversations/" + cid + "/drafts", json::object(), 200, Bearer(t1));
  ASSERT_EQ(d["items"].size(), 2u) << d.dump();
  EXPECT_EQ(d["items"][0]["source"], "llm");
  EXPECT_EQ(d["items"][0]["text"], "非常抱歉给您带来不便，请提供订单号，我马上为您处理。");
  EXPECT_EQ(d["cached"], false);
  const std::string prompt = fake_.Requests().back().json["messages"][1]["content"];
  EXPECT_NE(prompt.find("知识库"), std::string::npos);
  EXPECT_NE(prompt.find("客户：我要投诉"), std::string::npos) << prompt;
  // Asked again with no new message: cached, no second model call.
  EXPECT_EQ(Call("POST", "/v1/agent/conversations/" + cid + "/drafts", json::object(), 200, Bearer(t1))["cached"], true);
  EXPECT_EQ(fake_.RequestCount(), before + 1);
  // Another agent may not ask for drafts of agent1's conversation.
  Call("POST", "/v1/agent/conversations/" + cid + "/drafts", json::object(), 403, Bearer(Login("agent2")));
  // The model failing: a clear 503, and the KB suggestions still answer.
  Say(cid, "还要等多久");
  // (Two errors: a background model call the new message starts may take the first.)
  fake_.Enqueue(testing::FakeReply::Error(500, "overloaded"));
  fake_.Enqueue(testing::FakeReply::Error(500, "overloaded"));
  Call("POST", "/v1/agent/conversations/" + cid + "/drafts", json::object(), 503, Bearer(t1));
  Call("GET", "/v1/agent/conversations/" + cid + "/suggestions", nullptr, 200, Bearer(t1));
}

// ---- Issue 14: ids from the CSPRNG seam; login throttling and the hash pool ----

// Conversation ids created over HTTP, and agent session tokens, are exactly
// bytes the crypto::RandomSource handed out (here recording the real one).
TEST_F(AgentsServerTest, ConversationIdsAndSessionTokensOverHttpComeFromTheRandomSource) {
  crypto::RecordingRandomSource recorder(&crypto::SystemRandomSource());
  std::vector<std::string> ids;
  std::string token;
  {
    crypto::ScopedRandomSourceForTesting scope(recorder);
    for (int i = 0; i < 5; ++i) ids.push_back(NewConversation());
    token = Login("agent1");
  }
  auto hex = recorder.HexDraws();
  std::set<std::string> handed(hex.begin(), hex.end());
  for (const auto& id : ids) {
    ASSERT_EQ(id.size(), 2u + 32u) << id;
    EXPECT_EQ(id.rfind("c_", 0), 0u) << id;
    EXPECT_TRUE(handed.count(id.substr(2))) << id << " was not drawn from the random source";
    Call("GET", "/v1/conversations/" + id + "/messages", nullptr, 200);  // and it works as an id
  }
  ASSERT_EQ(token.rfind("kat_", 0), 0u);
  EXPECT_TRUE(handed.count(token.substr(4))) << "the session token was not drawn from the random source";
}

std::string HeaderOf(const http::Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k.size() == name.size() &&
        std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
      return v;
  }
  return "";
}

class LoginThrottleTest : public AgentsServerTest {
 protected:
  void Configure(Config& c) override {
    c.agents.login_lockout_s = 2;  // short, so the test can wait it out
    c.agents.login_lockout_max_s = 4;
  }
  http::Response LoginAs(const std::string& username, const std::string& password) {
    json body = {{"tenant_id", "demo"}, {"username", username}, {"password", password}};
    auto r = Fetch(port_, "POST", "/v1/agent/login", body.dump(), {{"Content-Type", "application/json"}});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : http::Response{0, "", "", {}};
  }
  static void ExpectRateLimited(const http::Response& r) {
    EXPECT_EQ(r.status, 429) << r.body;
    EXPECT_EQ(json::parse(r.body, nullptr, false)["error"]["code"], "rate_limited") << r.body;
    std::string after = HeaderOf(r, "Retry-After");
    EXPECT_FALSE(after.empty()) << "429 without Retry-After";
    EXPECT_GE(std::atoi(after.c_str()), 1) << after;
  }
};

// 40 wrong passwords in a row for one account: 401 for the first 5, then 429
// with Retry-After (no hash); the right password is refused while locked and
// accepted once the lockout is over, which also resets the streak.
TEST_F(LoginThrottleTest, FortyWrongPasswordsLockTheAccountUntilTheLockoutEnds) {
  std::vector<int> statuses;
  http::Response last;
  for (int i = 0; i < 40; ++i) {
    last = LoginAs("agent1", "wrong-" + std::to_string(i));
    statuses.push_back(last.status);
    if (i >= 5) ExpectRateLimited(last);
  }
  EXPECT_EQ(std::count(statuses.begin(), statuses.begin() + 5, 401), 5);
  EXPECT_EQ(std::count(statuses.begin() + 5, statuses.end(), 429), 35);
  EXPECT_LE(std::atoi(HeaderOf(last, "Retry-After").c_str()), 2);

  http::Response right = LoginAs("agent1", "demo1234");
  ExpectRateLimited(right);
  int wait_s = std::atoi(HeaderOf(right, "Retry-After").c_str());
  ASSERT_GE(wait_s, 1);
  ASSERT_LE(wait_s, 2);
  // Another account from the same client is not locked (5 failures are far under the address limit of 20).
  EXPECT_EQ(LoginAs("agent2", "demo1234").status, 200);

  std::this_thread::sleep_for(std::chrono::seconds(wait_s) + 100ms);
  http::Response after = LoginAs("agent1", "demo1234");
  ASSERT_EQ(after.status, 200) << after.body;
  std::string token = json::parse(after.body)["token"];
  Call("GET", "/v1/agent/me", nullptr, 200, Bearer(token));
  // The success reset the streak: a wrong password is a plain 401 again, not a doubled lockout.
  EXPECT_EQ(LoginAs("agent1", "wrong-again").status, 401);
  EXPECT_EQ(LoginAs("agent1", "demo1234").status, 200);
}

// 40 wrong logins from one client on 40 different usernames: the address limit
// (20 per 5 minutes) answers the rest 429 with Retry-After, the right password
// of an untouched account included.
TEST_F(LoginThrottleTest, TwentyFailuresFromOneAddressThrottleEveryLoginFromIt) {
  int unauthorized = 0, limited = 0;
  for (int i = 0; i < 40; ++i) {
    http::Response r = LoginAs("nobody" + std::to_string(i), "wrong-password");
    if (r.status == 401) ++unauthorized;
    if (r.status == 429) {
      ++limited;
      ExpectRateLimited(r);
      int secs = std::atoi(HeaderOf(r, "Retry-After").c_str());
      EXPECT_GT(secs, 250) << "the address's window is 5 minutes";
      EXPECT_LE(secs, 300);
    }
  }
  EXPECT_EQ(unauthorized, 20);
  EXPECT_EQ(limited, 20);
  ExpectRateLimited(LoginAs("agent3", "demo1234"));
  // Over-long fields are refused at the edge, unhashed.
  EXPECT_EQ(LoginAs(std::string(65, 'x'), "pw").status, 400);
}

// The flood: 64 anonymous clients hammer wrong logins while an agent already
// logged in works. Hashing (argon2id at the production setting, 64 MiB) runs on
// its own bounded pool; a full pool answers 503 + Retry-After at once, so the
// agent's requests never wait behind hashes. The address limit is raised here
// so that the pool, not the limiter, carries the load (a flood from many
// addresses meets the pool the same way). Before issue 14 every agent request
// waited ~2 s behind the queued hashes.
class LoginFloodTest : public AgentsServerTest {
 protected:
  void Configure(Config& c) override {
    c.agents.pwhash_ops = 2;         // production: crypto_pwhash_OPSLIMIT_INTERACTIVE
    c.agents.pwhash_mem_kib = 65'536;  // production: 64 MiB
    c.agents.login_ip_max_failures = 1'000'000;
  }
};

TEST_F(LoginFloodTest, AgentRequestsStayFastWhileAnonymousClientsFloodTheLogin) {
  const std::string token = Login("agent1");
  ASSERT_FALSE(token.empty());
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::map<int, int> flood_statuses;  // status -> count (0 = no answer)
  std::vector<std::thread> flood;
  for (int c = 0; c < 64; ++c) {
    flood.emplace_back([&, c] {
      std::map<int, int> mine;
      for (int n = 0; !stop.load(); ++n) {
        // A new username each time: no account lockout, every attempt wants a hash.
        json body = {{"tenant_id", "demo"}, {"username", "flood" + std::to_string(c) + "_" + std::to_string(n)},
                     {"password", "wrong-password"}};
        auto r = Fetch(port_, "POST", "/v1/agent/login", body.dump(), {{"Content-Type", "application/json"}},
                       10'000ms);
        mine[r.ok() ? r->status : 0]++;
        // Retrying a refused login after 25 ms keeps the hash queue full all the
        // same, with a few thousand new connections a second rather than ~7,000
        // (no pause measured the same agent latencies; it only strains the
        // test machine's ephemeral ports).
        if (r.ok() && r->status == 503) std::this_thread::sleep_for(25ms);
      }
      std::lock_guard lock(mu);
      for (auto [k, v] : mine) flood_statuses[k] += v;
    });
  }
  std::this_thread::sleep_for(300ms);  // let the flood fill the hash pool
  std::vector<double> ms;
  int answered = 0, requests = 0;
  const char* paths[] = {"/v1/agent/me", "/v1/agent/queue", "/v1/agent/conversations", "/v1/agent/canned"};
  const auto end = std::chrono::steady_clock::now() + 2500ms;
  while (std::chrono::steady_clock::now() < end) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = Fetch(port_, "GET", paths[requests % 4], "", Bearer(token), 10'000ms);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    ++requests;
    if (r.ok() && r->status == 200) ++answered;
    std::this_thread::sleep_for(20ms);
  }
  stop = true;
  for (auto& t : flood) t.join();

  std::sort(ms.begin(), ms.end());
  const double p50 = ms[ms.size() / 2], p95 = ms[ms.size() * 95 / 100], max = ms.back();
  std::string flood_text;
  for (auto [k, v] : flood_statuses) {
    char item[32];
    std::snprintf(item, sizeof item, " %d:%d", k, v);
    flood_text += item;
  }
  std::printf("[login flood] agent requests %d (answered %d): p50 %.1f ms, p95 %.1f ms, max %.1f ms; "
              "flood answers by status:%s\n",
              requests, answered, p50, p95, max, flood_text.c_str());
  EXPECT_EQ(answered, requests) << "every agent request answered 200";
  EXPECT_GE(requests, 20);
  EXPECT_LT(p50, 300.0) << "agent requests waited behind password hashes";
  EXPECT_GT(flood_statuses[401], 0) << "the flood was hashed";
  EXPECT_GT(flood_statuses[503], 0) << "the hash pool's queue bound was reached";
  EXPECT_EQ(flood_statuses[0], 0) << "every flood request answered";
  // The pool drains: a real login works again right after.
  EXPECT_FALSE(Login("agent2").empty());
}

}  // namespace
}  // namespace kefu
