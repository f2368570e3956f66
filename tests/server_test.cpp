// Integration tests of the whole server: ServerApp with the demo tenant on
// port 0, a temporary data dir (real SQLite), real HTTP, WebSocket and SSE.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <set>
#include <thread>

#include "api/openapi.h"
#include "nlu/analyzer.h"
#include "nlu/classifier.h"
#include "support/test_server.h"
#include "http/testing.h"

namespace kefu {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using http::testing::Fetch;
using http::testing::Headers;
using http::testing::WsClient;

const Headers kWidget = {{"X-Kefu-Widget-Key", "demo"}, {"Content-Type", "application/json"}};
const Headers kAdmin = {{"Authorization", "Bearer demo-admin-key"}};

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = testing::FreshTestDir("server_test");
    Config cfg = testing::TestConfig(dir_, "warn");
    cfg.server.max_body_bytes = 64 * 1024;
    // These tests play a channel that authenticates its customers itself (as the
    // demo's customer picker): the claimed customer_id is trusted.
    cfg.dialogue.require_verified_customer = false;
    auto a = testing::StartServer(cfg);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    app_ = std::move(*a);
    port_ = app_->port();
  }
  static void TearDownTestSuite() {
    app_.reset();
    fs::remove_all(dir_);
  }

  static json Call(const std::string& method, const std::string& target, const json& body, int expect,
                   const Headers& h = kWidget) {
    auto r = Fetch(port_, method, target, body.is_null() ? "" : body.dump(), h);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
    EXPECT_EQ(r->status, expect) << method << " " << target << " -> " << r->body;
    return json::parse(r->body, nullptr, false);
  }

  static std::string NewConversation(const std::string& customer = "C0001") {
    json c = Call("POST", "/v1/conversations", {{"customer_id", customer}, {"channel", "web"}}, 201);
    return c.value("id", "");
  }

  static inline fs::path dir_;
  static inline std::unique_ptr<app::ServerApp> app_;
  static inline int port_ = 0;
};

TEST_F(ServerTest, HealthMetricsAndOpenApi) {
  json h = Call("GET", "/healthz", nullptr, 200);
  EXPECT_EQ(h["status"], "ok");
  auto m = Fetch(port_, "GET", "/metrics");
  ASSERT_TRUE(m.ok());
  EXPECT_NE(m->body.find("kefu_open_conversations"), std::string::npos);
  EXPECT_NE(m->body.find("kefu_http_requests_total"), std::string::npos);
}

TEST_F(ServerTest, EveryServedRouteIsDocumentedAndViceVersa) {
  std::set<std::string> served, documented;
  for (const auto& r : app_->Routes()) served.insert(r);
  const json doc = api::OpenApiDocument();
  for (auto p = doc["paths"].begin(); p != doc["paths"].end(); ++p)
    for (auto m = p.value().begin(); m != p.value().end(); ++m) {
      std::string method = m.key();
      for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      documented.insert(method + " " + p.key());
    }
  EXPECT_EQ(served, documented);
  // The document served is the same one.
  json served_doc = Call("GET", "/openapi.json", nullptr, 200);
  EXPECT_EQ(served_doc, doc);
}

TEST_F(ServerTest, AnswersOrderTrackingWithLiveDataAndCarriesContext) {
  std::string id = NewConversation("C0001");
  json r = Call("POST", "/v1/conversations/" + id + "/messages", {{"client_msg_id", "t1"}, {"text", "我的订单到哪了"}}, 200);
  EXPECT_EQ(r["message"]["role"], "customer");
  EXPECT_EQ(r["reply"]["role"], "bot");
  EXPECT_EQ(r["reply"]["reply_to"], r["message"]["id"]);
  std::string text = r["reply"]["text"];
  EXPECT_NE(text.find("SO2026"), std::string::npos) << text;
  EXPECT_NE(text.find("运单号"), std::string::npos) << text;
  json follow = Call("POST", "/v1/conversations/" + id + "/messages",
                     {{"client_msg_id", "t2"}, {"text", "那它什么时候到？"}}, 200);
  EXPECT_EQ(follow["reply"]["meta"]["order_id"], r["reply"]["meta"]["order_id"]) << follow.dump();
}

TEST_F(ServerTest, RetryWithSameClientMsgIdNeverDuplicates) {
  std::string id = NewConversation();
  json a = Call("POST", "/v1/conversations/" + id + "/messages", {{"client_msg_id", "dup-1"}, {"text", "多久发货"}}, 200);
  json b = Call("POST", "/v1/conversations/" + id + "/messages", {{"client_msg_id", "dup-1"}, {"text", "多久发货"}}, 200);
  EXPECT_FALSE(a["duplicate"].get<bool>());
  EXPECT_TRUE(b["duplicate"].get<bool>());
  EXPECT_EQ(a["message"]["id"], b["message"]["id"]);
  EXPECT_EQ(a["reply"]["id"], b["reply"]["id"]);
  json list = Call("GET", "/v1/conversations/" + id + "/messages", nullptr, 200);
  EXPECT_EQ(list["messages"].size(), 2u);
}

TEST_F(ServerTest, WebSocketAckReplyAndReplayAfterReconnect) {
  std::string id = NewConversation();
  auto ws = WsClient::Connect(port_, "/v1/conversations/" + id + "/ws?widget_key=demo");
  ASSERT_TRUE(ws.ok()) << ws.status().ToString();
  ASSERT_TRUE((*ws)->Send(json{{"type", "message"}, {"client_msg_id", "w1"}, {"text", "退货运费谁出"}}.dump()).ok());
  bool acked = false, replied = false;
  int64_t last_seq = 0;
  for (int i = 0; i < 10 && !(acked && replied); ++i) {
    auto f = (*ws)->Receive();
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    json j = json::parse(*f);
    if (j["type"] == "ack") {
      acked = true;
      EXPECT_EQ(j["client_msg_id"], "w1");
    }
    if (j["type"] == "message") {
      last_seq = std::max<int64_t>(last_seq, j["message"]["seq"]);
      if (j["message"]["role"] == "bot") replied = true;
    }
  }
  EXPECT_TRUE(acked);
  EXPECT_TRUE(replied);
  EXPECT_TRUE((*ws)->Close().ok());
  // Reconnect from seq 1: exactly the messages after it are replayed.
  auto ws2 = WsClient::Connect(port_, "/v1/conversations/" + id + "/ws?widget_key=demo&after_seq=1");
  ASSERT_TRUE(ws2.ok());
  auto f = (*ws2)->Receive();
  ASSERT_TRUE(f.ok());
  json j = json::parse(*f);
  EXPECT_EQ(j["type"], "message");
  EXPECT_EQ(j["message"]["seq"], 2);
  // A ping is answered; a malformed frame gets an error frame, not a crash.
  ASSERT_TRUE((*ws2)->Send("{not json").ok());
  auto e = (*ws2)->Receive();
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(json::parse(*e)["code"], "invalid_json");
  ASSERT_TRUE((*ws2)->Send(R"({"type":"ping"})").ok());
  auto p = (*ws2)->Receive();
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(json::parse(*p)["type"], "pong");
}

TEST_F(ServerTest, ServerSentEventsStreamReplies) {
  std::string id = NewConversation();
  auto sse = http::testing::SseClient::Connect(port_, "/v1/conversations/" + id + "/events?widget_key=demo");
  ASSERT_TRUE(sse.ok()) << sse.status().ToString();
  Call("POST", "/v1/conversations/" + id + "/messages?wait=false", {{"client_msg_id", "s1"}, {"text", "你好"}}, 202);
  bool bot = false;
  for (int i = 0; i < 6 && !bot; ++i) {
    auto ev = (*sse)->Next();
    ASSERT_TRUE(ev.ok()) << ev.status().ToString();
    if (ev->event == "message" && json::parse(ev->data)["role"] == "bot") bot = true;
  }
  EXPECT_TRUE(bot);
}

TEST_F(ServerTest, BadInputGetsClearErrors) {
  std::string id = NewConversation();
  std::string path = "/v1/conversations/" + id + "/messages";
  auto bad_json = Fetch(port_, "POST", path, "{\"text\": ", kWidget);
  ASSERT_TRUE(bad_json.ok());
  EXPECT_EQ(bad_json->status, 400);
  EXPECT_EQ(json::parse(bad_json->body)["error"]["code"], "invalid_json");
  auto bad_utf8 = Fetch(port_, "POST", path, "{\"client_msg_id\":\"x\",\"text\":\"\xff\xfe\"}", kWidget);
  ASSERT_TRUE(bad_utf8.ok());
  EXPECT_EQ(bad_utf8->status, 400);
  EXPECT_EQ(json::parse(bad_utf8->body)["error"]["code"], "invalid_utf8");
  auto big = Fetch(port_, "POST", path, std::string(100 * 1024, 'a'), kWidget);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(json::parse(big->body)["error"]["code"], "payload_too_large");
  Call("POST", path, {{"client_msg_id", "e1"}, {"text", "   "}}, 400);
  Call("POST", path, {{"client_msg_id", "bad id!"}, {"text", "hi"}}, 400);
  Call("POST", path, {{"text", "hi"}}, 400);
  Call("POST", "/v1/conversations/c_doesnotexist/messages", {{"client_msg_id", "e2"}, {"text", "hi"}}, 404);
  Call("POST", path, {{"client_msg_id", "e3"}, {"text", "hi"}}, 401, {{"Content-Type", "application/json"}});
  Call("POST", path, {{"client_msg_id", "e3"}, {"text", "hi"}}, 401, {{"X-Kefu-Widget-Key", "nope"}});
  Call("POST", "/v1/conversations", {{"customer_id", ""}}, 400);
  Call("POST", "/v1/conversations", {{"customer_id", "C1"}, {"channel", "fax"}}, 400);
  Call("GET", path + "?limit=0", nullptr, 400);
  Call("POST", "/v1/conversations/" + id + "/close", nullptr, 200);
  json closed = Call("POST", path, {{"client_msg_id", "e4"}, {"text", "hi"}}, 409);
  EXPECT_EQ(closed["error"]["code"], "conflict");
  auto nf = Fetch(port_, "GET", "/v1/nope");
  ASSERT_TRUE(nf.ok());
  EXPECT_EQ(nf->status, 404);
}

TEST_F(ServerTest, AdminKnowledgeBaseLiveUpdateAndTools) {
  Call("GET", "/v1/kb/search?q=%E5%8F%91%E7%A5%A8", nullptr, 401, {});
  json s = Call("GET", "/v1/kb/search?q=%E5%8F%91%E7%A5%A8&top_k=3", nullptr, 200, kAdmin);
  ASSERT_FALSE(s["passages"].empty());
  EXPECT_GT(s["passages"][0]["score"].get<double>(), 0);

  // A new entry answers customers at once, without a restart.
  Headers put_h = kAdmin;
  put_h.push_back({"Content-Type", "application/json"});
  Call("PUT", "/v1/kb/entries/kb-test-ufo",
       {{"title", "可以用飞碟配送吗？"}, {"body", "暂不支持飞碟配送，敬请期待星际物流。"}, {"questions", {"飞碟配送"}}},
       200, put_h);
  std::string id = NewConversation();
  json r = Call("POST", "/v1/conversations/" + id + "/messages", {{"client_msg_id", "k1"}, {"text", "能用飞碟配送吗"}}, 200);
  EXPECT_NE(r["reply"]["text"].get<std::string>().find("星际物流"), std::string::npos) << r.dump();
  Call("DELETE", "/v1/kb/entries/kb-test-ufo", nullptr, 200, kAdmin);
  Call("GET", "/v1/kb/entries/kb-test-ufo", nullptr, 404, kAdmin);

  auto imp = Fetch(port_, "POST", "/v1/kb/import?format=md",
                   "# 测试\n\n## 月球能发货吗？\nid: kb-test-moon\n\n月球暂不在配送范围内。\n\n## 空条目\n\n", kAdmin);
  ASSERT_TRUE(imp.ok());
  EXPECT_EQ(imp->status, 200) << imp->body;
  json report = json::parse(imp->body);
  EXPECT_EQ(report["imported"], 1);
  ASSERT_EQ(report["errors"].size(), 1u);
  EXPECT_GT(report["errors"][0]["line"].get<int>(), 0);

  json tools = Call("GET", "/v1/tools", nullptr, 200, kAdmin);
  EXPECT_GE(tools["tools"].size(), 4u);
  json order = Call("POST", "/v1/tools/list_orders?customer_id=C0001", json::object(), 200, kAdmin);
  EXPECT_GT(order["count"].get<int>(), 0);
  Call("POST", "/v1/tools/get_order", {{"order_id", 5}}, 400, kAdmin);
  Call("POST", "/v1/tools/no_such_tool", json::object(), 404, kAdmin);
}

TEST_F(ServerTest, EveryCustomerTurnIsAnalysedAndStored) {
  std::string id = NewConversation();
  json r = Call("POST", "/v1/conversations/" + id + "/messages",
                {{"client_msg_id", "a1"}, {"text", "你们太垃圾了！！！东西坏了三次，我要投诉，马上退款！"}}, 200);
  const json& a = r["message"]["meta"]["analysis"];
  ASSERT_TRUE(a.is_object()) << r.dump();
  EXPECT_EQ(a["language"], "zh");
  EXPECT_EQ(a["sentiment"], "negative");
  bool complaint = false;
  for (const auto& u : a["urgency"]) complaint |= u == "keyword:投诉";
  EXPECT_TRUE(complaint) << a.dump();
  // The analysis is stored: the history returns it too.
  json list = Call("GET", "/v1/conversations/" + id + "/messages", nullptr, 200);
  EXPECT_EQ(list["messages"][0]["meta"]["analysis"], a);
}

TEST_F(ServerTest, WidgetConfigListsDemoCustomers) {
  json c = Call("GET", "/v1/widget/config", nullptr, 200);
  EXPECT_EQ(c["name"], "示例商城");
  EXPECT_FALSE(c["demo_customers"].empty());
  Call("GET", "/v1/widget/config?widget_key=wrong", nullptr, 401, {});
}


// [nlu] names the models the server loads: a named model that does not load
// (missing, or of another task) stops start-up with a message naming it, and
// intent_model = "-" serves without intents.
TEST(ServerNluConfig, NamedModelsLoadOrStopStartUp) {
  const fs::path dir = testing::FreshTestDir("server_nlu_test");
  Config cfg = testing::TestConfig(dir, "warn");
  cfg.nlu.sentiment_model = (dir / "no_such.kmodel").string();
  auto missing = testing::StartServer(cfg);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("[nlu]"), std::string::npos) << missing.status().ToString();
  EXPECT_NE(missing.status().message().find("no_such.kmodel"), std::string::npos) << missing.status().ToString();
  cfg.nlu.sentiment_model = nlu::DefaultModelDir() + "/emotion.kmodel";  // another task's model
  auto wrong_task = testing::StartServer(cfg);
  ASSERT_FALSE(wrong_task.ok());
  EXPECT_NE(wrong_task.status().message().find("[nlu]"), std::string::npos) << wrong_task.status().ToString();

  cfg.nlu = NluConfig{};
  cfg.nlu.sentiment_model = nlu::DefaultModelDir() + "/sentiment.kmodel";
  cfg.nlu.intent_model = "-";
  auto a = testing::StartServer(cfg);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  const int port = (*a)->port();
  auto c = Fetch(port, "POST", "/v1/conversations", json{{"customer_id", "C0001"}, {"channel", "web"}}.dump(), kWidget);
  ASSERT_TRUE(c.ok() && c->status == 201) << (c.ok() ? c->body : c.status().ToString());
  const std::string id = json::parse(c->body)["id"];
  auto r = Fetch(port, "POST", "/v1/conversations/" + id + "/messages",
                 json{{"client_msg_id", "n1"}, {"text", "东西坏了，我要投诉，马上退款！"}}.dump(), kWidget);
  ASSERT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.status().ToString());
  const json an = json::parse(r->body)["message"]["meta"]["analysis"];
  EXPECT_EQ(an["sentiment"], "negative") << an.dump();
  EXPECT_EQ(an["intent"], "") << an.dump();  // no intent model: no intent, not a guess
  a->reset();

  // tenant_intents_dir: <tenant>.kmodel is that tenant's own intent model.
  std::vector<nlu::LabeledExample> ex;
  for (const char* t : {"我要退款", "申请退款", "退款什么时候到账", "怎么退钱", "钱能退回来吗", "帮我退款"})
    ex.push_back({t, "demo_own_refund"});
  for (const char* t : {"你好", "在吗", "有人吗", "您好", "哈喽", "早上好"}) ex.push_back({t, "demo_own_hello"});
  auto m = nlu::Classifier::Train(nlu::Task::kIntent, ex, nlu::DefaultTrainOptions(nlu::Task::kIntent, "zh"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  fs::create_directories(dir / "intents");
  ASSERT_TRUE((*m)->Save((dir / "intents" / "demo.kmodel").string()).ok());
  cfg.nlu = NluConfig{};
  cfg.nlu.tenant_intents_dir = (dir / "intents").string();
  auto b = testing::StartServer(cfg);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  auto c2 = Fetch((*b)->port(), "POST", "/v1/conversations", json{{"customer_id", "C0001"}, {"channel", "web"}}.dump(),
                  kWidget);
  ASSERT_TRUE(c2.ok() && c2->status == 201);
  auto r2 = Fetch((*b)->port(), "POST", "/v1/conversations/" + json::parse(c2->body)["id"].get<std::string>() + "/messages",
                  json{{"client_msg_id", "n2"}, {"text", "我想申请退款"}}.dump(), kWidget);
  ASSERT_TRUE(r2.ok() && r2->status == 200) << (r2.ok() ? r2->body : r2.status().ToString());
  EXPECT_EQ(json::parse(r2->body)["message"]["meta"]["analysis"]["intent"], "demo_own_refund") << r2->body;
  b->reset();
  cfg.nlu.tenant_intents_dir = (dir / "no_such_dir").string();
  EXPECT_FALSE(testing::StartServer(cfg).ok());
  // tenant_sentiment_dir: a file of another task stops start-up, naming the tenant.
  cfg.nlu = NluConfig{};
  fs::create_directories(dir / "sentiment");
  ASSERT_TRUE((*m)->Save((dir / "sentiment" / "demo.kmodel").string()).ok());  // an intent model
  cfg.nlu.tenant_sentiment_dir = (dir / "sentiment").string();
  auto wrong = testing::StartServer(cfg);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("sentiment model of tenant demo"), std::string::npos)
      << wrong.status().ToString();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kefu
