// HTTP routes of the message center (docs/inbox.md, docs/api.md "Message
// center"): the admin inbox API and webhook administration (tenant API key),
// and the customer-facing inbox read path (signed customer token). Routes are
// described in the OpenAPI document through the "inbox" fragment.
// Handlers run on I/O threads and do only short indexed SQLite work.
#pragma once

#include <cstdint>
#include <memory>

#include "api/tenants.h"
#include "http/server.h"
#include "inbox/customer_tokens.h"
#include "inbox/message_center.h"
#include "inbox/webhooks.h"

namespace kefu::inbox {

struct RouteDeps {
  api::TenantDirectory& tenants;
  MessageCenter& center;
  Webhooks& webhooks;
  CustomerTokens& tokens;
  int64_t default_token_ttl_s = 86'400;
};

// Owns the handlers' state; keep it alive while the server runs.
class InboxRoutes {
 public:
  virtual ~InboxRoutes() = default;
};

// Registers the routes (before server.Start()) and the OpenAPI fragment.
std::unique_ptr<InboxRoutes> RegisterInboxRoutes(http::Server& server, const RouteDeps& deps);

}  // namespace kefu::inbox
