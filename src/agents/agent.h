// An agent account as the rest of kefu sees it (no password, no session):
// the role and skills that decide which conversations it may serve. Plain
// values; AccountStore (accounts.h) stores them.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kefu::agents {

enum class Role { kAgent = 1, kSupervisor = 2, kAdmin = 3 };
std::optional<Role> ParseRole(std::string_view s);
std::string_view RoleName(Role r);

struct Agent {
  std::string tenant_id, id, username, name;
  Role role = Role::kAgent;
  std::vector<std::string> skills;
  int max_chats = 5;
  // {"id","tenant_id","username","name","role","skills","max_chats"}
  nlohmann::json ToJson() const;
};

}  // namespace kefu::agents
