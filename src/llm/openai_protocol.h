// Wire format of the OpenAI chat-completions API, without any networking:
// request bodies, Server-Sent-Events framing, streamed-chunk accumulation and
// error bodies. Internal to the llm module (used by OpenAiClient and its tests).
// All types are single-threaded values.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "llm/llm_client.h"

namespace kefu::llm::openai {

// The JSON body of POST /chat/completions. `temperature`/`max_tokens` are the
// effective values (request overrides already applied).
nlohmann::json BuildRequestBody(const ChatRequest& req, const std::string& model, double temperature,
                                int max_tokens);

// Parses a non-streamed `chat.completion` body.
Result<ChatResponse> ParseCompletion(std::string_view body);

// The human-readable message of an error body: OpenAI {"error":{"message"}},
// vLLM/FastAPI {"message"} / {"detail"}, or the raw text (truncated).
std::string ErrorMessage(std::string_view body);

// Incremental SSE decoder: feed bytes as they arrive (split anywhere, even
// inside a line or a CRLF); complete events' `data` payloads come out in order.
class SseParser {
 public:
  // Appends the data of every event completed by `bytes` to `events`.
  void Feed(std::string_view bytes, std::vector<std::string>& events);
  // End of stream: an event not terminated by a blank line is still delivered.
  void Finish(std::vector<std::string>& events);

 private:
  void Line(std::string_view line, std::vector<std::string>& events);

  std::string pending_;  // bytes of an incomplete line
  std::string data_;     // data lines of the current event
  bool has_data_ = false;
};

// Folds `chat.completion.chunk` objects into a ChatResponse: content deltas,
// tool-call fragments keyed by index (id/name once, arguments in pieces),
// finish_reason and usage.
class StreamAccumulator {
 public:
  // Applies one chunk; returns its content delta (possibly empty) in `delta`.
  // An {"error":...} chunk (sent by vLLM and others mid-stream) is Unavailable.
  Status Apply(const nlohmann::json& chunk, std::string& delta);
  bool finished() const { return !response_.finish_reason.empty(); }
  ChatResponse Take();

 private:
  ChatResponse response_;
  std::map<int, ToolCall> calls_;
};

}  // namespace kefu::llm::openai
