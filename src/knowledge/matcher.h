// QuestionMatcher: P(same meaning | q1, q2) for two short customer questions, a
// logistic-regression pair classifier trained here on paraphrase pairs (afqmc;
// issue 15). Meant to re-rank / confirm knowledge-base candidates: prepare each
// KB question once (Prepare), then score a prepared query against many of them.
//
// Text preparation: text::FoldChinese, ASCII lower-case, then the words of the
// Segmenter given at construction (jieba exact mode, "jieba-plain", is what the
// shipped model was trained with) and the characters of those words.
//
// Features of a pair (see DenseFeatures for the order of the dense ones):
//  * dense: bias, character-unigram Dice, character-bigram Dice, word Dice,
//    IDF-weighted word coverage in both directions (the smaller and the larger
//    of q1→q2 and q2→q1, so the score is symmetric), length ratio, negation
//    mismatch (不/没/无/非/未 in one only), digit-string mismatch;
//  * sparse, hashed into 2^hash_bits float weights: the unordered pair of a
//    word only in q1 and a word only in q2 (at most 64 pairs, highest IDF
//    first) — what learns 邮费≈运费 —, each word the two share, and each word
//    only one of them has (added after measuring on a dev split: afqmc AUC
//    0.801 → 0.821).
// Score(a, b) == Score(b, a) exactly.
//
// Ownership: the matcher references (does not own) the Segmenter; it must
// outlive the matcher. Threads: a matcher is immutable once built (Train /
// Load / Parse); Prepare and Score are const and thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "text/segmenter.h"

namespace kefu::knowledge {

struct MatcherPair {
  std::string q1, q2;
  bool same = false;  // label: the two ask the same thing
};

struct MatcherTrainOptions {
  int epochs = 5;
  double learning_rate = 0.2;  // linearly decayed to learning_rate / 10 over the run
  double l2 = 1e-5;            // applied to the weights an example touches (lazy L2)
  int hash_bits = 18;          // sparse weights: 2^hash_bits floats
  bool sparse = true;          // false: dense features only (the baseline)
  uint64_t seed = 20261206;    // shuffle seed
  // Share of the training pairs (a deterministic hash slice) kept out of SGD to
  // fit Platt scaling (p = sigmoid(a * z + b)) of the raw score z. 0 = none;
  // with fewer than 200 such pairs no scaling is fitted either.
  double calibration_share = 0.1;

  nlohmann::json ToJson() const;
};

class QuestionMatcher {
 public:
  static constexpr int kDense = 9;
  static constexpr int kMaxPairs = 64;

  // A question analysed once (word hashes with their IDF, characters, ...).
  // Produced by Prepare of the matcher that scores it; plain data, copyable.
  struct Prepared {
    std::vector<uint64_t> words;    // sorted unique word hashes
    std::vector<float> idf;         // idf[i] of words[i]
    std::vector<uint32_t> chars;    // sorted unique code points of the words
    std::vector<uint64_t> bigrams;  // sorted unique adjacent code-point pairs
    std::vector<uint64_t> digits;   // sorted unique hashes of digit strings
    uint32_t length = 0;            // code points of the words
    bool negated = false;           // contains 不/没/无/非/未
  };

  // Trains on `pairs` (IDF estimated on their questions). InvalidArgument for
  // an empty set or bad options.
  static Result<std::unique_ptr<QuestionMatcher>> Train(const text::Segmenter& seg,
                                                        const std::vector<MatcherPair>& pairs,
                                                        const MatcherTrainOptions& options);
  // Reads a model written by Save / Serialize; refuses a wrong magic, an
  // unknown version, a truncated or corrupt file (checksum).
  static Result<std::unique_ptr<QuestionMatcher>> Load(const std::string& path, const text::Segmenter& seg);
  static Result<std::unique_ptr<QuestionMatcher>> Parse(std::string_view bytes, const text::Segmenter& seg);
  Status Save(const std::string& path) const;
  std::string Serialize() const;

  Prepared Prepare(std::string_view text) const;
  // Probability in (0, 1) that the two questions mean the same.
  double Score(const Prepared& a, const Prepared& b) const;
  double Score(std::string_view q1, std::string_view q2) const { return Score(Prepare(q1), Prepare(q2)); }

  // The dense feature vector (index 0 is the bias, 1.0), exposed for tests.
  std::array<float, kDense> DenseFeatures(const Prepared& a, const Prepared& b) const;
  static const char* DenseFeatureName(int i);

  int hash_bits() const { return hash_bits_; }
  // Segmenter the model was trained with (Name()), informational.
  const std::string& segmenter_name() const { return segmenter_name_; }
  size_t vocabulary_size() const { return idf_keys_.size(); }
  // Platt scaling fitted on the calibration slice (1, 0 when none).
  std::pair<float, float> calibration() const { return {platt_a_, platt_b_}; }

 private:
  QuestionMatcher(const text::Segmenter& seg, int hash_bits);
  float Idf(uint64_t word) const;
  // Calls fn(bucket, value) for the sparse features of (a, b) in canonical order.
  template <typename Fn>
  void ForEachSparse(const Prepared& a, const Prepared& b, Fn&& fn) const;

  const text::Segmenter& seg_;
  std::string segmenter_name_;
  int hash_bits_;
  std::array<float, kDense> dense_{};
  std::vector<float> sparse_;       // 2^hash_bits_
  std::vector<uint64_t> idf_keys_;  // sorted word hashes
  std::vector<float> idf_values_;
  float unknown_idf_ = 1;            // idf of a word no training question contains
  float platt_a_ = 1, platt_b_ = 0;  // p = sigmoid(platt_a_ * z + platt_b_)
};

// --- evaluation (kefu kb train-matcher) ---

struct MatcherMetrics {
  int pairs = 0;
  double positive_rate = 0;
  double accuracy = 0;  // threshold 0.5
  double auc = 0;
  double log_loss = 0;
  struct Bin {
    int count = 0;
    double mean_predicted = 0, observed = 0;
  };
  std::array<Bin, 10> calibration{};  // bins of width 0.1 of the predicted probability

  nlohmann::json ToJson() const;
};

// Metrics of probabilities `p` against labels.
MatcherMetrics ComputeMetrics(const std::vector<double>& p, const std::vector<bool>& labels);

// afqmc file: tsv `id q0 q1 label` with a header line. Appends to `out`.
Status ReadAfqmc(const std::string& path, std::vector<MatcherPair>& out);
// lcqmc file: tsv `q1 q2 label`, no header. Appends to `out`.
Status ReadLcqmc(const std::string& path, std::vector<MatcherPair>& out);
// Deterministic 10 % held-out split of afqmc (hash of the two questions).
bool IsHeldOut(const MatcherPair& p);

struct MatcherRunOptions {
  std::string data_dir;    // holds matching/afqmc/ and matching/lcqmc/
  std::string out_path;    // model file to write ("" = none)
  std::string json_path;   // results to write ("" = none)
  std::string jieba_dict;  // for the jieba-plain segmenter
  MatcherTrainOptions train;
  int max_train = 0;  // > 0: train on only the first this-many training pairs (tests)
  // Tuning mode: a second deterministic 10 % of afqmc (never the held-out
  // test part) replaces the held-out set, and is left out of training.
  bool dev = false;
};

// Trains the matcher and the dense-only baseline on afqmc (less its held-out
// 10 %), evaluates both on the held-out part and on lcqmc dev (test only),
// writes the model and the JSON. NotFound, naming the path, when data is absent.
Result<nlohmann::json> RunMatcherTraining(const MatcherRunOptions& options);

}  // namespace kefu::knowledge
