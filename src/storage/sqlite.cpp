#include "storage/sqlite.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/log.h"
#include "storage/database.h"

namespace kefu::storage {

namespace {

// Databases that exist only inside one connection: a reader could not see them.
bool InMemory(const std::string& path) {
  return path.empty() || path == ":memory:" ||
         (path.rfind("file:", 0) == 0 && (path.find("mode=memory") != std::string::npos ||
                                          path.rfind("file::memory:", 0) == 0));
}

}  // namespace

// Checkpoints the WAL of a database file on a thread and connection of its
// own, so that the commit that crosses SQLite's autocheckpoint size does not
// copy pages and fdatasync the file while it holds the writer (and every
// turn waits). PASSIVE: it never blocks the writer or readers, and the WAL
// stays the record of what committed until it is copied, so durability is
// unchanged. The writer's WAL hook (after each commit) wakes it once the WAL
// holds kPages pages; it runs at most every 20 ms. The WAL file only starts
// over after a checkpoint that copied every frame, which one running beside
// a busy writer rarely does: at kInlinePages the committing writer
// checkpoints itself, and then finds most frames already copied. So the WAL
// stays below about 16 MiB (4,000 pages of 4 KiB). Four times SQLite's
// default autocheckpoint size: every turn rewrites the same few hot pages
// (its conversation's row, the index leaves, the tail of the messages table),
// and a checkpoint copies each page once, however many of its versions the
// WAL holds, so fewer, larger checkpoints copy and fdatasync much less per
// turn (issue 16: ≈ 10–20 % more turns/s on 2 cores).
class Checkpointer {
 public:
  static constexpr int kPages = 1000;
  static constexpr int kInlinePages = 4000;

  explicit Checkpointer(sqlite3* db) : db_(db), thread_([this] { Run(); }) {}
  ~Checkpointer() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
    sqlite3_close_v2(db_);
  }
  // sqlite3_wal_hook callback, on the committing thread.
  static int Hook(void* self, sqlite3* db, const char*, int pages) {
    if (pages >= kInlinePages) {
      (void)sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else if (pages >= kPages) {
      auto* c = static_cast<Checkpointer*>(self);
      bool wake;
      {
        std::lock_guard lock(c->mu_);
        wake = !c->due_;  // once per checkpoint, not on every commit until it runs
        c->due_ = true;
      }
      if (wake) c->cv_.notify_one();
    }
    return SQLITE_OK;
  }

 private:
  void Run() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return due_ || stop_; });
      if (stop_) return;
      due_ = false;
      lock.unlock();
      (void)sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      lock.lock();
      cv_.wait_for(lock, std::chrono::milliseconds(20), [this] { return stop_; });
    }
  }

  sqlite3* db_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool due_ = false;   // GUARDED_BY(mu_)
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

class SqliteStatement final : public Statement {
 public:
  SqliteStatement(sqlite3* db, sqlite3_stmt* st, Database* owner) : db_(db), st_(st), owner_(owner) {}
  ~SqliteStatement() override { sqlite3_finalize(st_); }
  using Statement::Bind;
  Statement& Bind(int i, int64_t v) override {
    sqlite3_bind_int64(st_, i, v);
    return *this;
  }
  Statement& Bind(int i, double v) override {
    sqlite3_bind_double(st_, i, v);
    return *this;
  }
  Statement& Bind(int i, std::string_view v) override {
    sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& BindNull(int i) override {
    sqlite3_bind_null(st_, i);
    return *this;
  }
  Result<bool> Step() override;
  void Reset() override {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }
  int64_t Int(int col) const override { return sqlite3_column_int64(st_, col); }
  double Double(int col) const override { return sqlite3_column_double(st_, col); }
  std::string Text(int col) const override {
    const auto* p = sqlite3_column_text(st_, col);
    int n = sqlite3_column_bytes(st_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), n) : std::string();
  }
  bool IsNull(int col) const override { return sqlite3_column_type(st_, col) == SQLITE_NULL; }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_;
  Database* owner_;  // told about storage failures and committed writes (health)
};

// One SQLite connection: its handle, the mutex a Session holds, and the
// prepared statements cached on it; the writer's also its checkpointer.
class SqliteConnection final : public Connection {
 public:
  SqliteConnection(sqlite3* h, Database* owner) : db(h), owner_(owner) {}
  ~SqliteConnection() override {
    if (checkpointer) {
      sqlite3_wal_hook(db, nullptr, nullptr);
      checkpointer.reset();
    }
    cache.clear();  // finalize before closing
    for (auto& [sql, st] : tx_statements)
      if (st) sqlite3_finalize(st);
    sqlite3_close_v2(db);
  }
  Status Exec(std::string_view sql) override;
  Statement& Prepare(std::string_view sql) override;
  int Changes() const override { return sqlite3_changes(db); }
  bool InTransaction() const override { return !sqlite3_get_autocommit(db); }
  void ResetAll() override {
    for (sqlite3_stmt* st = sqlite3_next_stmt(db, nullptr); st; st = sqlite3_next_stmt(db, st))
      if (sqlite3_stmt_busy(st)) sqlite3_reset(st);
  }
  std::string_view BeginSql() const override { return "BEGIN IMMEDIATE"; }

  sqlite3* db;
  Database* owner_;
  // Heterogeneous lookup: Prepare(string_view) finds a cached statement without a copy of its SQL.
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::unique_ptr<SqliteStatement>, SqlHash, std::equal_to<>> cache;  // GUARDED_BY(mu)
  // The transaction statements every write runs (BEGIN, SAVEPOINT, COMMIT, ...), prepared once
  // instead of parsed by sqlite3_exec each time; GUARDED_BY(mu).
  std::array<std::pair<std::string_view, sqlite3_stmt*>, 7> tx_statements{{{"BEGIN IMMEDIATE", nullptr},
                                                                           {"BEGIN", nullptr},
                                                                           {"COMMIT", nullptr},
                                                                           {"ROLLBACK", nullptr},
                                                                           {"SAVEPOINT kefu_write", nullptr},
                                                                           {"RELEASE kefu_write", nullptr},
                                                                           {"ROLLBACK TO kefu_write", nullptr}}};
  std::unique_ptr<Checkpointer> checkpointer;
};

// The SQLite engine: one writer with group commit, a pool of readers.
class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(std::string path, const DatabaseOptions& options) : Database(std::move(path), options) {}
  Engine engine() const override { return Engine::kSqlite; }
  Session Lock() override;
  Session Read() override;
  Status Write(const std::function<Status(Session&)>& fn) override;
  WriteStats Stats() const override;
  int SchemaVersion() override;
  int read_connections() const override { return static_cast<int>(readers_.size()); }
  Status ProbeWrite() override;

  void NoteSqliteFailure(int rc, const Status& status) {
    if (IsStorageFailure(rc)) NoteFailure(SqliteCodeName(rc), status);
  }

  std::unique_ptr<SqliteConnection> writer_;
  std::vector<std::unique_ptr<SqliteConnection>> readers_;

 protected:
  Status LockSchema(Session&) override { return Status::Ok(); }  // BEGIN IMMEDIATE holds the write lock
  Result<int> ReadSchemaVersion(Session& s) override;
  Status WriteSchemaVersion(Session& s, int version) override {
    return s.Exec("PRAGMA user_version = " + std::to_string(version));
  }
  std::string MigrationSql(const Migration& m) const override { return m.sql; }

 private:
  struct PendingWrite;
  // Runs `batch` on the writer session `s` in one transaction (or as few as
  // failures allow) and sets each one's status.
  void RunBatch(Session& s, std::vector<PendingWrite*>& batch);

  std::atomic<uint32_t> next_reader_{0};
  // Group commit: writers queue here; the first one to find no batch in
  // progress leads the next batch (leader/follower), the others wait.
  std::mutex write_mu_;
  std::condition_variable write_cv_;
  std::deque<PendingWrite*> write_queue_;  // GUARDED_BY(write_mu_)
  bool batch_running_ = false;             // GUARDED_BY(write_mu_)
  std::atomic<int64_t> stat_writes_{0}, stat_transactions_{0}, stat_max_batch_{0};
};

struct SqliteDatabase::PendingWrite {
  const std::function<Status(Session&)>* fn;
  Status status;
  bool done = false;  // GUARDED_BY(write_mu_)
};

bool IsStorageFailure(int rc) {
  switch (rc & 0xFF) {
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_NOMEM:
    case SQLITE_PERM:
    case SQLITE_PROTOCOL:
    case SQLITE_NOLFS: return true;
    default: return false;
  }
}

std::string_view SqliteCodeName(int rc) {
  switch (rc & 0xFF) {
    case SQLITE_OK: return "SQLITE_OK";
    case SQLITE_ERROR: return "SQLITE_ERROR";
    case SQLITE_INTERNAL: return "SQLITE_INTERNAL";
    case SQLITE_PERM: return "SQLITE_PERM";
    case SQLITE_ABORT: return "SQLITE_ABORT";
    case SQLITE_BUSY: return "SQLITE_BUSY";
    case SQLITE_LOCKED: return "SQLITE_LOCKED";
    case SQLITE_NOMEM: return "SQLITE_NOMEM";
    case SQLITE_READONLY: return "SQLITE_READONLY";
    case SQLITE_INTERRUPT: return "SQLITE_INTERRUPT";
    case SQLITE_IOERR: return "SQLITE_IOERR";
    case SQLITE_CORRUPT: return "SQLITE_CORRUPT";
    case SQLITE_NOTFOUND: return "SQLITE_NOTFOUND";
    case SQLITE_FULL: return "SQLITE_FULL";
    case SQLITE_CANTOPEN: return "SQLITE_CANTOPEN";
    case SQLITE_PROTOCOL: return "SQLITE_PROTOCOL";
    case SQLITE_SCHEMA: return "SQLITE_SCHEMA";
    case SQLITE_TOOBIG: return "SQLITE_TOOBIG";
    case SQLITE_CONSTRAINT: return "SQLITE_CONSTRAINT";
    case SQLITE_MISMATCH: return "SQLITE_MISMATCH";
    case SQLITE_MISUSE: return "SQLITE_MISUSE";
    case SQLITE_NOLFS: return "SQLITE_NOLFS";
    case SQLITE_AUTH: return "SQLITE_AUTH";
    case SQLITE_RANGE: return "SQLITE_RANGE";
    case SQLITE_NOTADB: return "SQLITE_NOTADB";
    default: return "SQLITE_UNKNOWN";
  }
}

Status SqliteStatus(sqlite3* db, int rc, std::string_view what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return Status::Ok();
  std::string msg = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  if (IsStorageFailure(rc)) {
    // The disk, not the request: the client may retry later (503), the operator must act.
    if (db && sqlite3_system_errno(db) != 0) msg += std::string(" (") + std::strerror(sqlite3_system_errno(db)) + ")";
    return Unavailable("storage unavailable: " + msg);
  }
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Unavailable(msg);
    case SQLITE_CONSTRAINT: return AlreadyExists(msg);
    default: return Internal(msg);
  }
}

std::string DiagnoseFiles(const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty() || path == ":memory:" || path.rfind("file:", 0) == 0) return "";
  fs::path p(path);
  fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return "cannot use directory " + dir.string() + ": " +
                                         (ec ? ec.message() : std::string("not a directory"));
  bool missing = false;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::string f = path + suffix;
    struct stat st {};
    if (::stat(f.c_str(), &st) != 0) {
      if (errno == ENOENT) {
        missing = true;
        continue;
      }
      return "cannot open " + f + ": " + std::strerror(errno);
    }
    if (S_ISDIR(st.st_mode)) return "cannot open " + f + ": " + std::strerror(EISDIR);
    // Opening (never creating or truncating) tells permission and read-only
    // file systems apart; nothing is written.
    int fd = ::open(f.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return "cannot open " + f + ": " + std::strerror(errno);
    ::close(fd);
  }
  // SQLite creates the missing files next to the database.
  if (missing && ::access(dir.c_str(), W_OK | X_OK) != 0)
    return "cannot create files in " + dir.string() + ": " + std::strerror(errno);
  return "";
}

Result<bool> SqliteStatement::Step() {
  int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) {
    // A write outside an explicit transaction has committed (health).
    if (owner_ && !sqlite3_stmt_readonly(st_) && sqlite3_get_autocommit(db_)) owner_->NoteWriteCommitted();
    return false;
  }
  Status s = SqliteStatus(db_, rc, "sqlite step");
  if (owner_) static_cast<SqliteDatabase*>(owner_)->NoteSqliteFailure(rc, s);
  sqlite3_reset(st_);
  return s;
}

Status SqliteConnection::Exec(std::string_view sql) {
  char* err = nullptr;
  int rc = SQLITE_OK;
  std::string cached_error;
  sqlite3_stmt** tx = nullptr;
  for (auto& [text, st] : tx_statements)
    if (text == sql) tx = &st;
  if (tx && !*tx &&
      sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, tx, nullptr) !=
          SQLITE_OK) {
    *tx = nullptr;  // not preparable now (it will be by sqlite3_exec, or fail there with its message)
    tx = nullptr;
  }
  if (tx) {
    // The same as sqlite3_exec of the text: step it once, then reset it.
    rc = sqlite3_step(*tx);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) rc = SQLITE_OK;
    if (rc != SQLITE_OK) cached_error = sqlite3_errmsg(db);
    sqlite3_reset(*tx);
  } else {
    std::string q(sql);
    rc = sqlite3_exec(db, q.c_str(), nullptr, nullptr, &err);
  }
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : !cached_error.empty() ? cached_error : sqlite3_errstr(rc);
    sqlite3_free(err);
    if (IsStorageFailure(rc) && sqlite3_system_errno(db) != 0)
      msg += std::string(" (") + std::strerror(sqlite3_system_errno(db)) + ")";
    Status s = SqliteStatus(nullptr, rc, "sqlite exec");
    s = Status(s.code(), (IsStorageFailure(rc) ? "storage unavailable: sqlite exec: " : "sqlite exec: ") + msg);
    if (owner_) static_cast<SqliteDatabase*>(owner_)->NoteSqliteFailure(rc, s);
    return s;
  }
  return Status::Ok();
}

Statement& SqliteConnection::Prepare(std::string_view sql) {
  auto it = cache.find(sql);
  if (it != cache.end()) {
    it->second->Reset();
    return *it->second;
  }
  std::string key(sql);
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v3(db, key.data(), static_cast<int>(key.size()), SQLITE_PREPARE_PERSISTENT, &st, nullptr);
  if (rc != SQLITE_OK) {
    // A bad SQL string is a programming error; fail loudly in every build.
    std::fprintf(stderr, "kefu: cannot prepare SQL: %s\n%s\n", sqlite3_errmsg(db), key.c_str());
    std::abort();
  }
  auto& slot = cache[key];
  slot = std::make_unique<SqliteStatement>(db, st, owner_);
  return *slot;
}

namespace {

// Each connection's page cache: 16 MiB instead of SQLite's 2 MiB. The turn
// path reads the recent messages of hundreds of interleaved conversations;
// with 2 MiB those pages fell out of the cache and every turn read them
// again from the file (pread), even on the writer that had just written them.
constexpr const char* kCacheSize = "PRAGMA cache_size=-16384";

// Opens one connection; `failed` words the error.
template <typename Failed>
Result<sqlite3*> OpenHandle(const std::string& path, int flags, const Failed& failed) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "?";
    if (db && sqlite3_system_errno(db) != 0) msg += std::string(" (") + std::strerror(sqlite3_system_errno(db)) + ")";
    sqlite3_close(db);
    return failed(Unavailable(msg));
  }
  return db;
}

}  // namespace

Result<std::unique_ptr<Database>> OpenSqlite(const std::string& path, const DatabaseOptions& options) {
  // The operating system's reason ("cannot open data/kefu.db-wal: Read-only
  // file system") beats SQLite's generic "unable to open database file".
  auto failed = [&path](const Status& s) {
    std::string why = DiagnoseFiles(path);
    return Status(s.code(), "cannot open database " + path + ": " + (why.empty() ? "" : why + " (") + s.message() +
                                (why.empty() ? "" : ")"));
  };
  const int flags = options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  KEFU_ASSIGN_OR_RETURN(sqlite3* handle, OpenHandle(path, flags | (path.rfind("file:", 0) == 0 ? SQLITE_OPEN_URI : 0),
                                                    failed));
  sqlite3_busy_timeout(handle, options.busy_timeout_ms);
  auto d = std::make_unique<SqliteDatabase>(path, options);
  d->writer_ = std::make_unique<SqliteConnection>(handle, d.get());
  {
    auto s = d->Lock();
    auto exec = [&](const char* sql) -> Status {
      Status st = s.Exec(sql);
      return st.ok() ? st : failed(st);
    };
    if (!options.read_only) {
      KEFU_RETURN_IF_ERROR(exec("PRAGMA journal_mode=WAL"));
      KEFU_RETURN_IF_ERROR(exec("PRAGMA synchronous=NORMAL"));
    }
    KEFU_RETURN_IF_ERROR(exec("PRAGMA foreign_keys=ON"));
    KEFU_RETURN_IF_ERROR(exec("PRAGMA temp_store=MEMORY"));
    KEFU_RETURN_IF_ERROR(exec(kCacheSize));
  }
  // Readers: the file exists now, in WAL mode. query_only makes a write
  // through one fail instead of taking the write lock beside the writer.
  if (!options.read_only && !InMemory(path)) {
    const int readers = std::max(0, options.read_connections);
    for (int i = 0; i < readers; ++i) {
      KEFU_ASSIGN_OR_RETURN(sqlite3* rh, OpenHandle(path,
                                                    SQLITE_OPEN_READWRITE |
                                                        (path.rfind("file:", 0) == 0 ? SQLITE_OPEN_URI : 0),
                                                    failed));
      sqlite3_busy_timeout(rh, options.busy_timeout_ms);
      auto conn = std::make_unique<SqliteConnection>(rh, d.get());
      for (const char* sql : {"PRAGMA query_only=ON", "PRAGMA temp_store=MEMORY", kCacheSize}) {
        Status st = conn->Exec(sql);
        if (!st.ok()) return failed(st);
      }
      d->readers_.push_back(std::move(conn));
    }
    // Checkpoints off the write path (replaces SQLite's autocheckpoint; a
    // later PRAGMA wal_autocheckpoint replaces this in turn).
    KEFU_ASSIGN_OR_RETURN(sqlite3* ch, OpenHandle(path,
                                                  SQLITE_OPEN_READWRITE |
                                                      (path.rfind("file:", 0) == 0 ? SQLITE_OPEN_URI : 0),
                                                  failed));
    sqlite3_busy_timeout(ch, options.busy_timeout_ms);
    // A connection checkpoints nothing until it has read the file once and
    // so found it in WAL mode.
    if (int rc = sqlite3_exec(ch, "PRAGMA schema_version", nullptr, nullptr, nullptr); rc != SQLITE_OK) {
      Status st = SqliteStatus(ch, rc, "sqlite exec");
      sqlite3_close_v2(ch);
      return failed(st);
    }
    d->writer_->checkpointer = std::make_unique<Checkpointer>(ch);
    sqlite3_wal_hook(d->writer_->db, &Checkpointer::Hook, d->writer_->checkpointer.get());
  }
  return std::unique_ptr<Database>(std::move(d));
}

Session SqliteDatabase::Lock() { return Session(*this, *writer_, std::unique_lock<std::mutex>(writer_->mu)); }

Session SqliteDatabase::Read() {
  if (readers_.empty()) return Lock();
  const size_t n = readers_.size();
  const size_t start = next_reader_.fetch_add(1, std::memory_order_relaxed) % n;
  for (size_t i = 0; i < n; ++i) {
    Connection& c = *readers_[(start + i) % n];
    std::unique_lock<std::mutex> held(c.mu, std::try_to_lock);
    if (held.owns_lock()) return Session(*this, c, std::move(held));
  }
  return Session(*this, *readers_[start], std::unique_lock<std::mutex>(readers_[start]->mu));  // all busy: wait for one
}

namespace {

// A closure's status; what escapes it is its own failure, not the batch's.
Status RunClosure(const std::function<Status(Session&)>& fn, Session& s) {
  try {
    return fn(s);
  } catch (const std::exception& e) {
    return Internal(std::string("write failed: ") + e.what());
  } catch (...) {
    return Internal("write failed: unknown exception");
  }
}

}  // namespace

Status SqliteDatabase::Write(const std::function<Status(Session&)>& fn) {
  PendingWrite me{&fn, Status::Ok()};
  if (!options_.group_commit) {
    std::vector<PendingWrite*> one{&me};
    auto s = Lock();
    RunBatch(s, one);
    return me.status;
  }
  const size_t max_batch = static_cast<size_t>(std::max(1, options_.group_commit_max_batch));
  std::unique_lock lock(write_mu_);
  write_queue_.push_back(&me);
  while (!me.done) {
    if (batch_running_) {
      write_cv_.wait(lock);
      continue;
    }
    // Lead the next batch: everything queued by now, oldest first.
    batch_running_ = true;
    std::vector<PendingWrite*> batch;
    while (!write_queue_.empty() && batch.size() < max_batch) {
      batch.push_back(write_queue_.front());
      write_queue_.pop_front();
    }
    lock.unlock();
    {
      auto s = Lock();
      RunBatch(s, batch);
    }
    lock.lock();
    for (PendingWrite* p : batch) p->done = true;
    batch_running_ = false;
    write_cv_.notify_all();
  }
  return me.status;
}

void SqliteDatabase::RunBatch(Session& s, std::vector<PendingWrite*>& batch) {
  std::vector<PendingWrite*> todo = batch, committed;
  committed.reserve(todo.size());
  while (!todo.empty()) {
    stat_transactions_.fetch_add(1, std::memory_order_relaxed);
    int64_t size = static_cast<int64_t>(todo.size());
    for (int64_t seen = stat_max_batch_.load(std::memory_order_relaxed);
         size > seen && !stat_max_batch_.compare_exchange_weak(seen, size, std::memory_order_relaxed);) {}
    Status begin = s.Exec("BEGIN IMMEDIATE");
    if (!begin.ok()) {
      for (PendingWrite* p : todo) p->status = begin;
      return;
    }
    // Savepoints only when the transaction is shared: alone, a failure
    // rolls the whole transaction back.
    const bool shared = todo.size() > 1;
    std::vector<PendingWrite*> retry;
    bool abandoned = false;  // the transaction is gone; `retry` runs again in a new one
    committed.clear();
    for (size_t i = 0; i < todo.size(); ++i) {
      PendingWrite* p = todo[i];
      stat_writes_.fetch_add(1, std::memory_order_relaxed);
      Status st = shared ? s.Exec("SAVEPOINT kefu_write") : Status::Ok();
      if (st.ok()) st = RunClosure(*p->fn, s);
      s.ResetStatements();
      if (st.ok() && shared) st = s.Exec("RELEASE kefu_write");
      if (st.ok()) {
        committed.push_back(p);
        continue;
      }
      p->status = st;
      if (!shared) {  // alone: its failure undoes the whole transaction
        if (s.InTransaction()) (void)s.Exec("ROLLBACK");
        break;
      }
      // Undo this closure only. Some failures (SQLITE_FULL, SQLITE_IOERR,
      // SQLITE_NOMEM, ...) make SQLite roll the whole transaction back: the
      // writes before this one are lost with it and run again in a new one.
      if (s.InTransaction() && s.Exec("ROLLBACK TO kefu_write").ok() &&
          s.Exec("RELEASE kefu_write").ok())
        continue;
      if (s.InTransaction()) (void)s.Exec("ROLLBACK");
      retry = std::move(committed);
      retry.insert(retry.end(), todo.begin() + static_cast<std::ptrdiff_t>(i) + 1, todo.end());
      committed.clear();
      abandoned = true;
      break;
    }
    if (!abandoned) {
      if (s.InTransaction()) {
        if (committed.empty()) {
          (void)s.Exec("ROLLBACK");
        } else {
          Status c = s.Exec("COMMIT");
          if (!c.ok()) (void)s.Exec("ROLLBACK");
          else NoteWriteCommitted();
          for (PendingWrite* p : committed) p->status = c;
        }
      }
    }
    todo = std::move(retry);
  }
}

WriteStats SqliteDatabase::Stats() const {
  WriteStats w;
  w.writes = stat_writes_.load(std::memory_order_relaxed);
  w.transactions = stat_transactions_.load(std::memory_order_relaxed);
  w.max_batch = stat_max_batch_.load(std::memory_order_relaxed);
  return w;
}

Status SqliteDatabase::ProbeWrite() {
  auto s = Lock();
  auto tx = s.Begin();
  KEFU_RETURN_IF_ERROR(tx.status());
  auto& st = s.Prepare("PRAGMA user_version");
  KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
  int64_t version = row ? st.Int(0) : 0;
  st.Reset();
  KEFU_RETURN_IF_ERROR(s.Exec("PRAGMA user_version = " + std::to_string(version)));
  return tx.Commit();  // NoteWriteCommitted on success
}

int SqliteDatabase::SchemaVersion() {
  auto s = Lock();
  auto& st = s.Prepare("PRAGMA user_version");
  auto r = st.Step();
  int version = r.ok() && *r ? static_cast<int>(st.Int(0)) : 0;
  st.Reset();  // a statement left on a row holds a read snapshot, and the WAL could never be reset
  return version;
}

Result<int> SqliteDatabase::ReadSchemaVersion(Session& s) {
  auto& st = s.Prepare("PRAGMA user_version");
  KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
  const int version = row ? static_cast<int>(st.Int(0)) : 0;
  st.Reset();
  return version;
}

}  // namespace kefu::storage
