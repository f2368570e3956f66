// LlmResponder: answers with an OpenAI-compatible model, grounded on the same
// evidence as the grounded responder (retrieved passages, business tools as
// function calls), citing the passages it used. When the model fails (error,
// timeout, open circuit breaker) the customer gets the grounded answer instead;
// explicit requests for a human always take the deterministic path.
// Thread-safe: the LlmClient is thread-safe and everything else is const.
#pragma once

#include "dialogue/grounded_responder.h"
#include "llm/llm_client.h"

namespace kefu::dialogue {

struct LlmResponderSettings {
  std::string shop_name = "示例商城";
  int passages = 4;        // passages put into the prompt
  int max_tool_rounds = 3;
  double temperature = 0.3;
  int max_tokens = 512;
  int history_messages = 8;
};

class LlmResponder final : public Responder {
 public:
  LlmResponder(llm::LlmClient& client, GroundedResponder& grounded, const knowledge::KnowledgeBase& kb,
               const tools::ToolRegistry& tools, LlmResponderSettings settings);

  TurnReply Respond(const TurnRequest& turn, const DeltaFn& on_delta) override;

  // Exposed for tests: the chat request sent for a turn.
  llm::ChatRequest BuildRequest(const TurnRequest& turn, const std::vector<knowledge::Passage>& passages) const;

 private:
  llm::LlmClient& client_;
  GroundedResponder& grounded_;
  const knowledge::KnowledgeBase& kb_;
  const tools::ToolRegistry& tools_;
  LlmResponderSettings settings_;
};

}  // namespace kefu::dialogue
