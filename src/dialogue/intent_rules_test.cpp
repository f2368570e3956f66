#include "dialogue/intent_rules.h"

#include <gtest/gtest.h>

namespace kefu::dialogue {

TEST(IntentRules, ReadsOrderAndLogisticsQuestions) {
  auto r = ReadTurn("我的订单到哪了");
  EXPECT_EQ(r.action, Action::kTrackLogistics);
  EXPECT_TRUE(r.strong);
  auto f = ReadTurn("那它什么时候到？");
  EXPECT_EQ(f.action, Action::kTrackLogistics);
  EXPECT_TRUE(f.refers_back);
  auto id = ReadTurn("帮我查下 so202611010001");
  ASSERT_TRUE(id.order_id);
  EXPECT_EQ(*id.order_id, "SO202611010001");
  EXPECT_EQ(id.action, Action::kOrderStatus);
}

TEST(IntentRules, HumanGreetingThanksChoice) {
  EXPECT_EQ(ReadTurn("转人工").action, Action::kHuman);
  EXPECT_EQ(ReadTurn("我要找人工客服！").action, Action::kHuman);
  EXPECT_EQ(ReadTurn("你好").action, Action::kGreeting);
  EXPECT_EQ(ReadTurn("谢谢").action, Action::kThanks);
  EXPECT_EQ(ReadTurn("2").choice, 2);
  EXPECT_EQ(ReadTurn("第一个").choice, 1);
  EXPECT_FALSE(ReadTurn("退货运费谁出").choice.has_value());
}

TEST(IntentRules, PolicyQuestionsAreNotOrderLookups) {
  EXPECT_EQ(ReadTurn("七天无理由退货怎么操作").action, Action::kNone);
  EXPECT_EQ(ReadTurn("可以开增值税专用发票吗").action, Action::kNone);
  auto p = ReadTurn("有没有卖吹风机");
  EXPECT_EQ(p.action, Action::kProductSearch);
  EXPECT_EQ(p.product_query, "吹风机");
}

}  // namespace kefu::dialogue
