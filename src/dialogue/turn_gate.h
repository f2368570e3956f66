// TurnGate: the seam between the turn pipeline and whoever else may serve a
// conversation (human agents, src/agents). ConversationService asks the gate
// twice per customer turn:
//   1. Facts(): before the message is stored, for the routing facts the
//      dialogue layer does not know (customer tier, time waited for a human);
//   2. Admit(): after the message (with meta.analysis and meta.decision) is
//      stored and published, who answers it: the bot, nobody (a human serves
//      or the customer waits in a queue), or a notice instead of the bot
//      (handoff with place and estimated wait, leave-a-message ...).
// Without a gate the bot answers every turn.
//
// Threads: both methods are called on worker threads, never concurrently for
// one conversation (turns of a conversation are serial). They must not block
// on anything slower than a short SQLite statement.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "dialogue/conversation_store.h"

namespace kefu::dialogue {

struct GateFacts {
  std::string customer_tier = "normal";
  int64_t wait_ms = 0;  // how long the customer has waited for a human (0 if not waiting)
};

struct GateVerdict {
  enum class Kind {
    kBot,     // the bot answers as usual
    kSilent,  // no reply at all (a human serves the conversation or it waits in a queue)
    kNotice,  // `text` is stored as a `system` reply instead of the bot's answer
  };
  Kind kind = Kind::kBot;
  std::string text;
  nlohmann::json meta = nlohmann::json::object();
};

class TurnGate {
 public:
  virtual ~TurnGate() = default;
  virtual GateFacts Facts(const Conversation& conversation) = 0;
  // `decision` is the stored meta.decision ({"actions","handoff","trace"});
  // `context` is the conversation's dialogue state, which the gate may change
  // (the service stores it with the reply).
  virtual GateVerdict Admit(const Conversation& conversation, const Message& customer_message,
                            const nlohmann::json& decision, nlohmann::json& context) = 0;
};

}  // namespace kefu::dialogue
