#include "storage/sqlite.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

#include "storage/schema.h"

namespace kefu::storage {

TEST(Sqlite, MigratesAndRoundTrips) {
  auto db = Database::Open(":memory:");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  ASSERT_TRUE((*db)->Migrate(SchemaMigrations()).ok());
  EXPECT_EQ((*db)->SchemaVersion(), SchemaMigrations().back().version);
  // Migrating again is a no-op.
  ASSERT_TRUE((*db)->Migrate(SchemaMigrations()).ok());

  auto s = (*db)->Lock();
  ASSERT_TRUE(s.Exec("INSERT INTO tenants VALUES('t','T','k',1)").ok());
  auto& st = s.Prepare("SELECT name, widget_key FROM tenants WHERE id = ?");
  st.Bind(1, "t");
  auto row = st.Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(st.Text(0), "T");
}

TEST(Sqlite, TransactionRollsBackUnlessCommitted) {
  auto db = Database::Open(":memory:");
  ASSERT_TRUE(db.ok());
  {
    auto s = (*db)->Lock();
    ASSERT_TRUE(s.Exec("CREATE TABLE x(a INTEGER UNIQUE)").ok());
    {
      auto tx = s.Begin();
      ASSERT_TRUE(s.Exec("INSERT INTO x VALUES(1)").ok());
    }  // rolled back
    auto tx = s.Begin();
    ASSERT_TRUE(s.Exec("INSERT INTO x VALUES(2)").ok());
    ASSERT_TRUE(tx.Commit().ok());
    auto& st = s.Prepare("SELECT count(*) FROM x");
    ASSERT_TRUE(*st.Step());
    EXPECT_EQ(st.Int(0), 1);
    auto& ins = s.Prepare("INSERT INTO x VALUES(?)");
    ins.Bind(1, int64_t{2});
    Status dup = ins.Run();
    EXPECT_EQ(dup.code(), ErrorCode::kAlreadyExists);
  }
}

TEST(Sqlite, RejectsOutOfOrderMigrations) {
  auto db = Database::Open(":memory:");
  ASSERT_TRUE(db.ok());
  Status s = (*db)->Migrate({{2, "b", "SELECT 1"}, {1, "a", "SELECT 1"}});
  EXPECT_FALSE(s.ok());
}

// Storage failures (disk full, I/O errors, read-only files, files that cannot
// be opened, corruption) are the server's trouble: unavailable (HTTP 503), not
// internal (500) nor resource_exhausted (429).
TEST(SqliteErrors, StorageFailuresMapToUnavailable) {
  for (int rc : {SQLITE_FULL, SQLITE_IOERR, SQLITE_IOERR_WRITE, SQLITE_IOERR_FSYNC, SQLITE_IOERR_SHORT_READ,
                 SQLITE_READONLY, SQLITE_READONLY_DBMOVED, SQLITE_CANTOPEN, SQLITE_CORRUPT, SQLITE_NOTADB,
                 SQLITE_NOMEM, SQLITE_PERM, SQLITE_PROTOCOL, SQLITE_NOLFS}) {
    EXPECT_TRUE(IsStorageFailure(rc)) << rc;
    Status s = SqliteStatus(nullptr, rc, "sqlite step");
    EXPECT_EQ(s.code(), ErrorCode::kUnavailable) << rc << " " << s.ToString();
    EXPECT_NE(s.message().find("storage unavailable"), std::string::npos) << s.message();
  }
  EXPECT_EQ(SqliteCodeName(SQLITE_IOERR_WRITE), "SQLITE_IOERR");
  EXPECT_EQ(SqliteCodeName(SQLITE_FULL), "SQLITE_FULL");
  // Contention is unavailable too, but not a storage failure (it heals itself).
  EXPECT_EQ(SqliteStatus(nullptr, SQLITE_BUSY, "x").code(), ErrorCode::kUnavailable);
  EXPECT_FALSE(IsStorageFailure(SQLITE_BUSY));
  EXPECT_FALSE(IsStorageFailure(SQLITE_LOCKED));
  EXPECT_EQ(SqliteStatus(nullptr, SQLITE_CONSTRAINT_UNIQUE, "x").code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(SqliteStatus(nullptr, SQLITE_ERROR, "x").code(), ErrorCode::kInternal);
  EXPECT_EQ(SqliteStatus(nullptr, SQLITE_MISUSE, "x").code(), ErrorCode::kInternal);
  EXPECT_TRUE(SqliteStatus(nullptr, SQLITE_DONE, "x").ok());
}

class SqliteHealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("kefu_sqlite_health_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path() const { return (dir_ / "kefu.db").string(); }
  std::filesystem::path dir_;
};

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

// A real SQLITE_FULL (the file may not grow: PRAGMA max_page_count): every
// write is unavailable, the database unhealthy, the failure logged once per
// interval; the next committed write heals it.
TEST_F(SqliteHealthTest, DiskFullIsUnavailableLoggedOnceAndHealsOnTheNextCommit) {
  DatabaseOptions options;
  options.failure_log_interval_ms = 60'000;
  auto db = Database::Open(Path(), options);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto s = (*db)->Lock();
  ASSERT_TRUE(s.Exec("CREATE TABLE blobs(b BLOB)").ok());
  auto& pages = s.Prepare("PRAGMA page_count");
  ASSERT_TRUE(*pages.Step());
  const int64_t count = pages.Int(0);
  pages.Reset();
  ASSERT_TRUE(s.Exec("PRAGMA max_page_count = " + std::to_string(count)).ok());
  EXPECT_TRUE((*db)->Healthy());

  ::testing::internal::CaptureStderr();
  for (int i = 0; i < 5; ++i) {
    auto& ins = s.Prepare("INSERT INTO blobs VALUES(zeroblob(65536))");
    Status st = ins.Run();
    EXPECT_EQ(st.code(), ErrorCode::kUnavailable) << st.ToString();
    EXPECT_NE(st.message().find("full"), std::string::npos) << st.message();
  }
  const std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(Count(logged, "\"storage_failure\""), 1u) << logged;
  EXPECT_NE(logged.find("SQLITE_FULL"), std::string::npos) << logged;
  EXPECT_FALSE((*db)->Healthy());
  StorageHealth h = (*db)->Health();
  EXPECT_FALSE(h.ok);
  EXPECT_EQ(h.sqlite_code, "SQLITE_FULL");
  EXPECT_EQ(h.failures, 5);
  EXPECT_GT(h.since_ms, 0);

  // Room again: the next write commits and the database is healthy.
  ASSERT_TRUE(s.Exec("PRAGMA max_page_count = 1000000").ok());
  auto& ins = s.Prepare("INSERT INTO blobs VALUES(zeroblob(65536))");
  ASSERT_TRUE(ins.Run().ok());
  EXPECT_TRUE((*db)->Healthy());
  EXPECT_TRUE((*db)->Health().ok);
  EXPECT_EQ((*db)->Health().failures, 0);

  // A nearly full disk lets some writes through: the state flaps, the log
  // still gets at most one storage_failure line per interval.
  auto& pages2 = s.Prepare("PRAGMA page_count");
  ASSERT_TRUE(*pages2.Step());
  const int64_t now_count = pages2.Int(0);
  pages2.Reset();
  ASSERT_TRUE(s.Exec("PRAGMA max_page_count = " + std::to_string(now_count)).ok());
  ::testing::internal::CaptureStderr();
  auto& again = s.Prepare("INSERT INTO blobs VALUES(zeroblob(65536))");
  EXPECT_EQ(again.Run().code(), ErrorCode::kUnavailable);
  const std::string relogged = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(Count(relogged, "\"storage_failure\""), 0u) << relogged;
  EXPECT_FALSE((*db)->Healthy());
  EXPECT_EQ((*db)->Health().failures, 1);
}

// A read-only database (PRAGMA query_only: SQLITE_READONLY): a probe write
// fails while it lasts and heals the database once writes work again. A
// transaction's commit also heals it.
TEST_F(SqliteHealthTest, ProbeWriteProvesRecovery) {
  auto db = Database::Open(Path());
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  ASSERT_TRUE((*db)->Migrate(SchemaMigrations()).ok());
  const int version = (*db)->SchemaVersion();
  ASSERT_TRUE((*db)->Lock().Exec("PRAGMA query_only = 1").ok());
  Status probe = (*db)->ProbeWrite();
  EXPECT_EQ(probe.code(), ErrorCode::kUnavailable) << probe.ToString();
  EXPECT_FALSE((*db)->Healthy());
  EXPECT_EQ((*db)->Health().sqlite_code, "SQLITE_READONLY");
  ASSERT_TRUE((*db)->Lock().Exec("PRAGMA query_only = 0").ok());
  EXPECT_TRUE((*db)->ProbeWrite().ok());
  EXPECT_TRUE((*db)->Healthy());
  EXPECT_EQ((*db)->SchemaVersion(), version);  // the probe changes nothing

  ASSERT_TRUE((*db)->Lock().Exec("PRAGMA query_only = 1").ok());
  {
    auto s = (*db)->Lock();
    EXPECT_EQ(s.Exec("INSERT INTO tenants VALUES('t','T','k',1)").code(), ErrorCode::kUnavailable);
  }
  EXPECT_FALSE((*db)->Healthy());
  ASSERT_TRUE((*db)->Lock().Exec("PRAGMA query_only = 0").ok());
  {
    auto s = (*db)->Lock();
    auto tx = s.Begin();
    ASSERT_TRUE(s.Exec("INSERT INTO tenants VALUES('t','T','k',1)").ok());
    ASSERT_TRUE(tx.Commit().ok());
  }
  EXPECT_TRUE((*db)->Healthy());
}

// Start-up names the operating system's reason, not SQLite's generic one.
// (A directory where the WAL file must be: works as root, which ignores
// permission bits.)
TEST_F(SqliteHealthTest, OpenNamesTheFileThatCannotBeUsed) {
  EXPECT_EQ(DiagnoseFiles(Path()), "");
  std::filesystem::create_directories(Path() + "-wal");
  auto db = Database::Open(Path());
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(db.status().message().find("kefu.db-wal: Is a directory"), std::string::npos) << db.status().ToString();
  EXPECT_NE(DiagnoseFiles(Path()).find("kefu.db-wal"), std::string::npos);
  // The data directory is a file.
  const std::string file = (dir_ / "plain").string();
  { std::FILE* f = std::fopen(file.c_str(), "w"); ASSERT_NE(f, nullptr); std::fclose(f); }
  EXPECT_NE(DiagnoseFiles(file + "/kefu.db").find("cannot use directory"), std::string::npos);
}

}  // namespace kefu::storage
