// The datahub module's tables — the data hub (docs/datahub.md): ingestion bookkeeping, tickets, clickstream, payments,
// channel identities with merge audit, and the signed-webhook secrets and replay nonces — and their migrations
// (storage/migration.h). Only datahub's code writes SQL on them (tests/table_ownership.py);
// the app adds these migrations to kefu's schema (app/schema.cpp).
#pragma once

#include <vector>

#include "storage/migration.h"

namespace kefu::datahub {

// Versions 1, 2, ... of datahub's tables. Append-only: never edit a released
// migration, add the next version.
std::vector<storage::Migration> SchemaMigrations();

}  // namespace kefu::datahub
