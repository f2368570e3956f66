#include "dialogue/order_mention.h"

#include <gtest/gtest.h>

namespace kefu::dialogue {
namespace {

using nlohmann::json;

json Orders() {
  return json::array({
      {{"order_id", "SO1"}, {"status", "in_transit"}, {"item_summary", "索尼 WH-1000XM5 头戴式降噪耳机 ×1"}},
      {{"order_id", "SO2"}, {"status", "paid"}, {"item_summary", "海尔 10公斤滚筒洗衣机 洗烘一体 ×1"}},
      {{"order_id", "SO3"}, {"status", "delivered"}, {"item_summary", "海尔 10公斤滚筒洗衣机 洗烘一体 ×1"}},
      {{"order_id", "SO4"}, {"status", "delivered"}, {"item_summary", "蕉下 防晒冰袖 UPF50+ 两双装 ×1、Apple iPhone 15 ×1"}},
      {{"order_id", "SO5"}, {"status", "refunding"}, {"item_summary", "完美日记 小细跟口红 ×2"}},
  });
}

TEST(OrderMention, TheProductNamedPicksTheOrder) {
  auto m = FindOrderMention("耳机到哪了", Orders());
  ASSERT_EQ(m.candidates, std::vector<std::string>{"SO1"});
  EXPECT_TRUE(m.by_product);
  EXPECT_EQ(FindOrderMention("冰袖签收了吗", Orders()).candidates, std::vector<std::string>{"SO4"});
  EXPECT_EQ(FindOrderMention("my iPhone order, where is it", Orders()).candidates, std::vector<std::string>{"SO4"});
  EXPECT_EQ(FindOrderMention("where are my headphones?", Orders()).candidates, std::vector<std::string>{"SO1"});
  EXPECT_EQ(FindOrderMention("has the washing machine shipped", Orders()).candidates, std::vector<std::string>{"SO2"});
}

TEST(OrderMention, AWaybillNumberNamesItsOrder) {
  json orders = json::array({{{"order_id", "SO1"}, {"status", "in_transit"}, {"item_summary", "耳机"},
                              {"tracking_no", "SF2610929479530"}},
                             {{"order_id", "SO2"}, {"status", "delivered"}, {"item_summary", "洗衣机"},
                              {"tracking_no", "JDVA50210433418"}},
                             {{"order_id", "SO3"}, {"status", "paid"}, {"item_summary", "冰箱"}, {"tracking_no", nullptr}}});
  // e.g. read from a screenshot of the courier's page
  auto m = FindOrderMention("这个到哪了\n运单号 jdva50210433418 已揽收", orders);
  EXPECT_EQ(m.candidates, std::vector<std::string>{"SO2"});
  EXPECT_TRUE(m.by_product);
  EXPECT_EQ(FindOrderMention("快递单号SF2610929479530", orders).candidates, std::vector<std::string>{"SO1"});
}

TEST(OrderMention, ColoursBrandsAndOtherWordsForTheGoods) {
  json orders = json::array({
      {{"order_id", "SO11"}, {"status", "paid"}, {"item_summary", "李宁 男子运动跑鞋 超轻21代（黑色 / 43） ×1"}},
      {{"order_id", "SO12"}, {"status", "paid"}, {"item_summary", "李宁 男子运动跑鞋 超轻21代（标准白 / 42） ×1"}},
      {{"order_id", "SO13"}, {"status", "in_transit"}, {"item_summary", "海澜之家 男士免烫长袖衬衫（白色 / 39） ×1"}},
      {{"order_id", "SO14"}, {"status", "paid"}, {"item_summary", "戴森 V12 无线吸尘器 ×1"}},
  });
  // The spec's own words for a colour: 标准白 is the white pair.
  EXPECT_EQ(FindOrderMention("白色那双跑鞋发了吗", orders).candidates, std::vector<std::string>{"SO12"});
  EXPECT_EQ(FindOrderMention("黑色的跑鞋呢", orders).candidates, std::vector<std::string>{"SO11"});
  EXPECT_EQ(FindOrderMention("跑鞋发了吗", orders).candidates.size(), 2u);  // no colour: both
  EXPECT_EQ(FindOrderMention("我的衬衣发没发", orders).candidates, std::vector<std::string>{"SO13"});
  EXPECT_EQ(FindOrderMention("Dyson order still not shipped?", orders).candidates, std::vector<std::string>{"SO14"});
  // English colours read the spec too: "the white ones" are the 标准白 pair.
  EXPECT_EQ(FindOrderMention("the white running shoes", orders).candidates, std::vector<std::string>{"SO12"});
  EXPECT_EQ(FindOrderMention("sorry, I meant the black pair of shoes", orders).candidates,
            std::vector<std::string>{"SO11"});
  EXPECT_TRUE(FindOrderMention("Santa hat shipped?", orders).candidates.size() != 1 ||
              FindOrderMention("Santa hat shipped?", orders).candidates.front() != "SO14");
}

// When it comes is asked of an order under way, not of one delivered months
// ago that holds more of the words.
TEST(OrderMention, ArrivalIsAskedOfAnOrderUnderWay) {
  json orders = json::array({
      {{"order_id", "SO21"}, {"status", "delivered"}, {"item_summary", "小米 米家扫拖机器人 2 Pro ×1、戴森 V12 无线吸尘器 ×1"}},
      {{"order_id", "SO22"}, {"status", "in_transit"}, {"item_summary", "小米 米家扫拖机器人 2 Pro ×1"}},
  });
  EXPECT_EQ(FindOrderMention("the robot vacuum, when's it getting here?", orders).candidates,
            std::vector<std::string>{"SO22"});
  // A refund or warranty question may be about the delivered one.
  EXPECT_EQ(FindOrderMention("扫拖机器人和吸尘器的发票", orders).candidates, std::vector<std::string>{"SO21"});
}

TEST(OrderMention, KindsOfGoodsNameTheProduct) {
  json orders = json::array({
      {{"order_id", "SO7"}, {"status", "refunding"}, {"item_summary", "小米 Redmi Note 13 Pro 8GB+256GB ×1"}},
      {{"order_id", "SO8"}, {"status", "paid"}, {"item_summary", "联想 小新Pro14 轻薄笔记本 R7 32G 1T ×1"}},
      {{"order_id", "SO9"}, {"status", "in_transit"}, {"item_summary", "索尼 WH-1000XM5 头戴式降噪耳机 ×1"}},
  });
  EXPECT_EQ(FindOrderMention("手机那单退款还要多久", orders).candidates, std::vector<std::string>{"SO7"});
  EXPECT_EQ(FindOrderMention("红米今天能到不", orders).candidates, std::vector<std::string>{"SO7"});
  EXPECT_EQ(FindOrderMention("我付了款的那台电脑几时发货", orders).candidates, std::vector<std::string>{"SO8"});
  EXPECT_EQ(FindOrderMention("where is my phone", orders).candidates, std::vector<std::string>{"SO7"});
  // "phone" inside "headphones" is not a phone.
  EXPECT_EQ(FindOrderMention("where are my headphones", orders).candidates, std::vector<std::string>{"SO9"});
}

TEST(OrderMention, OneOrderOnItsWayIsTheParcelMeant) {
  json orders = json::array({
      {{"order_id", "SO1"}, {"status", "delivered"}, {"item_summary", "索尼 WH-1000XM5 头戴式降噪耳机 ×1"}},
      {{"order_id", "SO2"}, {"status", "in_transit"}, {"item_summary", "海尔 10公斤滚筒洗衣机 洗烘一体 ×1"}},
      {{"order_id", "SO3"}, {"status", "refunded"}, {"item_summary", "完美日记 小细跟口红 ×2"}},
  });
  auto m = FindOrderMention("寄出了吗？单号多少", orders);
  EXPECT_TRUE(m.only_live);
  EXPECT_EQ(m.candidates, std::vector<std::string>{"SO2"});
  EXPECT_TRUE(AsksAboutParcel("寄出了吗？单号多少"));
  EXPECT_FALSE(AsksAboutParcel("退款多久到账"));  // money, not a parcel
  orders.push_back({{"order_id", "SO4"}, {"status", "paid"}, {"item_summary", "蕉下 防晒冰袖 ×1"}});
  EXPECT_FALSE(FindOrderMention("寄出了吗？单号多少", orders).only_live);  // two on their way: nothing decided
  EXPECT_TRUE(NamesOwnOrder("我的訂單什麼時候發貨") || NamesOwnOrder("我的订单什么时候发货"));
  EXPECT_TRUE(NamesOwnOrder("还没发货的那单 什么时候能发"));
  EXPECT_FALSE(NamesOwnOrder("下单后多久发货"));
}

TEST(OrderMention, WhereIsItDoesNotChooseBetweenTwoLiveOrdersOfTheProduct) {
  json orders = json::array({
      {{"order_id", "SO1"}, {"status", "paid"}, {"item_summary", "联想 小新Pro14 轻薄笔记本 ×1"}},
      {{"order_id", "SO2"}, {"status", "in_transit"}, {"item_summary", "联想 小新Pro14 轻薄笔记本 ×1"}},
      {{"order_id", "SO3"}, {"status", "delivered"}, {"item_summary", "联想 小新Pro14 轻薄笔记本 ×1"}},
  });
  EXPECT_EQ(FindOrderMention("笔记本到哪了", orders).candidates, (std::vector<std::string>{"SO1", "SO2"}));
  // A state that really differs still chooses.
  EXPECT_EQ(FindOrderMention("还没发货的笔记本", orders).candidates, std::vector<std::string>{"SO1"});
  EXPECT_EQ(FindOrderMention("笔记本签收了没收到", orders).candidates, std::vector<std::string>{"SO3"});
}

TEST(OrderMention, TheStateChoosesBetweenOrdersOfOneProduct) {
  // Two washing machines: the live one, or the one the state names.
  EXPECT_EQ(FindOrderMention("洗衣机到哪儿了", Orders()).candidates, std::vector<std::string>{"SO2"});
  EXPECT_EQ(FindOrderMention("洗衣机显示签收了但是没送到家", Orders()).candidates, std::vector<std::string>{"SO3"});
  auto unshipped = FindOrderMention("我的订单怎么还没发货", Orders());
  EXPECT_EQ(unshipped.candidates, std::vector<std::string>{"SO2"});
  EXPECT_TRUE(unshipped.by_state);
  EXPECT_EQ(FindOrderMention("口红的钱退回来没有", Orders()).candidates, std::vector<std::string>{"SO5"});
}

TEST(OrderMention, EnglishWordsInsideAnItemNameNameNothing) {
  // "one" is inside "iPhone", not a word of it: the state picks the order.
  auto m = FindOrderMention("my package status pls, the one already on the way", Orders());
  EXPECT_FALSE(m.by_product);
  EXPECT_EQ(m.candidates, std::vector<std::string>{"SO1"});
}

TEST(OrderMention, ArrivedSomewhereYetAndHowFarItHasGot) {
  EXPECT_TRUE(AsksAboutProgress("衬衫到泉州没"));
  EXPECT_TRUE(AsksAboutProgress("耳机到北京没有"));
  EXPECT_FALSE(AsksAboutProgress("到手没几天就坏了 怎么保修"));
  EXPECT_TRUE(NamesOwnOrder("退款到哪一步了"));
  EXPECT_TRUE(NamesOwnOrder("我的东西今天能到吗"));
  // Sent or arrived in other words, paid or not, sent together.
  for (const char* t : {"has the uniqlo jacket gone out yet", "did the shirt make it to tianjin yet",
                        "laptop order still not sent out?? paid yesterday", "防晒还没付款吧 帮我看下",
                        "破壁机跟洗衣机是一起寄的吗"})
    EXPECT_TRUE(AsksAboutProgress(t)) << t;
  EXPECT_TRUE(AsksAboutParcel("我的快递寄到重庆了没"));
  EXPECT_TRUE(NamesOwnOrder("我那两个包裹咋样了"));
  EXPECT_TRUE(NamesOwnOrder("any update on my deliveries?"));
  EXPECT_TRUE(NamesOwnOrder("我那退款现在什么进度"));
  for (const char* t : {"jeans ETA?", "hey is my parcel moving?", "口红是不是给我放菜鸟驿站了", "冰箱是谁收的 家里人说没看见"})
    EXPECT_TRUE(AsksAboutProgress(t)) << t;
  EXPECT_TRUE(AsksAboutParcel("查一下我的快递"));
  EXPECT_FALSE(AsksAboutProgress("beta?"));  // "eta" as a word only
}

TEST(ProductFact, WhatGoodsCanDoOrContain) {
  EXPECT_EQ(ProductFactPredicate("扫地机器人能爬过两厘米的门槛吗"), "爬过两厘米的门槛吗");
  EXPECT_EQ(ProductFactPredicate("iPhone 15 支持双卡吗"), "双卡吗");
  EXPECT_EQ(ProductFactPredicate("口红含不含铅"), "铅");
  // What the shop answers about its goods, and where or how to do something.
  for (const char* t : {"空调能包安装吗", "手机能分期吗", "旧冰箱能回收不", "羽绒服可以退吗", "说明书丢了 哪里能找",
                        "能帮我查下耳机吗", "冰箱有没有制冰功能", "怎么联系客服"})
    EXPECT_EQ(ProductFactPredicate(t), "") << t;
}

TEST(OrderMention, AFinishedOrderAskedAboutItsOwnStateIsMeant) {
  // Both orders have the cleanser; the cancelled one has the fridge too. A
  // question about the cancellation is about that order, not a live one.
  const json orders = json::array({
      {{"order_id", "SO8"}, {"status", "cancelled"}, {"item_summary", "欧莱雅 玻尿酸洗面奶 125ml ×1、格力 对开门冰箱 ×1"}},
      {{"order_id", "SO9"}, {"status", "paid"}, {"item_summary", "欧莱雅 玻尿酸洗面奶 125ml ×1、戴森 V12 无线吸尘器 ×1"}},
  });
  EXPECT_EQ(FindOrderMention("洗面奶和冰箱那单为啥被取消了", orders).candidates, std::vector<std::string>{"SO8"});
}

TEST(OrderMention, ACreamIsWhateverCreamTheItemNameSays) {
  json orders = json::array({
      {{"order_id", "SO7"}, {"status", "shipped"}, {"item_summary", "薇诺娜 舒敏保湿特护霜 50g ×1"}},
      {{"order_id", "SO8"}, {"status", "paid"}, {"item_summary", "安热沙 小金瓶防晒乳 SPF50+ 60ml ×1"}},
  });
  EXPECT_EQ(FindOrderMention("面霜发货了吗", orders).candidates, std::vector<std::string>{"SO7"});
  EXPECT_TRUE(NamesGoodsOrBrand("戴森付完款多久能发"));
  EXPECT_TRUE(NamesGoodsOrBrand("How long till my shirt gets here?"));
  EXPECT_FALSE(NamesGoodsOrBrand("下单后多久发货"));
}

TEST(OrderMention, AComputerIsNoTablet) {
  json orders = json::array({
      {{"order_id", "SO9"}, {"status", "in_transit"}, {"item_summary", "华为 MatePad 11.5 平板电脑 8GB+128GB ×1、小米 米家扫拖机器人 2 Pro ×1"}},
      {{"order_id", "SO10"}, {"status", "out_for_delivery"}, {"item_summary", "九阳 破壁料理机 ×1、联想 小新Pro14 轻薄笔记本 ×1"}},
  });
  EXPECT_EQ(FindOrderMention("有电脑的那单", orders).candidates, std::vector<std::string>{"SO10"});
  EXPECT_EQ(FindOrderMention("平板电脑那单", orders).candidates, std::vector<std::string>{"SO9"});
  EXPECT_TRUE(NamesOwnOrder("退款咋样了"));
  EXPECT_TRUE(HasOrderPredicate("我那个洗面奶的单子是不是没付成功"));
}

TEST(OrderMention, WhereMyOwnGoodsAre) {
  EXPECT_TRUE(NamesOwnOrder("我的牛仔裤呢"));
  EXPECT_TRUE(AsksAboutProgress("我的牛仔裤呢"));
  EXPECT_FALSE(NamesOwnOrder("我的尺码呢"));
}

TEST(OrderMention, TheOrderWithOneItemAndTheOneItIsNot) {
  json orders = json::array({
      {{"order_id", "A"}, {"status", "in_transit"}, {"item_summary", "海尔 滚筒洗衣机 ×1、兰蔻 小黑瓶 ×1"}},
      {{"order_id", "B"}, {"status", "in_transit"}, {"item_summary", "海尔 滚筒洗衣机 ×1"}},
      {{"order_id", "C"}, {"status", "pending_payment"}, {"item_summary", "华为 Mate 60 ×1、华为 手环 ×1"}},
  });
  EXPECT_EQ(FindOrderMention("只买了洗衣机的那单", orders).candidates, std::vector<std::string>{"B"});
  EXPECT_EQ(FindOrderMention("不是跟兰蔻一起的那个洗衣机", orders).candidates, std::vector<std::string>{"B"});
  EXPECT_EQ(FindOrderMention("还没付款的那个", orders).candidates, std::vector<std::string>{"C"});
  EXPECT_EQ(FindOrderMention("跟兰蔻一起的那个", orders).candidates, std::vector<std::string>{"A"});
}

TEST(OrderMention, NothingNamedMeansNoChoice) {
  EXPECT_TRUE(FindOrderMention("运费怎么算", Orders()).candidates.empty());
  EXPECT_TRUE(FindOrderMention("你好", json::array()).candidates.empty());
  EXPECT_TRUE(FindOrderMention("\xff\xfe", Orders()).candidates.empty());
  EXPECT_TRUE(HasOrderPredicate("冰箱今天能送到吗"));
  EXPECT_FALSE(HasOrderPredicate("冰箱怎么安装"));
  EXPECT_TRUE(HasOrderPredicate("笔记本啥时候发"));
  EXPECT_TRUE(HasOrderPredicate("相机几时能寄出"));
  EXPECT_TRUE(HasOrderPredicate("耳机咋还不来"));
  EXPECT_TRUE(HasOrderPredicate("防晒霜到那了"));
  EXPECT_FALSE(HasOrderPredicate("冰箱保修多久"));
  EXPECT_FALSE(HasOrderPredicate("什么时候有优惠"));
  EXPECT_TRUE(HasOrderPredicate("冰箱收到了 有师傅来装吗"));
  EXPECT_FALSE(AsksAboutProgress("冰箱收到了 有师傅来装吗"));
  EXPECT_FALSE(AsksAboutProgress("got my order but the lipstick shade is wrong, can I swap it?"));
  EXPECT_TRUE(AsksAboutProgress("When will the Dyson vacuum ship?"));
  EXPECT_TRUE(AsksAboutProgress("冰箱还没收到"));
  EXPECT_TRUE(AsksAboutProgress("has my phone shipped"));
  // No news yet, still on the road, which courier carries it.
  for (const char* t : {"洗衣机咋一点动静没有", "耳机还在路上吗", "冰箱走的中通吗", "any update on the fridge"})
    EXPECT_TRUE(AsksAboutProgress(t)) << t;
}


TEST(GoodsWords, WhichGoodsAWhereQuestionIsAbout) {
  EXPECT_EQ(GoodsWords("我的快递到哪了"), "");
  EXPECT_EQ(GoodsWords("我是问我那个包裹现在在哪"), "");
  EXPECT_EQ(GoodsWords("耳机到哪了"), "耳机");
  EXPECT_EQ(GoodsWords("where are my headphones"), "耳机");
  EXPECT_NE(GoodsWords("冰箱到哪了"), GoodsWords("洗衣机到哪了"));
  EXPECT_TRUE(AsksHowThingsUsuallyGo("一般几天能到"));
  EXPECT_FALSE(AsksHowThingsUsuallyGo("我的快递几天能到"));
}


TEST(PlaceInTransit, ACityWhereTheParcelIsOrIsGoing) {
  EXPECT_TRUE(PlaceInTransit("亲 我那个红米咋还在北京转"));
  EXPECT_TRUE(PlaceInTransit("衣服啥时候能到重庆啊"));
  EXPECT_TRUE(PlaceInTransit("西安那边转运的那台"));
  EXPECT_TRUE(PlaceInTransit("我的iPhone stuck在常州好久了"));
  EXPECT_TRUE(PlaceInTransit("when will the fleece jacket get to yangzhou"));
  EXPECT_TRUE(PlaceInTransit("is the fridge close to jinan yet"));
  EXPECT_TRUE(PlaceInTransit("still in Hong Kong?"));
  EXPECT_TRUE(PlaceInTransit("stuck in xi'an for days"));
  EXPECT_TRUE(PlaceInTransit("has it got to jinan's sorting centre"));
  // A place that is not where a parcel is, an everyday word, a name inside a word.
  EXPECT_FALSE(PlaceInTransit("我是北京人"));
  EXPECT_FALSE(PlaceInTransit("这个珠宝是真的吗"));
  EXPECT_FALSE(PlaceInTransit("我们合作一下"));
  EXPECT_FALSE(PlaceInTransit("I want to return it"));
  EXPECT_FALSE(PlaceInTransit("send it to my office"));
  // Where the customer is.
  EXPECT_FALSE(PlaceInTransit("从哪个仓发啊 我在昆明"));
  EXPECT_FALSE(PlaceInTransit("which warehouse? i'm in chengdu"));
  // With goods named, a place in transit asks about that order's progress.
  EXPECT_TRUE(AsksAboutProgress("红米还在北京转"));
  EXPECT_TRUE(KindNames("我的衣服啥时候能到").size() > 0);
}


TEST(FindOrderMention, TheLastDigitsOfAnOrderNumber) {
  const nlohmann::json orders = nlohmann::json::parse(R"([
    {"order_id": "SO202611010141", "status": "in_transit", "item_summary": "海尔 洗衣机", "tracking_no": "SF1234567890"},
    {"order_id": "SO202611010157", "status": "in_transit", "item_summary": "海尔 洗衣机", "tracking_no": "JD0000008826"}])");
  EXPECT_EQ(FindOrderMention("尾号141那个", orders).candidates, std::vector<std::string>{"SO202611010141"});
  EXPECT_EQ(FindOrderMention("the one ending in 0157", orders).candidates, std::vector<std::string>{"SO202611010157"});
  EXPECT_EQ(FindOrderMention("order ending 0157, where is it?", orders).candidates,
            std::vector<std::string>{"SO202611010157"});
  EXPECT_EQ(FindOrderMention("单号后四位8826的那单", orders).candidates, std::vector<std::string>{"SO202611010157"});
  // Digits that are no order's tail, or a quantity, name no order.
  EXPECT_TRUE(FindOrderMention("尾号999那个", orders).candidates.size() != 1 ||
              FindOrderMention("尾号999那个", orders).candidates.front() != "SO202611010141");
  EXPECT_NE(FindOrderMention("洗衣机买了141块的那个", orders).candidates, std::vector<std::string>{"SO202611010141"});
}


// One customer's nine orders (the demo shop's C0005): the brand and the kind
// named pick one among goods of similar names (珀莱雅 is not 欧莱雅; a box of
// sunscreen and serum is not the sunscreen arm sleeves).
TEST(OrderMention, TheBrandAndEveryGoodsNamedCount) {
  json orders = json::array({
      {{"order_id", "SO14"}, {"status", "in_transit"}, {"item_summary", "波司登 女士轻薄羽绒服 短款 ×1"}},
      {{"order_id", "SO47"}, {"status", "delivered"}, {"item_summary", "珀莱雅 红宝石面霜 50g ×1"}},
      {{"order_id", "SO82"}, {"status", "delivered"},
       {"item_summary", "安热沙 小金瓶防晒乳 SPF50+ 60ml ×1、雅诗兰黛 特润修护肌活精华露 第七代 50ml ×1"}},
      {{"order_id", "SO137"}, {"status", "shipped"}, {"item_summary", "蕉下 防晒冰袖 UPF50+ 两双装 ×1"}},
      {{"order_id", "SO159"}, {"status", "pending_payment"}, {"item_summary", "欧莱雅 玻尿酸洗面奶 125ml ×1"}},
  });
  EXPECT_EQ(FindOrderMention("珀莱雅面霜说放门口了 我下班回来啥也没看到", orders).candidates,
            std::vector<std::string>{"SO47"});
  EXPECT_EQ(FindOrderMention("the sunscreen + serum box was supposedly left at my door but it's not there", orders)
                .candidates,
            std::vector<std::string>{"SO82"});
}


TEST(OrderMention, StillInTheWarehouseAndTodayAreProgress) {
  EXPECT_TRUE(HasOrderPredicate("海澜之家衬衫付款都两天了 为啥仓库还没动"));
  EXPECT_TRUE(HasOrderPredicate("我那瓶雅诗兰黛小棕瓶 今儿个能送上门不"));
}


TEST(OrderMention, AFigureOfTheGoodsIsAFact) {
  EXPECT_EQ(ProductSpecAsked("電飯煲功率多少瓦"), "功率多少瓦");  // traditional characters folded
  EXPECT_EQ(ProductSpecAsked("电饭煲功率多少瓦"), "功率多少瓦");
  EXPECT_EQ(ProductSpecAsked("那个电饭煲内胆有没有涂层 会不会掉"), "涂层 会不会掉");
  EXPECT_EQ(ProductSpecAsked("平板有能用手写笔的吗"), "");
  EXPECT_EQ(ProductSpecAsked("洗衣机噪音大的话能退吗"), "");  // a return
  EXPECT_EQ(ProductSpecAsked("功率多少"), "");                // no goods named
  EXPECT_EQ(ProductSpecAsked("有没有大容量的电饭煲"), "");    // a search: the goods after the figure
  EXPECT_EQ(ProductSpecAsked("手机推荐一款续航好的"), "");    // a recommendation
  EXPECT_FALSE(ProductFactPredicate("电饭煲功率多少瓦").empty());
}


TEST(OrderMention, ACourierWhoCannotBeReached) {
  EXPECT_TRUE(CourierUnreachable("派件的师傅手机关机 我怎么联系他"));
  EXPECT_TRUE(CourierUnreachable("the delivery guy won't answer my calls"));
  EXPECT_FALSE(CourierUnreachable("快递员说明天送"));
  EXPECT_FALSE(CourierUnreachable("我的快递到哪了"));
}

TEST(OrderMention, ThePlacesWhereAParcelIs) {
  using V = std::vector<std::string>;
  EXPECT_EQ(PlacesNamed("卡在武汉的那个包裹 啥时候能到郑州"), (V{"武汉", "郑州"}));
  EXPECT_EQ(PlacesNamed("卡在武汉的那个包裹 啥时候能到郑州", true), (V{"武汉"}));
  EXPECT_EQ(PlacesNamed("还在西安转的那个洗衣机 啥时候到兰州", true), (V{"西安"}));
  EXPECT_EQ(PlacesNamed("已经到武汉了吗", true), (V{"武汉"}));
  EXPECT_TRUE(PlacesNamed("上海这边 我的东西啥时候能送上门", true).empty());
  EXPECT_TRUE(PlacesNamed("我的快递到哪了", true).empty());
}

}  // namespace
}  // namespace kefu::dialogue
