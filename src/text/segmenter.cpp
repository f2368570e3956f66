#include "text/segmenter.h"

#include <unicode/brkiter.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/unistr.h>

#include "common/utf8.h"
#include "text/jieba.h"

namespace kefu::text {

bool IsHan(char32_t cp) {
  if ((cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || cp == 0x3007) return true;
  if (cp < 0x2E80) return false;
  UErrorCode err = U_ZERO_ERROR;
  return uscript_getScript(static_cast<UChar32>(cp), &err) == USCRIPT_HAN && U_SUCCESS(err);
}

bool IsWordChar(char32_t cp) {
  if (cp < 0x80) return (cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9') || (cp >= 'A' && cp <= 'Z');
  return u_isalnum(static_cast<UChar32>(cp)) || u_hasBinaryProperty(static_cast<UChar32>(cp), UCHAR_ALPHABETIC);
}

std::string Normalize(std::string_view text) {
  bool ascii = true;
  for (unsigned char c : text) ascii &= c < 0x80;
  if (ascii) {
    std::string out(text);
    for (char& c : out)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
  }
  std::string valid = utf8::IsValid(text) ? std::string(text) : utf8::Sanitize(text);
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCCasefoldInstance(err);
  if (U_FAILURE(err)) return valid;
  icu::UnicodeString src = icu::UnicodeString::fromUTF8(valid);
  icu::UnicodeString dst = nfkc->normalize(src, err);
  if (U_FAILURE(err)) return valid;
  std::string out;
  dst.toUTF8String(out);
  return out;
}

namespace {

// Han runs -> character unigrams + adjacent bigrams; word runs kept whole.
class BigramSegmenter final : public Segmenter {
 public:
  std::vector<std::string> Tokenize(std::string_view text) const override {
    std::vector<std::string> out;
    std::string norm = Normalize(text);
    ForEachRun(norm, [&](RunKind kind, std::string_view run) {
      if (kind == RunKind::kWord) {
        out.emplace_back(run);
        return;
      }
      std::vector<size_t> off;
      for (size_t i = 0; i < run.size(); ++i)
        if ((static_cast<unsigned char>(run[i]) & 0xC0) != 0x80) off.push_back(i);
      off.push_back(run.size());
      for (size_t k = 0; k + 1 < off.size(); ++k) {
        out.emplace_back(run.substr(off[k], off[k + 1] - off[k]));
        if (k + 2 < off.size()) out.emplace_back(run.substr(off[k], off[k + 2] - off[k]));
      }
    });
    return out;
  }
  std::string_view Name() const override { return "bigram"; }
};

// ICU's dictionary-based word break iterator. BreakIterator is not thread-safe, so each
// thread lazily creates its own.
class IcuSegmenter final : public Segmenter {
 public:
  static Result<std::unique_ptr<Segmenter>> Create() {
    if (Iterator() == nullptr) return Internal("ICU word break iterator unavailable");
    return std::unique_ptr<Segmenter>(new IcuSegmenter());
  }
  std::vector<std::string> Tokenize(std::string_view text) const override {
    std::vector<std::string> out;
    icu::BreakIterator* bi = Iterator();
    if (bi == nullptr) return out;
    icu::UnicodeString u = icu::UnicodeString::fromUTF8(Normalize(text));
    bi->setText(u);
    int32_t start = bi->first();
    std::string piece;
    for (int32_t end = bi->next(); end != icu::BreakIterator::DONE; start = end, end = bi->next()) {
      if (bi->getRuleStatus() == UBRK_WORD_NONE) continue;
      piece.clear();
      u.tempSubStringBetween(start, end).toUTF8String(piece);
      // A "word" may still carry punctuation (e.g. "a.b"); keep only its letter/Han runs.
      ForEachRun(piece, [&](RunKind, std::string_view run) { out.emplace_back(run); });
    }
    return out;
  }
  std::string_view Name() const override { return "icu"; }

 private:
  static icu::BreakIterator* Iterator() {
    thread_local std::unique_ptr<icu::BreakIterator> it = [] {
      UErrorCode err = U_ZERO_ERROR;
      std::unique_ptr<icu::BreakIterator> bi(icu::BreakIterator::createWordInstance(icu::Locale::getChinese(), err));
      if (U_FAILURE(err)) bi.reset();
      return bi;
    }();
    return it.get();
  }
};

}  // namespace

Result<std::unique_ptr<Segmenter>> CreateSegmenter(const KnowledgeConfig& config) {
  const std::string& kind = config.segmenter;
  if (kind == "bigram") return std::unique_ptr<Segmenter>(new BigramSegmenter());
  if (kind == "icu") return IcuSegmenter::Create();
  if (kind == "jieba" || kind == "jieba-plain" || kind == "hybrid") {
    JiebaOptions opts;
    opts.search_mode = kind != "jieba-plain";
    opts.char_bigrams = opts.char_unigrams = kind == "hybrid";
    KEFU_ASSIGN_OR_RETURN(auto seg, JiebaSegmenter::Load(config.jieba_dict, opts));
    return std::unique_ptr<Segmenter>(std::move(seg));
  }
  return InvalidArgument("knowledge.segmenter: unknown segmenter '" + kind + "' (hybrid|jieba|jieba-plain|icu|bigram)");
}

}  // namespace kefu::text
