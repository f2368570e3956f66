// CustomerTokens: signed, expiring capabilities that let a customer's app
// read that customer's inbox directly (docs/inbox.md, "Customer tokens").
//
// The business backend, which knows who its logged-in user is, mints a token
// with its API key (POST /v1/customers/{id}/inbox/token) and hands it to its
// app; kefu never trusts a customer id the client merely claims. A token is
//   "kct1." + base64url(tenant_id "\n" customer_id "\n" expires_ms) + "." +
//   base64url(HMAC-SHA256(tenant key, everything before the last "."))
// where the tenant key is 32 random bytes kept in inbox_token_keys, created on
// first use. Tokens cannot be revoked one by one before they expire (rotate
// the key by deleting its row to revoke them all).
// Thread-safe; keys are cached in memory. `db` and `clock` must outlive it.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/clock.h"
#include "common/status.h"
#include "storage/database.h"

namespace kefu::inbox {

struct CustomerIdentity {
  std::string tenant_id;
  std::string customer_id;
  int64_t expires_ms = 0;
};

struct MintedToken {
  std::string token;
  int64_t expires_ms = 0;
};

class CustomerTokens {
 public:
  CustomerTokens(storage::Database& db, const Clock& clock) : db_(db), clock_(clock) {}

  Result<MintedToken> Mint(const std::string& tenant_id, const std::string& customer_id, int64_t ttl_s);
  // Unauthenticated for a malformed, forged or expired token.
  Result<CustomerIdentity> Verify(const std::string& token);

 private:
  Result<std::string> KeyFor(const std::string& tenant_id, bool create);

  storage::Database& db_;
  const Clock& clock_;
  std::mutex mu_;
  std::unordered_map<std::string, std::string> keys_;  // GUARDED_BY(mu_): tenant -> raw key
};

}  // namespace kefu::inbox
