// `kefu import --kind KIND FILE.csv [--tenant T] [--source S] [--data-dir D]`:
// bulk CSV ingestion through datahub::IngestService (the same validation and
// idempotency as POST /v1/ingest/{kind}). The first row names the columns
// (the record fields of docs/datahub.md); JSON columns (items, attrs,
// identities) hold JSON text. Rows go in batches of up to 1,000, one
// transaction each; a progress bar is drawn on stderr when it is a terminal.
// Every rejected row is reported on stderr with its line number and reason;
// the exit status is 1 when any row was rejected, 2 on a whole-file error.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "app/kb_cli.h"

namespace kefu::app {

struct CsvRecord {
  size_t line = 0;  // 1-based line where the record starts
  std::vector<std::string> cells;
};

// RFC 4180 CSV (quotes, "" escapes, newlines inside quotes, CRLF, a UTF-8
// BOM). InvalidArgument with the line number on an unterminated quote.
Result<std::vector<CsvRecord>> ParseCsv(std::string_view text);

// Adds the `import` subcommand; `deps` load the config and open the database.
void RegisterImportCommand(CLI::App& app, KbCliDeps deps);

}  // namespace kefu::app
