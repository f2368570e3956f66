#include "dialogue/schema.h"

namespace kefu::dialogue {

// global_version: the version of kefu's one global migration list that held
// each migration, before versions were kept per module (storage/migration.h).
std::vector<storage::Migration> SchemaMigrations() {
  return {
      {.module = "dialogue", .version = 1, .name = "conversations", .global_version = 1, .sql = R"sql(
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
      // The desk's columns on a conversation (agents/desk_store.cpp reaches them through
      // dialogue/conversation_rows.h): who serves it, its queue, and the handoff.
      {.module = "dialogue", .version = 2, .name = "desk_queues", .global_version = 4, .sql = R"sql(
ALTER TABLE conversations ADD COLUMN assigned_agent_id TEXT;
ALTER TABLE conversations ADD COLUMN queue TEXT;
ALTER TABLE conversations ADD COLUMN queue_skill TEXT;
ALTER TABLE conversations ADD COLUMN queue_priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN queued_ms INTEGER;
ALTER TABLE conversations ADD COLUMN handoff_json TEXT;
CREATE INDEX conversations_by_status ON conversations(status) WHERE status IN ('queued', 'human');
)sql"},
      // Each conversation counts its messages: InsertLocked takes the next
      // seq with a row-locking UPDATE ... RETURNING, correct under concurrent
      // writers (PostgreSQL), instead of MAX(seq) + 1.
      {.module = "dialogue", .version = 3, .name = "conversation_seq", .global_version = 8, .sql = R"sql(
ALTER TABLE conversations ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET last_seq = COALESCE((SELECT MAX(seq) FROM messages WHERE messages.conversation_id = conversations.id), 0);
)sql"},
      // Leases (dialogue/lease.h): which node runs a conversation's turns.
      // expires_ms 0 = released; token grows with every grant (fencing).
      {.module = "dialogue", .version = 4, .name = "leases", .global_version = 9, .sql = R"sql(
CREATE TABLE leases (
  name TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  token INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL
);
CREATE INDEX leases_by_expiry ON leases(expires_ms) WHERE expires_ms > 0;
)sql"},
      // Typed message parts (issue 17, src/channels): a message's parts as
      // JSON (NULL = text only), and each attachment of a conversation: which
      // blob (the channels blob store's tenant-scoped content hash, never shown
      // to clients) an unguessable attachment id names.
      {.module = "dialogue", .version = 5, .name = "message_parts", .sql = R"sql(
ALTER TABLE messages ADD COLUMN parts_json TEXT;
CREATE TABLE attachments (
  id TEXT PRIMARY KEY,
  conversation_id TEXT NOT NULL REFERENCES conversations(id),
  tenant_id TEXT NOT NULL,
  message_id INTEGER NOT NULL,
  blob_key TEXT NOT NULL,
  thumb_key TEXT NOT NULL DEFAULT '',
  mime TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE INDEX attachments_by_conversation ON attachments(conversation_id);
CREATE INDEX attachments_by_blob ON attachments(tenant_id, blob_key);
)sql"},
  };
}

}  // namespace kefu::dialogue
