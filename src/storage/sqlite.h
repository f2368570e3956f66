// A thin, safe layer over SQLite. One Database owns one connection in WAL mode
// (synchronous=NORMAL: a committed transaction survives a process crash) and a
// mutex; all access goes through a Session, which holds that mutex for its
// lifetime, so any thread may use a Database but statements never interleave.
// Prepared statements are cached per connection.
//
//   auto session = db.Lock();
//   auto tx = session.Begin();              // BEGIN IMMEDIATE
//   auto& st = session.Prepare("INSERT INTO t(a) VALUES(?)");
//   st.Bind(1, "x");
//   KEFU_RETURN_IF_ERROR(st.Run());
//   KEFU_RETURN_IF_ERROR(tx.Commit());     // rolled back if not committed
#pragma once

#include <atomic>
#include <cstdint>
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

class Session {
 public:
  Session(Database& db);
  Session(Session&&) = default;

  Status Exec(std::string_view sql);
  // Returns a cached, reset statement; valid until the session ends.
  Statement& Prepare(std::string_view sql);
  Status PrepareStatus() const { return prepare_status_; }
  Transaction Begin() { return Transaction(*this); }
  int64_t LastInsertRowId() const;
  int Changes() const;

 private:
  friend class Transaction;
  Database* db_;
  std::unique_lock<std::mutex> lock_;
  Status prepare_status_;
};

struct Migration {
  int version;
  std::string name;
  std::string sql;
};

struct DatabaseOptions {
  int busy_timeout_ms = 5000;
  bool read_only = false;
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

class Database {
 public:
  // Opens (creating if needed) the database at `path`; ":memory:" works for tests.
  static Result<std::unique_ptr<Database>> Open(const std::string& path, const DatabaseOptions& options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Session Lock() { return Session(*this); }

  // Applies, in one transaction each, every migration newer than the stored
  // schema version (PRAGMA user_version). Versions must increase.
  Status Migrate(const std::vector<Migration>& migrations);
  int SchemaVersion();

  const std::string& path() const { return path_; }

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
  Database(sqlite3* db, std::string path, const DatabaseOptions& options)
      : db_(db), path_(std::move(path)), options_(options) {}
  void NoteRecovered();

  sqlite3* db_;
  std::string path_;
  DatabaseOptions options_;
  std::mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;  // GUARDED_BY(mu_)

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
