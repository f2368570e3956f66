// kefu's database schema: the migrations of every module that owns tables
// (src/<module>/schema.cpp), assembled here because only the app knows every
// module; storage applies them (Database::Migrate, storage/migration.h).
// Built alone as kefu_schema (the modules' kefu_<module>_schema libraries and
// storage), so that tests can open a database with kefu's tables.
#pragma once

#include "storage/migration.h"

namespace kefu::app {

// Every module's migrations, in the order they are applied: api first (the
// tenants the other modules' tables reference), then tools, knowledge,
// dialogue, agents, datahub and inbox. Built once; any thread.
const storage::MigrationSet& Schema();

}  // namespace kefu::app
