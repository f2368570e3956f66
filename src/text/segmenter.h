// text: turning raw customer text into normalised search tokens.
//
// A Segmenter folds width and case (ICU NFKC_Casefold, so full-width "ＡＢＣ１２" becomes
// "abc12"), drops punctuation and whitespace, keeps Latin/digit runs as whole words and
// splits Chinese (Han) runs into words. Implementations are immutable after construction
// (JiebaSegmenter::AddWord is the one documented exception), so one instance may be shared
// by every thread; Tokenize is thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "common/status.h"

namespace kefu::text {

class Segmenter {
 public:
  virtual ~Segmenter() = default;
  // Normalised search tokens in text order (duplicates kept).
  virtual std::vector<std::string> Tokenize(std::string_view text) const = 0;
  // The kind it was created as: "hybrid", "jieba", "jieba-plain", "icu" or "bigram".
  virtual std::string_view Name() const = 0;
  // True when `word` (normalised) is a word of the segmenter's general
  // dictionary (jieba's dict.txt); false when it has none. The spelling
  // corrector leaves such words alone.
  virtual bool IsWord(std::string_view word) const { return false; }
  // True when the general dictionary tags `word` as a function word: a
  // pronoun, numeral, adverb, conjunction, preposition, particle, place or
  // direction word, or a set phrase (jieba's tags r, m, d, c, p, u, y, e, o,
  // f, q, s, l and their kin): 那个, 三条, 突然, 可是, 是不是.
  // Such a word says nothing about what a question is about.
  virtual bool IsFunctionWord(std::string_view word) const { return false; }
  // The Han words of `text` as the dictionary cuts it (jieba's exact mode,
  // normalised): 开机 and 设置 in 开机设置, never the pair across them (机设),
  // which a hybrid Tokenize emits too. Empty without a dictionary.
  virtual std::vector<std::string> Words(std::string_view text) const { return {}; }
};

// config.segmenter: "hybrid" (jieba search mode plus every Han character unigram and
// bigram; the best measured, docs/knowledge.md), "jieba" (search mode: long words also emit
// their dictionary sub-words), "jieba-plain" (jieba's exact mode), "icu" (ICU dictionary
// word break), "bigram" (Han character unigrams + bigrams). The jieba kinds (hybrid
// included) load config.jieba_dict.
Result<std::unique_ptr<Segmenter>> CreateSegmenter(const KnowledgeConfig& config);

// --- building blocks shared by the implementations (also used by tests) ---

// NFKC_Casefold of `text`; invalid UTF-8 is replaced by U+FFFD first.
std::string Normalize(std::string_view text);

enum class RunKind { kHan, kWord };
// Splits already-normalised text into maximal runs of Han characters and of other letters /
// digits (a '.' between two digits stays inside a word run: "3.5"); everything else
// (punctuation, symbols, whitespace) separates runs and is dropped. `fn(kind, run)` is
// called for each run in order.
template <typename Fn>
void ForEachRun(std::string_view normalized, Fn&& fn);

// Classification used by ForEachRun.
bool IsHan(char32_t cp);
bool IsWordChar(char32_t cp);

}  // namespace kefu::text

#include "text/segmenter_inl.h"
