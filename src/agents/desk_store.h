// DeskStore: what the desk keeps and reads in the database — human service in
// the conversation's queue columns (written with compare-and-set, so that of
// two agents or nodes racing for one conversation exactly one wins), the
// handoff summary, internal notes, a customer's name and tier, messages left
// while nobody was online, the customer panel's tables and a conversation's
// routing traces.
//
// SqlDeskStore goes through the owners' row functions
// (dialogue/conversation_rows.h for conversations and messages,
// tools/commerce_rows.h for the shop's customers, orders and handoff requests);
// the notes table is the agents module's own. FakeDeskStore
// (agents/desk_store_fake.h) keeps the same in memory for unit tests.
//
// Threads: implementations are thread-safe; every call is a short blocking
// database round trip (a worker thread, never an I/O thread).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "agents/desk_state.h"
#include "common/status.h"
#include "storage/database.h"

namespace kefu::agents {

struct DeskNote {
  int64_t id = 0;
  std::string text, agent_id, agent_name;
  int64_t created_ms = 0;
};

struct CustomerBrief {
  std::string name, tier;
};

// A customer message and what the routing decided on it.
struct CustomerTurnTrace {
  int64_t message_id = 0, seq = 0;
  std::string text;
  nlohmann::json meta;  // as stored (null when unreadable)
  int64_t created_ms = 0;
};

class DeskStore {
 public:
  virtual ~DeskStore() = default;

  // Every conversation queued for or served by a human, as stored now
  // (`reason` from the handoff; `order` 0).
  virtual Result<std::vector<DeskConv>> InService() = 0;

  // Compare-and-set writes: true when this call changed the conversation,
  // false when it was no longer in the expected state (another agent, node
  // or the customer's close won). An error status when the store failed.
  // Hands an open conversation over: queued, or with `agent_id` served at once.
  virtual Result<bool> HandOver(const DeskConv& c, const std::string& agent_id, const nlohmann::json& handoff) = 0;
  // A queued conversation to `agent_id` (accept, auto assignment).
  virtual Result<bool> AssignQueued(const std::string& tenant, const std::string& conversation_id,
                                    const std::string& agent_id, int64_t now_ms) = 0;
  // A queued or served conversation whose agent is `expected_agent` ("" =
  // none) to `agent_id` (take-over, transfer to an agent).
  virtual Result<bool> Reassign(const std::string& tenant, const std::string& conversation_id,
                                const std::string& expected_agent, const std::string& agent_id, int64_t now_ms) = 0;
  // The same, back to waiting in `queue` (transfer to a group).
  virtual Result<bool> Requeue(const std::string& tenant, const std::string& conversation_id,
                               const std::string& expected_agent, const std::string& queue, const std::string& skill,
                               int64_t now_ms) = 0;
  // A queued or served conversation back to the bot.
  virtual Result<bool> Release(const std::string& tenant, const std::string& conversation_id, int64_t now_ms) = 0;

  // The stored handoff (parsed; discarded when unreadable); nullopt when the
  // conversation is not the tenant's.
  virtual Result<std::optional<nlohmann::json>> Handoff(const std::string& tenant,
                                                        const std::string& conversation_id) = 0;
  // Merges `patch` into the handoff as stored now (or into `fallback` when
  // that is not an object), in one transaction, so that a handoff written
  // meanwhile keeps its own fields. The merged handoff; nullopt when the
  // conversation is gone or the write failed.
  virtual std::optional<nlohmann::json> MergeHandoff(const std::string& tenant, const std::string& conversation_id,
                                                     const nlohmann::json& fallback, const nlohmann::json& patch) = 0;

  // Internal notes of a conversation, oldest first, with the author's name.
  virtual Result<std::vector<DeskNote>> Notes(const std::string& tenant, const std::string& conversation_id) = 0;
  // The new note's id.
  virtual Result<int64_t> AddNote(const std::string& tenant, const std::string& conversation_id,
                                  const std::string& agent_id, const std::string& text, int64_t now_ms) = 0;

  // nullopt for an unknown customer.
  virtual Result<std::optional<CustomerBrief>> Customer(const std::string& tenant, const std::string& customer_id) = 0;
  // A message left while nobody was online (a follow_up handoff request).
  virtual Status LeaveMessage(const std::string& tenant, const std::string& conversation_id,
                              const std::string& customer_id, const std::string& text, int64_t now_ms) = 0;
  // The customer panel's tables in one snapshot: {"customer", "orders" (with
  // the latest logistics event), "conversations" (with the emotion trend)};
  // NotFound for an unknown customer.
  virtual Result<nlohmann::json> CustomerTables(const std::string& tenant, const std::string& customer_id) = 0;
  // The customer messages of a conversation, by seq.
  virtual Result<std::vector<CustomerTurnTrace>> CustomerTurns(const std::string& conversation_id) = 0;
};

// DeskStore on the kefu database (SQLite or PostgreSQL). Writes take the
// writer (Database::Lock); the periodic re-read of InService a read session.
class SqlDeskStore final : public DeskStore {
 public:
  explicit SqlDeskStore(storage::Database& db) : db_(db) {}

  Result<std::vector<DeskConv>> InService() override;
  Result<bool> HandOver(const DeskConv& c, const std::string& agent_id, const nlohmann::json& handoff) override;
  Result<bool> AssignQueued(const std::string& tenant, const std::string& conversation_id, const std::string& agent_id,
                            int64_t now_ms) override;
  Result<bool> Reassign(const std::string& tenant, const std::string& conversation_id,
                        const std::string& expected_agent, const std::string& agent_id, int64_t now_ms) override;
  Result<bool> Requeue(const std::string& tenant, const std::string& conversation_id, const std::string& expected_agent,
                       const std::string& queue, const std::string& skill, int64_t now_ms) override;
  Result<bool> Release(const std::string& tenant, const std::string& conversation_id, int64_t now_ms) override;
  Result<std::optional<nlohmann::json>> Handoff(const std::string& tenant, const std::string& conversation_id) override;
  std::optional<nlohmann::json> MergeHandoff(const std::string& tenant, const std::string& conversation_id,
                                             const nlohmann::json& fallback, const nlohmann::json& patch) override;
  Result<std::vector<DeskNote>> Notes(const std::string& tenant, const std::string& conversation_id) override;
  Result<int64_t> AddNote(const std::string& tenant, const std::string& conversation_id, const std::string& agent_id,
                          const std::string& text, int64_t now_ms) override;
  Result<std::optional<CustomerBrief>> Customer(const std::string& tenant, const std::string& customer_id) override;
  Status LeaveMessage(const std::string& tenant, const std::string& conversation_id, const std::string& customer_id,
                      const std::string& text, int64_t now_ms) override;
  Result<nlohmann::json> CustomerTables(const std::string& tenant, const std::string& customer_id) override;
  Result<std::vector<CustomerTurnTrace>> CustomerTurns(const std::string& conversation_id) override;

 private:
  storage::Database& db_;
};

}  // namespace kefu::agents
