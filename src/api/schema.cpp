#include "api/schema.h"

namespace kefu::api {

// global_version: the version of kefu's one global migration list that held
// each migration, before versions were kept per module (storage/migration.h).
std::vector<storage::Migration> SchemaMigrations() {
  return {
      {.module = "api", .version = 1, .name = "tenants", .global_version = 1, .sql = R"sql(
CREATE TABLE tenants (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  widget_key TEXT NOT NULL UNIQUE,
  created_ms INTEGER NOT NULL
);
)sql"},
      {.module = "api", .version = 2, .name = "api_keys", .global_version = 2, .sql = R"sql(
CREATE TABLE api_keys (
  key_sha256 TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  name TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL
);
CREATE INDEX api_keys_by_tenant ON api_keys(tenant_id);
)sql"},
  };
}

}  // namespace kefu::api
