// The agents module's tables — human agents: accounts, sessions, skill groups, internal notes and canned responses —
// and their migrations (storage/migration.h). Only agents's code writes SQL on them (tests/table_ownership.py); the app
// adds these migrations to kefu's schema (app/schema.cpp).
#pragma once

#include <vector>

#include "storage/migration.h"

namespace kefu::agents {

// Versions 1, 2, ... of agents's tables. Append-only: never edit a released
// migration, add the next version.
std::vector<storage::Migration> SchemaMigrations();

}  // namespace kefu::agents
