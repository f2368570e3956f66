#include "storage/database.h"

#include <algorithm>
#include <chrono>

#include "common/log.h"
#include "storage/postgres.h"
#include "storage/sqlite.h"

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

}  // namespace

std::string_view EngineName(Engine e) { return e == Engine::kPostgres ? "postgresql" : "sqlite"; }

Status Statement::Run() {
  for (;;) {
    auto r = Step();
    if (!r.ok()) {
      Reset();
      return r.status();
    }
    if (!*r) break;
  }
  Reset();
  return Status::Ok();
}

Transaction::Transaction(Session& s) : s_(&s) {
  begin_status_ = s.Exec(s.conn_->BeginSql());
  active_ = begin_status_.ok();
}

Transaction::~Transaction() {
  if (active_) (void)s_->Exec("ROLLBACK");
}

Status Transaction::Commit() {
  if (!active_) return begin_status_.ok() ? FailedPrecondition("transaction already finished") : begin_status_;
  active_ = false;
  Status s = s_->Exec("COMMIT");
  if (!s.ok()) {
    if (s_->InTransaction()) (void)s_->Exec("ROLLBACK");
  } else {
    s_->db_->NoteWriteCommitted();
  }
  return s;
}

Session::Session(Database& db, Connection& conn, std::unique_lock<std::mutex> held,
                 std::unique_lock<std::mutex> exclusive)
    : db_(&db), conn_(&conn), exclusive_(std::move(exclusive)), lock_(std::move(held)) {}

Session::Session(Session&& o) noexcept
    : db_(o.db_),
      conn_(o.conn_),
      exclusive_(std::move(o.exclusive_)),
      lock_(std::move(o.lock_)),
      used_(o.used_),
      used_count_(o.used_count_),
      used_overflow_(o.used_overflow_) {
  o.used_count_ = 0;
  o.used_overflow_ = false;
}

Session::~Session() {
  if (lock_.owns_lock()) ResetStatements();
}

void Session::ResetStatements() {
  if (used_overflow_) {
    conn_->ResetAll();
  } else {
    for (int i = 0; i < used_count_; ++i) used_[i]->Reset();
  }
  used_count_ = 0;
  used_overflow_ = false;
}

Status Session::Exec(std::string_view sql) { return conn_->Exec(sql); }

Statement& Session::Prepare(std::string_view sql) {
  Statement& out = conn_->Prepare(sql);
  if (!used_overflow_) {
    if (std::find(used_.begin(), used_.begin() + used_count_, &out) == used_.begin() + used_count_) {
      if (used_count_ < static_cast<int>(used_.size())) used_[used_count_++] = &out;
      else used_overflow_ = true;
    }
  }
  return out;
}

Result<StorageLocation> ParseStorageLocation(const std::string& location) {
  StorageLocation out;
  const auto scheme_end = location.find("://");
  if (scheme_end == std::string::npos) {
    out.target = location;  // a path, ":memory:" or a "file:" URI
    return out;
  }
  const std::string scheme = location.substr(0, scheme_end);
  if (scheme == "sqlite") {
    // sqlite:///abs/path -> /abs/path; sqlite://rel/path -> rel/path
    out.target = location.substr(scheme_end + 3);
    if (out.target.empty()) return InvalidArgument("storage url " + location + " names no database file");
    return out;
  }
  if (scheme == "postgresql" || scheme == "postgres") {
    out.engine = Engine::kPostgres;
    out.target = location;
    return out;
  }
  return InvalidArgument("storage url " + RedactLocation(location) + ": unknown scheme '" + scheme +
                         "' (use sqlite:///path/kefu.db or postgresql://user@host:port/db)");
}

std::string RedactLocation(const std::string& location) {
  const auto scheme_end = location.find("://");
  if (scheme_end == std::string::npos) return location;
  std::string out = location;
  // user:password@ before the host.
  const auto at = out.find('@', scheme_end + 3);
  const auto slash = out.find('/', scheme_end + 3);
  if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
    const auto colon = out.find(':', scheme_end + 3);
    if (colon != std::string::npos && colon < at) out = out.substr(0, colon) + ":***" + out.substr(at);
  }
  // password=... among the query parameters (libpq takes it there too).
  const auto query = out.find('?');
  if (query == std::string::npos) return out;
  size_t i = query + 1;
  while (i < out.size()) {
    size_t end = out.find('&', i);
    if (end == std::string::npos) end = out.size();
    if (out.compare(i, 9, "password=") == 0) {
      out.replace(i + 9, end - (i + 9), "***");
      end = i + 12;
    }
    i = end + 1;
  }
  return out;
}

Result<std::unique_ptr<Database>> Database::Open(const std::string& location, const DatabaseOptions& options) {
  KEFU_ASSIGN_OR_RETURN(StorageLocation loc, ParseStorageLocation(location));
  if (loc.engine == Engine::kPostgres) return OpenPostgres(loc.target, options);
  return OpenSqlite(loc.target, options);
}

Result<std::unique_ptr<Database>> OpenWithSchema(const std::string& location, const MigrationSet& schema,
                                                 const DatabaseOptions& options) {
  KEFU_ASSIGN_OR_RETURN(auto db, Database::Open(location, options));
  KEFU_RETURN_IF_ERROR(db->Migrate(schema));
  return db;
}

Database::Database(std::string path, const DatabaseOptions& options) : path_(std::move(path)), options_(options) {}
Database::~Database() = default;

namespace {

std::string NewerThanKnown(const std::string& path, const std::string& what) {
  return "the database " + path + " has " + what +
         ": it was written by a newer kefu; run that version, or restore a backup";
}

}  // namespace

Status Database::Migrate(const MigrationSet& schema) {
  KEFU_RETURN_IF_ERROR(schema.Validate());
  KEFU_RETURN_IF_ERROR(AdoptGlobalVersion(schema));
  KEFU_ASSIGN_OR_RETURN(auto stored, ModuleVersions());
  for (const auto& [module, version] : stored) {
    const int known = schema.Latest(module);
    if (known == 0)
      return FailedPrecondition(NewerThanKnown(path_, "tables of module " + module + " (schema version " +
                                                          std::to_string(version) +
                                                          "), which this kefu does not know"));
    if (version > known)
      return FailedPrecondition(NewerThanKnown(path_, "module " + module + " at schema version " +
                                                          std::to_string(version) + ", newer than this kefu knows (" +
                                                          std::to_string(known) + ")"));
  }
  nlohmann::json applied = nlohmann::json::array();
  for (const auto& m : schema.migrations()) {
    const auto it = std::find_if(stored.begin(), stored.end(), [&](const auto& p) { return p.first == m.module; });
    if (it != stored.end() && it->second >= m.version) continue;
    Status st = ApplyMigration(m);
    if (!st.ok())
      return Status(st.code(),
                    "migration " + m.module + " " + std::to_string(m.version) + " (" + m.name + "): " + st.message());
    applied.push_back(m.module + " " + std::to_string(m.version) + " " + m.name);
  }
  // An upgrade is worth a line; a new database (every test's) is not.
  if (!applied.empty()) {
    const nlohmann::json fields = {{"path", path_}, {"applied", applied}};
    if (stored.empty())
      log::Debug("schema_created", fields);
    else
      log::Info("schema_migrated", fields);
  }
  return Status::Ok();
}

Result<std::vector<std::pair<std::string, int>>> Database::ModuleVersions() {
  std::vector<std::pair<std::string, int>> out;
  if (SchemaVersion() < kPerModuleSchema) return out;
  auto s = Lock();
  auto& st = s.Prepare("SELECT module, version FROM kefu_schema_modules ORDER BY module");
  while (true) {
    KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.emplace_back(st.Text(0), static_cast<int>(st.Int(1)));
  }
  return out;
}

// A new database, or one at a version of the old global list, gets
// per-module versions: each module the version it had then.
Status Database::AdoptGlobalVersion(const MigrationSet& schema) {
  auto s = Lock();
  auto tx = s.Begin();
  KEFU_RETURN_IF_ERROR(tx.status());
  KEFU_RETURN_IF_ERROR(LockSchema(s));
  KEFU_ASSIGN_OR_RETURN(const int global, ReadSchemaVersion(s));
  if (global > kPerModuleSchema)
    return FailedPrecondition(NewerThanKnown(path_, "schema version " + std::to_string(global) +
                                                        ", newer than this kefu knows (" +
                                                        std::to_string(kPerModuleSchema) + ")"));
  if (global == kPerModuleSchema) return tx.Commit();
  KEFU_RETURN_IF_ERROR(
      s.Exec("CREATE TABLE IF NOT EXISTS kefu_schema_modules (module TEXT PRIMARY KEY, version INTEGER NOT NULL)"));
  if (global > 0) {
    for (const std::string& module : schema.Modules()) {
      const int v = schema.AtGlobalVersion(module, global);
      if (v == 0) continue;
      auto& ins = s.Prepare("INSERT INTO kefu_schema_modules(module, version) VALUES(?, ?)");
      ins.Bind(1, module).Bind(2, int64_t{v});
      KEFU_RETURN_IF_ERROR(ins.Run());
    }
  }
  KEFU_RETURN_IF_ERROR(WriteSchemaVersion(s, kPerModuleSchema));
  KEFU_RETURN_IF_ERROR(tx.Commit());
  if (global > 0) log::Info("schema_adopted", {{"path", path_}, {"global_version", global}});
  return Status::Ok();
}

Status Database::ApplyMigration(const Migration& m) {
  auto s = Lock();
  auto tx = s.Begin();
  KEFU_RETURN_IF_ERROR(tx.status());
  KEFU_RETURN_IF_ERROR(LockSchema(s));
  auto& cur = s.Prepare("SELECT version FROM kefu_schema_modules WHERE module = ?");
  cur.Bind(1, m.module);
  KEFU_ASSIGN_OR_RETURN(bool row, cur.Step());
  const int64_t now = row ? cur.Int(0) : 0;
  cur.Reset();
  if (now >= m.version) return tx.Commit();  // another node got there first
  KEFU_RETURN_IF_ERROR(s.Exec(MigrationSql(m)));
  auto& up = s.Prepare(
      "INSERT INTO kefu_schema_modules(module, version) VALUES(?, ?) "
      "ON CONFLICT (module) DO UPDATE SET version = excluded.version");
  up.Bind(1, m.module).Bind(2, int64_t{m.version});
  KEFU_RETURN_IF_ERROR(up.Run());
  return tx.Commit();
}

StorageHealth Database::Health() const {
  std::lock_guard lock(health_mu_);
  StorageHealth h = health_;
  h.engine = std::string(EngineName(engine()));
  return h;
}

void Database::NoteFailure(std::string_view code, const Status& status) {
  std::lock_guard lock(health_mu_);
  const int64_t now = WallMs(), steady = SteadyMs();
  const bool first = health_.ok;
  if (first) {
    health_.since_ms = now;
    health_.failures = 0;
  }
  health_.ok = false;
  health_.error = status.message();
  health_.code = std::string(code);
  health_.last_ms = now;
  ++health_.failures;
  healthy_.store(false, std::memory_order_relaxed);
  // At most once per interval, across recoveries too: a full disk fails
  // every request (and a nearly full one lets some writes through, so the
  // state flaps), and the log must not fill what is left of it.
  if (last_failure_log_ == 0 || steady - last_failure_log_ >= options_.failure_log_interval_ms) {
    log::Error("storage_failure", {{"path", path_},
                                   {"code", health_.code},
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

}  // namespace kefu::storage
