// Command-line tools for the knowledge base: `kefu kb import|search|eval`.
// The app's main() registers them with RegisterKbCommands and supplies how to load the
// configuration and open the database (both are the app's business, not the KB's).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/config.h"
#include "common/status.h"
#include "knowledge/knowledge_base.h"
#include "storage/database.h"

namespace CLI {
class App;
}

namespace kefu::app {

struct KbEvalOptions {
  std::string data_dir;            // empty: $KEFU_DATA, else ../shared/data (from the repo root)
  std::string segmenter = "all";   // hybrid | jieba | jieba-plain | icu | bigram | all
  std::string jieba_dict = KnowledgeConfig{}.jieba_dict;
  std::string split = "test";      // dev | test | all
  int max_entries = 0;             // > 0: a small KB of this many entries (latency at demo size)
  bool question_text = false;      // query with title + question text
  bool all_replies = false;        // index every reply, not only the accepted ones
  knowledge::RankingOptions ranking;
  std::string json_out;            // also write the results as JSON here
  // Non-empty: instead of the FAQ, evaluate held-out alternate questions of this Markdown KB.
  std::string paraphrase_kb;
};

// Runs the FAQ retrieval evaluation (knowledge/eval.h) for the chosen segmenters, prints a
// Markdown table to stdout. Returns a process exit code (0 = ok).
int RunKbEval(const KbEvalOptions& options);

struct KbCliDeps {
  // Loads the configuration (called after the command line is parsed).
  std::function<Result<Config>()> load_config;
  // Opens the migrated database described by `config`.
  std::function<Result<std::unique_ptr<storage::Database>>(const Config&)> open_database;
};

// Adds the `kb` subcommand with `import`, `search` and `eval` to `app`. Failures are
// reported on stderr and end the process through CLI::RuntimeError(exit code), which
// CLI11_PARSE / app.exit() turn into the exit status.
void RegisterKbCommands(CLI::App& app, KbCliDeps deps);

}  // namespace kefu::app
