// kefu's schema as the app assembles it (app/schema.cpp), on both engines:
// a database written by the kefu of the one global migration list (before
// versions were kept per module) upgrades with nothing lost, and a database
// newer than the binary is refused.
#include "app/schema.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "storage/database.h"
#include "storage/postgres.h"
#include "storage/testing.h"

namespace kefu::app {
namespace {

using storage::Engine;

// Frozen copy of the one global list (src/storage/schema.cpp up to commit
// 1659551) as the last kefu that had it (global version 9) shipped it. Never
// edit: it is what databases in the field were built with.
struct GlobalMigration {
  int version;
  const char* name;
  const char* sql;
};
const std::vector<GlobalMigration> kGlobalList = {
    {1, "core", R"sql(
CREATE TABLE tenants (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  widget_key TEXT NOT NULL UNIQUE,
  created_ms INTEGER NOT NULL
);
CREATE TABLE customers (
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  id TEXT NOT NULL,
  name TEXT NOT NULL,
  phone TEXT,
  email TEXT,
  tier TEXT NOT NULL DEFAULT 'normal',
  city TEXT,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE TABLE products (
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  id TEXT NOT NULL,
  name TEXT NOT NULL,
  category TEXT NOT NULL,
  brand TEXT,
  price_cents INTEGER NOT NULL,
  stock INTEGER NOT NULL DEFAULT 0,
  description TEXT NOT NULL DEFAULT '',
  attrs_json TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (tenant_id, id)
);
CREATE TABLE orders (
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  id TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  status TEXT NOT NULL,
  total_cents INTEGER NOT NULL,
  items_json TEXT NOT NULL,
  address TEXT NOT NULL DEFAULT '',
  carrier TEXT,
  tracking_no TEXT,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX orders_by_customer ON orders(tenant_id, customer_id, created_ms DESC);
CREATE TABLE logistics_events (
  tenant_id TEXT NOT NULL,
  order_id TEXT NOT NULL,
  ts_ms INTEGER NOT NULL,
  status TEXT NOT NULL,
  location TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (tenant_id, order_id, ts_ms, status)
);
CREATE TABLE kb_entries (
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  id TEXT NOT NULL,
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  category TEXT NOT NULL DEFAULT '',
  questions_json TEXT NOT NULL DEFAULT '[]',
  source TEXT NOT NULL DEFAULT '',
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE TABLE kb_synonyms (
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  term TEXT NOT NULL,
  synonyms_json TEXT NOT NULL,
  PRIMARY KEY (tenant_id, term)
);
CREATE TABLE conversations (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  customer_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'open',
  context_json TEXT NOT NULL DEFAULT '{}',
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  closed_ms INTEGER
);
CREATE INDEX conversations_by_customer ON conversations(tenant_id, customer_id, created_ms DESC);
CREATE TABLE messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  conversation_id TEXT NOT NULL REFERENCES conversations(id),
  seq INTEGER NOT NULL,
  role TEXT NOT NULL,
  text TEXT NOT NULL,
  client_msg_id TEXT,
  reply_to INTEGER,
  meta_json TEXT NOT NULL DEFAULT '{}',
  created_ms INTEGER NOT NULL,
  UNIQUE (conversation_id, seq)
);
CREATE UNIQUE INDEX messages_client_id ON messages(conversation_id, client_msg_id) WHERE client_msg_id IS NOT NULL;
CREATE INDEX messages_reply_to ON messages(reply_to) WHERE reply_to IS NOT NULL;
)sql"},
    {2, "api_keys", R"sql(
CREATE TABLE api_keys (
  key_sha256 TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  name TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL
);
CREATE INDEX api_keys_by_tenant ON api_keys(tenant_id);
)sql"},
    {3, "handoff_requests", R"sql(
CREATE TABLE handoff_requests (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  conversation_id TEXT NOT NULL DEFAULT '',
  customer_id TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'pending',
  created_ms INTEGER NOT NULL
);
CREATE INDEX handoff_requests_by_tenant ON handoff_requests(tenant_id, status, created_ms);
)sql"},
    {4, "agents", R"sql(
ALTER TABLE conversations ADD COLUMN assigned_agent_id TEXT;
ALTER TABLE conversations ADD COLUMN queue TEXT;
ALTER TABLE conversations ADD COLUMN queue_skill TEXT;
ALTER TABLE conversations ADD COLUMN queue_priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN queued_ms INTEGER;
ALTER TABLE conversations ADD COLUMN handoff_json TEXT;
CREATE INDEX conversations_by_status ON conversations(status) WHERE status IN ('queued', 'human');
CREATE TABLE agents (
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  id TEXT NOT NULL,
  username TEXT NOT NULL,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  skills_json TEXT NOT NULL DEFAULT '[]',
  max_chats INTEGER NOT NULL DEFAULT 5,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, username)
);
CREATE TABLE agent_sessions (
  token_sha256 TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL
);
CREATE TABLE skill_groups (
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  name TEXT NOT NULL,
  skills_json TEXT NOT NULL DEFAULT '[]',
  PRIMARY KEY (tenant_id, name)
);
CREATE TABLE agent_notes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id TEXT NOT NULL,
  conversation_id TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  text TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE INDEX agent_notes_by_conversation ON agent_notes(conversation_id, id);
CREATE TABLE canned_responses (
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  id TEXT NOT NULL,
  title TEXT NOT NULL,
  text TEXT NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
)sql"},
    // Data hub (src/datahub, docs/datahub.md): ingestion bookkeeping, tickets,
    // clickstream, payments, channel identities with merge audit, and the
    // signed-webhook secrets and replay nonces.
    {5, "datahub", R"sql(
ALTER TABLE customers ADD COLUMN gender TEXT;
ALTER TABLE customers ADD COLUMN birthday TEXT;
ALTER TABLE customers ADD COLUMN merged_into TEXT;
ALTER TABLE customers ADD COLUMN updated_ms INTEGER NOT NULL DEFAULT 0;
CREATE INDEX customers_by_merged ON customers(tenant_id, merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX customers_by_name_city ON customers(tenant_id, name, city);
CREATE TABLE dh_records (
  tenant_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  source TEXT NOT NULL,
  source_id TEXT NOT NULL,
  entity_id TEXT NOT NULL,
  hash TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 1,
  updated_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, kind, source, source_id)
) WITHOUT ROWID;
CREATE TABLE tickets (
  tenant_id TEXT NOT NULL,
  id TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  order_id TEXT,
  subject TEXT NOT NULL,
  body TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  priority TEXT NOT NULL DEFAULT 'normal',
  channel TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX tickets_by_customer ON tickets(tenant_id, customer_id, updated_ms DESC);
CREATE TABLE browsing_events (
  tenant_id TEXT NOT NULL,
  id TEXT NOT NULL,
  customer_id TEXT,
  device_id TEXT,
  ts_ms INTEGER NOT NULL,
  type TEXT NOT NULL,
  product_id TEXT,
  url TEXT NOT NULL DEFAULT '',
  query TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX browsing_by_customer ON browsing_events(tenant_id, customer_id, ts_ms DESC);
CREATE INDEX browsing_by_device ON browsing_events(tenant_id, device_id, ts_ms DESC) WHERE device_id IS NOT NULL;
CREATE TABLE transactions (
  tenant_id TEXT NOT NULL,
  id TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  order_id TEXT,
  ts_ms INTEGER NOT NULL,
  type TEXT NOT NULL,
  method TEXT NOT NULL,
  amount_cents INTEGER NOT NULL,
  currency TEXT NOT NULL DEFAULT 'CNY',
  status TEXT NOT NULL,
  card_last4 TEXT,
  PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX transactions_by_customer ON transactions(tenant_id, customer_id, ts_ms DESC);
CREATE TABLE customer_identities (
  tenant_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  value TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  source TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, kind, value)
) WITHOUT ROWID;
CREATE INDEX identities_by_customer ON customer_identities(tenant_id, customer_id);
CREATE TABLE customer_merges (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id TEXT NOT NULL,
  action TEXT NOT NULL,
  primary_id TEXT NOT NULL,
  secondary_id TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  actor TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL
);
CREATE INDEX customer_merges_by_tenant ON customer_merges(tenant_id, id);
CREATE TABLE merge_suggestions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id TEXT NOT NULL,
  customer_a TEXT NOT NULL,
  customer_b TEXT NOT NULL,
  reason TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'open',
  created_ms INTEGER NOT NULL,
  UNIQUE (tenant_id, customer_a, customer_b)
);
CREATE TABLE ingest_webhook_secrets (
  tenant_id TEXT PRIMARY KEY,
  secret TEXT NOT NULL,
  rotated_ms INTEGER NOT NULL
);
CREATE TABLE ingest_webhook_nonces (
  tenant_id TEXT NOT NULL,
  signature TEXT NOT NULL,
  ts_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, signature)
) WITHOUT ROWID;
CREATE INDEX logistics_by_order_ts ON logistics_events(tenant_id, order_id, ts_ms DESC);
)sql"},
    // Message center (src/inbox, docs/inbox.md): the in-app inbox, the
    // per-tenant customer-token keys, and outbound webhooks with their
    // durable delivery rows (the outbox).
    {6, "inbox", R"sql(
CREATE TABLE inbox_messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  customer_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  action_json TEXT,
  source TEXT NOT NULL DEFAULT '',
  idempotency_key TEXT,
  content_sha256 TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER,
  read_ms INTEGER,
  acked_ms INTEGER
);
CREATE UNIQUE INDEX inbox_messages_idempotency ON inbox_messages(tenant_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX inbox_messages_by_customer ON inbox_messages(tenant_id, customer_id, id DESC);
CREATE INDEX inbox_messages_unread ON inbox_messages(tenant_id, customer_id, id) WHERE read_ms IS NULL;
CREATE TABLE inbox_token_keys (
  tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
  secret TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE TABLE webhook_endpoints (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  url TEXT NOT NULL,
  secret TEXT NOT NULL,
  events_json TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL,
  deleted_ms INTEGER
);
CREATE INDEX webhook_endpoints_by_tenant ON webhook_endpoints(tenant_id) WHERE deleted_ms IS NULL;
CREATE TABLE webhook_deliveries (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id),
  event_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL,
  last_status INTEGER,
  last_error TEXT,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  delivered_ms INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_ms) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_tenant ON webhook_deliveries(tenant_id, status, created_ms);
)sql"},
    {7, "kb_lang", R"sql(
-- The language of a knowledge entry ('' = the tenant's main language).
ALTER TABLE kb_entries ADD COLUMN lang TEXT NOT NULL DEFAULT '';
)sql"},
    // Each conversation counts its messages: InsertLocked takes the next
    // seq with a row-locking UPDATE ... RETURNING, correct under concurrent
    // writers (PostgreSQL), instead of MAX(seq) + 1.
    {8, "conversation_seq", R"sql(
ALTER TABLE conversations ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET last_seq = COALESCE((SELECT MAX(seq) FROM messages WHERE messages.conversation_id = conversations.id), 0);
)sql"},
    // Leases (dialogue/lease.h): which node runs a conversation's turns.
    // expires_ms 0 = released; token grows with every grant (fencing).
    {9, "leases", R"sql(
CREATE TABLE leases (
  name TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  token INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL
);
CREATE INDEX leases_by_expiry ON leases(expires_ms) WHERE expires_ms > 0;
)sql"},
};

// The statements of a migration, one per entry (the lists keep them verbatim).
std::multiset<std::string> Statements(const std::string& sql) {
  std::multiset<std::string> out;
  size_t at = 0;
  while (at < sql.size()) {
    size_t end = sql.find(";\n", at);
    if (end == std::string::npos) end = sql.size();
    std::string st = sql.substr(at, end - at);
    st.erase(0, st.find_first_not_of(" \n"));
    if (!st.empty()) out.insert(st);
    at = end + 2;
  }
  return out;
}

// The modules' migrations are the global list's, split by owner: global
// version g's statements are exactly those of the migrations tagged g.
TEST(Schema, ModulesSplitTheGlobalListExactly) {
  ASSERT_TRUE(Schema().Validate().ok()) << Schema().Validate().ToString();
  ASSERT_EQ(kGlobalList.size(), static_cast<size_t>(storage::kLastGlobalVersion));
  for (const auto& g : kGlobalList) {
    std::multiset<std::string> split;
    for (const auto& m : Schema().migrations())
      if (m.global_version == g.version) split.merge(Statements(m.sql));
    EXPECT_EQ(split, Statements(g.sql)) << "global version " << g.version << " (" << g.name << ")";
  }
}

class SchemaUpgradeTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    if (storage::testdb::Missing(GetParam())) GTEST_SKIP() << storage::testdb::kPostgresMissing;
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(test.begin(), test.end(), '/', '_');
    dir_ = std::filesystem::temp_directory_path() / ("kefu_schema_test_" + std::to_string(::getpid()) + "_" + test);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // A fresh location that outlives its Database: a file on SQLite, a
  // schema of its own on PostgreSQL.
  Result<std::string> Location() { return storage::testdb::FreshLocation(GetParam(), (dir_ / "kefu.db").string()); }

  // A fresh location with the global list applied up to `global`, as the
  // kefu of that list left it (one transaction per migration, the version
  // in PRAGMA user_version / kefu_schema_version).
  std::string OldDatabase(int global) {
    auto loc = Location();
    EXPECT_TRUE(loc.ok()) << loc.status().ToString();
    auto db = storage::Database::Open(*loc);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    if (!db.ok()) return "";
    auto s = (*db)->Lock();
    for (const auto& g : kGlobalList) {
      if (g.version > global) break;
      auto tx = s.Begin();
      EXPECT_TRUE(s.Exec(GetParam() == Engine::kSqlite ? std::string(g.sql) : storage::PostgresDdl(g.sql)).ok())
          << g.name;
      EXPECT_TRUE(s.Exec(GetParam() == Engine::kSqlite
                             ? "PRAGMA user_version = " + std::to_string(g.version)
                             : "UPDATE kefu_schema_version SET version = " + std::to_string(g.version))
                      .ok());
      EXPECT_TRUE(tx.Commit().ok());
    }
    return *loc;
  }

  std::filesystem::path dir_;

  static int64_t Scalar(storage::Session&& s, const std::string& sql) {
    auto& st = s.Prepare(sql);
    auto row = st.Step();
    EXPECT_TRUE(row.ok() && *row) << sql << ": " << row.status().ToString();
    return row.ok() && *row ? st.Int(0) : -1;
  }
  static std::vector<std::string> Rows(storage::Session&& s, const std::string& sql, int columns) {
    std::vector<std::string> out;
    auto& st = s.Prepare(sql);
    while (true) {
      auto row = st.Step();
      EXPECT_TRUE(row.ok()) << sql << ": " << row.status().ToString();
      if (!row.ok() || !*row) break;
      std::string line;
      for (int i = 0; i < columns; ++i) line += (i ? "|" : "") + st.OptText(i).value_or("NULL");
      out.push_back(line);
    }
    return out;
  }
  // Every table's columns and every index, to compare two databases.
  std::vector<std::string> Layout(storage::Database& db) {
    if (GetParam() == Engine::kSqlite)
      return Rows(db.Lock(), "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name", 4);
    auto columns = Rows(db.Lock(),
                        "SELECT table_name, ordinal_position, column_name, data_type, is_nullable, "
                        "column_default, is_identity FROM information_schema.columns "
                        "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position",
                        7);
    auto indexes = Rows(db.Lock(),
                        "SELECT indexname, replace(indexdef, current_schema() || '.', '') FROM pg_indexes "
                        "WHERE schemaname = current_schema() ORDER BY indexname",
                        2);
    columns.insert(columns.end(), indexes.begin(), indexes.end());
    return columns;
  }
  std::vector<std::string> FreshLayout() {
    auto fresh = storage::testdb::OpenFresh(GetParam(), Schema());
    EXPECT_TRUE(fresh.ok()) << fresh.status().ToString();
    return fresh.ok() ? Layout(**fresh) : std::vector<std::string>{};
  }
};

INSTANTIATE_TEST_SUITE_P(Engines, SchemaUpgradeTest, ::testing::ValuesIn(storage::testdb::AllEngines()),
                         [](const auto& info) { return storage::testdb::EngineTestName(info.param); });

// The last global version (what every database in the field has): adopted
// without running anything again; the rows stay; the layout is a fresh one's.
TEST_P(SchemaUpgradeTest, TheLastGlobalVersionIsAdoptedWithItsRows) {
  const std::string loc = OldDatabase(storage::kLastGlobalVersion);
  ASSERT_FALSE(loc.empty());
  {
    auto old = storage::Database::Open(loc);
    ASSERT_TRUE(old.ok()) << old.status().ToString();
    auto s = (*old)->Lock();
    ASSERT_TRUE(s.Exec("INSERT INTO tenants VALUES('t1', 'Shop', 'w1', 1)").ok());
    ASSERT_TRUE(s.Exec("INSERT INTO api_keys(key_sha256, tenant_id, created_ms) VALUES('k', 't1', 1)").ok());
    ASSERT_TRUE(
        s.Exec("INSERT INTO customers(tenant_id, id, name, created_ms, gender) VALUES('t1', 'C1', 'Ann', 1, 'f')")
            .ok());
    ASSERT_TRUE(s.Exec("INSERT INTO kb_entries(tenant_id, id, title, body, updated_ms, lang) "
                       "VALUES('t1', 'k1', '退货', '七天无理由', 1, 'zh')")
                    .ok());
    ASSERT_TRUE(s.Exec("INSERT INTO conversations(id, tenant_id, customer_id, channel, created_ms, updated_ms, "
                       "last_seq, queue) VALUES('c1', 't1', 'C1', 'web', 1, 1, 2, 'complaints')")
                    .ok());
    ASSERT_TRUE(s.Exec("INSERT INTO messages(conversation_id, seq, role, text, created_ms) "
                       "VALUES('c1', 1, 'customer', '你好', 1), ('c1', 2, 'bot', '您好', 2)")
                    .ok());
    ASSERT_TRUE(s.Exec("INSERT INTO agents(tenant_id, id, username, name, role, password_hash, created_ms, "
                       "updated_ms) VALUES('t1', 'a1', 'agent1', 'A', 'agent', 'x', 1, 1)")
                    .ok());
    ASSERT_TRUE(s.Exec("INSERT INTO tickets(tenant_id, id, customer_id, subject, status, created_ms, updated_ms) "
                       "VALUES('t1', 'T1', 'C1', 's', 'open', 1, 1)")
                    .ok());
    ASSERT_TRUE(s.Exec("INSERT INTO inbox_token_keys VALUES('t1', 'secret', 1)").ok());
    ASSERT_TRUE(s.Exec("INSERT INTO leases VALUES('conv:c1', 'node-a', 3, 0)").ok());
  }
  auto db = storage::OpenWithSchema(loc, Schema());
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ((*db)->SchemaVersion(), storage::kPerModuleSchema);
  auto versions = (*db)->ModuleVersions();
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  ASSERT_EQ(versions->size(), Schema().Modules().size());
  for (const auto& [module, version] : *versions) EXPECT_EQ(version, Schema().Latest(module)) << module;

  EXPECT_EQ(Scalar((*db)->Lock(), "SELECT count(*) FROM tenants"), 1);
  EXPECT_EQ(Scalar((*db)->Lock(), "SELECT count(*) FROM api_keys"), 1);
  EXPECT_EQ(Scalar((*db)->Lock(), "SELECT count(*) FROM customers WHERE gender = 'f'"), 1);
  EXPECT_EQ(Scalar((*db)->Lock(), "SELECT count(*) FROM kb_entries WHERE lang = 'zh'"), 1);
  EXPECT_EQ(Scalar((*db)->Lock(), "SELECT last_seq FROM conversations WHERE queue = 'complaints'"), 2);
  EXPECT_EQ(Scalar((*db)->Lock(), "SELECT count(*) FROM messages"), 2);
  EXPECT_EQ(Scalar((*db)->Lock(), "SELECT count(*) FROM agents"), 1);
  EXPECT_EQ(Scalar((*db)->Lock(), "SELECT count(*) FROM tickets"), 1);
  EXPECT_EQ(Scalar((*db)->Lock(), "SELECT count(*) FROM inbox_token_keys"), 1);
  EXPECT_EQ(Scalar((*db)->Lock(), "SELECT token FROM leases"), 3);
  // Ids go on from where they were (AUTOINCREMENT / identity).
  EXPECT_EQ(Scalar((*db)->Lock(),
                   "INSERT INTO messages(conversation_id, seq, role, text, created_ms) "
                   "VALUES('c1', 3, 'bot', 'x', 3) RETURNING id"),
            3);
  EXPECT_EQ(Layout(**db), FreshLayout());
  ASSERT_TRUE((*db)->Migrate(Schema()).ok());  // again: nothing to do
}

// An older global version: what the global list had is adopted, the rest of
// each module's migrations runs (dialogue's last_seq is counted from the
// messages, the data hub's columns and tables appear).
TEST_P(SchemaUpgradeTest, AnOlderGlobalVersionGetsTheRest) {
  const std::string loc = OldDatabase(3);
  ASSERT_FALSE(loc.empty());
  {
    auto old = storage::Database::Open(loc);
    ASSERT_TRUE(old.ok()) << old.status().ToString();
    auto s = (*old)->Lock();
    ASSERT_TRUE(s.Exec("INSERT INTO tenants VALUES('t1', 'Shop', 'w1', 1)").ok());
    ASSERT_TRUE(s.Exec("INSERT INTO customers(tenant_id, id, name, created_ms) VALUES('t1', 'C1', 'Ann', 1)").ok());
    ASSERT_TRUE(s.Exec("INSERT INTO conversations(id, tenant_id, customer_id, channel, created_ms, updated_ms) "
                       "VALUES('c1', 't1', 'C1', 'web', 1, 1)")
                    .ok());
    ASSERT_TRUE(s.Exec("INSERT INTO messages(conversation_id, seq, role, text, created_ms) "
                       "VALUES('c1', 1, 'customer', '你好', 1), ('c1', 2, 'bot', '您好', 2), "
                       "('c1', 3, 'customer', '在吗', 3)")
                    .ok());
    ASSERT_TRUE(s.Exec("INSERT INTO handoff_requests(tenant_id, created_ms) VALUES('t1', 1)").ok());
  }
  auto db = storage::OpenWithSchema(loc, Schema());
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto versions = (*db)->ModuleVersions();
  ASSERT_TRUE(versions.ok());
  for (const auto& [module, version] : *versions) EXPECT_EQ(version, Schema().Latest(module)) << module;
  EXPECT_EQ(Scalar((*db)->Lock(), "SELECT last_seq FROM conversations WHERE id = 'c1'"), 3);
  EXPECT_EQ(Scalar((*db)->Lock(), "SELECT count(*) FROM customers WHERE merged_into IS NULL AND updated_ms = 0"), 1);
  EXPECT_EQ(Scalar((*db)->Lock(), "SELECT count(*) FROM handoff_requests"), 1);
  EXPECT_EQ(Scalar((*db)->Lock(), "SELECT count(*) FROM leases"), 0);
  EXPECT_EQ(Layout(**db), FreshLayout());
}

// A schema newer than the binary is refused at start with a message: a
// module migrated by a newer kefu, and (for the kefu of the global list,
// which knew versions up to 9) any database of this one.
TEST_P(SchemaUpgradeTest, ANewerModuleIsRefused) {
  auto loc = Location();
  ASSERT_TRUE(loc.ok()) << loc.status().ToString();
  {
    auto db = storage::OpenWithSchema(*loc, Schema());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    EXPECT_GT((*db)->SchemaVersion(), storage::kLastGlobalVersion);  // the old kefu refuses it
    ASSERT_TRUE((*db)->Lock().Exec("UPDATE kefu_schema_modules SET version = 99 WHERE module = 'dialogue'").ok());
  }
  auto db = storage::OpenWithSchema(*loc, Schema());
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(db.status().message().find("module dialogue at schema version 99, newer than this kefu knows (" +
                                       std::to_string(Schema().Latest("dialogue")) + ")"),
            std::string::npos)
      << db.status().message();
}

}  // namespace
}  // namespace kefu::app
