#include "llm/openai_protocol.h"

#include <gtest/gtest.h>

#include "common/clock.h"
#include "llm/circuit_breaker.h"

namespace kefu::llm {
namespace {

using nlohmann::json;

TEST(SseParser, EventsSplitAtEveryByteComeOutWhole) {
  const std::string stream =
      ": keep-alive\r\n\r\n"
      "event: message\r\ndata: {\"a\":1}\r\n\r\n"
      "data: line1\ndata: line2\n\n"
      "id: 7\ndata:nospace\n\n"
      "data: [DONE]\n\n";
  openai::SseParser p;
  std::vector<std::string> events;
  for (char c : stream) p.Feed(std::string_view(&c, 1), events);
  p.Finish(events);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0], "{\"a\":1}");
  EXPECT_EQ(events[1], "line1\nline2");
  EXPECT_EQ(events[2], "nospace");
  EXPECT_EQ(events[3], "[DONE]");
}

TEST(SseParser, UnterminatedLastEventIsDeliveredAtFinish) {
  openai::SseParser p;
  std::vector<std::string> events;
  p.Feed("data: {\"x\":2}", events);
  EXPECT_TRUE(events.empty());
  p.Finish(events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], "{\"x\":2}");
}

TEST(StreamAccumulator, ToolCallFragmentsAreJoinedByIndex) {
  openai::StreamAccumulator acc;
  std::string delta;
  auto apply = [&](const char* text) { ASSERT_TRUE(acc.Apply(json::parse(text), delta).ok()); };
  apply(R"({"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]})");
  apply(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_order","arguments":""}}]}}]})");
  apply(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"order"}}]}}]})");
  apply(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","function":{"name":"weather","arguments":"{}"}}]}}]})");
  apply(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"_id\":\"A1\"}"}}]}}]})");
  EXPECT_FALSE(acc.finished());
  apply(R"({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})");
  apply(R"({"choices":[],"usage":{"prompt_tokens":20,"completion_tokens":9}})");
  EXPECT_TRUE(acc.finished());
  ChatResponse r = acc.Take();
  ASSERT_EQ(r.tool_calls.size(), 2u);
  EXPECT_EQ(r.tool_calls[0].id, "call_a");
  EXPECT_EQ(r.tool_calls[0].name, "get_order");
  EXPECT_EQ(r.tool_calls[0].arguments, "{\"order_id\":\"A1\"}");
  EXPECT_EQ(r.tool_calls[1].name, "weather");
  EXPECT_EQ(r.finish_reason, "tool_calls");
  EXPECT_EQ(r.prompt_tokens, 20);
  EXPECT_EQ(r.completion_tokens, 9);
}

TEST(StreamAccumulator, ErrorChunkIsUnavailable) {
  openai::StreamAccumulator acc;
  std::string delta;
  Status st = acc.Apply(json::parse(R"({"error":{"message":"engine died"}})"), delta);
  EXPECT_EQ(st.code(), ErrorCode::kUnavailable);
  EXPECT_NE(st.message().find("engine died"), std::string::npos);
}

TEST(BuildRequestBody, CarriesToolsToolCallsAndStreamOptions) {
  ChatRequest req;
  req.messages.push_back({"system", "be brief", {}, ""});
  req.messages.push_back({"user", "where is A1?", {}, ""});
  req.messages.push_back({"assistant", "", {{"call_1", "get_order", "{\"id\":\"A1\"}"}}, ""});
  req.messages.push_back({"tool", "{\"status\":\"shipped\"}", {}, "call_1"});
  req.tools.push_back({"get_order", "look up an order", json{{"type", "object"}}});
  json b = openai::BuildRequestBody(req, "qwen", 0.2, 64);
  EXPECT_EQ(b["model"], "qwen");
  EXPECT_EQ(b["stream"], true);
  EXPECT_EQ(b["stream_options"]["include_usage"], true);
  EXPECT_EQ(b["max_tokens"], 64);
  EXPECT_TRUE(b["messages"][2]["content"].is_null());
  EXPECT_EQ(b["messages"][2]["tool_calls"][0]["function"]["arguments"], "{\"id\":\"A1\"}");
  EXPECT_EQ(b["messages"][3]["tool_call_id"], "call_1");
  EXPECT_EQ(b["tools"][0]["type"], "function");
  EXPECT_EQ(b["tools"][0]["function"]["name"], "get_order");
  EXPECT_FALSE(b.contains("tool_choice"));
  req.stream = false;
  EXPECT_FALSE(openai::BuildRequestBody(req, "m", 0, 1).contains("stream_options"));
}

TEST(ParseCompletion, ReadsContentToolCallsAndUsage) {
  auto r = openai::ParseCompletion(
      R"({"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":3,"completion_tokens":4}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->content, "");
  ASSERT_EQ(r->tool_calls.size(), 1u);
  EXPECT_EQ(r->tool_calls[0].arguments, "{\"a\":1}");
  EXPECT_EQ(r->prompt_tokens, 3);
  EXPECT_EQ(r->completion_tokens, 4);
  EXPECT_EQ(openai::ParseCompletion("not json").status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(openai::ParseCompletion(R"({"choices":[]})").status().code(), ErrorCode::kUnavailable);
}

TEST(ErrorMessage, UnderstandsCommonServerShapes) {
  EXPECT_EQ(openai::ErrorMessage(R"({"error":{"message":"bad model","type":"x"}})"), "bad model");
  EXPECT_EQ(openai::ErrorMessage(R"({"object":"error","message":"too long"})"), "too long");
  EXPECT_EQ(openai::ErrorMessage(R"({"detail":"Not Found"})"), "Not Found");
  EXPECT_EQ(openai::ErrorMessage("Bad Gateway"), "Bad Gateway");
}

TEST(CircuitBreaker, OpensAfterFailuresAndHalfOpensAfterCooldown) {
  FakeClock clock;
  CircuitBreaker b(3, 1000, clock);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(b.Allow());
    b.Record(false);
  }
  ASSERT_TRUE(b.Allow());
  b.Record(true);  // a success resets the count
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(b.Allow());
    b.Record(false);
  }
  EXPECT_EQ(b.state(), CircuitBreaker::State::kOpen);
  EXPECT_FALSE(b.Allow());
  clock.AdvanceMs(999);
  EXPECT_FALSE(b.Allow());
  clock.AdvanceMs(1);
  EXPECT_TRUE(b.Allow());   // the trial
  EXPECT_FALSE(b.Allow());  // only one at a time
  b.Record(false);          // trial failed: open for another cooldown
  EXPECT_EQ(b.state(), CircuitBreaker::State::kOpen);
  EXPECT_FALSE(b.Allow());
  clock.AdvanceMs(1000);
  EXPECT_TRUE(b.Allow());
  b.Record(true);
  EXPECT_EQ(b.state(), CircuitBreaker::State::kClosed);
  EXPECT_TRUE(b.Allow());
  b.Record(true);
}

}  // namespace
}  // namespace kefu::llm
