// Per-turn understanding: language, sentiment, emotion, tenant intent and
// urgency signals for one customer message, plus an emotion trajectory over a
// conversation. This is the API the dialogue pipeline uses.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "nlu/classifier.h"

namespace kefu::nlu {

struct TurnAnalysis {
  std::string language;          // "zh" | "en"
  std::string sentiment;         // positive | neutral | negative
  double sentiment_score = 0;    // confidence of that label, 0..1
  std::string emotion;           // anger|disgust|sadness|fear|surprise|happiness|like|neutral
  double emotion_intensity = 0;  // 0..1 (0 for neutral)
  std::string intent;            // tenant intent, "oos", or "" when no intent model is loaded
  double intent_score = 0;
  std::vector<std::string> urgency;  // "keyword:投诉", "repeated_punctuation", "all_caps", "threat"

  // Signed negativity in -1..1 (negative sentiment and its emotion intensity
  // push it up); the quantity EmotionTrajectory tracks.
  double Negativity() const;
  nlohmann::json ToJson() const;
};

// Directory holding the shipped models: $KEFU_MODEL_DIR, else <source>/models.
std::string DefaultModelDir();

struct AnalyzerSettings {
  std::string sentiment_model;  // empty = <DefaultModelDir()>/sentiment.kmodel
  std::string emotion_model;    // empty = <DefaultModelDir()>/emotion.kmodel
  std::string intent_model;     // empty = <DefaultModelDir()>/intent_demo.kmodel; "-" = no intent model
  // Binary sentiment model (labels positive/negative only): top probability
  // below this is reported "neutral".
  double neutral_below = 0.75;
  // Three-class sentiment model (has a "neutral" label): a positive/negative
  // argmax with probability below this is reported "neutral".
  double polar_min_score = 0.55;  // chosen on the inner dev split (docs/nlu.md "Chat messages and emoji")
  // Emotion with top probability below this (or with neutral sentiment and
  // probability below emotion_neutral_below_when_neutral) is reported "neutral".
  double emotion_neutral_below = 0.40;
  double emotion_neutral_below_when_neutral = 0.60;
  // Tenants with models of their own: tenant id -> model file. Their turns
  // are read by their model; every other tenant's by intent_model /
  // sentiment_model (a tenant's sentiment model: e.g. one adapted to its
  // customers' messages, docs/nlu.md).
  std::map<std::string, std::string> tenant_intent_models;
  std::map<std::string, std::string> tenant_sentiment_models;
};

// Loads its models once in Create(); immutable afterwards, so Analyze() may be
// called from any number of threads concurrently.
class Analyzer {
 public:
  static Result<std::unique_ptr<Analyzer>> Create(const AnalyzerSettings& settings);

  // `tenant_id` picks the tenant's own intent and sentiment models when it has them.
  TurnAnalysis Analyze(std::string_view text, std::string_view tenant_id = {}) const;

  // The models a tenant's turns get (intent: null = none).
  const Classifier* intent_model(std::string_view tenant_id = {}) const;
  const Classifier* sentiment_model(std::string_view tenant_id = {}) const;

 private:
  Analyzer() = default;
  struct SentimentModel {
    std::unique_ptr<Classifier> model;
    bool has_neutral_class = false;  // trained with a "neutral" label (decided once, at load)
  };
  static Result<SentimentModel> LoadSentiment(const std::string& path);
  const SentimentModel& SentimentFor(std::string_view tenant_id) const;

  AnalyzerSettings settings_;
  SentimentModel sentiment_;
  std::unique_ptr<Classifier> emotion_;
  std::unique_ptr<Classifier> intent_;  // may be null
  std::map<std::string, std::unique_ptr<Classifier>, std::less<>> tenant_intents_;
  std::map<std::string, SentimentModel, std::less<>> tenant_sentiments_;
};

// Whole-message interjections and polite formulas whose customer-service
// meaning the training corpora get wrong (kefu-written, not learned; spaces
// and punctuation aside):
// * "呵呵" on its own (any number of 呵 from two) is a dismissive, annoyed
//   reply in Chinese chat, while the reviews and the automatically labelled
//   chat messages mostly count 呵呵 as laughter (positive) -> "negative";
// * thanks for the trouble: 辛苦了, 麻烦了, 麻烦您了, 有劳了 and the like,
//   optionally after an acknowledgement (好的, 嗯, 行, ok) and/or before 谢谢:
//   the automatically labelled chat messages count 辛苦 and 麻烦 as negative
//   words (88 of 89 and 111 of 111 of their rows) -> "positive".
// Returns the sentiment Analyze reports for such a message, or "" for any other text.
std::string_view InterjectionSentiment(std::string_view text);

// Urgency signals in `text` (also used by Analyze).
std::vector<std::string> DetectUrgency(std::string_view text);

// The trend of a conversation's last turns, for routing: keep one per
// conversation, Add() each analysed customer turn. Not thread-safe; owned by
// whoever owns the conversation state.
class EmotionTrajectory {
 public:
  explicit EmotionTrajectory(size_t window = 5) : window_(window) {}
  void Add(const TurnAnalysis& turn);

  size_t turns() const { return values_.size(); }
  double last() const { return values_.empty() ? 0 : values_.back(); }
  double mean() const;
  // Least-squares slope of Negativity() per turn over the window (> 0: getting worse).
  double slope() const;
  // True when the customer is clearly getting angrier: slope > 0.15 with the
  // last turn negative, or the last two turns strongly negative.
  bool Escalating() const;
  nlohmann::json ToJson() const;

 private:
  size_t window_;
  std::deque<double> values_;
};

}  // namespace kefu::nlu
