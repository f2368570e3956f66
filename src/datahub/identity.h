// IdentityService: one customer across channels. Channel identities (phone,
// email, app user id, WeChat openid/unionid, device id, loyalty number) point
// at customer records in `customer_identities`; records of the same person are
// linked by `customers.merged_into` (always the root, never a chain), so an
// unmerge restores exactly the record that was merged and nothing is copied.
//
// Strong identifiers (phone, email, wechat_unionid, app_user_id, loyalty_no)
// merge automatically when a second record claims one; weak ones (device_id,
// wechat_openid, name + city) only create a merge suggestion. Every merge and
// unmerge is written to the `customer_merges` audit table.
//
// Threads: any thread. Methods taking a storage::Session run inside the
// caller's session/transaction (the ingestion service uses them per row); the
// others lock the Database themselves. The Database and Clock must outlive
// the service.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/status.h"
#include "storage/database.h"

namespace kefu::datahub {

// The identity kinds, in the order they are documented.
inline constexpr std::string_view kIdentityKinds[] = {"phone",        "email",          "app_user_id", "wechat_openid",
                                                      "wechat_unionid", "device_id",    "loyalty_no"};
bool IsIdentityKind(std::string_view kind);
bool IsStrongIdentity(std::string_view kind);

struct Identity {
  std::string kind;
  std::string value;
};

// Normalises a value of `kind` (phone: digits only without +86/0086; email:
// lower case); InvalidArgument naming the problem when it is not one.
Result<std::string> NormalizeIdentity(std::string_view kind, std::string_view value);

// What attaching identities to a customer did.
struct AttachOutcome {
  std::vector<std::string> merged_into;  // roots this record (or its root) was merged into
  int suggestions = 0;                   // merge suggestions created
};

struct MergeSuggestion {
  int64_t id = 0;
  std::string customer_a;
  std::string customer_b;
  std::string reason;
  std::string status;  // open | accepted | rejected
  int64_t created_ms = 0;
  nlohmann::json ToJson() const;
};

struct MergeAudit {
  int64_t id = 0;
  std::string action;  // merge | unmerge
  std::string primary_id;
  std::string secondary_id;
  std::string reason;
  std::string actor;  // "auto" for automatic merges, else the API caller
  int64_t created_ms = 0;
  nlohmann::json ToJson() const;
};

class IdentityService {
 public:
  IdentityService(storage::Database& db, const Clock& clock) : db_(db), clock_(clock) {}

  // --- inside the caller's session (and transaction) ---

  // The root record of `customer_id` (itself when not merged); NotFound when
  // the customer does not exist.
  Result<std::string> Canonical(storage::Session& s, const std::string& tenant, const std::string& customer_id);
  // Records `ids` (already normalised) for the customer, merges on strong
  // conflicts, suggests on weak ones and on the same name + city.
  Result<AttachOutcome> Attach(storage::Session& s, const std::string& tenant, const std::string& customer_id,
                               const std::vector<Identity>& ids, const std::string& source);

  // --- self-locking ---

  // The root customer an identity belongs to; NotFound when unknown.
  Result<std::string> Resolve(const std::string& tenant, const std::string& kind, const std::string& value);
  // Resolve, or create a new customer record carrying this identity (a first
  // contact on a new channel). Returns the root customer id.
  Result<std::string> ResolveOrCreate(const std::string& tenant, const std::string& kind, const std::string& value);
  // Every record id in the customer's cluster (root first).
  Result<std::vector<std::string>> ClusterIds(const std::string& tenant, const std::string& customer_id);
  Result<std::vector<std::string>> ClusterIds(storage::Session& s, const std::string& tenant,
                                              const std::string& customer_id);

  // Merges the cluster of `secondary` into the cluster of `primary`.
  // FailedPrecondition when they already are one; NotFound for unknown ids.
  Status Merge(const std::string& tenant, const std::string& primary, const std::string& secondary,
               const std::string& reason, const std::string& actor);
  // Detaches `customer_id` from the record it was merged into.
  // FailedPrecondition when it is not merged.
  Status Unmerge(const std::string& tenant, const std::string& customer_id, const std::string& reason,
                 const std::string& actor);

  Result<std::vector<MergeSuggestion>> Suggestions(const std::string& tenant, const std::string& status, int limit);
  // Marks an open suggestion rejected; NotFound / FailedPrecondition otherwise.
  Status RejectSuggestion(const std::string& tenant, int64_t id, const std::string& actor);
  // Newest first.
  Result<std::vector<MergeAudit>> Audit(const std::string& tenant, int limit);

 private:
  Status MergeLocked(storage::Session& s, const std::string& tenant, const std::string& primary,
                     const std::string& secondary, const std::string& reason, const std::string& actor);
  Status Suggest(storage::Session& s, const std::string& tenant, const std::string& a, const std::string& b,
                 const std::string& reason, int& created);

  storage::Database& db_;
  const Clock& clock_;
};

}  // namespace kefu::datahub
