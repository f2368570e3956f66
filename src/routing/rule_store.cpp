#include "routing/rule_store.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/log.h"

namespace kefu::routing {

namespace fs = std::filesystem;

RuleStore::RuleStore(std::shared_ptr<const RuleSet> fallback) : fallback_(std::move(fallback)) {}

Result<std::shared_ptr<const RuleSet>> RuleStore::Load(const std::string& tenant, const std::string& path) {
  std::lock_guard reload(reload_mu_);
  {
    std::lock_guard lock(mu_);
    Entry& e = entries_[tenant];
    if (e.path != path) {
      e.path = path;
      e.mtime_ns = e.size = -1;
    }
  }
  KEFU_RETURN_IF_ERROR(Refresh(tenant, /*force=*/true));
  return For(tenant);
}

Status RuleStore::Refresh(const std::string& tenant, bool force) {
  std::string path;
  int64_t old_mtime, old_size;
  {
    std::lock_guard lock(mu_);
    const Entry& e = entries_.at(tenant);
    path = e.path;
    old_mtime = e.mtime_ns;
    old_size = e.size;
  }
  auto set_error = [&](Status st) {
    log::Warn("routing_rules_rejected", {{"tenant_id", tenant}, {"path", path}, {"error", st.message()}});
    std::lock_guard lock(mu_);
    entries_[tenant].error = st.message();
    return st;
  };
  std::error_code ec;
  auto mtime = fs::last_write_time(path, ec);
  if (ec) return set_error(NotFound(path + ": " + ec.message()));
  auto size = fs::file_size(path, ec);
  if (ec) return set_error(NotFound(path + ": " + ec.message()));
  const int64_t mtime_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(mtime.time_since_epoch()).count();
  if (!force && mtime_ns == old_mtime && static_cast<int64_t>(size) == old_size) return Status::Ok();

  std::ifstream in(path, std::ios::binary);
  if (!in) return set_error(NotFound(path + ": cannot open"));
  std::stringstream buf;
  buf << in.rdbuf();
  auto parsed = RuleSet::Parse(buf.str());
  {
    // Remember the stamp even when rejected, so a bad file is reported once
    // per change rather than on every reload.
    std::lock_guard lock(mu_);
    Entry& e = entries_[tenant];
    e.mtime_ns = mtime_ns;
    e.size = static_cast<int64_t>(size);
  }
  if (!parsed.ok()) return set_error(InvalidArgument(path + ": " + parsed.status().message()));
  size_t n = parsed.value()->size();
  {
    std::lock_guard lock(mu_);
    Entry& e = entries_[tenant];
    e.rules = std::move(parsed).value();
    e.error.clear();
  }
  log::Info("routing_rules_loaded", {{"tenant_id", tenant}, {"path", path}, {"rules", n}});
  return Status::Ok();
}

Status RuleStore::ReloadIfChanged() {
  std::lock_guard reload(reload_mu_);
  std::vector<std::string> tenants;
  {
    std::lock_guard lock(mu_);
    for (const auto& [t, e] : entries_) tenants.push_back(t);
  }
  Status first;
  for (const std::string& t : tenants) {
    Status st = Refresh(t, /*force=*/false);
    if (!st.ok() && first.ok()) first = st;
  }
  return first;
}

std::shared_ptr<const RuleSet> RuleStore::For(const std::string& tenant) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(tenant);
  if (it == entries_.end() || !it->second.rules) return fallback_;
  return it->second.rules;
}

nlohmann::json RuleStore::Describe() const {
  std::lock_guard lock(mu_);
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [t, e] : entries_) {
    out[t] = {{"path", e.path},
              {"loaded", e.rules != nullptr},
              {"rules", e.rules ? e.rules->size() : 0},
              {"error", e.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.error)}};
  }
  return out;
}

}  // namespace kefu::routing
