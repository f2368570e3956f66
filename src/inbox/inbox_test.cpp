// The message center: the C++ API, customer tokens, and the HTTP routes on a
// real server (port 0) with real SQLite.
#include <gtest/gtest.h>

#include <algorithm>

#include <filesystem>
#include <set>

#include "api/openapi.h"
#include "api/tenants.h"
#include "app/schema.h"
#include "http/testing.h"
#include "inbox/customer_tokens.h"
#include "inbox/message_center.h"
#include "inbox/routes.h"
#include "storage/testing.h"

namespace kefu::inbox {
namespace {

namespace fs = std::filesystem;
using http::testing::Fetch;
using http::testing::Headers;
using nlohmann::json;

class InboxTest : public ::testing::TestWithParam<storage::Engine> {
 protected:
  void SetUp() override {
    if (storage::testdb::Missing(GetParam())) GTEST_SKIP() << storage::testdb::kPostgresMissing;
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(test.begin(), test.end(), '/', '_');  // "SendListReadAck/postgresql"
    dir_ = fs::temp_directory_path() / ("kefu_inbox_test_" + std::to_string(::getpid()) + "_" + test);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto db = storage::testdb::OpenFresh(GetParam(), app::Schema(), (dir_ / "kefu.db").string());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    tenants_ = std::make_unique<api::TenantDirectory>(*db_, clock_);
    ASSERT_TRUE(tenants_->Ensure("t1", "Shop 1", "w1").ok());
    ASSERT_TRUE(tenants_->Ensure("t2", "Shop 2", "w2").ok());
    ASSERT_TRUE(tenants_->AddApiKey("t1", "key-one-0001", "test").ok());
    ASSERT_TRUE(tenants_->AddApiKey("t2", "key-two-0002", "test").ok());
    WebhookSettings ws;
    ws.jitter_seed = 1;
    ws.allow_private = true;  // receivers on 127.0.0.1
    hooks_ = std::make_unique<Webhooks>(*db_, clock_, metrics_, ws);
    center_ = std::make_unique<MessageCenter>(*db_, clock_, metrics_, hooks_.get());
    tokens_ = std::make_unique<CustomerTokens>(*db_, clock_);
  }
  void TearDown() override {
    if (server_) server_->Stop();
    routes_.reset();
    server_.reset();
    center_.reset();
    hooks_.reset();
    db_.reset();
    fs::remove_all(dir_);
  }

  SendRequest Req(const std::string& title, const std::string& key = "", const std::string& customer = "C0001",
                  const std::string& tenant = "t1") {
    SendRequest r;
    r.tenant_id = tenant;
    r.customer_id = customer;
    r.kind = "proactive";
    r.title = title;
    r.body = "您关注的商品已到货。";
    r.idempotency_key = key;
    return r;
  }

  int StartServer() {
    http::ServerSettings s;
    s.port = 0;
    s.shutdown_grace_ms = 200;
    server_ = std::make_unique<http::Server>(s, metrics_);
    routes_ = RegisterInboxRoutes(*server_, RouteDeps{*tenants_, *center_, *hooks_, *tokens_, 3600});
    EXPECT_TRUE(server_->Start().ok());
    return server_->port();
  }

  json Call(int port, const std::string& method, const std::string& target, const json& body, int expect,
            const Headers& h) {
    auto r = Fetch(port, method, target, body.is_null() ? "" : body.dump(), h);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
    EXPECT_EQ(r->status, expect) << method << " " << target << " -> " << r->body;
    return json::parse(r->body, nullptr, false);
  }

  fs::path dir_;
  FakeClock clock_;
  metrics::Registry metrics_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<api::TenantDirectory> tenants_;
  std::unique_ptr<Webhooks> hooks_;
  std::unique_ptr<MessageCenter> center_;
  std::unique_ptr<CustomerTokens> tokens_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<InboxRoutes> routes_;
};

// On SQLite and on PostgreSQL (skipped without a test server: storage/testing.h).
INSTANTIATE_TEST_SUITE_P(Engines, InboxTest, ::testing::ValuesIn(storage::testdb::AllEngines()),
                         [](const auto& info) { return storage::testdb::EngineTestName(info.param); });

TEST_P(InboxTest, SendListReadAck) {
  auto a = center_->Send(Req("到货提醒"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(a->created);
  SendRequest with_action = Req("补偿");
  with_action.kind = "remedy";
  with_action.action = {{"url", "app://coupons/88"}, {"payload", {{"coupon_id", 88}}}};
  auto b = center_->Send(with_action);
  ASSERT_TRUE(b.ok());
  EXPECT_GT(b->message.id, a->message.id);
  ASSERT_TRUE(center_->Send(Req("别人的", "", "C0002")).ok());

  auto page = center_->List("t1", "C0001", {});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->messages.size(), 2u);
  EXPECT_EQ(page->messages[0].id, b->message.id);  // newest first
  EXPECT_EQ(page->messages[0].action["payload"]["coupon_id"], 88);
  EXPECT_FALSE(page->next_cursor.has_value());
  EXPECT_EQ(*center_->UnreadCount("t1", "C0001"), 2);

  clock_.AdvanceMs(1000);
  auto read = center_->MarkRead("t1", "C0001", a->message.id);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->read_ms, clock_.NowMs());
  EXPECT_FALSE(read->acked_ms.has_value());
  EXPECT_EQ(*center_->UnreadCount("t1", "C0001"), 1);
  clock_.AdvanceMs(1000);
  EXPECT_EQ(center_->MarkRead("t1", "C0001", a->message.id)->read_ms, clock_.NowMs() - 1000);  // unchanged

  auto acked = center_->Ack("t1", "C0001", b->message.id);
  ASSERT_TRUE(acked.ok());
  EXPECT_EQ(acked->acked_ms, clock_.NowMs());
  EXPECT_EQ(acked->read_ms, clock_.NowMs());  // ack implies read
  EXPECT_EQ(*center_->UnreadCount("t1", "C0001"), 0);

  ListQuery unread;
  unread.unread_only = true;
  EXPECT_TRUE(center_->List("t1", "C0001", unread)->messages.empty());
  // Another customer's message is not reachable through this customer.
  auto other = center_->List("t1", "C0002", {});
  ASSERT_EQ(other->messages.size(), 1u);
  EXPECT_EQ(center_->MarkRead("t1", "C0001", other->messages[0].id).status().code(), ErrorCode::kNotFound);
  EXPECT_NE(metrics_.Render().find("kefu_inbox_messages_total{kind=\"proactive\"} 2"), std::string::npos);
}

TEST_P(InboxTest, IdempotencyKeyReturnsSameMessageAndRejectsOtherContent) {
  auto first = center_->Send(Req("到货提醒", "proactive-42"));
  ASSERT_TRUE(first.ok());
  auto again = center_->Send(Req("到货提醒", "proactive-42"));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->message.id, first->message.id);
  auto changed = center_->Send(Req("别的标题", "proactive-42"));
  EXPECT_EQ(changed.status().code(), ErrorCode::kConflict);
  // Keys are per tenant.
  auto t2 = center_->Send(Req("到货提醒", "proactive-42", "C0001", "t2"));
  ASSERT_TRUE(t2.ok());
  EXPECT_TRUE(t2->created);
  EXPECT_EQ(center_->List("t1", "C0001", {})->messages.size(), 1u);
}

TEST_P(InboxTest, CursorPaginationAndExpiry) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 25; ++i) ids.push_back(center_->Send(Req("消息 " + std::to_string(i)))->message.id);
  ListQuery q;
  q.limit = 10;
  std::vector<int64_t> seen;
  int pages = 0;
  while (true) {
    auto page = center_->List("t1", "C0001", q);
    ASSERT_TRUE(page.ok());
    ++pages;
    for (const auto& m : page->messages) seen.push_back(m.id);
    if (!page->next_cursor) break;
    q.after = *page->next_cursor;
  }
  EXPECT_EQ(pages, 3);
  std::vector<int64_t> expected(ids.rbegin(), ids.rend());
  EXPECT_EQ(seen, expected);

  // Unread-only pages skip read messages.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(center_->MarkRead("t1", "C0001", ids[i]).ok());
  ListQuery uq;
  uq.unread_only = true;
  uq.limit = 3;
  auto p1 = center_->List("t1", "C0001", uq);
  ASSERT_EQ(p1->messages.size(), 3u);
  uq.after = *p1->next_cursor;
  auto p2 = center_->List("t1", "C0001", uq);
  ASSERT_EQ(p2->messages.size(), 2u);
  EXPECT_FALSE(p2->next_cursor.has_value());
  EXPECT_EQ(p2->messages[1].id, ids[20]);

  SendRequest expiring = Req("限时活动");
  expiring.expires_ms = clock_.NowMs() + 60'000;
  auto e = center_->Send(expiring);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*center_->UnreadCount("t1", "C0001"), 6);
  clock_.AdvanceMs(60'000);
  EXPECT_EQ(*center_->UnreadCount("t1", "C0001"), 5);
  EXPECT_EQ(center_->Ack("t1", "C0001", e->message.id).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(center_->List("t1", "C0001", {})->messages[0].id, ids.back());
}

TEST_P(InboxTest, RejectsBadMessages) {
  auto code = [&](SendRequest r) { return center_->Send(r).status().code(); };
  SendRequest r = Req("x");
  r.kind = "spam";
  EXPECT_EQ(code(r), ErrorCode::kInvalidArgument);
  r = Req("   ");
  EXPECT_EQ(code(r), ErrorCode::kInvalidArgument);
  r = Req(std::string(201, 'a'));
  EXPECT_EQ(code(r), ErrorCode::kInvalidArgument);
  r = Req("x");
  r.body = "\xff\xfe";
  EXPECT_EQ(code(r), ErrorCode::kInvalidArgument);
  r = Req("x");
  r.action = json::array({1});
  EXPECT_EQ(code(r), ErrorCode::kInvalidArgument);
  r = Req("x");
  r.action = {{"blob", std::string(5000, 'a')}};
  EXPECT_EQ(code(r), ErrorCode::kInvalidArgument);
  r = Req("x", "bad key with spaces");
  EXPECT_EQ(code(r), ErrorCode::kInvalidArgument);
  r = Req("x", "", "bad/customer");
  EXPECT_EQ(code(r), ErrorCode::kInvalidArgument);
  r = Req("x");
  r.expires_ms = clock_.NowMs();
  EXPECT_EQ(code(r), ErrorCode::kInvalidArgument);
  EXPECT_EQ(*center_->UnreadCount("t1", "C0001"), 0);
}

TEST_P(InboxTest, CustomerTokens) {
  auto t = tokens_->Mint("t1", "C0001", 3600);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  auto id = tokens_->Verify(t->token);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->tenant_id, "t1");
  EXPECT_EQ(id->customer_id, "C0001");

  // Tampering with any part fails.
  std::string forged = t->token;
  forged[7] = forged[7] == 'A' ? 'B' : 'A';
  EXPECT_EQ(tokens_->Verify(forged).status().code(), ErrorCode::kUnauthenticated);
  std::string bad_mac = t->token;
  bad_mac.back() = bad_mac.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(tokens_->Verify(bad_mac).status().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(tokens_->Verify("").status().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(tokens_->Verify("kct1.....").status().code(), ErrorCode::kUnauthenticated);
  // A token for another tenant's customer cannot be made with t2's key.
  auto t2 = tokens_->Mint("t2", "C0001", 3600);
  ASSERT_TRUE(t2.ok());
  std::string spliced = t->token.substr(0, t->token.rfind('.')) + t2->token.substr(t2->token.rfind('.'));
  EXPECT_EQ(tokens_->Verify(spliced).status().code(), ErrorCode::kUnauthenticated);
  // A fresh CustomerTokens (restart) reads the same key.
  CustomerTokens again(*db_, clock_);
  EXPECT_TRUE(again.Verify(t->token).ok());
  clock_.AdvanceMs(3600 * 1000);
  EXPECT_EQ(tokens_->Verify(t->token).status().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(tokens_->Mint("t1", "C0001", 10).status().code(), ErrorCode::kInvalidArgument);
}

TEST_P(InboxTest, HttpAdminAndCustomerRoutes) {
  int port = StartServer();
  const Headers k1 = {{"Authorization", "Bearer key-one-0001"}, {"Content-Type", "application/json"}};
  const Headers k2 = {{"Authorization", "Bearer key-two-0002"}, {"Content-Type", "application/json"}};
  json msg = {{"customer_id", "C0001"},
              {"kind", "remedy"},
              {"title", "补偿券"},
              {"body", "已发放 20 元券"},
              {"action", {{"url", "app://coupons/1"}}},
              {"idempotency_key", "remedy-T1"}};
  json created = Call(port, "POST", "/v1/inbox/messages", msg, 201, k1);
  EXPECT_EQ(created["duplicate"], false);
  int64_t id = created["message"]["id"];
  json dup = Call(port, "POST", "/v1/inbox/messages", msg, 200, k1);
  EXPECT_EQ(dup["duplicate"], true);
  EXPECT_EQ(dup["message"]["id"], id);
  json changed = msg;
  changed["body"] = "改了";
  EXPECT_EQ(Call(port, "POST", "/v1/inbox/messages", changed, 409, k1)["error"]["code"], "conflict");
  // The Idempotency-Key header works too, and must agree with the body.
  Headers with_key = k1;
  with_key.emplace_back("Idempotency-Key", "other");
  Call(port, "POST", "/v1/inbox/messages", msg, 400, with_key);
  json no_key = msg;
  no_key.erase("idempotency_key");
  no_key["title"] = "第二条";
  Call(port, "POST", "/v1/inbox/messages", no_key, 201, with_key);
  Call(port, "POST", "/v1/inbox/messages", no_key, 200, with_key);
  Call(port, "POST", "/v1/inbox/messages", {{"customer_id", "C0001"}, {"kind", "nope"}, {"title", "a"}, {"body", "b"}},
       400, k1);
  Call(port, "POST", "/v1/inbox/messages", msg, 401, {{"Authorization", "Bearer wrong"}});

  json page = Call(port, "GET", "/v1/customers/C0001/inbox?limit=1", nullptr, 200, k1);
  ASSERT_EQ(page["messages"].size(), 1u);
  EXPECT_EQ(page["unread_count"], 2);
  ASSERT_TRUE(page["next_cursor"].is_number());
  json page2 =
      Call(port, "GET", "/v1/customers/C0001/inbox?limit=1&after=" + page["next_cursor"].dump(), nullptr, 200, k1);
  ASSERT_EQ(page2["messages"].size(), 1u);
  EXPECT_EQ(page2["messages"][0]["id"], id);
  EXPECT_TRUE(page2["next_cursor"].is_null());
  Call(port, "GET", "/v1/customers/C0001/inbox?limit=0", nullptr, 400, k1);
  Call(port, "GET", "/v1/customers/C0001/inbox?unread=maybe", nullptr, 400, k1);

  // Tenant isolation: the other tenant's key sees nothing and touches nothing.
  json other = Call(port, "GET", "/v1/customers/C0001/inbox", nullptr, 200, k2);
  EXPECT_TRUE(other["messages"].empty());
  EXPECT_EQ(other["unread_count"], 0);
  Call(port, "POST", "/v1/customers/C0001/inbox/" + std::to_string(id) + "/read", nullptr, 404, k2);

  json read = Call(port, "POST", "/v1/customers/C0001/inbox/" + std::to_string(id) + "/read", nullptr, 200, k1);
  EXPECT_TRUE(read["message"]["read_ms"].is_number());
  EXPECT_EQ(Call(port, "GET", "/v1/customers/C0001/inbox/unread-count", nullptr, 200, k1)["unread_count"], 1);

  // The customer's app: a token minted by the business backend.
  json tok = Call(port, "POST", "/v1/customers/C0001/inbox/token", {{"ttl_s", 600}}, 200, k1);
  std::string token = tok["token"];
  EXPECT_EQ(tok["expires_ms"], clock_.NowMs() + 600'000);
  const Headers app = {{"X-Kefu-Customer-Token", token}};
  json mine = Call(port, "GET", "/v1/me/inbox?unread=true", nullptr, 200, app);
  ASSERT_EQ(mine["messages"].size(), 1u);
  int64_t unread_id = mine["messages"][0]["id"];
  json acked = Call(port, "POST", "/v1/me/inbox/" + std::to_string(unread_id) + "/ack", nullptr, 200, app);
  EXPECT_TRUE(acked["message"]["acked_ms"].is_number());
  EXPECT_EQ(Call(port, "GET", "/v1/me/inbox/unread-count?customer_token=" + token, nullptr, 200, {})["unread_count"],
            0);
  Call(port, "GET", "/v1/me/inbox", nullptr, 401, {});
  Call(port, "GET", "/v1/me/inbox", nullptr, 401, {{"X-Kefu-Customer-Token", token + "x"}});
  // A token of C0002 does not reach C0001's messages.
  json tok2 = Call(port, "POST", "/v1/customers/C0002/inbox/token", nullptr, 200, k1);
  const Headers app2 = {{"X-Kefu-Customer-Token", tok2["token"].get<std::string>()}};
  Call(port, "POST", "/v1/me/inbox/" + std::to_string(id) + "/read", nullptr, 404, app2);
  EXPECT_TRUE(Call(port, "GET", "/v1/me/inbox", nullptr, 200, app2)["messages"].empty());
  clock_.AdvanceMs(601'000);
  EXPECT_EQ(Call(port, "GET", "/v1/me/inbox", nullptr, 401, app)["error"]["message"], "customer token has expired");
}

TEST_P(InboxTest, HttpWebhookAdminRoutes) {
  int port = StartServer();
  const Headers k1 = {{"Authorization", "Bearer key-one-0001"}, {"Content-Type", "application/json"}};
  const Headers k2 = {{"Authorization", "Bearer key-two-0002"}, {"Content-Type", "application/json"}};
  // An endpoint nobody listens on: deliveries fail and retry.
  json ep = Call(port, "POST", "/v1/webhooks/endpoints",
                 {{"url", "http://127.0.0.1:1/hook"}, {"events", {"inbox.message.created"}}}, 201, k1);
  ASSERT_TRUE(ep["secret"].is_string());
  Call(port, "POST", "/v1/webhooks/endpoints", {{"url", "gopher://x"}}, 400, k1);
  Call(port, "POST", "/v1/webhooks/endpoints", {{"url", "http://x/y"}, {"events", "all"}}, 400, k1);
  json list = Call(port, "GET", "/v1/webhooks/endpoints", nullptr, 200, k1);
  ASSERT_EQ(list["endpoints"].size(), 1u);
  EXPECT_FALSE(list["endpoints"][0].contains("secret"));
  EXPECT_TRUE(Call(port, "GET", "/v1/webhooks/endpoints", nullptr, 200, k2)["endpoints"].empty());

  Call(port, "POST", "/v1/inbox/messages",
       {{"customer_id", "C0001"}, {"kind", "notice"}, {"title", "通知"}, {"body", "内容"}}, 201, k1);
  json deliveries = Call(port, "GET", "/v1/webhooks/deliveries?status=pending", nullptr, 200, k1);
  ASSERT_EQ(deliveries["deliveries"].size(), 1u);
  std::string did = deliveries["deliveries"][0]["id"];
  EXPECT_EQ(deliveries["deliveries"][0]["payload"]["type"], "inbox.message.created");
  Call(port, "GET", "/v1/webhooks/deliveries?status=weird", nullptr, 400, k1);
  Call(port, "GET", "/v1/webhooks/deliveries/" + did, nullptr, 404, k2);
  EXPECT_EQ(Call(port, "POST", "/v1/webhooks/deliveries/" + did + "/replay", nullptr, 409, k1)["error"]["code"],
            "conflict");
  EXPECT_EQ(Call(port, "POST", "/v1/webhooks/deliveries/replay", nullptr, 200, k1)["replayed"], 0);
  Call(port, "DELETE", "/v1/webhooks/endpoints/" + ep["id"].get<std::string>(), nullptr, 404, k2);
  Call(port, "DELETE", "/v1/webhooks/endpoints/" + ep["id"].get<std::string>(), nullptr, 200, k1);
  EXPECT_EQ(Call(port, "GET", "/v1/webhooks/deliveries/" + did, nullptr, 200, k1)["delivery"]["status"], "cancelled");
}

TEST_P(InboxTest, OpenApiFragmentMatchesRoutes) {
  StartServer();
  std::set<std::string> served;
  for (const auto& r : server_->Routes()) served.insert(r);
  std::set<std::string> documented;
  json doc = api::OpenApiDocument();
  for (auto p = doc["paths"].begin(); p != doc["paths"].end(); ++p) {
    if (!p.key().starts_with("/v1/inbox") && !p.key().starts_with("/v1/me/") && p.key() != "/v1/me/inbox" &&
        !p.key().starts_with("/v1/webhooks") && p.key().find("/inbox") == std::string::npos)
      continue;
    for (auto m = p.value().begin(); m != p.value().end(); ++m) {
      std::string method = m.key();
      for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      documented.insert(method + " " + p.key());
    }
  }
  EXPECT_EQ(served, documented);
}

}  // namespace
}  // namespace kefu::inbox
