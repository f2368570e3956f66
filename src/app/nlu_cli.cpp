#include "app/nlu_cli.h"

#include "app/dialogue_eval.h"
#include "dialogue/understanding_eval.h"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "dialogue/conversation_store.h"
#include "knowledge/eval.h"
#include "nlu/analyzer.h"
#include "nlu/classifier.h"
#include "nlu/datasets.h"
#include "nlu/evaluation.h"
#include "nlu/labeled_csv.h"
#include "nlu/text_features.h"
#include "text/segmenter.h"

namespace kefu::app {
namespace {

using nlu::Classifier;
using nlu::Task;

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "error: " << message << "\n";
  throw CLI::RuntimeError(1);
}

template <typename T>
T OrFail(Result<T> r) {
  if (!r.ok()) Fail(r.status().ToString());
  return std::move(r).value();
}

void OrFail(const Status& s) {
  if (!s.ok()) Fail(s.ToString());
}

std::string DefaultModelFor(Task task) {
  switch (task) {
    case Task::kSentiment: return nlu::DefaultModelDir() + "/sentiment.kmodel";
    case Task::kEmotion: return nlu::DefaultModelDir() + "/emotion.kmodel";
    case Task::kIntent: return nlu::DefaultModelDir() + "/intent_demo.kmodel";
  }
  return {};
}

struct TrainArgs {
  std::string task, train, out, lang = "zh", unlabelled, adapt;
  std::vector<std::string> set;
};

struct PredictArgs {
  std::string task, model;
  int top = 1;
};

void RunTrain(const TrainArgs& a) {
  const Task task = OrFail(nlu::ParseTask(a.task));
  auto examples = OrFail(nlu::ReadLabeledCsv(a.train));
  std::string kind = "linear";
  for (const auto& kv : a.set) {
    if (kv.rfind("kind=", 0) == 0) kind = kv.substr(5);
  }
  nlu::TrainOptions opts = nlu::DefaultTrainOptions(task, a.lang, kind);
  if (!a.adapt.empty()) {
    if (task != Task::kSentiment) Fail("--adapt is for the sentiment task");
    if (!a.unlabelled.empty()) Fail("--adapt names the unlabelled texts itself: give --adapt or --unlabelled, not both");
    nlu::AdaptToDomain(opts);  // --set below may still change any option
  }
  for (const auto& kv : a.set) OrFail(nlu::ApplyOption(opts, kv));
  if (task == Task::kSentiment) {
    for (const auto& ex : examples) {
      if (ex.label != "positive" && ex.label != "negative" && ex.label != "neutral") {
        Fail(fmt::format("{}: line {}: sentiment label must be positive, negative or neutral, not '{}'", a.train,
                         ex.line, ex.label));
      }
    }
  }
  std::vector<std::string> unlabelled;
  const std::string& texts = a.adapt.empty() ? a.unlabelled : a.adapt;
  if (!texts.empty()) {
    if (opts.self_train <= 0 && opts.clusters <= 0) {
      Fail("--unlabelled needs self-training (--set self_train=P, 0 < P <= 1) or word clusters (--set clusters=K)");
    }
    unlabelled = OrFail(nlu::ReadTextLines(texts));
  }
  auto t0 = std::chrono::steady_clock::now();
  auto model = OrFail(Classifier::Train(task, examples, opts, unlabelled));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  OrFail(model->Save(a.out));
  nlohmann::json info = {{"out", a.out},
                         {"task", a.task},
                         {"examples", examples.size()},
                         {"labels", model->labels().size()},
                         {"bytes", std::filesystem::file_size(a.out)},
                         {"train_seconds", secs},
                         {"oos_threshold", model->oos_threshold()}};
  if (model->metadata().contains("self_training")) info["self_training"] = model->metadata()["self_training"];
  std::cerr << info.dump() << "\n";
}

void RunPredict(const PredictArgs& a) {
  const Task task = OrFail(nlu::ParseTask(a.task));
  auto model = OrFail(Classifier::Load(a.model.empty() ? DefaultModelFor(task) : a.model, task));
  std::string line;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    nlohmann::json j;
    if (a.top > 1) {
      auto preds = model->Predict(line, a.top);
      nlu::Prediction best = model->Classify(line);
      j["label"] = best.label.empty() ? nlohmann::json(nullptr) : nlohmann::json(best.label);
      j["score"] = best.score;
      j["top"] = nlohmann::json::array();
      for (const auto& p : preds) j["top"].push_back({{"label", p.label}, {"score", p.score}});
    } else {
      nlu::Prediction p = model->Classify(line);
      j["label"] = p.label.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.label);
      j["score"] = p.score;
    }
    if (j["label"].is_null()) {
      if (nlu::Featurize(line).find_first_not_of(' ') == std::string::npos) {
        j["error"] = "empty input";
      } else {
        // Text, but not one feature the model knows (e.g. another language):
        // what the Analyzer reports for such a turn.
        j["label"] = task == Task::kIntent ? std::string(nlu::kOutOfScope) : std::string("neutral");
        j["score"] = task == Task::kEmotion ? 0.0 : 1.0;
        j["note"] = "no feature known to the model";
      }
    }
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
}

void RunAnalyze(const std::string& intent_model) {
  nlu::AnalyzerSettings s;
  s.intent_model = intent_model;
  auto analyzer = OrFail(nlu::Analyzer::Create(s));
  nlu::EmotionTrajectory trajectory;
  std::string line;
  while (std::getline(std::cin, line)) {
    nlu::TurnAnalysis t = analyzer->Analyze(line);
    trajectory.Add(t);
    nlohmann::json j = t.ToJson();
    j["trajectory"] = trajectory.ToJson();
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
}

void RunMakeSplits(const std::string& out_dir, const std::string& data_dir_arg) {
  const std::string dir = data_dir_arg.empty() ? nlu::FindDataDir() : data_dir_arg;
  if (dir.empty()) Fail("dataset directory not found: set KEFU_DATA or pass --data");
  std::filesystem::create_directories(out_dir);
  auto write = [&](const std::string& name, const std::vector<nlu::LabeledExample>& ex) {
    OrFail(nlu::WriteLabeledCsv(out_dir + "/" + name, ex));
    std::cerr << fmt::format("{}/{}: {} rows\n", out_dir, name, ex.size());
  };
  // The sentiment model trains on the reviews, the chat turns (neutral class),
  // the conversation messages and Weibo posts (train parts) and the emoji
  // lexicon examples; the held-back parts are the tests `kefu eval` reports.
  const auto sentiment = OrFail(nlu::LoadSentimentSplits(dir));
  write("sentiment_train.csv", nlu::SentimentTrainingExamples(sentiment));
  write("sentiment_dev.csv", sentiment.shop.dev);
  write("chat_dev.csv", sentiment.chat.dev);
  write("conversation_test.csv", sentiment.conversation.dev);
  write("weibo_test.csv", sentiment.weibo.dev);
  // Unlabelled review texts the shipped sentiment model self-trains on.
  std::vector<std::string> pool;
  for (auto& src : OrFail(nlu::LoadUnlabelledReviews(dir))) pool.insert(pool.end(), src.texts.begin(), src.texts.end());
  OrFail(nlu::WriteTextLines(out_dir + "/sentiment_unlabelled.txt", pool));
  std::cerr << fmt::format("{}/sentiment_unlabelled.txt: {} texts\n", out_dir, pool.size());
  write("emotion_all.csv", OrFail(nlu::LoadCluEmotion(dir)));
  auto bank = OrFail(nlu::LoadBanking77(dir));
  write("banking77_train.csv", bank.train);
  write("banking77_dev.csv", bank.dev);
  auto clinc = OrFail(nlu::LoadClinc150(dir));
  write("clinc150_train.csv", clinc.train);
  write("clinc150_dev.csv", clinc.dev);
}

// The core issue's FAQ retrieval figures (the same measurement as `kefu kb
// eval`, with the shipped default segmenter and ranking) as a `kefu eval` section.
Result<nlohmann::json> FaqRetrievalSection(const std::string& data_arg) {
  const std::string dir = data_arg.empty() ? nlu::FindDataDir() : data_arg;
  if (dir.empty()) return NotFound("dataset directory not found: set KEFU_DATA or place ../shared/data next to the repo");
  const KnowledgeConfig kc;
  KEFU_ASSIGN_OR_RETURN(auto seg, text::CreateSegmenter(kc));
  knowledge::FaqEvalOptions eo;
  eo.csv_path = dir + "/faq/baoxianzhidao.train.csv";
  KEFU_ASSIGN_OR_RETURN(knowledge::FaqEvalResult r, knowledge::EvaluateFaq(*seg, eo));
  nlohmann::json j = {{"segmenter", kc.segmenter}, {"split", eo.split}, {"entries", r.entries},
                      {"queries", r.queries}, {"hit1", r.hit1}, {"hit5", r.hit5}, {"mrr", r.mrr},
                      {"search_us_mean", r.search_us_mean}, {"search_us_p99", r.search_us_p99}};
  j["markdown"] = fmt::format(
      "| faq_retrieval | hit@1 / hit@5 / MRR | {:.1f} % / {:.1f} % / {:.3f} | baoxianzhidao {} split: {} queries "
      "over {} entries, segmenter {}; search mean {:.0f} µs, p99 {:.0f} µs |\n",
      100 * r.hit1, 100 * r.hit5, r.mrr, eo.split, r.queries, r.entries, kc.segmenter, r.search_us_mean,
      r.search_us_p99);
  return j;
}

// The tenant's customer messages, one per line (line breaks inside a message
// become spaces; blank ones are left out): the unlabelled texts a deployment
// adapts its sentiment model on (docs/nlu.md, "Adapting the sentiment model").
void RunExportMessages(const KbCliDeps& deps, const std::string& tenant, int since_days, const std::string& out) {
  const Config config = OrFail(deps.load_config());
  const std::string db_path = (std::filesystem::path(config.storage.data_dir) / "kefu.db").string();
  if (!std::filesystem::exists(db_path)) Fail("no database at " + db_path + " (set --data-dir)");
  auto db = OrFail(deps.open_database(config));
  dialogue::ConversationStore store(*db, SystemClock::Instance());
  const int64_t since_ms =
      since_days > 0 ? SystemClock::Instance().NowMs() - static_cast<int64_t>(since_days) * 86'400'000 : 0;
  std::vector<std::string> texts;
  OrFail(store.ForEachCustomerText(tenant, since_ms, [&](const std::string& t) {
    std::string line = t;
    for (char& c : line) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    if (line.find_first_not_of(" \t") != std::string::npos) texts.push_back(std::move(line));
  }));
  if (out.empty()) {
    for (const auto& t : texts) std::cout << t << '\n';
  } else {
    OrFail(nlu::WriteTextLines(out, texts));
  }
  std::cerr << fmt::format("{} customer messages of tenant {}{}\n", texts.size(), tenant,
                           out.empty() ? std::string() : " written to " + out);
}

}  // namespace

void RegisterNluCommands(CLI::App& app, KbCliDeps deps) {
  auto* nlu = app.add_subcommand("nlu", "Train and run the sentiment, emotion and intent models");
  nlu->require_subcommand(1);

  auto train = std::make_shared<TrainArgs>();
  auto* t = nlu->add_subcommand("train", "Train a model from a CSV with columns text,label");
  t->add_option("--task", train->task, "sentiment | emotion | intent")->required();
  t->add_option("--train", train->train, "UTF-8 CSV with header text,label (intent: label oos = out of scope)")
      ->required();
  t->add_option("--out", train->out, "model file to write (.kmodel)")->required();
  t->add_option("--lang", train->lang, "zh | en: picks feature defaults (en adds character n-grams)");
  t->add_option("--unlabelled", train->unlabelled,
                "unlabelled texts, one per line, for self-training (option self_train: the probability a "
                "first model must give a text's label; sentiment default 0.7, training only the features the "
                "labelled data lacks) and for the word clusters (option clusters; sentiment default 2048)");
  t->add_option("--adapt", train->adapt,
                "sentiment: adapt the model to one domain's own unlabelled texts, one per line (e.g. kefu nlu "
                "export-messages): self-training on them alone, every weight retrained, each pseudo-labelled "
                "text weighing 4 labelled ones (docs/nlu.md)");
  t->add_option("--set", train->set, "training option key=value: kind (linear|fasttext), epoch, lr, word_ngrams, minn, "
                                     "maxn, min_count; linear: bits, weighting (idf|nb|binary), l2, words, balanced, "
                                     "calibration_folds, oos_recall, oos_score (top|top_minus_oos|log_odds_oos|log_odds_knn), knn_weight, "
                                     "prune, self_train, "
                                     "self_train_new_only, self_train_weight, self_train_rounds, clusters (0 = none), "
                                     "cluster_dim, cluster_epoch, cluster_min_count; fasttext: dim, bucket, cutoff, quantize, "
                                     "calibration_share, threads; repeatable");
  t->callback([train] { RunTrain(*train); });

  auto predict = std::make_shared<PredictArgs>();
  auto* p = nlu->add_subcommand("predict", "Classify one text per stdin line, one JSON object per output line");
  p->add_option("--task", predict->task, "sentiment | emotion | intent")->required();
  p->add_option("--model", predict->model, "model file (default: the shipped model of the task)");
  p->add_option("--top", predict->top, "also list the top K labels");
  p->callback([predict] { RunPredict(*predict); });

  auto intent_model = std::make_shared<std::string>();
  auto* an = nlu->add_subcommand("analyze", "Full per-turn analysis of each stdin line (a conversation), as JSON");
  an->add_option("--intent-model", *intent_model, "intent model (default: shipped demo tenant model; - = none)");
  an->callback([intent_model] { RunAnalyze(*intent_model); });

  auto splits_out = std::make_shared<std::string>();
  auto splits_data = std::make_shared<std::string>();
  auto* ms = nlu->add_subcommand("make-splits", "Write the deterministic train/dev CSVs used by kefu eval");
  ms->add_option("--out", *splits_out, "directory")->required();
  ms->add_option("--data", *splits_data, "dataset directory (default $KEFU_DATA or ../shared/data)");
  ms->callback([splits_out, splits_data] { RunMakeSplits(*splits_out, *splits_data); });

  struct ExportArgs {
    std::string tenant, out;
    int since_days = 0;
  };
  auto ex = std::make_shared<ExportArgs>();
  auto shared = std::make_shared<KbCliDeps>(std::move(deps));
  auto* em = nlu->add_subcommand("export-messages",
                                 "Write a tenant's customer messages, one per line (unlabelled text for "
                                 "adapting the sentiment model; uses --data-dir/--config)");
  em->add_option("--tenant", ex->tenant, "tenant id")->required();
  em->add_option("--since-days", ex->since_days, "only messages of the last N days (0 = all)")
      ->check(CLI::Range(0, 36500));
  em->add_option("--out", ex->out, "file to write (default: stdout)");
  em->callback([shared, ex] { RunExportMessages(*shared, ex->tenant, ex->since_days, ex->out); });
}

void RegisterEvalCommands(CLI::App& app) {
  struct EvalArgs {
    std::string data, json_out = "eval_report.json", md_out = "eval_report.md", demo;
    std::vector<std::string> only, set;
    bool inner_dev = false, extra_reviews = false;
  };
  auto a = std::make_shared<EvalArgs>();
  auto* e = app.add_subcommand("eval", "Evaluate the NLU models on dev splits of ../shared/data (JSON + Markdown)");
  e->add_option("--data", a->data, "dataset directory (default $KEFU_DATA or ../shared/data)");
  e->add_option("--json", a->json_out, "JSON report path");
  e->add_option("--md", a->md_out, "Markdown report path");
  e->add_option("--demo-intents", a->demo, "demo tenant intents CSV");
  e->add_option("--only", a->only, "sections: sentiment emotion banking77 clinc150 demo_intents latency faq_retrieval")->delimiter(',');
  e->add_option("--set", a->set, "section.key=value training override, e.g. banking77.epoch=40");
  e->add_flag("--inner-dev", a->inner_dev,
              "tuning mode: measure on dev splits carved from the training data (never the test splits)");
  e->add_flag("--extra-reviews", a->extra_reviews,
              "sentiment also trains on the extra polar reviews (weibo_senti, senticnet, BDCI car)");
  // kefu eval dialogue: the understanding benchmark through the real pipeline.
  auto d = std::make_shared<DialogueEvalOptions>();
  auto dout = std::make_shared<std::pair<std::string, std::string>>("dialogue_report.json", "dialogue_report.md");
  auto* dc = e->add_subcommand("dialogue",
                               "Replay tests/understanding (utterances + multi-turn exchanges) through a real demo "
                               "server; accuracy per category, confusions, CPU per turn (JSON + Markdown)");
  dc->add_option("--data", d->data_dir, "benchmark folder (default $KEFU_SOURCE_DIR/tests/understanding)");
  dc->add_option("--split", d->split, "dev (default), test (run once, at the end) or all")
      ->check(CLI::IsMember({"dev", "test", "all"}));
  dc->add_option("--only", d->only, "utterances or dialogues")->check(CLI::IsMember({"utterances", "dialogues"}));
  dc->add_option("--config", d->config_path, "server configuration to evaluate (e.g. with [llm])");
  dc->add_option("--json", dout->first, "JSON report path");
  dc->add_option("--md", dout->second, "Markdown report path");
  dc->add_option("--turns", d->turns_path, "every turn with its verdict and the reply's meta (JSON Lines)");
  dc->add_flag("!--no-agents", d->agents_online, "leave every agent offline (handoffs become leave-a-message)");
  dc->callback([d, dout] {
    auto r = RunDialogueEval(*d);
    if (!r.ok()) Fail(r.status().ToString());
    const std::string md = dialogue::UnderstandingReport::Markdown(*r);
    std::ofstream(dout->first) << r->dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    std::ofstream(dout->second) << md;
    std::cout << md;
  });
  e->callback([a, dc] {
    if (dc->parsed()) return;
    nlu::EvalOptions o;
    o.extra_polar_reviews = a->extra_reviews;
    o.data_dir = a->data;
    o.demo_intents_csv = a->demo;
    o.only = a->only;
    o.inner_dev = a->inner_dev;
    if (!a->inner_dev) o.extra_sections["faq_retrieval"] = [data = a->data] { return FaqRetrievalSection(data); };
    std::map<std::string, std::string> kinds;  // section -> model kind named in --set
    for (const auto& s : a->set) {
      const size_t dot = s.find('.');
      if (dot != std::string::npos && s.compare(dot + 1, 5, "kind=") == 0) kinds[s.substr(0, dot)] = s.substr(dot + 6);
    }
    for (const auto& s : a->set) {
      const size_t dot = s.find('.');
      if (dot == std::string::npos) Fail("--set expects section.key=value, got " + s);
      const std::string section = s.substr(0, dot);
      if (!o.options.count(section)) {
        const bool en = section == "banking77" || section == "clinc150";
        const Task task = section == "sentiment" ? Task::kSentiment
                          : section == "emotion" ? Task::kEmotion : Task::kIntent;
        o.options[section] = nlu::DefaultTrainOptions(task, en ? "en" : "zh",
                                                      kinds.count(section) ? kinds[section] : "linear");
      }
      OrFail(nlu::ApplyOption(o.options[section], s.substr(dot + 1)));
    }
    nlohmann::json report = nlu::RunEvaluation(o);
    const std::string md = nlu::EvaluationMarkdown(report);
    std::ofstream(a->json_out) << report.dump(2) << "\n";
    std::ofstream(a->md_out) << md;
    std::cout << md;
  });
}

}  // namespace kefu::app
