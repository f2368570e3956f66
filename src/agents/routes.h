// The agent workspace's HTTP and WebSocket routes (docs/agents.md):
// /v1/agent/*, /v1/supervisor/*, /v1/admin/*, /v1/conversations/{id}/decisions
// and GET /v1/agent/ws. Handlers parse and validate at the edge, then run on
// the routes' own worker pool (password hashing and SQLite never run on an
// I/O thread); the WebSocket handshake only does a cached token lookup.
#pragma once

#include <memory>

#include "agents/accounts.h"
#include "agents/desk.h"
#include "api/tenants.h"
#include "http/server.h"

namespace kefu::agents {

// Owns the handlers' state and worker pool; keep it alive until the server
// has stopped.
class AgentRoutes {
 public:
  virtual ~AgentRoutes() = default;
};

std::unique_ptr<AgentRoutes> RegisterAgentRoutes(http::Server& server, Desk& desk, AccountStore& accounts,
                                                 api::TenantDirectory& tenants, int worker_threads = 2);

}  // namespace kefu::agents
