#include "text/spelling.h"

#include <gtest/gtest.h>

#include <set>

namespace kefu::text {
namespace {

// A general dictionary that knows just `words`.
struct Dict : Segmenter {
  explicit Dict(std::set<std::string> w) : words(std::move(w)) {}
  std::vector<std::string> Tokenize(std::string_view) const override { return {}; }
  std::string_view Name() const override { return "test"; }
  bool IsWord(std::string_view w) const override { return words.count(std::string(w)) > 0; }
  std::set<std::string> words;
};

TEST(FoldSlang, EverydayWordsSpelledAsSlang) {
  EXPECT_EQ(FoldSlang("我的快递咋还木有到"), "我的快递咋还没有到");
  EXPECT_EQ(FoldSlang("神马情况 肿么办"), "什么情况 怎么办");
  // Cantonese, after Hant-Hans.
  EXPECT_EQ(FoldSlang("唔该 请问退款会退返去边度"), "请 请问退款会退回去哪里");
  EXPECT_EQ(FoldSlang("叫你哋经理出嚟"), "叫你们经理出来");
  EXPECT_EQ(FoldSlang("恤衫寄出咗未呀"), "衬衫寄出了没呀");
  EXPECT_EQ(FoldSlang("收到唔钟意 可唔可以退㗎"), "收到不喜欢 可不可以退");
  EXPECT_EQ(FoldSlang("系统显示已签收"), "系统显示已签收");  // 系 alone is Mandarin
  EXPECT_EQ(FoldSlang("木有木有"), "没有没有");
  EXPECT_EQ(FoldSlang("退到原来的帐户吗 还没到帐"), "退到原来的账户吗 还没到账");
  EXPECT_EQ(FoldSlang("帐篷"), "帐篷");
  EXPECT_EQ(FoldSlang("童鞋 稀饭"), "童鞋 稀饭");  // 童鞋 may be children's shoes
  EXPECT_EQ(FoldSlang("退的钱一直没见着"), "退款一直没收到");
  // A 满减 promotion by its amounts, named once.
  EXPECT_EQ(FoldSlang("满300减40是按单算吗"), "满300减40是按单算吗 满减");
  EXPECT_EQ(FoldSlang("每满 200 减 30 满减能叠加吗"), "每满 200 减 30 满减能叠加吗");
  EXPECT_EQ(FoldSlang("满意"), "满意");
  EXPECT_EQ(FoldSlang("满3件减"), "满3件减");
}

TEST(FoldChinese, TraditionalAndFullWidth) {
  EXPECT_EQ(FoldChinese("發票怎麼開"), "发票怎么开");
  EXPECT_EQ(FoldChinese("我的訂單到哪裡了？"), "我的订单到哪里了?");
  EXPECT_EQ(FoldChinese("ＡＢＣ１２３"), "ABC123");
  EXPECT_EQ(FoldChinese("plain ascii"), "plain ascii");
  EXPECT_EQ(FoldChinese("\xff"), FoldChinese("\xff"));  // invalid bytes: replaced, no crash
}

TEST(Pinyin, TonelessReadings) {
  EXPECT_EQ(PinyinOf(U'快'), "kuai");
  EXPECT_EQ(PinyinOf(U'递'), "di");
  EXPECT_EQ(PinyinOf(U'第'), "di");
  EXPECT_EQ(PinyinOf(U'a'), "");
}

TEST(SpellingCorrector, HomophoneTyposBecomeTheTenantsWords) {
  SpellingCorrector c({"快递", "退款", "发票", "运费", "优惠券", "包邮", "物流", "保修", "卧室", "哪个"}, nullptr);
  std::vector<SpellingCorrector::Fix> fixes;
  EXPECT_EQ(c.Correct("快第到哪里了", &fixes), "快递到哪里了");
  ASSERT_EQ(fixes.size(), 1u);
  EXPECT_EQ(fixes[0].from, "快第");
  EXPECT_EQ(c.Correct("退宽多久能到"), "退款多久能到");
  EXPECT_EQ(c.Correct("发漂怎么开"), "发票怎么开");
  EXPECT_EQ(c.Correct("退货运废谁出"), "退货运费谁出");
  EXPECT_EQ(c.Correct("优惠卷怎么用"), "优惠券怎么用");
  EXPECT_EQ(c.Correct("包油吗"), "包邮吗");
  EXPECT_EQ(c.Correct("物留不动了"), "物流不动了");
  // Nothing in common: not a typo of 卧室.
  EXPECT_EQ(c.Correct("我是会员"), "我是会员");
  EXPECT_EQ(c.Correct("hello 快递"), "hello 快递");
  EXPECT_EQ(c.Correct(""), "");
}

TEST(SpellingCorrector, GeneralWordsAreNeverRewritten) {
  Dict dict({"报修"});
  SpellingCorrector c({"保修"}, &dict);
  EXPECT_EQ(c.Correct("怎么报修"), "怎么报修");
  SpellingCorrector bare({"保修"}, nullptr);
  EXPECT_EQ(bare.Correct("怎么报修"), "怎么保修");  // what the dictionary prevents
}

TEST(SpellingCorrector, AWordThatFollowsIsKept) {
  Dict dict({"活动"});
  SpellingCorrector c({"有货"}, &dict);
  EXPECT_EQ(c.Correct("教师节有活动吗"), "教师节有活动吗");  // not 有货动
  EXPECT_EQ(c.Correct("还有活吗"), "还有货吗");              // 活吗 is no word: a typo
}

TEST(SpellingCorrector, AWordThatPrecedesIsKept) {
  Dict dict({"耳机", "机器人", "人物"});
  SpellingCorrector c({"寄到", "物流"}, &dict);
  EXPECT_EQ(c.Correct("耳机到哪了"), "耳机到哪了");  // not 耳寄到
  EXPECT_EQ(c.Correct("几时机到"), "几时寄到");      // 时机 is no word here: a typo
  EXPECT_EQ(c.Correct("机器人物留不动"), "机器人物流不动");  // 人 is 机器人's: 人物 is no reading
}

TEST(SpellingCorrector, GrammaticalCharactersAreNoTypos) {
  SpellingCorrector c({"发货地", "哪个", "退款"}, nullptr);
  EXPECT_EQ(c.Correct("还没发货的那单"), "还没发货的那单");  // not 发货地
  // A negation is no typo either: 还不发 is not 还补发.
  SpellingCorrector n({"补发", "退款"}, nullptr);
  EXPECT_EQ(n.Correct("耳机付了两天了还不发"), "耳机付了两天了还不发");
  EXPECT_EQ(c.Correct("那个订单"), "那个订单");            // not 哪个
  EXPECT_EQ(c.Correct("退宽的钱"), "退款的钱");            // a real typo still goes
}

}  // namespace
}  // namespace kefu::text
