// The versioned schema of kefu's database (both engines: PostgreSQL runs
// each migration through PostgresDdl unless it carries postgres_sql). Migrations are append-only:
// never edit a released one, add a new version instead.
#pragma once

#include <vector>

#include "storage/database.h"

namespace kefu::storage {

const std::vector<Migration>& SchemaMigrations();

// Opens the database at `path` (a path, ":memory:" for tests and tools, or a
// sqlite:// or postgresql:// URL) and brings it
// to the current schema.
Result<std::unique_ptr<Database>> OpenWithSchema(const std::string& path, const DatabaseOptions& options = {});

}  // namespace kefu::storage
