// The dialogue module's tables — conversations, their messages, and the leases that say which node runs a
// conversation's turns — and their migrations (storage/migration.h). Only dialogue's code writes SQL on them
// (tests/table_ownership.py); the app adds these migrations to kefu's schema (app/schema.cpp).
#pragma once

#include <vector>

#include "storage/migration.h"

namespace kefu::dialogue {

// Versions 1, 2, ... of dialogue's tables. Append-only: never edit a released
// migration, add the next version.
std::vector<storage::Migration> SchemaMigrations();

}  // namespace kefu::dialogue
