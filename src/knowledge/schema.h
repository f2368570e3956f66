// The knowledge module's tables — the knowledge base: entries and synonyms — and their migrations
// (storage/migration.h). Only knowledge's code writes SQL on them (tests/table_ownership.py);
// the app adds these migrations to kefu's schema (app/schema.cpp).
#pragma once

#include <vector>

#include "storage/migration.h"

namespace kefu::knowledge {

// Versions 1, 2, ... of knowledge's tables. Append-only: never edit a released
// migration, add the next version.
std::vector<storage::Migration> SchemaMigrations();

}  // namespace kefu::knowledge
