// The conversations and messages tables' SQL for modules that read them inside
// a transaction of their own: the data hub's 360° profile reads a customer's
// conversation history in the same snapshot as the rest of the profile; the
// agents' desk (agents/desk_store.h) keeps human service in the conversation's
// queue columns (status queued/human, queue, assigned agent, handoff) with
// compare-and-set updates, and reads the routing traces of a conversation. This
// module (dialogue) owns those tables: no other module writes their SQL
// (tests/table_ownership.py checks it); ConversationStore is dialogue's own
// access to them.
//
// Every function takes the caller's session (storage/database.h), runs in the
// caller's transaction when there is one, and leaves no statement on a row.
// Times in Unix milliseconds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/database.h"

namespace kefu::dialogue::rows {

struct ConversationRow {
  std::string id;
  std::string customer_id;
  std::string channel;
  std::string status;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  std::string context_json;  // only `with_context`
};

// The customer's newest `limit` conversations in the tenant, newest first;
// `with_context` also reads each one's dialogue context.
Result<std::vector<ConversationRow>> CustomerConversations(storage::Session& s, const std::string& tenant,
                                                           const std::string& customer_id, int limit,
                                                           bool with_context = false);

// ---- human service (the agents' desk) ----

// A conversation queued for or served by a human agent.
struct HumanServiceRow {
  std::string id, tenant_id, customer_id, channel;
  std::string status;  // queued | human
  std::string queue, skill, agent_id;  // "" when NULL
  int priority = 0;
  int64_t queued_ms = 0, created_ms = 0, updated_ms = 0;
  std::string handoff_json;  // "{}" when NULL
};

// Every conversation queued or served by a human (the partial index conversations_by_status).
Result<std::vector<HumanServiceRow>> InHumanService(storage::Session& s);

// Hands an open conversation over (compare-and-set on status 'open'): queued
// in `queue`, or with `agent_id` served at once. False when it is not open.
struct Handover {
  std::string queue, skill, agent_id;  // agent_id "" = queued
  int priority = 0;
  int64_t queued_ms = 0;
  std::string handoff_json;
};
Result<bool> HandOver(storage::Session& s, const std::string& conversation_id, const Handover& h);
// A queued conversation to `agent_id` (accept, auto assignment). False when it no longer waits.
Result<bool> AssignQueued(storage::Session& s, const std::string& tenant, const std::string& conversation_id,
                          const std::string& agent_id, int64_t now_ms);
// A queued or human-served conversation whose agent is `expected_agent` ("" =
// none) to `agent_id` (take-over, transfer to an agent). False when it changed.
Result<bool> Reassign(storage::Session& s, const std::string& tenant, const std::string& conversation_id,
                      const std::string& expected_agent, const std::string& agent_id, int64_t now_ms);
// The same, back to waiting in `queue` (transfer to a group nobody free serves).
Result<bool> Requeue(storage::Session& s, const std::string& tenant, const std::string& conversation_id,
                     const std::string& expected_agent, const std::string& queue, const std::string& skill,
                     int64_t now_ms);
// A queued or human-served conversation back to the bot (status open, queue cleared). False when it was neither.
Result<bool> ReleaseToBot(storage::Session& s, const std::string& tenant, const std::string& conversation_id,
                          int64_t now_ms);
// The stored handoff summary (JSON text, "{}" when NULL); nullopt when the
// conversation does not exist in the tenant.
Result<std::optional<std::string>> HandoffJson(storage::Session& s, const std::string& tenant,
                                               const std::string& conversation_id);
Status SetHandoffJson(storage::Session& s, const std::string& tenant, const std::string& conversation_id,
                      const std::string& handoff_json);

// A customer message with its stored meta (analysis, routing decision), for the decision trace.
struct CustomerTurn {
  int64_t id = 0, seq = 0;
  std::string text, meta_json;
  int64_t created_ms = 0;
};
// Every customer message of a conversation, by seq.
Result<std::vector<CustomerTurn>> CustomerTurns(storage::Session& s, const std::string& conversation_id);

// What the analyser read in one customer message (messages.meta_json "analysis").
struct MessageAnalysis {
  int64_t seq = 0;
  int64_t created_ms = 0;
  std::string emotion;
  double emotion_intensity = 0;
  std::string sentiment;
};

// The analyses of the customer's newest `limit` messages of a conversation,
// oldest first; messages without a readable analysis are left out.
Result<std::vector<MessageAnalysis>> CustomerMessageAnalyses(storage::Session& s, const std::string& conversation_id,
                                                             int limit);

}  // namespace kefu::dialogue::rows
