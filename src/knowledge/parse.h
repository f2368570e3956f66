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
};

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
