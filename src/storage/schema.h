// The versioned schema of kefu's SQLite database. Migrations are append-only:
// never edit a released one, add a new version instead.
#pragma once

#include <vector>

#include "storage/sqlite.h"

namespace kefu::storage {

const std::vector<Migration>& SchemaMigrations();

// Opens the database at `path` (":memory:" for tests and tools) and brings it
// to the current schema.
Result<std::unique_ptr<Database>> OpenWithSchema(const std::string& path, const DatabaseOptions& options = {});

}  // namespace kefu::storage
