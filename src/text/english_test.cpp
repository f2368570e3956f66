#include "text/english.h"

#include <gtest/gtest.h>

namespace kefu::text {
namespace {

TEST(PorterStem, ReferenceVocabulary) {
  // Pairs from Porter's published sample vocabulary (output.txt).
  const std::pair<const char*, const char*> cases[] = {
      {"caresses", "caress"}, {"ponies", "poni"},       {"ties", "ti"},           {"caress", "caress"},
      {"cats", "cat"},        {"feed", "feed"},         {"agreed", "agre"},       {"plastered", "plaster"},
      {"motoring", "motor"},  {"sing", "sing"},         {"conflated", "conflat"}, {"troubled", "troubl"},
      {"sized", "size"},      {"hopping", "hop"},       {"tanned", "tan"},        {"falling", "fall"},
      {"hissing", "hiss"},    {"fizzed", "fizz"},       {"failing", "fail"},      {"filing", "file"},
      {"happy", "happi"},     {"sky", "sky"},           {"relational", "relat"},  {"conditional", "condit"},
      {"rational", "ration"}, {"valency", "valenc"},    {"digitizer", "digit"},   {"generalization", "gener"},
      {"triplicate", "triplic"}, {"formative", "form"}, {"electriciti", "electr"}, {"hopeful", "hope"},
      {"goodness", "good"},   {"revival", "reviv"},     {"allowance", "allow"},   {"adjustment", "adjust"},
      {"adoption", "adopt"},  {"probate", "probat"},    {"rate", "rate"},         {"cease", "ceas"},
      {"controll", "control"}, {"roll", "roll"},        {"generously", "gener"},
  };
  for (const auto& [w, stem] : cases) EXPECT_EQ(PorterStem(w), stem) << w;
}

TEST(PorterStem, InflectionsMeet) {
  EXPECT_EQ(PorterStem("ships"), PorterStem("shipping"));
  EXPECT_EQ(PorterStem("shipped"), PorterStem("ship"));
  EXPECT_EQ(PorterStem("refunds"), PorterStem("refunded"));
  EXPECT_EQ(PorterStem("deliveries"), PorterStem("delivery"));
  EXPECT_EQ(PorterStem("arrived"), PorterStem("arrive"));
  // Not a lower-case ASCII word, or too short: unchanged.
  EXPECT_EQ(PorterStem("退款"), "退款");
  EXPECT_EQ(PorterStem("is"), "is");
  EXPECT_EQ(PorterStem("a1b2"), "a1b2");
  EXPECT_EQ(PorterStem(""), "");
}

TEST(EnglishSearchTerms, ChatSpellingsAndFillers) {
  auto t = EnglishSearchTerms({"can", "u", "guys", "send", "stuff", "to", "hong", "kong"}, true);
  EXPECT_EQ(t, (std::vector<std::string>{"can", "you", "send", "to", "hong", "kong"}));
  // Without drop_fillers (an entry's own text) the words stay.
  t = EnglishSearchTerms({"guys"});
  EXPECT_EQ(t, (std::vector<std::string>{"gui"}));
  // "dont" meets "don't" as the segmenter splits it.
  EXPECT_EQ(EnglishSearchTerms({"dont"}), (std::vector<std::string>{"don", "t"}));
  // Chinese tokens are left alone and no Latin token: the same vector back.
  EXPECT_EQ(EnglishSearchTerms({"退款", "多久"}), (std::vector<std::string>{"退款", "多久"}));
  EXPECT_EQ(EnglishSearchTerms({"退款", "refunds"}), (std::vector<std::string>{"退款", "refund"}));
}

TEST(CodeSwitchToChinese, ServiceWordsInAChineseMessage) {
  EXPECT_EQ(CodeSwitchToChinese("能开 invoice 吗"), "能开 发票 吗");
  EXPECT_EQ(CodeSwitchToChinese("Refunds 一般几天到"), "退款 一般几天到");
  EXPECT_EQ(CodeSwitchToChinese("price protection几天"), "价保几天");
  EXPECT_EQ(CodeSwitchToChinese("手机returned了还能退款吗"), "手机退货了还能退款吗");
  // Names and words not in the list stay; an English message stays English.
  EXPECT_EQ(CodeSwitchToChinese("iPhone 15 有货吗"), "iPhone 15 有货吗");
  EXPECT_EQ(CodeSwitchToChinese("can i get a refund"), "can i get a refund");
  EXPECT_EQ(CodeSwitchToChinese("退款多久"), "退款多久");
  // Emoji are no Chinese.
  EXPECT_EQ(CodeSwitchToChinese("quick question 😊 if I return it"), "quick question 😊 if I return it");
}

}  // namespace
TEST(ExpandChatEnglish, WritesChatSpellingsOut) {
  EXPECT_EQ(ExpandChatEnglish("do u sell yoga mats"), "do you sell yoga mats");
  EXPECT_EQ(ExpandChatEnglish("wheres my pkg??"), "where's my package??");
  EXPECT_EQ(ExpandChatEnglish("i dont know, im lost"), "i don't know, i'm lost");
  EXPECT_EQ(ExpandChatEnglish("u2 and you're"), "u2 and you're");
  EXPECT_EQ(ExpandChatEnglish("能开 invoice 吗 u"), "能开 invoice 吗 you");
}

}  // namespace kefu::text
