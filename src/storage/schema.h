// The versioned schema of kefu's SQLite database. Migrations are append-only:
// never edit a released one, add a new version instead.
#pragma once

#include <vector>

#include "storage/sqlite.h"

namespace kefu::storage {

const std::vector<Migration>& SchemaMigrations();

}  // namespace kefu::storage
