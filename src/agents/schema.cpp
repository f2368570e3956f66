#include "agents/schema.h"

namespace kefu::agents {

// global_version: the version of kefu's one global migration list that held
// each migration, before versions were kept per module (storage/migration.h).
std::vector<storage::Migration> SchemaMigrations() {
  return {
      {.module = "agents", .version = 1, .name = "agents", .global_version = 4, .sql = R"sql(
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
  };
}

}  // namespace kefu::agents
