// The SQLite engine behind storage::Database (storage/database.h). A
// database owns one writer connection in WAL mode (synchronous=NORMAL: a
// committed transaction survives a process crash) and, for a database file,
// a small pool of read-only connections (WAL lets readers run beside the
// writer). Database::Write is group commit on the writer: the writes waiting
// at one moment share one transaction, each in its own SAVEPOINT. Every
// Session holds one connection's mutex for its lifetime, so statements on
// one connection never interleave. Prepared statements are cached per
// connection. Only storage/ includes this header.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "storage/database.h"

struct sqlite3;

namespace kefu::storage {

// Opens (creating if needed) the SQLite database at `path` (":memory:" and
// "file:" URIs work too).
Result<std::unique_ptr<Database>> OpenSqlite(const std::string& path, const DatabaseOptions& options);

// Errors from SQLite as a Status: SQLITE_BUSY/LOCKED and every storage
// failure (IsStorageFailure) -> unavailable (503), constraint ->
// already_exists, anything else (a bug) -> internal.
Status SqliteStatus(sqlite3* db, int rc, std::string_view what);

// True for result codes that mean the storage itself failed rather than the
// statement: SQLITE_FULL, SQLITE_IOERR (all extended codes), SQLITE_READONLY,
// SQLITE_CANTOPEN, SQLITE_CORRUPT, SQLITE_NOTADB, SQLITE_NOMEM, SQLITE_PERM,
// SQLITE_PROTOCOL, SQLITE_NOLFS.
bool IsStorageFailure(int rc);

// "SQLITE_FULL" for 13 (the primary code of an extended one).
std::string_view SqliteCodeName(int rc);

// Why the files of the database at `path` cannot be used, from the operating
// system: "cannot open data/kefu.db-wal: Is a directory", "cannot create
// files in data: Read-only file system"; "" when nothing is wrong with them.
// Checks the directory, the database file and its -wal and -shm files
// without creating any.
std::string DiagnoseFiles(const std::string& path);

}  // namespace kefu::storage
