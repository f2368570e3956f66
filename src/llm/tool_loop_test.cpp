#include <gtest/gtest.h>

#include <deque>

#include "llm/llm_client.h"

namespace kefu::llm {
namespace {

// Plays scripted responses and records the requests it was sent.
class ScriptedClient final : public LlmClient {
 public:
  std::deque<Result<ChatResponse>> replies;
  std::vector<ChatRequest> requests;

  Result<ChatResponse> Chat(const ChatRequest& req, const DeltaFn& on_delta) override {
    requests.push_back(req);
    Result<ChatResponse> r = replies.front();
    replies.pop_front();
    if (r.ok() && on_delta && !r->content.empty()) on_delta(r->content);
    return r;
  }
};

ChatResponse Calls(std::vector<ToolCall> calls, std::string content = "") {
  ChatResponse r;
  r.content = std::move(content);
  r.tool_calls = std::move(calls);
  r.finish_reason = "tool_calls";
  r.prompt_tokens = 10;
  r.completion_tokens = 2;
  return r;
}

ChatResponse Answer(std::string text) {
  ChatResponse r;
  r.content = std::move(text);
  r.finish_reason = "stop";
  r.prompt_tokens = 20;
  r.completion_tokens = 5;
  return r;
}

ChatRequest WithTool() {
  ChatRequest req;
  req.messages.push_back({"user", "q", {}, ""});
  req.tools.push_back({"f", "", nullptr});
  return req;
}

TEST(RunToolLoop, CallsWithoutIdsGetIdsThatToolMessagesReference) {
  ScriptedClient c;
  c.replies.push_back(Calls({{"", "f", "{}"}, {"", "f", "{\"x\":1}"}}, "Let me check. "));
  c.replies.push_back(Answer("Done."));
  std::string seen;
  auto r = RunToolLoop(c, WithTool(), [](const ToolCall& call) { return "{\"echo\":" + call.arguments + "}"; }, 3,
                       [&](std::string_view d) { seen += d; });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->content, "Let me check. Done.");
  EXPECT_EQ(seen, r->content);
  EXPECT_EQ(r->prompt_tokens, 30);
  EXPECT_EQ(r->completion_tokens, 7);
  ASSERT_EQ(c.requests.size(), 2u);
  const auto& msgs = c.requests[1].messages;
  ASSERT_EQ(msgs.size(), 4u);
  EXPECT_EQ(msgs[1].tool_calls[0].id, "call_0_0");
  EXPECT_EQ(msgs[1].tool_calls[1].id, "call_0_1");
  EXPECT_EQ(msgs[2].tool_call_id, "call_0_0");
  EXPECT_EQ(msgs[3].tool_call_id, "call_0_1");
  EXPECT_EQ(msgs[3].content, "{\"echo\":{\"x\":1}}");
}

TEST(RunToolLoop, StopsWhenTheServerIgnoresToolChoiceNone) {
  ScriptedClient c;
  for (int i = 0; i < 5; ++i) c.replies.push_back(Calls({{"id", "f", "{}"}}));
  int executed = 0;
  auto r = RunToolLoop(c, WithTool(), [&](const ToolCall&) { ++executed; return std::string("{}"); }, 2, nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(executed, 2);
  EXPECT_EQ(c.requests.size(), 3u);
  EXPECT_EQ(c.requests[2].tool_choice, "none");
  EXPECT_EQ(r->tool_calls.size(), 1u);  // left to the caller
}

TEST(RunToolLoop, ErrorsPropagate) {
  ScriptedClient c;
  c.replies.push_back(Calls({{"id", "f", "{}"}}));
  c.replies.push_back(Unavailable("down"));
  auto r = RunToolLoop(c, WithTool(), [](const ToolCall&) { return std::string("{}"); }, 3, nullptr);
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace kefu::llm
