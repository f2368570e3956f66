// `kefu eval voice`: how well and how fast the configured voice engines work.
// - Recorded speech: ../shared/data/speech (wenet_test/metadata.tsv and
//   speechcolab_mini/MINI_EN|MINI_ZH/metadata.tsv): word error rate for
//   English, character error rate for Chinese. pocketsphinx has no Chinese
//   model, so the Chinese sets are reported as skipped unless [asr] names an
//   OpenAI-compatible server.
// - Round trip: realistic customer-service sentences (written here) spoken
//   by the [tts] engine and transcribed back by the [asr] engine (English).
// - Latency: the ASR real-time factor per set, and the TTS time to the first
//   audio of a reply's first sentence (and to all of it).
// WER/CER come from voice::Align (our own edit distance); --trn-dir also
// writes sclite reference/hypothesis files to cross-check them.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "common/config.h"
#include "common/status.h"

namespace kefu::app {

struct VoiceEvalOptions {
  std::string data_dir;  // "" = $KEFU_DATA or ../shared/data
  std::string trn_dir;   // "" = no sclite files
  bool round_trip = true;
};

Result<nlohmann::json> RunVoiceEval(const Config& config, const VoiceEvalOptions& options);
std::string VoiceEvalMarkdown(const nlohmann::json& report);

void RegisterVoiceEval(CLI::App& eval, std::function<Result<Config>()> load_config);

}  // namespace kefu::app
