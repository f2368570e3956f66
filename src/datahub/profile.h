// ProfileService: the 360° view of one customer as JSON, built from the
// tenant's tables on every call (no cache): demographics, tier, RFM and
// lifetime value, recent orders with their logistics state, open tickets,
// past conversations with the emotion history of their customer messages
// (messages.meta.analysis), recent browsing and transactions, and the
// channel identities. A merged customer is shown as its whole cluster:
// asking for any record of it returns the root's profile.
//
// Used by GET /v1/customers/{id}/profile and meant for the agent workspace's
// customer panel. Threads: any thread; the Database serialises reads. The
// Database, IdentityService and Clock must outlive the service.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/status.h"
#include "datahub/identity.h"
#include "storage/database.h"

namespace kefu::datahub {

struct ProfileOptions {
  int recent_orders = 5;
  int conversations = 5;
  int messages_per_conversation = 50;  // customer turns scanned for emotions
  int browsing = 20;
  int transactions = 10;
  int tickets = 10;
};

class ProfileService {
 public:
  ProfileService(storage::Database& db, IdentityService& identity, const Clock& clock)
      : db_(db), identity_(identity), clock_(clock) {}

  // NotFound when the customer does not exist in the tenant.
  Result<nlohmann::json> Get(const std::string& tenant, const std::string& customer_id,
                             const ProfileOptions& options = {});

  // The customer's conversations over the whole cluster, newest first:
  // [{"id","customer_id","channel","status","created_ms","updated_ms"}].
  Result<nlohmann::json> Conversations(const std::string& tenant, const std::string& customer_id, int limit);

 private:
  storage::Database& db_;
  IdentityService& identity_;
  const Clock& clock_;
};

}  // namespace kefu::datahub
