// Reading training/evaluation files: RFC 4180 CSV (quoted fields may hold commas,
// doubled quotes and newlines) in UTF-8, optionally starting with a BOM.
// Errors name the 1-based line of the file where the bad record starts.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kefu::nlu {

struct CsvRecord {
  std::vector<std::string> fields;
  int line = 0;  // 1-based line where the record starts
};

// Parses a whole CSV document. Blank lines are skipped. Fails on an unterminated
// quote, text after a closing quote, or invalid UTF-8.
Result<std::vector<CsvRecord>> ParseCsv(std::string_view data);

struct LabeledExample {
  std::string text;
  std::string label;
  int line = 0;
};

// Reads a CSV whose header names (at least) the columns `text` and `label`, in
// any order. Rows with an empty text are errors, as are rows with too few
// columns and labels with whitespace. `what` prefixes messages (usually the path).
Result<std::vector<LabeledExample>> ParseLabeledCsv(std::string_view data, std::string_view what);
Result<std::vector<LabeledExample>> ReadLabeledCsv(const std::string& path);

// Writes examples as a `text,label` CSV (quoting as needed).
Status WriteLabeledCsv(const std::string& path, const std::vector<LabeledExample>& examples);

// Unlabelled texts, one per line (UTF-8; a leading byte-order mark and CR line
// ends are dropped, blank lines skipped). Invalid UTF-8 is an error naming the line.
Result<std::vector<std::string>> ParseTextLines(std::string_view data, std::string_view what);
Result<std::vector<std::string>> ReadTextLines(const std::string& path);
// One text per line; line breaks inside a text become spaces.
Status WriteTextLines(const std::string& path, const std::vector<std::string>& texts);

// Whole file into memory; NotFound / Unavailable on failure.
Result<std::string> ReadFile(const std::string& path);

}  // namespace kefu::nlu
