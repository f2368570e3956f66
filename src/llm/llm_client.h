// LlmClient: the seam between kefu and a chat-completions language model.
// kefu works without any LLM; when one is configured, app/ builds an
// OpenAiClient (llm/openai_client.h) and hands it by reference to the modules
// that need it. Tests substitute their own implementation or point an
// OpenAiClient at the fake server in tests/support/fake_openai.h.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace kefu::llm {

// A function call the model asked for. `arguments` is the raw JSON text exactly
// as the model produced it (it may be malformed; the executor validates it).
struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;
};

struct ChatMessage {
  std::string role;                  // system | user | assistant | tool
  std::string content;
  std::vector<ToolCall> tool_calls;  // assistant messages that called tools
  std::string tool_call_id;          // tool messages: the call this answers
};

struct ToolSpec {
  std::string name;
  std::string description;
  nlohmann::json parameters;  // JSON schema of the arguments object
};

struct ChatRequest {
  std::vector<ChatMessage> messages;
  std::vector<ToolSpec> tools;
  std::optional<double> temperature;  // unset = LlmConfig::temperature
  std::optional<int> max_tokens;      // unset = LlmConfig::max_tokens
  bool stream = true;
  // OpenAI "tool_choice" ("auto", "none", "required"); empty = not sent.
  std::string tool_choice;
  // OpenAI "response_format": {"type":"json_object"} (JSON mode).
  bool json_object = false;
  // Bounds this whole call instead of LlmConfig::timeout_ms (a quick
  // classification should not wait as long as a generated answer).
  std::optional<int> timeout_ms;
};

struct ChatResponse {
  std::string content;
  std::vector<ToolCall> tool_calls;
  std::string finish_reason;  // stop | length | tool_calls | ... as the server said
  int prompt_tokens = 0;      // 0 when the server reported no usage
  int completion_tokens = 0;
};

// Receives content as it is generated, on the thread that called Chat. The
// concatenation of all deltas equals ChatResponse::content.
using DeltaFn = std::function<void(std::string_view text_delta)>;

// Implementations are thread-safe. Chat blocks for the whole exchange (up to the
// configured timeout), so call it from worker threads only, never an I/O thread.
class LlmClient {
 public:
  virtual ~LlmClient() = default;
  // `on_delta` may be empty. Failures: DeadlineExceeded (timeout), Unavailable
  // (server down, 5xx/429 after retries, dropped stream, circuit open),
  // InvalidArgument (the server rejected the request as malformed).
  virtual Result<ChatResponse> Chat(const ChatRequest& req, const DeltaFn& on_delta) = 0;
};

// Runs `execute(call)` for a requested tool; returns the result as JSON text
// (errors too, e.g. {"error":"..."}: the model sees whatever is returned).
using ToolExecutor = std::function<std::string(const ToolCall&)>;

// Multi-round tool calling. Sends `req`; while the model answers with tool
// calls, executes each through `execute`, appends the assistant message and one
// tool message per call, and asks again. After `max_rounds` rounds of tool
// execution the next request is sent with tool_choice "none" so the model must
// answer in text. Every content delta of every round goes to `on_delta` as it
// arrives (tool-calling rounds normally carry none), and the returned content is
// the concatenation of them; token counts are summed over all rounds.
Result<ChatResponse> RunToolLoop(LlmClient& client, ChatRequest req, const ToolExecutor& execute, int max_rounds,
                                 const DeltaFn& on_delta);

}  // namespace kefu::llm
