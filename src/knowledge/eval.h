// Retrieval evaluation on the insurance community FAQ (baoxianzhidao.train.csv:
// title,question,reply,is_best). Every accepted answer (is_best = 1) is indexed as one
// body-only passage; each question title is a query whose hit is one of its own accepted
// answers. Titles are split deterministically by FNV-1a hash: even = "dev" (used for
// tuning), odd = "test" (reported). Thread-compatible; runs single-threaded.
#pragma once

#include <string>

#include "common/status.h"
#include "knowledge/knowledge_base.h"
#include "knowledge/matcher.h"
#include "text/segmenter.h"

namespace kefu::knowledge {

struct FaqEvalOptions {
  std::string csv_path;
  std::string split = "test";  // queried titles: "dev" | "test" | "all"
  // > 0: index only the accepted answers of the first titles in hash order until this many
  // entries, and query all of those titles (a small KB, for tests and latency).
  int max_entries = 0;
  bool use_question_text = false;  // query with "title question" instead of the title
  bool index_all_replies = false;  // also index the non-accepted replies (harder; ~6.7k entries)
  RankingOptions ranking;
};

struct FaqEvalResult {
  int entries = 0, queries = 0;
  double hit1 = 0, hit5 = 0, mrr = 0;  // MRR over the top 10
  double build_ms = 0;                 // analysing + indexing all entries
  double search_us_mean = 0, search_us_p50 = 0, search_us_p99 = 0;
  double conf_hit_mean = 0;   // mean confidence of the top passage when it is right
  double conf_miss_mean = 0;  // ... and when it is wrong
  // At DialogueConfig's default answer_threshold: share of queries whose top passage
  // reaches it, and the hit@1 among those.
  double answer_rate = 0, answer_precision = 0;
};

Result<FaqEvalResult> EvaluateFaq(const text::Segmenter& seg, const FaqEvalOptions& options);

// Held-out paraphrases on a Markdown KB (e.g. demo/shop/kb.md): for every alternate question
// of every entry, index the KB without that one question and query with it; a hit is the
// entry it belongs to. Same result fields (entries = KB size, queries = questions held out).
// Each query rebuilds the index, so the cost grows with the square of the KB's size:
// `max_queries` > 0 holds out only that many questions, spread evenly over the file (the
// same ones each run).
Result<FaqEvalResult> EvaluateHeldOutQuestions(const text::Segmenter& seg, const std::string& markdown_path,
                                               const RankingOptions& ranking, size_t max_queries = 0);

// Data for learning when to answer (issue 15, "decisions on calibrated
// confidence"): one row per query with what a search shows (the best and second
// confidences, the matcher's probability for the best) and whether the best
// passage is right. Positives: every question variant of the Markdown KBs,
// held out by 5-fold cross-validation (fold = hash of the question); the row is
// right when its own entry comes first. Negatives: `out_of_scope` questions
// (nothing in the KB answers them), against the whole KB; never right.
struct DecisionRow {
  double c1 = 0, c2 = 0, m1 = -1;  // confidences of the best two passages; matcher P for the best (-1: none)
  bool english = false, positive = false, right = false;
  int chars = 0;                   // query length in code points
  std::string query, expected, got;
  // The first five passages before any matcher blending: id, confidence,
  // matcher P (-1: none), entry classifier P (-1: none).
  struct Candidate {
    std::string id;
    double confidence = 0, match = -1, classified = -1;
    bool key_word_covered = true, key_word_unknown = false;
  };
  std::vector<Candidate> candidates;
};
Result<std::vector<DecisionRow>> DecisionRows(const text::Segmenter& seg, const QuestionMatcher* matcher,
                                              const std::vector<std::string>& markdown_paths,
                                              const std::vector<std::string>& out_of_scope,
                                              const RankingOptions& ranking);

}  // namespace kefu::knowledge
