#include "agents/accounts.h"

#include <sodium.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <tuple>

#include "api/tenants.h"
#include "common/json.h"
#include "common/crypto.h"
#include "dialogue/conversation_store.h"

namespace kefu::agents {

using nlohmann::json;

std::optional<Role> ParseRole(std::string_view s) {
  if (s == "agent") return Role::kAgent;
  if (s == "supervisor") return Role::kSupervisor;
  if (s == "admin") return Role::kAdmin;
  return std::nullopt;
}

std::string_view RoleName(Role r) {
  switch (r) {
    case Role::kAgent:
      return "agent";
    case Role::kSupervisor:
      return "supervisor";
    case Role::kAdmin:
      return "admin";
  }
  return "agent";
}

json Agent::ToJson() const {
  return {{"id", id},     {"tenant_id", tenant_id},   {"username", username}, {"name", name},
          {"role", RoleName(role)}, {"skills", skills}, {"max_chats", max_chats}};
}

Result<std::string> HashPassword(std::string_view password, const PwhashParams& params) {
  if (sodium_init() < 0) return Internal("libsodium failed to initialise");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), params.ops, params.mem_bytes,
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    return Unavailable("out of memory while hashing a password");
  return std::string(out);
}

Result<std::string> HashPublicPassword(std::string_view password, const PwhashParams& params) {
  static std::mutex mu;
  static std::map<std::tuple<std::string, unsigned long long, size_t>, std::string> known;
  const auto key = std::make_tuple(std::string(password), params.ops, params.mem_bytes);
  {
    std::lock_guard lock(mu);
    if (auto it = known.find(key); it != known.end()) return it->second;
  }
  KEFU_ASSIGN_OR_RETURN(std::string hash, HashPassword(password, params));
  std::lock_guard lock(mu);
  return known.emplace(key, std::move(hash)).first->second;
}

bool VerifyPassword(const std::string& hash, std::string_view password) {
  if (sodium_init() < 0) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

namespace {

constexpr const char* kAgentColumns = "tenant_id, id, username, name, role, skills_json, max_chats";

Agent ReadAgent(storage::Statement& st) {
  Agent a;
  a.tenant_id = st.Text(0);
  a.id = st.Text(1);
  a.username = st.Text(2);
  a.name = st.Text(3);
  a.role = ParseRole(st.Text(4)).value_or(Role::kAgent);
  json skills = ParseJsonOrDiscarded(st.Text(5));
  if (skills.is_array())
    for (const auto& s : skills)
      if (s.is_string()) a.skills.push_back(s.get<std::string>());
  a.max_chats = static_cast<int>(st.Int(6));
  return a;
}

Result<std::vector<Agent>> ReadAgents(storage::Statement& st) {
  std::vector<Agent> out;
  for (;;) {
    KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ReadAgent(st));
  }
  st.Reset();
  return out;
}

std::string RandomToken() { return "kat_" + crypto::RandomHex(32); }

bool ValidUsername(const std::string& u) {
  if (u.empty() || u.size() > 64) return false;
  return std::all_of(u.begin(), u.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.' || c == '@';
  });
}

}  // namespace

AccountStore::AccountStore(storage::Database& db, const Clock& clock, AccountSettings settings)
    : db_(db), clock_(clock), settings_(settings) {
  if (sodium_init() < 0) return;
  auto h = HashPublicPassword("no such user", settings_.pwhash);
  if (h.ok()) dummy_hash_ = *h;
}

Result<Agent> AccountStore::Create(const std::string& tenant_id, const AgentSpec& spec) {
  if (!spec.username || !ValidUsername(*spec.username))
    return InvalidArgument("username is required: 1-64 characters of letters, digits and _ - . @");
  if (!spec.password || spec.password->size() < 8 || spec.password->size() > 256)
    return InvalidArgument("password is required: 8-256 bytes");
  Agent a;
  a.tenant_id = tenant_id;
  a.id = dialogue::NewId("a_");
  a.username = *spec.username;
  a.name = spec.name.value_or(*spec.username);
  a.role = spec.role.value_or(Role::kAgent);
  a.skills = spec.skills.value_or(std::vector<std::string>{});
  a.max_chats = spec.max_chats.value_or(settings_.default_max_chats);
  if (a.name.empty() || a.name.size() > 100) return InvalidArgument("name must be 1-100 bytes");
  if (a.max_chats < 1 || a.max_chats > 1000) return InvalidArgument("max_chats must be 1..1000");
  KEFU_ASSIGN_OR_RETURN(std::string hash, spec.public_password ? HashPublicPassword(*spec.password, settings_.pwhash)
                                                                : HashPassword(*spec.password, settings_.pwhash));
  auto s = db_.Lock();
  auto& dup = s.Prepare("SELECT 1 FROM agents WHERE tenant_id = ? AND username = ?");
  dup.Bind(1, tenant_id).Bind(2, a.username);
  KEFU_ASSIGN_OR_RETURN(bool exists, dup.Step());
  dup.Reset();
  if (exists) return AlreadyExists("username " + a.username + " is taken");
  auto& st = s.Prepare(
      "INSERT INTO agents(tenant_id, id, username, name, role, password_hash, skills_json, max_chats, created_ms, "
      "updated_ms) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  int64_t now = clock_.NowMs();
  st.Bind(1, tenant_id).Bind(2, a.id).Bind(3, a.username).Bind(4, a.name).Bind(5, std::string(RoleName(a.role)));
  st.Bind(6, hash).Bind(7, json(a.skills).dump()).Bind(8, a.max_chats).Bind(9, now).Bind(10, now);
  KEFU_RETURN_IF_ERROR(st.Run());
  return a;
}

Result<Agent> AccountStore::Update(const std::string& tenant_id, const std::string& id, const AgentSpec& spec) {
  KEFU_ASSIGN_OR_RETURN(Agent a, Get(tenant_id, id));
  if (spec.username && *spec.username != a.username) return InvalidArgument("username cannot be changed");
  if (spec.name) a.name = *spec.name;
  if (spec.role) a.role = *spec.role;
  if (spec.skills) a.skills = *spec.skills;
  if (spec.max_chats) a.max_chats = *spec.max_chats;
  if (a.name.empty() || a.name.size() > 100) return InvalidArgument("name must be 1-100 bytes");
  if (a.max_chats < 1 || a.max_chats > 1000) return InvalidArgument("max_chats must be 1..1000");
  std::optional<std::string> hash;
  if (spec.password) {
    if (spec.password->size() < 8 || spec.password->size() > 256)
      return InvalidArgument("password must be 8-256 bytes");
    KEFU_ASSIGN_OR_RETURN(hash, HashPassword(*spec.password, settings_.pwhash));
  }
  auto s = db_.Lock();
  auto& st = s.Prepare(
      "UPDATE agents SET name = ?, role = ?, skills_json = ?, max_chats = ?, "
      "password_hash = COALESCE(?, password_hash), updated_ms = ? WHERE tenant_id = ? AND id = ?");
  st.Bind(1, a.name).Bind(2, std::string(RoleName(a.role))).Bind(3, json(a.skills).dump()).Bind(4, a.max_chats);
  st.Bind(5, hash).Bind(6, clock_.NowMs()).Bind(7, tenant_id).Bind(8, id);
  KEFU_RETURN_IF_ERROR(st.Run());
  return a;
}

Result<Agent> AccountStore::Get(const std::string& tenant_id, const std::string& id) {
  auto s = db_.Lock();
  auto& st = s.Prepare(std::string("SELECT ") + kAgentColumns + " FROM agents WHERE tenant_id = ? AND id = ?");
  st.Bind(1, tenant_id).Bind(2, id);
  KEFU_ASSIGN_OR_RETURN(auto rows, ReadAgents(st));
  if (rows.empty()) return NotFound("agent " + id + " does not exist");
  return rows[0];
}

Result<std::vector<Agent>> AccountStore::List(const std::string& tenant_id) {
  auto s = db_.Lock();
  auto& st = s.Prepare(std::string("SELECT ") + kAgentColumns + " FROM agents WHERE tenant_id = ? ORDER BY username");
  st.Bind(1, tenant_id);
  return ReadAgents(st);
}

Result<std::vector<Agent>> AccountStore::ListAll() {
  auto s = db_.Lock();
  auto& st = s.Prepare(std::string("SELECT ") + kAgentColumns + " FROM agents");
  return ReadAgents(st);
}

Result<std::pair<std::string, Session>> AccountStore::Login(const std::string& tenant_id, const std::string& username,
                                                            const std::string& password) {
  std::optional<std::string> hash;
  std::string agent_id;
  {
    auto s = db_.Lock();
    auto& st = s.Prepare("SELECT id, password_hash FROM agents WHERE tenant_id = ? AND username = ?");
    st.Bind(1, tenant_id).Bind(2, username);
    KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) {
      agent_id = st.Text(0);
      hash = st.Text(1);
    }
    st.Reset();
  }
  bool ok = hash ? VerifyPassword(*hash, password) : (VerifyPassword(dummy_hash_, password), false);
  if (!ok) return Unauthenticated("invalid_credentials: wrong tenant, username or password");
  std::string token = RandomToken();
  Session session{tenant_id, agent_id, clock_.NowMs() + settings_.session_ttl_ms};
  std::string key = crypto::Sha256Hex(token);
  {
    auto s = db_.Lock();
    auto& st = s.Prepare(
        "INSERT INTO agent_sessions(token_sha256, tenant_id, agent_id, created_ms, expires_ms) VALUES(?, ?, ?, ?, ?)");
    st.Bind(1, key).Bind(2, tenant_id).Bind(3, agent_id).Bind(4, clock_.NowMs()).Bind(5, session.expires_ms);
    KEFU_RETURN_IF_ERROR(st.Run());
  }
  std::lock_guard lock(mu_);
  sessions_[key] = session;
  return std::make_pair(token, session);
}

Result<Session> AccountStore::Authenticate(const std::string& token) {
  if (token.empty()) return Unauthenticated("missing agent token (Authorization: Bearer <token>)");
  const std::string key = crypto::Sha256Hex(token);
  const int64_t now = clock_.NowMs();
  std::optional<Session> found;
  {
    std::lock_guard lock(mu_);
    if (auto it = sessions_.find(key); it != sessions_.end()) found = it->second;
  }
  if (!found) {
    auto s = db_.Lock();
    auto& st = s.Prepare("SELECT tenant_id, agent_id, expires_ms FROM agent_sessions WHERE token_sha256 = ?");
    st.Bind(1, key);
    KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) found = Session{st.Text(0), st.Text(1), st.Int(2)};
    st.Reset();
    if (found) {
      std::lock_guard lock(mu_);
      sessions_[key] = *found;
    }
  }
  if (!found) return Unauthenticated("unknown agent token");
  if (found->expires_ms <= now) return Unauthenticated("agent session expired; log in again");
  return *found;
}

void AccountStore::Logout(const std::string& token) {
  const std::string key = crypto::Sha256Hex(token);
  {
    std::lock_guard lock(mu_);
    sessions_.erase(key);
  }
  auto s = db_.Lock();
  auto& st = s.Prepare("DELETE FROM agent_sessions WHERE token_sha256 = ?");
  st.Bind(1, key);
  (void)st.Run();
}

Result<json> AccountStore::Groups(const std::string& tenant_id) {
  auto s = db_.Lock();
  auto& st = s.Prepare("SELECT name, skills_json FROM skill_groups WHERE tenant_id = ? ORDER BY name");
  st.Bind(1, tenant_id);
  json out = json::array();
  for (;;) {
    KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    json skills = ParseJsonOrDiscarded(st.Text(1));
    out.push_back({{"name", st.Text(0)}, {"skills", skills.is_array() ? skills : json::array()}});
  }
  st.Reset();
  return out;
}

std::optional<std::vector<std::string>> AccountStore::Group(const std::string& tenant_id, const std::string& name) {
  auto s = db_.Lock();
  auto& st = s.Prepare("SELECT skills_json FROM skill_groups WHERE tenant_id = ? AND name = ?");
  st.Bind(1, tenant_id).Bind(2, name);
  auto row = st.Step();
  if (!row.ok() || !*row) {
    st.Reset();
    return std::nullopt;
  }
  json skills = ParseJsonOrDiscarded(st.Text(0));
  st.Reset();
  std::vector<std::string> out;
  if (skills.is_array())
    for (const auto& k : skills)
      if (k.is_string()) out.push_back(k.get<std::string>());
  return out;
}

Status AccountStore::PutGroup(const std::string& tenant_id, const std::string& name,
                              const std::vector<std::string>& skills) {
  auto s = db_.Lock();
  auto& st = s.Prepare(
      "INSERT INTO skill_groups(tenant_id, name, skills_json) VALUES(?, ?, ?) "
      "ON CONFLICT(tenant_id, name) DO UPDATE SET skills_json = excluded.skills_json");
  st.Bind(1, tenant_id).Bind(2, name).Bind(3, json(skills).dump());
  return st.Run();
}

Result<json> AccountStore::Canned(const std::string& tenant_id) {
  auto s = db_.Lock();
  auto& st = s.Prepare("SELECT id, title, text FROM canned_responses WHERE tenant_id = ? ORDER BY id");
  st.Bind(1, tenant_id);
  json out = json::array();
  for (;;) {
    KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back({{"id", st.Text(0)}, {"title", st.Text(1)}, {"text", st.Text(2)}});
  }
  st.Reset();
  return out;
}

Status AccountStore::PutCanned(const std::string& tenant_id, const std::string& id, const std::string& title,
                               const std::string& text) {
  auto s = db_.Lock();
  auto& st = s.Prepare(
      "INSERT INTO canned_responses(tenant_id, id, title, text) VALUES(?, ?, ?, ?) "
      "ON CONFLICT(tenant_id, id) DO UPDATE SET title = excluded.title, text = excluded.text");
  st.Bind(1, tenant_id).Bind(2, id).Bind(3, title).Bind(4, text);
  return st.Run();
}

}  // namespace kefu::agents
