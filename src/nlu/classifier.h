// A text classifier for one task, wrapped in a self-describing file so that a
// corrupt model or one trained for another task is refused before its payload
// is ever parsed. Two model kinds: "linear" (LinearModel, nlu/linear.h:
// logistic regression on hashed n-grams) and "fasttext" (a fastText supervised
// model over Featurize() tokens).
//
// File format (".kmodel"):
//   line 1: "KEFU-NLU-MODEL/1"
//   line 2: one-line JSON: task, kind (absent = "fasttext"), labels,
//           oos_threshold, oos_score (absent = "top"), payload_bytes, payload_fnv1a64 (hex), train
//           options, example counts
//   rest:   the model bytes: LinearModel::Serialize() or fastText's (usually
//           quantized, ".ftz" format); with oos_score "log_odds_knn" the
//           last `neighbour_bytes` of them are ExampleNeighbours::Serialize()
//
// A Classifier is immutable after Train/Load; Predict/Classify are const and
// safe to call from many threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "nlu/labeled_csv.h"

namespace fasttext {
class FastText;
}

namespace kefu::nlu {
class LinearModel;
class ExampleNeighbours;
}

namespace kefu::nlu {

enum class Task { kSentiment, kEmotion, kIntent };
std::string_view TaskName(Task task);
Result<Task> ParseTask(std::string_view name);

// The label an intent model uses for out-of-scope text, in training files and output.
inline constexpr std::string_view kOutOfScope = "oos";

struct Prediction {
  std::string label;
  double score = 0;  // probability of `label`, 0..1
};

struct TrainOptions {
  std::string kind = "linear";  // "linear" | "fasttext"
  // linear only (see LinearOptions): hash bits, feature scaling, L2, segmenter
  // words, class balancing; epoch, lr, word_ngrams, minn, maxn and min_count are shared.
  int bits = 22;
  std::string weighting = "idf";
  double l2 = 1e-6;
  bool words = false;
  bool balanced = false;
  double prune = 0;  // see LinearOptions::prune
  // Self-training (linear kind, when Train gets unlabelled texts): a first
  // model trained on the examples labels each unlabelled text, and the texts
  // it gives a label other than "neutral" or "oos" with probability >=
  // self_train join the examples for the final model, so that words of a new
  // domain that occur beside words the model already knows get weights too
  // (docs/nlu.md, "Self-training"). 0 = off.
  double self_train = 0;
  // What a pseudo-labelled text weighs against a labelled one (0 < w <= 100):
  // in the feature statistics and the gradient. With AdaGrad, features seen only
  // in pseudo-labelled texts still learn at full speed, while features of the
  // labelled data stay dominated by it.
  double self_train_weight = 1;
  // true: the pseudo-labelled texts train only the features the first model
  // lacks (the words of the new domain); every feature of the labelled data
  // keeps the first model's weights, so in-domain predictions barely move.
  bool self_train_new_only = false;
  // Rounds of labelling the unlabelled texts (each with the newest model).
  int self_train_rounds = 1;
  // Word clusters (linear kind; 0 = off): skip-gram vectors learned on the
  // examples' and the unlabelled texts, grouped into this many clusters by
  // k-means; each word's cluster and adjacent clusters become features
  // (WordClusters, docs/nlu.md "Word clusters"). The cluster_* options are the
  // skip-gram vector size, passes and minimum word count.
  int clusters = 0;
  int cluster_dim = 100;
  int cluster_epoch = 5;
  int cluster_min_count = 5;
  // Emoji polarity features (linear kind; see LinearOptions::emoji).
  bool emoji = false;
  // Storage of a linear model (see LinearOptions::weight_bits): 0 = format
  // version 2/3 (8-bit codes); 1..8 = the compact version 4 with codes of this
  // many bits for the weights and scale_bits for the scales.
  int weight_bits = 0;
  int scale_bits = 8;
  bool prune_scaled = false;  // see LinearOptions::prune_scaled
  // linear intent models with "oos" examples: out-of-fold scores from this many
  // folds choose the rejection threshold as the lowest one whose out-of-scope
  // recall reaches oos_recall; the model is then trained on everything.
  int calibration_folds = 3;
  double oos_recall = 0.8;
  // What the rejection threshold applies to (linear intent models with "oos"
  // examples): "top" = the top probability; "top_minus_oos" = the top
  // probability minus the probability of "oos" (the oos class then also
  // pulls borderline texts out of scope); "log_odds_oos" = log p(top) -
  // log p(oos), the difference of the two logits (unbounded: it keeps
  // separating texts where both probabilities are near 0 or 1);
  // "log_odds_knn" = that plus knn_weight times the highest cosine similarity
  // between the text and a training example of its top class (the model then
  // carries its in-scope examples, ExampleNeighbours).
  std::string oos_score = "top";
  double knn_weight = 10;
  int dim = 64;
  int epoch = 25;
  double lr = 0.5;
  int word_ngrams = 2;
  int minn = 0;  // character n-grams inside tokens (useful for English words)
  int maxn = 0;
  int bucket = 1000000;
  int min_count = 1;  // fastText: word count; linear: texts a feature must occur in
  // linear: a training set of fewer than small_set texts uses min_count_small
  // instead of a larger min_count (0 = off): the shipped sentiment model drops features
  // seen in fewer than 4 of its ~100,000 texts to stay under 2 MiB, which
  // would leave a tenant's few hundred phrasings with almost no features.
  int min_count_small = 0;
  int small_set = 10000;
  int threads = 1;       // 1 keeps training deterministic
  bool quantize = true;  // product quantization + vocabulary/bucket pruning
  int cutoff = 200000;   // rows kept when quantizing (0 = all)
  int dsub = 2;
  // Intent with "oos" examples only: share of examples (chosen by a hash of the
  // text) held out to calibrate the out-of-scope threshold; the model is trained on the rest.
  double calibration_share = 0.15;

  nlohmann::json ToJson() const;
};

// Sensible defaults per task, language ("zh" or "en") and model kind ("linear" or "fasttext").
TrainOptions DefaultTrainOptions(Task task, std::string_view language, std::string_view kind = "linear");

// Turns sentiment options into those that adapt a model to one domain's own
// unlabelled texts (a deployment's customer messages; `kefu nlu train
// --adapt`): self-training retrains every weight, and a pseudo-labelled text
// of the domain weighs 4 labelled ones (docs/nlu.md, nlu6 and nlu7).
void AdaptToDomain(TrainOptions& options);

class Classifier {
 public:
  ~Classifier();
  Classifier(const Classifier&) = delete;
  Classifier& operator=(const Classifier&) = delete;

  // Trains on `examples` (labels as given; "oos" is an ordinary class for the
  // model and the rejection class for Classify) and, with options.self_train >
  // 0, on the `unlabelled` texts the first model labels confidently (linear
  // kind only). Writes temporary files (fastText) under the system temp
  // directory and removes them.
  static Result<std::unique_ptr<Classifier>> Train(Task task, const std::vector<LabeledExample>& examples,
                                                   const TrainOptions& options,
                                                   const std::vector<std::string>& unlabelled = {});
  // Refuses files that are not kefu models, are truncated or corrupt, or belong to another task.
  static Result<std::unique_ptr<Classifier>> Load(const std::string& path, Task expected);
  static Result<std::unique_ptr<Classifier>> FromBytes(std::string_view bytes, Task expected,
                                                       std::string_view what);

  Status Save(const std::string& path) const;
  std::string Serialize() const;

  // Top-k labels with probabilities (k <= 0: all), best first. Empty when the
  // text has no tokens.
  std::vector<Prediction> Predict(std::string_view text, int k = 1) const;
  // Top-1; for intent models "oos" when the model says so or its rejection
  // score (oos_score(): the top probability, that minus the probability of
  // "oos", log p(top) - log p(oos), or that plus the weighted similarity to
  // the nearest example of the top class) is below oos_threshold(). Empty
  // text gives {"", 0}.
  Prediction Classify(std::string_view text) const;

  Task task() const { return task_; }
  const std::vector<std::string>& labels() const { return labels_; }
  double oos_threshold() const { return oos_threshold_; }
  const std::string& oos_score() const { return oos_score_; }
  const nlohmann::json& metadata() const { return meta_; }
  size_t size_bytes() const { return payload_.size(); }

 private:
  Classifier() = default;
  static Result<std::unique_ptr<Classifier>> TrainLinear(Task task, const std::vector<LabeledExample>& examples,
                                                         const TrainOptions& options,
                                                         const std::vector<std::string>& unlabelled);

  Task task_ = Task::kSentiment;
  std::vector<std::string> labels_;
  double oos_threshold_ = 0;
  std::string oos_score_ = "top";  // header key "oos_score"; absent = "top"
  nlohmann::json meta_;
  std::string payload_;
  std::unique_ptr<fasttext::FastText> ft_;  // kind "fasttext"
  std::unique_ptr<LinearModel> linear_;     // kind "linear"
  std::unique_ptr<ExampleNeighbours> neighbours_;  // oos_score "log_odds_knn"
  double knn_weight_ = 0;
};

// Picks the lowest score threshold whose (in-scope accuracy + oos recall) over
// calibration examples is within one oos example of the best; 0 when there
// are no "oos" examples.
double CalibrateOosThreshold(const Classifier& model, const std::vector<LabeledExample>& calibration);

// Lowest threshold (step 0.01, at least 0 unless a score is negative; within
// -1000..1000) at which the share of out-of-scope examples that are predicted
// "oos" or score below it reaches `target_recall`. `scored` holds (score,
// predicted oos) of out-of-scope examples only; 0 when empty.
double ThresholdForOosRecall(std::vector<std::pair<double, bool>> scored, double target_recall);

// Stable 64-bit FNV-1a; used for the model checksum and deterministic splits.
uint64_t Fnv1a64(std::string_view data);

}  // namespace kefu::nlu
