#include "nlu/analyzer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <initializer_list>

#include "common/utf8.h"
#include "nlu/text_features.h"

#ifndef KEFU_NLU_SOURCE_DIR
#define KEFU_NLU_SOURCE_DIR "."
#endif

namespace kefu::nlu {
namespace {

// Words that make a customer-service turn urgent whatever the model says.
constexpr std::string_view kUrgentKeywords[] = {
    "投诉", "退款", "12315", "曝光", "律师", "起诉", "消协", "消费者协会", "工商", "媒体", "举报",
    "骗子", "诈骗", "报警", "差评", "赔偿", "维权", "法院", "complaint", "refund", "lawyer", "sue"};
constexpr std::string_view kThreats[] = {"起诉", "告你", "报警", "律师函", "曝光你", "走法律", "法律途径",
                                         "弄死", "砸了", "同归于尽", "sue you", "lawsuit", "kill"};

bool IsNegativeEmotion(std::string_view e) {
  return e == "anger" || e == "disgust" || e == "sadness" || e == "fear";
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

double TurnAnalysis::Negativity() const {
  double v = 0;
  if (sentiment == "negative") v = sentiment_score;
  if (sentiment == "positive") v = -sentiment_score;
  if (IsNegativeEmotion(emotion)) v = std::max(v, emotion_intensity);
  return std::clamp(v, -1.0, 1.0);
}

nlohmann::json TurnAnalysis::ToJson() const {
  return {{"language", language},
          {"sentiment", sentiment},
          {"sentiment_score", sentiment_score},
          {"emotion", emotion},
          {"emotion_intensity", emotion_intensity},
          {"intent", intent},
          {"intent_score", intent_score},
          {"urgency", urgency}};
}

std::string DefaultModelDir() {
  if (const char* env = std::getenv("KEFU_MODEL_DIR"); env && *env) return env;
  return std::string(KEFU_NLU_SOURCE_DIR) + "/models";
}

std::vector<std::string> DetectUrgency(std::string_view raw) {
  std::string text = Lower(utf8::Sanitize(utf8::TruncateBytes(raw, kMaxInputBytes)));
  std::vector<std::string> out;
  for (std::string_view k : kUrgentKeywords) {
    if (k.find_first_not_of("abcdefghijklmnopqrstuvwxyz") == std::string_view::npos) continue;
    if (text.find(k) != std::string::npos) out.push_back("keyword:" + std::string(k));
  }
  // English keywords as whole words only.
  for (std::string_view k : kUrgentKeywords) {
    if (k.find_first_not_of("abcdefghijklmnopqrstuvwxyz") != std::string_view::npos) continue;
    size_t pos = 0;
    while ((pos = text.find(k, pos)) != std::string::npos) {
      bool left = pos == 0 || !std::isalpha(static_cast<unsigned char>(text[pos - 1]));
      bool right = pos + k.size() >= text.size() || !std::isalpha(static_cast<unsigned char>(text[pos + k.size()]));
      if (left && right) {
        std::string tag = "keyword:" + std::string(k);
        if (std::find(out.begin(), out.end(), tag) == out.end()) out.push_back(tag);
        break;
      }
      pos += k.size();
    }
  }
  for (std::string_view k : kThreats) {
    if (text.find(k) != std::string::npos) {
      out.push_back("threat");
      break;
    }
  }
  // Repeated punctuation: three or more of ! ? ！ ？ in a row.
  std::vector<char32_t> cps = utf8::Decode(text);
  int run = 0;
  bool repeated = false;
  for (char32_t c : cps) {
    if (c == '!' || c == '?' || c == 0xFF01 || c == 0xFF1F) {
      if (++run >= 3) repeated = true;
    } else {
      run = 0;
    }
  }
  if (repeated) out.push_back("repeated_punctuation");
  // All caps: at least 6 Latin letters, >= 80 % upper case, in the original text.
  size_t upper = 0, letters = 0;
  for (unsigned char c : raw.substr(0, kMaxInputBytes)) {
    if (std::isalpha(c)) {
      ++letters;
      if (std::isupper(c)) ++upper;
    }
  }
  if (letters >= 6 && upper * 5 >= letters * 4) out.push_back("all_caps");
  return out;
}

std::string_view InterjectionSentiment(std::string_view raw) {
  if (raw.size() > 256) return {};  // not a short message
  // The message without spaces and punctuation, ASCII lower-cased.
  std::string body;
  size_t chars = 0, he = 0;
  for (char32_t c : utf8::Decode(utf8::Sanitize(raw))) {
    std::string token;
    utf8::Append(token, c);
    const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0x3000;
    if (space || IsPunctuationToken(token)) continue;
    if (c >= 'A' && c <= 'Z') token[0] = static_cast<char>(c - 'A' + 'a');
    body += token;
    ++chars;
    he += c == U'呵';
  }
  if (he >= 2 && he == chars) return "negative";
  const auto strip_prefix = [&body](std::initializer_list<std::string_view> heads) {
    for (std::string_view h : heads) {
      if (body.size() > h.size() && body.compare(0, h.size(), h) == 0) {
        body.erase(0, h.size());
        return;
      }
    }
  };
  const auto strip_suffix = [&body](std::initializer_list<std::string_view> tails) {
    for (std::string_view t : tails) {
      if (body.size() > t.size() && body.compare(body.size() - t.size(), t.size(), t) == 0) {
        body.erase(body.size() - t.size());
        return;
      }
    }
  };
  // Not a bare 好: "好辛苦" is "so tiring".
  strip_prefix({"好的", "嗯嗯", "嗯", "行", "okay", "ok"});
  strip_suffix({"谢谢你", "谢谢您", "谢谢啦", "谢谢", "哈"});
  strip_suffix({"亲"});
  static constexpr std::string_view kThanksForTheTrouble[] = {
      "辛苦了", "辛苦啦", "辛苦你了", "辛苦您了", "辛苦你啦", "麻烦了", "麻烦啦", "麻烦你了", "麻烦您了", "有劳了", "劳驾了"};
  for (std::string_view p : kThanksForTheTrouble) {
    if (body == p) return "positive";
  }
  return {};
}

Result<std::unique_ptr<Analyzer>> Analyzer::Create(const AnalyzerSettings& settings) {
  auto a = std::unique_ptr<Analyzer>(new Analyzer());
  a->settings_ = settings;
  const std::string dir = DefaultModelDir();
  auto pick = [&](const std::string& given, const char* file) { return given.empty() ? dir + "/" + file : given; };
  KEFU_ASSIGN_OR_RETURN(a->sentiment_, LoadSentiment(pick(settings.sentiment_model, "sentiment.kmodel")));
  KEFU_ASSIGN_OR_RETURN(a->emotion_, Classifier::Load(pick(settings.emotion_model, "emotion.kmodel"), Task::kEmotion));
  if (settings.intent_model != "-") {
    KEFU_ASSIGN_OR_RETURN(a->intent_,
                          Classifier::Load(pick(settings.intent_model, "intent_demo.kmodel"), Task::kIntent));
  }
  auto load_tenants = [](const std::map<std::string, std::string>& files, const char* what, auto load,
                         auto& into) -> Status {
    for (const auto& [tenant, path] : files) {
      auto m = load(path);
      if (!m.ok()) {
        return Status(m.status().code(), fmt::format("{} model of tenant {}: {}", what, tenant, m.status().message()));
      }
      into.emplace(tenant, std::move(*m));
    }
    return Status::Ok();
  };
  KEFU_RETURN_IF_ERROR(load_tenants(settings.tenant_intent_models, "intent",
                                    [](const std::string& p) { return Classifier::Load(p, Task::kIntent); },
                                    a->tenant_intents_));
  KEFU_RETURN_IF_ERROR(
      load_tenants(settings.tenant_sentiment_models, "sentiment", &Analyzer::LoadSentiment, a->tenant_sentiments_));
  return a;
}

Result<Analyzer::SentimentModel> Analyzer::LoadSentiment(const std::string& path) {
  SentimentModel m;
  KEFU_ASSIGN_OR_RETURN(m.model, Classifier::Load(path, Task::kSentiment));
  const auto& labels = m.model->labels();
  m.has_neutral_class = std::find(labels.begin(), labels.end(), "neutral") != labels.end();
  return m;
}

const Analyzer::SentimentModel& Analyzer::SentimentFor(std::string_view tenant_id) const {
  const auto it = tenant_sentiments_.find(tenant_id);
  return it != tenant_sentiments_.end() ? it->second : sentiment_;
}

const Classifier* Analyzer::intent_model(std::string_view tenant_id) const {
  const auto it = tenant_intents_.find(tenant_id);
  return it != tenant_intents_.end() ? it->second.get() : intent_.get();
}

const Classifier* Analyzer::sentiment_model(std::string_view tenant_id) const {
  return SentimentFor(tenant_id).model.get();
}

namespace {

void ClassifyIntent(const Classifier* model, std::string_view text, TurnAnalysis& t) {
  if (!model) return;
  Prediction p = model->Classify(text);
  t.intent = p.label.empty() ? std::string(kOutOfScope) : p.label;
  t.intent_score = p.label.empty() ? 1.0 : p.score;
}

}  // namespace

TurnAnalysis Analyzer::Analyze(std::string_view text, std::string_view tenant_id) const {
  TurnAnalysis t;
  const Classifier* intent = intent_model(tenant_id);
  t.language = DetectLanguage(text);
  t.urgency = DetectUrgency(text);
  if (t.language != "zh") {
    // The shipped sentiment and emotion models are trained on Chinese text
    // only; on other languages their confidence is meaningless, so they are
    // not guessed (neutral, score 0) rather than reported as certain.
    t.sentiment = "neutral";
    t.emotion = "neutral";
    ClassifyIntent(intent, text, t);
    return t;
  }

  // Sentiment. A model trained with a "neutral" class (the shipped one: reviews
  // plus customer-service questions) decides by argmax, except that a
  // polar label below `polar_min_score` is neutral. A binary model's
  // low-confidence region is neutral instead.
  const SentimentModel& sentiment = SentimentFor(tenant_id);
  const bool has_neutral_class = sentiment.has_neutral_class;
  auto s = sentiment.model->Predict(text, 1);
  if (s.empty()) {
    t.sentiment = "neutral";
    t.sentiment_score = 1.0;
  } else if (has_neutral_class) {
    if (s.front().label != "neutral" && s.front().score < settings_.polar_min_score) {
      t.sentiment = "neutral";
      t.sentiment_score = 1.0 - s.front().score;
    } else {
      t.sentiment = s.front().label;
      t.sentiment_score = s.front().score;
    }
  } else if (s.front().score < settings_.neutral_below) {
    t.sentiment = "neutral";
    // 1 when the model is split 50/50, falling to 0 at the neutral boundary.
    t.sentiment_score = std::clamp((settings_.neutral_below - s.front().score) / (settings_.neutral_below - 0.5), 0.0, 1.0);
  } else {
    t.sentiment = s.front().label;
    t.sentiment_score = s.front().score;
  }

  // Whole-message interjections and polite formulas the corpora read wrongly ("呵呵", "辛苦了").
  if (const std::string_view fixed = InterjectionSentiment(text); !fixed.empty()) {
    t.sentiment_score = t.sentiment == fixed ? std::max(t.sentiment_score, 0.8) : 0.8;
    t.sentiment = std::string(fixed);
  }

  // Emotion: CLUEmotion has no neutral class; neutral = low confidence.
  auto e = emotion_->Predict(text, 3);
  // Domain prior: CLUEmotion is Weibo, where complaints read as sadness as often
  // as anger. A negative customer-service turn with complaint/threat signals is
  // anger whenever the model ranks anger among its top three.
  if (!e.empty() && t.sentiment == "negative" && !t.urgency.empty() && e.front().label != "anger") {
    for (size_t i = 1; i < e.size(); ++i) {
      if (e[i].label == "anger") {
        e.front() = {"anger", e.front().score + e[i].score};
        break;
      }
    }
  }
  const double floor = t.sentiment == "neutral" ? settings_.emotion_neutral_below_when_neutral
                                                : settings_.emotion_neutral_below;
  if (e.empty() || e.front().score < floor) {
    t.emotion = "neutral";
    t.emotion_intensity = 0;
  } else {
    t.emotion = e.front().label;
    // Probability of the emotion, damped when sentiment disagrees in polarity.
    double polarity_agrees = 1.0;
    if (IsNegativeEmotion(t.emotion) && t.sentiment == "positive") polarity_agrees = 1.0 - t.sentiment_score;
    if ((t.emotion == "happiness" || t.emotion == "like") && t.sentiment == "negative") {
      polarity_agrees = 1.0 - t.sentiment_score;
    }
    t.emotion_intensity = std::clamp(std::min(1.0, e.front().score) * (0.5 + 0.5 * polarity_agrees), 0.0, 1.0);
    if (!t.urgency.empty() && IsNegativeEmotion(t.emotion)) {
      t.emotion_intensity = std::min(1.0, t.emotion_intensity + 0.1 * static_cast<double>(t.urgency.size()));
    }
  }

  ClassifyIntent(intent, text, t);
  return t;
}

void EmotionTrajectory::Add(const TurnAnalysis& turn) {
  values_.push_back(turn.Negativity());
  while (values_.size() > window_) values_.pop_front();
}

double EmotionTrajectory::mean() const {
  if (values_.empty()) return 0;
  double s = 0;
  for (double v : values_) s += v;
  return s / static_cast<double>(values_.size());
}

double EmotionTrajectory::slope() const {
  const size_t n = values_.size();
  if (n < 2) return 0;
  double mx = (static_cast<double>(n) - 1) / 2.0, my = mean(), num = 0, den = 0;
  for (size_t i = 0; i < n; ++i) {
    num += (static_cast<double>(i) - mx) * (values_[i] - my);
    den += (static_cast<double>(i) - mx) * (static_cast<double>(i) - mx);
  }
  return num / den;
}

bool EmotionTrajectory::Escalating() const {
  const size_t n = values_.size();
  if (n >= 2 && slope() > 0.15 && last() > 0.3) return true;
  return n >= 2 && values_[n - 1] > 0.7 && values_[n - 2] > 0.7;
}

nlohmann::json EmotionTrajectory::ToJson() const {
  return {{"turns", turns()}, {"last", last()}, {"mean", mean()}, {"slope", slope()}, {"escalating", Escalating()}};
}

}  // namespace kefu::nlu
