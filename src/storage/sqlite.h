// A thin, safe layer over SQLite. A Database owns one writer connection in WAL
// mode (synchronous=NORMAL: a committed transaction survives a process crash)
// and, for a database file, a small pool of read-only connections (WAL lets
// readers run beside the writer). All access goes through a Session, which
// holds one connection's mutex for its lifetime, so any thread may use a
// Database but statements on one connection never interleave. Prepared
// statements are cached per connection.
//
//   // A read: a reader connection, a snapshot of what has committed.
//   auto session = db.Read();
//   auto& st = session.Prepare("SELECT a FROM t WHERE id = ?");
//
//   // A write with group commit: the closure runs on the writer connection
//   // inside a transaction shared with the other writes waiting at the same
//   // moment (each in its own SAVEPOINT); Write returns once the COMMIT that
//   // holds it succeeded (durable) or with the closure's own error (its work
//   // undone, the others' kept).
//   Status s = db.Write([&](storage::Session& s) -> Status {
//     auto& st = s.Prepare("INSERT INTO t(a) VALUES(?)");
//     st.Bind(1, "x");
//     return st.Run();
//   });
//
//   // The writer connection to oneself (long or multi-step work, DDL).
//   auto session = db.Lock();
//   auto tx = session.Begin();              // BEGIN IMMEDIATE
//   ...
//   KEFU_RETURN_IF_ERROR(tx.Commit());     // rolled back if not committed
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace kefu::storage {

class Database;
struct Connection;  // one sqlite3 handle, its mutex and statement cache (sqlite.cpp)

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* st, Database* owner = nullptr) : db_(db), st_(st), owner_(owner) {}
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQLite.
  Statement& Bind(int i, int64_t v);
  Statement& Bind(int i, int v) { return Bind(i, static_cast<int64_t>(v)); }
  Statement& Bind(int i, double v);
  Statement& Bind(int i, std::string_view v);
  Statement& Bind(int i, const char* v) { return Bind(i, std::string_view(v)); }
  Statement& Bind(int i, const std::string& v) { return Bind(i, std::string_view(v)); }
  Statement& BindNull(int i);
  Statement& Bind(int i, const std::optional<std::string>& v) { return v ? Bind(i, *v) : BindNull(i); }
  Statement& Bind(int i, const std::optional<int64_t>& v) { return v ? Bind(i, *v) : BindNull(i); }

  // Advances: true = a row is available, false = done.
  Result<bool> Step();
  // Steps to completion (for INSERT/UPDATE/DELETE), then resets.
  Status Run();
  // Clears bindings and rewinds; done automatically by Session::Prepare.
  void Reset();

  int64_t Int(int col) const;
  double Double(int col) const;
  std::string Text(int col) const;
  bool IsNull(int col) const;
  std::optional<std::string> OptText(int col) const;
  std::optional<int64_t> OptInt(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* st_;
  Database* owner_;  // told about storage failures and committed writes (health)
};

class Session;

// RAII transaction: rolls back in the destructor unless committed.
class Transaction {
 public:
  explicit Transaction(Session& s);
  ~Transaction();
  Transaction(Transaction&& o) noexcept : s_(o.s_), active_(o.active_) { o.active_ = false; }
  Transaction(const Transaction&) = delete;
  Status Commit();
  Status status() const { return begin_status_; }

 private:
  Session* s_;
  bool active_ = false;
  Status begin_status_;
};

// Exclusive use of one connection (the writer's or a reader's) for as long as
// the session lives. Statements from Prepare are valid until the session
// ends; the session resets them when it ends, so no statement keeps a read
// snapshot (or the WAL) pinned after it. Not thread-safe: one thread per
// session.
class Session {
 public:
  // The writer connection (as Database::Lock).
  explicit Session(Database& db);
  ~Session();
  Session(Session&& o) noexcept;
  Session& operator=(Session&&) = delete;

  Status Exec(std::string_view sql);
  // Returns a cached, reset statement; valid until the session ends.
  Statement& Prepare(std::string_view sql);
  Status PrepareStatus() const { return prepare_status_; }
  // BEGIN IMMEDIATE. Not inside Database::Write (the closure already runs in
  // a transaction; a nested Begin fails).
  Transaction Begin() { return Transaction(*this); }
  int64_t LastInsertRowId() const;
  int Changes() const;

 private:
  friend class Transaction;
  friend class Database;
  Session(Database& db, Connection& conn);
  Session(Database& db, Connection& conn, std::unique_lock<std::mutex> held);
  sqlite3* handle() const;
  // Resets the statements handed out so far (the end of a session or of a
  // closure in a group commit).
  void ResetStatements();

  Database* db_;
  Connection* conn_;
  std::unique_lock<std::mutex> lock_;
  Status prepare_status_;
  std::array<Statement*, 8> used_{};  // statements handed out by Prepare
  int used_count_ = 0;
  bool used_overflow_ = false;        // more than used_ holds: reset every busy statement
};

struct Migration {
  int version;
  std::string name;
  std::string sql;
};

struct DatabaseOptions {
  int busy_timeout_ms = 5000;
  bool read_only = false;
  // Read-only connections for Database::Read (PRAGMA query_only). 0, a
  // read-only database and in-memory databases (":memory:", "",
  // "file:...mode=memory", which other connections cannot see) read on the
  // writer connection instead.
  int read_connections = 4;
  // Database::Write batches the writes waiting at one moment into one
  // transaction (false: one transaction per write), at most this many.
  bool group_commit = true;
  int group_commit_max_batch = 64;
  // Storage failures are logged at most once per interval (with the number
  // of repeats suppressed in between).
  int failure_log_interval_ms = 10'000;
};

// Whether the database can store data. A storage failure (disk full, I/O
// error, read-only file or file system, a file that cannot be opened,
// corruption; see IsStorageFailure) makes it unhealthy; the next write that
// commits makes it healthy again (Database::ProbeWrite commits a harmless one).
struct StorageHealth {
  bool ok = true;
  std::string error;        // the latest failure, e.g. "sqlite step: database or disk is full"
  std::string sqlite_code;  // its SQLite result code, e.g. "SQLITE_FULL"
  int64_t since_ms = 0;     // wall clock (Unix ms) of the first failure since the last success
  int64_t last_ms = 0;      // ... and of the latest
  int64_t failures = 0;     // failures since the last success
};

// What Database::Write has done since the database was opened.
struct WriteStats {
  int64_t writes = 0;        // closures run (a closure retried counts once per run)
  int64_t transactions = 0;  // write transactions begun by Write (commits and rollbacks)
  int64_t max_batch = 0;     // the most closures one transaction held
};

class Database {
 public:
  // Opens (creating if needed) the database at `path`; ":memory:" works for tests.
  static Result<std::unique_ptr<Database>> Open(const std::string& path, const DatabaseOptions& options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // The writer connection, exclusively, until the session ends. Waits for a
  // group commit in progress. For writes that need several steps of their
  // own (imports, merges, migrations) and for reads that must see the
  // writer's uncommitted state.
  Session Lock();
  // A read-only session: a free reader connection (waits when all are busy),
  // or the writer connection where there is no reader pool (see
  // DatabaseOptions::read_connections). Sees every transaction that
  // committed before its first statement; writing through it fails
  // (SQLITE_READONLY). Any thread.
  Session Read();
  // A write with group commit. `fn` runs on the writer connection inside a
  // write transaction (in a SAVEPOINT of its own when it shares the
  // transaction with other writes) and must not begin or end transactions.
  // Returns fn's error (its work rolled back, other writes unaffected), the
  // error of BEGIN/COMMIT, or OK once the COMMIT that holds fn's work has
  // succeeded. fn may run more than once when another closure's failure
  // made SQLite abandon the whole transaction (disk full, I/O error), so it
  // must set its outputs afresh on each run rather than append to them.
  // Runs on whichever waiting thread leads the batch, so fn must not take
  // locks that a writer may hold while calling Write. Any thread.
  Status Write(const std::function<Status(Session&)>& fn);
  WriteStats Stats() const;

  // Applies, in one transaction each, every migration newer than the stored
  // schema version (PRAGMA user_version). Versions must increase.
  Status Migrate(const std::vector<Migration>& migrations);
  int SchemaVersion();

  const std::string& path() const { return path_; }
  // Reader connections in the pool (0: reads use the writer connection).
  int read_connections() const { return static_cast<int>(readers_.size()); }

  // Storage health (see StorageHealth); cheap, never takes the database lock.
  StorageHealth Health() const;
  bool Healthy() const { return healthy_.load(std::memory_order_relaxed); }
  // Commits a write that changes nothing (the schema version rewritten with
  // its own value, in a write transaction): a health check's proof that
  // writes work again. Takes the database lock.
  Status ProbeWrite();

  // Called by Statement/Session/Transaction: a failed SQLite call (`rc`) and
  // a committed write. Record storage failures and recoveries.
  void NoteFailure(int rc, const Status& status);
  void NoteWriteCommitted() {
    if (!healthy_.load(std::memory_order_relaxed)) NoteRecovered();
  }

 private:
  friend class Session;
  struct PendingWrite;
  Database(std::unique_ptr<Connection> writer, std::string path, const DatabaseOptions& options);
  void NoteRecovered();
  // Runs `batch` on the writer session `s` in one transaction (or as few as
  // failures allow) and sets each one's status.
  void RunBatch(Session& s, std::vector<PendingWrite*>& batch);

  std::unique_ptr<Connection> writer_;
  std::vector<std::unique_ptr<Connection>> readers_;
  std::atomic<uint32_t> next_reader_{0};
  std::string path_;
  DatabaseOptions options_;

  // Group commit: writers queue here; the first one to find no batch in
  // progress leads the next batch (leader/follower), the others wait.
  std::mutex write_mu_;
  std::condition_variable write_cv_;
  std::deque<PendingWrite*> write_queue_;  // GUARDED_BY(write_mu_)
  bool batch_running_ = false;             // GUARDED_BY(write_mu_)
  std::atomic<int64_t> stat_writes_{0}, stat_transactions_{0}, stat_max_batch_{0};

  std::atomic<bool> healthy_{true};
  mutable std::mutex health_mu_;
  StorageHealth health_;               // GUARDED_BY(health_mu_)
  int64_t last_failure_log_ = 0;       // steady ms; GUARDED_BY(health_mu_)
  int64_t last_recovery_log_ = 0;      // steady ms; GUARDED_BY(health_mu_)
  int64_t suppressed_ = 0;             // failures not logged since the last storage_failure line; GUARDED_BY(health_mu_)
};

// Errors from SQLite as a Status: SQLITE_BUSY/LOCKED and every storage
// failure (IsStorageFailure) -> unavailable (503), constraint ->
// already_exists, anything else (a bug) -> internal.
Status SqliteStatus(sqlite3* db, int rc, std::string_view what);

// True for result codes that mean the storage itself failed rather than the
// statement: SQLITE_FULL, SQLITE_IOERR (all extended codes), SQLITE_READONLY,
// SQLITE_CANTOPEN, SQLITE_CORRUPT, SQLITE_NOTADB, SQLITE_NOMEM, SQLITE_PERM,
// SQLITE_PROTOCOL, SQLITE_NOLFS.
bool IsStorageFailure(int rc);

// "SQLITE_FULL" for 13 (the primary code of an extended one).
std::string_view SqliteCodeName(int rc);

// Why the files of the database at `path` cannot be used, from the operating
// system: "cannot open data/kefu.db-wal: Is a directory", "cannot create
// files in data: Read-only file system"; "" when nothing is wrong with them.
// Checks the directory, the database file and its -wal and -shm files
// without creating any.
std::string DiagnoseFiles(const std::string& path);

}  // namespace kefu::storage
