// kefu: the command-line entry point. Subcommands only parse flags and call
// into app/ and the modules; nothing else lives here.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "app/import_cli.h"
#include "app/kb_cli.h"
#include "app/nlu_cli.h"
#include "app/ocr_cli.h"
#include "app/server_app.h"
#include "app/voice_cli.h"
#include "common/config.h"
#include "common/log.h"

namespace {

int Serve(const std::string& config_path, bool demo, int port, const std::string& data_dir, const std::string& host,
          const std::string& port_file) {
  auto config = kefu::Config::Load(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "kefu: invalid configuration: %s\n", config.status().message().c_str());
    return 2;
  }
  if (port >= 0) config->server.port = port;
  if (!data_dir.empty()) config->storage.data_dir = data_dir;
  if (!host.empty()) config->server.host = host;
  if (demo) kefu::app::ApplyDemoDefaults(*config);  // e.g. the demo's customer picker (unless configured)
  kefu::log::Init(config->log.level, config->log.json);
  kefu::app::ServeOptions options;
  options.demo = demo;
  options.port_file = port_file;
  auto app = kefu::app::ServerApp::Create(*config, options);
  if (!app.ok()) {
    std::fprintf(stderr, "kefu: cannot start: %s\n", app.status().ToString().c_str());
    return 1;
  }
  kefu::Status started = (*app)->Start();
  if (!started.ok()) {
    std::fprintf(stderr, "kefu: cannot start: %s\n", started.ToString().c_str());
    return 1;
  }
  (*app)->RunUntilSignal();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"kefu — self-hosted LLM customer-service engine"};
  cli.require_subcommand(1);
  cli.set_version_flag("--version", std::string("kefu 0.1.0"));

  std::string config_path, data_dir, host, port_file;
  bool demo = false;
  int port = -1;
  auto* serve = cli.add_subcommand("serve", "Run the HTTP/WebSocket server");
  serve->add_option("--config", config_path, "TOML configuration file (see docs/operations.md)");
  serve->add_flag("--demo", demo, "Load the demo tenant 示例商城 (widget key 'demo') on first start");
  serve->add_option("--port", port, "Listen port (default 8080; 0 = any free port)")->check(CLI::Range(0, 65535));
  serve->add_option("--host", host, "Listen address (default 0.0.0.0)");
  serve->add_option("--data-dir", data_dir, "State directory (default ./data)");
  serve->add_option("--port-file", port_file, "Write the bound port to this file once listening");
  serve->callback([&] { std::exit(Serve(config_path, demo, port, data_dir, host, port_file)); });

  std::string global_config, global_data_dir;
  cli.add_option("--config", global_config, "TOML configuration file for kb/nlu commands");
  cli.add_option("--data-dir", global_data_dir, "State directory for kb commands (default ./data)");
  kefu::app::KbCliDeps kb_deps;
  kb_deps.load_config = [&]() -> kefu::Result<kefu::Config> {
    auto c = kefu::Config::Load(global_config);
    if (c.ok() && !global_data_dir.empty()) c->storage.data_dir = global_data_dir;
    return c;
  };
  kb_deps.open_database = [](const kefu::Config& c) { return kefu::app::OpenDatabase(c); };
  kefu::app::RegisterKbCommands(cli, kb_deps);
  kefu::app::RegisterImportCommand(cli, kb_deps);  // data hub: kefu import
  kefu::app::RegisterNluCommands(cli, kb_deps);
  kefu::app::RegisterEvalCommands(cli);
  kefu::app::RegisterOcrCommand(cli, kb_deps.load_config);  // pictures: kefu ocr FILE
  kefu::app::RegisterVoiceCommands(cli, kb_deps.load_config);  // kefu asr, kefu tts, kefu eval voice (after eval)

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }
  return 0;
}
