// AgentAssist against the protocol-faithful fake OpenAI server: what the
// prompts carry (transcript without notes, knowledge passages, known facts),
// how answers are cleaned and parsed, and that model failures surface as
// errors (the desk then keeps its extractive summary / KB suggestions).
#include "agents/assist.h"

#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/metrics.h"
#include "llm/openai_client.h"
#include "support/fake_openai.h"

namespace kefu::agents {
namespace {

using nlohmann::json;
using testing::FakeOpenAiServer;
using testing::FakeReply;

dialogue::Message Msg(const std::string& role, const std::string& text) {
  dialogue::Message m;
  m.role = role;
  m.text = text;
  return m;
}

class AssistTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LlmConfig cfg;
    cfg.base_url = fake_.base_url();
    cfg.model = "fake-model";
    cfg.timeout_ms = 3000;
    cfg.max_retries = 0;
    cfg.retry_backoff_ms = 10;
    auto c = llm::OpenAiClient::Create(cfg, metrics_, SystemClock::Instance());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(*c);
    assist_ = std::make_unique<AgentAssist>(*client_);
  }
  // The user message of the last request the fake server saw.
  std::string LastPrompt() {
    auto reqs = fake_.Requests();
    EXPECT_FALSE(reqs.empty());
    if (reqs.empty()) return "";
    const auto& msgs = reqs.back().json["messages"];
    return msgs.back()["content"].get<std::string>();
  }

  FakeOpenAiServer fake_;
  metrics::Registry metrics_;
  std::unique_ptr<llm::OpenAiClient> client_;
  std::unique_ptr<AgentAssist> assist_;
};

TEST_F(AssistTest, SummaryPromptCarriesTranscriptAndFactsButNoNotes) {
  fake_.Enqueue(FakeReply::Json("  客户反映订单SO20240001三天未发货，情绪由平静转为愤怒，机器人已告知发货时效。建议先致歉并核实仓库。  "));
  std::vector<dialogue::Message> h = {Msg("customer", "我的订单SO20240001怎么还不发货"),
                                      Msg("bot", "订单SO20240001 已付款，预计48小时内发货。"),
                                      Msg("note", "内部备注：这位客户上周投诉过"),
                                      Msg("customer", "你们太差劲了，我要投诉！")};
  json facts = {{"reason", "complaint_keywords"}, {"intent", "complaint"}, {"facts", {{"order_id", "SO20240001"}}},
                {"bot_tried", {"x"}}};
  auto s = assist_->Summarize(h, facts);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(*s, "客户反映订单SO20240001三天未发货，情绪由平静转为愤怒，机器人已告知发货时效。建议先致歉并核实仓库。");
  const std::string prompt = LastPrompt();
  EXPECT_NE(prompt.find("客户：我的订单SO20240001怎么还不发货"), std::string::npos) << prompt;
  EXPECT_NE(prompt.find("机器人：订单SO20240001 已付款"), std::string::npos);
  EXPECT_NE(prompt.find("客户：你们太差劲了，我要投诉！"), std::string::npos);
  EXPECT_EQ(prompt.find("内部备注"), std::string::npos) << "notes never go to the model";
  EXPECT_NE(prompt.find("complaint_keywords"), std::string::npos);
  EXPECT_EQ(prompt.find("bot_tried"), std::string::npos) << "only reason, intent and facts are given as known data";
  auto req = fake_.Requests().back().json;
  EXPECT_EQ(req["stream"], false);
  EXPECT_EQ(req["messages"][0]["role"], "system");
}

TEST_F(AssistTest, LongSummaryIsCutOnACharacterBoundary) {
  std::string long_text;
  for (int i = 0; i < 300; ++i) long_text += "很长的摘要";
  fake_.Enqueue(FakeReply::Json(long_text));
  auto s = assist_->Summarize({Msg("customer", "在吗")}, json::object());
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->ends_with("…"));
  EXPECT_LE(s->size(), 400u * 3 + 3);
  EXPECT_EQ(s->substr(0, 15), "很长的摘要");
}

TEST_F(AssistTest, EmptyHistoryAndEmptyAnswerAreErrors) {
  EXPECT_EQ(assist_->Summarize({}, json::object()).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(fake_.RequestCount(), 0u);
  fake_.Enqueue(FakeReply::Json("   "));
  EXPECT_EQ(assist_->Summarize({Msg("customer", "在吗")}, json::object()).status().code(), ErrorCode::kUnavailable);
}

TEST_F(AssistTest, ModelErrorsSurface) {
  fake_.Enqueue(FakeReply::Error(500, "boom"));
  auto s = assist_->Summarize({Msg("customer", "在吗")}, json::object());
  EXPECT_FALSE(s.ok());
  fake_.Enqueue(FakeReply::Error(500, "boom"));
  auto d = assist_->DraftReplies({Msg("customer", "在吗")}, {}, 3);
  EXPECT_FALSE(d.ok());
}

TEST_F(AssistTest, DraftsAreGroundedOnPassagesAndParsedFromJson) {
  fake_.Enqueue(FakeReply::Json(
      "好的，以下是建议：\n[\"非常抱歉让您久等了，我马上为您核实物流。\", \"您的订单已出库，预计明天送达。\", "
      "\"非常抱歉让您久等了，我马上为您核实物流。\", \"如需退款可在订单页申请，1-3个工作日原路退回。\"]"));
  knowledge::Passage p;
  p.id = "kb_refund";
  p.title = "退款多久到账";
  p.text = "退款审核通过后 1-3 个工作日原路退回。";
  auto d = assist_->DraftReplies({Msg("customer", "退款多久到账？等好久了")}, {p}, 3);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_EQ(d->size(), 3u) << "duplicates removed, capped at n";
  EXPECT_EQ((*d)[0], "非常抱歉让您久等了，我马上为您核实物流。");
  EXPECT_EQ((*d)[2], "如需退款可在订单页申请，1-3个工作日原路退回。");
  const std::string prompt = LastPrompt();
  EXPECT_NE(prompt.find("【退款多久到账】退款审核通过后 1-3 个工作日原路退回。"), std::string::npos) << prompt;
  EXPECT_NE(prompt.find("客户：退款多久到账？等好久了"), std::string::npos);
  EXPECT_EQ(assist_->DraftReplies({Msg("customer", "x")}, {}, 0).status().code(), ErrorCode::kInvalidArgument);
}

TEST(AssistParse, LinesWhenTheModelIgnoredTheJsonFormat) {
  auto d = AgentAssist::ParseDrafts("1. 您好，请提供订单号。\n2) “稍等，我帮您查询。”\n- 好的\n\n```\n", 5, 200);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0], "您好，请提供订单号。");
  EXPECT_EQ(d[1], "稍等，我帮您查询。");
  EXPECT_EQ(d[2], "好的");
  EXPECT_TRUE(AgentAssist::ParseDrafts("", 3, 200).empty());
  // Invalid UTF-8 from the model is cleaned.
  auto bad = AgentAssist::ParseDrafts("[\"ok\\u00e9\"]\n", 3, 200);
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0], "oké");
}

}  // namespace
}  // namespace kefu::agents
