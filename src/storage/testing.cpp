#include "storage/testing.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>

namespace kefu::storage::testdb {

std::string PostgresTestUrl() {
  if (const char* url = std::getenv("KEFU_TEST_PG_URL"); url && *url) return url;
  if (const char* file = std::getenv("KEFU_TEST_PG_URL_FILE"); file && *file) {
    std::ifstream in(file);
    std::string url;
    std::getline(in, url);
    return url;
  }
#ifdef KEFU_TEST_PG_URL_FILE_DEFAULT
  // The server ctest starts (scripts/pg_temp.sh, the kefu_pg fixture).
  std::ifstream in(KEFU_TEST_PG_URL_FILE_DEFAULT);
  std::string url;
  std::getline(in, url);
  return url;
#else
  return "";
#endif
}

std::vector<Engine> AllEngines() { return {Engine::kSqlite, Engine::kPostgres}; }

std::string EngineTestName(Engine e) { return std::string(EngineName(e)); }

Result<std::string> FreshLocation(Engine engine, const std::string& sqlite_path) {
  if (engine == Engine::kSqlite) return sqlite_path;
  const std::string url = PostgresTestUrl();
  if (url.empty()) return Unavailable(kPostgresMissing);
  static std::atomic<int> counter{0};
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  const std::string schema = "kefu_test_" + std::to_string(::getpid()) + "_" + std::to_string(now % 1000000000) +
                             "_" + std::to_string(counter.fetch_add(1));
  DatabaseOptions one;
  one.pool_size = 1;
  KEFU_ASSIGN_OR_RETURN(auto admin, Database::Open(url, one));
  {
    auto s = admin->Lock();
    KEFU_RETURN_IF_ERROR(s.Exec("CREATE SCHEMA " + schema));
  }
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "options=-c%20search_path%3D" + schema;
}

bool Missing(Engine engine) {
  return engine == Engine::kPostgres && PostgresTestUrl().empty();
}

Result<std::unique_ptr<Database>> OpenFresh(Engine engine, const MigrationSet& schema, const std::string& sqlite_path,
                                            const DatabaseOptions& options) {
  KEFU_ASSIGN_OR_RETURN(std::string location, FreshLocation(engine, sqlite_path));
  return OpenWithSchema(location, schema, options);
}

}  // namespace kefu::storage::testdb
