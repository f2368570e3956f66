// Responder: produces the bot's reply to one customer turn. Implementations:
// GroundedResponder (knowledge base + business tools + templates, no LLM) and
// LlmResponder (an OpenAI-compatible model grounded on the same sources, which
// falls back to the grounded answer when the model fails).
// Respond() is called on worker threads, never on I/O threads; concurrent calls
// for different conversations are allowed, one conversation's turns are serial.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dialogue/conversation_store.h"

namespace kefu::dialogue {

struct TurnRequest {
  const Conversation& conversation;
  const Message& message;               // the customer's message being answered
  const std::vector<Message>& history;  // messages before it, oldest first (bounded)
  const nlohmann::json& context;        // dialogue state from earlier turns
};

// Whether the conversation's customer id was verified (a signed customer
// token at creation, or a server that trusts asserted ids): the flag
// `customer_verified` the API stores in the context. Conversations created
// before the flag existed count as verified.
inline bool CustomerVerified(const nlohmann::json& context) {
  return !context.is_object() || context.value("customer_verified", true);
}

struct TurnReply {
  std::string text;
  nlohmann::json meta = nlohmann::json::object();     // intent, confidence, citations, tools, suggestions, source
  nlohmann::json context = nlohmann::json::object();  // state to carry into the next turn
};

using DeltaFn = std::function<void(std::string_view)>;

class Responder {
 public:
  virtual ~Responder() = default;
  // Never fails: when nothing is known the reply says so and offers a human.
  virtual TurnReply Respond(const TurnRequest& turn, const DeltaFn& on_delta) = 0;
};

}  // namespace kefu::dialogue
