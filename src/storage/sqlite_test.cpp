#include "storage/sqlite.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "storage/migration.h"

namespace kefu::storage {

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
  EXPECT_EQ(h.code, "SQLITE_FULL");
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
  MigrationSet schema;
  schema.Add({{.module = "m",
               .version = 1,
               .name = "tenants",
               .sql = "CREATE TABLE tenants(id TEXT PRIMARY KEY, name TEXT, widget_key TEXT, created_ms INTEGER)"}});
  ASSERT_TRUE((*db)->Migrate(schema).ok());
  const int version = (*db)->SchemaVersion();
  ASSERT_TRUE((*db)->Lock().Exec("PRAGMA query_only = 1").ok());
  Status probe = (*db)->ProbeWrite();
  EXPECT_EQ(probe.code(), ErrorCode::kUnavailable) << probe.ToString();
  EXPECT_FALSE((*db)->Healthy());
  EXPECT_EQ((*db)->Health().code, "SQLITE_READONLY");
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

// ---- Read connections and group commit ---------------------------------------

class SqlitePoolTest : public SqliteHealthTest {
 protected:
  std::unique_ptr<Database> OpenDb(DatabaseOptions options = {}) {
    auto db = Database::Open(Path(), options);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    if (!db.ok()) return nullptr;
    EXPECT_TRUE((*db)->Lock().Exec("CREATE TABLE IF NOT EXISTS t(seq INTEGER UNIQUE, v TEXT)").ok());
    return std::move(*db);
  }
  static int64_t CountRows(Session s, const std::string& where = "1") {
    auto& st = s.Prepare("SELECT count(*) FROM t WHERE " + where);
    auto row = st.Step();
    return row.ok() && *row ? st.Int(0) : -1;
  }
  // Inserts the next seq (MAX+1) with value v.
  static Status InsertNext(Session& s, const std::string& v) {
    auto& q = s.Prepare("SELECT COALESCE(MAX(seq), 0) + 1 FROM t");
    KEFU_ASSIGN_OR_RETURN(bool row, q.Step());
    const int64_t seq = row ? q.Int(0) : 1;
    q.Reset();
    auto& ins = s.Prepare("INSERT INTO t(seq, v) VALUES(?, ?)");
    ins.Bind(1, seq).Bind(2, v);
    return ins.Run();
  }
};

TEST_F(SqlitePoolTest, ReadSessionsSeeCommittedDataAndCannotWrite) {
  DatabaseOptions options;
  options.read_connections = 2;
  auto db = OpenDb(options);
  ASSERT_TRUE(db);
  EXPECT_EQ(db->read_connections(), 2);
  EXPECT_EQ(CountRows(db->Read()), 0);
  ASSERT_TRUE(db->Write([](Session& s) { return InsertNext(s, "a"); }).ok());
  // Every reader, whichever the pool hands out, sees the commit.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(CountRows(db->Read()), 1);
  {
    auto s = db->Lock();
    auto tx = s.Begin();
    ASSERT_TRUE(InsertNext(s, "b").ok());
    // Uncommitted: invisible to readers (and readers are not blocked).
    EXPECT_EQ(CountRows(db->Read()), 1);
    ASSERT_TRUE(tx.Commit().ok());
  }
  EXPECT_EQ(CountRows(db->Read()), 2);
  // Two read sessions at once, beside a writer session.
  {
    auto w = db->Lock();
    auto r1 = db->Read();
    auto r2 = db->Read();
    auto& a = r1.Prepare("SELECT count(*) FROM t");
    auto& b = r2.Prepare("SELECT count(*) FROM t");
    ASSERT_TRUE(*a.Step());
    ASSERT_TRUE(*b.Step());
    EXPECT_EQ(a.Int(0), 2);
    EXPECT_EQ(b.Int(0), 2);
  }
  // A statement left on a row does not pin the reader's snapshot past its session.
  {
    auto r = db->Read();
    auto& st = r.Prepare("SELECT seq FROM t ORDER BY seq");
    ASSERT_TRUE(*st.Step());
  }
  ASSERT_TRUE(db->Write([](Session& s) { return InsertNext(s, "c"); }).ok());
  for (int i = 0; i < 4; ++i) EXPECT_EQ(CountRows(db->Read()), 3);
  // Readers are read-only.
  auto r = db->Read();
  EXPECT_FALSE(r.Exec("INSERT INTO t(seq, v) VALUES(100, 'x')").ok());
}

TEST(SqlitePool, InMemoryDatabasesReadOnTheWriter) {
  auto db = Database::Open(":memory:");
  ASSERT_TRUE(db.ok());
  EXPECT_EQ((*db)->read_connections(), 0);
  ASSERT_TRUE((*db)->Lock().Exec("CREATE TABLE x(a)").ok());
  ASSERT_TRUE((*db)->Write([](Session& s) { return s.Exec("INSERT INTO x VALUES(1)"); }).ok());
  auto s = (*db)->Read();
  auto& st = s.Prepare("SELECT count(*) FROM x");
  ASSERT_TRUE(*st.Step());
  EXPECT_EQ(st.Int(0), 1);
}

// Many threads allocating MAX(seq)+1 at once: every write commits, the
// sequence has no gap and no duplicate, and writes shared transactions.
TEST_F(SqlitePoolTest, ConcurrentWritersShareCommitsAndAllocateSequencesCorrectly) {
  auto db = OpenDb();
  ASSERT_TRUE(db);
  constexpr int kThreads = 8, kEach = 150;
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string v = std::to_string(t) + ":" + std::to_string(i);
        if (!db->Write([&](Session& s) { return InsertNext(s, v); }).ok()) ++failed;
        if (i % 10 == 0) (void)CountRows(db->Read());
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failed.load(), 0);
  auto s = db->Read();
  auto& st = s.Prepare("SELECT count(*), MIN(seq), MAX(seq), count(DISTINCT v) FROM t");
  ASSERT_TRUE(*st.Step());
  EXPECT_EQ(st.Int(0), kThreads * kEach);
  EXPECT_EQ(st.Int(1), 1);
  EXPECT_EQ(st.Int(2), kThreads * kEach);
  EXPECT_EQ(st.Int(3), kThreads * kEach);
  WriteStats w = db->Stats();
  EXPECT_EQ(w.writes, kThreads * kEach);
  EXPECT_LE(w.transactions, w.writes);
}

// Runs `fns` as concurrent writers that all queue behind one slow write, so
// they form one batch; returns their statuses.
std::vector<Status> RunBehindSlowWrite(Database& db, const std::vector<std::function<Status(Session&)>>& fns) {
  std::vector<Status> out(fns.size());
  std::atomic<bool> in_slow{false};
  std::thread slow([&] {
    (void)db.Write([&](Session& s) {
      in_slow = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the others queue meanwhile
      return s.Exec("INSERT INTO t(seq, v) VALUES(1000, 'slow')");
    });
  });
  while (!in_slow) std::this_thread::yield();
  std::vector<std::thread> threads;
  for (size_t i = 0; i < fns.size(); ++i) threads.emplace_back([&, i] { out[i] = db.Write(fns[i]); });
  for (auto& th : threads) th.join();
  slow.join();
  return out;
}

TEST_F(SqlitePoolTest, AFailingWriteIsUndoneAloneInItsBatch) {
  auto db = OpenDb();
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->Write([](Session& s) { return s.Exec("INSERT INTO t(seq, v) VALUES(1, 'first')"); }).ok());
  std::vector<std::function<Status(Session&)>> fns = {
      [](Session& s) { return s.Exec("INSERT INTO t(seq, v) VALUES(10, 'ok1')"); },
      // A constraint violation (seq 1 exists).
      [](Session& s) { return s.Exec("INSERT INTO t(seq, v) VALUES(1, 'dup')"); },
      [](Session& s) { return s.Exec("INSERT INTO t(seq, v) VALUES(11, 'ok2')"); },
      // Wrote, then decided to fail: its write must go.
      [](Session& s) -> Status {
        KEFU_RETURN_IF_ERROR(s.Exec("INSERT INTO t(seq, v) VALUES(12, 'undone')"));
        return InvalidArgument("changed my mind");
      },
      // Threw after writing.
      [](Session& s) -> Status {
        (void)s.Exec("INSERT INTO t(seq, v) VALUES(13, 'thrown')");
        throw std::runtime_error("boom");
      },
      [](Session& s) { return s.Exec("INSERT INTO t(seq, v) VALUES(14, 'ok3')"); },
  };
  std::vector<Status> st = RunBehindSlowWrite(*db, fns);
  EXPECT_TRUE(st[0].ok()) << st[0].ToString();
  EXPECT_EQ(st[1].code(), ErrorCode::kAlreadyExists) << st[1].ToString();
  EXPECT_TRUE(st[2].ok()) << st[2].ToString();
  EXPECT_EQ(st[3].code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(st[4].code(), ErrorCode::kInternal);
  EXPECT_NE(st[4].message().find("boom"), std::string::npos);
  EXPECT_TRUE(st[5].ok()) << st[5].ToString();
  EXPECT_GE(db->Stats().max_batch, 2);  // they did share a transaction
  EXPECT_EQ(CountRows(db->Read(), "v IN ('ok1', 'ok2', 'ok3', 'slow', 'first')"), 5);
  EXPECT_EQ(CountRows(db->Read(), "v IN ('dup', 'undone', 'thrown')"), 0);
}

// A failure that makes SQLite abandon the whole transaction (the disk is
// full): the writes that shared it still commit (they run again).
TEST_F(SqlitePoolTest, DiskFullInOneWriteKeepsTheOthers) {
  auto db = OpenDb();
  ASSERT_TRUE(db);
  {
    auto s = db->Lock();
    auto& pages = s.Prepare("PRAGMA page_count");
    ASSERT_TRUE(*pages.Step());
    const int64_t count = pages.Int(0);
    pages.Reset();
    ASSERT_TRUE(s.Exec("PRAGMA max_page_count = " + std::to_string(count + 4)).ok());
  }
  ::testing::internal::CaptureStderr();
  std::vector<std::function<Status(Session&)>> fns = {
      [](Session& s) { return s.Exec("INSERT INTO t(seq, v) VALUES(1, 'a')"); },
      [](Session& s) { return s.Exec("INSERT INTO t(seq, v) VALUES(2, zeroblob(1000000))"); },
      [](Session& s) { return s.Exec("INSERT INTO t(seq, v) VALUES(3, 'c')"); },
  };
  std::vector<Status> st = RunBehindSlowWrite(*db, fns);
  (void)::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(st[0].ok()) << st[0].ToString();
  EXPECT_EQ(st[1].code(), ErrorCode::kUnavailable) << st[1].ToString();
  EXPECT_TRUE(st[2].ok()) << st[2].ToString();
  EXPECT_GE(db->Stats().max_batch, 2);
  EXPECT_EQ(CountRows(db->Read(), "seq IN (1, 3, 1000)"), 3);
  EXPECT_EQ(CountRows(db->Read(), "seq = 2"), 0);
}

// An acknowledged write is in the file: another connection, opened after
// Write returned, sees it (and so would a restart after kill -9: WAL with
// synchronous=NORMAL survives a process crash).
TEST_F(SqlitePoolTest, AcknowledgedWritesAreCommitted) {
  auto db = OpenDb();
  ASSERT_TRUE(db);
  std::vector<std::thread> threads;
  std::atomic<int> acked{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const std::string v = std::to_string(t) + ":" + std::to_string(i);
        if (!db->Write([&](Session& s) { return InsertNext(s, v); }).ok()) continue;
        ++acked;
        sqlite3* other = nullptr;
        ASSERT_EQ(sqlite3_open_v2(Path().c_str(), &other, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
        sqlite3_stmt* st = nullptr;
        ASSERT_EQ(sqlite3_prepare_v2(other, "SELECT count(*) FROM t WHERE v = ?", -1, &st, nullptr), SQLITE_OK);
        sqlite3_bind_text(st, 1, v.c_str(), -1, SQLITE_TRANSIENT);
        ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
        EXPECT_EQ(sqlite3_column_int(st, 0), 1) << v;
        sqlite3_finalize(st);
        sqlite3_close(other);
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(acked.load(), 80);
}

TEST_F(SqlitePoolTest, WithoutGroupCommitEachWriteIsItsOwnTransaction) {
  DatabaseOptions options;
  options.group_commit = false;
  options.read_connections = 0;
  auto db = OpenDb(options);
  ASSERT_TRUE(db);
  EXPECT_EQ(db->read_connections(), 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const std::string v = std::to_string(t) + ":" + std::to_string(i);
        EXPECT_TRUE(db->Write([&](Session& s) { return InsertNext(s, v); }).ok());
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(CountRows(db->Read()), 100);
  EXPECT_EQ(db->Stats().transactions, 100);
  EXPECT_EQ(db->Stats().max_batch, 1);
  EXPECT_EQ(db->Write([](Session& s) { return s.Exec("INSERT INTO t(seq, v) VALUES(1, 'dup')"); }).code(),
            ErrorCode::kAlreadyExists);
}

}  // namespace kefu::storage
