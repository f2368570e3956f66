#include "app/schema.h"

#include "agents/schema.h"
#include "api/schema.h"
#include "datahub/schema.h"
#include "dialogue/schema.h"
#include "inbox/schema.h"
#include "knowledge/schema.h"
#include "tools/schema.h"

namespace kefu::app {

const storage::MigrationSet& Schema() {
  static const storage::MigrationSet kSchema = [] {
    storage::MigrationSet set;
    set.Add(api::SchemaMigrations())
        .Add(tools::SchemaMigrations())
        .Add(knowledge::SchemaMigrations())
        .Add(dialogue::SchemaMigrations())
        .Add(agents::SchemaMigrations())
        .Add(datahub::SchemaMigrations())
        .Add(inbox::SchemaMigrations());
    return set;
  }();
  return kSchema;
}

}  // namespace kefu::app
