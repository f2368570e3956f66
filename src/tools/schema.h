// The tools module's tables — the shop's data: customers (with their merge links), products, orders, logistics events
// and handoff requests — and their migrations (storage/migration.h). Only tools's code writes SQL on them
// (tests/table_ownership.py); the app adds these migrations to kefu's schema (app/schema.cpp).
#pragma once

#include <vector>

#include "storage/migration.h"

namespace kefu::tools {

// Versions 1, 2, ... of tools's tables. Append-only: never edit a released
// migration, add the next version.
std::vector<storage::Migration> SchemaMigrations();

}  // namespace kefu::tools
