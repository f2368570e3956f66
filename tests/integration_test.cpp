// Integration between modules over the whole server (ServerApp with the demo
// tenant plus a second tenant "other", port 0, a temporary data dir, real
// SQLite, HTTP, WebSockets and SSE):
// - the agent workspace's customer panel carries the data hub's 360° profile;
// - a new inbox message is pushed to the customer's open conversation streams
//   and to nobody else's.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "api/pii.h"
#include "api/tenants.h"
#include "app/schema.h"
#include "support/test_server.h"
#include "common/clock.h"
#include "http/testing.h"

namespace kefu {
namespace {

namespace fs = std::filesystem;
using http::testing::Fetch;
using http::testing::Headers;
using http::testing::SseClient;
using http::testing::WsClient;
using nlohmann::json;
using namespace std::chrono_literals;

const Headers kWidget = {{"X-Kefu-Widget-Key", "demo"}, {"Content-Type", "application/json"}};
const Headers kOtherWidget = {{"X-Kefu-Widget-Key", "other-widget"}, {"Content-Type", "application/json"}};
const Headers kAdmin = {{"Authorization", "Bearer demo-admin-key"}, {"Content-Type", "application/json"}};
const Headers kOtherAdmin = {{"Authorization", "Bearer other-admin-key"}, {"Content-Type", "application/json"}};

class IntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = testing::FreshTestDir("integration_test");
    {  // a second tenant with its own keys, before the server starts
      auto db = storage::OpenWithSchema((dir_ / "kefu.db").string(), app::Schema());
      ASSERT_TRUE(db.ok()) << db.status().ToString();
      FakeClock clock;
      api::TenantDirectory dir(**db, clock);
      ASSERT_TRUE(dir.Ensure("other", "Other shop", "other-widget").ok());
      ASSERT_TRUE(dir.AddApiKey("other", "other-admin-key", "test").ok());
    }
    auto a = testing::StartServer(testing::TestConfig(dir_));
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    app_ = std::move(*a);
    port_ = app_->port();
  }
  static void TearDownTestSuite() {
    app_.reset();
    fs::remove_all(dir_);
  }

  static json Call(const std::string& method, const std::string& target, const json& body, int expect,
                   const Headers& h) {
    auto r = Fetch(port_, method, target, body.is_null() ? "" : body.dump(), h);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
    EXPECT_EQ(r->status, expect) << method << " " << target << " -> " << r->body;
    return json::parse(r->body, nullptr, false);
  }
  static std::string NewConversation(const std::string& customer, const Headers& h = kWidget) {
    return Call("POST", "/v1/conversations", {{"customer_id", customer}, {"channel", "web"}}, 201, h).value("id", "");
  }
  // A customer WebSocket with its replay drained (a new conversation may hold a greeting).
  static std::unique_ptr<WsClient> CustomerWs(const std::string& cid, const std::string& widget_key = "demo") {
    auto ws = WsClient::Connect(port_, "/v1/conversations/" + cid + "/ws", {{"X-Kefu-Widget-Key", widget_key}});
    EXPECT_TRUE(ws.ok()) << ws.status().ToString();
    if (!ws.ok()) return nullptr;
    while ((*ws)->Receive(300ms).ok()) {
    }
    return std::move(*ws);
  }
  // The next frame of `type`, skipping others; null on timeout.
  static json WaitType(WsClient& ws, const std::string& type, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      auto f = ws.Receive(std::max(left, 1ms));
      if (!f.ok()) break;
      json j = json::parse(*f, nullptr, false);
      if (j.value("type", "") == type) return j;
    }
    return nullptr;
  }
  static json Send(const std::string& customer, const std::string& title, const Headers& h = kAdmin) {
    return Call("POST", "/v1/inbox/messages",
                {{"customer_id", customer}, {"kind", "notice"}, {"title", title}, {"body", "正文：" + title}}, 201,
                h);
  }

  static inline fs::path dir_;
  static inline std::unique_ptr<app::ServerApp> app_;
  static inline int port_ = 0;
};

TEST_F(IntegrationTest, CustomerPanelCarriesTheProfile) {
  json login = Call("POST", "/v1/agent/login", {{"tenant_id", "demo"}, {"username", "agent1"}, {"password", "demo1234"}},
                    200, {{"Content-Type", "application/json"}});
  const Headers agent = {{"Authorization", "Bearer " + login.value("token", "")}};
  json panel = Call("GET", "/v1/agent/customers/C0001", nullptr, 200, agent);
  // The panel's own fields stay.
  EXPECT_EQ(panel["customer"]["id"], "C0001");
  EXPECT_TRUE(panel["orders"].is_array());
  EXPECT_TRUE(panel["conversations"].is_array());
  // The 360° profile is the data hub's, for the same customer.
  const json& p = panel["profile"];
  ASSERT_TRUE(p.is_object()) << panel.dump();
  json direct = Call("GET", "/v1/customers/C0001/profile", nullptr, 200, kAdmin);
  EXPECT_EQ(p["customer_id"], "C0001");
  EXPECT_EQ(p["demographics"]["name"], "张伟");
  EXPECT_EQ(p["open_tickets"].size(), 1u);
  EXPECT_FALSE(p["recent_browsing"].empty());
  EXPECT_FALSE(p["recent_transactions"].empty());
  EXPECT_TRUE(p["value"]["rfm"].contains("segment"));
  EXPECT_EQ(p["value"], direct["value"]);
  // An agent sees the identities masked (docs/agents.md); the API key sees them in full.
  json masked = direct;
  api::pii::MaskPersonalData(masked);
  EXPECT_EQ(p["identities"], masked["identities"]);
  EXPECT_NE(p["identities"], direct["identities"]);

  // A record merged into C0003: its panel shows the whole cluster's profile.
  json rec = {{"source", "app"},
              {"records", json::array({{{"id", "APP-7001"}, {"name", "李娜"}, {"phone", "15001873364"}}})}};
  Call("POST", "/v1/ingest/customers", rec, 200, kAdmin);
  json merged = Call("GET", "/v1/agent/customers/APP-7001", nullptr, 200, agent);
  EXPECT_EQ(merged["customer"]["id"], "APP-7001");
  EXPECT_EQ(merged["profile"]["customer_id"], "C0003") << merged["profile"].dump();
  EXPECT_EQ(merged["profile"]["merged_ids"], json::array({"APP-7001"}));
  Call("GET", "/v1/agent/customers/NOPE", nullptr, 404, agent);
}

TEST_F(IntegrationTest, MyOrdersCoverEveryRecordOfAMergedCustomer) {
  // The same person in the CRM and, later, in the app (same phone: merged); the order was placed in the app.
  Call("POST", "/v1/ingest/customers",
       {{"source", "crm"}, {"records", json::array({{{"id", "CRM-9001"}, {"name", "周敏"}, {"phone", "13700009001"}}})}},
       200, kAdmin);
  Call("POST", "/v1/ingest/customers",
       {{"source", "app"}, {"records", json::array({{{"id", "APP-9001"}, {"name", "周敏"}, {"phone", "13700009001"}}})}},
       200, kAdmin);
  json order = {{"id", "SO209900000001"}, {"customer_id", "APP-9001"}, {"status", "shipped"}, {"total_cents", 269900},
                {"items", json::array({{{"product_id", "P1001"}, {"qty", 1}, {"price_cents", 269900}}})},
                {"carrier", "顺丰速运"}, {"tracking_no", "SF9001"}, {"created_ms", SystemClock::Instance().NowMs()}};
  json ingested = Call("POST", "/v1/ingest/orders", {{"source", "erp"}, {"records", json::array({order})}}, 200, kAdmin);
  ASSERT_EQ(ingested["accepted"], 1) << ingested.dump();

  // The hotline call resolves the phone to the CRM record; "my order" finds the app order. The phone
  // gateway vouches for the caller's number with the tenant's API key (a verified conversation).
  json conv = Call("POST", "/v1/conversations", {{"identity", {{"kind", "phone"}, {"value", "13700009001"}}}, {"channel", "phone"}},
                   201, kAdmin);
  EXPECT_EQ(conv["customer_verified"], true);
  const std::string cid = conv.value("id", "");
  json r = Call("POST", "/v1/conversations/" + cid + "/messages", {{"client_msg_id", "o1"}, {"text", "我的订单到哪了"}}, 200,
                kWidget);
  EXPECT_NE(r["reply"]["text"].get<std::string>().find("SO209900000001"), std::string::npos) << r.dump();
  json named = Call("POST", "/v1/conversations/" + cid + "/messages",
                    {{"client_msg_id", "o2"}, {"text", "订单SO209900000001什么时候到"}}, 200, kWidget);
  EXPECT_EQ(named["reply"]["text"].get<std::string>().find("没有找到"), std::string::npos) << named.dump();
  EXPECT_NE(named["reply"]["text"].get<std::string>().find("SO209900000001"), std::string::npos) << named.dump();

  // Another (verified) customer still cannot see it.
  std::string other = NewConversation("C0002", kAdmin);
  json stranger = Call("POST", "/v1/conversations/" + other + "/messages",
                       {{"client_msg_id", "o3"}, {"text", "订单SO209900000001到哪了"}}, 200, kWidget);
  EXPECT_EQ(stranger["reply"]["text"].get<std::string>().find("顺丰"), std::string::npos) << stranger.dump();
}

TEST_F(IntegrationTest, InboxMessagesReachOnlyTheCustomersOpenStreams) {
  std::string c1 = NewConversation("C0004");
  std::string c1b = NewConversation("C0004");  // a second open conversation of the same customer
  std::string c2 = NewConversation("C0005");
  std::string o1 = NewConversation("C0004", kOtherWidget);  // the same customer id in another tenant
  auto ws1 = CustomerWs(c1), ws1b = CustomerWs(c1b), ws2 = CustomerWs(c2), wso = CustomerWs(o1, "other-widget");
  ASSERT_TRUE(ws1 && ws1b && ws2 && wso);
  auto sse = SseClient::Connect(port_, "/v1/conversations/" + c1 + "/events", {{"X-Kefu-Widget-Key", "demo"}});
  ASSERT_TRUE(sse.ok()) << sse.status().ToString();
  // The stream subscribes just after its headers go out: once it carries a message of c1
  // (live or replayed, both after the subscription), it is subscribed.
  Call("POST", "/v1/conversations/" + c1 + "/messages", {{"client_msg_id", "sync-1"}, {"text", "你好"}}, 200, kWidget);
  for (bool synced = false; !synced;) {
    auto e = (*sse)->Next(5000ms);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    synced = e->event == "message";
  }

  json sent = Send("C0004", "订单已退款");
  json f = WaitType(*ws1, "inbox", 5000ms);
  ASSERT_TRUE(f.is_object()) << "no inbox frame";
  EXPECT_EQ(f["message"]["id"], sent["message"]["id"]);
  EXPECT_EQ(f["message"]["title"], "订单已退款");
  EXPECT_EQ(f["message"]["customer_id"], "C0004");
  EXPECT_EQ(WaitType(*ws1b, "inbox", 5000ms)["message"]["id"], sent["message"]["id"]);
  bool got_sse = false;
  for (int i = 0; i < 20 && !got_sse; ++i) {
    auto e = (*sse)->Next(5000ms);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    if (e->event != "inbox") continue;
    got_sse = true;
    EXPECT_EQ(json::parse(e->data)["title"], "订单已退款");
  }
  EXPECT_TRUE(got_sse);
  // Not a chat message: the conversation's history is unchanged by it.
  json msgs = Call("GET", "/v1/conversations/" + c1 + "/messages", nullptr, 200, kWidget);
  for (const auto& m : msgs["messages"]) EXPECT_EQ(m["text"].get<std::string>().find("订单已退款"), std::string::npos);
  // A repeat with the same idempotency key creates nothing and pushes nothing.
  json keyed = {{"customer_id", "C0004"}, {"kind", "notice"}, {"title", "一次"}, {"body", "b"}, {"idempotency_key", "k1"}};
  Call("POST", "/v1/inbox/messages", keyed, 201, kAdmin);
  EXPECT_EQ(WaitType(*ws1, "inbox", 5000ms)["message"]["title"], "一次");
  Call("POST", "/v1/inbox/messages", keyed, 200, kAdmin);
  EXPECT_TRUE(WaitType(*ws1, "inbox", 500ms).is_null());

  // Another customer's socket and the other tenant's C0004 got nothing.
  EXPECT_TRUE(WaitType(*ws2, "inbox", 500ms).is_null());
  EXPECT_TRUE(WaitType(*wso, "inbox", 500ms).is_null());
  // ...until their own messages arrive.
  Send("C0005", "给 C0005");
  EXPECT_EQ(WaitType(*ws2, "inbox", 5000ms)["message"]["title"], "给 C0005");
  Send("C0004", "other 的消息", kOtherAdmin);
  json of = WaitType(*wso, "inbox", 5000ms);
  EXPECT_EQ(of["message"]["title"], "other 的消息");
  EXPECT_TRUE(WaitType(*ws1, "inbox", 500ms).is_null());

  // A merged customer: a message to either record reaches the conversations of both.
  json rec = {{"source", "app"},
              {"records", json::array({{{"id", "APP-7002"}, {"name", "李娜"}, {"phone", "15001873364"}}})}};
  Call("POST", "/v1/ingest/customers", rec, 200, kAdmin);
  auto wsr = CustomerWs(NewConversation("C0003")), wsm = CustomerWs(NewConversation("APP-7002"));
  ASSERT_TRUE(wsr && wsm);
  Send("C0003", "给根记录");
  EXPECT_EQ(WaitType(*wsm, "inbox", 5000ms)["message"]["title"], "给根记录");
  EXPECT_EQ(WaitType(*wsr, "inbox", 5000ms)["message"]["title"], "给根记录");
  Send("APP-7002", "给合并记录");
  EXPECT_EQ(WaitType(*wsr, "inbox", 5000ms)["message"]["title"], "给合并记录");
  EXPECT_EQ(WaitType(*wsm, "inbox", 5000ms)["message"]["title"], "给合并记录");
  EXPECT_TRUE(WaitType(*ws1, "inbox", 300ms).is_null());

  // A closed socket is unsubscribed: later messages still reach the others.
  EXPECT_TRUE(ws1b->Close().ok());
  ws1b.reset();
  Send("C0004", "再来一条");
  EXPECT_EQ(WaitType(*ws1, "inbox", 5000ms)["message"]["title"], "再来一条");
}

// A server that requires verified customers: the order tools answer only in
// conversations opened with a signed customer token from the business backend.
class VerifiedCustomerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("verified_test");
    Config cfg = testing::TestConfig(dir_);
    cfg.dialogue.require_verified_customer = true;
    auto a = testing::StartServer(cfg);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    app_ = std::move(*a);
  }
  void TearDown() override {
    app_.reset();
    fs::remove_all(dir_);
  }
  json Call(const std::string& method, const std::string& target, const json& body, int expect,
            const Headers& h = kWidget) {
    auto r = Fetch(app_->port(), method, target, body.is_null() ? "" : body.dump(), h);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
    EXPECT_EQ(r->status, expect) << method << " " << target << " -> " << r->body;
    return json::parse(r->body, nullptr, false);
  }
  std::string Ask(const std::string& cid, const std::string& text) {
    json r = Call("POST", "/v1/conversations/" + cid + "/messages", {{"client_msg_id", "m" + std::to_string(++n_)}, {"text", text}},
                  200);
    return r["reply"].value("text", "");
  }
  fs::path dir_;
  std::unique_ptr<app::ServerApp> app_;
  int n_ = 0;
};

TEST_F(VerifiedCustomerTest, OrdersOnlyForACustomerProvenByASignedToken) {
  // A client that merely claims to be C0001 learns nothing about C0001's orders.
  json claimed = Call("POST", "/v1/conversations", {{"customer_id", "C0001"}}, 201);
  EXPECT_EQ(claimed["customer_verified"], false);
  std::string reply = Ask(claimed["id"], "我的订单到哪了");
  EXPECT_NE(reply.find("登录"), std::string::npos) << reply;
  EXPECT_EQ(reply.find("SO"), std::string::npos) << reply;
  EXPECT_EQ(Ask(claimed["id"], "帮我查一下订单SO202611010001").find("已"), std::string::npos);
  // Knowledge answers need no identity.
  EXPECT_EQ(Ask(claimed["id"], "可以开发票吗").find("登录"), std::string::npos);

  // The shop's backend mints a token for its signed-in user; the widget opens the conversation with it.
  json minted = Call("POST", "/v1/customers/C0001/inbox/token", json::object(), 200, kAdmin);
  const std::string token = minted.value("token", "");
  ASSERT_FALSE(token.empty()) << minted.dump();
  json verified = Call("POST", "/v1/conversations", {{"customer_token", token}}, 201);
  EXPECT_EQ(verified["customer_id"], "C0001");
  EXPECT_EQ(verified["customer_verified"], true);
  std::string answer = Ask(verified["id"], "我的订单到哪了");
  EXPECT_NE(answer.find("SO"), std::string::npos) << answer;
  EXPECT_EQ(answer.find("登录"), std::string::npos) << answer;
  // The verification survives later turns (the context carries it).
  EXPECT_EQ(Ask(verified["id"], "那它什么时候到？").find("登录"), std::string::npos);

  // A server-side caller with the API key (the shop's backend, a phone gateway) vouches for the customer.
  json vouched = Call("POST", "/v1/conversations", {{"identity", {{"kind", "phone"}, {"value", "13800000000"}}}, {"channel", "phone"}},
                      201, kAdmin);
  EXPECT_EQ(vouched["customer_verified"], true);
  json by_id = Call("POST", "/v1/conversations", {{"customer_id", "C0001"}}, 201, kAdmin);
  EXPECT_EQ(by_id["customer_verified"], true);
  EXPECT_NE(Ask(by_id["id"], "我的订单到哪了").find("SO"), std::string::npos);
  Call("POST", "/v1/conversations", {{"customer_id", "C0001"}}, 401,
       {{"Authorization", "Bearer not-a-key"}, {"Content-Type", "application/json"}});

  // Bad tokens and contradictions are refused; nothing is created.
  Call("POST", "/v1/conversations", {{"customer_token", token + "x"}}, 401);
  Call("POST", "/v1/conversations", {{"customer_token", token}, {"customer_id", "C0002"}}, 400);
  Headers other = {{"X-Kefu-Widget-Key", "nope"}, {"Content-Type", "application/json"}};
  Call("POST", "/v1/conversations", {{"customer_token", token}}, 401, other);
}

}  // namespace
}  // namespace kefu
