// Test fixture shared by the data hub's unit tests: an in-memory, migrated
// database with one tenant "t1" and the services over it on a fake clock.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "app/schema.h"
#include "datahub/identity.h"
#include "datahub/ingest.h"
#include "datahub/profile.h"
#include "storage/testing.h"
#include "tools/commerce_store.h"

namespace kefu::datahub::testing {

class DatahubTest : public ::testing::TestWithParam<storage::Engine> {
 protected:
  void SetUp() override {
    if (storage::testdb::Missing(GetParam())) GTEST_SKIP() << storage::testdb::kPostgresMissing;
    auto db = storage::testdb::OpenFresh(GetParam(), app::Schema());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    store_ = std::make_unique<tools::CommerceStore>(*db_, clock_);
    ASSERT_TRUE(store_->UpsertTenant({"t1", "Shop", "w1", clock_.NowMs()}).ok());
    identity_ = std::make_unique<IdentityService>(*db_, clock_);
    ingest_ = std::make_unique<IngestService>(*db_, *identity_, clock_, IngestSettings{});
    profile_ = std::make_unique<ProfileService>(*db_, *identity_, clock_);
  }

  IngestReport Ingest(Kind kind, const nlohmann::json& records, const std::string& source = "src") {
    auto r = ingest_->Ingest("t1", kind, source, records);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : IngestReport{};
  }

  int64_t Scalar(const std::string& sql) {
    auto s = db_->Lock();
    auto& st = s.Prepare(sql);
    auto row = st.Step();
    return row.ok() && *row ? st.Int(0) : -1;
  }

  static constexpr int64_t kT0 = 1'790'000'000'000;
  FakeClock clock_{kT0 + 100 * 86'400'000LL};
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<tools::CommerceStore> store_;
  std::unique_ptr<IdentityService> identity_;
  std::unique_ptr<IngestService> ingest_;
  std::unique_ptr<ProfileService> profile_;
};

}  // namespace kefu::datahub::testing
