#include "nlu/text_features.h"

#include <array>
#include <memory>
#include <mutex>
#include <vector>

#include "common/config.h"
#include "common/utf8.h"
#include "text/segmenter.h"

namespace kefu::nlu {
namespace {

const text::Segmenter* JiebaExact() {
  static std::once_flag once;
  static std::unique_ptr<text::Segmenter> seg;
  std::call_once(once, [] {
    KnowledgeConfig cfg;
    cfg.segmenter = "jieba-plain";
    auto s = text::CreateSegmenter(cfg);
    if (s.ok()) seg = std::move(s).value();
  });
  return seg.get();
}

bool IsCjk(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0x3040 && c <= 0x30FF) || (c >= 0xAC00 && c <= 0xD7AF);
}

bool IsSpace(char32_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' ||
         c == 0x3000 || c == 0xA0 || c == 0xFEFF || c == 0x200B;
}

bool IsAsciiAlnum(char32_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         c == '\'';
}

char32_t Fold(char32_t c) {
  if (c >= 0xFF01 && c <= 0xFF5E) c -= 0xFEE0;  // full-width ASCII
  if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
  return c;
}

std::vector<char32_t> DecodeSafe(std::string_view text) {
  std::string clean = utf8::Sanitize(utf8::TruncateBytes(text, kMaxInputBytes));
  return utf8::Decode(clean);
}

}  // namespace

std::string Featurize(std::string_view text) {
  std::vector<char32_t> cps = DecodeSafe(text);
  std::string out;
  out.reserve(cps.size() * 4);
  std::string word;
  auto emit = [&out](std::string_view tok) {
    if (tok.empty()) return;
    if (!out.empty()) out.push_back(' ');
    out.append(tok);
  };
  auto flush_word = [&]() {
    if (word.empty()) return;
    bool digits = true;
    for (char ch : word) digits = digits && ch >= '0' && ch <= '9';
    if (digits && word.size() > 6) {
      emit("<num>");
    } else {
      emit(word);
    }
    word.clear();
  };
  char32_t last_punct = 0;
  int punct_run = 0;
  for (char32_t raw : cps) {
    char32_t c = Fold(raw);
    if (IsAsciiAlnum(c)) {
      word.push_back(static_cast<char>(c));
      last_punct = 0;
      continue;
    }
    flush_word();
    if (IsSpace(c) || c < 0x20 || c == 0xFFFD) {
      last_punct = 0;
      continue;
    }
    std::string tok;
    utf8::Append(tok, c);
    if (IsCjk(c)) {
      emit(tok);
      last_punct = 0;
      continue;
    }
    // Punctuation, symbols and emoji: keep at most two of a run.
    if (c == last_punct) {
      if (++punct_run > 2) continue;
    } else {
      last_punct = c;
      punct_run = 1;
    }
    emit(tok);
  }
  flush_word();
  return out;
}

std::string DetectLanguage(std::string_view text) {
  size_t cjk = 0, latin = 0;
  for (char32_t c : DecodeSafe(text)) {
    c = Fold(c);
    if (IsCjk(c)) {
      ++cjk;
    } else if ((c >= 'a' && c <= 'z')) {
      ++latin;
    }
  }
  if (cjk == 0 && latin > 0) return "en";
  // A CJK character carries about as much as a four-letter English word.
  return cjk * 4 >= latin ? "zh" : "en";
}

bool IsPunctuationToken(std::string_view token) {
  // Runs for every token of every analysed turn: decode the one code point in
  // place (every punctuation range below is within three UTF-8 bytes).
  const auto b = [&](size_t i) { return static_cast<char32_t>(static_cast<unsigned char>(token[i])); };
  char32_t c = 0;
  if (token.size() == 1) {
    c = b(0);
  } else if (token.size() == 2 && (b(0) & 0xE0) == 0xC0) {
    c = ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
  } else if (token.size() == 3 && (b(0) & 0xF0) == 0xE0) {
    c = ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
  } else {
    return false;  // several code points, or one beyond the punctuation ranges
  }
  if (c < 0x80) return c > 0x20 && !IsAsciiAlnum(c) && c != 0x7F;
  return (c >= 0x2000 && c <= 0x206F) || (c >= 0x3000 && c <= 0x303F) || (c >= 0xFE30 && c <= 0xFE4F) ||
         (c >= 0xFF00 && c <= 0xFF65);
}

std::vector<std::string> SegmenterWords(std::string_view text) {
  const text::Segmenter* seg = JiebaExact();
  if (!seg) return {};
  // The turn's analysis segments one text once per model (sentiment,
  // emotion, intent): this thread's last four segmentations are kept.
  struct Memo {
    std::string text;
    std::vector<std::string> words;
    bool used = false;
  };
  thread_local std::array<Memo, 4> memo;
  thread_local size_t next = 0;
  for (const Memo& m : memo)
    if (m.used && m.text == text) return m.words;
  Memo& m = memo[next++ % memo.size()];
  m.words = seg->Tokenize(utf8::TruncateBytes(text, kMaxInputBytes));
  m.text.assign(text);
  m.used = true;
  return m.words;
}

bool SegmenterAvailable() { return JiebaExact() != nullptr; }

}  // namespace kefu::nlu
