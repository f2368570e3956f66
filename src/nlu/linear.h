// A multinomial logistic-regression text classifier over sparse hashed
// features, trained in C++ with AdaGrad. This is the "linear" model kind behind
// Classifier (the .kmodel header says kind "linear"; the payload is
// LinearModel::Serialize()).
//
// Features of a text (all from Featurize() tokens, deduplicated, hashed into
// 2^bits buckets): token n-grams of length 1..word_ngrams (for Chinese, each
// character is a token, so these are character 1..n-grams), character n-grams
// minn..maxn of each Latin word wrapped in '<' '>', and optionally the words of
// the jieba-style segmenter in src/text, and optionally (a model trained with
// WordClusters) the clusters of those words and cluster bigrams. Only buckets seen in at least
// min_count training texts are kept. Each kept bucket has a scale (IDF, NB
// log-count ratio or 1); a text's vector is the scales of its buckets,
// L2-normalised.
//
// Immutable after Train/Parse; Probabilities() is const and thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "nlu/word_clusters.h"

namespace kefu::nlu {

struct LinearOptions {
  int word_ngrams = 3;
  int minn = 0;  // character n-grams inside Latin words (0 = none)
  int maxn = 0;
  bool words = false;   // add segmenter words (and word bigrams) as features
  int bits = 22;        // hash buckets = 2^bits
  int min_count = 2;    // buckets seen in fewer training texts are dropped
  std::string weighting = "idf";  // idf | nb | binary
  int epoch = 10;
  double lr = 0.5;      // AdaGrad step
  double l2 = 1e-6;     // per-update L2 on the touched weights
  bool balanced = false;  // weight classes by inverse frequency (for macro-F1)
  // Rows whose largest |weight| is below this keep their bucket and scale (the
  // feature still counts in a text's norm) but lose their weights, which
  // version 2 files then do not store (0 = keep every weight).
  double prune = 0;
  // Word-cluster features (the model then carries a WordClusters table, k =
  // this many clusters; 0 = none): each segmenter word's cluster and the
  // clusters of adjacent words.
  int clusters = 0;
  // Emoji polarity features (EmojiTokenPolarity, the emoji-emotion lexicon):
  // every rated emoji also adds one shared "negative emoji" (polarity <= -1),
  // "neutral emoji" (0) or "positive emoji" (>= 1) feature, so that an emoji
  // the training data has rarely seen still reads like the others of its
  // polarity. Absent in files written before (= false).
  bool emoji = false;
  // Storage (docs/nlu.md, "Model files"). 0 = format version 2 (3 with word
  // clusters): 8-bit codebook scales and weights, varint bucket gaps.
  // 1..8 = the compact format version 4: each row's weights stored as their
  // differences to one reference class (the softmax does not change when a
  // constant is added to every class of a row, so C - 1 numbers per row carry
  // everything), multiplied by the row's scale, as `weight_bits`-bit indices
  // into a 2^weight_bits-entry codebook; scales as `scale_bits`-bit indices
  // (they then only enter the text's norm); bucket gaps Rice-coded. Absent in
  // older files (= 0).
  int weight_bits = 0;
  int scale_bits = 8;
  // Version 4 only: what `prune` is compared with. false = the row's largest
  // |weight|; true = its largest |scale x (weight - mean weight of the row)|,
  // the most the feature can move one class's score against the others (a
  // row with equal weights for every class, or with a scale near 0, does
  // nothing however large its weights). Absent in older files (= false).
  bool prune_scaled = false;
  // Training only (not stored): false keeps the trained float weights instead
  // of rounding them to the stored codebooks at once. For a model used in
  // memory and rebuilt at every start (the knowledge base's entry classifier):
  // rounding sorts every weight, a third of its training time. Serialize()
  // rounds a copy then, so a saved file is the same as with true.
  bool quantize = true;

  nlohmann::json ToJson() const;
  static Result<LinearOptions> FromJson(const nlohmann::json& j);
};

class LinearModel {
 public:
  LinearModel() = default;

  // labels[i] in 0..n_classes-1 is the class of texts[i]; weights[i] (empty =
  // all 1) scales what texts[i] counts in the feature statistics and its
  // gradient. With `base` (a model with the same classes), every feature
  // `base` has keeps base's scale and weights, the biases stay base's, and
  // training moves only the features base lacks. `clusters` (required when
  // options.clusters > 0, and then with that many clusters; a base model's
  // are used when absent) become part of the model. Deterministic (fixed shuffle seed).
  static Result<LinearModel> Train(const std::vector<std::string>& texts, const std::vector<int>& labels,
                                   int n_classes, const LinearOptions& options,
                                   const std::vector<float>& weights = {}, const LinearModel* base = nullptr,
                                   std::shared_ptr<const WordClusters> clusters = nullptr);
  // Parses Serialize()'s bytes (format version 4 = compact, 2, 3 = 2 with word
  // clusters, or version 1 written before 8-bit weights); refuses anything
  // malformed or inconsistent.
  static Result<LinearModel> Parse(std::string_view bytes);
  // Version 4 for a model trained with options().weight_bits > 0, else version
  // 2 (3 with word clusters); a model parsed from version 1 bytes is written
  // back as version 1.
  std::string Serialize() const;
  uint32_t format_version() const { return version_; }

  // Class probabilities (n_classes() values); empty when the text has no known
  // feature other than punctuation marks alone (a "，" or "!!" the model knows
  // does not make an English sentence readable to a Chinese model).
  std::vector<float> Probabilities(std::string_view text) const;
  // The same, and the text's feature vector as the model sees it: (row,
  // value) pairs sorted by row, L2-normalised (empty with empty
  // probabilities). Cosine similarity of two texts = dot product of these.
  using SparseVector = std::vector<std::pair<uint32_t, float>>;
  std::vector<float> Probabilities(std::string_view text, SparseVector* vector) const;

  int n_classes() const { return n_classes_; }
  size_t rows() const { return buckets_.size(); }
  const LinearOptions& options() const { return options_; }
  const WordClusters* clusters() const { return clusters_.get(); }

 private:
  // Row index of a bucket, or -1.
  int64_t Row(uint32_t bucket) const;
  void BuildIndex();
  // Replaces scales and weights by their nearest entries in two 256-entry
  // codebooks (what version 2 stores), or what version 4 stores.
  void Quantize();
  void QuantizeCompact();
  std::string SerializeCompact() const;
  static Result<LinearModel> ParseCompact(LinearModel m, uint64_t nrows, std::string_view in, uint64_t payload_bytes);

  LinearOptions options_;
  int n_classes_ = 0;
  std::vector<uint32_t> buckets_;  // sorted, one per row
  std::vector<float> scale_;       // per row
  std::vector<float> weights_;     // rows x n_classes
  std::vector<float> bias_;        // n_classes
  std::vector<float> scale_book_, weight_book_;  // version 2: 256 entries each, ascending
  std::vector<uint8_t> has_weights_;  // version 2: per row, 0 = pruned (weights all zero, not stored)
  uint32_t ref_class_ = 0;            // version 4: the class whose weights are stored as 0
  uint32_t version_ = 2;
  bool quantized_ = true;  // false: trained with options.quantize = false (Serialize rounds a copy)
  std::vector<uint32_t> table_keys_, table_rows_;  // open addressing bucket -> row
  std::shared_ptr<const WordClusters> clusters_;   // when options_.clusters > 0
};

// Token n-grams of a text made only of punctuation marks (IsPunctuationToken):
// how many there are (with repeats: an upper bound on their distinct
// buckets) and, when `collect` is set, their buckets, sorted and deduplicated.
struct PunctuationNgrams {
  bool collect = false;
  size_t count = 0;
  std::vector<uint32_t> buckets;
};

// Hashed feature buckets of `text` under `options` (exposed for tests);
// `clusters` gives the cluster features when options.clusters > 0;
// `punctuation` (optional) is filled as its comment says.
std::vector<uint32_t> LinearFeatureBuckets(std::string_view text, const LinearOptions& options,
                                           const WordClusters* clusters = nullptr,
                                           PunctuationNgrams* punctuation = nullptr);

}  // namespace kefu::nlu
