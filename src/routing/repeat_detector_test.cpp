#include "routing/repeat_detector.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace kefu::routing {
namespace {

TEST(RepeatDetector, ParaphrasesAreTheSameQuestion) {
  RepeatDetector d;
  const double th = d.settings().threshold;
  EXPECT_GE(d.Similarity("到底什么时候发货", "怎么还不发货"), th);
  EXPECT_GE(d.Similarity("我的快递什么时候到？", "快递多久能到啊"), th);
  EXPECT_GE(d.Similarity("怎么申请退款", "如何申请退款呢？"), th);
  EXPECT_GE(d.Similarity("能不能开发票", "可以开发票吗"), th);
  EXPECT_GE(d.Similarity("为什么还没发货", "啥时候发货"), th);
}

TEST(RepeatDetector, DifferentQuestionsAreNot) {
  RepeatDetector d;
  const double th = d.settings().threshold;
  EXPECT_LT(d.Similarity("什么时候发货", "怎么申请退款"), th);
  EXPECT_LT(d.Similarity("这款手机支持5G吗", "可以开发票吗"), th);
  EXPECT_LT(d.Similarity("会员积分怎么用", "快递多久能到"), th);
  EXPECT_LT(d.Similarity("订单地址写错了怎么改", "发票抬头写错了怎么办"), th);
}

TEST(RepeatDetector, NormalizeDropsFillersAndMapsParaphrases) {
  EXPECT_EQ(RepeatDetector::Normalize("到底什么时候发货？？"), "何时发货");
  EXPECT_EQ(RepeatDetector::Normalize("怎么还不发货!"), "何时发货");
  EXPECT_EQ(RepeatDetector::Normalize("ＡＢＣ 订单"), "abc订单");
}

TEST(RepeatDetector, ObserveCountsRepetitionsInState) {
  RepeatDetector d;
  nlohmann::json state;  // null: created on first use
  EXPECT_EQ(d.Observe(state, "到底什么时候发货"), 1);
  EXPECT_EQ(d.Observe(state, "会员积分怎么用"), 1);
  EXPECT_EQ(d.Observe(state, "好的"), 0);  // not a question, not remembered
  EXPECT_EQ(d.Observe(state, "怎么还不发货"), 2);
  EXPECT_EQ(d.Observe(state, "发货了吗？到底什么时候发货"), 3);
  EXPECT_EQ(state["questions"].size(), 4u);
  // The state survives a round trip through storage.
  nlohmann::json reloaded = nlohmann::json::parse(state.dump());
  EXPECT_EQ(d.Observe(reloaded, "积分怎么使用"), 2);
}

TEST(RepeatDetector, SayingItAsksAgainContinuesTheCount) {
  RepeatDetector d;
  nlohmann::json state;
  EXPECT_EQ(d.Observe(state, "薇诺娜付款两天了怎么还不发", "kb-ship-01"), 1);
  EXPECT_EQ(d.Observe(state, "我问的是到底哪天能到手", "order:where::"), 2);
  EXPECT_EQ(d.Observe(state, "我就想知道哪天能发出来 你给我个准话", "order:where::"), 3);
  // A state written before counts were kept is read as ones.
  nlohmann::json old = {{"questions", {"积分怎么用"}}, {"needs", {"kb-member-02"}}};
  EXPECT_EQ(d.Observe(old, "I asked about something else entirely"), 2);
  EXPECT_EQ(old["counts"].size(), 2u);
  // Without such words, different questions stay different.
  nlohmann::json fresh;
  EXPECT_EQ(d.Observe(fresh, "积分怎么用"), 1);
  EXPECT_EQ(d.Observe(fresh, "发票怎么开"), 1);
}

TEST(RepeatDetector, WindowForgetsOldQuestions) {
  RepeatDetector d(RepeatSettings{.window = 2, .threshold = 0.55});
  nlohmann::json state = "garbage";  // malformed state is replaced
  EXPECT_EQ(d.Observe(state, "什么时候发货"), 1);
  EXPECT_EQ(d.Observe(state, "怎么申请退款"), 1);
  EXPECT_EQ(d.Observe(state, "会员积分怎么用"), 1);
  EXPECT_EQ(d.Observe(state, "啥时候发货"), 1);  // the first one fell out of the window
  EXPECT_EQ(state["questions"].size(), 2u);
}

// ---- data-driven: precision/recall on public question-pair sets ----------

std::filesystem::path DataDir() {
  if (const char* env = std::getenv("KEFU_DATA")) return env;
  const char* src = std::getenv("KEFU_SOURCE_DIR");
  std::filesystem::path root = src ? src : KEFU_ROUTING_SOURCE_DIR;
  return root / ".." / "shared" / "data";
}

struct Pair {
  std::string a, b;
  bool same;
};

// Tab-separated rows; the last three columns are q1, q2, label.
std::vector<Pair> LoadPairs(const std::filesystem::path& path, size_t limit) {
  std::vector<Pair> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line) && out.size() < limit) {
    std::vector<std::string> cols;
    std::stringstream ss(line);
    std::string c;
    while (std::getline(ss, c, '\t')) cols.push_back(c);
    if (cols.size() < 3) continue;
    const std::string& label = cols[cols.size() - 1];
    if (label != "0" && label != "1") continue;  // header
    out.push_back({cols[cols.size() - 3], cols[cols.size() - 2], label == "1"});
  }
  return out;
}

struct Scores {
  double precision, recall;
};

Scores Evaluate(const std::vector<double>& sims, const std::vector<Pair>& pairs, double th) {
  size_t tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    bool pred = sims[i] >= th;
    tp += pred && pairs[i].same;
    fp += pred && !pairs[i].same;
    fn += !pred && pairs[i].same;
  }
  return {tp + fp ? double(tp) / double(tp + fp) : 0.0, tp + fn ? double(tp) / double(tp + fn) : 0.0};
}

Scores Report(const char* name, const std::vector<Pair>& pairs, double threshold) {
  RepeatDetector d;
  std::vector<double> sims;
  sims.reserve(pairs.size());
  for (const Pair& p : pairs) sims.push_back(d.Similarity(p.a, p.b));
  for (double th : {0.4, 0.5, 0.55, 0.6, 0.7, 0.8}) {
    Scores s = Evaluate(sims, pairs, th);
    std::printf("%s n=%zu threshold=%.2f precision=%.3f recall=%.3f\n", name, pairs.size(), th, s.precision, s.recall);
  }
  return Evaluate(sims, pairs, threshold);
}

TEST(RepeatDetectorData, LcqmcDevPrecisionRecall) {
  auto path = DataDir() / "matching" / "lcqmc" / "dev.txt";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "LCQMC dev not found at " << path << " (set KEFU_DATA)";
  auto pairs = LoadPairs(path, 100000);
  ASSERT_GT(pairs.size(), 8000u);
  Scores s = Report("lcqmc_dev", pairs, RepeatDetector().settings().threshold);
  // Measured 0.584 / 0.860 at 0.55 (docs/routing.md); a regression in the
  // normalisation shows up here.
  EXPECT_GE(s.precision, 0.57);
  EXPECT_GE(s.recall, 0.83);
}

TEST(RepeatDetectorData, AfqmcTuningSplit) {
  auto path = DataDir() / "matching" / "afqmc" / "atec_nlp_sim_train.csv";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "AFQMC not found at " << path << " (set KEFU_DATA)";
  auto pairs = LoadPairs(path, 20000);
  ASSERT_EQ(pairs.size(), 20000u);
  Scores s = Report("afqmc_first20k", pairs, RepeatDetector().settings().threshold);
  EXPECT_GE(s.precision, 0.45);
}

}  // namespace
}  // namespace kefu::routing
