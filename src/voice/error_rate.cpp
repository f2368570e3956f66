#include "voice/error_rate.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace kefu::voice {

double EditCounts::rate() const {
  if (reference == 0) return errors() == 0 ? 0.0 : 1.0;
  return static_cast<double>(errors()) / reference;
}

EditCounts& EditCounts::operator+=(const EditCounts& o) {
  reference += o.reference;
  substitutions += o.substitutions;
  deletions += o.deletions;
  insertions += o.insertions;
  return *this;
}

EditCounts Align(const std::vector<std::string>& ref, const std::vector<std::string>& hyp) {
  const size_t n = ref.size(), m = hyp.size();
  // cost[i][j]: edits turning ref[0..i) into hyp[0..j).
  std::vector<std::vector<int>> cost(n + 1, std::vector<int>(m + 1));
  for (size_t i = 0; i <= n; ++i) cost[i][0] = static_cast<int>(i);
  for (size_t j = 0; j <= m; ++j) cost[0][j] = static_cast<int>(j);
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      const int diag = cost[i - 1][j - 1] + (ref[i - 1] == hyp[j - 1] ? 0 : 1);
      cost[i][j] = std::min({diag, cost[i - 1][j] + 1, cost[i][j - 1] + 1});
    }
  }
  EditCounts c;
  c.reference = static_cast<int>(n);
  size_t i = n, j = m;
  while (i > 0 || j > 0) {
    if (i > 0 && j > 0 && cost[i][j] == cost[i - 1][j - 1] + (ref[i - 1] == hyp[j - 1] ? 0 : 1)) {
      if (ref[i - 1] != hyp[j - 1]) ++c.substitutions;
      --i;
      --j;
    } else if (i > 0 && cost[i][j] == cost[i - 1][j] + 1) {
      ++c.deletions;
      --i;
    } else {
      ++c.insertions;
      --j;
    }
  }
  return c;
}

std::vector<std::string> EnglishWords(std::string_view text) {
  std::vector<std::string> words;
  std::string cur;
  auto flush = [&] {
    while (!cur.empty() && cur.back() == '\'') cur.pop_back();
    size_t lead = 0;
    while (lead < cur.size() && cur[lead] == '\'') ++lead;
    if (lead < cur.size()) words.push_back(cur.substr(lead));
    cur.clear();
  };
  for (char ch : text) {
    const auto u = static_cast<unsigned char>(ch);
    if (std::isalnum(u) || u >= 0x80 || ch == '\'') {
      cur += static_cast<char>(std::tolower(u));
    } else {
      flush();
    }
  }
  flush();
  return words;
}

namespace {

// Decodes one UTF-8 code point at s[i] (advancing i); U+FFFD for bad bytes.
char32_t Next(std::string_view s, size_t& i) {
  const auto b = static_cast<unsigned char>(s[i]);
  int len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
  if (len == 0 || i + len > s.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t cp = len == 1 ? b : b & (0xFF >> (len + 1));
  for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += len;
  return cp;
}

bool IsPunctOrSpace(char32_t cp) {
  if (cp < 0x80) return !std::isalnum(static_cast<int>(cp));
  return (cp >= 0x2000 && cp <= 0x206F) ||                                    // general punctuation
         (cp >= 0x3000 && cp <= 0x303F) ||                                    // CJK symbols and punctuation
         (cp >= 0xFF00 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) ||  // full-width punctuation
         (cp >= 0xFF3B && cp <= 0xFF40) || (cp >= 0xFF5B && cp <= 0xFF65) || cp == 0x00A0 || cp == 0xFEFF;
}

}  // namespace

std::vector<std::string> CerTokens(std::string_view text) {
  std::vector<std::string> out;
  std::string latin;
  auto flush = [&] {
    if (!latin.empty()) out.push_back(std::move(latin));
    latin.clear();
  };
  for (size_t i = 0; i < text.size();) {
    const size_t start = i;
    const char32_t cp = Next(text, i);
    if (cp < 0x80 && std::isalnum(static_cast<int>(cp))) {
      latin += static_cast<char>(std::tolower(static_cast<int>(cp)));
      continue;
    }
    flush();
    if (IsPunctOrSpace(cp)) continue;
    out.emplace_back(text.substr(start, i - start));
  }
  flush();
  return out;
}

}  // namespace kefu::voice
