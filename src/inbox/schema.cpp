#include "inbox/schema.h"

namespace kefu::inbox {

// global_version: the version of kefu's one global migration list that held
// each migration, before versions were kept per module (storage/migration.h).
std::vector<storage::Migration> SchemaMigrations() {
  return {
      {.module = "inbox", .version = 1, .name = "inbox", .global_version = 6, .sql = R"sql(
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
  };
}

}  // namespace kefu::inbox
