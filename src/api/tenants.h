// TenantDirectory: resolves the credentials on a request to a tenant.
// Widget keys are public identifiers of a tenant's chat widget; API keys are
// secrets for admin routes and integrations and are stored only as SHA-256.
// Thread-safe; lookups are cached in memory (tenants change rarely).
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/clock.h"
#include "common/status.h"
#include "storage/database.h"

namespace kefu::api {

struct Tenant {
  std::string id;
  std::string name;
  std::string widget_key;
};

class TenantDirectory {
 public:
  TenantDirectory(storage::Database& db, const Clock& clock) : db_(db), clock_(clock) {}

  Result<Tenant> ByWidgetKey(const std::string& widget_key);
  Result<Tenant> ByApiKey(const std::string& api_key);
  Result<Tenant> ById(const std::string& id);
  // Creates the tenant if missing (widget key must be unique).
  Result<Tenant> Ensure(const std::string& id, const std::string& name, const std::string& widget_key);
  // Registers an API key for the tenant (idempotent).
  Status AddApiKey(const std::string& tenant_id, const std::string& api_key, const std::string& name);

 private:
  Result<Tenant> Query(const char* sql, const std::string& arg);

  storage::Database& db_;
  const Clock& clock_;
  std::mutex mu_;
  std::unordered_map<std::string, Tenant> by_widget_;  // GUARDED_BY(mu_)
  std::unordered_map<std::string, Tenant> by_key_;     // GUARDED_BY(mu_), keyed by SHA-256 hex
};

}  // namespace kefu::api
