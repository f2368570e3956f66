// Parsers for knowledge-base files (internal to the knowledge module; docs/knowledge.md
// describes the formats). Each returns the good entries with the line they start on and
// per-entry errors; parsing never touches storage.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "knowledge/knowledge_base.h"

namespace kefu::knowledge {

struct ParsedFile {
  struct Item {
    int line = 0;
    KbEntry entry;
  };
  std::vector<Item> entries;
  bool has_synonyms = false;
  std::vector<std::vector<std::string>> synonyms;
  std::vector<ImportError> errors;
  // Entries that make the whole file unacceptable (control characters in a
  // title, id, category or question, a NUL byte in a body): Import stores
  // nothing from the file and fails naming the first one.
  std::vector<ImportError> refused;
};

// Byte offset of the first control character in `s` other than \n and \t
// (C0 including NUL and \r, DEL, C1 U+0080..U+009F), or npos. With
// `nul_only`, only NUL bytes count (bodies may hold other layout characters).
size_t FindControlChar(std::string_view s, bool nul_only = false);

// Why an entry cannot be stored because of control characters ("title
// contains the control character U+0000 in \"退货\\u0000政策\""), or "" when
// it can: the title, id, category and questions must be free of them, the
// body of NUL bytes. Used by the file parsers and by single-entry upserts.
std::string ControlCharProblem(const KbEntry& e);

ParsedFile ParseMarkdown(std::string_view content);
ParsedFile ParseCsv(std::string_view content);
ParsedFile ParseJson(std::string_view content);
ParsedFile ParseFile(Format format, std::string_view content);

// RFC 4180 records; `lines[i]` is the line record i starts on. Returns an error naming the
// line of an unterminated quoted field.
struct CsvRecords {
  std::vector<std::vector<std::string>> rows;
  std::vector<int> lines;
};
Result<CsvRecords> ReadCsv(std::string_view content);

// Splits "a | b | c" (also full-width '｜'), trimming and dropping empty parts.
std::vector<std::string> SplitQuestions(std::string_view s);

}  // namespace kefu::knowledge
