#include "tools/commerce_store.h"

#include <gtest/gtest.h>

#include "app/schema.h"
#include "storage/testing.h"

namespace kefu::tools {
namespace {

ProductQuery Query(std::string keyword, std::string category = "", std::optional<int64_t> min_cents = {},
                   std::optional<int64_t> max_cents = {}, int limit = 10) {
  ProductQuery q;
  q.keyword = std::move(keyword);
  q.category = std::move(category);
  q.min_price_cents = min_cents;
  q.max_price_cents = max_cents;
  q.limit = limit;
  return q;
}

class CommerceStoreTest : public ::testing::TestWithParam<storage::Engine> {
 protected:
  void SetUp() override {
    if (storage::testdb::Missing(GetParam())) GTEST_SKIP() << storage::testdb::kPostgresMissing;
    auto db = storage::testdb::OpenFresh(GetParam(), app::Schema());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    store_ = std::make_unique<CommerceStore>(*db_);
    for (const char* t : {"a", "b"}) ASSERT_TRUE(store_->UpsertTenant({t, t, std::string("wk-") + t, 1}).ok());
  }

  Order MakeOrder(const std::string& id, const std::string& customer, int64_t created) {
    Order o;
    o.id = id;
    o.customer_id = customer;
    o.status = "in_transit";
    o.total_cents = 19900;
    o.items = {{"P1", "外套", "黑色 / L", 1, 19900}};
    o.address = "浙江省杭州市西湖区";
    o.carrier = "顺丰速运";
    o.tracking_no = "SF123";
    o.created_ms = o.updated_ms = created;
    return o;
  }

  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<CommerceStore> store_;
};

// On SQLite and on PostgreSQL (skipped without a test server: storage/testing.h).
INSTANTIATE_TEST_SUITE_P(Engines, CommerceStoreTest, ::testing::ValuesIn(storage::testdb::AllEngines()),
                         [](const auto& info) { return storage::testdb::EngineTestName(info.param); });

TEST_P(CommerceStoreTest, UpsertIsIdempotentAndUpdates) {
  Order o = MakeOrder("SO1", "C1", 1000);
  ASSERT_TRUE(store_->UpsertOrder("a", o).ok());
  ASSERT_TRUE(store_->UpsertOrder("a", o).ok());
  o.status = "delivered";
  ASSERT_TRUE(store_->UpsertOrder("a", o).ok());
  EXPECT_EQ(*store_->Count("a", "orders"), 1);
  auto got = store_->GetOrder("a", "SO1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, "delivered");
  ASSERT_EQ(got->items.size(), 1u);
  EXPECT_EQ(got->items[0].spec, "黑色 / L");
  EXPECT_EQ(got->items[0].price_cents, 19900);
  EXPECT_EQ(got->carrier.value_or(""), "顺丰速运");

  LogisticsEvent e{"SO1", 5000, "picked_up", "杭州仓", "已揽收"};
  ASSERT_TRUE(store_->UpsertLogisticsEvent("a", e).ok());
  ASSERT_TRUE(store_->UpsertLogisticsEvent("a", e).ok());
  EXPECT_EQ(*store_->Count("a", "logistics_events"), 1);
  EXPECT_EQ(store_->Count("a", "tenants; DROP TABLE x").status().code(), ErrorCode::kInvalidArgument);
}

TEST_P(CommerceStoreTest, TenantIsolation) {
  ASSERT_TRUE(store_->UpsertOrder("a", MakeOrder("SO1", "C1", 1000)).ok());
  ASSERT_TRUE(store_->UpsertCustomer("a", {"C1", "张伟", "13800000000", "z@example.com", "gold", "杭州", 1}).ok());
  ASSERT_TRUE(store_->UpsertProduct("a", {"P1", "外套", "服装", "优衣库", 19900, 5, "", {}}).ok());
  ASSERT_TRUE(store_->UpsertLogisticsEvent("a", {"SO1", 5000, "picked_up", "", ""}).ok());
  EXPECT_EQ(store_->GetOrder("b", "SO1").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->GetCustomer("b", "C1").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->GetProduct("b", "P1").status().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(store_->LatestOrders("b", "C1", 10)->empty());
  EXPECT_TRUE(store_->LogisticsEvents("b", "SO1")->empty());
  EXPECT_TRUE(store_->SearchProducts("b", {})->empty());
  EXPECT_EQ(store_->SearchProducts("a", {})->size(), 1u);
  EXPECT_EQ(store_->GetCustomer("a", "C1")->tier, "gold");
  // Unknown tenants are rejected by the foreign key.
  EXPECT_FALSE(store_->UpsertCustomer("nope", {"C1", "x", "", "", "normal", "", 1}).ok());
}

TEST_P(CommerceStoreTest, LatestOrdersNewestFirstAndEventsInTimeOrder) {
  ASSERT_TRUE(store_->UpsertOrder("a", MakeOrder("SO1", "C1", 1000)).ok());
  ASSERT_TRUE(store_->UpsertOrder("a", MakeOrder("SO2", "C1", 3000)).ok());
  ASSERT_TRUE(store_->UpsertOrder("a", MakeOrder("SO3", "C1", 2000)).ok());
  ASSERT_TRUE(store_->UpsertOrder("a", MakeOrder("SO4", "C2", 9000)).ok());
  auto latest = store_->LatestOrders("a", "C1", 2);
  ASSERT_TRUE(latest.ok());
  ASSERT_EQ(latest->size(), 2u);
  EXPECT_EQ((*latest)[0].id, "SO2");
  EXPECT_EQ((*latest)[1].id, "SO3");

  ASSERT_TRUE(store_->UpsertLogisticsEvent("a", {"SO2", 300, "in_transit", "B", ""}).ok());
  ASSERT_TRUE(store_->UpsertLogisticsEvent("a", {"SO2", 100, "picked_up", "A", ""}).ok());
  ASSERT_TRUE(store_->UpsertLogisticsEvent("a", {"SO2", 200, "in_transit", "C", ""}).ok());
  auto ev = store_->LogisticsEvents("a", "SO2");
  ASSERT_TRUE(ev.ok());
  ASSERT_EQ(ev->size(), 3u);
  EXPECT_EQ((*ev)[0].location, "A");
  EXPECT_EQ((*ev)[1].location, "C");
  EXPECT_EQ((*ev)[2].location, "B");
}

TEST_P(CommerceStoreTest, ProductSearch) {
  ASSERT_TRUE(store_->UpsertProduct("a", {"P1", "男士摇粒绒外套", "服装", "优衣库", 19900, 5, "保暖", {}}).ok());
  ASSERT_TRUE(store_->UpsertProduct("a", {"P2", "轻薄羽绒服", "服装", "波司登", 69900, 0, "保暖 外套", {}}).ok());
  ASSERT_TRUE(store_->UpsertProduct("a", {"P3", "降噪耳机", "数码", "索尼", 249900, 3, "100%降噪", {{"warranty", "1年"}}}).ok());
  auto ids = [&](ProductQuery q) {
    std::vector<std::string> out;
    auto found = store_->SearchProducts("a", q);
    EXPECT_TRUE(found.ok());
    for (const auto& p : *found) out.push_back(p.id);
    return out;
  };
  // Name matches rank before description matches.
  EXPECT_EQ(ids(Query("外套")), (std::vector<std::string>{"P1", "P2"}));
  EXPECT_EQ(ids(Query("索尼")), (std::vector<std::string>{"P3"}));
  EXPECT_EQ(ids(Query("保暖 波司登")), (std::vector<std::string>{"P2"}));
  EXPECT_EQ(ids(Query("", "数码")), (std::vector<std::string>{"P3"}));
  EXPECT_EQ(ids(Query("", "", 20000, 100000)), (std::vector<std::string>{"P2"}));
  // LIKE wildcards in the keyword are literal.
  EXPECT_EQ(ids(Query("%")), (std::vector<std::string>{"P3"}));
  EXPECT_TRUE(ids(Query("_")).empty());
  EXPECT_EQ(ids(Query("", "", {}, {}, 1)).size(), 1u);
  EXPECT_EQ(store_->GetProduct("a", "P3")->attrs["warranty"], "1年");
}

TEST_P(CommerceStoreTest, BatchIsAllOrNothing) {
  CommerceBatch b;
  b.tenant = {"c", "商城", "wk-c", 1};
  b.customers = {{"C1", "张伟", "", "", "normal", "", 1}};
  b.orders = {MakeOrder("SO1", "C1", 1)};
  b.events = {{"SO1", 1, "picked_up", "", ""}};
  ASSERT_TRUE(store_->UpsertBatch(b).ok());
  EXPECT_EQ(*store_->Count("c", "orders"), 1);
  // A duplicate widget key makes the tenant row fail: nothing of the batch stays.
  CommerceBatch bad = b;
  bad.tenant = {"d", "另一个", "wk-a", 1};
  EXPECT_FALSE(store_->UpsertBatch(bad).ok());
  EXPECT_EQ(store_->GetTenant("d").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(*store_->Count("d", "orders"), 0);
}

TEST_P(CommerceStoreTest, HandoffRequestsAreRecorded) {
  FakeClock clock(42'000);
  CommerceStore store(*db_, clock);
  ASSERT_TRUE(store.RecordHandoffRequest({"a", "conv0", "C1", "", 0}).ok());
  {
    auto s = db_->Lock();
    auto& st = s.Prepare("SELECT created_ms, status FROM handoff_requests WHERE conversation_id = 'conv0'");
    ASSERT_TRUE(*st.Step());
    EXPECT_EQ(st.Int(0), 42'000);
    EXPECT_EQ(st.Text(1), "pending");
    st.Reset();
  }
  auto id1 = store_->RecordHandoffRequest({"a", "conv1", "C1", "要求退款", 10});
  auto id2 = store_->RecordHandoffRequest({"a", "conv2", "C2", "", 20});
  ASSERT_TRUE(id1.ok() && id2.ok());
  EXPECT_NE(*id1, *id2);
  EXPECT_EQ(*store_->Count("a", "handoff_requests"), 3);
  EXPECT_EQ(*store_->Count("b", "handoff_requests"), 0);
}

}  // namespace
}  // namespace kefu::tools
