// CLI commands of the NLU module, registered on the `kefu` binary's CLI11 app:
//   kefu nlu train | predict | analyze | make-splits
//   kefu eval
// Errors are printed to stderr and end the command with CLI::RuntimeError(1).
#pragma once

#include <CLI/CLI.hpp>

namespace kefu::app {

void RegisterNluCommands(CLI::App& app);
void RegisterEvalCommands(CLI::App& app);

}  // namespace kefu::app
