// Schema migrations, declared per owning module. Each module that owns
// tables declares its migrations next to its code (src/<module>/schema.cpp,
// a library of its own that depends on storage only); the app assembles them
// into one MigrationSet (app/schema.cpp) and Database::Migrate applies it.
// storage knows no module: it only keeps each module's version.
//
// Versions are kept per module, in the table kefu_schema_modules (module,
// version). The database-wide version (SQLite: PRAGMA user_version;
// PostgreSQL: the table kefu_schema_version) is kPerModuleSchema once a
// database has them; 1..kLastGlobalVersion were the versions of the one
// global list kefu had before, and a database at one of those is adopted
// (Migration::global_version) without running anything again.
//
// Migrations are append-only: never edit a released one, add a new version.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kefu::storage {

// The last version of the one global migration list (kefu before per-module
// versions), and the database-wide version that says "versions are per
// module": a kefu from before refuses such a database as newer than it knows.
inline constexpr int kLastGlobalVersion = 9;
inline constexpr int kPerModuleSchema = 10;

struct Migration {
  std::string module;  // the owning module, e.g. "dialogue"
  int version = 0;     // 1, 2, ... within the module
  std::string name;
  // The version of the global list that held this migration (1..9; 0 for
  // those written since): a database at global version g has every
  // migration whose global_version is in 1..g.
  int global_version = 0;
  std::string sql;  // SQLite; PostgreSQL runs PostgresDdl(sql) unless postgres_sql is set
  std::string postgres_sql = {};
};

// The migrations of several modules, in the order they are applied: module
// by module in the order added, each module's in version order. A module's
// tables may reference those of the modules added before it (tenants: add
// api first). Not thread-safe while being built; read-only afterwards.
class MigrationSet {
 public:
  // Adds one module's migrations (all of the same module, versions
  // increasing). Errors (mixed modules, versions out of order, a module
  // added twice) are reported by Validate.
  MigrationSet& Add(std::vector<Migration> migrations);

  const std::vector<Migration>& migrations() const { return migrations_; }
  // The modules, in the order added.
  std::vector<std::string> Modules() const;
  // The newest version of `module` (0: not in the set).
  int Latest(std::string_view module) const;
  // The version `module` had at global version `global` (1..kLastGlobalVersion).
  int AtGlobalVersion(std::string_view module, int global) const;
  Status Validate() const;

 private:
  std::vector<Migration> migrations_;
};

}  // namespace kefu::storage
