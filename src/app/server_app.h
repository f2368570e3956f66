// ServerApp: builds kefu's object graph from a Config and runs the server.
// This is the only place that knows the concrete implementations behind the
// interfaces (LlmClient, Responder, Segmenter ...). Used by `kefu serve` and
// by the integration tests, which start it on port 0.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bus/event_bus.h"
#include "common/config.h"
#include "common/status.h"
#include "storage/database.h"

namespace kefu::app {

struct ServeOptions {
  bool demo = false;          // load the demo tenant 示例商城 on first start
  std::string port_file;      // write the bound port here once listening
};

// Opens (creating) data_dir/kefu.db and applies the schema migrations.
Result<std::unique_ptr<storage::Database>> OpenDatabase(const Config& config);

// `kefu serve --demo`: the settings the demo needs where the config file and
// the environment leave them unset (Config::IsExplicit). Today one:
// dialogue.require_verified_customer = false, so that the demo widget's
// customer picker shows that customer's orders. Everywhere else the default
// (true) stands.
void ApplyDemoDefaults(Config& config);

class ServerApp {
 public:
  static Result<std::unique_ptr<ServerApp>> Create(const Config& config, const ServeOptions& options);
  ~ServerApp();

  Status Start();
  int port() const;
  // "GET /v1/x" for every route served (the OpenAPI consistency test uses it).
  std::vector<std::string> Routes() const;
  // Graceful: stops taking new turns, finishes in-flight ones (up to
  // server.shutdown_grace_ms), then closes connections. Idempotent.
  void Stop();
  // Blocks until SIGINT/SIGTERM, then Stop().
  void RunUntilSignal();

  // Tests only: the server's database (e.g. to make writes fail).
  storage::Database& DatabaseForTesting();
  // Tests only: the server's event bus (e.g. to wait until Redis confirmed
  // its subscriptions).
  bus::EventBus& BusForTesting();

  struct Impl;

 private:
  explicit ServerApp(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kefu::app
