// Reading a turn with a language model (issue 15, item 8): when an
// OpenAI-compatible model is configured and `[dialogue] llm_understanding` is
// on, the grounded responder asks it what the customer wants (intent) and for
// the question rewritten to stand alone ("那退货呢？" after a question about
// exchanges → "退货怎么退"), then acts with its own tools and knowledge base as
// usual. The model never writes the answer here; it only reads the turn.
//
// The rules, the trained question matcher and the lexical index stay the
// default and the fallback: a model that fails, times out, is switched off by
// its circuit breaker or answers something unparseable changes nothing.
//
// TurnInterpreter is the seam; tests use a fake or an LlmTurnInterpreter
// pointed at tests/support/fake_openai.h. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "dialogue/intent_rules.h"
#include "llm/llm_client.h"

namespace kefu::dialogue {

struct Interpretation {
  // What the customer asks for. "faq" = a question for the knowledge base;
  // "unclear" = too vague to act on; "out_of_scope" = nothing the shop answers.
  enum class Intent { kOrderStatus, kTrackLogistics, kListOrders, kFaq, kProducts, kHuman, kSmalltalk, kUnclear,
                      kOutOfScope };
  Intent intent = Intent::kFaq;
  std::string query;    // the question rewritten to stand alone, in the customer's language ("" = as written)
  std::string product;  // goods the customer refers to, as they would name them ("" = none)
};

std::string_view IntentName(Interpretation::Intent intent);

// Parses the model's answer: one JSON object {"intent", "query", "product"},
// possibly inside a ```json fence. Bounded: at most 4 KiB of text, query and
// product cut to 200 characters, control characters removed. An unknown
// intent or a malformed answer is InvalidArgument.
Result<Interpretation> ParseInterpretation(std::string_view content);

// One earlier message of the conversation, for context.
struct PriorMessage {
  std::string role;  // "customer" | "bot" | "agent"
  std::string text;
};

class TurnInterpreter {
 public:
  virtual ~TurnInterpreter() = default;
  // nullopt when the reading failed (the caller carries on without it).
  virtual std::optional<Interpretation> Interpret(std::string_view text, const std::vector<PriorMessage>& history) = 0;
};

struct LlmInterpreterSettings {
  int timeout_ms = 2'000;   // a reading that takes longer is not waited for
  int history_messages = 4; // earlier messages shown to the model
  int max_tokens = 160;
};

class LlmTurnInterpreter final : public TurnInterpreter {
 public:
  LlmTurnInterpreter(llm::LlmClient& client, LlmInterpreterSettings settings);
  std::optional<Interpretation> Interpret(std::string_view text, const std::vector<PriorMessage>& history) override;

  // Exposed for tests: the request sent for a turn.
  llm::ChatRequest BuildRequest(std::string_view text, const std::vector<PriorMessage>& history) const;

 private:
  llm::LlmClient& client_;
  LlmInterpreterSettings settings_;
};

}  // namespace kefu::dialogue
