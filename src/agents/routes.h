// The agent workspace's HTTP and WebSocket routes (docs/agents.md):
// /v1/agent/*, /v1/supervisor/*, /v1/admin/*, /v1/conversations/{id}/decisions
// and GET /v1/agent/ws. Handlers parse and validate at the edge, then run on
// the routes' own worker pool (password hashing and SQLite never run on an
// I/O thread); the WebSocket handshake only does a cached token lookup.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "agents/accounts.h"
#include "agents/agent_notifier.h"
#include "agents/desk.h"
#include "agents/login_limiter.h"
#include "api/tenants.h"
#include "channels/blob_store.h"
#include "common/config.h"
#include "common/metrics.h"
#include "http/server.h"

namespace kefu::agents {

// POST /v1/agent/login's defences (docs/agents.md, "Login throttling"): the
// limiter's limits, checked before any hash, and the bounded pool on which
// every password is hashed or verified (logins, and admin account changes
// that set a password), apart from the pool that serves agent requests.
struct LoginSettings {
  LoginLimits limits;
  int hash_threads = 2;         // argon2id at 64 MiB each: 2 threads = 128 MiB
  int hash_queue = 32;          // waiting hashes; beyond, 503 unavailable + Retry-After: 1 at once
  std::string trusted_proxies;  // comma-separated addresses whose X-Forwarded-For is believed ("" = none)
};
// From the [agents] section (validated by Config::Parse).
LoginSettings LoginSettingsFrom(const AgentsConfig& config);

// The desk's AgentNotifier on the agent workspace's WebSockets: the open
// connections of each agent (registered by GET /v1/agent/ws, after the desk's
// hello frame) get the desk's frames. Thread-safe; Send only queues on the
// connections. Create it before the desk and keep it until the desk is gone.
class WsAgentFeed final : public AgentNotifier {
 public:
  explicit WsAgentFeed(metrics::Registry& metrics);
  void Send(const std::string& tenant_id, const std::string& agent_id, const std::string& frame) override;
  void Add(const std::string& tenant_id, const std::string& agent_id, const std::shared_ptr<http::WsConnection>& conn);
  void Remove(const std::string& tenant_id, const std::string& agent_id, uint64_t conn_id);

 private:
  metrics::Counter& frames_;
  std::mutex mu_;
  // tenant/id → its open workspace connections
  std::unordered_map<std::string, std::vector<std::weak_ptr<http::WsConnection>>> conns_;  // GUARDED_BY(mu_)
};

// Owns the handlers' state and worker pool; keep it alive until the server
// has stopped.
class AgentRoutes {
 public:
  virtual ~AgentRoutes() = default;
};

std::unique_ptr<AgentRoutes> RegisterAgentRoutes(http::Server& server, Desk& desk, WsAgentFeed& feed,
                                                 AccountStore& accounts, api::TenantDirectory& tenants,
                                                 metrics::Registry& metrics,
                                                 const LoginSettings& login = {}, int worker_threads = 2,
                                                 channels::BlobStore* blobs = nullptr);

}  // namespace kefu::agents
