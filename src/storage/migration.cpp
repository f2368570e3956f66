#include "storage/migration.h"

#include <algorithm>
#include <set>

namespace kefu::storage {

MigrationSet& MigrationSet::Add(std::vector<Migration> migrations) {
  for (auto& m : migrations) migrations_.push_back(std::move(m));
  return *this;
}

std::vector<std::string> MigrationSet::Modules() const {
  std::vector<std::string> out;
  for (const auto& m : migrations_)
    if (out.empty() || out.back() != m.module) out.push_back(m.module);
  return out;
}

int MigrationSet::Latest(std::string_view module) const {
  int v = 0;
  for (const auto& m : migrations_)
    if (m.module == module) v = std::max(v, m.version);
  return v;
}

int MigrationSet::AtGlobalVersion(std::string_view module, int global) const {
  int v = 0;
  for (const auto& m : migrations_)
    if (m.module == module && m.global_version > 0 && m.global_version <= global) v = std::max(v, m.version);
  return v;
}

Status MigrationSet::Validate() const {
  std::set<std::string> done;
  for (size_t i = 0; i < migrations_.size(); ++i) {
    const Migration& m = migrations_[i];
    const std::string where = "migration " + m.module + " " + std::to_string(m.version) + " (" + m.name + ")";
    if (m.module.empty()) return Internal(where + " names no module");
    if (m.version <= 0) return Internal(where + ": versions start at 1");
    if (m.global_version < 0 || m.global_version > kLastGlobalVersion)
      return Internal(where + ": global_version must be 0.." + std::to_string(kLastGlobalVersion));
    const bool continues = i > 0 && migrations_[i - 1].module == m.module;
    if (!continues && !done.insert(m.module).second) return Internal(where + ": module " + m.module + " added twice");
    if (continues) {
      const Migration& prev = migrations_[i - 1];
      if (m.version <= prev.version)
        return Internal("migrations of " + m.module + " out of order at version " + std::to_string(m.version));
      // The global list's order within a module is kept: adopting a global
      // version must give each module a prefix of its migrations.
      if (m.global_version != 0 && (prev.global_version == 0 || m.global_version < prev.global_version))
        return Internal(where + ": global versions out of order");
    }
  }
  return Status::Ok();
}

}  // namespace kefu::storage
