#include "llm/openai_client.h"

#include <gtest/gtest.h>

#include <chrono>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "support/fake_openai.h"

namespace kefu::llm {
namespace {

using testing::FakeOpenAiServer;
using testing::FakeReply;
using SteadyClock = std::chrono::steady_clock;

class OpenAiClientTest : public ::testing::Test {
 protected:
  LlmConfig Cfg() {
    LlmConfig c;
    c.base_url = server_.base_url();
    c.model = "test-model";
    c.api_key = "sk-test";
    c.timeout_ms = 3000;
    c.connect_timeout_ms = 500;
    c.max_retries = 2;
    c.retry_backoff_ms = 10;
    c.breaker_failures = 100;
    c.breaker_cooldown_ms = 5000;
    return c;
  }
  std::unique_ptr<OpenAiClient> Client(const LlmConfig& cfg) {
    auto c = OpenAiClient::Create(cfg, registry_, clock_);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c).value() : nullptr;
  }
  static ChatRequest Ask(const std::string& text) {
    ChatRequest r;
    r.messages.push_back({"system", "You are a support agent.", {}, ""});
    r.messages.push_back({"user", text, {}, ""});
    return r;
  }
  int64_t Outcome(const std::string& outcome) {
    return registry_.GetCounter("kefu_llm_requests_total", "", "outcome=\"" + outcome + "\"").Value();
  }

  FakeOpenAiServer server_;
  metrics::Registry registry_;
  FakeClock clock_;
};

TEST_F(OpenAiClientTest, StreamedDeltasArriveInOrderAndConcatenate) {
  const std::string answer = "您好，我是客服小助手。订单 A100 已发货，预计明天送达。";
  server_.Enqueue(FakeReply::Text(answer, 6));
  auto client = Client(Cfg());
  std::vector<std::string> deltas;
  auto r = client->Chat(Ask("我的订单到哪了？"), [&](std::string_view d) { deltas.emplace_back(d); });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GE(deltas.size(), 5u);
  std::string joined;
  for (const auto& d : deltas) joined += d;
  EXPECT_EQ(joined, answer);
  EXPECT_EQ(r->content, answer);
  EXPECT_EQ(r->finish_reason, "stop");
  EXPECT_TRUE(r->tool_calls.empty());

  auto reqs = server_.Requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/v1/chat/completions");
  EXPECT_EQ(reqs[0].authorization, "Bearer sk-test");
  EXPECT_EQ(reqs[0].json["model"], "test-model");
  EXPECT_EQ(reqs[0].json["stream"], true);
  EXPECT_EQ(reqs[0].json["stream_options"]["include_usage"], true);
  EXPECT_EQ(reqs[0].json["messages"][1]["content"], "我的订单到哪了？");
}

TEST_F(OpenAiClientTest, UsageIsCountedInMetrics) {
  FakeReply reply = FakeReply::Text("ok then", 2);
  reply.prompt_tokens = 31;
  reply.completion_tokens = 5;
  server_.Enqueue(reply);
  auto client = Client(Cfg());
  auto r = client->Chat(Ask("hi"), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->prompt_tokens, 31);
  EXPECT_EQ(r->completion_tokens, 5);
  EXPECT_EQ(registry_.GetCounter("kefu_llm_tokens_total", "", "kind=\"prompt\"").Value(), 31);
  EXPECT_EQ(registry_.GetCounter("kefu_llm_tokens_total", "", "kind=\"completion\"").Value(), 5);
  EXPECT_EQ(Outcome("ok"), 1);
  EXPECT_EQ(registry_.GetHistogram("kefu_llm_request_seconds", "").Snap().count, 1u);
  std::string text = registry_.Render();
  EXPECT_NE(text.find("kefu_llm_tokens_total{kind=\"prompt\"} 31"), std::string::npos) << text;
  EXPECT_NE(text.find("kefu_llm_breaker_open 0"), std::string::npos) << text;
}

TEST_F(OpenAiClientTest, NonStreamingModeAndServersThatIgnoreStream) {
  auto client = Client(Cfg());
  server_.Enqueue(FakeReply::Text("plain answer"));
  ChatRequest req = Ask("q");
  req.stream = false;
  std::string seen;
  auto r = client->Chat(req, [&](std::string_view d) { seen += d; });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->content, "plain answer");
  EXPECT_EQ(seen, "plain answer");
  EXPECT_EQ(r->prompt_tokens, 11);
  EXPECT_EQ(server_.Requests()[0].json["stream"], false);
  EXPECT_FALSE(server_.Requests()[0].json.contains("stream_options"));

  server_.Enqueue(FakeReply::Json("json although streaming was asked"));
  auto r2 = client->Chat(Ask("q"), nullptr);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ(r2->content, "json although streaming was asked");
}

TEST_F(OpenAiClientTest, DefaultModeAnswersFromLastUserMessage) {
  auto client = Client(Cfg());
  auto r = client->Chat(Ask("退货政策是什么？"), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->content, FakeOpenAiServer::DefaultAnswer("退货政策是什么？"));
}

TEST_F(OpenAiClientTest, StreamedToolCallIsAccumulated) {
  server_.Enqueue(FakeReply::ToolCalls({{"call_1", "get_order", R"({"order_id":"A100","fields":["status","eta"]})"}}, 4));
  auto client = Client(Cfg());
  ChatRequest req = Ask("where is A100");
  req.tools.push_back({"get_order", "Look up an order", {{"type", "object"}}});
  std::string seen;
  auto r = client->Chat(req, [&](std::string_view d) { seen += d; });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(seen, "");
  EXPECT_EQ(r->finish_reason, "tool_calls");
  ASSERT_EQ(r->tool_calls.size(), 1u);
  EXPECT_EQ(r->tool_calls[0].id, "call_1");
  EXPECT_EQ(r->tool_calls[0].name, "get_order");
  EXPECT_EQ(r->tool_calls[0].arguments, R"({"order_id":"A100","fields":["status","eta"]})");
  EXPECT_EQ(server_.Requests()[0].json["tools"][0]["function"]["name"], "get_order");
}

TEST_F(OpenAiClientTest, RunToolLoopTwoRounds) {
  server_.Enqueue(FakeReply::ToolCalls({{"call_1", "get_order", R"({"order_id":"A100"})"}}));
  server_.Enqueue(FakeReply::ToolCalls({{"call_2", "get_shipment", R"({"tracking":"SF123"})"}}));
  server_.Enqueue(FakeReply::Text("Your parcel SF123 arrives tomorrow.", 4));
  auto client = Client(Cfg());
  ChatRequest req = Ask("where is A100");
  req.tools.push_back({"get_order", "Look up an order", {{"type", "object"}}});
  req.tools.push_back({"get_shipment", "Track a parcel", {{"type", "object"}}});
  std::vector<std::string> executed;
  auto exec = [&](const ToolCall& c) {
    executed.push_back(c.name + c.arguments);
    return c.name == "get_order" ? std::string(R"({"tracking":"SF123"})") : std::string(R"({"eta":"tomorrow"})");
  };
  std::string seen;
  auto r = RunToolLoop(*client, req, exec, 3, [&](std::string_view d) { seen += d; });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->content, "Your parcel SF123 arrives tomorrow.");
  EXPECT_EQ(seen, r->content);
  EXPECT_EQ(r->prompt_tokens, 33);
  ASSERT_EQ(executed.size(), 2u);
  EXPECT_EQ(executed[0], R"(get_order{"order_id":"A100"})");
  EXPECT_EQ(executed[1], R"(get_shipment{"tracking":"SF123"})");

  auto reqs = server_.Requests();
  ASSERT_EQ(reqs.size(), 3u);
  const auto& msgs = reqs[2].json["messages"];
  ASSERT_EQ(msgs.size(), 6u);  // system, user, assistant+call, tool, assistant+call, tool
  EXPECT_EQ(msgs[2]["role"], "assistant");
  EXPECT_EQ(msgs[2]["tool_calls"][0]["id"], "call_1");
  EXPECT_EQ(msgs[3]["role"], "tool");
  EXPECT_EQ(msgs[3]["tool_call_id"], "call_1");
  EXPECT_EQ(msgs[3]["content"], R"({"tracking":"SF123"})");
  EXPECT_EQ(msgs[5]["tool_call_id"], "call_2");
  EXPECT_FALSE(reqs[2].json.contains("tool_choice"));
}

TEST_F(OpenAiClientTest, RunToolLoopForcesAnAnswerAfterMaxRounds) {
  server_.Enqueue(FakeReply::ToolCalls({{"call_1", "f", "{}"}}));
  server_.Enqueue(FakeReply::Text("done"));
  auto client = Client(Cfg());
  ChatRequest req = Ask("x");
  req.tools.push_back({"f", "", nullptr});
  int calls = 0;
  auto r = RunToolLoop(*client, req, [&](const ToolCall&) { ++calls; return std::string("{}"); }, 1, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->content, "done");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(server_.Requests()[1].json["tool_choice"], "none");
}

TEST_F(OpenAiClientTest, ServerErrorIsRetriedThenSucceeds) {
  server_.Enqueue(FakeReply::Error(500, "engine overloaded"));
  server_.Enqueue(FakeReply::Error(429, "slow down"));
  server_.Enqueue(FakeReply::Text("third time lucky"));
  auto client = Client(Cfg());
  auto r = client->Chat(Ask("q"), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->content, "third time lucky");
  EXPECT_EQ(server_.RequestCount(), 3u);
  EXPECT_EQ(registry_.GetCounter("kefu_llm_retries_total", "").Value(), 2);
}

TEST_F(OpenAiClientTest, RetriesAreBoundedByMaxRetries) {
  for (int i = 0; i < 5; ++i) server_.Enqueue(FakeReply::Error(503, "down"));
  LlmConfig cfg = Cfg();
  cfg.max_retries = 1;
  auto client = Client(cfg);
  auto r = client->Chat(Ask("q"), nullptr);
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.status().message().find("503"), std::string::npos) << r.status().message();
  EXPECT_EQ(server_.RequestCount(), 2u);
  EXPECT_EQ(Outcome("unavailable"), 1);
}

TEST_F(OpenAiClientTest, BadRequestIsNotRetried) {
  server_.Enqueue(FakeReply::Error(400, "max_tokens is too large: 99999"));
  server_.Enqueue(FakeReply::Text("must not be used"));
  auto client = Client(Cfg());
  auto r = client->Chat(Ask("q"), nullptr);
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("max_tokens is too large: 99999"), std::string::npos) << r.status().message();
  EXPECT_EQ(server_.RequestCount(), 1u);
}

TEST_F(OpenAiClientTest, SlowHeadersGiveDeadlineExceededWithinTheBound) {
  server_.Enqueue(FakeReply::Text("late").DelayBeforeHeaders(5000));
  LlmConfig cfg = Cfg();
  cfg.timeout_ms = 300;
  auto client = Client(cfg);
  auto start = SteadyClock::now();
  auto r = client->Chat(Ask("q"), nullptr);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start).count();
  EXPECT_EQ(r.status().code(), ErrorCode::kDeadlineExceeded) << r.status().ToString();
  EXPECT_GE(ms, 290);
  EXPECT_LT(ms, 600);
  EXPECT_EQ(server_.RequestCount(), 1u);
  EXPECT_EQ(Outcome("deadline_exceeded"), 1);
}

TEST_F(OpenAiClientTest, SlowStreamTimesOutAfterSomeDeltasWithoutRetry) {
  server_.Enqueue(FakeReply::Text("one two three four five six", 6).DelayBetweenChunks(150));
  LlmConfig cfg = Cfg();
  cfg.timeout_ms = 400;
  auto client = Client(cfg);
  std::string seen;
  auto start = SteadyClock::now();
  auto r = client->Chat(Ask("q"), [&](std::string_view d) { seen += d; });
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start).count();
  EXPECT_EQ(r.status().code(), ErrorCode::kDeadlineExceeded) << r.status().ToString();
  EXPECT_FALSE(seen.empty());
  EXPECT_LT(ms, 700);
  EXPECT_EQ(server_.RequestCount(), 1u);
}

TEST_F(OpenAiClientTest, DroppedMidStreamIsAnErrorAndNotRetriedAfterDeltas) {
  server_.Enqueue(FakeReply::Drop("abcdefghi", 1, 3));
  server_.Enqueue(FakeReply::Text("must not be used"));
  auto client = Client(Cfg());
  std::string seen;
  auto r = client->Chat(Ask("q"), [&](std::string_view d) { seen += d; });
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable) << r.status().ToString();
  EXPECT_EQ(seen, "abc");
  EXPECT_EQ(server_.RequestCount(), 1u);
}

TEST_F(OpenAiClientTest, DroppedBeforeAnyContentIsRetried) {
  server_.Enqueue(FakeReply::Drop("abcdefghi", 0, 3));
  server_.Enqueue(FakeReply::Text("second try"));
  auto client = Client(Cfg());
  std::string seen;
  auto r = client->Chat(Ask("q"), [&](std::string_view d) { seen += d; });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(seen, "second try");
  EXPECT_EQ(server_.RequestCount(), 2u);
}

TEST_F(OpenAiClientTest, BreakerOpensAfterFailuresAndHalfOpensAfterCooldown) {
  LlmConfig cfg = Cfg();
  cfg.max_retries = 0;
  cfg.breaker_failures = 2;
  cfg.breaker_cooldown_ms = 5000;
  auto client = Client(cfg);
  auto& open_gauge = registry_.GetGauge("kefu_llm_breaker_open", "");
  for (int i = 0; i < 2; ++i) server_.Enqueue(FakeReply::Error(502, "bad gateway"));
  EXPECT_EQ(client->Chat(Ask("q"), nullptr).status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(client->breaker_state(), CircuitBreaker::State::kClosed);
  EXPECT_EQ(client->Chat(Ask("q"), nullptr).status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(client->breaker_state(), CircuitBreaker::State::kOpen);
  EXPECT_EQ(open_gauge.Value(), 1);

  // Open: rejected without touching the server.
  auto rejected = client->Chat(Ask("q"), nullptr);
  EXPECT_EQ(rejected.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(rejected.status().message().find("circuit breaker"), std::string::npos);
  EXPECT_EQ(server_.RequestCount(), 2u);
  EXPECT_EQ(Outcome("breaker_open"), 1);

  clock_.AdvanceMs(4999);
  EXPECT_EQ(client->Chat(Ask("q"), nullptr).status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(server_.RequestCount(), 2u);

  // Half-open trial fails: open again for a full cooldown.
  clock_.AdvanceMs(1);
  server_.Enqueue(FakeReply::Error(500, "still down"));
  EXPECT_EQ(client->Chat(Ask("q"), nullptr).status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(server_.RequestCount(), 3u);
  EXPECT_EQ(client->breaker_state(), CircuitBreaker::State::kOpen);
  EXPECT_FALSE(client->Chat(Ask("q"), nullptr).ok());
  EXPECT_EQ(server_.RequestCount(), 3u);

  // Next trial succeeds (default reply): closed again.
  clock_.AdvanceMs(5000);
  auto ok = client->Chat(Ask("hello"), nullptr);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(client->breaker_state(), CircuitBreaker::State::kClosed);
  EXPECT_EQ(open_gauge.Value(), 0);
  EXPECT_EQ(server_.RequestCount(), 4u);
}

TEST_F(OpenAiClientTest, BadRequestsDoNotOpenTheBreaker) {
  LlmConfig cfg = Cfg();
  cfg.breaker_failures = 1;
  auto client = Client(cfg);
  server_.Enqueue(FakeReply::Error(400, "bad"));
  EXPECT_EQ(client->Chat(Ask("q"), nullptr).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(client->breaker_state(), CircuitBreaker::State::kClosed);
}

TEST_F(OpenAiClientTest, ConnectionRefusedIsUnavailableAfterRetries) {
  unsigned short port;
  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  LlmConfig cfg = Cfg();
  cfg.base_url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
  cfg.max_retries = 1;
  auto client = Client(cfg);
  auto r = client->Chat(Ask("q"), nullptr);
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable) << r.status().ToString();
  EXPECT_EQ(registry_.GetCounter("kefu_llm_retries_total", "").Value(), 1);
}

TEST_F(OpenAiClientTest, HttpsToAPlainHttpServerFailsTheHandshake) {
  LlmConfig cfg = Cfg();
  cfg.base_url = "https://127.0.0.1:" + std::to_string(server_.port()) + "/v1";
  auto client = Client(cfg);
  auto r = client->Chat(Ask("q"), nullptr);
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("TLS"), std::string::npos) << r.status().message();
}

TEST(OpenAiClientCreate, RejectsBadConfig) {
  metrics::Registry reg;
  FakeClock clock;
  LlmConfig cfg;
  cfg.model = "m";
  cfg.base_url = "ftp://x/v1";
  EXPECT_EQ(OpenAiClient::Create(cfg, reg, clock).status().code(), ErrorCode::kInvalidArgument);
  cfg.base_url = "http://:80/v1";
  EXPECT_EQ(OpenAiClient::Create(cfg, reg, clock).status().code(), ErrorCode::kInvalidArgument);
  cfg.base_url = "http://host:port/v1";
  EXPECT_EQ(OpenAiClient::Create(cfg, reg, clock).status().code(), ErrorCode::kInvalidArgument);
  cfg.base_url = "http://localhost:11434/v1";
  cfg.model = "";
  EXPECT_EQ(OpenAiClient::Create(cfg, reg, clock).status().code(), ErrorCode::kInvalidArgument);
  cfg.model = "qwen2.5";
  EXPECT_TRUE(OpenAiClient::Create(cfg, reg, clock).ok());
  cfg.base_url = "https://api.example.com/v1/";
  EXPECT_TRUE(OpenAiClient::Create(cfg, reg, clock).ok());
}

}  // namespace
}  // namespace kefu::llm
