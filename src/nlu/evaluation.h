// `kefu eval`: trains on the deterministic train splits of ../shared/data,
// measures on the dev splits, and renders a JSON and a Markdown report.
// Single-threaded caller; runs for minutes (training), so call it off any I/O thread.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "nlu/classifier.h"

namespace kefu::nlu {

struct EvalOptions {
  std::string data_dir;                 // empty = FindDataDir()
  std::string demo_intents_csv;         // empty = <source>/demo/intents/intents.csv
  std::vector<std::string> only;        // subset of sections to run (empty = all):
                                        // sentiment, emotion, banking77, clinc150, demo_intents, latency
  std::map<std::string, TrainOptions> options;  // per-section training options overriding the defaults
  int emotion_folds = 5;
  // Tuning mode: every section is measured on an inner dev split (20 %, by text
  // hash) carved from its training data instead of its test data; emotion CV
  // runs on the other 80 %; the waimai cross-domain test is left out.
  bool inner_dev = false;
  // Sentiment also trains on LoadExtraPolarReviews() (Weibo, senticnet, BDCI car).
  bool extra_polar_reviews = false;
  // Extra sections provided by other modules (e.g. FAQ retrieval from `kefu kb eval`);
  // each returns a JSON object with a "markdown" string and any figures.
  std::map<std::string, std::function<Result<nlohmann::json>()>> extra_sections;
};

// Runs the evaluation. Sections whose data is missing are reported as
// {"skipped": "<reason>"}; never fails because a dataset is absent.
nlohmann::json RunEvaluation(const EvalOptions& options);

// Markdown rendering of RunEvaluation()'s JSON.
std::string EvaluationMarkdown(const nlohmann::json& report);

// Training options named by "key=value" (dim, epoch, lr, word_ngrams, minn, maxn,
// bucket, min_count, threads, quantize, cutoff, dsub, calibration_share).
Status ApplyOption(TrainOptions& options, const std::string& key_value);

}  // namespace kefu::nlu
