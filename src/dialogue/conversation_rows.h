// The conversations and messages tables' SQL for modules that read them inside
// a transaction of their own: the data hub's 360° profile reads a customer's
// conversation history in the same snapshot as the rest of the profile. This
// module (dialogue) owns those tables: no other module writes their SQL
// (tests/table_ownership.py checks it); ConversationStore is dialogue's own
// access to them.
//
// Every function takes the caller's session (storage/database.h), runs in the
// caller's transaction when there is one, and leaves no statement on a row.
// Times in Unix milliseconds.
#pragma once

#include <cstdint>
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
};

// The customer's newest `limit` conversations in the tenant, newest first.
Result<std::vector<ConversationRow>> CustomerConversations(storage::Session& s, const std::string& tenant,
                                                           const std::string& customer_id, int limit);

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
