// CLI commands of the NLU module, registered on the `kefu` binary's CLI11 app:
//   kefu nlu train | predict | analyze | make-splits | export-messages
//   kefu eval
// Errors are printed to stderr and end the command with CLI::RuntimeError(1).
#pragma once

#include <CLI/CLI.hpp>

#include "app/kb_cli.h"

namespace kefu::app {

// `deps` opens the state database (export-messages).
void RegisterNluCommands(CLI::App& app, KbCliDeps deps);
void RegisterEvalCommands(CLI::App& app);

}  // namespace kefu::app
