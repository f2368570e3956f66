#include "storage/sqlite.h"

#include <gtest/gtest.h>

#include "storage/schema.h"

namespace kefu::storage {

TEST(Sqlite, MigratesAndRoundTrips) {
  auto db = Database::Open(":memory:");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  ASSERT_TRUE((*db)->Migrate(SchemaMigrations()).ok());
  EXPECT_EQ((*db)->SchemaVersion(), SchemaMigrations().back().version);
  // Migrating again is a no-op.
  ASSERT_TRUE((*db)->Migrate(SchemaMigrations()).ok());

  auto s = (*db)->Lock();
  ASSERT_TRUE(s.Exec("INSERT INTO tenants VALUES('t','T','k',1)").ok());
  auto& st = s.Prepare("SELECT name, widget_key FROM tenants WHERE id = ?");
  st.Bind(1, "t");
  auto row = st.Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(st.Text(0), "T");
}

TEST(Sqlite, TransactionRollsBackUnlessCommitted) {
  auto db = Database::Open(":memory:");
  ASSERT_TRUE(db.ok());
  {
    auto s = (*db)->Lock();
    ASSERT_TRUE(s.Exec("CREATE TABLE x(a INTEGER UNIQUE)").ok());
    {
      auto tx = s.Begin();
      ASSERT_TRUE(s.Exec("INSERT INTO x VALUES(1)").ok());
    }  // rolled back
    auto tx = s.Begin();
    ASSERT_TRUE(s.Exec("INSERT INTO x VALUES(2)").ok());
    ASSERT_TRUE(tx.Commit().ok());
    auto& st = s.Prepare("SELECT count(*) FROM x");
    ASSERT_TRUE(*st.Step());
    EXPECT_EQ(st.Int(0), 1);
    auto& ins = s.Prepare("INSERT INTO x VALUES(?)");
    ins.Bind(1, int64_t{2});
    Status dup = ins.Run();
    EXPECT_EQ(dup.code(), ErrorCode::kAlreadyExists);
  }
}

TEST(Sqlite, RejectsOutOfOrderMigrations) {
  auto db = Database::Open(":memory:");
  ASSERT_TRUE(db.ok());
  Status s = (*db)->Migrate({{2, "b", "SELECT 1"}, {1, "a", "SELECT 1"}});
  EXPECT_FALSE(s.ok());
}

}  // namespace kefu::storage
