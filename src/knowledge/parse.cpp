#include "knowledge/parse.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include <nlohmann/json.hpp>

#include "common/json.h"
#include "common/utf8.h"

namespace kefu::knowledge {

namespace {

std::string Trimmed(std::string_view s) { return std::string(utf8::Trim(s)); }

std::vector<std::string_view> SplitLines(std::string_view content) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos <= content.size()) {
    size_t end = content.find('\n', pos);
    if (end == std::string_view::npos) end = content.size();
    std::string_view line = content.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (end == content.size()) break;
    pos = end + 1;
  }
  return lines;
}

// Splits on any of the separators (ASCII or full-width), trims, drops empties.
std::vector<std::string> SplitAny(std::string_view s, const std::vector<std::string_view>& seps) {
  std::vector<std::string> out;
  size_t start = 0, i = 0;
  while (i <= s.size()) {
    size_t matched = 0;
    if (i < s.size())
      for (std::string_view sep : seps)
        if (s.substr(i, sep.size()) == sep) { matched = sep.size(); break; }
    if (i == s.size() || matched) {
      std::string part = Trimmed(s.substr(start, i - start));
      if (!part.empty()) out.push_back(std::move(part));
      if (i == s.size()) break;
      i += matched;
      start = i;
    } else {
      ++i;
    }
  }
  return out;
}

// Rejects entries that cannot be indexed; fills a missing id.
bool Finish(KbEntry& e, int line, std::set<std::string>& seen, ParsedFile& out) {
  e.title = Trimmed(e.title);
  e.body = Trimmed(e.body);
  e.category = Trimmed(e.category);
  e.id = Trimmed(e.id);
  e.lang = Trimmed(e.lang);
  for (auto& ch : e.lang) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (!e.lang.empty() && (e.lang.size() > 8 || !std::all_of(e.lang.begin(), e.lang.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || ch == '-';
      }))) {
    out.errors.push_back({line, "entry '" + e.title + "': lang must be a language code such as en or zh"});
    return false;
  }
  if (e.lang == "zh") e.lang.clear();  // the main language
  if (std::string problem = ControlCharProblem(e); !problem.empty()) {
    out.refused.push_back({line, problem});
    return false;
  }
  if (e.title.empty()) {
    out.errors.push_back({line, "entry has an empty title"});
    return false;
  }
  if (e.body.empty()) {
    out.errors.push_back({line, "entry '" + e.title + "' has an empty body"});
    return false;
  }
  if (e.id.empty()) e.id = StableId(e.title);
  if (!seen.insert(e.id).second) {
    out.errors.push_back({line, "duplicate id '" + e.id + "' in this file"});
    return false;
  }
  out.entries.push_back({line, std::move(e)});
  return true;
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// `s` for a message: control characters written as \uXXXX, cut (on a
// character boundary) after about 60 bytes.
std::string Visible(std::string_view s) {
  std::string out;
  char buf[8];
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80 && out.size() >= 60) {
      out += "…";
      break;
    }
    if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0x9F &&
        static_cast<unsigned char>(s[i + 1]) >= 0x80) {
      std::snprintf(buf, sizeof buf, "\\u%04X", static_cast<unsigned char>(s[++i]));
      out += buf;
    } else if (c < 0x20 || c == 0x7F) {
      std::snprintf(buf, sizeof buf, "\\u%04X", c);
      out += buf;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

size_t FindControlChar(std::string_view s, bool nul_only) {
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0) return i;
    if (nul_only) continue;
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F) return i;
    // C1 controls U+0080..U+009F are C2 80..C2 9F in UTF-8.
    if (c == 0xC2 && i + 1 < s.size()) {
      unsigned char d = static_cast<unsigned char>(s[i + 1]);
      if (d >= 0x80 && d <= 0x9F) return i;
    }
  }
  return std::string_view::npos;
}

std::string ControlCharProblem(const KbEntry& e) {
  auto describe = [](std::string_view field, std::string_view value, size_t at) {
    unsigned char c = static_cast<unsigned char>(value[at]);
    unsigned cp = c == 0xC2 && at + 1 < value.size() ? static_cast<unsigned char>(value[at + 1]) : c;
    char code[16];
    std::snprintf(code, sizeof code, "U+%04X", cp);
    return std::string(field) + " contains the control character " + code + " in \"" + Visible(value) + "\"";
  };
  if (size_t at = FindControlChar(e.title); at != std::string_view::npos) return describe("title", e.title, at);
  if (size_t at = FindControlChar(e.id); at != std::string_view::npos) return describe("id", e.id, at);
  if (size_t at = FindControlChar(e.category); at != std::string_view::npos)
    return describe("category", e.category, at);
  for (const auto& q : e.questions)
    if (size_t at = FindControlChar(q); at != std::string_view::npos) return describe("question", q, at);
  if (size_t at = FindControlChar(e.body, /*nul_only=*/true); at != std::string_view::npos)
    return describe("body", e.body, at);
  return "";
}

std::vector<std::string> SplitQuestions(std::string_view s) { return SplitAny(s, {"|", "｜"}); }

ParsedFile ParseMarkdown(std::string_view content) {
  ParsedFile out;
  std::set<std::string> seen;
  std::vector<std::string_view> lines = SplitLines(utf8::StripBom(content));
  std::string h1;
  bool in_synonyms = false, in_fence = false;
  bool have_entry = false, in_meta = false;
  int entry_line = 0;
  KbEntry cur;
  std::string body;
  auto flush = [&]() {
    if (!have_entry) return;
    cur.body = body;
    Finish(cur, entry_line, seen, out);
    cur = KbEntry{};
    body.clear();
    have_entry = false;
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    int line_no = static_cast<int>(i) + 1;
    std::string_view trimmed = utf8::Trim(line);
    if (!in_fence && (StartsWith(line, "# ") || StartsWith(line, "## ") || line == "#" || line == "##")) {
      flush();
      bool h2 = StartsWith(line, "##");
      std::string text = Trimmed(line.substr(h2 ? 2 : 1));
      if (!h2) {
        h1 = text;
        in_synonyms = h1 == "同义词" || h1 == "Synonyms" || h1 == "synonyms";
        if (in_synonyms) out.has_synonyms = true;
        continue;
      }
      in_synonyms = false;
      have_entry = true;
      in_meta = true;
      entry_line = line_no;
      cur.title = text;
      cur.category = h1;
      continue;
    }
    if (in_synonyms) {
      if (StartsWith(trimmed, "- ") || StartsWith(trimmed, "* ")) {
        auto group = SplitAny(trimmed.substr(2), {",", "，", "、"});
        if (group.size() >= 2) {
          out.synonyms.push_back(std::move(group));
        } else if (!group.empty()) {
          out.errors.push_back({line_no, "a synonym group needs at least two terms"});
        }
      }
      continue;
    }
    if (!have_entry) continue;  // text under a '#' heading before its first entry
    if (in_meta) {
      if (trimmed.empty()) {
        in_meta = false;
        continue;
      }
      size_t colon = trimmed.find(':');
      size_t fw = trimmed.find("：");
      size_t sep_len = 1;
      if (fw != std::string_view::npos && (colon == std::string_view::npos || fw < colon)) {
        colon = fw;
        sep_len = 3;
      }
      if (colon != std::string_view::npos) {
        std::string key = Trimmed(trimmed.substr(0, colon));
        std::string_view value = utf8::Trim(trimmed.substr(colon + sep_len));
        if (key == "id") { cur.id = std::string(value); continue; }
        if (key == "category") { cur.category = std::string(value); continue; }
        if (key == "questions") { cur.questions = SplitQuestions(value); continue; }
        if (key == "lang") { cur.lang = std::string(value); continue; }
      }
      in_meta = false;  // the body started without a blank line
    }
    if (StartsWith(trimmed, "```")) in_fence = !in_fence;
    if (!body.empty() || !trimmed.empty()) {
      body.append(line);
      body.push_back('\n');
    }
  }
  flush();
  return out;
}

Result<CsvRecords> ReadCsv(std::string_view s) {
  CsvRecords out;
  s = utf8::StripBom(s);
  size_t i = 0;
  int line = 1;
  while (i < s.size()) {
    std::vector<std::string> row;
    int start_line = line;
    std::string field;
    bool record_done = false;
    while (!record_done) {
      field.clear();
      if (i < s.size() && s[i] == '"') {
        ++i;
        while (true) {
          if (i >= s.size()) return InvalidArgument("line " + std::to_string(start_line) + ": unterminated quoted field");
          char c = s[i++];
          if (c == '"') {
            if (i < s.size() && s[i] == '"') { field.push_back('"'); ++i; continue; }
            break;
          }
          if (c == '\n') ++line;
          field.push_back(c);
        }
        while (i < s.size() && s[i] != ',' && s[i] != '\n') {  // tolerate "abc"  ,
          if (s[i] != '\r' && s[i] != ' ') field.push_back(s[i]);
          ++i;
        }
      } else {
        while (i < s.size() && s[i] != ',' && s[i] != '\n') field.push_back(s[i++]);
        if (!field.empty() && field.back() == '\r') field.pop_back();
      }
      row.push_back(field);
      if (i >= s.size()) { record_done = true; break; }
      if (s[i] == ',') { ++i; continue; }
      ++i;  // '\n'
      ++line;
      record_done = true;
    }
    if (row.size() == 1 && row[0].empty()) continue;  // blank line
    out.rows.push_back(std::move(row));
    out.lines.push_back(start_line);
  }
  return out;
}

ParsedFile ParseCsv(std::string_view content) {
  ParsedFile out;
  auto records = ReadCsv(content);
  if (!records.ok()) {
    const std::string& m = records.status().message();
    out.errors.push_back({std::atoi(m.c_str() + 5), m});
    return out;
  }
  if (records->rows.empty()) {
    out.errors.push_back({1, "empty file: expected header id,title,body,category,questions"});
    return out;
  }
  static const std::vector<std::string> kKnown = {"id", "title", "body", "category", "questions", "lang"};
  const auto& header = records->rows[0];
  int col[6] = {-1, -1, -1, -1, -1, -1};
  for (size_t c = 0; c < header.size(); ++c) {
    std::string name = Trimmed(header[c]);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::tolower(ch); });
    auto it = std::find(kKnown.begin(), kKnown.end(), name);
    if (it == kKnown.end()) {
      out.errors.push_back({records->lines[0], "unknown column '" + name + "' in header (expected id,title,body,category,questions,lang)"});
      return out;
    }
    int k = static_cast<int>(it - kKnown.begin());
    if (col[k] >= 0) {
      out.errors.push_back({records->lines[0], "duplicate column '" + name + "' in header"});
      return out;
    }
    col[k] = static_cast<int>(c);
  }
  if (col[1] < 0 || col[2] < 0) {
    out.errors.push_back({records->lines[0], std::string("header lacks the required column '") +
                                                 (col[1] < 0 ? "title" : "body") + "'"});
    return out;
  }
  std::set<std::string> seen;
  for (size_t r = 1; r < records->rows.size(); ++r) {
    const auto& row = records->rows[r];
    int line = records->lines[r];
    if (row.size() != header.size()) {
      out.errors.push_back({line, "expected " + std::to_string(header.size()) + " fields, got " + std::to_string(row.size())});
      continue;
    }
    auto get = [&](int k) { return col[k] >= 0 ? row[col[k]] : std::string(); };
    KbEntry e;
    e.id = get(0);
    e.title = get(1);
    e.body = get(2);
    e.category = get(3);
    e.questions = SplitQuestions(get(4));
    e.lang = get(5);
    Finish(e, line, seen, out);
  }
  return out;
}

namespace {
int LineAt(std::string_view s, size_t offset) {
  offset = std::min(offset, s.size());
  return 1 + static_cast<int>(std::count(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

// Offsets of the values directly inside the array at `depth` that holds the entries: the
// top-level array (depth 1) or the array under the top-level object (depth 2).
std::vector<size_t> ValueOffsets(std::string_view s, int depth) {
  std::vector<size_t> out;
  int d = 0;
  bool in_str = false, expect = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_str) {
      if (c == '\\') ++i;
      else if (c == '"') in_str = false;
      continue;
    }
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (expect && d == depth && c != ']') { out.push_back(i); expect = false; }
    if (c == '"') in_str = true;
    else if (c == '[') { ++d; if (d == depth) expect = true; }
    else if (c == '{') ++d;
    else if (c == ']' || c == '}') {
      --d;
      expect = false;
      if (d == 0) break;  // end of the outermost value
    }
    else if (c == ',' && d == depth) expect = true;
  }
  return out;
}
}  // namespace

ParsedFile ParseJson(std::string_view content) {
  ParsedFile out;
  content = utf8::StripBom(content);
  nlohmann::json doc;
  if (JsonNestingDepth(content) > kMaxJsonDepth) {
    out.errors.push_back({1, "invalid JSON: nested deeper than " + std::to_string(kMaxJsonDepth) + " levels"});
    return out;
  }
  try {
    doc = nlohmann::json::parse(content);
  } catch (const nlohmann::json::parse_error& e) {
    out.errors.push_back({LineAt(content, e.byte > 0 ? e.byte - 1 : 0), std::string("invalid JSON: ") + e.what()});
    return out;
  }
  const nlohmann::json* entries = nullptr;
  int depth = 1;
  if (doc.is_array()) {
    entries = &doc;
  } else if (doc.is_object()) {
    depth = 2;
    auto it = doc.find("entries");
    if (it != doc.end()) {
      if (!it->is_array()) {
        out.errors.push_back({1, "\"entries\" must be an array"});
        return out;
      }
      entries = &*it;
    }
    auto syn = doc.find("synonyms");
    if (syn != doc.end()) {
      out.has_synonyms = true;
      if (!syn->is_array()) {
        out.errors.push_back({1, "\"synonyms\" must be an array of arrays of strings"});
      } else {
        for (const auto& g : *syn) {
          std::vector<std::string> group;
          if (g.is_array())
            for (const auto& t : g)
              if (t.is_string() && !utf8::Trim(t.get<std::string>()).empty()) group.push_back(Trimmed(t.get<std::string>()));
          if (group.size() < 2) {
            out.errors.push_back({0, "a synonym group needs at least two strings"});
            continue;
          }
          out.synonyms.push_back(std::move(group));
        }
      }
    }
    if (entries == nullptr && syn == doc.end()) {
      out.errors.push_back({1, "expected an array of entries or an object with \"entries\""});
      return out;
    }
  } else {
    out.errors.push_back({1, "expected an array of entries or an object with \"entries\""});
    return out;
  }
  if (entries == nullptr) return out;
  std::vector<size_t> offsets;
  if (depth == 1) {
    offsets = ValueOffsets(content, 1);
  } else {
    // The entries array is the one under the "entries" key; find where it starts.
    size_t key = content.find("\"entries\"");
    size_t open = key == std::string_view::npos ? key : content.find('[', key);
    if (open != std::string_view::npos) {
      auto rel = ValueOffsets(content.substr(open), 1);
      for (size_t r : rel) offsets.push_back(open + r);
    }
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < entries->size(); ++i) {
    int line = i < offsets.size() && offsets.size() == entries->size() ? LineAt(content, offsets[i]) : 0;
    const auto& v = (*entries)[i];
    if (!v.is_object()) {
      out.errors.push_back({line, "entry " + std::to_string(i) + " is not an object"});
      continue;
    }
    KbEntry e;
    std::string bad;
    auto str = [&](const char* key, std::string& dst) {
      auto it = v.find(key);
      if (it == v.end() || it->is_null()) return;
      if (!it->is_string()) { bad = std::string("\"") + key + "\" must be a string"; return; }
      dst = it->get<std::string>();
    };
    str("id", e.id);
    str("title", e.title);
    str("body", e.body);
    str("category", e.category);
    str("lang", e.lang);
    auto q = v.find("questions");
    if (q != v.end() && !q->is_null()) {
      if (q->is_string()) {
        e.questions = SplitQuestions(q->get<std::string>());
      } else if (q->is_array()) {
        for (const auto& s : *q) {
          if (!s.is_string()) { bad = "\"questions\" must be an array of strings"; break; }
          std::string t = Trimmed(s.get<std::string>());
          if (!t.empty()) e.questions.push_back(std::move(t));
        }
      } else {
        bad = "\"questions\" must be an array of strings";
      }
    }
    if (!bad.empty()) {
      out.errors.push_back({line, bad});
      continue;
    }
    Finish(e, line, seen, out);
  }
  return out;
}

ParsedFile ParseFile(Format format, std::string_view content) {
  switch (format) {
    case Format::kMarkdown: return ParseMarkdown(content);
    case Format::kCsv: return ParseCsv(content);
    case Format::kJson: return ParseJson(content);
  }
  return {};
}

}  // namespace kefu::knowledge
