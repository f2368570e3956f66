#include "demo/demo_shop.h"

#include <algorithm>
#include <set>

#include <gtest/gtest.h>

#include "app/schema.h"
#include "datahub/identity.h"
#include "storage/testing.h"
#include "text/segmenter.h"
#include "tools/commerce_tools.h"

namespace kefu::demo {
namespace {

using nlohmann::json;

class DemoShopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = storage::testdb::OpenFresh(storage::Engine::kSqlite, app::Schema());
    ASSERT_TRUE(db.ok());
    db_ = std::move(*db);
    store_ = std::make_unique<tools::CommerceStore>(*db_);
    KnowledgeConfig cfg;
    cfg.segmenter = "bigram";  // hermetic: no dictionary file needed
    auto seg = text::CreateSegmenter(cfg);
    ASSERT_TRUE(seg.ok()) << seg.status().ToString();
    seg_ = std::move(*seg);
    auto kb = knowledge::KnowledgeBase::Create(*db_, *seg_, cfg, clock_);
    ASSERT_TRUE(kb.ok()) << kb.status().ToString();
    kb_ = std::move(*kb);
  }

  int64_t Count(std::string_view table) { return *store_->Count("demo", table); }

  FakeClock clock_{1'795'406'400'000};  // 2026-11-23 12:00 Beijing
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<tools::CommerceStore> store_;
  std::unique_ptr<text::Segmenter> seg_;
  std::unique_ptr<knowledge::KnowledgeBase> kb_;
};

TEST(DemoShopInfo, DescribesTheDemoTenant) {
  const DemoShop& s = DemoShopInfo();
  EXPECT_EQ(s.tenant_id, "demo");
  EXPECT_EQ(s.widget_key, "demo");
  EXPECT_EQ(s.api_key, "demo-admin-key");
  EXPECT_EQ(s.name, "示例商城");
  EXPECT_NE(s.greeting.find("示例商城"), std::string::npos);
  EXPECT_GE(s.quick_questions.size(), 4u);
  EXPECT_EQ(s.service_hours.ToText(), "09:00-21:00");
  ASSERT_FALSE(s.demo_customers.empty());
  EXPECT_EQ(s.demo_customers[0].id, "C0001");
  EXPECT_EQ(s.demo_customers[0].name, "张伟");
  EXPECT_TRUE(DemoFile("nope.json").empty());
}

TEST_F(DemoShopTest, LoadsCountsAndIsIdempotent) {
  ASSERT_TRUE(LoadDemoTenant(*db_, *store_, *kb_, clock_).ok());
  EXPECT_EQ(Count("products"), 30);
  EXPECT_EQ(Count("customers"), 50);
  EXPECT_EQ(Count("orders"), 200);
  EXPECT_GT(Count("logistics_events"), 400);
  EXPECT_GE(kb_->Size("demo"), 80u);
  EXPECT_GE(kb_->Synonyms("demo").size(), 20u);
  auto tenant = store_->GetTenant("demo");
  ASSERT_TRUE(tenant.ok());
  EXPECT_EQ(tenant->widget_key, "demo");

  auto before = store_->GetOrder("demo", "SO202611010001");
  ASSERT_TRUE(before.ok());
  size_t kb_size = kb_->Size("demo");
  int64_t events = Count("logistics_events");
  // A later start changes nothing: times stay where the first load put them.
  clock_.AdvanceMs(7LL * 24 * 3'600'000);
  ASSERT_TRUE(LoadDemoTenant(*db_, *store_, *kb_, clock_).ok());
  EXPECT_EQ(Count("orders"), 200);
  EXPECT_EQ(Count("logistics_events"), events);
  EXPECT_EQ(store_->GetOrder("demo", "SO202611010001")->created_ms, before->created_ms);
  EXPECT_EQ(kb_->Size("demo"), kb_size);
}

TEST_F(DemoShopTest, CompletesAPartialLoad) {
  // The tenant row alone (as the API's tenant directory may create it) is not a loaded demo.
  ASSERT_TRUE(store_->UpsertTenant({"demo", "示例商城", "demo", 1}).ok());
  ASSERT_TRUE(LoadDemoTenant(*db_, *store_, *kb_, clock_).ok());
  EXPECT_EQ(Count("orders"), 200);
  EXPECT_GE(kb_->Size("demo"), 80u);
  // A missing knowledge base is loaded again without touching the orders
  // (its entries gone from the database, and a server started on it).
  ASSERT_TRUE(kb_->Remove("demo", "kb-ship-01").ok());
  {
    auto s = db_->Lock();
    ASSERT_TRUE(s.Exec("DELETE FROM kb_entries WHERE tenant_id = 'demo'").ok());
  }
  KnowledgeConfig cfg;
  cfg.segmenter = "bigram";
  auto kb = knowledge::KnowledgeBase::Create(*db_, *seg_, cfg, clock_);
  ASSERT_TRUE(kb.ok()) << kb.status().ToString();
  kb_ = std::move(*kb);
  ASSERT_EQ(kb_->Size("demo"), 0u);
  auto before = store_->GetOrder("demo", "SO202611010001");
  clock_.AdvanceMs(3'600'000);
  ASSERT_TRUE(LoadDemoTenant(*db_, *store_, *kb_, clock_).ok());
  EXPECT_TRUE(kb_->Get("demo", "kb-ship-01").ok());
  EXPECT_EQ(store_->GetOrder("demo", "SO202611010001")->created_ms, before->created_ms);
}

TEST_F(DemoShopTest, OrdersAgreeWithTheirLogistics) {
  ASSERT_TRUE(LoadDemoTenant(*db_, *store_, *kb_, clock_).ok());
  int64_t now = clock_.NowMs();
  int seen = 0;
  std::set<std::string> statuses;
  for (int i = 1; i <= 50; ++i) {
    char id[8];
    std::snprintf(id, sizeof id, "C%04d", i);
    ASSERT_TRUE(store_->GetCustomer("demo", id).ok()) << id;
    auto orders = store_->LatestOrders("demo", id, 500);
    ASSERT_TRUE(orders.ok());
    for (const auto& o : *orders) {
      ++seen;
      statuses.insert(o.status);
      EXPECT_LE(o.created_ms, now);
      EXPECT_NE(tools::OrderStatusLabel(o.status), o.status) << o.id << " has unknown status " << o.status;
      int64_t sum = 0;
      for (const auto& it : o.items) {
        EXPECT_TRUE(store_->GetProduct("demo", it.product_id).ok()) << o.id;
        sum += it.price_cents * it.qty;
      }
      EXPECT_EQ(sum, o.total_cents) << o.id;
      auto ev = store_->LogisticsEvents("demo", o.id);
      ASSERT_TRUE(ev.ok());
      bool ships = o.status == "shipped" || o.status == "in_transit" || o.status == "out_for_delivery" ||
                   o.status == "delivered" || o.status == "refunding";
      if (ships) {
        ASSERT_FALSE(ev->empty()) << o.id;
        EXPECT_TRUE(o.tracking_no.has_value()) << o.id;
        EXPECT_EQ(ev->front().status, "picked_up") << o.id;
        EXPECT_LE(ev->back().ts_ms, now) << o.id;
        EXPECT_GE(ev->front().ts_ms, o.created_ms) << o.id;
      }
      if (o.status == "pending_payment" || o.status == "paid" || o.status == "cancelled") {
        EXPECT_TRUE(ev->empty()) << o.id;
      }
      const std::string last = ev->empty() ? "" : ev->back().status;
      std::string expected_last = o.status == "delivered" || o.status == "refunding" ? "delivered"
                                  : o.status == "out_for_delivery"                   ? "out_for_delivery"
                                  : o.status == "in_transit"                         ? "in_transit"
                                  : o.status == "shipped"                            ? "picked_up"
                                                                                     : last;
      EXPECT_EQ(last, expected_last) << o.id;
    }
  }
  EXPECT_EQ(seen, 200);  // every order belongs to a known customer
  EXPECT_EQ(statuses.size(), 9u);
}

TEST_F(DemoShopTest, C0001LatestOrderTracksThroughTheRegistry) {
  ASSERT_TRUE(LoadDemoTenant(*db_, *store_, *kb_, clock_).ok());
  tools::ToolRegistry registry;
  tools::CommerceToolsOptions opt;
  opt.clock = &clock_;
  opt.service_hours = DemoShopInfo().service_hours;
  tools::RegisterCommerceTools(registry, *store_, opt);

  tools::ToolContext ctx{"demo", "C0001", "conv-demo"};
  auto r = registry.Call(ctx, "track_logistics", json::object());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["status"], "in_transit");
  EXPECT_EQ((*r)["status_label"], "运输中");
  EXPECT_GE((*r)["events"].size(), 4u);
  EXPECT_FALSE((*r)["latest_event"]["description"].get<std::string>().empty());
  EXPECT_FALSE((*r)["eta"].is_null());
  EXPECT_FALSE((*r)["carrier"].is_null());
  // The in-transit order is C0001's newest.
  auto latest = registry.Call(ctx, "get_order", json::object());
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ((*latest)["order_id"], (*r)["order_id"]);
  auto list = registry.Call(ctx, "list_orders", json{{"limit", 10}});
  ASSERT_TRUE(list.ok());
  EXPECT_GE((*list)["count"].get<int>(), 4);
  // Another customer's order is invisible to C0001.
  auto other = store_->LatestOrders("demo", "C0002", 1);
  ASSERT_TRUE(other.ok() && !other->empty());
  EXPECT_EQ(registry.Call(ctx, "get_order", json{{"order_id", other->front().id}}).status().code(),
            ErrorCode::kNotFound);
}

TEST_F(DemoShopTest, KnowledgeBaseAnswersShopQuestions) {
  ASSERT_TRUE(LoadDemoTenant(*db_, *store_, *kb_, clock_).ok());
  struct Case { const char* query; const char* id; };
  for (const Case& c : {Case{"退款多久到账", "kb-refund-01"}, Case{"七天无理由退货", "kb-return-01"},
                        Case{"增值税专票", "kb-invoice-03"}, Case{"人工客服几点上班", "kb-contact-01"}}) {
    auto hits = kb_->Search("demo", c.query, 3);
    ASSERT_FALSE(hits.empty()) << c.query;
    std::vector<std::string> ids;
    for (const auto& h : hits) ids.push_back(h.id);
    EXPECT_NE(std::find(ids.begin(), ids.end(), c.id), ids.end()) << c.query << " -> " << ids[0];
  }
}

TEST_F(DemoShopTest, DataHubPartsGoInThroughIngestion) {
  ASSERT_TRUE(LoadDemoTenant(*db_, *store_, *kb_, clock_).ok());
  auto count = [&](const char* sql) {
    auto s = db_->Lock();
    auto& st = s.Prepare(sql);
    auto row = st.Step();
    return row.ok() && *row ? st.Int(0) : -1;
  };
  // Every demo row is recorded by the ingestion service under source "demo".
  EXPECT_EQ(count("SELECT COUNT(*) FROM dh_records WHERE tenant_id = 'demo' AND kind = 'orders' AND source = 'demo'"),
            200);
  EXPECT_GE(count("SELECT COUNT(*) FROM browsing_events WHERE tenant_id = 'demo'"), 200);
  EXPECT_GE(count("SELECT COUNT(*) FROM browsing_events WHERE tenant_id = 'demo' AND customer_id IS NULL"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM tickets WHERE tenant_id = 'demo'"), 5);
  EXPECT_GE(count("SELECT COUNT(*) FROM transactions WHERE tenant_id = 'demo'"), 150);
  // Second channel identities resolve to the CRM customer; nobody was merged by accident.
  datahub::IdentityService identity(*db_, clock_);
  EXPECT_EQ(*identity.Resolve("demo", "app_user_id", "app-880001"), "C0001");
  EXPECT_EQ(*identity.Resolve("demo", "phone", "13812345601"), "C0001");
  EXPECT_EQ(*identity.Resolve("demo", "wechat_unionid", "uWx000027182829"), "C0001");
  EXPECT_EQ(count("SELECT COUNT(*) FROM customers WHERE tenant_id = 'demo' AND merged_into IS NOT NULL"), 0);
  EXPECT_GE(count("SELECT COUNT(DISTINCT customer_id) FROM customer_identities WHERE tenant_id = 'demo' AND kind "
                  "NOT IN ('phone', 'email')"),
            25);
}

}  // namespace
}  // namespace kefu::demo
