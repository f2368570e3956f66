// TenantIndex: one tenant's immutable BM25 index (internal to the knowledge module).
// Built whole by a writer, then shared read-only by any number of searching threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "knowledge/knowledge_base.h"
#include "text/segmenter.h"
#include "knowledge/matcher.h"
#include "nlu/linear.h"
#include "text/spelling.h"

namespace kefu::knowledge {

// An entry with its analysed form (weighted term frequencies), reused across rebuilds.
struct AnalyzedEntry {
  KbEntry entry;
  std::vector<std::pair<std::string, float>> tf;  // term -> field-weighted frequency
  float length = 0;                               // field-weighted token count
};

std::shared_ptr<const AnalyzedEntry> Analyze(KbEntry entry, const text::Segmenter& seg, const RankingOptions& opts);

class TenantIndex {
 public:
  // `entries` in any order (ids unique); `synonyms`: groups of equivalent terms.
  TenantIndex(std::vector<std::shared_ptr<const AnalyzedEntry>> entries, std::vector<std::vector<std::string>> synonyms,
              const text::Segmenter& seg, const RankingOptions& opts, const QuestionMatcher* matcher = nullptr);

  // Searches `query` as Understandable() reads it.
  // `lang`: "*" = every entry; otherwise only entries of that language ("" = the main one).
  // `context`: words that help rank but do not count in the confidence (KnowledgeBase::SearchFollowUp).
  std::vector<Passage> Search(std::string_view query, int top_k, double min_score, std::string_view lang = "*",
                              std::string_view context = {}) const;
  // Passage::match for the first `top` passages: the matcher's probability that
  // `query` means the same as the entry's closest title or question. Only the
  // answer decision needs it, so searches do not compute it.
  void ScoreMatches(std::string_view query, std::vector<Passage>& passages, size_t top) const;
  // `query` with traditional characters folded and homophone typos corrected
  // against this tenant's vocabulary (text/spelling.h); `fixes` may be null.
  std::string Understandable(std::string_view query, std::vector<text::SpellingCorrector::Fix>* fixes = nullptr) const;

  // The entry classifier's probability per document (in entries() order) for
  // `understood` (Understandable()'s text): a logistic regression over
  // character n-grams trained on every entry's title and similar questions
  // when the index is built ("Entry classifier", docs/knowledge.md). Empty
  // when there is none (fewer than two entries) or the text has no known feature.
  std::vector<float> Classify(std::string_view understood) const;
  size_t size() const { return docs_.size(); }
  const AnalyzedEntry* Find(const std::string& id) const;
  const std::vector<std::shared_ptr<const AnalyzedEntry>>& entries() const { return docs_; }
  const std::vector<std::vector<std::string>>& synonyms() const { return synonyms_; }

 private:
  struct Posting {
    uint32_t doc;
    float tf;
  };
  struct Term {
    float idf = 0;
    std::vector<Posting> postings;
  };
  struct SynonymMember {
    std::string normalized;  // text::Normalize(term), matched as a substring of the query
    std::vector<std::string> tokens;
  };

  const text::Segmenter& seg_;
  std::unique_ptr<text::SpellingCorrector> speller_;  // built from this tenant's words
  std::vector<Passage> SearchUncached(std::string_view query, int top_k, double min_score, std::string_view lang,
                                     std::string_view context) const;
  const QuestionMatcher* matcher_ = nullptr;
  uint64_t generation_ = 0;  // unique per index (keys the Understandable memo)
  std::vector<std::vector<QuestionMatcher::Prepared>> prepared_;  // per doc: title and questions
  // Per doc: its title and each question as the set of their terms (sorted
  // pointers into terms_, which never move) with the sum of their idf.
  struct QuestionTerms {
    std::vector<const void*> terms;
    double mass = 0;
  };
  std::vector<std::vector<QuestionTerms>> question_terms_;
  // `query_terms`: the query's known terms, sorted; `query_mass`: the idf of all its terms.
  double QuestionSimilarity(uint32_t doc, const std::vector<const void*>& query_terms, double query_mass) const;
  RankingOptions opts_;
  // One classifier per entry language (entries of other languages are not its
  // classes): its docs (doc numbers, ascending) and its model.
  struct LanguageClassifier {
    std::string lang;
    std::vector<uint32_t> docs;
    std::shared_ptr<const nlu::LinearModel> model;  // immutable; shared by indexes of the same questions
  };
  std::vector<LanguageClassifier> classifiers_;
  void TrainClassifier();
  std::vector<std::shared_ptr<const AnalyzedEntry>> docs_;
  std::vector<float> norm_;  // k1 * (1 - b + b * len / avgdl) per doc
  std::unordered_map<std::string, uint32_t> by_id_;
  std::unordered_map<std::string, Term> terms_;
  float avgdl_ = 1;
  float unknown_idf_ = 1;  // idf of a term no document contains
  std::vector<std::vector<std::string>> synonyms_;
  std::vector<std::vector<SynonymMember>> syn_groups_;  // tokenised members
};

}  // namespace kefu::knowledge
