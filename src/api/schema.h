// The api module's tables — the tenant directory and its API keys — and their migrations
// (storage/migration.h). Only api's code writes SQL on them (tests/table_ownership.py);
// the app adds these migrations to kefu's schema (app/schema.cpp).
#pragma once

#include <vector>

#include "storage/migration.h"

namespace kefu::api {

// Versions 1, 2, ... of api's tables. Append-only: never edit a released
// migration, add the next version.
std::vector<storage::Migration> SchemaMigrations();

}  // namespace kefu::api
