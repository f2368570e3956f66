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

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* st) : db_(db), st_(st) {}
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
};

class Database;

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

 private:
  friend class Session;
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  sqlite3* db_;
  std::string path_;
  std::mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;  // GUARDED_BY(mu_)
};

// Errors from SQLite as a Status (SQLITE_BUSY -> unavailable, constraint -> already_exists).
Status SqliteStatus(sqlite3* db, int rc, std::string_view what);

}  // namespace kefu::storage
