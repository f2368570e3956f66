// JiebaSegmenter: a C++ re-implementation of jieba's dictionary segmentation
// (https://github.com/fxsjy/jieba): prefix dictionary, DAG of dictionary words over each
// Han run, and the maximum-probability route (log word frequency / total). It reads jieba's
// own dict.txt ("word freq [tag]" per line; Debian python3-jieba ships it).
//
// Unknown words: jieba's HMM is not used. Runs of two or more consecutive single characters
// that are not one dictionary word are emitted as the characters plus the bigrams of
// adjacent rare characters (measured better than plain characters on the insurance FAQ, see docs/knowledge.md).
// Search mode (jieba's cut_for_search) additionally emits the dictionary 2- and 3-character
// sub-words of longer words before the word itself.
//
// Thread-safety: Tokenize is const and thread-safe. AddWord mutates the dictionary and must
// only be called before the segmenter is shared with other threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "text/segmenter.h"

namespace kefu::text {

struct JiebaOptions {
  bool search_mode = true;       // emit dictionary sub-words of long words
  bool unknown_bigrams = true;   // unknown single-char runs -> chars + bigrams (else chars only)
  // A bigram of two adjacent single characters is emitted only when both are rare
  // (frequency / total below this), so function characters (的, 了, 我) stay alone.
  double bigram_max_char_prob = 3e-4;
  // Also emit every character bigram / every character of each Han run (both on: the
  // "hybrid" kind). Word tokens give precision, n-grams recall on unseen words.
  bool char_bigrams = false;
  bool char_unigrams = false;
};

class JiebaSegmenter final : public Segmenter {
 public:
  static Result<std::unique_ptr<JiebaSegmenter>> Load(const std::string& dict_path, const JiebaOptions& options = {});
  // Builds from in-memory dict.txt text (tests).
  static Result<std::unique_ptr<JiebaSegmenter>> FromText(std::string_view dict_text, const JiebaOptions& options = {});
  ~JiebaSegmenter() override;

  std::vector<std::string> Tokenize(std::string_view text) const override;
  bool IsWord(std::string_view word) const override { return Find(word) > 0; }
  bool IsFunctionWord(std::string_view word) const override;
  std::vector<std::string> Words(std::string_view text) const override;
  std::string_view Name() const override {
    if (options_.char_bigrams) return "hybrid";
    return options_.search_mode ? "jieba" : "jieba-plain";
  }

  // Adds a user word (normalised like queries). freq <= 0 picks a frequency just high enough
  // for the word to be cut as one piece (jieba's suggest_freq). Not thread-safe.
  void AddWord(std::string_view word, int64_t freq = 0);

  // Han-run segmentation without search-mode expansion (exposed for tests).
  std::vector<std::string> CutHan(std::string_view han_run) const;
  size_t DictionarySize() const { return words_; }

 private:
  explicit JiebaSegmenter(const JiebaOptions& options) : options_(options) {}
  JiebaSegmenter(const JiebaSegmenter&) = default;  // Load's copies of a parsed dictionary
  Status Parse(std::string_view text);
  // Frequency of `w`: -1 = not even a prefix, 0 = only a prefix of some word, > 0 = a word.
  int64_t Find(std::string_view w) const;
  void Insert(std::string_view w, int64_t freq);  // freq 0 = prefix only (never lowers)
  void Grow();
  void CutHanInto(std::string_view run, std::vector<std::string>& out, bool search) const;

  struct Slot {
    uint32_t off = UINT32_MAX;  // into arena_; UINT32_MAX = empty
    uint32_t len = 0;
    int64_t freq = 0;
  };
  JiebaOptions options_;
  std::vector<uint64_t> function_words_;  // sorted hashes of the words with a function tag
  std::string arena_;             // concatenated words; prefixes point into their words
  std::vector<Slot> slots_;       // open addressing, power-of-two size
  size_t used_ = 0, words_ = 0;
  double total_ = 0, log_total_ = 0;
};

}  // namespace kefu::text
