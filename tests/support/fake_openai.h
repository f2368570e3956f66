// FakeOpenAiServer: a protocol-faithful OpenAI-compatible chat-completions
// server for tests. It listens on 127.0.0.1 with an ephemeral port, records
// every request it receives, and answers POST .../chat/completions with
// scripted replies taken from a FIFO queue. With the queue empty it answers
// deterministically from the last user message ("fake answer: <message>"), so
// integration tests of the whole server can run against it.
//
// Replies honour the request: a request with "stream": true gets
// `chat.completion.chunk` SSE events (content split into several chunks, each
// event additionally split across two socket writes, a usage chunk when
// stream_options.include_usage is set, then `data: [DONE]`); otherwise one
// `chat.completion` JSON body.
//
// Threads: one accept thread plus one thread per connection; all public
// methods are thread-safe. The destructor stops and joins everything (slow
// replies are cut short).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kefu::testing {

struct FakeToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text; streamed in several fragments
};

struct FakeReply {
  enum class Kind { kText, kToolCalls, kError, kDrop };
  Kind kind = Kind::kText;
  std::string content;                  // kText / kDrop
  int chunks = 3;                       // content (or arguments) pieces when streaming
  std::vector<FakeToolCall> tool_calls;  // kToolCalls
  int status = 200;                     // kError
  std::string error_message;            // kError
  int drop_after_chunks = 1;            // kDrop: content chunks sent before the connection is cut
  bool force_json = false;              // send a chat.completion even if streaming was asked for
  int delay_before_headers_ms = 0;
  int delay_between_chunks_ms = 0;
  int prompt_tokens = 11;
  int completion_tokens = 7;

  static FakeReply Text(std::string content, int chunks = 3);
  // A non-streamed `chat.completion` whatever the request asked for.
  static FakeReply Json(std::string content);
  static FakeReply ToolCalls(std::vector<FakeToolCall> calls, int fragments = 3);
  // An HTTP error with an OpenAI-style body {"error":{"message",...}}.
  static FakeReply Error(int status, std::string message);
  // Streams `drop_after` content chunks of `content`, then closes the socket
  // without finishing the chunked body.
  static FakeReply Drop(std::string content, int drop_after = 1, int chunks = 3);

  FakeReply& DelayBeforeHeaders(int ms) {
    delay_before_headers_ms = ms;
    return *this;
  }
  FakeReply& DelayBetweenChunks(int ms) {
    delay_between_chunks_ms = ms;
    return *this;
  }
};

struct RecordedRequest {
  std::string method;
  std::string target;
  std::string authorization;  // the Authorization header, empty when absent
  std::string body;
  nlohmann::json json;        // parsed body (null if it was not JSON)
};

class FakeOpenAiServer {
 public:
  FakeOpenAiServer();  // starts listening; aborts the test binary if it cannot bind
  ~FakeOpenAiServer();
  FakeOpenAiServer(const FakeOpenAiServer&) = delete;
  FakeOpenAiServer& operator=(const FakeOpenAiServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:<port>/v1", ready for LlmConfig::base_url.
  std::string base_url() const;

  void Enqueue(FakeReply reply);
  std::vector<RecordedRequest> Requests() const;
  size_t RequestCount() const;

  // The deterministic default answer for a user message.
  static std::string DefaultAnswer(const std::string& last_user_message);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace kefu::testing
