#include "nlu/evaluation.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <map>
#include <set>

#include "nlu/analyzer.h"
#include "nlu/datasets.h"

#ifndef KEFU_NLU_SOURCE_DIR
#define KEFU_NLU_SOURCE_DIR "."
#endif

namespace kefu::nlu {
namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

bool Wanted(const EvalOptions& o, const std::string& s) {
  return o.only.empty() || std::find(o.only.begin(), o.only.end(), s) != o.only.end();
}

// The inner (tuning) split of a training set.
DataSplit Inner(const std::vector<LabeledExample>& train) {
  DataSplit s;
  for (const auto& ex : train) (InDevSplit(ex.text, 20, "#inner") ? s.dev : s.train).push_back(ex);
  return s;
}

TrainOptions OptionsFor(const EvalOptions& o, const std::string& section, Task task, std::string_view lang) {
  auto it = o.options.find(section);
  return it != o.options.end() ? it->second : DefaultTrainOptions(task, lang);
}

double MacroF1(const std::vector<std::string>& gold, const std::vector<std::string>& pred,
               nlohmann::json* per_label) {
  std::set<std::string> labels(gold.begin(), gold.end());
  double sum = 0;
  for (const auto& l : labels) {
    double tp = 0, fp = 0, fn = 0;
    for (size_t i = 0; i < gold.size(); ++i) {
      if (pred[i] == l && gold[i] == l) ++tp;
      else if (pred[i] == l) ++fp;
      else if (gold[i] == l) ++fn;
    }
    const double p = tp + fp > 0 ? tp / (tp + fp) : 0, r = tp + fn > 0 ? tp / (tp + fn) : 0;
    const double f1 = p + r > 0 ? 2 * p * r / (p + r) : 0;
    (*per_label)[l] = f1;
    sum += f1;
  }
  return labels.empty() ? 0 : sum / static_cast<double>(labels.size());
}

// In-scope accuracy (correct label, not rejected) and oos recall with Classify().
// CPU time of this thread in µs: on a shared machine the wall clock includes
// time spent descheduled.
double ThreadCpuMicros() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

nlohmann::json IntentScores(const Classifier& m, const std::vector<LabeledExample>& dev) {
  double in_ok = 0, in_n = 0, oos_ok = 0, oos_n = 0, raw_ok = 0, classify_us = 0;
  for (const auto& ex : dev) {
    const double cpu0 = ThreadCpuMicros();
    Prediction p = m.Classify(ex.text);
    classify_us += ThreadCpuMicros() - cpu0;
    if (ex.label == kOutOfScope) {
      ++oos_n;
      if (p.label == kOutOfScope) ++oos_ok;
    } else {
      ++in_n;
      if (p.label == ex.label) ++in_ok;
      auto raw = m.Predict(ex.text, 1);
      if (!raw.empty() && raw.front().label == ex.label) ++raw_ok;
    }
  }
  nlohmann::json j;
  j["in_scope_examples"] = in_n;
  j["in_scope_accuracy"] = in_n ? in_ok / in_n : 0;
  j["in_scope_accuracy_without_rejection"] = in_n ? raw_ok / in_n : 0;
  if (oos_n > 0) {
    j["oos_examples"] = oos_n;
    j["oos_recall"] = oos_ok / oos_n;
  }
  j["oos_threshold"] = m.oos_threshold();
  j["oos_score"] = m.oos_score();
  if (!dev.empty()) j["classify_cpu_us"] = classify_us / static_cast<double>(dev.size());
  return j;
}

nlohmann::json Skip(const std::string& why) { return {{"skipped", why}}; }

// Sentiment on a binary (positive/negative) test set. "error": the error of
// the argmax over positive and negative only, so that a three-class model is
// measured exactly like the binary one was; "error_neutral_wrong": the
// three-class argmax, a text called neutral counting as wrong; "error_analyzer":
// what the Analyzer reports (a positive/negative argmax below its
// polar_min_score is neutral), neutral again counting as wrong; plus the share
// the model calls neutral and the share of the negative texts it calls
// neutral (the neutral class must not swallow complaints).
nlohmann::json BinarySentimentScores(const Classifier& m, const std::vector<LabeledExample>& test) {
  const double polar_min = AnalyzerSettings{}.polar_min_score;
  size_t wrong = 0, neutral = 0, wrong3 = 0, wrong_analyzer = 0, neg = 0, neg_neutral = 0, neg_neutral_analyzer = 0;
  for (const auto& ex : test) {
    auto p = m.Predict(ex.text, 0);
    const Prediction* best = nullptr;
    for (const auto& q : p) {
      if ((q.label == "positive" || q.label == "negative") && (!best || q.score > best->score)) best = &q;
    }
    if (!best || best->label != ex.label) ++wrong;
    const std::string top = p.empty() ? "neutral" : p.front().label;
    const std::string shown = top != "neutral" && p.front().score < polar_min ? "neutral" : top;
    neutral += top == "neutral";
    wrong3 += top != ex.label;
    wrong_analyzer += shown != ex.label;
    if (ex.label == "negative") {
      ++neg;
      neg_neutral += top == "neutral";
      neg_neutral_analyzer += shown == "neutral";
    }
  }
  const double n = static_cast<double>(test.size());
  const auto share = [](size_t k, double of) { return of > 0 ? static_cast<double>(k) / of : 0.0; };
  // The same at other floors (choosing polar_min_score on the inner dev split).
  nlohmann::json by_floor = nlohmann::json::object();
  for (double floor : {0.5, 0.55, 0.6, 0.65}) {
    size_t w = 0, nn = 0;
    for (const auto& ex : test) {
      auto p = m.Predict(ex.text, 1);
      const std::string top = p.empty() ? "neutral" : p.front().label;
      const std::string shown = top != "neutral" && p.front().score < floor ? "neutral" : top;
      w += shown != ex.label;
      nn += ex.label == "negative" && shown == "neutral";
    }
    by_floor[fmt::format("{:.2f}", floor)] = {{"error", share(w, n)},
                                               {"negative_called_neutral", share(nn, static_cast<double>(neg))}};
  }
  return {{"examples", test.size()},
          {"analyzer_by_floor", by_floor},
          {"error", share(wrong, n)},
          {"error_neutral_wrong", share(wrong3, n)},
          {"error_analyzer", share(wrong_analyzer, n)},
          {"neutral_share", share(neutral, n)},
          {"negative_called_neutral", share(neg_neutral, static_cast<double>(neg))},
          {"negative_called_neutral_analyzer", share(neg_neutral_analyzer, static_cast<double>(neg))}};
}

nlohmann::json EvalSentiment(const EvalOptions& o, const std::string& dir) {
  auto splits = LoadSentimentSplits(dir);
  if (!splits.ok()) return Skip(splits.status().ToString());
  if (o.inner_dev) {
    for (DataSplit* d : {&splits->shop, &splits->chat, &splits->conversation, &splits->weibo}) *d = Inner(d->train);
  }
  const DataSplit* shop = &splits->shop;
  const DataSplit* chat = &splits->chat;
  std::vector<LabeledExample> train = SentimentTrainingExamples(*splits);
  if (o.extra_polar_reviews) {
    auto extra = LoadExtraPolarReviews(dir);
    if (!extra.ok()) return Skip(extra.status().ToString());
    train.insert(train.end(), extra->begin(), extra->end());
  }
  TrainOptions opts = OptionsFor(o, "sentiment", Task::kSentiment, "zh");
  // Self-training and word-cluster pool: the unlabelled review texts (labels never read). In
  // inner-dev mode waimai stays out entirely; otherwise a second model trained
  // with the pool minus waimai measures waimai as text it never saw at all.
  std::vector<std::string> pool, pool_without_waimai;
  std::map<std::string, std::vector<std::string>> pool_by_source;
  nlohmann::json pool_sources = nlohmann::json::object();
  if (opts.self_train > 0 || opts.clusters > 0) {
    auto sources = LoadUnlabelledReviews(dir);
    if (!sources.ok()) return Skip(sources.status().ToString());
    for (const auto& src : *sources) {
      if (o.inner_dev && src.name == "waimai") continue;
      pool_sources[src.name] = src.texts.size();
      pool.insert(pool.end(), src.texts.begin(), src.texts.end());
      if (src.name != "waimai") pool_without_waimai.insert(pool_without_waimai.end(), src.texts.begin(), src.texts.end());
      pool_by_source[src.name] = src.texts;
    }
  }
  auto t0 = Clock::now();
  auto model = Classifier::Train(Task::kSentiment, train, opts, pool);
  if (!model.ok()) return Skip(model.status().ToString());
  nlohmann::json j;
  j["train_seconds"] = Seconds(t0);
  j["train_examples"] = train.size();
  if ((*model)->metadata().contains("self_training")) {
    j["self_training"] = (*model)->metadata()["self_training"];
    j["self_training"]["sources"] = pool_sources;
  }
  j["model_bytes"] = (*model)->size_bytes();
  j["options"] = opts.ToJson();
  j["online_shopping_dev"] = BinarySentimentScores(**model, shop->dev);
  // Short chat messages and Weibo posts: their held-back parts (issue 15).
  j["conversation_test"] = BinarySentimentScores(**model, splits->conversation.dev);
  j["weibo_test"] = BinarySentimentScores(**model, splits->weibo.dev);
  // Chat turns: three-class accuracy and how well neutral is recognised.
  {
    // neu_neg: neutral turns called negative as the Analyzer reports them
    // (negative at or above polar_min_score): what could send a plain question to a human.
    const double polar_min = AnalyzerSettings{}.polar_min_score;
    double ok = 0, neu_n = 0, neu_ok = 0, pred_neu = 0, neu_neg = 0;
    std::map<std::string, double> neu_neg_by_floor;
    for (const auto& ex : chat->dev) {
      auto p = (*model)->Predict(ex.text, 1);
      const std::string got = p.empty() ? "neutral" : p.front().label;
      ok += got == ex.label;
      pred_neu += got == "neutral";
      if (ex.label == "neutral") {
        ++neu_n;
        neu_ok += got == "neutral";
        neu_neg += got == "negative" && p.front().score >= polar_min;
        for (double floor : {0.5, 0.55, 0.6, 0.65})
          neu_neg_by_floor[fmt::format("{:.2f}", floor)] += got == "negative" && p.front().score >= floor;
      }
    }
    const double n = static_cast<double>(chat->dev.size());
    j["chat_dev"] = {{"examples", chat->dev.size()},
                     {"accuracy", n > 0 ? ok / n : 0},
                     {"neutral_recall", neu_n > 0 ? neu_ok / neu_n : 0},
                     {"neutral_precision", pred_neu > 0 ? neu_ok / pred_neu : 0},
                     {"neutral_called_negative", neu_n > 0 ? neu_neg / neu_n : 0}};
    for (const auto& [floor, k] : neu_neg_by_floor)
      j["chat_dev"]["neutral_called_negative_by_floor"][floor] = neu_n > 0 ? k / neu_n : 0;
  }
  for (const char* name : {"waimai", "hotel"}) {
    if (o.inner_dev && std::string_view(name) == "waimai") continue;  // the cross-domain test set
    auto set = LoadSentimentSet(dir, name);
    if (!set.ok()) {
      j[name] = Skip(set.status().ToString());
      continue;
    }
    j[name] = BinarySentimentScores(**model, *set);
    if (std::string_view(name) == "waimai" && !pool.empty() && pool.size() != pool_without_waimai.size()) {
      auto control = Classifier::Train(Task::kSentiment, train, opts, pool_without_waimai);
      if (control.ok()) j["waimai_out_of_pool"] = BinarySentimentScores(**control, *set);
    }
    // Adapted to the domain (docs/nlu.md "Adapting the sentiment model to a
    // deployment's domain"): what a deployment gets by self-training on its
    // own unlabelled traffic, here the set's own texts (labels never read),
    // as `kefu nlu train --adapt` does.
    const auto own = pool_by_source.find(name);
    if (opts.self_train > 0 && own != pool_by_source.end()) {
      TrainOptions adapt = opts;
      AdaptToDomain(adapt);
      const auto t1 = Clock::now();
      auto adapted = Classifier::Train(Task::kSentiment, train, adapt, own->second);
      if (adapted.ok()) {
        j[std::string(name) + "_adapted"] = BinarySentimentScores(**adapted, *set);
        j[std::string(name) + "_adapted"]["unlabelled_texts"] = own->second.size();
        j[std::string(name) + "_adapted"]["train_seconds"] = Seconds(t1);
      } else {
        j[std::string(name) + "_adapted"] = Skip(adapted.status().ToString());
      }
    }
  }
  return j;
}

nlohmann::json EvalEmotion(const EvalOptions& o, const std::string& dir) {
  auto all = LoadCluEmotion(dir);
  if (!all.ok()) return Skip(all.status().ToString());
  if (o.inner_dev) *all = Inner(*all).train;
  TrainOptions opts = OptionsFor(o, "emotion", Task::kEmotion, "zh");
  std::vector<std::string> gold, pred;
  auto t0 = Clock::now();
  const int k = std::max(2, o.emotion_folds);
  for (int fold = 0; fold < k; ++fold) {
    std::vector<LabeledExample> train, test;
    for (const auto& ex : *all) {
      (static_cast<int>(Fnv1a64(ex.text + "#emo") % k) == fold ? test : train).push_back(ex);
    }
    auto model = Classifier::Train(Task::kEmotion, train, opts);
    if (!model.ok()) return Skip(model.status().ToString());
    for (const auto& ex : test) {
      auto p = (*model)->Predict(ex.text, 1);
      gold.push_back(ex.label);
      pred.push_back(p.empty() ? "" : p.front().label);
    }
  }
  nlohmann::json j, per_label;
  j["folds"] = k;
  j["examples"] = gold.size();
  j["macro_f1"] = MacroF1(gold, pred, &per_label);
  size_t correct = 0;
  for (size_t i = 0; i < gold.size(); ++i) correct += gold[i] == pred[i];
  j["accuracy"] = gold.empty() ? 0 : static_cast<double>(correct) / static_cast<double>(gold.size());
  j["f1_per_label"] = per_label;
  j["train_seconds_all_folds"] = Seconds(t0);
  j["options"] = opts.ToJson();
  return j;
}

nlohmann::json EvalIntent(const EvalOptions& o, const std::string& section, const Result<DataSplit>& split,
                          std::string_view lang) {
  if (!split.ok()) return Skip(split.status().ToString());
  TrainOptions opts = OptionsFor(o, section, Task::kIntent, lang);
  const DataSplit used = o.inner_dev ? Inner(split->train) : *split;
  auto t0 = Clock::now();
  auto model = Classifier::Train(Task::kIntent, used.train, opts);
  if (!model.ok()) return Skip(model.status().ToString());
  nlohmann::json j = IntentScores(**model, used.dev);
  j["train_seconds"] = Seconds(t0);
  j["train_examples"] = used.train.size();
  j["model_bytes"] = (*model)->size_bytes();
  j["options"] = opts.ToJson();
  return j;
}

nlohmann::json EvalLatency(const std::string& dir) {
  auto analyzer = Analyzer::Create(AnalyzerSettings{});
  if (!analyzer.ok()) return Skip("shipped models: " + analyzer.status().ToString());
  std::vector<std::string> texts;
  auto shop = LoadOnlineShopping(dir);
  if (shop.ok()) {
    for (size_t i = 0; i < shop->dev.size() && texts.size() < 2000; ++i) texts.push_back(shop->dev[i].text);
  }
  if (texts.empty()) {
    texts = {"我的快递三天了还没到，怎么回事？", "谢谢你，问题解决了", "我要投诉你们！！！再不退款我就打12315",
             "这件衣服有没有L码", "How do I get a refund?"};
  }
  std::vector<double> us;
  size_t total_bytes = 0;
  // CPU time of this thread as well as wall time.
  const double cpu0 = ThreadCpuMicros();
  for (int rep = 0; rep < 3; ++rep) {
    for (const auto& t : texts) {
      auto t0 = Clock::now();
      TurnAnalysis a = (*analyzer)->Analyze(t);
      us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      total_bytes += a.sentiment.size();
    }
  }
  const double cpu_mean = (ThreadCpuMicros() - cpu0) / static_cast<double>(us.size());
  std::sort(us.begin(), us.end());
  double sum = 0;
  for (double v : us) sum += v;
  size_t chars = 0;
  for (const auto& t : texts) chars += t.size();
  return {{"turns", us.size()},
          {"mean_text_bytes", static_cast<double>(chars) / static_cast<double>(texts.size())},
          {"mean_us", sum / static_cast<double>(us.size())},
          {"mean_cpu_us", cpu_mean},
          {"p50_us", us[us.size() / 2]},
          {"p99_us", us[us.size() * 99 / 100]},
          {"source", shop.ok() ? "online_shopping dev reviews" : "built-in sample turns"}};
}

nlohmann::json EvalDemoIntents(const EvalOptions& o) {
  std::string path = o.demo_intents_csv.empty() ? std::string(KEFU_NLU_SOURCE_DIR) + "/demo/intents/intents.csv"
                                                : o.demo_intents_csv;
  auto all = ReadLabeledCsv(path);
  if (!all.ok()) return Skip(all.status().ToString());
  DataSplit split;
  for (auto& ex : *all) (InDevSplit(ex.text, 20, "#demo") ? split.dev : split.train).push_back(ex);
  return EvalIntent(o, "demo_intents", split, "zh");
}

std::string Pct(const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) return "–";
  return fmt::format("{:.2f} %", 100.0 * j[key].get<double>());
}

}  // namespace

Status ApplyOption(TrainOptions& o, const std::string& kv) {
  const size_t eq = kv.find('=');
  if (eq == std::string::npos) return InvalidArgument("option '" + kv + "' is not key=value");
  const std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
  try {
    if (k == "kind") o.kind = v;
    else if (k == "bits") o.bits = std::stoi(v);
    else if (k == "weighting") o.weighting = v;
    else if (k == "l2") o.l2 = std::stod(v);
    else if (k == "words") o.words = v == "1" || v == "true";
    else if (k == "balanced") o.balanced = v == "1" || v == "true";
    else if (k == "calibration_folds") o.calibration_folds = std::stoi(v);
    else if (k == "oos_recall") o.oos_recall = std::stod(v);
    else if (k == "oos_score") o.oos_score = v;
    else if (k == "knn_weight") o.knn_weight = std::stod(v);
    else if (k == "prune") o.prune = std::stod(v);
    else if (k == "self_train") o.self_train = std::stod(v);
    else if (k == "self_train_weight") o.self_train_weight = std::stod(v);
    else if (k == "self_train_new_only") o.self_train_new_only = v == "1" || v == "true";
    else if (k == "self_train_rounds") o.self_train_rounds = std::stoi(v);
    else if (k == "clusters") o.clusters = std::stoi(v);
    else if (k == "emoji") o.emoji = v == "1" || v == "true";
    else if (k == "weight_bits") o.weight_bits = std::stoi(v);
    else if (k == "scale_bits") o.scale_bits = std::stoi(v);
    else if (k == "prune_scaled") o.prune_scaled = v == "1" || v == "true";
    else if (k == "min_count_small") o.min_count_small = std::stoi(v);
    else if (k == "small_set") o.small_set = std::stoi(v);
    else if (k == "cluster_dim") o.cluster_dim = std::stoi(v);
    else if (k == "cluster_epoch") o.cluster_epoch = std::stoi(v);
    else if (k == "cluster_min_count") o.cluster_min_count = std::stoi(v);
    else if (k == "dim") o.dim = std::stoi(v);
    else if (k == "epoch") o.epoch = std::stoi(v);
    else if (k == "lr") o.lr = std::stod(v);
    else if (k == "word_ngrams") o.word_ngrams = std::stoi(v);
    else if (k == "minn") o.minn = std::stoi(v);
    else if (k == "maxn") o.maxn = std::stoi(v);
    else if (k == "bucket") o.bucket = std::stoi(v);
    else if (k == "min_count") o.min_count = std::stoi(v);
    else if (k == "threads") o.threads = std::stoi(v);
    else if (k == "quantize") o.quantize = v == "1" || v == "true";
    else if (k == "cutoff") o.cutoff = std::stoi(v);
    else if (k == "dsub") o.dsub = std::stoi(v);
    else if (k == "calibration_share") o.calibration_share = std::stod(v);
    else return InvalidArgument("unknown training option '" + k + "'");
  } catch (const std::exception&) {
    return InvalidArgument("bad value for training option '" + k + "': " + v);
  }
  return Status::Ok();
}

nlohmann::json RunEvaluation(const EvalOptions& o) {
  nlohmann::json report;
  const std::string dir = o.data_dir.empty() ? FindDataDir() : o.data_dir;
  report["data_dir"] = dir;
  report["inner_dev"] = o.inner_dev;
  auto missing = Skip("dataset directory not found: set KEFU_DATA or place ../shared/data next to the repo");
  auto run = [&](const std::string& name, auto fn) {
    if (!Wanted(o, name)) return;
    report["sections"][name] = fn();
  };
  run("sentiment", [&] { return dir.empty() ? missing : EvalSentiment(o, dir); });
  run("emotion", [&] { return dir.empty() ? missing : EvalEmotion(o, dir); });
  run("banking77", [&] { return dir.empty() ? missing : EvalIntent(o, "banking77", LoadBanking77(dir), "en"); });
  run("clinc150", [&] { return dir.empty() ? missing : EvalIntent(o, "clinc150", LoadClinc150(dir), "en"); });
  run("demo_intents", [&] { return EvalDemoIntents(o); });
  run("latency", [&] { return EvalLatency(dir); });
  for (const auto& [name, fn] : o.extra_sections) {
    if (!Wanted(o, name)) continue;
    auto r = fn();
    report["sections"][name] = r.ok() ? r.value() : Skip(r.status().ToString());
  }
  if (Wanted(o, "faq_retrieval") && !o.extra_sections.count("faq_retrieval")) {
    report["sections"]["faq_retrieval"] = Skip("provided by `kefu kb eval` (knowledge module); not registered here");
  }
  return report;
}

std::string EvaluationMarkdown(const nlohmann::json& r) {
  std::string md = "# kefu NLU evaluation\n\n";
  md += fmt::format("Data: `{}`\n\n", r.value("data_dir", ""));
  if (r.value("inner_dev", false)) {
    md += "**Tuning mode**: inner dev splits carved from the training data, not the test splits.\n\n";
  }
  md += "| section | metric | value | notes |\n|---|---|---|---|\n";
  if (!r.contains("sections")) return md;
  for (const auto& [name, s] : r["sections"].items()) {
    if (s.contains("skipped")) {
      md += fmt::format("| {} | – | skipped | {} |\n", name, s["skipped"].get<std::string>());
      continue;
    }
    if (name == "sentiment") {
      md += fmt::format("| sentiment | online_shopping dev error (in-domain) | {} | {} dev reviews, trained on {}; {:.1f} s training; {} |\n",
                        Pct(s["online_shopping_dev"], "error"), s["online_shopping_dev"]["examples"].dump(),
                        s["train_examples"].dump(), s["train_seconds"].get<double>(), s["options"].value("kind", "fasttext"));
      md += fmt::format("| sentiment | online_shopping dev reviews called neutral | {} | |\n",
                        Pct(s["online_shopping_dev"], "neutral_share"));
      if (s.contains("chat_dev")) {
        md += fmt::format("| sentiment | chat turns dev: accuracy / neutral recall / neutral precision | {} / {} / {} | {} turns; neutral turns the Analyzer calls negative: {} |\n",
                          Pct(s["chat_dev"], "accuracy"), Pct(s["chat_dev"], "neutral_recall"),
                          Pct(s["chat_dev"], "neutral_precision"), s["chat_dev"]["examples"].dump(),
                          Pct(s["chat_dev"], "neutral_called_negative"));
      }
      for (const char* d : {"conversation_test", "weibo_test"}) {
        if (!s.contains(d)) continue;
        md += fmt::format("| sentiment | {} error, neutral counted wrong: argmax / as the Analyzer reports (polar < 0.6 = neutral) | {} / {} | {} held-back texts (20 %, by hash); positive/negative argmax only: {}; negatives called neutral {} / {} |\n",
                          d, Pct(s[d], "error_neutral_wrong"), Pct(s[d], "error_analyzer"), s[d]["examples"].dump(),
                          Pct(s[d], "error"), Pct(s[d], "negative_called_neutral"),
                          Pct(s[d], "negative_called_neutral_analyzer"));
      }
      for (const char* d : {"waimai", "hotel"}) {
        if (!s.contains(d)) continue;
        if (s[d].contains("skipped")) {
          md += fmt::format("| sentiment | {} error | skipped | {} |\n", d, s[d]["skipped"].get<std::string>());
        } else {
          md += fmt::format("| sentiment | {} error (cross-domain) | {} | {} texts, {} called neutral |\n", d,
                            Pct(s[d], "error"), s[d]["examples"].dump(), Pct(s[d], "neutral_share"));
        }
      }
      if (s.contains("self_training")) {
        const auto& st = s["self_training"];
        md += fmt::format("| sentiment | self-training: unlabelled texts / pseudo-labelled | {} / {} | threshold {}; sources {} (labels never read) |\n",
                          st.value("unlabelled_texts", 0), st.value("pseudo_labelled", 0),
                          st.value("threshold", 0.0), st.value("sources", nlohmann::json::object()).dump());
      }
      if (s.contains("waimai_out_of_pool")) {
        md += fmt::format("| sentiment | waimai error, model self-trained without the waimai texts | {} | {} texts |\n",
                          Pct(s["waimai_out_of_pool"], "error"), s["waimai_out_of_pool"]["examples"].dump());
      }
      for (const char* d : {"waimai", "hotel"}) {
        const std::string key = std::string(d) + "_adapted";
        if (!s.contains(key) || !s[key].contains("error")) continue;
        md += fmt::format("| sentiment | {} error, model adapted to the {} texts (`kefu nlu train --adapt`: self-trained on them alone, every weight retrained, pseudo-labels weigh 4) | {} | {} texts; {:.0f} s training |\n",
                          d, d, Pct(s[key], "error"), s[key]["examples"].dump(), s[key].value("train_seconds", 0.0));
      }
    } else if (name == "emotion") {
      md += fmt::format("| emotion | CLUEmotion macro-F1 ({}-fold CV) | {} | accuracy {} |\n", s["folds"].dump(),
                        Pct(s, "macro_f1"), Pct(s, "accuracy"));
    } else if (name == "banking77" || name == "clinc150" || name == "demo_intents") {
      md += fmt::format("| {} | in-scope accuracy | {} | {} dev examples; {} without rejection; {:.1f} s training; {}; {:.1f} µs CPU per query |\n",
                        name, Pct(s, "in_scope_accuracy"), s["in_scope_examples"].dump(),
                        Pct(s, "in_scope_accuracy_without_rejection"), s["train_seconds"].get<double>(),
                        s["options"].value("kind", "fasttext"), s.value("classify_cpu_us", 0.0));
      if (s.contains("oos_recall")) {
        md += fmt::format("| {} | out-of-scope recall | {} | threshold {:.2f} on {} |\n", name, Pct(s, "oos_recall"),
                          s["oos_threshold"].get<double>(), s.value("oos_score", std::string("top")));
      }
    } else if (name == "latency") {
      md += fmt::format("| latency | per analysed turn (one core) | mean {:.1f} µs, p50 {:.1f} µs, p99 {:.1f} µs wall; mean {:.1f} µs CPU | {} |\n",
                        s["mean_us"].get<double>(), s["p50_us"].get<double>(), s["p99_us"].get<double>(),
                        s.value("mean_cpu_us", 0.0), s["source"].get<std::string>());
    } else if (s.contains("markdown")) {
      md += s["markdown"].get<std::string>();
    }
  }
  return md;
}

}  // namespace kefu::nlu
