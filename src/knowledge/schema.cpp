#include "knowledge/schema.h"

namespace kefu::knowledge {

// global_version: the version of kefu's one global migration list that held
// each migration, before versions were kept per module (storage/migration.h).
std::vector<storage::Migration> SchemaMigrations() {
  return {
      {.module = "knowledge", .version = 1, .name = "kb", .global_version = 1, .sql = R"sql(
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
)sql"},
      {.module = "knowledge", .version = 2, .name = "kb_lang", .global_version = 7, .sql = R"sql(
-- The language of a knowledge entry ('' = the tenant's main language).
ALTER TABLE kb_entries ADD COLUMN lang TEXT NOT NULL DEFAULT '';
)sql"},
  };
}

}  // namespace kefu::knowledge
