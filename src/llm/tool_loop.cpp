#include "llm/llm_client.h"

#include <string>
#include <utility>

namespace kefu::llm {

Result<ChatResponse> RunToolLoop(LlmClient& client, ChatRequest req, const ToolExecutor& execute, int max_rounds,
                                 const DeltaFn& on_delta) {
  ChatResponse total;
  for (int round = 0;; ++round) {
    if (round >= max_rounds && !req.tools.empty()) req.tool_choice = "none";
    KEFU_ASSIGN_OR_RETURN(ChatResponse resp, client.Chat(req, on_delta));
    total.content += resp.content;
    total.prompt_tokens += resp.prompt_tokens;
    total.completion_tokens += resp.completion_tokens;
    total.finish_reason = resp.finish_reason;
    // Stop when the model answered, or when it still asks for tools after it was
    // told not to (a server that ignores tool_choice must not loop forever).
    if (resp.tool_calls.empty() || round >= max_rounds) {
      total.tool_calls = std::move(resp.tool_calls);
      return total;
    }
    // Some servers send calls without ids; the tool messages must still name them.
    for (size_t i = 0; i < resp.tool_calls.size(); ++i) {
      if (resp.tool_calls[i].id.empty()) resp.tool_calls[i].id = "call_" + std::to_string(round) + "_" + std::to_string(i);
    }
    ChatMessage assistant;
    assistant.role = "assistant";
    assistant.content = resp.content;
    assistant.tool_calls = resp.tool_calls;
    req.messages.push_back(std::move(assistant));
    for (const ToolCall& call : resp.tool_calls) {
      ChatMessage tool;
      tool.role = "tool";
      tool.tool_call_id = call.id;
      tool.content = execute(call);
      req.messages.push_back(std::move(tool));
    }
  }
}

}  // namespace kefu::llm
