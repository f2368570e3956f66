// Test support: fresh databases on either engine, so store tests run on
// SQLite and PostgreSQL alike. PostgreSQL comes from the URL in
// KEFU_TEST_PG_URL, or in the file KEFU_TEST_PG_URL_FILE names, or else in
// BUILD_DIR/pg/url, where ctest's kefu_pg fixture (scripts/pg_temp.sh) writes
// the URL of the throwaway server it starts; without one, PostgreSQL tests
// skip (see kPostgresMissing). Any thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "storage/database.h"

namespace kefu::storage::testdb {

// The test PostgreSQL server's URL; "" when none is configured.
std::string PostgresTestUrl();

// Why PostgreSQL tests skip, for GTEST_SKIP().
inline constexpr const char* kPostgresMissing =
    "PostgreSQL not available: set KEFU_TEST_PG_URL, or start one with scripts/pg_temp.sh start DIR and set "
    "KEFU_TEST_PG_URL_FILE=DIR/url (ctest does both)";

// Both engines, for INSTANTIATE_TEST_SUITE_P.
std::vector<Engine> AllEngines();
// "sqlite" / "postgresql" as a test name suffix.
std::string EngineTestName(Engine e);

// A location for a fresh, empty database on `engine`: SQLite `sqlite_path`
// (":memory:" by default); PostgreSQL a new schema of its own on the test
// server (the URL with search_path set to it). Fails when PostgreSQL is not
// configured or unreachable.
Result<std::string> FreshLocation(Engine engine, const std::string& sqlite_path = ":memory:");

// Whether `engine` cannot be tested here (PostgreSQL without a test server):
//   if (testdb::Missing(GetParam())) GTEST_SKIP() << testdb::kPostgresMissing;
bool Missing(Engine engine);

// A fresh database on `engine` (FreshLocation) brought to `schema`, e.g.
// app::Schema() for kefu's tables. The fixture every store test shares:
//   if (testdb::Missing(GetParam())) GTEST_SKIP() << testdb::kPostgresMissing;
//   auto db = testdb::OpenFresh(GetParam(), app::Schema());
//   ASSERT_TRUE(db.ok()) << db.status().ToString();
Result<std::unique_ptr<Database>> OpenFresh(Engine engine, const MigrationSet& schema,
                                            const std::string& sqlite_path = ":memory:",
                                            const DatabaseOptions& options = {});

}  // namespace kefu::storage::testdb
