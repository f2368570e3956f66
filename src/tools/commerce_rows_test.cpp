#include "tools/commerce_rows.h"

#include <gtest/gtest.h>

#include "app/schema.h"
#include "storage/testing.h"
#include "tools/commerce_store.h"

namespace kefu::tools::rows {
namespace {

// The shop tables' SQL other modules compose into their own transactions, on both engines.
class CommerceRowsTest : public ::testing::TestWithParam<storage::Engine> {
 protected:
  void SetUp() override {
    if (storage::testdb::Missing(GetParam())) GTEST_SKIP() << storage::testdb::kPostgresMissing;
    auto db = storage::testdb::OpenFresh(GetParam(), app::Schema());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    ASSERT_TRUE(CommerceStore(*db_).UpsertTenant({"a", "a", "wk-a", 1}).ok());
  }
  std::unique_ptr<storage::Database> db_;
};

TEST_P(CommerceRowsTest, CustomersAndTheirMergeLinks) {
  auto s = db_->Lock();
  EXPECT_FALSE(*CustomerExists(s, "a", "C1"));
  CustomerRecord c;
  c.id = "C1";
  c.name = "张伟";
  c.city = "杭州";
  c.created_ms = 10;
  c.updated_ms = 10;
  ASSERT_TRUE(UpsertCustomer(s, "a", c, true).ok());
  c.id = "C2";
  ASSERT_TRUE(UpsertCustomer(s, "a", c, true).ok());
  // An update without a source time keeps created_ms.
  c.created_ms = 99;
  ASSERT_TRUE(UpsertCustomer(s, "a", c, false).ok());
  auto got = GetCustomerRecord(s, "a", "C2");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->created_ms, 10);
  EXPECT_FALSE((*got)->phone.has_value());
  EXPECT_EQ(*CustomersNamed(s, "a", "张伟", "杭州", "C1", 5), std::vector<std::string>{"C2"});

  EXPECT_EQ(MergedInto(s, "a", "nobody").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(*MergedInto(s, "a", "C2"), "");
  ASSERT_TRUE(MergeRecords(s, "a", "C1", "C2").ok());
  EXPECT_EQ(*MergedInto(s, "a", "C2"), "C1");
  EXPECT_EQ(*RecordsMergedInto(s, "a", "C1"), std::vector<std::string>{"C2"});
  ASSERT_TRUE(ClearMerge(s, "a", "C2").ok());
  EXPECT_TRUE(RecordsMergedInto(s, "a", "C1")->empty());
  ASSERT_TRUE(InsertContactCustomer(s, "a", "U-1", std::string("13800000000"), std::nullopt, 5).ok());
  EXPECT_EQ(*(*GetCustomerRecord(s, "a", "U-1"))->phone, "13800000000");
}

TEST_P(CommerceRowsTest, OrdersFollowTheirParcel) {
  auto s = db_->Lock();
  CustomerRecord c;
  c.id = "C1";
  ASSERT_TRUE(UpsertCustomer(s, "a", c, true).ok());
  ProductRecord p;
  p.id = "P1";
  p.name = "耳机";
  ASSERT_TRUE(UpsertProduct(s, "a", p).ok());
  EXPECT_TRUE(*SetProductStock(s, "a", "P1", 7));
  EXPECT_FALSE(*SetProductStock(s, "a", "P9", 7));
  OrderRecord o;
  o.id = "SO1";
  o.customer_id = "C1";
  o.status = "paid";
  o.total_cents = 100;
  o.created_ms = 1000;
  o.updated_ms = 1000;
  ASSERT_TRUE(UpsertOrder(s, "a", o).ok());
  EXPECT_EQ(**OrderStatus(s, "a", "SO1"), "paid");
  EXPECT_FALSE(OrderStatus(s, "a", "SO9")->has_value());
  EXPECT_FALSE(LastLogisticsTime(s, "a", "SO1")->has_value());
  ASSERT_TRUE(InsertLogisticsEvent(s, "a", {"SO1", 2000, "in_transit", "杭州", "到达"}).ok());
  ASSERT_TRUE(InsertLogisticsEvent(s, "a", {"SO1", 2000, "in_transit", "杭州", "到达"}).ok());  // idempotent
  ASSERT_TRUE(InsertLogisticsEvent(s, "a", {"SO1", 2000, "delivered", "杭州", "签收"}).ok());
  EXPECT_EQ(**LastLogisticsTime(s, "a", "SO1"), 2000);
  // Same time: the further step is the latest.
  EXPECT_EQ((*LatestLogisticsEvent(s, "a", "SO1"))->status, "delivered");
  ASSERT_TRUE(SetOrderStatus(s, "a", "SO1", "delivered", 500).ok());  // an older time does not move updated_ms back
  auto recent = RecentOrders(s, "a", "C1", 5);
  ASSERT_TRUE(recent.ok());
  ASSERT_EQ(recent->size(), 1u);
  EXPECT_EQ((*recent)[0].status, "delivered");
  EXPECT_EQ((*recent)[0].updated_ms, 1000);
  auto stats = PaidOrderStats(s, "a", "C1");
  EXPECT_EQ(stats->count, 1);
  EXPECT_EQ(stats->total_cents, 100);
  EXPECT_EQ(PaidOrderStats(s, "a", "C9")->count, 0);
}

TEST_P(CommerceRowsTest, HandoffRequestsKeepTheirStatus) {
  auto s = db_->Lock();
  auto id = RecordHandoffRequest(s, {"a", "conv1", "C1", "留言", 0}, "follow_up", 42);
  ASSERT_TRUE(id.ok());
  EXPECT_GT(*id, 0);
  auto& st = s.Prepare("SELECT status, created_ms FROM handoff_requests WHERE id = ?");
  st.Bind(1, *id);
  ASSERT_TRUE(*st.Step());
  EXPECT_EQ(st.Text(0), "follow_up");
  EXPECT_EQ(st.Int(1), 42);
  st.Reset();
}

INSTANTIATE_TEST_SUITE_P(Engines, CommerceRowsTest, ::testing::ValuesIn(storage::testdb::AllEngines()),
                         [](const auto& info) { return storage::testdb::EngineTestName(info.param); });

}  // namespace
}  // namespace kefu::tools::rows
