#include "support/test_server.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace kefu::testing {

namespace fs = std::filesystem;

fs::path FreshTestDir(const std::string& prefix, bool per_test) {
  std::string name = "kefu_" + prefix + "_" + std::to_string(::getpid());
  if (per_test)
    if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info()) name += "_" + std::string(info->name());
  fs::path dir = fs::temp_directory_path() / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

Config TestConfig(const fs::path& dir, const std::string& log_level) {
  auto cfg = Config::Parse("", {});  // the defaults parse by construction
  Config c = cfg.ok() ? *cfg : Config{};
  c.server.port = 0;
  c.server.host = "127.0.0.1";
  c.storage.data_dir = dir.string();
  c.log.level = log_level;
  c.agents.pwhash_ops = 1;
  c.agents.pwhash_mem_kib = 64;
  // No speech engines unless a test asks (loading pocketsphinx costs every server start);
  // the voice endpoint then answers 503.
  c.asr.engine = "none";
  c.tts.engine = "none";
  return c;
}

Result<std::unique_ptr<app::ServerApp>> StartServer(const Config& config, bool demo) {
  app::ServeOptions opts;
  opts.demo = demo;
  KEFU_ASSIGN_OR_RETURN(auto app, app::ServerApp::Create(config, opts));
  KEFU_RETURN_IF_ERROR(app->Start());
  return app;
}

}  // namespace kefu::testing
