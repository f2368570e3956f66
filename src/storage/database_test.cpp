// The storage seam's contract, on both engines (SQLite and PostgreSQL; the
// PostgreSQL half skips without a test server, see storage/testing.h).
// SQLite-only behaviour (WAL, readers, disk full, group commit batches) is in
// sqlite_test.cpp.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "storage/database.h"
#include "storage/migration.h"
#include "storage/postgres.h"
#include "storage/testing.h"

namespace kefu::storage {
namespace {

class DatabaseTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    if (testdb::Missing(GetParam())) GTEST_SKIP() << testdb::kPostgresMissing;
  }
  std::unique_ptr<Database> Open(const DatabaseOptions& options = {}) {
    auto loc = testdb::FreshLocation(GetParam());
    EXPECT_TRUE(loc.ok()) << loc.status().ToString();
    if (!loc.ok()) return nullptr;
    location_ = *loc;
    auto db = Database::Open(*loc, options);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(*db) : nullptr;
  }
  static int64_t Scalar(Session&& s, const std::string& sql) { return Scalar(s, sql); }
  static int64_t Scalar(Session& s, const std::string& sql) {
    auto& st = s.Prepare(sql);
    auto row = st.Step();
    EXPECT_TRUE(row.ok()) << row.status().ToString();
    return row.ok() && *row ? st.Int(0) : -1;
  }
  std::string location_;
};

INSTANTIATE_TEST_SUITE_P(Engines, DatabaseTest, ::testing::ValuesIn(testdb::AllEngines()),
                         [](const auto& info) { return testdb::EngineTestName(info.param); });

// Two modules' migrations, the way the app assembles kefu's (app/schema.cpp).
std::vector<Migration> ModuleA(int versions = 2) {
  std::vector<Migration> a = {
      {.module = "a",
       .version = 1,
       .name = "t",
       .sql = "CREATE TABLE t (id TEXT PRIMARY KEY, name TEXT NOT NULL, key TEXT NOT NULL UNIQUE, "
              "created_ms INTEGER NOT NULL)"},
      {.module = "a",
       .version = 2,
       .name = "requests",
       .sql = "CREATE TABLE requests (id INTEGER PRIMARY KEY AUTOINCREMENT, t_id TEXT NOT NULL REFERENCES t(id), "
              "created_ms INTEGER NOT NULL)"},
  };
  a.resize(versions);
  return a;
}
std::vector<Migration> ModuleB() {
  return {{.module = "b", .version = 1, .name = "u", .sql = "CREATE TABLE u (t_id TEXT NOT NULL REFERENCES t(id))"}};
}
MigrationSet Schema(int a_versions = 2) {
  MigrationSet set;
  set.Add(ModuleA(a_versions)).Add(ModuleB());
  return set;
}
using Versions = std::vector<std::pair<std::string, int>>;

TEST_P(DatabaseTest, MigratesAndRoundTrips) {
  auto db = Open();
  ASSERT_TRUE(db);
  EXPECT_EQ(db->engine(), GetParam());
  ASSERT_TRUE(db->Migrate(Schema()).ok());
  EXPECT_EQ(db->SchemaVersion(), kPerModuleSchema);
  EXPECT_EQ(*db->ModuleVersions(), (Versions{{"a", 2}, {"b", 1}}));
  ASSERT_TRUE(db->Migrate(Schema()).ok());  // again: a no-op
  EXPECT_EQ(*db->ModuleVersions(), (Versions{{"a", 2}, {"b", 1}}));

  auto s = db->Lock();
  ASSERT_TRUE(s.Exec("INSERT INTO t VALUES('t','T','k',1)").ok());
  auto& st = s.Prepare("SELECT name, key, created_ms FROM t WHERE id = ?");
  st.Bind(1, "t");
  auto row = st.Step();
  ASSERT_TRUE(row.ok() && *row) << row.status().ToString();
  EXPECT_EQ(st.Text(0), "T");
  EXPECT_EQ(st.Int(2), 1);
  // Milliseconds do not fit 32 bits.
  auto& big = s.Prepare("INSERT INTO t VALUES(?, 'B', ?, ?)");
  big.Bind(1, "b").Bind(2, "kb").Bind(3, int64_t{1'790'000'000'000});
  ASSERT_TRUE(big.Run().ok());
  EXPECT_EQ(Scalar(s, "SELECT created_ms FROM t WHERE id = 'b'"), 1'790'000'000'000);
  // AUTOINCREMENT / identity ids come back through RETURNING.
  auto& ins = s.Prepare("INSERT INTO requests(t_id, created_ms) VALUES('t', 5) RETURNING id");
  ASSERT_TRUE(*ins.Step());
  const int64_t first = ins.Int(0);
  ins.Reset();
  ASSERT_TRUE(*ins.Step());
  EXPECT_EQ(ins.Int(0), first + 1);
}

// A module's new migration runs on a database that has the module's older
// ones, and only it.
TEST_P(DatabaseTest, AppliesOnlyWhatIsNew) {
  auto db = Open();
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->Migrate(Schema(1)).ok());
  EXPECT_EQ(*db->ModuleVersions(), (Versions{{"a", 1}, {"b", 1}}));
  ASSERT_TRUE(db->Lock().Exec("INSERT INTO t VALUES('t','T','k',1)").ok());
  ASSERT_TRUE(db->Migrate(Schema(2)).ok());
  EXPECT_EQ(*db->ModuleVersions(), (Versions{{"a", 2}, {"b", 1}}));
  EXPECT_EQ(Scalar(db->Lock(), "SELECT count(*) FROM t"), 1);
  EXPECT_EQ(Scalar(db->Lock(), "SELECT count(*) FROM requests"), 0);
}

TEST_P(DatabaseTest, RefusesASchemaNewerThanItKnows) {
  auto db = Open();
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->Migrate(Schema(2)).ok());
  // A module newer than the binary's newest migration of it.
  Status s = db->Migrate(Schema(1));
  EXPECT_EQ(s.code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("module a at schema version 2, newer than this kefu knows (1)"), std::string::npos)
      << s.message();
  // A module the binary does not know at all.
  MigrationSet only_a;
  only_a.Add(ModuleA());
  s = db->Migrate(only_a);
  EXPECT_EQ(s.code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("tables of module b (schema version 1), which this kefu does not know"),
            std::string::npos)
      << s.message();
  // A database-wide version above the one that means "per module".
  ASSERT_TRUE(db->Lock()
                  .Exec(GetParam() == Engine::kSqlite ? "PRAGMA user_version = 11"
                                                      : "UPDATE kefu_schema_version SET version = 11")
                  .ok());
  s = db->Migrate(Schema());
  EXPECT_EQ(s.code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("schema version 11, newer than this kefu knows (10)"), std::string::npos) << s.message();
}

TEST_P(DatabaseTest, RejectsOutOfOrderMigrations) {
  auto db = Open();
  ASSERT_TRUE(db);
  MigrationSet backwards;
  backwards.Add({{.module = "a", .version = 2, .name = "b", .sql = "SELECT 1"},
                 {.module = "a", .version = 1, .name = "a", .sql = "SELECT 1"}});
  EXPECT_FALSE(db->Migrate(backwards).ok());
  MigrationSet twice;
  twice.Add(ModuleA()).Add(ModuleB()).Add(ModuleA());
  EXPECT_FALSE(db->Migrate(twice).ok());
  EXPECT_EQ(db->SchemaVersion(), 0);  // refused before anything was written
}

TEST_P(DatabaseTest, AFailedMigrationNamesItselfAndChangesNothing) {
  auto db = Open();
  ASSERT_TRUE(db);
  MigrationSet set;
  set.Add({{.module = "m", .version = 1, .name = "good", .sql = "CREATE TABLE a(x INTEGER)"},
           {.module = "m", .version = 2, .name = "bad", .sql = "CREATE TABLE b(x INTEGER); NOT SQL"}});
  Status s = db->Migrate(set);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("migration m 2 (bad)"), std::string::npos) << s.message();
  EXPECT_EQ(*db->ModuleVersions(), (Versions{{"m", 1}}));
  EXPECT_EQ(Scalar(db->Lock(), "SELECT count(*) FROM a"), 0);
}

// A database of the one global migration list (kefu before per-module
// versions): each module gets the version it had at that global version,
// nothing runs again, and what is newer runs.
TEST_P(DatabaseTest, AdoptsAGlobalVersion) {
  auto db = Open();
  ASSERT_TRUE(db);
  {
    auto s = db->Lock();
    ASSERT_TRUE(s.Exec("CREATE TABLE g1 (x INTEGER); CREATE TABLE g2 (x INTEGER); INSERT INTO g1 VALUES(7)").ok());
    ASSERT_TRUE(s.Exec(GetParam() == Engine::kSqlite ? "PRAGMA user_version = 2"
                                                     : "UPDATE kefu_schema_version SET version = 2")
                    .ok());
  }
  MigrationSet set;
  set.Add({{.module = "p", .version = 1, .name = "g1", .global_version = 1, .sql = "CREATE TABLE g1 (x INTEGER)"},
           {.module = "p", .version = 2, .name = "g3", .global_version = 3, .sql = "CREATE TABLE g3 (x INTEGER)"},
           {.module = "p", .version = 3, .name = "new", .sql = "CREATE TABLE p3 (x INTEGER)"}})
      .Add({{.module = "q", .version = 1, .name = "g2", .global_version = 2, .sql = "CREATE TABLE g2 (x INTEGER)"}});
  ASSERT_TRUE(db->Migrate(set).ok());
  EXPECT_EQ(db->SchemaVersion(), kPerModuleSchema);
  EXPECT_EQ(*db->ModuleVersions(), (Versions{{"p", 3}, {"q", 1}}));
  EXPECT_EQ(Scalar(db->Lock(), "SELECT x FROM g1"), 7);
  EXPECT_EQ(Scalar(db->Lock(), "SELECT count(*) FROM g3"), 0);
  EXPECT_EQ(Scalar(db->Lock(), "SELECT count(*) FROM p3"), 0);
}

TEST_P(DatabaseTest, TransactionRollsBackUnlessCommitted) {
  auto db = Open();
  ASSERT_TRUE(db);
  auto s = db->Lock();
  ASSERT_TRUE(s.Exec("CREATE TABLE x(a INTEGER UNIQUE)").ok());
  {
    auto tx = s.Begin();
    ASSERT_TRUE(tx.status().ok()) << tx.status().ToString();
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
  EXPECT_EQ(dup.code(), ErrorCode::kAlreadyExists) << dup.ToString();
}

// The SQL both engines understand, written once.
TEST_P(DatabaseTest, OneDialect) {
  auto db = Open();
  ASSERT_TRUE(db);
  auto s = db->Lock();
  ASSERT_TRUE(s.Exec("CREATE TABLE kv(k TEXT PRIMARY KEY, v TEXT, n INTEGER NOT NULL DEFAULT 0, d REAL)").ok());
  // ON CONFLICT DO NOTHING / DO UPDATE, and Changes.
  auto& put = s.Prepare("INSERT INTO kv(k, v) VALUES(?, ?) ON CONFLICT DO NOTHING");
  put.Bind(1, "a").Bind(2, "x");
  ASSERT_TRUE(put.Run().ok());
  EXPECT_EQ(s.Changes(), 1);
  put.Bind(1, "a").Bind(2, "y");
  ASSERT_TRUE(put.Run().ok());
  EXPECT_EQ(s.Changes(), 0);
  auto& up = s.Prepare("INSERT INTO kv(k, v, n) VALUES(?, ?, 1) ON CONFLICT(k) DO UPDATE SET v = excluded.v, n = kv.n + 1 "
                       "RETURNING n");
  up.Bind(1, "a").Bind(2, "z");
  ASSERT_TRUE(*up.Step());
  EXPECT_EQ(up.Int(0), 1);
  up.Reset();
  // Numbered parameters, reused; a '?' inside a literal stays a question mark.
  auto& num = s.Prepare("SELECT ?2 || '?' || ?1 || ?2, v FROM kv WHERE k = ?3");
  num.Bind(1, "one").Bind(2, "two").Bind(3, "a");
  ASSERT_TRUE(*num.Step());
  EXPECT_EQ(num.Text(0), "two?onetwo");
  EXPECT_EQ(num.Text(1), "z");
  num.Reset();
  // LIKE ignores ASCII case on both.
  EXPECT_EQ(Scalar(s, "SELECT count(*) FROM kv WHERE v LIKE 'Z'"), 1);
  // NULLs, doubles, comparisons read as integers.
  auto& nul = s.Prepare("INSERT INTO kv(k, v, d) VALUES(?, ?, ?)");
  nul.Bind(1, "b").BindNull(2).Bind(3, 2.5);
  ASSERT_TRUE(nul.Run().ok());
  auto& get = s.Prepare("SELECT v, d, v IS NULL, d > 2 FROM kv WHERE k = ?");
  get.Bind(1, "b");
  ASSERT_TRUE(*get.Step());
  EXPECT_TRUE(get.IsNull(0));
  EXPECT_EQ(get.OptText(0), std::nullopt);
  EXPECT_DOUBLE_EQ(get.Double(1), 2.5);
  EXPECT_EQ(get.Int(2), 1);
  EXPECT_EQ(get.Int(3), 1);
  get.Reset();
  // A parameter whose type only the bound value tells.
  auto& opt = s.Prepare("SELECT count(*) FROM kv WHERE (? IS NULL OR k = ?)");
  opt.BindNull(1).BindNull(2);
  ASSERT_TRUE(*opt.Step());
  EXPECT_EQ(opt.Int(0), 2);
  opt.Reset();
  // Text with quotes, backslashes and multi-byte characters round-trips.
  const std::string odd = "it's \\ 100% \"您好\" ?";
  auto& t = s.Prepare("INSERT INTO kv(k, v) VALUES('odd', ?)");
  t.Bind(1, odd);
  ASSERT_TRUE(t.Run().ok());
  auto& back = s.Prepare("SELECT v FROM kv WHERE k = 'odd'");
  ASSERT_TRUE(*back.Step());
  EXPECT_EQ(back.Text(0), odd);
}

// Many writers taking sequence numbers from a counter row (the pattern the
// conversation store uses): no duplicate and no gap on either engine, while
// PostgreSQL runs the transactions concurrently.
TEST_P(DatabaseTest, ConcurrentWritersAllocateSequencesCorrectly) {
  auto db = Open();
  ASSERT_TRUE(db);
  {
    auto s = db->Lock();
    ASSERT_TRUE(s.Exec("CREATE TABLE counters(id TEXT PRIMARY KEY, last INTEGER NOT NULL);"
                       "CREATE TABLE items(counter TEXT NOT NULL, seq INTEGER NOT NULL, v TEXT, UNIQUE(counter, seq));"
                       "INSERT INTO counters VALUES('c', 0)")
                    .ok());
  }
  constexpr int kThreads = 8, kEach = 60;
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string v = std::to_string(t) + ":" + std::to_string(i);
        Status st = db->Write([&](Session& s) -> Status {
          auto& up = s.Prepare("UPDATE counters SET last = last + 1 WHERE id = ? RETURNING last");
          up.Bind(1, "c");
          KEFU_ASSIGN_OR_RETURN(bool row, up.Step());
          if (!row) return Internal("no counter");
          const int64_t seq = up.Int(0);
          up.Reset();
          auto& ins = s.Prepare("INSERT INTO items(counter, seq, v) VALUES('c', ?, ?)");
          ins.Bind(1, seq).Bind(2, v);
          return ins.Run();
        });
        if (!st.ok()) {
          ADD_FAILURE() << st.ToString();
          ++failed;
        }
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failed.load(), 0);
  auto s = db->Read();
  auto& st = s.Prepare("SELECT count(*), MIN(seq), MAX(seq), count(DISTINCT v) FROM items");
  ASSERT_TRUE(*st.Step());
  EXPECT_EQ(st.Int(0), kThreads * kEach);
  EXPECT_EQ(st.Int(1), 1);
  EXPECT_EQ(st.Int(2), kThreads * kEach);
  EXPECT_EQ(st.Int(3), kThreads * kEach);
  EXPECT_GE(db->Stats().writes, kThreads * kEach);
}

// Compare-and-set (the desk's accept, transfer and take-over): of many
// sessions racing to claim one row, exactly one changes it.
TEST_P(DatabaseTest, CompareAndSetHasOneWinner) {
  auto db = Open();
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->Lock().Exec("CREATE TABLE claims(id TEXT PRIMARY KEY, owner TEXT)").ok());
  for (int round = 0; round < 5; ++round) {
    const std::string id = "c" + std::to_string(round);
    ASSERT_TRUE(db->Lock().Exec("INSERT INTO claims VALUES('" + id + "', NULL)").ok());
    std::atomic<int> winners{0}, errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t)
      threads.emplace_back([&, t] {
        Status st = db->Write([&](Session& s) -> Status {
          auto& up = s.Prepare("UPDATE claims SET owner = ? WHERE id = ? AND owner IS NULL");
          up.Bind(1, "agent" + std::to_string(t)).Bind(2, id);
          KEFU_RETURN_IF_ERROR(up.Run());
          return s.Changes() == 1 ? Status::Ok() : Conflict("taken");
        });
        if (st.ok()) ++winners;
        else if (st.code() != ErrorCode::kConflict) ++errors;
      });
    for (auto& th : threads) th.join();
    EXPECT_EQ(winners.load(), 1);
    EXPECT_EQ(errors.load(), 0);
  }
}

// A closure that fails (its own error, a constraint, an exception) is undone
// alone; the writes beside it commit.
TEST_P(DatabaseTest, AFailingWriteIsUndoneAlone) {
  auto db = Open();
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->Lock().Exec("CREATE TABLE t(seq INTEGER UNIQUE, v TEXT)").ok());
  ASSERT_TRUE(db->Write([](Session& s) { return s.Exec("INSERT INTO t(seq, v) VALUES(1, 'first')"); }).ok());
  std::vector<std::function<Status(Session&)>> fns = {
      [](Session& s) { return s.Exec("INSERT INTO t(seq, v) VALUES(10, 'ok1')"); },
      [](Session& s) { return s.Exec("INSERT INTO t(seq, v) VALUES(1, 'dup')"); },
      [](Session& s) -> Status {
        KEFU_RETURN_IF_ERROR(s.Exec("INSERT INTO t(seq, v) VALUES(12, 'undone')"));
        return InvalidArgument("changed my mind");
      },
      [](Session& s) -> Status {
        (void)s.Exec("INSERT INTO t(seq, v) VALUES(13, 'thrown')");
        throw std::runtime_error("boom");
      },
      [](Session& s) { return s.Exec("INSERT INTO t(seq, v) VALUES(14, 'ok2')"); },
  };
  std::vector<Status> st(fns.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < fns.size(); ++i) threads.emplace_back([&, i] { st[i] = db->Write(fns[i]); });
  for (auto& th : threads) th.join();
  EXPECT_TRUE(st[0].ok()) << st[0].ToString();
  EXPECT_EQ(st[1].code(), ErrorCode::kAlreadyExists) << st[1].ToString();
  EXPECT_EQ(st[2].code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(st[3].code(), ErrorCode::kInternal);
  EXPECT_NE(st[3].message().find("boom"), std::string::npos);
  EXPECT_TRUE(st[4].ok()) << st[4].ToString();
  EXPECT_EQ(Scalar(db->Read(), "SELECT count(*) FROM t WHERE v IN ('ok1', 'ok2', 'first')"), 3);
  EXPECT_EQ(Scalar(db->Read(), "SELECT count(*) FROM t WHERE v IN ('dup', 'undone', 'thrown')"), 0);
}

TEST_P(DatabaseTest, ReadsSeeCommittedWritesOnly) {
  auto db = Open();
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->Lock().Exec("CREATE TABLE t(v TEXT)").ok());
  ASSERT_TRUE(db->Write([](Session& s) { return s.Exec("INSERT INTO t VALUES('a')"); }).ok());
  for (int i = 0; i < 4; ++i) EXPECT_EQ(Scalar(db->Read(), "SELECT count(*) FROM t"), 1);
  EXPECT_TRUE(db->Healthy());
  EXPECT_TRUE(db->ProbeWrite().ok());
  EXPECT_EQ(db->Health().engine, std::string(EngineName(GetParam())));
}

// PostgreSQL: a connection killed under the server's feet (a restart, a cut
// idle connection). A read outside a transaction runs again on a new
// connection; inside a transaction the statement fails with "storage
// unavailable" (503), marks the database unhealthy, and the rest of that
// transaction fails too rather than run in autocommit on a new connection; a
// write retries by itself; the next commit heals the health.
TEST_P(DatabaseTest, PostgresReconnectsAfterALostConnection) {
  if (GetParam() != Engine::kPostgres) GTEST_SKIP() << "PostgreSQL only";
  DatabaseOptions one;
  one.pool_size = 1;
  one.reconnect_backoff_ms = 10;
  auto db = Open(one);
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->Lock().Exec("CREATE TABLE t(v TEXT)").ok());
  auto admin = Database::Open(testdb::PostgresTestUrl(), one);
  ASSERT_TRUE(admin.ok());
  auto kill = [&](Session& victim) {
    auto& pid = victim.Prepare("SELECT pg_backend_pid()");
    ASSERT_TRUE(*pid.Step());
    const std::string id = std::to_string(pid.Int(0));
    pid.Reset();
    EXPECT_EQ(Scalar((*admin)->Read(), "SELECT count(*) FROM (SELECT pg_terminate_backend(" + id + ")) x"), 1);
  };
  ::testing::internal::CaptureStderr();
  {
    auto s = db->Read();
    kill(s);
    EXPECT_EQ(Scalar(s, "SELECT count(*) FROM t"), 0);  // read again on a new connection
  }
  {
    auto s = db->Lock();
    auto tx = s.Begin();
    ASSERT_TRUE(tx.status().ok());
    ASSERT_TRUE(s.Exec("INSERT INTO t VALUES('lost')").ok());
    kill(s);
    Status lost = s.Exec("INSERT INTO t VALUES('after')");
    EXPECT_EQ(lost.code(), ErrorCode::kUnavailable) << lost.ToString();
    EXPECT_NE(lost.message().find("storage unavailable"), std::string::npos) << lost.message();
    auto& more = s.Prepare("SELECT count(*) FROM t");
    auto r = more.Step();
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("during a transaction"), std::string::npos) << r.status().message();
    Status c = tx.Commit();
    EXPECT_FALSE(c.ok());
  }
  EXPECT_FALSE(db->Healthy());
  EXPECT_EQ(db->Health().code, "CONNECTION_BAD");
  EXPECT_EQ(Scalar(db->Read(), "SELECT count(*) FROM t"), 0);  // nothing of the lost transaction
  ASSERT_TRUE(db->Write([](Session& s) { return s.Exec("INSERT INTO t VALUES('a')"); }).ok());
  EXPECT_TRUE(db->Healthy());
  // A write whose connection is gone before it runs is retried on a new one.
  {
    auto s = db->Read();
    kill(s);
  }
  Status w = db->Write([](Session& s) { return s.Exec("INSERT INTO t VALUES('b')"); });
  (void)::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(w.ok()) << w.ToString();
  EXPECT_EQ(Scalar(db->Read(), "SELECT count(*) FROM t"), 2);
}

TEST(Postgres, AnUnreachableServerIsAClearError) {
  DatabaseOptions options;
  ::testing::internal::CaptureStderr();
  auto db = Database::Open("postgresql://kefu:secret@127.0.0.1:1/kefu", options);
  (void)::testing::internal::GetCapturedStderr();
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), ErrorCode::kUnavailable);
  const std::string& m = db.status().message();
  EXPECT_NE(m.find("cannot connect to postgresql://kefu:***@127.0.0.1:1/kefu"), std::string::npos) << m;
  EXPECT_EQ(m.find("secret"), std::string::npos) << m;
}

int64_t ElapsedMs(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - since).count();
}

// A loopback TCP port nothing listens on (the kernel's pick, released).
int UnusedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

// Start-up against a PostgreSQL that is not listening yet (a service manager
// starting kefu and PostgreSQL together): Open waits, trying again with
// backoff and a warning per failed try, and succeeds once the server is up.
TEST(Postgres, OpenWaitsForAServerThatStartsLater) {
  if (testdb::PostgresTestUrl().empty()) GTEST_SKIP() << testdb::kPostgresMissing;
  const char* source = std::getenv("KEFU_SOURCE_DIR");
  if (!source || !*source) GTEST_SKIP() << "KEFU_SOURCE_DIR (the checkout, for scripts/pg_temp.sh) is not set";
  const int port = UnusedPort();
  ASSERT_GT(port, 0);
  const std::string state =
      (std::filesystem::temp_directory_path() / ("kefu_pg_late_" + std::to_string(::getpid()))).string();
  const std::string script = std::string(source) + "/scripts/pg_temp.sh";
  std::atomic<int> started{-1};
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    started = std::system(
        ("KEFU_PG_PORT=" + std::to_string(port) + " bash '" + script + "' start '" + state + "' >/dev/null").c_str());
  });
  DatabaseOptions options;
  options.pool_size = 1;
  options.connect_timeout_ms = 60'000;
  const auto t0 = std::chrono::steady_clock::now();
  ::testing::internal::CaptureStderr();
  // The database initdb always makes: the server's, not pg_temp.sh's createdb (which runs just after it is up).
  auto db = Database::Open("postgresql://kefu:not-a-secret@127.0.0.1:" + std::to_string(port) + "/postgres", options);
  const std::string log = ::testing::internal::GetCapturedStderr();
  const int64_t waited = ElapsedMs(t0);
  late.join();
  ASSERT_EQ(started.load(), 0) << "scripts/pg_temp.sh start failed";
  EXPECT_TRUE(db.ok()) << db.status().ToString() << "\n" << log;
  if (db.ok()) {
    EXPECT_TRUE((*db)->Healthy());
    auto s = (*db)->Read();
    auto& st = s.Prepare("SELECT version FROM kefu_schema_version");
    ASSERT_TRUE(*st.Step());
    EXPECT_EQ(st.Int(0), 0);
  }
  if (db.ok()) db->reset();  // disconnected before the server goes
  (void)std::system(("bash '" + script + "' stop '" + state + "' >/dev/null 2>&1").c_str());
  std::filesystem::remove_all(state);
  EXPECT_GE(waited, 800);
  EXPECT_NE(log.find("storage_waiting"), std::string::npos) << log;
  EXPECT_NE(log.find("Connection refused"), std::string::npos) << log;  // the reason of each failed try
  EXPECT_EQ(log.find("not-a-secret"), std::string::npos) << log;
}

// What waiting cannot fix fails at once, however long Open may wait: no such
// database (3D000), no such role (28000), a URI libpq cannot read.
TEST(Postgres, OpenFailsAtOnceWhenTheServerRefuses) {
  const std::string base = testdb::PostgresTestUrl();
  if (base.empty()) GTEST_SKIP() << testdb::kPostgresMissing;
  const auto at = base.find("/kefu?");
  const auto user = base.find("://kefu@");
  if (at == std::string::npos || user == std::string::npos)
    GTEST_SKIP() << "needs a URL of the form postgresql://kefu@.../kefu?... (scripts/pg_temp.sh)";
  DatabaseOptions options;
  options.connect_timeout_ms = 60'000;
  auto open = [&](const std::string& url) {
    const auto t0 = std::chrono::steady_clock::now();
    ::testing::internal::CaptureStderr();
    auto db = Database::Open(url, options);
    const std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_LT(ElapsedMs(t0), 5'000) << url;
    EXPECT_EQ(log.find("storage_waiting"), std::string::npos) << log;
    EXPECT_FALSE(db.ok()) << url;
    return db.ok() ? Status::Ok() : db.status();
  };
  Status no_db = open(base.substr(0, at) + "/kefu_no_such_db" + base.substr(at + 5));
  EXPECT_EQ(no_db.code(), ErrorCode::kFailedPrecondition) << no_db.ToString();
  EXPECT_NE(no_db.message().find("database \"kefu_no_such_db\" does not exist"), std::string::npos) << no_db.message();
  EXPECT_NE(no_db.message().find("3D000"), std::string::npos) << no_db.message();
  EXPECT_EQ(no_db.message().find("LOCATION"), std::string::npos) << no_db.message();

  Status no_role = open(base.substr(0, user) + "://kefu_no_such_role:pw123@" + base.substr(user + 8));
  EXPECT_EQ(no_role.code(), ErrorCode::kFailedPrecondition) << no_role.ToString();
  EXPECT_NE(no_role.message().find("kefu_no_such_role"), std::string::npos) << no_role.message();
  EXPECT_EQ(no_role.message().find("pw123"), std::string::npos) << no_role.message();

  Status bad_uri = open("postgresql://kefu@127.0.0.1:1/kefu?no_such_option=1&password=pw456");
  EXPECT_EQ(bad_uri.code(), ErrorCode::kInvalidArgument) << bad_uri.ToString();
  EXPECT_EQ(bad_uri.message().find("pw456"), std::string::npos) << bad_uri.message();
}

// Nothing listens and nothing will: Open gives up after connect_timeout_ms
// with libpq's reason.
TEST(Postgres, OpenGivesUpAfterTheConnectTimeout) {
  DatabaseOptions options;
  options.connect_timeout_ms = 700;
  const auto t0 = std::chrono::steady_clock::now();
  ::testing::internal::CaptureStderr();
  auto db = Database::Open("postgresql://kefu:secret@127.0.0.1:" + std::to_string(UnusedPort()) + "/kefu", options);
  const std::string log = ::testing::internal::GetCapturedStderr();
  const int64_t waited = ElapsedMs(t0);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), ErrorCode::kUnavailable);
  EXPECT_GE(waited, 700);
  EXPECT_LT(waited, 5'000);
  const std::string& m = db.status().message();
  EXPECT_NE(m.find("cannot connect to postgresql://kefu:***@127.0.0.1:"), std::string::npos) << m;
  EXPECT_NE(m.find("Connection refused"), std::string::npos) << m;
  EXPECT_NE(m.find(" times in "), std::string::npos) << m;
  EXPECT_EQ(m.find("secret"), std::string::npos) << m;
  EXPECT_EQ(log.find("secret"), std::string::npos) << log;
  // 100, 200, 400 ms... within 700 ms: a few tries, each logged once.
  size_t tries = 0;
  for (auto i = log.find("storage_waiting"); i != std::string::npos; i = log.find("storage_waiting", i + 1)) ++tries;
  EXPECT_GE(tries, 2u) << log;
  EXPECT_LE(tries, 5u) << log;
}

TEST(StorageLocation, ParsesUrlsAndPaths) {
  auto a = ParseStorageLocation("sqlite:///var/lib/kefu/kefu.db");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->engine, Engine::kSqlite);
  EXPECT_EQ(a->target, "/var/lib/kefu/kefu.db");
  auto b = ParseStorageLocation("data/kefu.db");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->target, "data/kefu.db");
  auto c = ParseStorageLocation("postgres://u@h:5433/db");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->engine, Engine::kPostgres);
  auto d = ParseStorageLocation("mysql://u:pw@h/db");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("unknown scheme 'mysql'"), std::string::npos);
  EXPECT_EQ(d.status().message().find("pw"), std::string::npos);
  EXPECT_FALSE(ParseStorageLocation("sqlite://").ok());
  EXPECT_EQ(RedactLocation("postgresql://u:pw@h/db"), "postgresql://u:***@h/db");
  EXPECT_EQ(RedactLocation("postgresql://u@h/db"), "postgresql://u@h/db");
  // libpq also takes the password as a query parameter.
  EXPECT_EQ(RedactLocation("postgresql://u@h/db?sslmode=require&password=pw&host=/run/pg"),
            "postgresql://u@h/db?sslmode=require&password=***&host=/run/pg");
  EXPECT_EQ(RedactLocation("postgresql:///kefu?password="), "postgresql:///kefu?password=***");
}

TEST(PostgresDialect, TranslatesPlaceholdersOutsideLiterals) {
  int n = 0;
  EXPECT_EQ(TranslateSql("SELECT a FROM t WHERE b = ? AND c = ?", &n), "SELECT a FROM t WHERE b = $1 AND c = $2");
  EXPECT_EQ(n, 2);
  EXPECT_EQ(TranslateSql("UPDATE t SET a = ?2 WHERE b = ?1 AND c = ?", &n), "UPDATE t SET a = $2 WHERE b = $1 AND c = $3");
  EXPECT_EQ(n, 3);
  EXPECT_EQ(TranslateSql("SELECT '?', \"q?\", 'it''s ?' -- what?\n FROM t WHERE x = ? /* ? */", &n),
            "SELECT '?', \"q?\", 'it''s ?' -- what?\n FROM t WHERE x = $1 /* ? */");
  EXPECT_EQ(n, 1);
  EXPECT_EQ(TranslateSql("WHERE name LIKE ? ESCAPE '\\' AND x NOT like 'LIKE'"),
            "WHERE name ILIKE $1 ESCAPE '\\' AND x NOT ILIKE 'LIKE'");
  EXPECT_EQ(TranslateSql("SELECT liked, unlike FROM t"), "SELECT liked, unlike FROM t");
  EXPECT_EQ(TranslateSql("SELECT a FROM t INDEXED BY t_by_b WHERE b = ?"), "SELECT a FROM t    WHERE b = $1");
}

TEST(PostgresDialect, TranslatesMigrationDdl) {
  EXPECT_EQ(PostgresDdl("CREATE TABLE m (id INTEGER PRIMARY KEY AUTOINCREMENT, f REAL, b BLOB, s TEXT DEFAULT 'INTEGER')"),
            "CREATE TABLE m (id BIGINT PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY, f DOUBLE PRECISION, b BYTEA, "
            "s TEXT DEFAULT 'INTEGER')");
  EXPECT_EQ(PostgresDdl("CREATE TABLE k (a TEXT, PRIMARY KEY (a)) WITHOUT ROWID;"),
            "CREATE TABLE k (a TEXT, PRIMARY KEY (a))  ;");
}

}  // namespace
}  // namespace kefu::storage
