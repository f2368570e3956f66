#include "storage/sqlite.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <thread>
#include <cstring>
#include <exception>
#include <filesystem>

#include "common/log.h"

namespace kefu::storage {

namespace {

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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
// a busy writer rarely does: at kInlinePages (SQLite's default
// autocheckpoint size, so the WAL stays as bounded as before) the committing
// writer checkpoints itself, and then finds most frames already copied.
class Checkpointer {
 public:
  static constexpr int kPages = 400;
  static constexpr int kInlinePages = 1000;  // SQLite's default autocheckpoint size

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
      {
        std::lock_guard lock(c->mu_);
        c->due_ = true;
      }
      c->cv_.notify_one();
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

// One SQLite connection: its handle, the mutex a Session holds, and the
// prepared statements cached on it; the writer's also its checkpointer.
struct Connection {
  explicit Connection(sqlite3* h) : db(h) {}
  ~Connection() {
    if (checkpointer) {
      sqlite3_wal_hook(db, nullptr, nullptr);
      checkpointer.reset();
    }
    cache.clear();  // finalize before closing
    sqlite3_close_v2(db);
  }
  sqlite3* db;
  std::mutex mu;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache;  // GUARDED_BY(mu)
  std::unique_ptr<Checkpointer> checkpointer;
};

struct Database::PendingWrite {
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

Statement::~Statement() { sqlite3_finalize(st_); }

Statement& Statement::Bind(int i, int64_t v) { sqlite3_bind_int64(st_, i, v); return *this; }
Statement& Statement::Bind(int i, double v) { sqlite3_bind_double(st_, i, v); return *this; }
Statement& Statement::Bind(int i, std::string_view v) {
  sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::BindNull(int i) { sqlite3_bind_null(st_, i); return *this; }

Result<bool> Statement::Step() {
  int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) {
    // A write outside an explicit transaction has committed (health).
    if (owner_ && !sqlite3_stmt_readonly(st_) && sqlite3_get_autocommit(db_)) owner_->NoteWriteCommitted();
    return false;
  }
  Status s = SqliteStatus(db_, rc, "sqlite step");
  if (owner_) owner_->NoteFailure(rc, s);
  sqlite3_reset(st_);
  return s;
}

Status Statement::Run() {
  for (;;) {
    auto r = Step();
    if (!r.ok()) { Reset(); return r.status(); }
    if (!*r) break;
  }
  Reset();
  return Status::Ok();
}

void Statement::Reset() {
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
}

int64_t Statement::Int(int col) const { return sqlite3_column_int64(st_, col); }
double Statement::Double(int col) const { return sqlite3_column_double(st_, col); }
std::string Statement::Text(int col) const {
  const auto* p = sqlite3_column_text(st_, col);
  int n = sqlite3_column_bytes(st_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), n) : std::string();
}
bool Statement::IsNull(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }
std::optional<std::string> Statement::OptText(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Text(col);
}
std::optional<int64_t> Statement::OptInt(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Int(col);
}

Transaction::Transaction(Session& s) : s_(&s) {
  begin_status_ = s.Exec("BEGIN IMMEDIATE");
  active_ = begin_status_.ok();
}

Transaction::~Transaction() {
  if (active_) (void)s_->Exec("ROLLBACK");
}

Status Transaction::Commit() {
  if (!active_) return begin_status_.ok() ? FailedPrecondition("transaction already finished") : begin_status_;
  active_ = false;
  Status s = s_->Exec("COMMIT");
  if (!s.ok()) (void)s_->Exec("ROLLBACK");
  else s_->db_->NoteWriteCommitted();
  return s;
}

Session::Session(Database& db) : Session(db, *db.writer_) {}
Session::Session(Database& db, Connection& conn) : db_(&db), conn_(&conn), lock_(conn.mu) {}
Session::Session(Database& db, Connection& conn, std::unique_lock<std::mutex> held)
    : db_(&db), conn_(&conn), lock_(std::move(held)) {}

Session::Session(Session&& o) noexcept
    : db_(o.db_),
      conn_(o.conn_),
      lock_(std::move(o.lock_)),
      prepare_status_(std::move(o.prepare_status_)),
      used_(o.used_),
      used_count_(o.used_count_),
      used_overflow_(o.used_overflow_) {
  o.used_count_ = 0;
  o.used_overflow_ = false;
}

Session::~Session() {
  if (lock_.owns_lock()) ResetStatements();
}

sqlite3* Session::handle() const { return conn_->db; }

void Session::ResetStatements() {
  if (used_overflow_) {
    for (sqlite3_stmt* st = sqlite3_next_stmt(conn_->db, nullptr); st; st = sqlite3_next_stmt(conn_->db, st))
      if (sqlite3_stmt_busy(st)) sqlite3_reset(st);
  } else {
    for (int i = 0; i < used_count_; ++i) used_[i]->Reset();
  }
  used_count_ = 0;
  used_overflow_ = false;
}

Status Session::Exec(std::string_view sql) {
  char* err = nullptr;
  std::string q(sql);
  int rc = sqlite3_exec(conn_->db, q.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    if (IsStorageFailure(rc) && sqlite3_system_errno(conn_->db) != 0)
      msg += std::string(" (") + std::strerror(sqlite3_system_errno(conn_->db)) + ")";
    Status s = SqliteStatus(nullptr, rc, "sqlite exec");
    s = Status(s.code(), (IsStorageFailure(rc) ? "storage unavailable: sqlite exec: " : "sqlite exec: ") + msg);
    db_->NoteFailure(rc, s);
    return s;
  }
  return Status::Ok();
}

Statement& Session::Prepare(std::string_view sql) {
  std::string key(sql);
  Statement* out;
  auto it = conn_->cache.find(key);
  if (it != conn_->cache.end()) {
    out = it->second.get();
    out->Reset();
  } else {
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v3(conn_->db, key.data(), static_cast<int>(key.size()), SQLITE_PREPARE_PERSISTENT, &st,
                                nullptr);
    if (rc != SQLITE_OK) {
      // A bad SQL string is a programming error; fail loudly in every build.
      std::fprintf(stderr, "kefu: cannot prepare SQL: %s\n%s\n", sqlite3_errmsg(conn_->db), key.c_str());
      std::abort();
    }
    auto& slot = conn_->cache[key];
    slot = std::make_unique<Statement>(conn_->db, st, db_);
    out = slot.get();
  }
  if (!used_overflow_) {
    if (std::find(used_.begin(), used_.begin() + used_count_, out) == used_.begin() + used_count_) {
      if (used_count_ < static_cast<int>(used_.size())) used_[used_count_++] = out;
      else used_overflow_ = true;
    }
  }
  return *out;
}

int64_t Session::LastInsertRowId() const { return sqlite3_last_insert_rowid(conn_->db); }
int Session::Changes() const { return sqlite3_changes(conn_->db); }

namespace {

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

Database::Database(std::unique_ptr<Connection> writer, std::string path, const DatabaseOptions& options)
    : writer_(std::move(writer)), path_(std::move(path)), options_(options) {}

Result<std::unique_ptr<Database>> Database::Open(const std::string& path, const DatabaseOptions& options) {
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
  std::unique_ptr<Database> d(new Database(std::make_unique<Connection>(handle), path, options));
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
      auto conn = std::make_unique<Connection>(rh);
      {
        Session s(*d, *conn);
        for (const char* sql : {"PRAGMA query_only=ON", "PRAGMA temp_store=MEMORY"}) {
          Status st = s.Exec(sql);
          if (!st.ok()) return failed(st);
        }
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
  return d;
}

Session Database::Lock() { return Session(*this, *writer_); }

Session Database::Read() {
  if (readers_.empty()) return Session(*this, *writer_);
  const size_t n = readers_.size();
  const size_t start = next_reader_.fetch_add(1, std::memory_order_relaxed) % n;
  for (size_t i = 0; i < n; ++i) {
    Connection& c = *readers_[(start + i) % n];
    std::unique_lock<std::mutex> held(c.mu, std::try_to_lock);
    if (held.owns_lock()) return Session(*this, c, std::move(held));
  }
  return Session(*this, *readers_[start]);  // all busy: wait for one
}

Database::~Database() = default;

StorageHealth Database::Health() const {
  std::lock_guard lock(health_mu_);
  return health_;
}

void Database::NoteFailure(int rc, const Status& status) {
  if (!IsStorageFailure(rc)) return;
  std::lock_guard lock(health_mu_);
  const int64_t now = WallMs(), steady = SteadyMs();
  const bool first = health_.ok;
  if (first) {
    health_.since_ms = now;
    health_.failures = 0;
  }
  health_.ok = false;
  health_.error = status.message();
  health_.sqlite_code = std::string(SqliteCodeName(rc));
  health_.last_ms = now;
  ++health_.failures;
  healthy_.store(false, std::memory_order_relaxed);
  // At most once per interval, across recoveries too: a full disk fails
  // every request (and a nearly full one lets some writes through, so the
  // state flaps), and the log must not fill what is left of it.
  if (last_failure_log_ == 0 || steady - last_failure_log_ >= options_.failure_log_interval_ms) {
    log::Error("storage_failure", {{"path", path_},
                                   {"code", health_.sqlite_code},
                                   {"error", health_.error},
                                   {"failures", health_.failures},
                                   {"suppressed", suppressed_}});
    last_failure_log_ = steady;
    suppressed_ = 0;
  } else {
    ++suppressed_;
  }
}

void Database::NoteRecovered() {
  std::lock_guard lock(health_mu_);
  if (health_.ok) return;
  const int64_t steady = SteadyMs();
  if (last_recovery_log_ == 0 || steady - last_recovery_log_ >= options_.failure_log_interval_ms) {
    log::Info("storage_recovered", {{"path", path_},
                                    {"failures", health_.failures},
                                    {"failures_not_logged", suppressed_},
                                    {"unhealthy_ms", WallMs() - health_.since_ms}});
    last_recovery_log_ = steady;
  }
  health_ = StorageHealth{};
  healthy_.store(true, std::memory_order_relaxed);
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

Status Database::Write(const std::function<Status(Session&)>& fn) {
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

void Database::RunBatch(Session& s, std::vector<PendingWrite*>& batch) {
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
        if (!sqlite3_get_autocommit(s.handle())) (void)s.Exec("ROLLBACK");
        break;
      }
      // Undo this closure only. Some failures (SQLITE_FULL, SQLITE_IOERR,
      // SQLITE_NOMEM, ...) make SQLite roll the whole transaction back: the
      // writes before this one are lost with it and run again in a new one.
      if (!sqlite3_get_autocommit(s.handle()) && s.Exec("ROLLBACK TO kefu_write").ok() &&
          s.Exec("RELEASE kefu_write").ok())
        continue;
      if (!sqlite3_get_autocommit(s.handle())) (void)s.Exec("ROLLBACK");
      retry = std::move(committed);
      retry.insert(retry.end(), todo.begin() + static_cast<std::ptrdiff_t>(i) + 1, todo.end());
      committed.clear();
      abandoned = true;
      break;
    }
    if (!abandoned) {
      if (!sqlite3_get_autocommit(s.handle())) {
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

WriteStats Database::Stats() const {
  WriteStats w;
  w.writes = stat_writes_.load(std::memory_order_relaxed);
  w.transactions = stat_transactions_.load(std::memory_order_relaxed);
  w.max_batch = stat_max_batch_.load(std::memory_order_relaxed);
  return w;
}

Status Database::ProbeWrite() {
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

int Database::SchemaVersion() {
  auto s = Lock();
  auto& st = s.Prepare("PRAGMA user_version");
  auto r = st.Step();
  int version = r.ok() && *r ? static_cast<int>(st.Int(0)) : 0;
  st.Reset();  // a statement left on a row holds a read snapshot, and the WAL could never be reset
  return version;
}

Status Database::Migrate(const std::vector<Migration>& migrations) {
  int current = SchemaVersion();
  int prev = 0;
  for (const auto& m : migrations) {
    if (m.version <= prev) return Internal("migrations out of order at version " + std::to_string(m.version));
    prev = m.version;
    if (m.version <= current) continue;
    auto s = Lock();
    auto tx = s.Begin();
    KEFU_RETURN_IF_ERROR(tx.status());
    Status st = s.Exec(m.sql);
    if (!st.ok()) return Status(st.code(), "migration " + std::to_string(m.version) + " (" + m.name + "): " + st.message());
    KEFU_RETURN_IF_ERROR(s.Exec("PRAGMA user_version = " + std::to_string(m.version)));
    KEFU_RETURN_IF_ERROR(tx.Commit());
  }
  return Status::Ok();
}

}  // namespace kefu::storage
