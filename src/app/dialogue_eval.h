// `kefu eval dialogue`: replays the understanding benchmark
// (tests/understanding: utterances.jsonl and dialogues.jsonl) through the
// real pipeline: a ServerApp with the demo tenant in a temporary data
// directory, driven over real HTTP on loopback, one conversation per
// utterance and per exchange. Each turn is judged by dialogue::Judge; the
// report gives accuracy per action, language, style and phenomenon, the
// confusions, the targets and the server CPU per turn, as JSON and
// Markdown.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace kefu::app {

struct DialogueEvalOptions {
  std::string data_dir;          // folder with utterances.jsonl + dialogues.jsonl ("" = tests/understanding)
  std::string split = "dev";     // dev | test | all
  std::string config_path;       // TOML config for the server under test ("" = defaults)
  bool agents_online = true;     // agent1 is online, so handoffs are assigned or queued, not left as messages
  std::string only;              // "" | utterances | dialogues
  std::string turns_path;        // every turn with its verdict and reply meta, as JSON Lines ("" = none)
};

Result<nlohmann::json> RunDialogueEval(const DialogueEvalOptions& options);

}  // namespace kefu::app
