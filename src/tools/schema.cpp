#include "tools/schema.h"

namespace kefu::tools {

// global_version: the version of kefu's one global migration list that held
// each migration, before versions were kept per module (storage/migration.h).
std::vector<storage::Migration> SchemaMigrations() {
  return {
      {.module = "tools", .version = 1, .name = "shop", .global_version = 1, .sql = R"sql(
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
)sql"},
      {.module = "tools", .version = 2, .name = "handoff_requests", .global_version = 3, .sql = R"sql(
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
      // The data hub's customer fields (gender, birthday, the merge link, updated_ms) and the
      // indexes identity resolution and the 360° profile read by.
      {.module = "tools", .version = 3, .name = "customer_profile", .global_version = 5, .sql = R"sql(
ALTER TABLE customers ADD COLUMN gender TEXT;
ALTER TABLE customers ADD COLUMN birthday TEXT;
ALTER TABLE customers ADD COLUMN merged_into TEXT;
ALTER TABLE customers ADD COLUMN updated_ms INTEGER NOT NULL DEFAULT 0;
CREATE INDEX customers_by_merged ON customers(tenant_id, merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX customers_by_name_city ON customers(tenant_id, name, city);
CREATE INDEX logistics_by_order_ts ON logistics_events(tenant_id, order_id, ts_ms DESC);
)sql"},
  };
}

}  // namespace kefu::tools
