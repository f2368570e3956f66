// RuleStore: per-tenant routing rules loaded from files, with hot reload.
//
// Load(tenant, path) reads and parses a rules file; ReloadIfChanged() (called
// periodically by app/ or on demand by an admin endpoint) re-reads the files
// whose modification time or size changed. An invalid file is rejected: the
// error (with line and key) is logged and returned, and the tenant keeps the
// rules it had. For() never fails: a tenant without a valid file gets the
// fallback rules (RuleSet::Defaults() unless told otherwise).
//
// Thread-safe: all methods may be called concurrently. The RuleSets handed
// out are immutable and stay valid for as long as the caller holds them, even
// across reloads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "routing/rules.h"

namespace kefu::routing {

class RuleStore {
 public:
  explicit RuleStore(std::shared_ptr<const RuleSet> fallback = RuleSet::Defaults());

  // Watches `path` for `tenant` (replacing an earlier path) and loads it. On
  // an error the tenant keeps its current rules, but the path stays watched so
  // a corrected file is picked up by the next ReloadIfChanged().
  Result<std::shared_ptr<const RuleSet>> Load(const std::string& tenant, const std::string& path);

  // Re-reads every watched file whose mtime or size changed since it was last
  // read. Returns the first error (all files are still tried); rejected files
  // leave the old rules in force.
  Status ReloadIfChanged();

  // The tenant's rules, or the fallback when it has none.
  std::shared_ptr<const RuleSet> For(const std::string& tenant) const;

  // For operators: per tenant {path, rules, loaded (bool), error}.
  nlohmann::json Describe() const;

 private:
  struct Entry {
    std::string path;
    std::shared_ptr<const RuleSet> rules;  // null until a valid file was read
    int64_t mtime_ns = -1;
    int64_t size = -1;
    std::string error;  // last rejection, empty when the file in force is current
  };
  // Reads and parses e.path when `force` or its stamp changed. Locks mu_ only
  // to publish the result.
  Status Refresh(const std::string& tenant, bool force);

  std::shared_ptr<const RuleSet> fallback_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;  // GUARDED_BY(mu_)
  std::mutex reload_mu_;                  // serialises Load/ReloadIfChanged file reads
};

}  // namespace kefu::routing
