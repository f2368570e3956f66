#include "storage/postgres.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <exception>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/log.h"

namespace kefu::storage {

namespace {

constexpr unsigned kInt8Oid = 20, kFloat8Oid = 701, kTextOid = 25;
// pg_advisory_lock key that serialises schema changes between nodes starting together.
constexpr const char* kSchemaLockKey = "7263541001";

int64_t PgSteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

bool WordIs(std::string_view w, std::string_view upper) {
  if (w.size() != upper.size()) return false;
  for (size_t i = 0; i < w.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(w[i])) != upper[i]) return false;
  return true;
}

// Walks `sql`, handing each word and each `?NNN` outside literals, quoted
// identifiers and comments to `on_word`/`on_param`, and everything else to
// `out` unchanged.
template <typename OnWord, typename OnParam>
std::string Rewrite(std::string_view sql, OnWord on_word, OnParam on_param) {
  std::string out;
  out.reserve(sql.size() + 16);
  size_t i = 0;
  const size_t n = sql.size();
  while (i < n) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {  // a literal or a quoted identifier; '' and "" escape the quote
      size_t j = i + 1;
      while (j < n) {
        if (sql[j] == c) {
          if (j + 1 < n && sql[j + 1] == c) {
            j += 2;
            continue;
          }
          break;
        }
        ++j;
      }
      j = std::min(n, j + 1);
      out.append(sql.substr(i, j - i));
      i = j;
    } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      size_t j = sql.find('\n', i);
      j = j == std::string_view::npos ? n : j;
      out.append(sql.substr(i, j - i));
      i = j;
    } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      size_t j = sql.find("*/", i + 2);
      j = j == std::string_view::npos ? n : j + 2;
      out.append(sql.substr(i, j - i));
      i = j;
    } else if (c == '?') {
      size_t j = i + 1;
      while (j < n && std::isdigit(static_cast<unsigned char>(sql[j]))) ++j;
      int number = 0;
      if (j > i + 1) std::from_chars(sql.data() + i + 1, sql.data() + j, number);
      on_param(out, number);
      i = j;
    } else if (IsWordChar(c)) {
      size_t j = i;
      while (j < n && IsWordChar(sql[j])) ++j;
      on_word(out, sql.substr(i, j - i), sql.substr(j));
      i = j;
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return out;
}

std::string_view NextWord(std::string_view rest) {
  size_t i = 0;
  while (i < rest.size() && std::isspace(static_cast<unsigned char>(rest[i]))) ++i;
  size_t j = i;
  while (j < rest.size() && IsWordChar(rest[j])) ++j;
  return rest.substr(i, j - i);
}

std::string TrimMessage(const char* m) {
  std::string s = m ? m : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The passwords written in a libpq URI (user:password@host and the password
// query parameter) as they are written there, for Scrub.
std::vector<std::string> UriPasswords(const std::string& uri) {
  std::vector<std::string> out;
  const auto scheme_end = uri.find("://");
  if (scheme_end == std::string::npos) return out;
  const auto at = uri.find('@', scheme_end + 3);
  const auto slash = uri.find('/', scheme_end + 3);
  if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
    const auto colon = uri.find(':', scheme_end + 3);
    if (colon != std::string::npos && colon + 1 < at) out.push_back(uri.substr(colon + 1, at - colon - 1));
  }
  for (auto i = uri.find('?'); i != std::string::npos; i = uri.find('&', i)) {
    ++i;
    if (uri.compare(i, 9, "password=") != 0) continue;
    const auto end = std::min(uri.find('&', i), uri.size());
    if (end > i + 9) out.push_back(uri.substr(i + 9, end - i - 9));
  }
  return out;
}

// libpq's message with the URI's passwords masked: a malformed URI is quoted
// back in it ("invalid percent-encoded token: ..."), and these messages are
// logged and shown.
std::string Scrub(std::string message, const std::string& uri) {
  for (const auto& pw : UriPasswords(uri))
    for (auto i = message.find(pw); i != std::string::npos; i = message.find(pw, i + 3))
      message.replace(i, pw.size(), "***");
  return message;
}

// The SQLSTATE that a server's refusal carries in a verbose libpq message
// ("... failed: FATAL:  3D000: database \"x\" does not exist"; the severity
// may be translated, the code never is); the last one when several hosts were
// tried, "" when there is none (the server was not reached).
std::string SqlStateOf(std::string_view m) {
  std::string found;
  for (size_t i = m.find(":  "); i != std::string_view::npos; i = m.find(":  ", i + 1)) {
    if (i + 3 + 6 > m.size() || m[i + 8] != ':') continue;
    const auto code = m.substr(i + 3, 5);
    if (std::all_of(code.begin(), code.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c)) || std::isupper(static_cast<unsigned char>(c));
        }))
      found = std::string(code);
  }
  return found;
}

// Whether a connection failure is one that waiting for the server cannot
// fix: the server refused kefu's credentials (class 28: no such role,
// password authentication failed, no pg_hba.conf entry), the database does
// not exist (3D000) or may not be connected to (42501), or libpq has no
// password to send.
bool RefusedForGood(const std::string& sqlstate, std::string_view message) {
  return sqlstate.rfind("28", 0) == 0 || sqlstate == "3D000" || sqlstate == "42501" ||
         message.find("fe_sendauth: no password supplied") != std::string_view::npos;
}

// A verbose message without the server's LOCATION lines (its source file).
std::string WithoutLocation(std::string_view m) {
  std::string out;
  size_t i = 0;
  while (i < m.size()) {
    size_t end = m.find('\n', i);
    end = end == std::string_view::npos ? m.size() : end + 1;
    const auto line = m.substr(i, end - i);
    if (line.rfind("LOCATION:", 0) != 0) out.append(line);
    i = end;
  }
  return TrimMessage(out.c_str());
}

// What one start-up try to connect learned (ProbeServer).
struct Probe {
  enum Kind { kConnected, kRefused, kUnreachable, kTimedOut } kind = kUnreachable;
  std::string error;  // libpq's reason (passwords scrubbed)
};

// Connects to `uri` once, as PgConnection does (connect_timeout 5 s unless the
// URI says otherwise), but with verbose errors so that a refusal carries its
// SQLSTATE, then disconnects. Gives up at `deadline_ms` (steady) or after the
// connect timeout, whichever is first, with kTimedOut: a URI with several
// hosts or addresses moves on to the next one only in libpq's blocking
// connect, so the caller tries that next.
Probe ProbeServer(const std::string& uri, int64_t deadline_ms) {
  const char* keys[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
  const char* values[] = {"5", "kefu", uri.c_str(), nullptr};
  PGconn* c = PQconnectStartParams(keys, values, /*expand_dbname=*/1);
  if (!c) return {Probe::kUnreachable, "out of memory"};
  PQsetErrorVerbosity(c, PQERRORS_VERBOSE);
  int timeout_s = 0;
  if (PQconninfoOption* opts = PQconninfo(c)) {
    for (auto* o = opts; o->keyword; ++o)
      if (std::strcmp(o->keyword, "connect_timeout") == 0 && o->val) timeout_s = std::atoi(o->val);
    PQconninfoFree(opts);
  }
  const int64_t start = PgSteadyMs();
  int64_t until = std::max(deadline_ms, start + 1000);
  if (timeout_s > 0) until = std::min(until, start + std::max(2, timeout_s) * 1000);  // libpq's minimum is 2 s
  auto st = PQstatus(c) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
  bool timed_out = false;
  while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
    const int fd = PQsocket(c);
    if (fd < 0) {
      st = PGRES_POLLING_FAILED;
      break;
    }
    const int64_t left = until - PgSteadyMs();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fd, static_cast<short>(st == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (n > 0 || (n < 0 && errno != EINTR)) st = PQconnectPoll(c);
  }
  Probe out;
  if (st == PGRES_POLLING_OK) {
    out.kind = Probe::kConnected;
  } else if (timed_out) {
    out.kind = Probe::kTimedOut;
    out.error = "timeout expired";
  } else {
    const std::string message = PQerrorMessage(c);
    out.kind = RefusedForGood(SqlStateOf(message), message) ? Probe::kRefused : Probe::kUnreachable;
    out.error = Scrub(WithoutLocation(message), uri);
  }
  PQfinish(c);
  return out;
}

// One libpq connection, (re)opened on demand, with its prepared statements.
class PgConnection final : public Connection {
 public:
  PgConnection(Database* owner, std::string uri, const DatabaseOptions& options)
      : owner_(owner), uri_(std::move(uri)), options_(options) {}
  ~PgConnection() override;
  Status Exec(std::string_view sql) override;
  Status ExecOnce(std::string_view sql);
  Statement& Prepare(std::string_view sql) override;
  int Changes() const override { return changes_; }
  bool InTransaction() const override {
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK) return in_transaction_;  // until ROLLBACK says it is over
    auto t = PQtransactionStatus(conn_);
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
  }
  void ResetAll() override;
  std::string_view BeginSql() const override { return "BEGIN"; }

  // Connects when not connected (at most once per backoff interval). A
  // connection lost inside a transaction is not replaced until that
  // transaction ends (ROLLBACK), so its remaining statements cannot run in
  // autocommit on a new connection.
  Status Ensure();
  // The Status for a failed result (null: the connection's error); notes
  // lost connections and storage failures with the database.
  Status Failed(PGresult* r, std::string_view what);
  void NoteChanges(PGresult* r);

  PGconn* conn() const { return conn_; }
  uint64_t generation() const { return generation_; }
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  bool lost() const { return lost_; }
  void NoteCommitted() { owner_->NoteWriteCommitted(); }
  // The next Ensure connects at once, whatever the backoff says.
  void RetryNow() { next_attempt_ms_ = 0; }
  std::string NextStatementName() { return "kefu_" + std::to_string(++statements_); }

 private:
  Database* owner_;
  std::string uri_;
  DatabaseOptions options_;
  PGconn* conn_ = nullptr;
  uint64_t generation_ = 0;  // bumps on every (re)connect: the server forgot the prepared statements
  uint64_t statements_ = 0;
  int changes_ = 0;
  std::string last_sqlstate_;
  bool lost_ = false;  // the latest failure was the connection itself
  bool in_transaction_ = false;  // BEGIN ran; COMMIT or ROLLBACK has not
  int64_t next_attempt_ms_ = 0;
  int backoff_ms_ = 0;
  std::string last_connect_error_;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;  // GUARDED_BY(mu)
};

class PgStatement final : public Statement {
 public:
  PgStatement(PgConnection* c, std::string sql, int params)
      : c_(c), sql_(std::move(sql)), values_(params), null_(params, 1), types_(params, 0) {}
  ~PgStatement() override { PQclear(res_); }
  using Statement::Bind;
  Statement& Bind(int i, int64_t v) override {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    return Set(i, std::string_view(buf, r.ptr - buf), kInt8Oid);
  }
  Statement& Bind(int i, double v) override {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    return Set(i, std::string_view(buf, r.ptr - buf), kFloat8Oid);
  }
  Statement& Bind(int i, std::string_view v) override { return Set(i, v, kTextOid); }
  Statement& BindNull(int i) override {
    if (i >= 1 && i <= static_cast<int>(null_.size())) null_[i - 1] = 1;
    return *this;
  }
  Result<bool> Step() override;
  void Reset() override {
    PQclear(res_);
    res_ = nullptr;
    std::fill(null_.begin(), null_.end(), 1);
  }
  int64_t Int(int col) const override {
    const char* v = Value(col);
    if (!v || !*v) return 0;
    if (v[0] == 't' && v[1] == 0) return 1;  // boolean
    if (v[0] == 'f' && v[1] == 0) return 0;
    int64_t out = 0;
    auto r = std::from_chars(v, v + std::strlen(v), out);
    if (r.ec != std::errc() || *r.ptr == '.' || *r.ptr == 'e') return static_cast<int64_t>(std::strtod(v, nullptr));
    return out;
  }
  double Double(int col) const override {
    const char* v = Value(col);
    return v && *v ? std::strtod(v, nullptr) : 0.0;
  }
  std::string Text(int col) const override {
    const char* v = Value(col);
    return v ? std::string(v, PQgetlength(res_, row_, col)) : std::string();
  }
  bool IsNull(int col) const override {
    return !res_ || row_ >= PQntuples(res_) || col >= PQnfields(res_) || PQgetisnull(res_, row_, col);
  }

 private:
  Statement& Set(int i, std::string_view v, unsigned oid) {
    if (i < 1 || i > static_cast<int>(values_.size())) return *this;  // as SQLite: out of range is ignored
    values_[i - 1].assign(v.data(), v.size());
    null_[i - 1] = 0;
    types_[i - 1] = oid;
    return *this;
  }
  const char* Value(int col) const {
    if (!res_ || row_ >= PQntuples(res_) || col >= PQnfields(res_) || PQgetisnull(res_, row_, col)) return nullptr;
    return PQgetvalue(res_, row_, col);
  }
  Status PrepareOnServer();
  // Runs the statement once; the result in res_.
  Status ExecuteOnce();
  bool IsRead() const;

  PgConnection* c_;
  std::string sql_;  // PostgreSQL's ($n)
  std::string name_;
  uint64_t prepared_generation_ = 0;  // the connection generation it was prepared in (0: never)
  std::vector<std::string> values_;
  std::vector<char> null_;
  std::vector<unsigned> types_;
  PGresult* res_ = nullptr;  // the whole result of the latest execution
  int row_ = 0;
};

class PostgresDatabase final : public Database {
 public:
  PostgresDatabase(const std::string& uri, const DatabaseOptions& options)
      : Database(RedactLocation(uri), options) {
    const int n = std::max(1, options.pool_size);
    for (int i = 0; i < n; ++i) pool_.push_back(std::make_unique<PgConnection>(this, uri, options));
  }
  Engine engine() const override { return Engine::kPostgres; }
  Session Lock() override {
    std::unique_lock<std::mutex> exclusive(lock_mu_);
    auto [c, held] = Acquire();
    return Session(*this, *c, std::move(held), std::move(exclusive));
  }
  Session Read() override {
    auto [c, held] = Acquire();
    return Session(*this, *c, std::move(held));
  }
  Status Write(const std::function<Status(Session&)>& fn) override;
  WriteStats Stats() const override {
    WriteStats w;
    w.writes = writes_.load(std::memory_order_relaxed);
    w.transactions = transactions_.load(std::memory_order_relaxed);
    w.max_batch = w.transactions > 0 ? 1 : 0;
    return w;
  }
  int SchemaVersion() override {
    auto s = Read();
    auto& st = s.Prepare("SELECT version FROM kefu_schema_version");
    auto r = st.Step();
    int v = r.ok() && *r ? static_cast<int>(st.Int(0)) : 0;
    st.Reset();
    return v;
  }
  int read_connections() const override { return static_cast<int>(pool_.size()); }
  // Start-up: connects a pooled connection now and makes sure the schema
  // version table exists.
  Status Bootstrap() {
    auto s = Lock();
    static_cast<PgConnection&>(s.connection()).RetryNow();
    Status st =
        s.Exec(std::string("SELECT pg_advisory_lock(") + kSchemaLockKey +
               ");\n"
               "CREATE TABLE IF NOT EXISTS kefu_schema_version (version BIGINT NOT NULL);\n"
               "INSERT INTO kefu_schema_version SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM kefu_schema_version);\n"
               "SELECT pg_advisory_unlock(" +
               kSchemaLockKey + ");");
    if (st.ok()) NoteWriteCommitted();  // healthy again after the tries that failed
    return st;
  }
  Status ProbeWrite() override {
    auto s = Lock();
    auto tx = s.Begin();
    KEFU_RETURN_IF_ERROR(tx.status());
    KEFU_RETURN_IF_ERROR(s.Exec("UPDATE kefu_schema_version SET version = version"));
    return tx.Commit();
  }

 protected:
  // Nodes starting together: one migrates, the others find it done.
  Status LockSchema(Session& s) override {
    return s.Exec(std::string("SELECT pg_advisory_xact_lock(") + kSchemaLockKey + ")");
  }
  Result<int> ReadSchemaVersion(Session& s) override {
    auto& st = s.Prepare("SELECT version FROM kefu_schema_version");
    KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
    const int version = row ? static_cast<int>(st.Int(0)) : 0;
    st.Reset();
    return version;
  }
  Status WriteSchemaVersion(Session& s, int version) override {
    return s.Exec("UPDATE kefu_schema_version SET version = " + std::to_string(version));
  }
  std::string MigrationSql(const Migration& m) const override {
    return m.postgres_sql.empty() ? PostgresDdl(m.sql) : m.postgres_sql;
  }

 private:
  // A free connection of the pool, or (all busy) the next one once it is free.
  std::pair<PgConnection*, std::unique_lock<std::mutex>> Acquire() {
    const size_t n = pool_.size();
    const size_t start = next_.fetch_add(1, std::memory_order_relaxed) % n;
    for (size_t i = 0; i < n; ++i) {
      PgConnection* c = pool_[(start + i) % n].get();
      std::unique_lock<std::mutex> held(c->mu, std::try_to_lock);
      if (held.owns_lock()) return {c, std::move(held)};
    }
    return {pool_[start].get(), std::unique_lock<std::mutex>(pool_[start]->mu)};
  }

  std::vector<std::unique_ptr<PgConnection>> pool_;
  std::atomic<uint32_t> next_{0};
  std::mutex lock_mu_;  // held by Lock sessions
  std::atomic<int64_t> writes_{0}, transactions_{0};
};

PgConnection::~PgConnection() {
  cache_.clear();
  if (conn_) PQfinish(conn_);
}

Status PgConnection::Ensure() {
  if (conn_ && PQstatus(conn_) == CONNECTION_OK) return Status::Ok();
  if (in_transaction_)
    return Unavailable("storage unavailable: postgresql: connection lost during a transaction (rolled back)");
  const int64_t now = PgSteadyMs();
  if (now < next_attempt_ms_)
    return Unavailable("storage unavailable: postgresql: not connected (next try in " +
                       std::to_string(next_attempt_ms_ - now) + " ms): " + last_connect_error_);
  if (conn_) PQfinish(conn_);
  // Defaults that the URI may override: a bounded connect, kefu's name in pg_stat_activity.
  const char* keys[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
  const char* values[] = {"5", "kefu", uri_.c_str(), nullptr};
  conn_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn_ && PQstatus(conn_) == CONNECTION_OK) {
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);  // "relation exists, skipping" and the like
    ++generation_;
    backoff_ms_ = 0;
    next_attempt_ms_ = 0;
    lost_ = false;
    return Status::Ok();
  }
  last_connect_error_ = Scrub(TrimMessage(conn_ ? PQerrorMessage(conn_) : "out of memory"), uri_);
  const auto& o = options_;
  backoff_ms_ = backoff_ms_ == 0 ? std::max(1, o.reconnect_backoff_ms)
                                 : std::min(std::max(1, o.max_reconnect_backoff_ms), backoff_ms_ * 2);
  next_attempt_ms_ = now + backoff_ms_;
  lost_ = true;
  Status s = Unavailable("storage unavailable: postgresql: cannot connect to " + RedactLocation(uri_) + ": " +
                         last_connect_error_);
  owner_->NoteFailure("CONNECTION_BAD", s);
  return s;
}


Status PgConnection::Failed(PGresult* r, std::string_view what) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = state ? state : "";
  std::string msg = TrimMessage(r && *PQresultErrorMessage(r) ? PQresultErrorMessage(r) : PQerrorMessage(conn_));
  const std::string head = std::string(what) + ": ";
  if (!conn_ || PQstatus(conn_) == CONNECTION_BAD) {
    // Gone: re-open on the next use (at once, then backing off).
    lost_ = true;
    next_attempt_ms_ = 0;
    Status s = Unavailable("storage unavailable: " + head + "connection lost: " + msg);
    owner_->NoteFailure("CONNECTION_BAD", s);
    return s;
  }
  lost_ = false;
  const std::string cls = last_sqlstate_.substr(0, 2);
  if (cls == "23") return AlreadyExists(head + msg);  // integrity constraints, as SQLITE_CONSTRAINT
  if (cls == "40" || last_sqlstate_ == "55P03" || last_sqlstate_ == "57014") return Unavailable(head + msg);
  if (cls == "53" || cls == "58" || cls == "08" || last_sqlstate_.rfind("57P", 0) == 0) {
    // The server, not the statement: out of disk, memory or connections, shutting down.
    Status s = Unavailable("storage unavailable: " + head + msg);
    owner_->NoteFailure(last_sqlstate_, s);
    return s;
  }
  return Internal(head + msg + " [" + last_sqlstate_ + "]");
}

void PgConnection::NoteChanges(PGresult* r) {
  const char* status = PQcmdStatus(r);
  if (std::strncmp(status, "INSERT", 6) == 0 || std::strncmp(status, "UPDATE", 6) == 0 ||
      std::strncmp(status, "DELETE", 6) == 0 || std::strncmp(status, "MERGE", 5) == 0) {
    const char* n = PQcmdTuples(r);
    changes_ = n && *n ? std::atoi(n) : 0;
  }
}

Status PgConnection::Exec(std::string_view sql) {
  Status s = ExecOnce(sql);
  // BEGIN on a connection that turns out to be gone starts on a new one.
  if (!s.ok() && lost_ && sql == "BEGIN" && !in_transaction_) s = ExecOnce(sql);
  return s;
}

Status PgConnection::ExecOnce(std::string_view sql) {
  const bool ends = sql == "COMMIT" || sql == "ROLLBACK";
  if (ends && in_transaction_ && (!conn_ || PQstatus(conn_) != CONNECTION_OK)) {
    in_transaction_ = false;  // the server rolled it back when the connection went
    return sql == "ROLLBACK" ? Status::Ok()
                             : Unavailable("storage unavailable: postgresql: connection lost during a transaction "
                                           "(rolled back)");
  }
  if (ends) in_transaction_ = false;
  KEFU_RETURN_IF_ERROR(Ensure());
  std::string q(sql);
  PGresult* r = PQexec(conn_, q.c_str());
  const auto st = PQresultStatus(r);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
    NoteChanges(r);
    if (q == "BEGIN") in_transaction_ = true;
    // COMMIT of a transaction that had failed answers "ROLLBACK" and no error.
    const bool rolled_back = q == "COMMIT" && std::strcmp(PQcmdStatus(r), "ROLLBACK") == 0;
    PQclear(r);
    if (rolled_back) return Internal("postgresql exec: COMMIT rolled back: a statement in the transaction had failed");
    return Status::Ok();
  }
  Status s = Failed(r, "postgresql exec");
  PQclear(r);
  return s;
}

Statement& PgConnection::Prepare(std::string_view sql) {
  std::string key(sql);
  auto it = cache_.find(key);
  if (it != cache_.end()) {
    it->second->Reset();
    return *it->second;
  }
  int params = 0;
  std::string translated = TranslateSql(sql, &params);
  auto& slot = cache_[key];
  slot = std::make_unique<PgStatement>(this, std::move(translated), params);
  return *slot;
}

void PgConnection::ResetAll() {
  for (auto& [sql, st] : cache_) st->Reset();
}

Status PgStatement::PrepareOnServer() {
  name_ = c_->NextStatementName();
  // Untyped first: the server infers each parameter's type from where it is
  // used. Where it cannot (`? IS NULL`), the types bound now decide.
  PGresult* r = PQprepare(c_->conn(), name_.c_str(), sql_.c_str(), static_cast<int>(values_.size()), nullptr);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const std::string code = state ? state : "";
    if (code == "42P18" || code == "42725" || code == "42883" || code == "42804") {
      PQclear(r);
      name_ = c_->NextStatementName();
      std::vector<Oid> types(types_.begin(), types_.end());
      for (Oid& t : types)
        if (t == 0) t = kTextOid;  // NULL: text, the type every value converts from
      r = PQprepare(c_->conn(), name_.c_str(), sql_.c_str(), static_cast<int>(types.size()), types.data());
    }
  }
  if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    Status s = c_->Failed(r, "postgresql prepare");
    PQclear(r);
    if (s.code() == ErrorCode::kInternal) s = Internal(s.message() + " in: " + sql_);
    return s;
  }
  PQclear(r);
  prepared_generation_ = c_->generation();
  return Status::Ok();
}

Result<bool> PgStatement::Step() {
  if (res_) return ++row_ < PQntuples(res_);
  // A read outside a transaction runs once more, on a new connection, when
  // the old one turns out to be gone (a server restart, an idle connection
  // cut): it changed nothing, so nothing can happen twice.
  const bool may_retry = !c_->InTransaction() && IsRead();
  for (int attempt = 0;; ++attempt) {
    Status s = ExecuteOnce();
    if (s.ok()) return PQntuples(res_) > 0;
    if (attempt == 0 && may_retry && c_->lost()) continue;
    return s;
  }
}

bool PgStatement::IsRead() const {
  size_t i = 0;
  while (i < sql_.size() && std::isspace(static_cast<unsigned char>(sql_[i]))) ++i;
  return WordIs(std::string_view(sql_).substr(i, 6), "SELECT") &&
         (i + 6 == sql_.size() || !IsWordChar(sql_[i + 6]));
}

Status PgStatement::ExecuteOnce() {
  KEFU_RETURN_IF_ERROR(c_->Ensure());
  if (prepared_generation_ != c_->generation()) KEFU_RETURN_IF_ERROR(PrepareOnServer());
  const int n = static_cast<int>(values_.size());
  std::vector<const char*> ptrs(n);
  std::vector<int> lengths(n);
  for (int i = 0; i < n; ++i) {
    ptrs[i] = null_[i] ? nullptr : values_[i].c_str();
    lengths[i] = static_cast<int>(values_[i].size());
  }
  PGresult* r = PQexecPrepared(c_->conn(), name_.c_str(), n, ptrs.data(), lengths.data(), nullptr, 0);
  const auto st = PQresultStatus(r);
  if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
    c_->NoteChanges(r);
    res_ = r;
    row_ = 0;
    if (st == PGRES_COMMAND_OK && !c_->InTransaction()) c_->NoteCommitted();
    return Status::Ok();
  }
  Status s = c_->Failed(r, "postgresql step");
  PQclear(r);
  return s;
}

Status PostgresDatabase::Write(const std::function<Status(Session&)>& fn) {
  constexpr int kAttempts = 4;
  Status last;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20 << attempt));
    auto s = Read();
    auto& conn = static_cast<PgConnection&>(s.connection());
    transactions_.fetch_add(1, std::memory_order_relaxed);
    writes_.fetch_add(1, std::memory_order_relaxed);
    Status st = s.Exec("BEGIN");
    if (st.ok()) {
      try {
        st = fn(s);
      } catch (const std::exception& e) {
        st = Internal(std::string("write failed: ") + e.what());
      } catch (...) {
        st = Internal("write failed: unknown exception");
      }
      s.ResetStatements();
      if (st.ok()) {
        st = s.Exec("COMMIT");
        if (st.ok()) {
          NoteWriteCommitted();
          return st;
        }
        // A lost COMMIT may have committed: not retried (its outcome is unknown).
        if (conn.InTransaction()) (void)s.Exec("ROLLBACK");
        const std::string& code = conn.last_sqlstate();
        if (code != "40001" && code != "40P01") return st;
        last = st;
        continue;
      }
      if (conn.InTransaction()) (void)s.Exec("ROLLBACK");
    }
    // Retried: a transaction that failed before COMMIT for reasons of its own
    // (a lost connection, a serialization failure, a deadlock); never a
    // closure's own error.
    const std::string& code = conn.last_sqlstate();
    const bool retry = st.code() == ErrorCode::kUnavailable &&
                       (conn.lost() || code == "40001" || code == "40P01");
    if (!retry) return st;
    last = st;
  }
  return last;
}

}  // namespace

Result<std::unique_ptr<Database>> OpenPostgres(const std::string& uri, const DatabaseOptions& options) {
  const std::string where = RedactLocation(uri);
  // A URI libpq cannot read will not get better by waiting.
  char* parse_error = nullptr;
  if (PQconninfoOption* parsed = PQconninfoParse(uri.c_str(), &parse_error)) {
    PQconninfoFree(parsed);
  } else {
    std::string why = parse_error ? Scrub(TrimMessage(parse_error), uri) : "out of memory";
    PQfreemem(parse_error);
    return InvalidArgument("cannot open database " + where + ": invalid postgresql URI: " + why);
  }
  auto d = std::make_unique<PostgresDatabase>(uri, options);
  const int64_t start = PgSteadyMs();
  const int64_t deadline = start + std::max(0, options.connect_timeout_ms);
  int backoff_ms = std::max(1, options.reconnect_backoff_ms);
  for (int attempt = 1;; ++attempt) {
    // Waiting: a verbose probe first, which tells a server that is not there
    // (yet) from one that refuses kefu.
    Probe probe;
    if (options.connect_timeout_ms > 0) probe = ProbeServer(uri, deadline);
    Status st;
    std::string reason;  // for the log: the URL is logged beside it
    if (options.connect_timeout_ms <= 0 || probe.kind == Probe::kConnected || probe.kind == Probe::kTimedOut) {
      st = d->Bootstrap();
      if (st.ok()) {
        if (attempt > 1)
          log::Info(
              "storage_connected",
              {{"engine", "postgresql"}, {"url", where}, {"attempts", attempt}, {"waited_ms", PgSteadyMs() - start}});
        return std::unique_ptr<Database>(std::move(d));
      }
      // Not the server's absence (e.g. no right to create the table): final.
      if (st.code() != ErrorCode::kUnavailable || options.connect_timeout_ms <= 0)
        return Status(st.code(), "cannot open database " + where + ": " + st.message());
      reason = st.message();
    } else {
      st = Unavailable("storage unavailable: postgresql: cannot connect to " + where + ": " + probe.error);
      reason = probe.error;
      if (probe.kind == Probe::kRefused)
        return Status(ErrorCode::kFailedPrecondition, "cannot open database " + where + ": " + st.message() +
                                                          " (not retried: waiting cannot fix this)");
    }
    const int64_t now = PgSteadyMs();
    if (now >= deadline)
      return Status(st.code(), "cannot open database " + where + ": " + st.message() + " (tried " +
                                   std::to_string(attempt) + " times in " + std::to_string((now - start) / 1000) +
                                   " s)");
    const int64_t wait_ms = std::min<int64_t>(backoff_ms, deadline - now);
    log::Warn("storage_waiting", {{"engine", "postgresql"},
                                  {"url", where},
                                  {"error", reason},
                                  {"attempt", attempt},
                                  {"retry_in_ms", wait_ms},
                                  {"waited_ms", now - start},
                                  {"gives_up_in_ms", deadline - now}});
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    backoff_ms = std::min(std::max(1, options.max_reconnect_backoff_ms), backoff_ms * 2);
  }
}

std::string TranslateSql(std::string_view sql, int* params) {
  int highest = 0;
  int skip = 0;  // words of an INDEXED BY hint still to drop
  std::string out = Rewrite(
      sql,
      [&skip](std::string& o, std::string_view w, std::string_view rest) {
        if (skip > 0) {
          --skip;
          return;
        }
        if (WordIs(w, "LIKE")) o += "ILIKE";
        else if (WordIs(w, "INDEXED") && WordIs(NextWord(rest), "BY")) skip = 2;
        else o.append(w);
      },
      [&highest](std::string& o, int number) {
        const int n = number > 0 ? number : highest + 1;
        highest = std::max(highest, n);
        o += '$';
        o += std::to_string(n);
      });
  if (params) *params = highest;
  return out;
}

std::string PostgresDdl(std::string_view sql) {
  bool drop_next_rowid = false;
  return Rewrite(
      sql,
      [&drop_next_rowid](std::string& o, std::string_view w, std::string_view rest) {
        if (drop_next_rowid && WordIs(w, "ROWID")) {
          drop_next_rowid = false;
          return;
        }
        if (WordIs(w, "INTEGER")) o += "BIGINT";
        else if (WordIs(w, "REAL")) o += "DOUBLE PRECISION";
        else if (WordIs(w, "BLOB")) o += "BYTEA";
        else if (WordIs(w, "AUTOINCREMENT")) o += "GENERATED BY DEFAULT AS IDENTITY";
        else if (WordIs(w, "WITHOUT") && WordIs(NextWord(rest), "ROWID")) drop_next_rowid = true;
        else o.append(w);
      },
      [](std::string& o, int number) {
        o += '?';
        if (number > 0) o += std::to_string(number);
      });
}

}  // namespace kefu::storage
