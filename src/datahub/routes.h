// The data hub's HTTP routes (docs/datahub.md, described in the OpenAPI under
// the "datahub" fragment):
//   POST /v1/ingest/{kind}                    JSON batch, API key
//   POST /v1/webhooks/ingest/{kind}           signed webhook (X-Kefu-Tenant, -Timestamp, -Signature)
//   POST /v1/ingest/webhook-secret/rotate     new webhook secret, API key
//   GET  /v1/customers/{id}/profile           360° profile, API key
//   GET  /v1/customers/{id}/conversations     every channel's conversations, API key
//   GET  /v1/identity/resolve                 ?kind=&value= -> customer, API key
//   GET  /v1/identity/suggestions             merge suggestions, API key
//   POST /v1/identity/suggestions/{id}/reject
//   POST /v1/identity/merge | /v1/identity/unmerge
//   GET  /v1/identity/merges                  the merge/unmerge audit
// Handlers parse and authenticate on the I/O thread and run the database work
// on the worker pool.
#pragma once

#include <memory>

#include "api/tenants.h"
#include "common/thread_pool.h"
#include "datahub/identity.h"
#include "datahub/ingest.h"
#include "datahub/profile.h"
#include "datahub/webhook.h"
#include "http/server.h"

namespace kefu::datahub {

struct RouteDeps {
  api::TenantDirectory& tenants;
  IngestService& ingest;
  IdentityService& identity;
  ProfileService& profile;
  WebhookVerifier& webhooks;
  ThreadPool& workers;
};

// Owns the handlers' state; keep it alive while the server runs.
class DatahubRoutes {
 public:
  virtual ~DatahubRoutes() = default;
};

// Registers the routes and the "datahub" OpenAPI fragment.
std::unique_ptr<DatahubRoutes> RegisterDatahubRoutes(http::Server& server, const RouteDeps& deps);

// The OpenAPI paths and schemas of the routes above (also used by docs tests).
void DescribeDatahubApi(nlohmann::json& paths, nlohmann::json& schemas);

}  // namespace kefu::datahub
