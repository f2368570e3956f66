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
  // A greeting that announces a question is no greeting to answer in kind.
  EXPECT_NE(ReadTurn("在吗 问个事").action, Action::kGreeting);
  EXPECT_NE(ReadTurn("hi, quick question").action, Action::kGreeting);
  EXPECT_EQ(ReadTurn("谢谢").action, Action::kThanks);
  EXPECT_EQ(ReadTurn("2").choice, 2);
  EXPECT_EQ(ReadTurn("第一个").choice, 1);
  EXPECT_FALSE(ReadTurn("退货运费谁出").choice.has_value());
}

TEST(IntentRules, WhereToLookAndOtherQuestionsAreNoListOfOrders) {
  EXPECT_NE(ReadTurn("is there somewhere on the site that shows everything i've bought before?").action,
            Action::kListOrders);
  EXPECT_NE(ReadTurn("我以前买过的东西在哪能翻到").action, Action::kListOrders);
  EXPECT_NE(ReadTurn("用我个人账户下的单 抬头能写单位吗 回去要报销").action, Action::kListOrders);
  EXPECT_NE(ReadTurn("i bought a blender, now theres a burning smell every time i use it. how do i get it looked at")
                .action,
            Action::kListOrders);
  EXPECT_EQ(ReadTurn("我名下的订单").action, Action::kListOrders);
  EXPECT_EQ(ReadTurn("can you pull up all my purchases").action, Action::kListOrders);
  EXPECT_EQ(ReadTurn("我最近下的单全列出来看看").action, Action::kListOrders);
  EXPECT_EQ(ReadTurn("你们有iPhone吗").action, Action::kProductSearch);
  // Instalments and their fees are a payment question, not goods.
  EXPECT_NE(ReadTurn("手机想分12期付 有没有额外费用").action, Action::kProductSearch);
}

TEST(IntentRules, TheOrdersAsAListInOtherWords) {
  for (const char* t : {"我这阵子都买了些什么 给我列列", "你们这里有没有我的订单", "can i see all my recent orders",
                        "show me every order i placed"})
    EXPECT_EQ(ReadTurn(t).action, Action::kListOrders) << t;
  EXPECT_NE(ReadTurn("every order ships in 48 hours?").action, Action::kListOrders);
}

TEST(IntentRules, WhenTheParcelComes) {
  for (const char* t : {"快递啥时候能到", "包裹什么时候送来", "is my parcel near?", "帮我查一下快递", "我的货呢", "我东西呢"})
    EXPECT_EQ(ReadTurn(t).action, Action::kTrackLogistics) << t;
}

TEST(IntentRules, IsThereSuchGoods) {
  for (const char* t : {"有加厚的羽绒服吗", "有大尺寸的电视没", "any wireless earbuds?", "do you have any hoodies"})
    EXPECT_EQ(ReadTurn(t).action, Action::kProductSearch) << t;
  EXPECT_NE(ReadTurn("any update on my hoodie order?").action, Action::kProductSearch);
  for (const char* t : {"你们卖电热毯吗", "got any linen shirts?"})
    EXPECT_EQ(ReadTurn(t).action, Action::kProductSearch) << t;
  // Other ways of asking whether there are such goods, which kinds, which colours.
  for (const char* t : {"有加绒卫衣没", "有羽绒服不", "有無女生的跑鞋", "电饭煲有啥款", "这个口红有几种颜色", "想要个防晒霜 不油的"}) {
    EXPECT_EQ(ReadTurn(t).action, Action::kProductSearch) << t;
    EXPECT_TRUE(ReadTurn(t).strong) << t;
  }
  EXPECT_EQ(ReadTurn("好的 没事了 拜拜👋").action, Action::kGoodbye);
  // A service or a subsidy is no goods.
  for (const char* t : {"有没有上门保养洗衣机的服务", "买冰箱有没有补贴"})
    EXPECT_NE(ReadTurn(t).action, Action::kProductSearch) << t;
}

TEST(IntentRules, SomethingMissingIsNoGoodbye) {
  // 收到 acknowledges ("收到 谢谢"); 没收到 reports what has not come.
  EXPECT_EQ(ReadTurn("收到 谢谢").action, Action::kThanks);
  for (const char* t : {"退的钱一直没收到", "快递还没到 好的", "钱还没收到呢", "never got it thanks", "知道了 我要退货",
                        "收到了 但是坏的", "ok but where is it"}) {
    EXPECT_NE(ReadTurn(t).action, Action::kGoodbye) << t;
    EXPECT_NE(ReadTurn(t).action, Action::kThanks) << t;
  }
}

TEST(IntentRules, PleasantriesOfAnyLengthAreSmalltalk) {
  for (const char* t : {"好的好的 谢谢亲亲 辛苦了🌹🌹", "嗯 了解了 多谢啦", "ok thank you so much!!"})
    EXPECT_EQ(ReadTurn(t).action, Action::kThanks) << t;
  for (const char* t : {"👍👍👍", "好滴 收到", "🙏"}) EXPECT_EQ(ReadTurn(t).action, Action::kGoodbye) << t;
  EXPECT_NE(ReadTurn("啊啊啊啊啊啊啊啊啊啊啊啊").action, Action::kGoodbye);  // particles alone are no courtesy
  for (const char* t : {"好的 谢谢 那发票怎么开", "谢谢 退款多久到账", "😡😡"})
    EXPECT_NE(ReadTurn(t).action, Action::kThanks) << t;
}

TEST(IntentRules, PolicyQuestionsAreNotOrderLookups) {
  EXPECT_EQ(ReadTurn("七天无理由退货怎么操作").action, Action::kNone);
  EXPECT_EQ(ReadTurn("可以开增值税专用发票吗").action, Action::kNone);
  auto p = ReadTurn("有没有卖吹风机");
  EXPECT_EQ(p.action, Action::kProductSearch);
  EXPECT_EQ(p.product_query, "吹风机");
}

TEST(IntentRules, TheCustomersOrdersAsAList) {
  for (const char* t : {"把我全部的订单都列出来", "所有订单给我看看", "我这几年都买了啥", "previous orders pls",
                        "show me my purchase history", "订单 list 发我"})
    EXPECT_EQ(ReadTurn(t).action, Action::kListOrders) << t;
  for (const char* t : {"我最近下的单都有哪些", "我有几个单还没付款来着 都给我看看", "帮我看看我名下的订单"})
    EXPECT_EQ(ReadTurn(t).action, Action::kListOrders) << t;
  // Where to look it up in the app is a how-to question.
  EXPECT_NE(ReadTurn("之前买过的东西去哪里看记录啊").action, Action::kListOrders);
  EXPECT_NE(ReadTurn("订单记录在哪查").action, Action::kListOrders);
  // A policy question about every order is no list.
  EXPECT_NE(ReadTurn("是不是所有商品都包邮").action, Action::kListOrders);
}

TEST(IntentRules, EnglishQuestionsAboutTheirOwnParcel) {
  for (const char* t : {"yo i ordered stuff, where is it", "any news on my delivery?", "parcel status?",
                        "package update??", "i bought a blender last week and it still hasn't arrived",
                        "wheres my pkg"})
    EXPECT_EQ(ReadTurn(t).action, Action::kTrackLogistics) << t;
  // Policies, money and someone else's parcel are not.
  for (const char* t : {"how long does delivery usually take", "do you deliver to tibet",
                        "when do you usually ship stuff out", "where is my refund", "i ordered the wrong size, can i exchange it",
                        "what's your shipping policy for hong kong", "my package arrived damaged, what do I do",
                        "i ordered a jacket and it turned out way too big, can i swap it"})
    EXPECT_NE(ReadTurn(t).action, Action::kTrackLogistics) << t;
  EXPECT_EQ(ReadTurn("do u sell yoga mats").action, Action::kProductSearch);
}

TEST(IntentRules, NamedGoodsAskedAfterAsGoods) {
  for (const char* t : {"羽绒服有黑色的吗", "电动牙刷有几款", "想给我妈买个扫地机器人 你们有吗", "冬天穿的羽绒服有吗 女款"}) {
    const auto r = ReadTurn(t);
    EXPECT_EQ(r.action, Action::kProductSearch) << t;
    EXPECT_TRUE(r.strong) << t;
  }
  for (const char* t : {"羽绒服能机洗吗", "空调安装收费吗", "我买的羽绒服到哪了", "手机有发票吗", "公司要买60台电动牙刷 有没有限购",
                        "花呗分期有手续费吗 想买个手机"})
    EXPECT_FALSE(ReadTurn(t).action == Action::kProductSearch && ReadTurn(t).strong) << t;
}

}  // namespace kefu::dialogue
