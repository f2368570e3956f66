#include "nlu/labeled_csv.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "common/utf8.h"
#include "nlu/scratch.h"

namespace kefu::nlu {

Result<std::vector<CsvRecord>> ParseCsv(std::string_view data) {
  data = utf8::StripBom(data);
  std::vector<CsvRecord> out;
  size_t i = 0;
  int line = 1;
  const size_t n = data.size();
  while (i < n) {
    CsvRecord rec;
    rec.line = line;
    std::string field;
    bool record_done = false;
    // Skip blank lines (only "\n" or "\r\n").
    if (data[i] == '\n') { ++i; ++line; continue; }
    if (data[i] == '\r' && i + 1 < n && data[i + 1] == '\n') { i += 2; ++line; continue; }
    while (!record_done) {
      field.clear();
      if (i < n && data[i] == '"') {
        ++i;
        bool closed = false;
        while (i < n) {
          char c = data[i];
          if (c == '"') {
            if (i + 1 < n && data[i + 1] == '"') { field.push_back('"'); i += 2; continue; }
            ++i;
            closed = true;
            break;
          }
          if (c == '\n') ++line;
          field.push_back(c);
          ++i;
        }
        if (!closed) {
          return InvalidArgument(fmt::format("line {}: unterminated quoted field", rec.line));
        }
        if (i < n && data[i] != ',' && data[i] != '\n' && data[i] != '\r') {
          return InvalidArgument(fmt::format("line {}: unexpected character after closing quote", line));
        }
      } else {
        while (i < n && data[i] != ',' && data[i] != '\n') {
          if (data[i] == '\r' && (i + 1 == n || data[i + 1] == '\n')) { ++i; continue; }
          field.push_back(data[i]);
          ++i;
        }
      }
      if (!utf8::IsValid(field)) {
        return InvalidArgument(fmt::format("line {}: invalid UTF-8", line));
      }
      rec.fields.push_back(field);
      if (i >= n) { record_done = true; break; }
      if (data[i] == ',') { ++i; continue; }
      if (data[i] == '\r') ++i;
      if (i < n && data[i] == '\n') { ++i; ++line; }
      record_done = true;
    }
    out.push_back(std::move(rec));
  }
  return out;
}

Result<std::vector<LabeledExample>> ParseLabeledCsv(std::string_view data, std::string_view what) {
  auto parsed = ParseCsv(data);
  if (!parsed.ok()) return InvalidArgument(fmt::format("{}: {}", what, parsed.status().message()));
  const auto& recs = parsed.value();
  if (recs.empty()) return InvalidArgument(fmt::format("{}: empty file, expected header text,label", what));
  int text_col = -1, label_col = -1;
  const auto& header = recs[0].fields;
  for (size_t c = 0; c < header.size(); ++c) {
    std::string h(utf8::Trim(header[c]));
    if (h == "text") text_col = static_cast<int>(c);
    if (h == "label") label_col = static_cast<int>(c);
  }
  if (text_col < 0 || label_col < 0) {
    return InvalidArgument(fmt::format("{}: line {}: header must name columns 'text' and 'label' (missing '{}')",
                                       what, recs[0].line, text_col < 0 ? "text" : "label"));
  }
  const size_t need = static_cast<size_t>(std::max(text_col, label_col)) + 1;
  std::vector<LabeledExample> out;
  for (size_t r = 1; r < recs.size(); ++r) {
    const auto& rec = recs[r];
    if (rec.fields.size() < need) {
      return InvalidArgument(fmt::format("{}: line {}: expected at least {} columns, found {}", what, rec.line,
                                         need, rec.fields.size()));
    }
    LabeledExample ex;
    ex.text = std::string(utf8::Trim(rec.fields[text_col]));
    ex.label = std::string(utf8::Trim(rec.fields[label_col]));
    ex.line = rec.line;
    if (ex.text.empty()) return InvalidArgument(fmt::format("{}: line {}: empty text", what, rec.line));
    if (ex.label.empty()) return InvalidArgument(fmt::format("{}: line {}: empty label", what, rec.line));
    for (char ch : ex.label) {
      if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
        return InvalidArgument(fmt::format("{}: line {}: label '{}' contains whitespace", what, rec.line, ex.label));
      }
    }
    out.push_back(std::move(ex));
  }
  if (out.empty()) return InvalidArgument(fmt::format("{}: no examples after the header", what));
  return out;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(fmt::format("cannot open {}", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Unavailable(fmt::format("error reading {}", path));
  return ss.str();
}

Result<std::vector<LabeledExample>> ReadLabeledCsv(const std::string& path) {
  KEFU_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  return ParseLabeledCsv(data, path);
}

namespace {
std::string Quote(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q.push_back('"');
    q.push_back(c);
  }
  q.push_back('"');
  return q;
}
}  // namespace

Status WriteLabeledCsv(const std::string& path, const std::vector<LabeledExample>& examples) {
  std::string out = "text,label\n";
  for (const auto& ex : examples) out += Quote(ex.text) + ',' + Quote(ex.label) + '\n';
  return WriteFileReplacing(path, out);
}

Result<std::vector<std::string>> ParseTextLines(std::string_view data, std::string_view what) {
  if (data.substr(0, 3) == "\xEF\xBB\xBF") data.remove_prefix(3);
  std::vector<std::string> out;
  int line = 0;
  while (!data.empty()) {
    ++line;
    const size_t nl = data.find('\n');
    std::string_view text = data.substr(0, nl);
    data.remove_prefix(nl == std::string_view::npos ? data.size() : nl + 1);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (text.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (!utf8::IsValid(text)) return InvalidArgument(fmt::format("{}: line {}: invalid UTF-8", what, line));
    out.emplace_back(text);
  }
  return out;
}

Result<std::vector<std::string>> ReadTextLines(const std::string& path) {
  KEFU_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  return ParseTextLines(data, path);
}

Status WriteTextLines(const std::string& path, const std::vector<std::string>& texts) {
  std::string out;
  for (const auto& t : texts) {
    const size_t at = out.size();
    out += t;
    for (size_t i = at; i < out.size(); ++i) {
      if (out[i] == '\n' || out[i] == '\r') out[i] = ' ';
    }
    out += '\n';
  }
  return WriteFileReplacing(path, out);
}

}  // namespace kefu::nlu
