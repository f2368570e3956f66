#include "tools/commerce_tools.h"

#include <gtest/gtest.h>

#include "app/schema.h"
#include "storage/testing.h"

namespace kefu::tools {
namespace {

using nlohmann::json;

constexpr int64_t kHour = 3'600'000;
constexpr int64_t kDay = 24 * kHour;
// 2026-11-23 12:00 in Beijing (04:00 UTC).
constexpr int64_t kNoonBeijing = 1'795'406'400'000;

class CommerceToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = storage::testdb::OpenFresh(storage::Engine::kSqlite, app::Schema());
    ASSERT_TRUE(db.ok());
    db_ = std::move(*db);
    store_ = std::make_unique<CommerceStore>(*db_);
    ASSERT_TRUE(store_->UpsertTenant({"shop", "示例商城", "demo", 1}).ok());
    ASSERT_TRUE(store_->UpsertTenant({"other", "别家", "other", 1}).ok());
    ASSERT_TRUE(store_->UpsertProduct("shop", {"P1", "索尼 降噪耳机", "数码", "索尼", 249900, 3, "旗舰降噪",
                                              {{"warranty", "整机1年"}}}).ok());
    ASSERT_TRUE(store_->UpsertProduct("shop", {"P2", "男士外套", "服装", "优衣库", 19900, 0, "",
                                              {{"sizes", {"M", "L"}}}}).ok());
    int64_t now = clock_.NowMs();
    // C1: a delivered order 10 days ago, an in-transit one 2 days ago, and a fresh unpaid one.
    AddOrder("SO1", "C1", "delivered", now - 10 * kDay, "中通快递", "ZT1",
             {{now - 10 * kDay + 5 * kHour, "picked_up"}, {now - 8 * kDay, "delivered"}});
    AddOrder("SO2", "C1", "in_transit", now - 2 * kDay, "顺丰速运", "SF2",
             {{now - 2 * kDay + 3 * kHour, "picked_up"}, {now - 30 * kHour, "in_transit"}, {now - 5 * kHour, "in_transit"}});
    AddOrder("SO3", "C1", "pending_payment", now - kHour, "", "", {});
    AddOrder("SO9", "C2", "paid", now - kHour, "", "", {});
    // Same order id in another tenant must never show up.
    ASSERT_TRUE(store_->UpsertOrder("other", MakeOrder("SO4", "C1", "paid", now, "", "")).ok());
    CommerceToolsOptions opt;
    opt.clock = &clock_;
    RegisterCommerceTools(registry_, *store_, opt);
  }

  static Order MakeOrder(const std::string& id, const std::string& cust, const std::string& status, int64_t created,
                         const std::string& carrier, const std::string& tracking) {
    Order o;
    o.id = id;
    o.customer_id = cust;
    o.status = status;
    o.items = {{"P1", "索尼 降噪耳机", "", 1, 249900}};
    o.total_cents = 249900;
    o.address = "浙江省杭州市西湖区文三路1号";
    if (!carrier.empty()) o.carrier = carrier;
    if (!tracking.empty()) o.tracking_no = tracking;
    o.created_ms = o.updated_ms = created;
    return o;
  }

  void AddOrder(const std::string& id, const std::string& cust, const std::string& status, int64_t created,
                const std::string& carrier, const std::string& tracking,
                std::vector<std::pair<int64_t, std::string>> events) {
    ASSERT_TRUE(store_->UpsertOrder("shop", MakeOrder(id, cust, status, created, carrier, tracking)).ok());
    for (auto& [ts, st] : events)
      ASSERT_TRUE(store_->UpsertLogisticsEvent("shop", {id, ts, st, "杭州转运中心", "【杭州转运中心】快件已到达"}).ok());
  }

  Result<json> Call(std::string_view tool, const json& args, std::string customer = "C1") {
    return registry_.Call({"shop", customer, "conv-1"}, tool, args);
  }

  FakeClock clock_{kNoonBeijing};
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<CommerceStore> store_;
  ToolRegistry registry_;
};

TEST_F(CommerceToolsTest, RegistersFiveToolsWithObjectSchemas) {
  std::vector<std::string> names;
  for (const Tool* t : registry_.List()) {
    names.emplace_back(t->Name());
    EXPECT_EQ(t->Parameters()["type"], "object");
    EXPECT_FALSE(t->Description().empty());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"get_order", "list_orders", "request_human", "search_products",
                                             "track_logistics"}));
}

TEST_F(CommerceToolsTest, GetOrderDefaultsToLatestOrder) {
  auto r = Call("get_order", json::object());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["order_id"], "SO3");
  EXPECT_EQ((*r)["status_label"], "待付款");
  EXPECT_EQ((*r)["can_cancel"], true);
  EXPECT_EQ((*r)["items"][0]["name"], "索尼 降噪耳机");
  EXPECT_EQ((*r)["total_text"], "¥2499.00");
  EXPECT_EQ((*r)["shipped"], false);
}

TEST_F(CommerceToolsTest, GetOrderByIdNormalisesAndReportsReturnWindow) {
  auto r = Call("get_order", {{"order_id", " so1 "}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["status_label"], "已签收");
  EXPECT_EQ((*r)["delivered_at"], FormatLocalTime(clock_.NowMs() - 8 * kDay, 480));
  // Delivered 8 days ago: the 7-day no-reason window has closed.
  EXPECT_EQ((*r)["can_return_without_reason"], false);
  EXPECT_EQ((*r)["can_cancel"], false);
}

TEST_F(CommerceToolsTest, OtherCustomersOrdersAreNotFound) {
  for (const char* tool : {"get_order", "track_logistics"}) {
    auto r = Call(tool, {{"order_id", "SO9"}});  // belongs to C2
    EXPECT_EQ(r.status().code(), ErrorCode::kNotFound) << tool;
    auto missing = Call(tool, {{"order_id", "SO404"}});
    // Indistinguishable from an order that does not exist.
    EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(r.status().message().find("SO9"), missing.status().message().find("SO404"));
    // Another tenant's order with the same customer id is invisible too.
    EXPECT_EQ(Call(tool, {{"order_id", "SO4"}}).status().code(), ErrorCode::kNotFound);
  }
  // An anonymous caller cannot read orders; an operator can.
  EXPECT_FALSE(registry_.Call({"shop", "", ""}, "get_order", {{"order_id", "SO9"}}).ok());
  ToolContext op{"shop", "", "", true};
  EXPECT_TRUE(registry_.Call(op, "get_order", {{"order_id", "SO9"}}).ok());
}

TEST_F(CommerceToolsTest, TrackLogisticsUsesLatestShippedOrder) {
  auto r = Call("track_logistics", json::object());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["order_id"], "SO2");  // SO3 is newer but unshipped
  EXPECT_EQ((*r)["status_label"], "运输中");
  EXPECT_EQ((*r)["carrier"], "顺丰速运");
  EXPECT_EQ((*r)["tracking_no"], "SF2");
  ASSERT_EQ((*r)["events"].size(), 3u);
  EXPECT_LT((*r)["events"][0]["ts_ms"].get<int64_t>(), (*r)["events"][2]["ts_ms"].get<int64_t>());
  EXPECT_EQ((*r)["latest_event"]["ts_ms"], clock_.NowMs() - 5 * kHour);
  EXPECT_EQ((*r)["latest_event"]["description"], "【杭州转运中心】快件已到达");
  // Picked up 45 h ago and SF takes 2 days: due at 15:00 today (Beijing time).
  EXPECT_EQ((*r)["eta"]["text"], "预计今天送达");
  EXPECT_EQ((*r)["eta"]["date"], "2026-11-23");
  EXPECT_EQ((*r)["eta"]["delayed"], false);
}

TEST_F(CommerceToolsTest, TrackLogisticsOfUnshippedOrderSaysSo) {
  auto r = Call("track_logistics", {{"order_id", "SO3"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["shipped"], false);
  EXPECT_TRUE((*r)["events"].empty());
  EXPECT_TRUE((*r)["eta"].is_null());
}

TEST_F(CommerceToolsTest, OverdueParcelIsFlaggedDelayed) {
  clock_.AdvanceMs(3 * kDay);
  auto r = Call("track_logistics", {{"order_id", "SO2"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["eta"]["delayed"], true);
  EXPECT_EQ((*r)["eta"]["text"], "预计明天送达");
}

TEST_F(CommerceToolsTest, ListOrders) {
  auto r = Call("list_orders", {{"limit", 2}});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ((*r)["orders"].size(), 2u);
  EXPECT_EQ((*r)["orders"][0]["order_id"], "SO3");
  EXPECT_EQ((*r)["orders"][1]["order_id"], "SO2");
  auto d = Call("list_orders", {{"status", "delivered"}});
  ASSERT_TRUE(d.ok());
  ASSERT_EQ((*d)["orders"].size(), 1u);
  EXPECT_EQ((*d)["orders"][0]["order_id"], "SO1");
  EXPECT_EQ(Call("list_orders", {{"status", "lost"}}).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Call("list_orders", {{"limit", 0}}).status().code(), ErrorCode::kInvalidArgument);
  auto none = Call("list_orders", json::object(), "C404");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ((*none)["count"], 0);
}

TEST_F(CommerceToolsTest, SearchProducts) {
  auto r = Call("search_products", {{"keyword", "耳机"}});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ((*r)["count"], 1);
  EXPECT_EQ((*r)["products"][0]["attrs"]["warranty"], "整机1年");
  EXPECT_EQ((*r)["products"][0]["price"], 2499.0);
  auto cheap = Call("search_products", {{"max_price", 200}});
  ASSERT_TRUE(cheap.ok());
  ASSERT_EQ((*cheap)["count"], 1);
  EXPECT_EQ((*cheap)["products"][0]["id"], "P2");
  EXPECT_EQ((*cheap)["products"][0]["in_stock"], false);
  EXPECT_EQ(Call("search_products", {{"min_price", 300}, {"max_price", 100}}).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(Call("search_products", {{"min_price", -1}}).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ((*r)["match"], "exact");
  // Unsegmented Chinese falls back to bigram matching: 索尼 and 耳机 both occur in P1's name.
  auto fuzzy = Call("search_products", {{"keyword", "索尼耳机"}});
  ASSERT_TRUE(fuzzy.ok());
  EXPECT_EQ((*fuzzy)["match"], "fuzzy");
  ASSERT_GE((*fuzzy)["count"].get<int>(), 1);
  EXPECT_EQ((*fuzzy)["products"][0]["id"], "P1");
  auto nothing = Call("search_products", {{"keyword", "冰箱"}});
  ASSERT_TRUE(nothing.ok());
  EXPECT_EQ((*nothing)["count"], 0);
}

TEST_F(CommerceToolsTest, RequestHumanRecordsAndReportsHours) {
  auto r = Call("request_human", {{"reason", "商品有质量问题"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["recorded"], true);
  EXPECT_TRUE((*r)["queue_position"].is_null());
  EXPECT_EQ((*r)["humans_available_now"], true);  // 12:00 Beijing
  EXPECT_EQ((*r)["service_hours"], "09:00-21:00");
  EXPECT_EQ(*store_->Count("shop", "handoff_requests"), 1);

  clock_.AdvanceMs(10 * kHour);  // 22:00 Beijing
  auto night = Call("request_human", json::object());
  ASSERT_TRUE(night.ok());
  EXPECT_EQ((*night)["humans_available_now"], false);
  EXPECT_EQ((*night)["next_available_at"], "2026-11-24 09:00");
  clock_.AdvanceMs(5 * kHour);  // 03:00 next day
  auto early = Call("request_human", json::object());
  EXPECT_EQ((*early)["next_available_at"], "2026-11-24 09:00");
  EXPECT_EQ(*store_->Count("shop", "handoff_requests"), 3);
}

TEST(FormatLocalTime, BeijingTime) {
  EXPECT_EQ(FormatLocalTime(kNoonBeijing, 480), "2026-11-23 12:00");
  EXPECT_EQ(FormatLocalTime(kNoonBeijing, 0), "2026-11-23 04:00");
}

}  // namespace
}  // namespace kefu::tools
