// kefu's storage seam: one API over two engines, chosen by the location given
// to Database::Open (docs/architecture.md, Storage):
//
//   - SQLite (the embedded default; a path, ":memory:" or "sqlite:///path"):
//     one writer connection in WAL mode with group commit, a pool of read-only
//     connections (storage/sqlite.h);
//   - PostgreSQL 15 ("postgresql://user@host:port/db", any libpq URI or
//     "postgres://"): a pool of connections, each write in its own
//     transaction (storage/postgres.h).
//
// SQL is written once, in the subset both engines understand: `?` and `?NNN`
// placeholders (PostgreSQL gets `$n`), INSERT ... ON CONFLICT DO NOTHING/DO
// UPDATE, RETURNING instead of the last insert rowid, COALESCE, CASE. The few
// differences left are translated in one place, storage/postgres.cpp
// (TranslateSql: LIKE is case-insensitive for ASCII on SQLite, so it becomes
// ILIKE, and SQLite's INDEXED BY hints are dropped; PostgresDdl: migration
// column types).
//
//   // A read: a snapshot of what has committed.
//   auto session = db.Read();
//   auto& st = session.Prepare("SELECT a FROM t WHERE id = ?");
//
//   // A write: the closure runs in a write transaction (SQLite: shared with
//   // the other writes waiting at the same moment, each in its own
//   // SAVEPOINT; PostgreSQL: its own, on a pooled connection); Write returns
//   // once the COMMIT that holds it succeeded (durable) or with the
//   // closure's own error (its work undone, the others' kept).
//   Status s = db.Write([&](storage::Session& s) -> Status {
//     auto& st = s.Prepare("INSERT INTO t(a) VALUES(?)");
//     st.Bind(1, "x");
//     return st.Run();
//   });
//
//   // A connection to oneself for multi-step work with its own transaction
//   // (SQLite: the writer connection; PostgreSQL: a pooled connection, and
//   // Lock sessions exclude each other as on SQLite).
//   auto session = db.Lock();
//   auto tx = session.Begin();              // BEGIN IMMEDIATE / BEGIN
//   ...
//   KEFU_RETURN_IF_ERROR(tx.Commit());     // rolled back if not committed
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "storage/migration.h"

namespace kefu::storage {

class Database;

enum class Engine { kSqlite, kPostgres };
std::string_view EngineName(Engine e);  // "sqlite", "postgresql"

// A prepared statement, cached on its connection. Parameters are 1-based;
// one left unbound is NULL. Valid until the session that prepared it ends.
class Statement {
 public:
  virtual ~Statement() = default;

  virtual Statement& Bind(int i, int64_t v) = 0;
  Statement& Bind(int i, int v) { return Bind(i, static_cast<int64_t>(v)); }
  virtual Statement& Bind(int i, double v) = 0;
  virtual Statement& Bind(int i, std::string_view v) = 0;
  Statement& Bind(int i, const char* v) { return Bind(i, std::string_view(v)); }
  Statement& Bind(int i, const std::string& v) { return Bind(i, std::string_view(v)); }
  virtual Statement& BindNull(int i) = 0;
  Statement& Bind(int i, const std::optional<std::string>& v) { return v ? Bind(i, *v) : BindNull(i); }
  Statement& Bind(int i, const std::optional<int64_t>& v) { return v ? Bind(i, *v) : BindNull(i); }

  // Advances: true = a row is available, false = done.
  virtual Result<bool> Step() = 0;
  // Steps to completion (for INSERT/UPDATE/DELETE), then resets.
  Status Run();
  // Clears bindings and rewinds; done automatically by Session::Prepare.
  virtual void Reset() = 0;

  // Columns of the current row, 0-based. A boolean (PostgreSQL) reads as 0/1.
  virtual int64_t Int(int col) const = 0;
  virtual double Double(int col) const = 0;
  virtual std::string Text(int col) const = 0;
  virtual bool IsNull(int col) const = 0;
  std::optional<std::string> OptText(int col) const {
    if (IsNull(col)) return std::nullopt;
    return Text(col);
  }
  std::optional<int64_t> OptInt(int col) const {
    if (IsNull(col)) return std::nullopt;
    return Int(col);
  }
};

// One engine connection: its mutex (held by the Session using it) and its
// statement cache. Implemented by each engine; modules never see it.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual Status Exec(std::string_view sql) = 0;
  // A cached, reset statement. Bad SQL is a programming error (SQLite aborts;
  // PostgreSQL reports it from Step, where the server first sees it).
  virtual Statement& Prepare(std::string_view sql) = 0;
  // Rows changed by the latest INSERT/UPDATE/DELETE.
  virtual int Changes() const = 0;
  virtual bool InTransaction() const = 0;
  // Resets every statement of the connection that is mid-way.
  virtual void ResetAll() = 0;
  // Starts a write transaction ("BEGIN IMMEDIATE" on SQLite).
  virtual std::string_view BeginSql() const = 0;

  std::mutex mu;
};

class Session;

// RAII transaction: rolls back in the destructor unless committed.
class Transaction {
 public:
  explicit Transaction(Session& s);
  ~Transaction();
  Transaction(Transaction&& o) noexcept : s_(o.s_), active_(o.active_), begin_status_(o.begin_status_) {
    o.active_ = false;
  }
  Transaction(const Transaction&) = delete;
  Status Commit();
  Status status() const { return begin_status_; }

 private:
  Session* s_;
  bool active_ = false;
  Status begin_status_;
};

// Exclusive use of one connection for as long as the session lives.
// Statements from Prepare are valid until the session ends; the session
// resets them when it ends, so no statement keeps a read snapshot (or
// SQLite's WAL) pinned after it. Not thread-safe: one thread per session.
class Session {
 public:
  ~Session();
  Session(Session&& o) noexcept;
  Session& operator=(Session&&) = delete;

  Status Exec(std::string_view sql);
  // Returns a cached, reset statement; valid until the session ends.
  Statement& Prepare(std::string_view sql);
  // Begins a write transaction. Not inside Database::Write (the closure
  // already runs in a transaction; a nested Begin fails).
  Transaction Begin() { return Transaction(*this); }
  // Rows changed by the latest INSERT/UPDATE/DELETE on this session.
  int Changes() const { return conn_->Changes(); }
  bool InTransaction() const { return conn_->InTransaction(); }
  Database& database() const { return *db_; }

  // For the engines: a session on `conn`, whose mutex `held` owns;
  // `exclusive` (may be empty) is released with the session too.
  Session(Database& db, Connection& conn, std::unique_lock<std::mutex> held,
          std::unique_lock<std::mutex> exclusive = {});
  Connection& connection() const { return *conn_; }
  // Resets the statements handed out so far (the end of a session or of a
  // closure in a group commit).
  void ResetStatements();

 private:
  friend class Transaction;

  Database* db_;
  Connection* conn_;
  std::unique_lock<std::mutex> exclusive_;
  std::unique_lock<std::mutex> lock_;
  std::array<Statement*, 8> used_{};  // statements handed out by Prepare
  int used_count_ = 0;
  bool used_overflow_ = false;        // more than used_ holds: reset every busy statement
};

struct DatabaseOptions {
  int busy_timeout_ms = 5000;
  bool read_only = false;
  // SQLite: read-only connections for Database::Read (PRAGMA query_only). 0,
  // a read-only database and in-memory databases (":memory:", "",
  // "file:...mode=memory", which other connections cannot see) read on the
  // writer connection instead.
  int read_connections = 4;
  // SQLite: Database::Write batches the writes waiting at one moment into one
  // transaction (false: one transaction per write), at most this many.
  bool group_commit = true;
  int group_commit_max_batch = 64;
  // PostgreSQL: connections in the pool (reads, writes and Lock sessions).
  int pool_size = 8;
  // PostgreSQL: a lost connection is re-opened at most this often at first,
  // backing off to max_reconnect_backoff_ms.
  int reconnect_backoff_ms = 100;
  int max_reconnect_backoff_ms = 5000;
  // PostgreSQL: how long Open waits for a server that cannot be reached yet
  // (not listening, starting up, too many connections), trying again with
  // the backoff above and logging each failed try. 0 = fail at once. A server
  // that refuses kefu (authentication failed, no such role or database, no
  // CONNECT privilege) or an invalid URI fails at once either way.
  int connect_timeout_ms = 0;
  // Storage failures are logged at most once per interval (with the number
  // of repeats suppressed in between).
  int failure_log_interval_ms = 10'000;
};

// Whether the database can store data. A storage failure (SQLite: disk
// full, I/O error, read-only file or file system, a file that cannot be
// opened, corruption; PostgreSQL: the server unreachable or the connection
// lost, disk full) makes it unhealthy; the next write that commits makes it
// healthy again (Database::ProbeWrite commits a harmless one).
struct StorageHealth {
  bool ok = true;
  std::string engine;       // "sqlite" or "postgresql"
  std::string error;        // the latest failure, e.g. "sqlite step: database or disk is full"
  std::string code;         // e.g. "SQLITE_FULL", or PostgreSQL's "CONNECTION_BAD" / SQLSTATE "53100"
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

// Where a database lives, parsed from configuration: "sqlite:///abs/path",
// "sqlite://relative/path" or a bare path / ":memory:" (SQLite), or
// "postgresql://..." / "postgres://..." (PostgreSQL; the URI goes to libpq
// unchanged). Anything else with "://" is an error naming the scheme.
struct StorageLocation {
  Engine engine = Engine::kSqlite;
  std::string target;  // the SQLite path, or the libpq URI
};
Result<StorageLocation> ParseStorageLocation(const std::string& location);
// The location without a password, for logs and errors.
std::string RedactLocation(const std::string& location);

class Database {
 public:
  // Opens (creating if needed, SQLite) the database at `location` (see
  // ParseStorageLocation); ":memory:" works for tests.
  static Result<std::unique_ptr<Database>> Open(const std::string& location, const DatabaseOptions& options = {});
  virtual ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  virtual Engine engine() const = 0;

  // A connection to oneself, exclusively, until the session ends; Lock
  // sessions exclude each other (SQLite: the writer connection, which also
  // waits for a group commit in progress). For writes that need several
  // steps of their own (imports, merges, migrations).
  virtual Session Lock() = 0;
  // A read session (waits when every connection is busy). Sees every
  // transaction that committed before its statements ran. Any thread.
  virtual Session Read() = 0;
  // A write in a transaction. `fn` must not begin or end transactions.
  // Returns fn's error (its work rolled back, other writes unaffected), the
  // error of BEGIN/COMMIT, or OK once the COMMIT that holds fn's work has
  // succeeded. fn may run more than once (SQLite: another closure's failure
  // made SQLite abandon the shared transaction; PostgreSQL: a serialization
  // failure, a deadlock or a connection lost before COMMIT), so it must set
  // its outputs afresh on each run rather than append to them. On SQLite fn
  // runs on whichever waiting thread leads the batch, so it must not take
  // locks that a writer may hold while calling Write, nor call
  // Read/Lock/Write. Writes run concurrently on PostgreSQL: closures must be
  // correct under concurrency (unique keys, row-locking UPDATEs), not rely on
  // a single writer. Any thread.
  virtual Status Write(const std::function<Status(Session&)>& fn) = 0;
  virtual WriteStats Stats() const = 0;

  // Brings the database to `schema` (storage/migration.h): applies, in one
  // transaction each, every migration newer than its module's stored version
  // (the table kefu_schema_modules), module by module in the set's order.
  // A database at a version of the old global list (1..kLastGlobalVersion)
  // is first adopted: each module gets the version it had at that global
  // version, and the database-wide version becomes kPerModuleSchema. A
  // database newer than the binary is refused (FailedPrecondition): a
  // database-wide version above kPerModuleSchema, a module newer than the
  // set's newest migration of it, or a module the set does not know. On
  // PostgreSQL, nodes that start together are serialised by an advisory
  // lock: one migrates, the others find it done.
  Status Migrate(const MigrationSet& schema);
  // The database-wide version (SQLite: PRAGMA user_version; PostgreSQL: the
  // table kefu_schema_version): 0 new, 1..kLastGlobalVersion the old global
  // list, kPerModuleSchema once migrated by this kefu.
  virtual int SchemaVersion() = 0;
  // Each module's version (empty before the first Migrate).
  Result<std::vector<std::pair<std::string, int>>> ModuleVersions();

  // The location, without a password.
  const std::string& path() const { return path_; }
  // Connections that serve Read (SQLite: 0 = reads use the writer).
  virtual int read_connections() const = 0;

  // Storage health (see StorageHealth); cheap, never takes the database lock.
  StorageHealth Health() const;
  bool Healthy() const { return healthy_.load(std::memory_order_relaxed); }
  // Commits a write that changes nothing: a health check's proof that writes
  // work again.
  virtual Status ProbeWrite() = 0;

  // Called by the engines: a storage failure (`code` names it) and a
  // committed write.
  void NoteFailure(std::string_view code, const Status& status);
  void NoteWriteCommitted() {
    if (!healthy_.load(std::memory_order_relaxed)) NoteRecovered();
  }

 protected:
  Database(std::string path, const DatabaseOptions& options);
  // The migration hooks, each on a Lock session inside the migration's
  // transaction: serialise migrating processes (PostgreSQL: an advisory
  // transaction lock; SQLite: BEGIN IMMEDIATE already does), read and write
  // the database-wide version, and the DDL of a migration on this engine.
  virtual Status LockSchema(Session& s) = 0;
  virtual Result<int> ReadSchemaVersion(Session& s) = 0;
  virtual Status WriteSchemaVersion(Session& s, int version) = 0;
  virtual std::string MigrationSql(const Migration& m) const = 0;

  std::string path_;
  DatabaseOptions options_;

 private:
  void NoteRecovered();
  // Migrate's steps, each in a transaction of its own.
  Status AdoptGlobalVersion(const MigrationSet& schema);
  Status ApplyMigration(const Migration& m);

  std::atomic<bool> healthy_{true};
  mutable std::mutex health_mu_;
  StorageHealth health_;               // GUARDED_BY(health_mu_)
  int64_t last_failure_log_ = 0;       // steady ms; GUARDED_BY(health_mu_)
  int64_t last_recovery_log_ = 0;      // steady ms; GUARDED_BY(health_mu_)
  int64_t suppressed_ = 0;             // failures not logged since the last storage_failure line; GUARDED_BY(health_mu_)
};

// Opens the database at `location` (see Database::Open) and brings it to
// `schema` (Database::Migrate). The app's schema is app::Schema().
Result<std::unique_ptr<Database>> OpenWithSchema(const std::string& location, const MigrationSet& schema,
                                                 const DatabaseOptions& options = {});

}  // namespace kefu::storage
