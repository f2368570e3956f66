// Api: kefu's HTTP/WebSocket/SSE routes (docs/api.md, GET /openapi.json).
// Parses and validates everything at the edge (JSON, UTF-8, sizes, ids) and
// hands typed values to the dialogue service; handlers never block an I/O
// thread on anything slower than a cached lookup: turns, imports and tool
// calls run on the worker pool.
#pragma once

#include <memory>

#include "api/tenants.h"
#include "api/voice_socket.h"
#include "bus/event_bus.h"
#include "channels/intake.h"
#include "common/config.h"
#include "common/metrics.h"
#include "common/thread_pool.h"
#include "dialogue/conversation_service.h"
#include "dialogue/conversation_store.h"
#include "dialogue/hub.h"
#include "http/server.h"
#include "knowledge/knowledge_base.h"
#include "storage/database.h"
#include "tools/tool.h"

namespace kefu::api {

struct ApiDeps {
  const Config& config;
  dialogue::ConversationService& service;
  dialogue::ConversationStore& store;
  dialogue::ConversationHub& hub;
  knowledge::KnowledgeBase& kb;
  tools::ToolRegistry& tools;
  TenantDirectory& tenants;
  metrics::Registry& metrics;
  ThreadPool& workers;
  // Data hub: resolves a channel identity (kind, value) to the tenant's
  // customer id for POST /v1/conversations {"identity": {...}}; unset =
  // only customer_id is accepted.
  std::function<Result<std::string>(const std::string& tenant, const std::string& kind,
                                    const std::string& value)>
      resolve_identity = nullptr;
  // Message center: a signed customer token → (tenant, customer id), for
  // POST /v1/conversations {"customer_token"}; unset = tokens are refused.
  std::function<Result<std::pair<std::string, std::string>>(const std::string& token)> verify_customer_token = nullptr;
  // GET /healthz: 503 with the storage failure while the database cannot
  // store data (storage::StorageHealth); unset = always healthy.
  storage::Database* storage = nullptr;
  // GET /healthz "bus": 503 while the bus cannot reach Redis (bus::BusHealth);
  // unset = not reported.
  const bus::EventBus* bus = nullptr;
  // Pictures on customer messages (src/channels): validation, the blob
  // store, OCR. Unset = messages with pictures are refused (415).
  channels::PictureIntake* pictures = nullptr;
  // The voice channel (GET /v1/conversations/{id}/voice): engines, workers,
  // settings. Unset = the endpoint answers 503.
  const VoiceDeps* voice = nullptr;
};

// Widget settings shown to customers (name, greeting, quick questions ...).
// Provided by app/ so that the API layer stays independent of the demo data.
using WidgetConfigFn = std::function<nlohmann::json(const Tenant&)>;

// Owns the route handlers; must outlive the server's use of them (stop the
// server before destroying it).
class ApiRoutes {
 public:
  virtual ~ApiRoutes() = default;
};

std::unique_ptr<ApiRoutes> RegisterRoutes(http::Server& server, const ApiDeps& deps, WidgetConfigFn widget_config);

}  // namespace kefu::api
