// The data hub over real HTTP: the whole server (ServerApp with the demo
// tenant) on port 0 with a temporary data dir.
#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "app/import_cli.h"
#include "support/test_server.h"
#include "datahub/webhook.h"
#include "http/testing.h"

namespace kefu::datahub {
namespace {

namespace fs = std::filesystem;
using http::testing::Fetch;
using http::testing::Headers;
using nlohmann::json;

const Headers kAdmin = {{"Authorization", "Bearer demo-admin-key"}, {"Content-Type", "application/json"}};
const Headers kWidget = {{"X-Kefu-Widget-Key", "demo"}, {"Content-Type", "application/json"}};

class DatahubServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = kefu::testing::FreshTestDir("datahub_test");
    auto a = kefu::testing::StartServer(kefu::testing::TestConfig(dir_, "warn"));
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    app_ = std::move(*a);
    port_ = app_->port();
  }
  static void TearDownTestSuite() {
    app_.reset();
    fs::remove_all(dir_);
  }

  static std::pair<int, json> Call(const std::string& method, const std::string& target, const std::string& body,
                                   const Headers& h = kAdmin) {
    auto r = Fetch(port_, method, target, body, h);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {0, {}};
    return {r->status, json::parse(r->body, nullptr, false)};
  }

  static inline fs::path dir_;
  static inline std::unique_ptr<app::ServerApp> app_;
  static inline int port_ = 0;
};

json OrderRecord(const std::string& id) {
  return {{"id", id},
          {"customer_id", "C0004"},
          {"status", "paid"},
          {"total_cents", 100},
          {"items", json::array({{{"product_id", "P1001"}, {"qty", 1}, {"price_cents", 100}}})},
          {"created_ms", 1'790'000'000'000}};
}

TEST_F(DatahubServerTest, BatchIngestReportsPerRow) {
  json body = {{"source", "erp"},
               {"records", json::array({OrderRecord("H-1"), {{"id", "H-2"}, {"customer_id", "C0004"}, {"status", 7}}})}};
  auto [code, j] = Call("POST", "/v1/ingest/orders", body.dump());
  ASSERT_EQ(code, 200) << j.dump();
  EXPECT_EQ(j["accepted"], 1);
  ASSERT_EQ(j["rejected"].size(), 1u);
  EXPECT_EQ(j["rejected"][0]["index"], 1);
  EXPECT_EQ(j["rejected"][0]["id"], "H-2");
  EXPECT_EQ(j["rejected"][0]["reason"], "status: expected string, got integer");
  auto [again_code, again] = Call("POST", "/v1/ingest/orders", body.dump());
  EXPECT_EQ(again_code, 200);
  EXPECT_EQ(again["unchanged"], 1);
  EXPECT_EQ(again["accepted"], 0);

  EXPECT_EQ(Call("POST", "/v1/ingest/orders", body.dump(), kWidget).first, 401);
  EXPECT_EQ(Call("POST", "/v1/ingest/users", body.dump()).first, 404);
  EXPECT_EQ(Call("POST", "/v1/ingest/orders", "{not json").first, 400);
  EXPECT_EQ(Call("POST", "/v1/ingest/orders", R"({"source":"erp"})").first, 400);
  json big = {{"source", "erp"}, {"records", json::array()}};
  for (int i = 0; i < 1001; ++i) big["records"].push_back({{"id", "B" + std::to_string(i)}});
  auto [big_code, big_j] = Call("POST", "/v1/ingest/orders", big.dump());
  EXPECT_EQ(big_code, 413);
  EXPECT_EQ(big_j["error"]["code"], "payload_too_large");
}

TEST_F(DatahubServerTest, SignedWebhooks) {
  auto [rc, rot] = Call("POST", "/v1/ingest/webhook-secret/rotate", "");
  ASSERT_EQ(rc, 200);
  std::string secret = rot["secret"];
  ASSERT_EQ(secret.size(), 64u);
  json body = {{"source", "wms"},
               {"records", json::array({{{"order_id", "SO202611010005"}, {"ts_ms", 1'790'000'000'000},
                                         {"status", "picked_up"}}})}};
  std::string payload = body.dump();
  std::string ts = std::to_string(std::time(nullptr));
  auto signed_headers = [&](const std::string& t, const std::string& sig) {
    return Headers{{"X-Kefu-Tenant", "demo"}, {"X-Kefu-Timestamp", t}, {"X-Kefu-Signature", sig},
                   {"Content-Type", "application/json"}};
  };
  std::string sig = WebhookVerifier::Sign(secret, ts, payload);
  auto [ok_code, ok] = Call("POST", "/v1/webhooks/ingest/logistics", payload, signed_headers(ts, sig));
  ASSERT_EQ(ok_code, 200) << ok.dump();
  EXPECT_EQ(ok["accepted"], 1);
  // The same request again is a replay.
  auto [replay_code, replay] = Call("POST", "/v1/webhooks/ingest/logistics", payload, signed_headers(ts, sig));
  EXPECT_EQ(replay_code, 409) << replay.dump();
  // A signature over another body, another secret, or an old timestamp is refused.
  EXPECT_EQ(Call("POST", "/v1/webhooks/ingest/logistics", payload + " ",
                 signed_headers(ts, sig)).first, 401);
  EXPECT_EQ(Call("POST", "/v1/webhooks/ingest/logistics", payload,
                 signed_headers(ts, WebhookVerifier::Sign("another-secret-0000", ts, payload))).first, 401);
  std::string old = std::to_string(std::time(nullptr) - 600);
  auto [stale_code, stale] = Call("POST", "/v1/webhooks/ingest/logistics", payload,
                                  signed_headers(old, WebhookVerifier::Sign(secret, old, payload)));
  EXPECT_EQ(stale_code, 401);
  EXPECT_NE(stale["error"]["message"].get<std::string>().find("stale"), std::string::npos);
  EXPECT_EQ(Call("POST", "/v1/webhooks/ingest/logistics", payload, kAdmin).first, 401);  // no signature
  // After a rotation the old secret stops working.
  ASSERT_EQ(Call("POST", "/v1/ingest/webhook-secret/rotate", "").first, 200);
  std::string ts2 = std::to_string(std::time(nullptr));
  EXPECT_EQ(Call("POST", "/v1/webhooks/ingest/logistics", payload,
                 signed_headers(ts2, WebhookVerifier::Sign(secret, ts2, payload))).first, 401);
}

TEST_F(DatahubServerTest, TwoChannelsOfOnePersonShareOneHistory) {
  // C0002 (王芳) calls the hotline (phone) and later writes in the app (app user id).
  auto [c1, phone_conv] =
      Call("POST", "/v1/conversations", R"({"identity":{"kind":"phone","value":"139-5712-0832"},"channel":"phone"})",
           kWidget);
  ASSERT_EQ(c1, 201) << phone_conv.dump();
  auto [c2, app_conv] =
      Call("POST", "/v1/conversations", R"({"identity":{"kind":"app_user_id","value":"app-880002"},"channel":"app"})",
           kWidget);
  ASSERT_EQ(c2, 201) << app_conv.dump();
  EXPECT_EQ(phone_conv["customer_id"], "C0002");
  EXPECT_EQ(app_conv["customer_id"], "C0002");
  auto [h, history] = Call("GET", "/v1/customers/C0002/conversations", "");
  ASSERT_EQ(h, 200);
  ASSERT_EQ(history["conversations"].size(), 2u);
  std::set<std::string> channels;
  for (const auto& c : history["conversations"]) channels.insert(c["channel"].get<std::string>());
  EXPECT_EQ(channels, (std::set<std::string>{"phone", "app"}));

  // A record from another system with the same phone joins C0003 automatically; its channel identity then
  // opens conversations in C0003's history too, and the merge is audited and reversible.
  json app_customer = {{"source", "app"},
                       {"records", json::array({{{"id", "APP-5001"}, {"name", "李娜"}, {"phone", "15001873364"},
                                                 {"identities", json::array({{{"kind", "app_user_id"},
                                                                              {"value", "u-5001"}}})}}})}};
  ASSERT_EQ(Call("POST", "/v1/ingest/customers", app_customer.dump()).first, 200);
  auto [c3, conv3] =
      Call("POST", "/v1/conversations", R"({"identity":{"kind":"app_user_id","value":"u-5001"},"channel":"app"})",
           kWidget);
  ASSERT_EQ(c3, 201);
  EXPECT_EQ(conv3["customer_id"], "C0003");
  auto [pc, profile] = Call("GET", "/v1/customers/APP-5001/profile", "");
  ASSERT_EQ(pc, 200);
  EXPECT_EQ(profile["customer_id"], "C0003");
  EXPECT_EQ(profile["merged_ids"], json::array({"APP-5001"}));
  EXPECT_EQ(profile["conversations"].size(), 1u);
  auto [mc, merges] = Call("GET", "/v1/identity/merges", "");
  ASSERT_EQ(mc, 200);
  ASSERT_FALSE(merges["merges"].empty());
  EXPECT_EQ(merges["merges"][0]["secondary_id"], "APP-5001");
  EXPECT_EQ(merges["merges"][0]["actor"], "auto");
  EXPECT_EQ(Call("POST", "/v1/identity/unmerge", R"({"customer_id":"APP-5001","reason":"test"})").first, 200);
  EXPECT_EQ(Call("GET", "/v1/identity/resolve?kind=app_user_id&value=u-5001", "").second["customer_id"], "APP-5001");
  EXPECT_EQ(Call("POST", "/v1/identity/unmerge", R"({"customer_id":"APP-5001"})").first, 409);
  EXPECT_EQ(Call("POST", "/v1/identity/merge", R"({"primary_id":"C0003","secondary_id":"APP-5001"})").first, 200);
  EXPECT_EQ(Call("GET", "/v1/identity/merges?limit=3", "").second["merges"][0]["action"], "merge");

  // Bad identities are refused; customer_id keeps working as before.
  EXPECT_EQ(Call("POST", "/v1/conversations", R"({"identity":{"kind":"fax","value":"1"}})", kWidget).first, 400);
  EXPECT_EQ(Call("POST", "/v1/conversations", R"({"identity":"13957120832"})", kWidget).first, 400);
  EXPECT_EQ(Call("POST", "/v1/conversations", R"({"customer_id":"C0005"})", kWidget).first, 201);
}

TEST_F(DatahubServerTest, DemoProfileThroughTheApi) {
  auto [code, p] = Call("GET", "/v1/customers/C0001/profile", "");
  ASSERT_EQ(code, 200) << p.dump();
  EXPECT_EQ(p["demographics"]["name"], "张伟");
  EXPECT_EQ(p["recent_orders"][0]["id"], "SO202611010001");
  EXPECT_EQ(p["recent_orders"][0]["logistics"]["status"], "in_transit");
  EXPECT_FALSE(p["recent_browsing"].empty());
  EXPECT_FALSE(p["recent_transactions"].empty());
  EXPECT_EQ(p["open_tickets"].size(), 1u);
  EXPECT_GE(p["identities"].size(), 5u);
  EXPECT_EQ(Call("GET", "/v1/customers/NOPE/profile", "").first, 404);
  EXPECT_EQ(Call("GET", "/v1/customers/C0001/profile", "", kWidget).first, 401);
  auto [sc, sug] = Call("GET", "/v1/identity/suggestions?status=all", "");
  EXPECT_EQ(sc, 200);
  EXPECT_TRUE(sug["suggestions"].is_array());
  EXPECT_EQ(Call("GET", "/v1/identity/suggestions?status=maybe", "").first, 400);
}

TEST(ParseCsv, QuotesNewlinesAndLineNumbers) {
  auto rows = app::ParseCsv("\xEF\xBB\xBFid,items\r\nO1,\"[{\"\"product_id\"\":\"\"P1\"\"}]\"\n\nO2,\"two\nlines\"\nO3,x\n");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_EQ((*rows)[0].cells, (std::vector<std::string>{"id", "items"}));
  EXPECT_EQ((*rows)[1].cells[1], R"([{"product_id":"P1"}])");
  EXPECT_EQ((*rows)[2].line, 4u);
  EXPECT_EQ((*rows)[2].cells[1], "two\nlines");
  EXPECT_EQ((*rows)[3].line, 6u);
  auto bad = app::ParseCsv("id\n\"open\n");
  EXPECT_EQ(bad.status().message(), "line 2: unterminated quoted field");
}

}  // namespace
}  // namespace kefu::datahub
