#include "nlu/emoji_lexicon.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "nlu/datasets.h"
#include "nlu/linear.h"

namespace kefu::nlu {
namespace {

TEST(EmojiLexicon, PolaritiesFromEmojiEmotion) {
  EXPECT_EQ(EmojiLexiconSize(), 118u);  // emoji-emotion 3.0.1
  EXPECT_EQ(EmojiPolarity(U'😡'), -4);  // rage
  EXPECT_EQ(EmojiPolarity(U'🙄'), -1);  // roll_eyes
  EXPECT_EQ(EmojiPolarity(U'👍'), 2);   // thumbsup
  EXPECT_EQ(EmojiPolarity(U'❤'), 3);   // heart (U+2764; the table drops U+FE0F)
  EXPECT_EQ(EmojiPolarity(U'😐'), 0);   // neutral_face
  EXPECT_FALSE(EmojiPolarity(U'A').has_value());
  EXPECT_FALSE(EmojiPolarity(U'好').has_value());
  EXPECT_FALSE(EmojiPolarity(U'🍎').has_value());  // not rated
  EXPECT_EQ(EmojiTokenPolarity("😡"), -4);
  EXPECT_FALSE(EmojiTokenPolarity("😡😡").has_value());
  EXPECT_FALSE(EmojiTokenPolarity("好").has_value());
  EXPECT_FALSE(EmojiTokenPolarity("").has_value());
  EXPECT_FALSE(EmojiTokenPolarity("\xF0\x9F").has_value());  // truncated
}

TEST(EmojiLexicon, EmojiOfOnePolarityShareAFeature) {
  LinearOptions o;
  o.word_ngrams = 1;
  auto plain = LinearFeatureBuckets("😡", o);
  o.emoji = true;
  auto rage = LinearFeatureBuckets("😡", o);
  auto angry = LinearFeatureBuckets("😠", o);
  auto thumbs = LinearFeatureBuckets("👍", o);
  EXPECT_EQ(plain.size(), 1u);
  ASSERT_EQ(rage.size(), 2u);
  ASSERT_EQ(angry.size(), 2u);
  std::vector<uint32_t> shared;
  std::set_intersection(rage.begin(), rage.end(), angry.begin(), angry.end(), std::back_inserter(shared));
  EXPECT_EQ(shared.size(), 1u);  // the "negative emoji" feature
  std::vector<uint32_t> none;
  std::set_intersection(rage.begin(), rage.end(), thumbs.begin(), thumbs.end(), std::back_inserter(none));
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(LinearFeatureBuckets("你好", o), LinearFeatureBuckets("你好", LinearOptions{.word_ngrams = 1}));
  // The option round-trips through the model options and is absent (false) in older files.
  auto j = o.ToJson();
  EXPECT_TRUE(j.at("emoji").get<bool>());
  auto back = LinearOptions::FromJson(j);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->emoji);
  j.erase("emoji");
  EXPECT_FALSE(LinearOptions::FromJson(j)->emoji);
}

TEST(EmojiLexicon, ExamplesLabelEveryEmojiBySign) {
  const std::vector<std::string> carriers = {"在吗", "运费多少", "几点发货", "有现货吗", "能开发票吗"};
  auto ex = EmojiLexiconExamples(carriers, 2);
  EXPECT_EQ(ex.size(), EmojiLexiconSize() * 4);
  std::map<std::string, std::string> label;
  for (const auto& e : ex) label[e.text] = e.label;
  EXPECT_EQ(label["😡"], "negative");
  EXPECT_EQ(label["😡😡"], "negative");
  EXPECT_EQ(label["👍"], "positive");
  EXPECT_EQ(label["😐"], "neutral");
  size_t carried = 0;
  for (const auto& e : ex) {
    for (const auto& c : carriers) carried += e.text.rfind(c, 0) == 0;
  }
  EXPECT_EQ(carried, EmojiLexiconSize() * 2);
  EXPECT_EQ(EmojiLexiconExamples(carriers, 2).size(), ex.size());
  EXPECT_EQ(EmojiLexiconExamples(carriers, 2)[5].text, ex[5].text);  // deterministic
}

TEST(ConversationData, SegmentedTextLooksTyped) {
  EXPECT_EQ(NormaliseSegmentedText("奖励 就是 亲"), "奖励就是亲");
  EXPECT_EQ(NormaliseSegmentedText("iphone 6 好  用"), "iphone 6好用");
  EXPECT_EQ(NormaliseSegmentedText(" 谢谢 😡 "), "谢谢😡");
  EXPECT_EQ(NormaliseSegmentedText("I love you"), "I love you");
  EXPECT_EQ(NormaliseSegmentedText(""), "");
}

// The held-back parts of the chat-message and Weibo sets: deterministic,
// about 20 %, disjoint from the training part (needs ../shared/data).
TEST(ConversationData, HeldBackPartIsAFifthAndNeverTrainedOn) {
  const std::string dir = FindDataDir();
  if (dir.empty() || !std::filesystem::exists(dir + "/sentiment/conversation_sentiment.auto30k.csv")) {
    GTEST_SKIP() << "dataset directory with sentiment/conversation_sentiment.auto30k.csv not found "
                    "(set KEFU_DATA or place ../shared/data next to the repo)";
  }
  auto conv = LoadConversation(dir);
  ASSERT_TRUE(conv.ok()) << conv.status().ToString();
  const double n = static_cast<double>(conv->train.size() + conv->dev.size());
  EXPECT_GT(n, 29000);
  EXPECT_NEAR(static_cast<double>(conv->dev.size()) / n, 0.2, 0.02);
  std::set<std::string> test;
  size_t spaced = 0;  // only between two Latin words or numbers
  for (const auto& ex : conv->dev) {
    spaced += ex.text.find(' ') != std::string::npos;
    test.insert(ex.text);
  }
  EXPECT_LT(static_cast<double>(spaced), 0.01 * static_cast<double>(conv->dev.size()));
  for (const auto& ex : conv->train) ASSERT_EQ(test.count(ex.text), 0u) << ex.text;
  auto again = LoadConversation(dir);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->dev.size(), conv->dev.size());
}

}  // namespace
}  // namespace kefu::nlu
