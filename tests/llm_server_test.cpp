// The LLM path end to end: the server configured with [llm] pointing at the
// protocol-faithful fake OpenAI-compatible server (tests/support/fake_openai).
#include <gtest/gtest.h>

#include <filesystem>

#include "http/testing.h"
#include "storage/sqlite.h"
#include "support/fake_openai.h"
#include "support/test_server.h"

namespace kefu {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using http::testing::Fetch;
using http::testing::Headers;
using testing::FakeOpenAiServer;
using testing::FakeReply;

const Headers kWidget = {{"X-Kefu-Widget-Key", "demo"}, {"Content-Type", "application/json"}};

class LlmServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("llm_test", /*per_test=*/true);
    config_ = testing::TestConfig(dir_);
    config_.llm.base_url = fake_.base_url();
    config_.llm.model = "fake-model";
    config_.llm.api_key = "sk-test";
    config_.llm.timeout_ms = 3000;
    config_.llm.max_retries = 1;
    config_.llm.retry_backoff_ms = 10;
    config_.dialogue.require_verified_customer = false;  // a trusted channel: the claimed customer_id stands
    auto a = testing::StartServer(config_);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    app_ = std::move(*a);
  }
  void TearDown() override {
    app_.reset();
    fs::remove_all(dir_);
  }

  std::string NewConversation() {
    auto r = Fetch(app_->port(), "POST", "/v1/conversations", R"({"customer_id":"C0001"})", kWidget);
    EXPECT_TRUE(r.ok());
    return json::parse(r->body).value("id", "");
  }

  json Post(const std::string& id, const std::string& cmid, const std::string& text) {
    auto r = Fetch(app_->port(), "POST", "/v1/conversations/" + id + "/messages",
                   json{{"client_msg_id", cmid}, {"text", text}}.dump(), kWidget);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r->status, 200) << r->body;
    return json::parse(r->body);
  }

  FakeOpenAiServer fake_;
  Config config_;
  fs::path dir_;
  std::unique_ptr<app::ServerApp> app_;
};

TEST_F(LlmServerTest, GeneratedAnswerIsGroundedAndCitesPassages) {
  fake_.Enqueue(FakeReply::Text("付款后 48 小时内发货 [1]。", 4));
  std::string id = NewConversation();
  json r = Post(id, "m1", "下单后多久发货？");
  EXPECT_EQ(r["reply"]["text"], "付款后 48 小时内发货 [1]。");
  EXPECT_EQ(r["reply"]["meta"]["source"], "llm");
  ASSERT_FALSE(r["reply"]["meta"]["citations"].empty());
  EXPECT_EQ(r["reply"]["meta"]["citations"][0]["id"], "kb-ship-01");
  ASSERT_EQ(fake_.RequestCount(), 1u);
  const json req = fake_.Requests()[0].json;
  EXPECT_EQ(req["model"], "fake-model");
  EXPECT_EQ(fake_.Requests()[0].authorization, "Bearer sk-test");
  std::string system = req["messages"][0]["content"];
  EXPECT_NE(system.find("参考资料"), std::string::npos);
  EXPECT_NE(system.find("48 小时"), std::string::npos);
  EXPECT_FALSE(req["tools"].empty());
}

TEST_F(LlmServerTest, ToolCallsRunAgainstLiveOrderData) {
  fake_.Enqueue(FakeReply::ToolCalls({{"call_1", "track_logistics", "{}"}}));
  fake_.Enqueue(FakeReply::Text("您的包裹正在路上。"));
  std::string id = NewConversation();
  json r = Post(id, "m1", "我的快递到哪里了");
  EXPECT_EQ(r["reply"]["text"], "您的包裹正在路上。");
  ASSERT_EQ(r["reply"]["meta"]["tools"].size(), 1u);
  EXPECT_EQ(r["reply"]["meta"]["tools"][0]["name"], "track_logistics");
  EXPECT_TRUE(r["reply"]["meta"]["tools"][0]["ok"].get<bool>());
  ASSERT_EQ(fake_.RequestCount(), 2u);
  const json second = fake_.Requests()[1].json;
  const json& tool_msg = second["messages"].back();
  EXPECT_EQ(tool_msg["role"], "tool");
  EXPECT_EQ(tool_msg["tool_call_id"], "call_1");
  EXPECT_NE(tool_msg["content"].get<std::string>().find("tracking_no"), std::string::npos);
}

TEST_F(LlmServerTest, FailingModelFallsBackToGroundedAnswer) {
  for (int i = 0; i < 4; ++i) fake_.Enqueue(FakeReply::Error(500, "overloaded"));
  std::string id = NewConversation();
  json r = Post(id, "m1", "退货运费谁承担");
  EXPECT_EQ(r["reply"]["meta"]["source"], "grounded_fallback");
  EXPECT_FALSE(r["reply"]["text"].get<std::string>().empty());
  EXPECT_FALSE(r["reply"]["meta"]["citations"].empty());
}

TEST_F(LlmServerTest, StreamsDeltasOverWebSocket) {
  fake_.Enqueue(FakeReply::Text("您好，很高兴为您服务。", 4).DelayBetweenChunks(20));
  std::string id = NewConversation();
  auto ws = http::testing::WsClient::Connect(app_->port(), "/v1/conversations/" + id + "/ws?widget_key=demo");
  ASSERT_TRUE(ws.ok());
  ASSERT_TRUE((*ws)->Send(R"({"type":"message","client_msg_id":"w1","text":"在吗，想咨询一下"})").ok());
  std::string streamed, final_text;
  for (int i = 0; i < 20 && final_text.empty(); ++i) {
    auto f = (*ws)->Receive();
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    json j = json::parse(*f);
    if (j["type"] == "delta") streamed += j["text"].get<std::string>();
    if (j["type"] == "message" && j["message"]["role"] == "bot") final_text = j["message"]["text"];
  }
  EXPECT_EQ(final_text, "您好，很高兴为您服务。");
  EXPECT_EQ(streamed, final_text);
}

TEST_F(LlmServerTest, GracefulStopFinishesInFlightTurns) {
  fake_.Enqueue(FakeReply::Text("慢慢的回答。").DelayBeforeHeaders(800));
  std::string id = NewConversation();
  auto r = Fetch(app_->port(), "POST", "/v1/conversations/" + id + "/messages?wait=false",
                 R"({"client_msg_id":"slow","text":"有个问题想问"})", kWidget);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 202);
  app_->Stop();  // must wait for the slow turn
  auto db = storage::Database::Open((dir_ / "kefu.db").string());
  ASSERT_TRUE(db.ok());
  auto s = (*db)->Lock();
  auto& st = s.Prepare("SELECT text FROM messages WHERE conversation_id = ? AND role = 'bot'");
  st.Bind(1, id);
  auto row = st.Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(st.Text(0), "慢慢的回答。");
}

}  // namespace
}  // namespace kefu
