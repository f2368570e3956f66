// Template implementation of ForEachRun; include segmenter.h instead.
#pragma once

#include <cstdint>
#include <string_view>

namespace kefu::text {

namespace internal {
// Decodes one code point of valid UTF-8 at s[i]; advances i.
inline char32_t NextCp(std::string_view s, size_t& i) {
  auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) { ++i; return c; }
  int n = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
  char32_t cp = c & (0x3F >> n);
  for (int k = 1; k <= n && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += n + 1;
  return cp;
}
}  // namespace internal

template <typename Fn>
void ForEachRun(std::string_view s, Fn&& fn) {
  size_t i = 0, start = 0;
  int kind = -1;  // -1 none, 0 han, 1 word
  auto flush = [&](size_t end) {
    if (kind >= 0 && end > start) fn(kind == 0 ? RunKind::kHan : RunKind::kWord, s.substr(start, end - start));
    kind = -1;
  };
  while (i < s.size()) {
    size_t pos = i;
    char32_t cp = internal::NextCp(s, i);
    int k = IsHan(cp) ? 0 : IsWordChar(cp) ? 1 : -1;
    if (k < 0 && cp == '.' && kind == 1 && pos > 0 && s[pos - 1] >= '0' && s[pos - 1] <= '9' && i < s.size() &&
        s[i] >= '0' && s[i] <= '9') {
      continue;  // decimal point inside a number
    }
    if (k != kind) {
      flush(pos);
      if (k >= 0) { kind = k; start = pos; }
    }
  }
  flush(s.size());
}

}  // namespace kefu::text
