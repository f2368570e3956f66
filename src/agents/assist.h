// AgentAssist: LLM help for human agents — a generated handoff summary and
// drafted replies — over any llm::LlmClient (docs/agents.md "LLM assist").
// It is used only when an LLM is configured; without one the desk's
// extractive summary and the knowledge-base / canned suggestions stand alone,
// and when the model fails they still do (the caller keeps them).
//
// Prompts carry the recent transcript (customer, bot, agent and system turns;
// internal notes never) and, for drafts, the knowledge-base passages found
// for the customer's last question, so drafts stay grounded. Outputs are
// cleaned: trimmed, valid UTF-8, bounded in length; drafts are parsed from a
// JSON array of strings (or, if the model ignored that, one per line).
//
// Threads: thread-safe (the client is). Each call blocks for one chat
// completion, so run it on a worker pool, never on an I/O thread.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "dialogue/conversation_store.h"
#include "knowledge/knowledge_base.h"
#include "llm/llm_client.h"

namespace kefu::agents {

struct AssistSettings {
  double temperature = 0.2;
  int summary_max_tokens = 320;
  int drafts_max_tokens = 480;
  size_t history_messages = 24;    // newest messages put in a prompt
  size_t max_turn_chars = 300;     // each message is cut to this many characters
  size_t max_summary_chars = 400;  // the summary returned is cut to this many characters
  size_t max_draft_chars = 200;    // each draft likewise
};

class AgentAssist {
 public:
  explicit AgentAssist(llm::LlmClient& client, AssistSettings settings = {});

  // A handoff summary in Chinese for the agent taking over. `history` is the
  // conversation oldest first; `facts` the desk's extractive summary (intent,
  // facts, reason), given to the model as known data. InvalidArgument for an
  // empty history; the client's error when the model fails; Unavailable when
  // it answers nothing usable.
  Result<std::string> Summarize(const std::vector<dialogue::Message>& history, const nlohmann::json& facts) const;

  // Up to `n` (1..5) reply drafts for the agent's next message.
  Result<std::vector<std::string>> DraftReplies(const std::vector<dialogue::Message>& history,
                                                const std::vector<knowledge::Passage>& passages, int n) const;

  // Parses a model's drafts answer: a JSON array of strings anywhere in the
  // text, else non-empty lines with list markers ("1.", "-", "•") removed.
  // Deduplicated, each cut to `max_chars` characters, at most `n`.
  static std::vector<std::string> ParseDrafts(const std::string& content, int n, size_t max_chars);

 private:
  std::string Transcript(const std::vector<dialogue::Message>& history) const;
  // One non-streamed chat completion: a system and a user message.
  Result<llm::ChatResponse> Ask(std::string system, std::string user, int max_tokens) const;

  llm::LlmClient& client_;
  AssistSettings settings_;
};

}  // namespace kefu::agents
