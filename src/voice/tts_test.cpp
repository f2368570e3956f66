#include "voice/tts.h"

#include <gtest/gtest.h>

namespace kefu::voice {
namespace {

using V = std::vector<std::string>;

TEST(SentenceTest, SplitsChineseAndEnglish) {
  EXPECT_EQ(SplitSentences("您好！您的订单已发货。请问还有什么可以帮您？"),
            (V{"您好！", "您的订单已发货。", "请问还有什么可以帮您？"}));
  EXPECT_EQ(SplitSentences("Hello. Your parcel is on its way! Anything else?"),
            (V{"Hello.", "Your parcel is on its way!", "Anything else?"}));
  EXPECT_EQ(SplitSentences("好的，我们会在3.5小时内回复。谢谢"), (V{"好的，我们会在3.5小时内回复。", "谢谢"}));
}

TEST(SentenceTest, KeepsClosersAndRepeatedMarksTogether) {
  EXPECT_EQ(SplitSentences("他说：“已经退款了。”然后呢？！好吧……"),
            (V{"他说：“已经退款了。”", "然后呢？！", "好吧……"}));
  EXPECT_EQ(SplitSentences("Really?! (Yes.) Fine"), (V{"Really?!", "(Yes.)", "Fine"}));
  EXPECT_EQ(SplitSentences("line one\nline two"), (V{"line one", "line two"}));
  EXPECT_TRUE(SplitSentences("  \n ").empty());
}

TEST(SentenceTest, StreamedPiecesGiveTheSameSentencesAsTheWhole) {
  const std::string text = "Order 1024 ships today. It costs 3.5 dollars! 订单号A1024已发货。您还需要什么帮助？";
  for (size_t piece : {1u, 2u, 3u, 5u, 7u}) {
    SentenceSplitter s;
    V got;
    for (size_t at = 0; at < text.size(); at += piece) {
      auto done = s.Append(text.substr(at, piece));
      got.insert(got.end(), done.begin(), done.end());
    }
    auto rest = s.Finish();
    got.insert(got.end(), rest.begin(), rest.end());
    EXPECT_EQ(got, SplitSentences(text)) << "piece " << piece;
  }
  EXPECT_EQ(SplitSentences(text).size(), 4u);
}

TEST(SentenceTest, AFinishedSentenceIsReleasedBeforeTheReplyEnds) {
  SentenceSplitter s;
  EXPECT_TRUE(s.Append("您好").empty());
  EXPECT_TRUE(s.Append("！").empty());  // a closing quote could still follow
  EXPECT_EQ(s.Append("请稍等"), (V{"您好！"}));
  EXPECT_EQ(s.Finish(), (V{"请稍等"}));
}

TEST(SentenceTest, CutsOverlongSentencesAtACommaAndNeverInsideACharacter) {
  std::string longer;
  for (int i = 0; i < 40; ++i) longer += "很长的句子，";
  auto parts = SplitSentences(longer, 100);
  ASSERT_GT(parts.size(), 2u);
  std::string joined;
  for (const auto& p : parts) {
    EXPECT_LE(p.size(), 100u);
    EXPECT_TRUE(p.ends_with("，")) << p;
    joined += p;
  }
  EXPECT_EQ(joined, longer);
  std::string unbroken(250, 'a');
  parts = SplitSentences(unbroken, 100);
  EXPECT_EQ(parts.size(), 3u);
  std::string cjk;
  for (int i = 0; i < 100; ++i) cjk += "字";
  for (const auto& p : SplitSentences(cjk, 100)) EXPECT_EQ(p.size() % 3, 0u) << p;
}

TEST(SentenceTest, GuessesTheLanguageOfAReply) {
  EXPECT_EQ(GuessLanguage("Where is my parcel?"), "en");
  EXPECT_EQ(GuessLanguage("订单 A1024 到了吗"), "zh");
  EXPECT_EQ(GuessLanguage("Café — naïve"), "en");
  EXPECT_EQ(GuessLanguage(""), "en");
}

TEST(FakeTtsTest, ToneLengthFollowsTheTextAndErrorsComeFirst) {
  FakeTts tts;
  auto a = tts.Synthesize("你好", {});
  ASSERT_TRUE(a.ok());
  EXPECT_NEAR(a->seconds(), 0.12, 1e-6);
  tts.EnqueueError(Unavailable("down"));
  EXPECT_EQ(tts.Synthesize("x", {}).status().code(), ErrorCode::kUnavailable);
  EXPECT_FALSE(tts.Synthesize("  ", {}).ok());
  EXPECT_EQ(tts.texts().size(), 3u);
}

TEST(SpeakSentencesTest, HandsEachSentenceOverInOrderAndStopsOnRequest) {
  FakeTts tts;
  V spoken;
  ASSERT_TRUE(SpeakSentences(tts, "One. Two! Three?", {}, [&](size_t i, const std::string& s, Pcm&& audio) {
                EXPECT_EQ(i, spoken.size());
                EXPECT_GT(audio.seconds(), 0);
                spoken.push_back(s);
                return i < 1;
              }).ok());
  EXPECT_EQ(spoken, (V{"One.", "Two!"}));
  tts.EnqueueError(DeadlineExceeded("slow"));
  EXPECT_EQ(SpeakSentences(tts, "A. B.", {}, [](size_t, const std::string&, Pcm&&) { return true; }).code(),
            ErrorCode::kDeadlineExceeded);
  EXPECT_FALSE(SpeakSentences(tts, " ", {}, [](size_t, const std::string&, Pcm&&) { return true; }).ok());
}

}  // namespace
}  // namespace kefu::voice
