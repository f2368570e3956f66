#include "datahub/profile.h"

#include "datahub/test_util.h"
#include "storage/testing.h"

namespace kefu::datahub {
namespace {

using nlohmann::json;
using testing::DatahubTest;

constexpr int64_t kDay = 86'400'000;

class ProfileTest : public DatahubTest {
 protected:
  void SetUp() override {
    DatahubTest::SetUp();
    if (IsSkipped()) return;
    int64_t now = clock_.NowMs();
    ASSERT_EQ(Ingest(Kind::kCustomers,
                     json::array({{{"id", "C1"}, {"name", "张伟"}, {"phone", "13800000001"}, {"tier", "gold"},
                                   {"city", "杭州"}, {"gender", "male"}, {"birthday", "1990-05-01"},
                                   {"identities", json::array({{{"kind", "device_id"}, {"value", "dev-1"}}})}},
                                  {{"id", "APP-1"}, {"name", "zw"}, {"phone", "13800000001"},
                                   {"identities", json::array({{{"kind", "app_user_id"}, {"value", "u1"}}})}}}))
                  .accepted,
              2);
    json orders = json::array();
    for (int i = 0; i < 7; ++i) {
      orders.push_back({{"id", "O" + std::to_string(i)},
                        {"customer_id", i == 6 ? "APP-1" : "C1"},
                        {"status", i == 0 ? "cancelled" : "delivered"},
                        {"total_cents", 10000 * (i + 1)},
                        {"items", json::array({{{"product_id", "P1"}, {"qty", 1}, {"price_cents", 10000 * (i + 1)}}})},
                        {"created_ms", now - (60 - i) * kDay}});
    }
    orders[6]["status"] = "in_transit";
    orders[6]["created_ms"] = now - 2 * kDay;
    ASSERT_EQ(Ingest(Kind::kOrders, orders).accepted, 7);
    ASSERT_EQ(Ingest(Kind::kLogistics, json::array({{{"order_id", "O6"}, {"ts_ms", now - kDay}, {"status", "in_transit"},
                                                     {"location", "杭州转运中心"}}}))
                  .accepted,
              1);
    ASSERT_EQ(Ingest(Kind::kTickets,
                     json::array({{{"id", "T1"}, {"customer_id", "C1"}, {"subject", "退款"}, {"status", "open"},
                                   {"created_ms", now - 3 * kDay}},
                                  {{"id", "T2"}, {"customer_id", "C1"}, {"subject", "旧"}, {"status", "closed"},
                                   {"created_ms", now - 30 * kDay}}}))
                  .accepted,
              2);
    ASSERT_EQ(Ingest(Kind::kTransactions,
                     json::array({{{"id", "PAY1"}, {"customer_id", "C1"}, {"ts_ms", now - 5 * kDay}, {"type", "payment"},
                                   {"method", "card"}, {"amount_cents", 50000}, {"status", "succeeded"},
                                   {"card_last4", "4242"}},
                                  {{"id", "REF1"}, {"customer_id", "C1"}, {"ts_ms", now - 4 * kDay}, {"type", "refund"},
                                   {"method", "card"}, {"amount_cents", 20000}, {"status", "succeeded"}},
                                  {{"id", "PAY2"}, {"customer_id", "APP-1"}, {"ts_ms", now - 2 * kDay},
                                   {"type", "payment"}, {"method", "alipay"}, {"amount_cents", 70000},
                                   {"status", "succeeded"}},
                                  {{"id", "PAY3"}, {"customer_id", "C1"}, {"ts_ms", now - kDay}, {"type", "payment"},
                                   {"method", "alipay"}, {"amount_cents", 999}, {"status", "failed"}}}))
                  .accepted,
              4);
    ASSERT_EQ(Ingest(Kind::kBrowsing,
                     json::array({{{"id", "B1"}, {"customer_id", "C1"}, {"ts_ms", now - 3000}, {"type", "search"},
                                   {"query", "耳机"}},
                                  {{"id", "B2"}, {"device_id", "dev-1"}, {"ts_ms", now - 2000}, {"type", "product_view"},
                                   {"product_id", "P1"}},
                                  {{"id", "B3"}, {"device_id", "dev-other"}, {"ts_ms", now - 1000},
                                   {"type", "page_view"}}}))
                  .accepted,
              3);
    // Two conversations on two channels, with analysed customer turns.
    auto s = db_->Lock();
    ASSERT_TRUE(s.Exec("INSERT INTO conversations(id, tenant_id, customer_id, channel, created_ms, updated_ms) VALUES "
                       "('cv1', 't1', 'C1', 'web', 1, 1), ('cv2', 't1', 'APP-1', 'app', 2, 2)")
                    .ok());
    ASSERT_TRUE(s.Exec(R"sql(INSERT INTO messages(conversation_id, seq, role, text, meta_json, created_ms) VALUES
      ('cv2', 1, 'customer', '快递怎么还没到', '{"analysis":{"emotion":"anxious","emotion_intensity":0.6,"sentiment":"negative"}}', 10),
      ('cv2', 2, 'bot', '正在查询', '{}', 11),
      ('cv2', 3, 'customer', '太慢了！', '{"analysis":{"emotion":"angry","emotion_intensity":0.9,"sentiment":"negative"}}', 12),
      ('cv1', 1, 'customer', '你好', '{}', 5))sql")
                    .ok());
  }
};

// On SQLite and on PostgreSQL (skipped without a test server: storage/testing.h).
INSTANTIATE_TEST_SUITE_P(Engines, ProfileTest, ::testing::ValuesIn(storage::testdb::AllEngines()),
                         [](const auto& info) { return storage::testdb::EngineTestName(info.param); });

TEST_P(ProfileTest, ShowsTheWholeCustomer) {
  auto p = profile_->Get("t1", "APP-1");  // any record of the cluster gives the root's profile
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const json& j = *p;
  EXPECT_EQ(j["customer_id"], "C1");
  EXPECT_EQ(j["merged_ids"], json::array({"APP-1"}));
  EXPECT_EQ(j["tier"], "gold");
  EXPECT_EQ(j["demographics"]["name"], "张伟");
  EXPECT_EQ(j["demographics"]["gender"], "male");
  EXPECT_EQ(j["demographics"]["birthday"], "1990-05-01");
  EXPECT_EQ(j["identities"].size(), 3u);  // phone and device (C1), app user id (APP-1); the phone is one row

  const json& rfm = j["value"]["rfm"];
  EXPECT_EQ(rfm["frequency"], 6);  // the cancelled order does not count
  EXPECT_EQ(rfm["monetary_cents"], 20000 + 30000 + 40000 + 50000 + 60000 + 70000);
  EXPECT_EQ(rfm["recency_days"], 2);
  EXPECT_EQ(rfm["r"], 5);
  EXPECT_EQ(rfm["f"], 4);
  EXPECT_EQ(j["value"]["lifetime_value_basis"], "transactions");
  EXPECT_EQ(j["value"]["lifetime_value_cents"], 50000 - 20000 + 70000);  // failed payments do not count

  ASSERT_EQ(j["recent_orders"].size(), 5u);
  EXPECT_EQ(j["recent_orders"][0]["id"], "O6");
  EXPECT_EQ(j["recent_orders"][0]["status_label"], "运输中");
  EXPECT_EQ(j["recent_orders"][0]["logistics"]["location"], "杭州转运中心");
  EXPECT_TRUE(j["recent_orders"][1]["logistics"].is_null());

  ASSERT_EQ(j["open_tickets"].size(), 1u);
  EXPECT_EQ(j["open_tickets"][0]["id"], "T1");
  ASSERT_EQ(j["recent_transactions"].size(), 4u);
  EXPECT_EQ(j["recent_transactions"][0]["id"], "PAY3");

  ASSERT_EQ(j["recent_browsing"].size(), 2u);  // B3 is another device's
  EXPECT_EQ(j["recent_browsing"][0]["id"], "B2");
  EXPECT_EQ(j["recent_browsing"][1]["query"], "耳机");

  ASSERT_EQ(j["conversations"].size(), 2u);
  EXPECT_EQ(j["conversations"][0]["id"], "cv2");
  EXPECT_EQ(j["conversations"][0]["channel"], "app");
  const json& emotions = j["conversations"][0]["emotions"];
  ASSERT_EQ(emotions.size(), 2u);
  EXPECT_EQ(emotions[0]["emotion"], "anxious");
  EXPECT_EQ(emotions[1]["emotion"], "angry");
  EXPECT_TRUE(j["conversations"][1]["emotions"].empty());
}

TEST_P(ProfileTest, ConversationsOfEveryChannelAndUnknownCustomers) {
  auto c = profile_->Conversations("t1", "C1", 10);
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->size(), 2u);
  EXPECT_EQ((*c)[0]["customer_id"], "APP-1");
  EXPECT_EQ((*c)[1]["customer_id"], "C1");
  EXPECT_EQ(profile_->Get("t1", "nobody").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(profile_->Get("t2", "C1").status().code(), ErrorCode::kNotFound);
  // After an unmerge the app record has its own profile again.
  ASSERT_TRUE(identity_->Unmerge("t1", "APP-1", "", "test").ok());
  auto p = profile_->Get("t1", "APP-1");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)["customer_id"], "APP-1");
  EXPECT_EQ((*p)["recent_orders"].size(), 1u);
  EXPECT_EQ((*p)["value"]["rfm"]["segment"], "new");
}

TEST_P(ProfileTest, LatestOrderForTheDialogueComesFromIngestedData) {
  // The order tools ("我的订单") read CommerceStore::LatestOrders over the same tables.
  auto latest = store_->LatestOrders("t1", "C1", 1);
  ASSERT_TRUE(latest.ok());
  ASSERT_EQ(latest->size(), 1u);
  EXPECT_EQ((*latest)[0].id, "O5");
  EXPECT_EQ((*latest)[0].items.at(0).price_cents, 60000);
}

}  // namespace
}  // namespace kefu::datahub
