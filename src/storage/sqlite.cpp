#include "storage/sqlite.h"

#include <sqlite3.h>

namespace kefu::storage {

Status SqliteStatus(sqlite3* db, int rc, std::string_view what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return Status::Ok();
  std::string msg = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Unavailable(msg);
    case SQLITE_CONSTRAINT: return AlreadyExists(msg);
    case SQLITE_FULL: return ResourceExhausted(msg);
    default: return Internal(msg);
  }
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
  if (rc == SQLITE_DONE) return false;
  Status s = SqliteStatus(db_, rc, "sqlite step");
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
  return s;
}

Session::Session(Database& db) : db_(&db), lock_(db.mu_) {}

Status Session::Exec(std::string_view sql) {
  char* err = nullptr;
  std::string q(sql);
  int rc = sqlite3_exec(db_->db_, q.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    Status s = SqliteStatus(nullptr, rc, "sqlite exec");
    return Status(s.code(), "sqlite exec: " + msg);
  }
  return Status::Ok();
}

Statement& Session::Prepare(std::string_view sql) {
  std::string key(sql);
  auto it = db_->cache_.find(key);
  if (it != db_->cache_.end()) {
    it->second->Reset();
    return *it->second;
  }
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v3(db_->db_, key.data(), static_cast<int>(key.size()), SQLITE_PREPARE_PERSISTENT, &st,
                              nullptr);
  if (rc != SQLITE_OK) {
    // A bad SQL string is a programming error; fail loudly in every build.
    std::fprintf(stderr, "kefu: cannot prepare SQL: %s\n%s\n", sqlite3_errmsg(db_->db_), key.c_str());
    std::abort();
  }
  auto& slot = db_->cache_[key];
  slot = std::make_unique<Statement>(db_->db_, st);
  return *slot;
}

int64_t Session::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_->db_); }
int Session::Changes() const { return sqlite3_changes(db_->db_); }

Result<std::unique_ptr<Database>> Database::Open(const std::string& path, const DatabaseOptions& options) {
  sqlite3* db = nullptr;
  int flags = options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status s = Unavailable(std::string("cannot open database ") + path + ": " + (db ? sqlite3_errmsg(db) : "?"));
    sqlite3_close(db);
    return s;
  }
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  std::unique_ptr<Database> d(new Database(db, path));
  auto s = d->Lock();
  if (!options.read_only) {
    KEFU_RETURN_IF_ERROR(s.Exec("PRAGMA journal_mode=WAL"));
    KEFU_RETURN_IF_ERROR(s.Exec("PRAGMA synchronous=NORMAL"));
  }
  KEFU_RETURN_IF_ERROR(s.Exec("PRAGMA foreign_keys=ON"));
  KEFU_RETURN_IF_ERROR(s.Exec("PRAGMA temp_store=MEMORY"));
  return d;
}

Database::~Database() {
  cache_.clear();
  sqlite3_close_v2(db_);
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
