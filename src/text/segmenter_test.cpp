#include "text/segmenter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "text/jieba.h"

namespace kefu::text {
namespace {

using Tokens = std::vector<std::string>;
const char* kDict = "/usr/lib/python3/dist-packages/jieba/dict.txt";

TEST(Normalize, FoldsWidthAndCase) {
  EXPECT_EQ(Normalize("ＡＢＣ１２３ Refund"), "abc123 refund");
  EXPECT_EQ(Normalize("ORDER"), "order");
}

TEST(ForEachRun, SplitsHanAndWords) {
  Tokens runs;
  ForEachRun(Normalize("iPhone15 多少钱？价格3.5元, ok!"), [&](RunKind k, std::string_view r) {
    runs.push_back((k == RunKind::kHan ? "H:" : "W:") + std::string(r));
  });
  EXPECT_EQ(runs, (Tokens{"W:iphone15", "H:多少钱", "H:价格", "W:3.5", "H:元", "W:ok"}));
}

TEST(Bigram, UnigramsAndBigrams) {
  KnowledgeConfig cfg;
  cfg.segmenter = "bigram";
  auto seg = CreateSegmenter(cfg);
  ASSERT_TRUE(seg.ok());
  EXPECT_EQ((*seg)->Tokenize("退款了 OK"), (Tokens{"退", "退款", "款", "款了", "了", "ok"}));
}

TEST(Icu, SplitsChineseWords) {
  KnowledgeConfig cfg;
  cfg.segmenter = "icu";
  auto seg = CreateSegmenter(cfg);
  ASSERT_TRUE(seg.ok());
  Tokens t = (*seg)->Tokenize("我的订单到哪了？Refund my ORDER");
  EXPECT_NE(std::find(t.begin(), t.end(), "订单"), t.end());
  EXPECT_EQ(Tokens(t.end() - 3, t.end()), (Tokens{"refund", "my", "order"}));
}

TEST(CreateSegmenter, RejectsUnknownKindAndMissingDict) {
  KnowledgeConfig cfg;
  cfg.segmenter = "nope";
  EXPECT_EQ(CreateSegmenter(cfg).status().code(), ErrorCode::kInvalidArgument);
  cfg.segmenter = "jieba";
  cfg.jieba_dict = "/nonexistent/dict.txt";
  EXPECT_EQ(CreateSegmenter(cfg).status().code(), ErrorCode::kNotFound);
}

// A tiny dictionary makes the DAG / route logic testable without the real file.
TEST(Jieba, MaxProbabilityRouteOnSmallDict) {
  std::string dict = "我 100 r\n的 200 uj\n订单 50 n\n订 5 v\n单 5 n\n到 80 v\n哪 20 r\n了 150 ul\n"
                     "南京 30 ns\n南京市 20 ns\n市长 20 n\n长江 30 ns\n长江大桥 20 ns\n大桥 20 n\n江 1 n\n";
  JiebaOptions plain;
  plain.search_mode = false;
  auto seg = JiebaSegmenter::FromText(dict, plain);
  ASSERT_TRUE(seg.ok()) << seg.status().ToString();
  EXPECT_EQ((*seg)->Tokenize("我的订单到哪了"), (Tokens{"我", "的", "订单", "到", "哪", "了"}));
  EXPECT_EQ((*seg)->Tokenize("南京市长江大桥"), (Tokens{"南京市", "长江大桥"}));

  JiebaOptions search;
  auto seg2 = JiebaSegmenter::FromText(dict, search);
  ASSERT_TRUE(seg2.ok());
  EXPECT_EQ((*seg2)->Tokenize("南京市长江大桥"), (Tokens{"南京", "南京市", "长江", "大桥", "长江大桥"}));
}

TEST(Jieba, UnknownRunsBecomeCharsAndBigrams) {
  auto seg = JiebaSegmenter::FromText("的 100 uj\n");
  ASSERT_TRUE(seg.ok());
  EXPECT_EQ((*seg)->Tokenize("慧择的众安"), (Tokens{"慧", "慧择", "择", "的", "众", "众安", "安"}));
  JiebaOptions no_bigrams;
  no_bigrams.unknown_bigrams = false;
  auto seg2 = JiebaSegmenter::FromText("的 100 uj\n", no_bigrams);
  EXPECT_EQ((*seg2)->Tokenize("慧择的"), (Tokens{"慧", "择", "的"}));
}

TEST(Jieba, RealDictionary) {
  if (!std::filesystem::exists(kDict)) GTEST_SKIP() << "python3-jieba dict.txt not installed at " << kDict;
  auto t0 = std::chrono::steady_clock::now();
  JiebaOptions plain;
  plain.search_mode = false;
  auto seg = JiebaSegmenter::Load(kDict, plain);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(seg.ok()) << seg.status().ToString();
  EXPECT_GT((*seg)->DictionarySize(), 300000u);
  EXPECT_LT(secs, 3.0);  // ~0.3 s in Release on an idle core; generous for sanitizer builds
  EXPECT_EQ((*seg)->Tokenize("我的订单到哪了"), (Tokens{"我", "的", "订单", "到", "哪", "了"}));
  // English function words are no search terms; a plural -s goes.
  EXPECT_EQ((*seg)->Tokenize("Refund my ORDER"), (Tokens{"refund", "order"}));
  EXPECT_EQ((*seg)->Tokenize("what's the status of my refunds"), (Tokens{"status", "refund"}));
  EXPECT_EQ((*seg)->Tokenize("全角ＯＲＤＥＲ１２３"), (Tokens{"全角", "order123"}));
  EXPECT_EQ((*seg)->Tokenize("我来到北京清华大学"), (Tokens{"我", "来到", "北京", "清华大学"}));

  // A user word keeps a product name in one piece.
  Tokens before = (*seg)->Tokenize("小米手环真好用");
  (*seg)->AddWord("米手环");
  EXPECT_EQ((*seg)->Tokenize("小米手环真好用")[1], "米手环") << before[0];

  // hybrid (words + characters + character bigrams): particles are no terms,
  // no bigram spans one, and a leading 那 ("what about") goes.
  KnowledgeConfig hybrid_cfg;
  hybrid_cfg.segmenter = "hybrid";
  auto hybrid = CreateSegmenter(hybrid_cfg);
  ASSERT_TRUE(hybrid.ok());
  Tokens follow_up = (*hybrid)->Tokenize("那换货呢？");
  for (const char* gone : {"那", "呢", "那换", "货呢"})
    EXPECT_EQ(std::count(follow_up.begin(), follow_up.end(), gone), 0) << gone;
  EXPECT_GT(std::count(follow_up.begin(), follow_up.end(), "换货"), 0);
  Tokens that_order = (*hybrid)->Tokenize("我要那个吗");
  EXPECT_GT(std::count(that_order.begin(), that_order.end(), "那个"), 0);  // 那 inside keeps
  EXPECT_EQ(std::count(that_order.begin(), that_order.end(), "吗"), 0);

  KnowledgeConfig cfg;
  cfg.segmenter = "jieba";  // search mode
  auto search = CreateSegmenter(cfg);
  ASSERT_TRUE(search.ok());
  EXPECT_EQ((*search)->Name(), "jieba");
  EXPECT_EQ((*search)->Tokenize("中华人民共和国"),
            (Tokens{"中华", "华人", "人民", "共和", "共和国", "中华人民共和国"}));
}

// Words: the dictionary's cut, never a pair across two words that a rare
// entry happens to spell (机设 in 开机设置), while the hybrid kind emits it.
TEST(Jieba, ALoadedDictionaryIsParsedOnceAndEachSegmenterOwnsItsCopy) {
  if (!std::filesystem::exists(kDict)) GTEST_SKIP() << "python3-jieba dict.txt not installed at " << kDict;
  JiebaOptions plain;
  plain.search_mode = false;
  auto a = JiebaSegmenter::Load(kDict, plain);
  auto b = JiebaSegmenter::Load(kDict);  // search mode, from the parsed copy
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)->DictionarySize(), (*b)->DictionarySize());
  EXPECT_EQ((*a)->Name(), "jieba-plain");
  EXPECT_EQ((*b)->Name(), "jieba");
  // A word added to one segmenter is not in the other, nor in a later load.
  (*a)->AddWord("退宽宽");
  EXPECT_TRUE((*a)->IsWord("退宽宽"));
  EXPECT_FALSE((*b)->IsWord("退宽宽"));
  auto c = JiebaSegmenter::Load(kDict);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE((*c)->IsWord("退宽宽"));
  EXPECT_EQ((*c)->Tokenize("我来到北京清华大学"), (*b)->Tokenize("我来到北京清华大学"));
}

TEST(Jieba, WordsAreTheCutNotEveryPair) {
  JiebaOptions hybrid;
  hybrid.char_bigrams = hybrid.char_unigrams = true;
  auto seg = JiebaSegmenter::FromText("开机 104 n\n设置 4230 vn\n机设 3 vn\n手机 500 n\n", hybrid);
  ASSERT_TRUE(seg.ok());
  EXPECT_EQ((*seg)->Words("手机开机设置, ok"), (Tokens{"手机", "开机", "设置"}));
  const Tokens all = (*seg)->Tokenize("开机设置");
  EXPECT_NE(std::find(all.begin(), all.end(), "机设"), all.end());
  EXPECT_TRUE((*seg)->IsWord("机设"));
}

TEST(Jieba, ConcurrentTokenize) {
  auto seg = JiebaSegmenter::FromText("订单 50 n\n到 80 v\n");
  ASSERT_TRUE(seg.ok());
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i)
        if ((*seg)->Tokenize("订单到").size() != 2) ++bad;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace kefu::text

namespace kefu::text {
namespace {
TEST(Hybrid, WordsPlusCharacterNgrams) {
  if (!std::filesystem::exists(kDict)) GTEST_SKIP() << "python3-jieba dict.txt not installed at " << kDict;
  KnowledgeConfig cfg;
  cfg.segmenter = "hybrid";
  auto seg = CreateSegmenter(cfg);
  ASSERT_TRUE(seg.ok());
  EXPECT_EQ((*seg)->Name(), "hybrid");
  EXPECT_EQ((*seg)->Tokenize("订单到了 ok"), (Tokens{"订单", "到", "了", "订", "订单", "单", "单到", "到", "到了", "了"}));
  EXPECT_EQ((*seg)->Tokenize("订单到了 iPhone15"), (Tokens{"订单", "到", "了", "订", "订单", "单", "单到", "到", "到了", "了", "iphone15"}));
}
}  // namespace
}  // namespace kefu::text

namespace kefu::text {
namespace {

TEST(JiebaSegmenter, FunctionWordsByTag) {
  auto seg = JiebaSegmenter::FromText("那个 14550 r\n三条 452 m\n突然 14998 ad\n冰箱 3000 n\n过期 186 t\n学生 30776 n\n掉色 4 v\n");
  ASSERT_TRUE(seg.ok());
  for (const char* w : {"那个", "三条", "突然"}) EXPECT_TRUE((*seg)->IsFunctionWord(w)) << w;
  // Nouns, verbs and time words are topics; a word the dictionary lacks is no function word.
  for (const char* w : {"冰箱", "过期", "学生", "掉色", "退款"}) EXPECT_FALSE((*seg)->IsFunctionWord(w)) << w;
}

}  // namespace
}  // namespace kefu::text
