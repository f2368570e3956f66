#include "datahub/schema.h"

namespace kefu::datahub {

// global_version: the version of kefu's one global migration list that held
// each migration, before versions were kept per module (storage/migration.h).
std::vector<storage::Migration> SchemaMigrations() {
  return {
      {.module = "datahub", .version = 1, .name = "datahub", .global_version = 5, .sql = R"sql(
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
)sql"},
  };
}

}  // namespace kefu::datahub
