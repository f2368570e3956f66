#include "datahub/ingest.h"

#include <unistd.h>

#include <filesystem>

#include "app/schema.h"
#include "datahub/test_util.h"
#include "storage/testing.h"

namespace kefu::datahub {
namespace {

using nlohmann::json;
using testing::DatahubTest;

class IngestTest : public DatahubTest {
 protected:
  void SetUp() override {
    DatahubTest::SetUp();
    if (IsSkipped()) return;
    ASSERT_EQ(Ingest(Kind::kCustomers, json::array({{{"id", "C1"}, {"name", "张伟"}, {"phone", "13800000001"}}}))
                  .accepted,
              1);
  }
  static json Order(const std::string& id, int64_t created, const std::string& status = "paid") {
    return {{"id", id},
            {"customer_id", "C1"},
            {"status", status},
            {"total_cents", 1000},
            {"items", json::array({{{"product_id", "P1"}, {"qty", 1}, {"price_cents", 1000}}})},
            {"created_ms", created}};
  }
};

const std::string& ReasonOf(const IngestReport& r, size_t index) {
  static const std::string kNone = "<accepted>";
  for (const auto& e : r.rejected)
    if (e.index == index) return e.reason;
  return kNone;
}

// On SQLite and on PostgreSQL (skipped without a test server: storage/testing.h).
INSTANTIATE_TEST_SUITE_P(Engines, IngestTest, ::testing::ValuesIn(storage::testdb::AllEngines()),
                         [](const auto& info) { return storage::testdb::EngineTestName(info.param); });

TEST_P(IngestTest, RejectsBadRowsWithReasonsAndCommitsTheGoodOnes) {
  json batch = json::array({
      Order("O1", kT0),                                                          // 0 good
      {{"id", "O2"}, {"customer_id", "C1"}, {"status", "paid"}, {"total_cents", "1000"},
       {"items", json::array({{{"product_id", "P1"}}})}, {"created_ms", kT0}},   // 1 wrong type
      Order("O3", kT0, "teleported"),                                            // 2 unknown enum
      {{"id", "O4"}, {"customer_id", "C1"}, {"status", "paid"}, {"total_cents", 5}},  // 3 missing items
      Order("O5", kT0),                                                          // 4 unknown customer
      42,                                                                        // 5 not an object
      Order("O6", kT0),                                                          // 6 unknown field
      Order("O7", 12),                                                           // 7 time in seconds?
      Order("O 8", kT0),                                                         // 8 bad id characters
  });
  batch[4]["customer_id"] = "NOBODY";
  batch[6]["colour"] = "red";
  IngestReport r = Ingest(Kind::kOrders, batch);
  EXPECT_EQ(r.accepted, 1);
  ASSERT_EQ(r.rejected.size(), 8u);
  EXPECT_EQ(ReasonOf(r, 1), "total_cents: expected integer, got string");
  EXPECT_NE(ReasonOf(r, 2).find("status: unknown value 'teleported'"), std::string::npos) << ReasonOf(r, 2);
  EXPECT_EQ(ReasonOf(r, 3), "items: missing");
  EXPECT_NE(ReasonOf(r, 4).find("unknown customer 'NOBODY'"), std::string::npos) << ReasonOf(r, 4);
  EXPECT_EQ(ReasonOf(r, 5), "record: expected object, got integer");
  EXPECT_EQ(ReasonOf(r, 6), "unknown field 'colour'");
  EXPECT_NE(ReasonOf(r, 7).find("created_ms: must be >="), std::string::npos) << ReasonOf(r, 7);
  EXPECT_NE(ReasonOf(r, 8).find("id: 1-64 characters"), std::string::npos) << ReasonOf(r, 8);
  EXPECT_EQ(r.rejected[0].id, "O2");
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM orders"), 1);
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM dh_records WHERE kind = 'orders'"), 1);
  EXPECT_TRUE(store_->GetOrder("t1", "O1").ok());
}

TEST_P(IngestTest, SameContentAgainIsUnchanged) {
  json batch = json::array({Order("O1", kT0), Order("O2", kT0 + 1)});
  IngestReport first = Ingest(Kind::kOrders, batch);
  EXPECT_EQ(first.created, 2);
  IngestReport again = Ingest(Kind::kOrders, batch);
  EXPECT_EQ(again.accepted, 0);
  EXPECT_EQ(again.unchanged, 2);
  EXPECT_TRUE(again.rejected.empty());
  EXPECT_EQ(Scalar("SELECT MAX(version) FROM dh_records WHERE kind = 'orders'"), 1);
}

TEST_P(IngestTest, EntitiesUpdateOnlyWithNewerVersions) {
  json o = Order("O1", kT0);
  o["updated_ms"] = kT0 + 10;
  EXPECT_EQ(Ingest(Kind::kOrders, json::array({o})).created, 1);
  o["status"] = "cancelled";
  o["updated_ms"] = kT0 + 20;
  IngestReport newer = Ingest(Kind::kOrders, json::array({o}));
  EXPECT_EQ(newer.updated, 1);
  EXPECT_EQ(store_->GetOrder("t1", "O1")->status, "cancelled");
  EXPECT_EQ(Scalar("SELECT version FROM dh_records WHERE source_id = 'O1'"), 2);
  o["status"] = "paid";
  o["updated_ms"] = kT0 + 15;  // an older snapshot arriving late
  IngestReport stale = Ingest(Kind::kOrders, json::array({o}));
  ASSERT_EQ(stale.rejected.size(), 1u);
  EXPECT_NE(stale.rejected[0].reason.find("stale"), std::string::npos);
  EXPECT_EQ(store_->GetOrder("t1", "O1")->status, "cancelled");
}

TEST_P(IngestTest, EventsAreImmutable) {
  json e = {{"id", "E1"}, {"customer_id", "C1"}, {"ts_ms", kT0}, {"type", "product_view"}, {"product_id", "P1"}};
  EXPECT_EQ(Ingest(Kind::kBrowsing, json::array({e})).created, 1);
  json changed = e;
  changed["product_id"] = "P2";
  IngestReport r = Ingest(Kind::kBrowsing, json::array({changed, e}));
  ASSERT_EQ(r.rejected.size(), 1u);
  EXPECT_EQ(r.rejected[0].index, 0u);
  EXPECT_EQ(r.rejected[0].id, "E1");
  EXPECT_NE(r.rejected[0].reason.find("conflict"), std::string::npos);
  EXPECT_EQ(r.unchanged, 1);
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM browsing_events WHERE product_id = 'P1'"), 1);
  // The same id from another source is a different record, but the event id is taken.
  IngestReport other = Ingest(Kind::kBrowsing, json::array({changed}), "app");
  ASSERT_EQ(other.rejected.size(), 1u);
  EXPECT_NE(other.rejected[0].reason.find("another source"), std::string::npos);
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM dh_records WHERE kind = 'browsing'"), 1);
}

TEST_P(IngestTest, OutOfOrderLogisticsAreReconciledByEventTime) {
  ASSERT_EQ(Ingest(Kind::kOrders, json::array({Order("O1", kT0)})).created, 1);
  json delivered = {{"order_id", "O1"}, {"ts_ms", kT0 + 3000}, {"status", "delivered"}, {"location", "杭州"}};
  json picked = {{"order_id", "O1"}, {"ts_ms", kT0 + 1000}, {"status", "picked_up"}, {"location", "广州"}};
  json transit = {{"order_id", "O1"}, {"ts_ms", kT0 + 2000}, {"status", "in_transit"}};
  IngestReport r1 = Ingest(Kind::kLogistics, json::array({delivered}));
  EXPECT_EQ(r1.reordered, 0);
  EXPECT_EQ(store_->GetOrder("t1", "O1")->status, "delivered");
  IngestReport r2 = Ingest(Kind::kLogistics, json::array({picked, transit}));
  EXPECT_EQ(r2.accepted, 2);
  EXPECT_EQ(r2.reordered, 2);
  auto order = store_->GetOrder("t1", "O1");
  EXPECT_EQ(order->status, "delivered");  // the latest event wins, not the last to arrive
  EXPECT_EQ(order->updated_ms, kT0 + 3000);
  auto events = store_->LogisticsEvents("t1", "O1");
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].status, "picked_up");
  EXPECT_EQ((*events)[2].status, "delivered");
  // Unknown order: rejected, nothing stored.
  json orphan = {{"order_id", "NOPE"}, {"ts_ms", kT0}, {"status", "delivered"}};
  IngestReport r3 = Ingest(Kind::kLogistics, json::array({orphan}));
  ASSERT_EQ(r3.rejected.size(), 1u);
  EXPECT_NE(r3.rejected[0].reason.find("unknown order"), std::string::npos);
}

TEST_P(IngestTest, LogisticsDoNotReopenCancelledOrders) {
  ASSERT_EQ(Ingest(Kind::kOrders, json::array({Order("O1", kT0, "refunding")})).created, 1);
  json ev = {{"order_id", "O1"}, {"ts_ms", kT0 + 10}, {"status", "delivered"}};
  EXPECT_EQ(Ingest(Kind::kLogistics, json::array({ev})).accepted, 1);
  EXPECT_EQ(store_->GetOrder("t1", "O1")->status, "refunding");
}

TEST_P(IngestTest, OversizedBatchIsRejectedWhole) {
  json batch = json::array();
  for (int i = 0; i < 1001; ++i) batch.push_back(Order("O" + std::to_string(i), kT0));
  auto r = ingest_->Ingest("t1", Kind::kOrders, "src", batch);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kPayloadTooLarge);
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM orders"), 0);
}

TEST_P(IngestTest, WholeBatchErrors) {
  EXPECT_EQ(ingest_->Ingest("nope", Kind::kOrders, "src", json::array()).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(ingest_->Ingest("t1", Kind::kOrders, "bad source", json::array()).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(ingest_->Ingest("t1", Kind::kOrders, "src", json::object()).status().code(),
            ErrorCode::kInvalidArgument);
}

TEST_P(IngestTest, ARowIsAllOrNothing) {
  // A rejected customer leaves neither the customer row nor identities behind.
  json bad = {{"id", "C2"}, {"name", "李娜"}, {"identities", json::array({{{"kind", "fax"}, {"value", "1"}}})}};
  IngestReport r = Ingest(Kind::kCustomers, json::array({bad}));
  ASSERT_EQ(r.rejected.size(), 1u);
  EXPECT_NE(r.rejected[0].reason.find("unknown identity kind 'fax'"), std::string::npos);
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM customers WHERE id = 'C2'"), 0);
  // A transaction whose customer is unknown leaves no bookkeeping behind either.
  json tx = {{"id", "T1"}, {"customer_id", "C9"}, {"ts_ms", kT0}, {"type", "payment"}, {"method", "card"},
             {"amount_cents", 100}, {"status", "succeeded"}, {"card_last4", "4242"}};
  EXPECT_EQ(Ingest(Kind::kTransactions, json::array({tx})).rejected.size(), 1u);
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM dh_records WHERE kind = 'transactions'"), 0);
  tx["customer_id"] = "C1";
  tx["card_last4"] = "4242424242424242";
  IngestReport full_pan = Ingest(Kind::kTransactions, json::array({tx}));
  ASSERT_EQ(full_pan.rejected.size(), 1u);
  EXPECT_NE(full_pan.rejected[0].reason.find("card_last4"), std::string::npos);
}

TEST_P(IngestTest, InventoryAndProducts) {
  json p = {{"id", "P1"}, {"name", "耳机"}, {"category", "数码"}, {"price_cents", 249900}, {"stock", 5}};
  EXPECT_EQ(Ingest(Kind::kProducts, json::array({p})).created, 1);
  json inv = {{"product_id", "P1"}, {"stock", 2}, {"updated_ms", kT0 + 1}};
  json unknown = {{"product_id", "P9"}, {"stock", 2}};
  IngestReport r = Ingest(Kind::kInventory, json::array({inv, unknown}));
  EXPECT_EQ(r.accepted, 1);
  ASSERT_EQ(r.rejected.size(), 1u);
  EXPECT_EQ(r.rejected[0].id, "P9");
  EXPECT_EQ(store_->GetProduct("t1", "P1")->stock, 2);
  // A product update without stock keeps the counted stock.
  p["price_cents"] = 199900;
  p.erase("stock");
  EXPECT_EQ(Ingest(Kind::kProducts, json::array({p})).updated, 1);
  EXPECT_EQ(store_->GetProduct("t1", "P1")->stock, 2);
  EXPECT_EQ(store_->GetProduct("t1", "P1")->price_cents, 199900);
}

TEST_P(IngestTest, CsvRowsBecomeTypedRecords) {
  std::vector<std::string> header = {"id", "customer_id", "status", "total_cents", "items", "created_ms", "carrier"};
  auto rec = IngestService::RecordFromCsv(
      Kind::kOrders, header,
      {"O1", "C1", "paid", "1000", R"([{"product_id":"P1","qty":1,"price_cents":1000}])", std::to_string(kT0), ""});
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  EXPECT_EQ((*rec)["total_cents"], 1000);
  EXPECT_FALSE(rec->contains("carrier"));
  EXPECT_EQ(Ingest(Kind::kOrders, json::array({*rec})).created, 1);
  auto bad = IngestService::RecordFromCsv(Kind::kOrders, header, {"O2", "C1", "paid", "ten", "[]", "1", ""});
  EXPECT_EQ(bad.status().message(), "total_cents: expected integer, got 'ten'");
  EXPECT_FALSE(IngestService::RecordFromCsv(Kind::kOrders, header, {"O2"}).ok());
}

TEST_P(IngestTest, SchemasDescribeEveryKind) {
  for (Kind k : kAllKinds) {
    json s = IngestService::RecordSchema(k);
    EXPECT_EQ(s["type"], "object");
    EXPECT_FALSE(s["required"].empty()) << KindName(k);
    EXPECT_EQ(ParseKind(KindName(k)), k);
  }
  EXPECT_FALSE(ParseKind("users").has_value());
  EXPECT_EQ(IngestService::RecordSchema(Kind::kOrders)["properties"]["status"]["enum"].size(), 9u);
}

TEST(IngestWal, BulkIngestionKeepsTheWalBounded) {
  // No statement may keep a read snapshot open between batches (one did:
  // Database::SchemaVersion), or SQLite can never restart the WAL and it
  // grows with every batch.
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("kefu_datahub_wal_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string path = (dir / "kefu.db").string();
  {
    auto db = storage::OpenWithSchema(path, app::Schema());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    FakeClock clock;
    tools::CommerceStore store(**db, clock);
    ASSERT_TRUE(store.UpsertTenant({"t1", "Shop", "w1", 1}).ok());
    IdentityService identity(**db, clock);
    IngestService ingest(**db, identity, clock);
    ASSERT_TRUE(ingest.Ingest("t1", Kind::kCustomers, "crm", json::array({{{"id", "C1"}, {"name", "a"}}})).ok());
    for (int b = 0; b < 40; ++b) {
      json batch = json::array();
      for (int i = 0; i < 1000; ++i) {
        batch.push_back({{"id", "E" + std::to_string(b * 1000 + i)}, {"customer_id", "C1"},
                         {"ts_ms", 1'700'000'000'000 + b * 1000 + i}, {"type", "page_view"},
                         {"url", "/some/fairly/long/page/path/to/fill/pages/" + std::to_string(i)}});
      }
      auto r = ingest.Ingest("t1", Kind::kBrowsing, "web", batch);
      ASSERT_TRUE(r.ok() && r->created == 1000);
    }
    // The background checkpointer starts at 1,000 pages; the writer checkpoints
    // inline at 4,000 (16 MiB, storage/sqlite.cpp) when the background one lags
    // (a loaded machine): the WAL stays under that bound plus one batch.
    EXPECT_LT(fs::file_size(path + "-wal"), 24u << 20);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kefu::datahub
