// In-process kefu servers for integration tests: the settings every test
// server shares (127.0.0.1, port 0, its own data directory, quiet logs, fast
// password hashing) and one call that creates and starts a ServerApp. Real
// SQLite, real HTTP and WebSockets; nothing is mocked.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "app/server_app.h"
#include "common/config.h"
#include "common/status.h"

namespace kefu::testing {

// A fresh, empty directory under the system temp dir, unique to this process
// and (when `per_test`) to the running test: `kefu_<prefix>_<pid>[_<test>]`.
std::filesystem::path FreshTestDir(const std::string& prefix, bool per_test = false);

// The defaults plus: host 127.0.0.1, port 0, data in `dir`, log level `log_level`,
// argon2id at its cheapest (tests create and log in many accounts), no ASR/TTS
// engines (set asr.engine / tts.engine for the voice channel).
Config TestConfig(const std::filesystem::path& dir, const std::string& log_level = "error");

// Creates and starts a server (the demo tenant when `demo`); the port is `app->port()`.
Result<std::unique_ptr<app::ServerApp>> StartServer(const Config& config, bool demo = true);

}  // namespace kefu::testing
