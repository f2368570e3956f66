// The inbox module's tables — the message center (docs/inbox.md): the in-app inbox, the per-tenant customer-token keys,
// and outbound webhooks with their durable delivery rows (the outbox) — and their migrations (storage/migration.h).
// Only inbox's code writes SQL on them (tests/table_ownership.py); the app adds these migrations to kefu's schema
// (app/schema.cpp).
#pragma once

#include <vector>

#include "storage/migration.h"

namespace kefu::inbox {

// Versions 1, 2, ... of inbox's tables. Append-only: never edit a released
// migration, add the next version.
std::vector<storage::Migration> SchemaMigrations();

}  // namespace kefu::inbox
