#include "dialogue/llm_understanding.h"

#include <gtest/gtest.h>

namespace kefu::dialogue {
namespace {

using I = Interpretation::Intent;

TEST(ParseInterpretation, ReadsTheObjectWhereverTheModelPutsIt) {
  auto a = ParseInterpretation(R"({"intent":"track_logistics","query":"洗衣机到哪了","product":"洗衣机"})");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->intent, I::kTrackLogistics);
  EXPECT_EQ(a->query, "洗衣机到哪了");
  EXPECT_EQ(a->product, "洗衣机");
  auto fenced = ParseInterpretation("Sure:\n```json\n{\"intent\": \"faq\", \"query\": \"怎么退货\"}\n```");
  ASSERT_TRUE(fenced.ok());
  EXPECT_EQ(fenced->intent, I::kFaq);
  EXPECT_EQ(fenced->product, "");
  for (const char* name : {"order_status", "list_orders", "product_search", "human", "smalltalk", "unclear",
                           "out_of_scope"}) {
    auto r = ParseInterpretation(std::string(R"({"intent":")") + name + "\"}");
    ASSERT_TRUE(r.ok()) << name;
    EXPECT_EQ(IntentName(r->intent), name);
  }
}

TEST(ParseInterpretation, RefusesWhatIsNotAReading) {
  EXPECT_FALSE(ParseInterpretation("").ok());
  EXPECT_FALSE(ParseInterpretation("the customer wants a refund").ok());
  EXPECT_FALSE(ParseInterpretation(R"({"query":"x"})").ok());
  EXPECT_FALSE(ParseInterpretation(R"({"intent":"refund_now"})").ok());
  EXPECT_FALSE(ParseInterpretation(R"({"intent":3})").ok());
  EXPECT_FALSE(ParseInterpretation(R"({"intent":"faq")").ok());
  EXPECT_FALSE(
      ParseInterpretation(R"({"intent":"faq","query":)" + std::string(20, '[') + std::string(20, ']') + "}").ok());
  std::string huge = R"({"intent":"faq","query":")" + std::string(5000, 'a') + "\"}";
  EXPECT_FALSE(ParseInterpretation(huge).ok());
}

TEST(ParseInterpretation, FieldsAreBoundedAndClean) {
  std::string long_query(300 * 3, '\0');
  long_query.clear();
  for (int i = 0; i < 300; ++i) long_query += "退";
  auto r = ParseInterpretation(R"({"intent":"faq","query":")" + long_query + R"(","product":"  a\u0000b\n "})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->query.size(), 200u * 3);  // 200 characters
  EXPECT_EQ(r->product, "a b");
  auto not_text = ParseInterpretation(R"({"intent":"faq","query":{"a":1},"product":["x"]})");
  ASSERT_TRUE(not_text.ok());
  EXPECT_EQ(not_text->query, "");
  EXPECT_EQ(not_text->product, "");
}

class RecordingClient final : public llm::LlmClient {
 public:
  Result<llm::ChatResponse> Chat(const llm::ChatRequest& req, const llm::DeltaFn&) override {
    last = req;
    if (!reply.ok()) return reply.status();
    return *reply;
  }
  llm::ChatRequest last;
  Result<llm::ChatResponse> reply = llm::ChatResponse{};
};

TEST(LlmTurnInterpreter, AsksBrieflyWithRecentContext) {
  RecordingClient client;
  client.reply = llm::ChatResponse{R"({"intent":"faq","query":"换货运费谁出","product":""})", {}, "stop", 0, 0};
  LlmInterpreterSettings s;
  s.history_messages = 2;
  s.timeout_ms = 700;
  LlmTurnInterpreter in(client, s);
  std::vector<PriorMessage> history = {{"customer", "最早的一句"}, {"customer", "牛仔裤能换大一码吗"},
                                       {"bot", "可以，签收后 7 天内可换货。"}};
  auto r = in.Interpret("运费呢", history);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->query, "换货运费谁出");
  ASSERT_EQ(client.last.messages.size(), 2u);
  EXPECT_EQ(client.last.messages[0].role, "system");
  const std::string& user = client.last.messages[1].content;
  EXPECT_NE(user.find("牛仔裤能换大一码吗"), std::string::npos);
  EXPECT_NE(user.find("shop: 可以"), std::string::npos);
  EXPECT_EQ(user.find("最早的一句"), std::string::npos);  // only the last two
  EXPECT_NE(user.find("运费呢"), std::string::npos);
  EXPECT_TRUE(client.last.json_object);
  EXPECT_FALSE(client.last.stream);
  EXPECT_EQ(client.last.timeout_ms, 700);
  EXPECT_TRUE(client.last.tools.empty());
}

TEST(LlmTurnInterpreter, FailuresAreNoReading) {
  RecordingClient client;
  LlmTurnInterpreter in(client, {});
  client.reply = Unavailable("circuit open");
  EXPECT_FALSE(in.Interpret("在吗", {}).has_value());
  client.reply = llm::ChatResponse{"I cannot help with that.", {}, "stop", 0, 0};
  EXPECT_FALSE(in.Interpret("在吗", {}).has_value());
}

}  // namespace
}  // namespace kefu::dialogue
