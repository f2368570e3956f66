// Agent accounts, login sessions, skill groups and canned responses of a
// tenant (docs/agents.md). Passwords are hashed with argon2id (libsodium
// crypto_pwhash_str); session tokens are 256 random bits, handed out once and
// stored only as SHA-256, valid until they expire or the agent logs out.
//
// Every lookup is by (tenant_id, id): another tenant's agent, group or
// session is indistinguishable from a missing one.
//
// Thread-safe. Hashing and verifying a password take tens of milliseconds
// (by design): call Login/Create/Update(password) from a worker thread, never
// from an I/O thread. Authenticate is served from memory after the first use
// of a token.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "agents/agent.h"
#include "common/clock.h"
#include "common/status.h"
#include "storage/database.h"

namespace kefu::agents {

// Fields of a create or update; unset = unchanged (update) or default (create).
struct AgentSpec {
  std::optional<std::string> username, name, password;
  std::optional<Role> role;
  std::optional<std::vector<std::string>> skills;
  std::optional<int> max_chats;
  // The password is no secret (the demo agents' "demo1234"): its hash is
  // computed once per process and shared (HashPublicPassword).
  bool public_password = false;
};

struct Session {
  std::string tenant_id, agent_id;
  int64_t expires_ms = 0;
};

struct PwhashParams {
  unsigned long long ops = 2;        // crypto_pwhash_OPSLIMIT_INTERACTIVE
  size_t mem_bytes = 64u << 20;      // crypto_pwhash_MEMLIMIT_INTERACTIVE
};

Result<std::string> HashPassword(std::string_view password, const PwhashParams& params);
bool VerifyPassword(const std::string& hash, std::string_view password);
// HashPassword, once per process for each password and parameters: only for
// passwords everyone may know (the demo's, the dummy that evens out the time
// of a login with an unknown username). Argon2 costs ~0.1 s of CPU a hash,
// and a server start hashed six of them (test suites start servers by the
// dozen).
Result<std::string> HashPublicPassword(std::string_view password, const PwhashParams& params);

struct AccountSettings {
  PwhashParams pwhash;
  int64_t session_ttl_ms = 12 * 3600 * 1000LL;
  int default_max_chats = 5;
};

class AccountStore {
 public:
  AccountStore(storage::Database& db, const Clock& clock, AccountSettings settings);

  // InvalidArgument for a missing/bad field, AlreadyExists for a taken username.
  Result<Agent> Create(const std::string& tenant_id, const AgentSpec& spec);
  Result<Agent> Update(const std::string& tenant_id, const std::string& id, const AgentSpec& spec);
  Result<Agent> Get(const std::string& tenant_id, const std::string& id);
  Result<std::vector<Agent>> List(const std::string& tenant_id);
  Result<std::vector<Agent>> ListAll();

  // Returns the new session token; Unauthenticated for any wrong input.
  Result<std::pair<std::string, Session>> Login(const std::string& tenant_id, const std::string& username,
                                                 const std::string& password);
  // Unauthenticated for an unknown, revoked or expired token.
  Result<Session> Authenticate(const std::string& token);
  void Logout(const std::string& token);

  // Skill groups: {"name","skills":[..]}.
  Result<nlohmann::json> Groups(const std::string& tenant_id);
  std::optional<std::vector<std::string>> Group(const std::string& tenant_id, const std::string& name);
  Status PutGroup(const std::string& tenant_id, const std::string& name, const std::vector<std::string>& skills);

  // Canned responses: {"id","title","text"}.
  Result<nlohmann::json> Canned(const std::string& tenant_id);
  Status PutCanned(const std::string& tenant_id, const std::string& id, const std::string& title,
                   const std::string& text);

 private:
  storage::Database& db_;
  const Clock& clock_;
  AccountSettings settings_;
  std::string dummy_hash_;  // verified against for unknown usernames (same timing)
  std::mutex mu_;
  std::unordered_map<std::string, Session> sessions_;  // GUARDED_BY(mu_), by token SHA-256
};

}  // namespace kefu::agents
