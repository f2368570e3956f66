#include "knowledge/matcher.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "text/jieba.h"

namespace kefu::knowledge {
namespace {

// A small dictionary: the synthetic synonym words are whole words, the rest
// falls apart into characters (shared by both sides of every pair below).
constexpr std::string_view kJiebaDict =
    "到账 500 v\n退回 500 v\n快递 500 n\n包裹 500 n\n发票 500 n\n收据 500 n\n"
    "售后 500 n\n保修 500 n\n手机 500 n\n电话 500 n\n优惠 500 n\n折扣 500 n\n"
    "什么 800 r\n时候 800 n\n怎么办 800 r\n请问 800 v\n问题 800 n\n订单 500 n\n"
    "我 2000 r\n的 5000 u\n不 2000 d\n要 2000 v\n开 800 v\n怎么 800 r\n";

const text::Segmenter& Seg() {
  static auto seg = text::JiebaSegmenter::FromText(kJiebaDict, [] {
    text::JiebaOptions o;
    o.search_mode = false;
    return o;
  }());
  return **seg;
}

const std::vector<std::pair<std::string, std::string>> kSynonyms = {
    {"到账", "退回"}, {"快递", "包裹"}, {"发票", "收据"}, {"售后", "保修"}, {"手机", "电话"}, {"优惠", "折扣"}};

std::string Fill(const std::string& tmpl, const std::string& w) {
  std::string s = tmpl;
  s.replace(s.find("{}"), 2, w);
  return s;
}

// Positives: a template with a word and its synonym; negatives: the same template
// with a word of another pair. Every pair differs in exactly one two-character word
// with no character in common, so the dense features cannot tell them apart.
std::vector<MatcherPair> Synthetic(const std::vector<std::string>& templates) {
  std::vector<MatcherPair> out;
  for (const auto& t : templates) {
    for (size_t i = 0; i < kSynonyms.size(); ++i) {
      for (int rep = 0; rep < 3; ++rep) {
        out.push_back({Fill(t, kSynonyms[i].first), Fill(t, kSynonyms[i].second), true});
        out.push_back({Fill(t, kSynonyms[i].second), Fill(t, kSynonyms[i].first), true});
      }
      for (size_t j = 0; j < kSynonyms.size(); ++j) {
        if (j == i) continue;
        out.push_back({Fill(t, kSynonyms[i].first), Fill(t, kSynonyms[j].second), false});
      }
    }
  }
  return out;
}

std::unique_ptr<QuestionMatcher> TrainSmall(bool sparse) {
  MatcherTrainOptions o;
  o.epochs = 20;
  o.learning_rate = 0.5;
  o.hash_bits = 12;
  o.sparse = sparse;
  auto m = QuestionMatcher::Train(Seg(), Synthetic({"什么时候{}", "{}怎么办", "我的{}呢", "请问{}在哪"}), o);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return std::move(m).value();
}

MatcherMetrics Evaluate(const QuestionMatcher& m, const std::vector<MatcherPair>& pairs) {
  std::vector<double> p;
  std::vector<bool> y;
  for (const auto& x : pairs) {
    p.push_back(m.Score(x.q1, x.q2));
    y.push_back(x.same);
  }
  return ComputeMetrics(p, y);
}

TEST(QuestionMatcherTest, DenseFeaturesOfHandMadePairs) {
  auto m = TrainSmall(false);
  auto f = [&](std::string_view a, std::string_view b) { return m->DenseFeatures(m->Prepare(a), m->Prepare(b)); };

  auto same = f("发票怎么开", "發票怎麼開");  // traditional folds to simplified
  EXPECT_FLOAT_EQ(same[0], 1);                // bias
  EXPECT_FLOAT_EQ(same[1], 1);                // char Dice
  EXPECT_FLOAT_EQ(same[2], 1);                // bigram Dice
  EXPECT_FLOAT_EQ(same[3], 1);                // word Dice
  EXPECT_FLOAT_EQ(same[4], 1);
  EXPECT_FLOAT_EQ(same[5], 1);
  EXPECT_FLOAT_EQ(same[6], 1);
  EXPECT_FLOAT_EQ(same[7], 0);
  EXPECT_FLOAT_EQ(same[8], 0);

  auto neg = f("我不要发票", "我要发票");
  EXPECT_FLOAT_EQ(neg[7], 1);
  EXPECT_FLOAT_EQ(neg[6], 0.8f);  // 我要发票 / 我不要发票: 4 of 5 characters
  EXPECT_LT(neg[3], 1);
  EXPECT_FLOAT_EQ(neg[5], 1);  // every word of the shorter one is in the longer
  EXPECT_LT(neg[4], 1);

  auto digits = f("订单１２３", "订单456");  // full-width digits fold to ASCII
  EXPECT_FLOAT_EQ(digits[8], 1);
  EXPECT_FLOAT_EQ(f("订单123", "订单１２３")[8], 0);

  auto latin = f("ABC发票", "abc发票");
  EXPECT_FLOAT_EQ(latin[3], 1);

  auto disjoint = f("手机", "快递");
  EXPECT_FLOAT_EQ(disjoint[1], 0);
  EXPECT_FLOAT_EQ(disjoint[3], 0);
  EXPECT_FLOAT_EQ(disjoint[4], 0);
}

TEST(QuestionMatcherTest, SparsePairFeaturesLearnSynonymsDenseCannot) {
  const auto held_out = Synthetic({"{}有问题", "怎么{}"});  // templates never trained on
  auto full = TrainSmall(true);
  auto dense = TrainSmall(false);
  MatcherMetrics mf = Evaluate(*full, held_out), md = Evaluate(*dense, held_out);
  EXPECT_GT(mf.auc, 0.95);
  EXPECT_GT(mf.accuracy, 0.9);
  EXPECT_LT(md.auc, 0.6);  // dense features are identical for both classes
  EXPECT_GT(full->Score("到账有问题", "退回有问题"), 0.5);
  EXPECT_LT(full->Score("到账有问题", "包裹有问题"), 0.5);
}

TEST(QuestionMatcherTest, ScoreIsAProbabilityAndSymmetric) {
  auto m = TrainSmall(true);
  for (const auto& [a, b] : std::vector<std::pair<std::string, std::string>>{{"什么时候到账", "退回要多久"},
                                                                             {"我不要发票", "发票怎么开"},
                                                                             {"", "手机"},
                                                                             {"", ""},
                                                                             {"订单123", "订单456"}}) {
    double p = m->Score(a, b), q = m->Score(b, a);
    EXPECT_GT(p, 0) << a << " / " << b;
    EXPECT_LT(p, 1) << a << " / " << b;
    EXPECT_DOUBLE_EQ(p, q) << a << " / " << b;
  }
}

TEST(QuestionMatcherTest, SaveLoadRoundTripAndCorruptFilesRefused) {
  auto m = TrainSmall(true);
  const std::string bytes = m->Serialize();
  auto back = QuestionMatcher::Parse(bytes, Seg());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ((*back)->Serialize(), bytes);
  EXPECT_DOUBLE_EQ((*back)->Score("什么时候到账", "什么时候退回"), m->Score("什么时候到账", "什么时候退回"));
  EXPECT_EQ((*back)->hash_bits(), 12);
  EXPECT_EQ((*back)->segmenter_name(), "jieba-plain");

  auto path = std::filesystem::temp_directory_path() / ("matcher_test_" + std::to_string(::getpid()) + ".kmodel");
  ASSERT_TRUE(m->Save(path.string()).ok());
  auto loaded = QuestionMatcher::Load(path.string(), Seg());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ((*loaded)->Serialize(), bytes);
  std::filesystem::remove(path);
  EXPECT_EQ(QuestionMatcher::Load(path.string(), Seg()).status().code(), ErrorCode::kNotFound);

  EXPECT_FALSE(QuestionMatcher::Parse("", Seg()).ok());
  EXPECT_FALSE(QuestionMatcher::Parse(bytes.substr(0, bytes.size() / 2), Seg()).ok());
  EXPECT_FALSE(QuestionMatcher::Parse(bytes.substr(0, bytes.size() - 1), Seg()).ok());
  EXPECT_FALSE(QuestionMatcher::Parse(bytes + "x", Seg()).ok());
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x40;
  auto bad = QuestionMatcher::Parse(flipped, Seg());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("checksum"), std::string::npos) << bad.status().message();
  std::string magic = bytes;
  magic[0] = 'X';
  EXPECT_NE(QuestionMatcher::Parse(magic, Seg()).status().message().find("magic"), std::string::npos);
  std::string version = bytes;
  version[8] = 9;
  EXPECT_NE(QuestionMatcher::Parse(version, Seg()).status().message().find("version"), std::string::npos);
}

TEST(QuestionMatcherTest, TrainRefusesEmptyOrBadOptions) {
  EXPECT_EQ(QuestionMatcher::Train(Seg(), {}, {}).status().code(), ErrorCode::kInvalidArgument);
  MatcherTrainOptions o;
  o.hash_bits = 40;
  EXPECT_FALSE(QuestionMatcher::Train(Seg(), {{"a", "b", true}}, o).ok());
}

TEST(QuestionMatcherTest, MetricsOfKnownScores) {
  MatcherMetrics m = ComputeMetrics({0.9, 0.8, 0.3, 0.1}, {true, false, true, false});
  EXPECT_DOUBLE_EQ(m.accuracy, 0.5);
  EXPECT_DOUBLE_EQ(m.auc, 0.75);
  EXPECT_EQ(m.calibration[9].count, 1);
  EXPECT_EQ(m.calibration[8].count, 1);
  EXPECT_DOUBLE_EQ(m.calibration[8].observed, 0);
}

std::string DataDir() {
  if (const char* d = std::getenv("KEFU_DATA")) return d;
  const char* src = std::getenv("KEFU_SOURCE_DIR");
  return std::string(src ? src : ".") + "/../shared/data";
}

TEST(QuestionMatcherTest, TrainsOnAfqmcWhenPresent) {
  const std::string dir = DataDir();
  if (!std::filesystem::exists(dir + "/matching/afqmc/atec_nlp_sim_train.csv") ||
      !std::filesystem::exists(dir + "/matching/lcqmc/dev.txt"))
    GTEST_SKIP() << "afqmc/lcqmc not found under " << dir << "/matching (set KEFU_DATA)";
  const std::string dict = KnowledgeConfig{}.jieba_dict;
  if (!std::filesystem::exists(dict)) GTEST_SKIP() << "python3-jieba dict.txt not installed at " << dict;
  MatcherRunOptions o;
  o.data_dir = dir;
  o.max_train = 20000;
  o.train.epochs = 3;
  auto r = RunMatcherTraining(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& j = *r;
  EXPECT_GT(j["data"]["afqmc_heldout_pairs"].get<int>(), 9000);
  const double auc = j["matcher"]["afqmc_heldout"]["auc"].get<double>();
  EXPECT_GT(auc, 0.65);
  EXPECT_GT(j["matcher"]["lcqmc_dev"]["auc"].get<double>(), 0.65);
  EXPECT_GT(j["dense_only_baseline"]["afqmc_heldout"]["auc"].get<double>(), 0.6);
}

TEST(QuestionMatcherTest, ShippedModelLoadsAndRanksParaphrases) {
  const char* src = std::getenv("KEFU_SOURCE_DIR");
  const std::string path = std::string(src ? src : ".") + "/models/matcher.kmodel";
  const std::string dict = KnowledgeConfig{}.jieba_dict;
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not found";
  if (!std::filesystem::exists(dict)) GTEST_SKIP() << "python3-jieba dict.txt not installed at " << dict;
  KnowledgeConfig kc;
  kc.segmenter = "jieba-plain";
  auto seg = text::CreateSegmenter(kc);
  ASSERT_TRUE(seg.ok()) << seg.status().ToString();
  auto m = QuestionMatcher::Load(path, **seg);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)->segmenter_name(), "jieba-plain");
  const auto q = (*m)->Prepare("花呗如何还款");
  const double same = (*m)->Score(q, (*m)->Prepare("花呗怎么还款"));
  const double other = (*m)->Score(q, (*m)->Prepare("借呗额度怎么提升"));
  EXPECT_GT(same, 0.5);
  EXPECT_LT(other, 0.2);
}

TEST(QuestionMatcherTest, MissingDataIsAClearError) {
  MatcherRunOptions o;
  o.data_dir = "/nonexistent-kefu-data";
  auto r = RunMatcherTraining(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(r.status().message().find("afqmc"), std::string::npos);
}

}  // namespace
}  // namespace kefu::knowledge
