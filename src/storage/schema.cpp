#include "storage/schema.h"

namespace kefu::storage {

const std::vector<Migration>& SchemaMigrations() {
  static const std::vector<Migration> kMigrations = {
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
  return kMigrations;
}

Result<std::unique_ptr<Database>> OpenWithSchema(const std::string& path, const DatabaseOptions& options) {
  KEFU_ASSIGN_OR_RETURN(auto db, Database::Open(path, options));
  KEFU_RETURN_IF_ERROR(db->Migrate(SchemaMigrations()));
  return db;
}

}  // namespace kefu::storage
