#include "nlu/neighbours.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "nlu/classifier.h"

namespace kefu::nlu {
namespace {

LinearOptions SmallEnglish() {
  LinearOptions o;
  o.word_ngrams = 2;
  o.minn = 3;
  o.maxn = 5;
  o.bits = 16;
  o.min_count = 1;
  return o;
}

const std::vector<std::string> kRefund = {"I want a refund", "refund my money please", "how do I get my money back"};
const std::vector<std::string> kTrack = {"where is my parcel", "track my package", "my delivery has not arrived"};

LinearModel TwoClassModel() {
  std::vector<std::string> texts = kRefund;
  texts.insert(texts.end(), kTrack.begin(), kTrack.end());
  std::vector<int> labels = {0, 0, 0, 1, 1, 1};
  auto m = LinearModel::Train(texts, labels, 2, SmallEnglish());
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return std::move(m).value();
}

double Cosine(const LinearModel& m, const std::string& a, const std::string& b) {
  LinearModel::SparseVector va, vb;
  m.Probabilities(a, &va);
  m.Probabilities(b, &vb);
  double dot = 0;
  for (auto [r, x] : va) {
    for (auto [s, y] : vb) dot += r == s ? static_cast<double>(x) * y : 0.0;
  }
  return dot;
}

TEST(ExampleNeighbours, MaxSimilarityIsTheNearestExampleOfTheClass) {
  const LinearModel m = TwoClassModel();
  LinearModel::SparseVector v;
  EXPECT_FALSE(m.Probabilities("refund my money please", &v).empty());
  ASSERT_FALSE(v.empty());
  double norm = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    norm += static_cast<double>(v[i].second) * v[i].second;
    if (i > 0) EXPECT_LT(v[i - 1].first, v[i].first);  // sorted rows, no repeats
  }
  EXPECT_NEAR(norm, 1.0, 1e-5);
  ExampleNeighbours n = ExampleNeighbours::Build(m, {"I want a refund", "how do I get my money back", "track my package"},
                                                 {0, 0, 1});
  // A training text is its own nearest example; another class's examples do not count.
  EXPECT_NEAR(n.MaxSimilarity(v, 0), Cosine(m, "refund my money please", "I want a refund") >
                                             Cosine(m, "refund my money please", "how do I get my money back")
                                         ? Cosine(m, "refund my money please", "I want a refund")
                                         : Cosine(m, "refund my money please", "how do I get my money back"),
              1e-6);
  EXPECT_NEAR(n.MaxSimilarity(v, 1), Cosine(m, "refund my money please", "track my package"), 1e-6);
  m.Probabilities("track my package", &v);
  EXPECT_NEAR(n.MaxSimilarity(v, 1), 1.0, 1e-5);
  EXPECT_LT(n.MaxSimilarity(v, 0), 0.5);
  // Nothing known, no class, a class without examples: 0.
  EXPECT_EQ(n.MaxSimilarity({}, 0), 0.0);
  EXPECT_EQ(n.MaxSimilarity(v, 5), 0.0);
  EXPECT_EQ(ExampleNeighbours::Build(m, {"track my package"}, {1}).MaxSimilarity(v, 0), 0.0);
}

TEST(ExampleNeighbours, RoundTripsAndRefusesCorruptBytes) {
  const LinearModel m = TwoClassModel();
  ExampleNeighbours n = ExampleNeighbours::Build(m, {"I want a refund", "track my package", "zzzz"}, {0, 1, 1});
  const std::string bytes = n.Serialize();
  auto back = ExampleNeighbours::Parse(bytes, m);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->size(), 3u);
  EXPECT_EQ(back->Serialize(), bytes);
  LinearModel::SparseVector v;
  m.Probabilities("where is my package", &v);
  EXPECT_EQ(back->MaxSimilarity(v, 1), n.MaxSimilarity(v, 1));
  EXPECT_FALSE(ExampleNeighbours::Parse(bytes.substr(0, bytes.size() - 1), m).ok());
  EXPECT_FALSE(ExampleNeighbours::Parse(bytes + "x", m).ok());
  EXPECT_FALSE(ExampleNeighbours::Parse("KNBR2" + bytes.substr(5), m).ok());
  std::string huge = bytes;
  huge[5] = '\xff';
  huge[8] = '\x7f';  // example count far beyond the bytes present
  EXPECT_FALSE(ExampleNeighbours::Parse(huge, m).ok());
  std::string bad_class = bytes;
  bad_class[9] = 7;  // first example's class: the model has 2
  auto refused = ExampleNeighbours::Parse(bad_class, m);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().ToString().find("class 7"), std::string::npos) << refused.status().ToString();
}

std::vector<LabeledExample> IntentSet() {
  std::vector<LabeledExample> ex;
  const char* refund[] = {"I want a refund", "refund my money please", "how do I get my money back",
                          "please refund the order", "request a refund"};
  const char* track[] = {"where is my parcel", "track my package", "my delivery has not arrived",
                         "when will the parcel arrive", "tracking number for my order"};
  const char* oos[] = {"what is the weather today", "tell me a joke", "who won the football match",
                       "play some music", "how tall is mount everest"};
  for (int rep = 0; rep < 4; ++rep) {
    for (auto* t : refund) ex.push_back({std::string(t) + std::string(rep, '?'), "refund", 0});
    for (auto* t : track) ex.push_back({std::string(t) + std::string(rep, '?'), "track", 0});
    for (auto* t : oos) ex.push_back({std::string(t) + std::string(rep, '?'), "oos", 0});
  }
  return ex;
}

TEST(ExampleNeighbours, IntentModelWithNearestExampleScore) {
  TrainOptions o = DefaultTrainOptions(Task::kIntent, "en");
  o.bits = 16;
  o.clusters = 0;
  o.oos_score = "log_odds_knn";
  o.knn_weight = 0;
  auto zero = Classifier::Train(Task::kIntent, IntentSet(), o);
  ASSERT_TRUE(zero.ok()) << zero.status().ToString();
  o.oos_score = "log_odds_oos";
  auto plain = Classifier::Train(Task::kIntent, IntentSet(), o);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  o.oos_score = "log_odds_knn";
  o.knn_weight = 5;
  auto knn = Classifier::Train(Task::kIntent, IntentSet(), o);
  ASSERT_TRUE(knn.ok()) << knn.status().ToString();
  EXPECT_EQ((*knn)->oos_score(), "log_odds_knn");
  EXPECT_EQ((*knn)->metadata()["knn_weight"], 5.0);
  EXPECT_GT((*knn)->metadata()["neighbour_bytes"].get<size_t>(), 0u);
  // Weight 0 is the log-odds score: same threshold, same decisions.
  EXPECT_DOUBLE_EQ((*zero)->oos_threshold(), (*plain)->oos_threshold());
  const char* probes[] = {"refunds please",       "what is the weather", "parcel refund", "joke",
                          "track music",          "I want a refund",     "where is my parcel??",
                          "refund football match"};
  for (const char* t : probes) EXPECT_EQ((*zero)->Classify(t).label, (*plain)->Classify(t).label) << t;
  // A training phrasing scores its log-odds + 5 (similarity 1 to itself):
  // with the threshold just under that, the plain model rejects it and the
  // nearest-example score keeps it (the linear parts are the same model).
  auto with_threshold = [](const Classifier& c, double t) {
    std::string b = c.Serialize();
    const size_t at = b.find("\"oos_threshold\":");
    const size_t end = b.find_first_of(",}", at);
    b.replace(at, end - at, fmt::format("\"oos_threshold\":{}", t));
    auto m = Classifier::FromBytes(b, Task::kIntent, "threshold");
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return std::move(m).value();
  };
  for (const char* t : {"I want a refund", "track my package"}) {
    auto all = (*plain)->Predict(t, 0);
    double p_oos = 0;
    for (const auto& p : all) p_oos = p.label == "oos" ? p.score : p_oos;
    ASSERT_NE(all[0].label, "oos") << t;
    const double log_odds = std::log(all[0].score) - std::log(p_oos);
    EXPECT_EQ(with_threshold(**plain, log_odds + 4.9)->Classify(t).label, "oos") << t;
    EXPECT_EQ(with_threshold(**knn, log_odds + 4.9)->Classify(t).label, all[0].label) << t;
    EXPECT_EQ(with_threshold(**knn, log_odds + 5.1)->Classify(t).label, "oos") << t;
  }
  // The file carries the examples: a reloaded model decides the same.
  const std::string bytes = (*knn)->Serialize();
  auto back = Classifier::FromBytes(bytes, Task::kIntent, "knn");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  for (const char* t : probes) EXPECT_EQ((*back)->Classify(t).label, (*knn)->Classify(t).label) << t;
  // Headers that disagree with the payload are refused, never loaded half-way.
  auto with = [&](const std::string& from, const std::string& to) {
    std::string b = bytes;
    const size_t at = b.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) b.replace(at, from.size(), to);
    return Classifier::FromBytes(b, Task::kIntent, "x");
  };
  const std::string nb = fmt::format("\"neighbour_bytes\":{}", (*knn)->metadata()["neighbour_bytes"].get<size_t>());
  EXPECT_FALSE(with(nb, "\"neighbour_bytez\":0").ok());
  EXPECT_FALSE(with(nb, "\"neighbour_bytes\":1").ok());
  EXPECT_FALSE(with(nb, "\"neighbour_bytes\":99999999").ok());
  auto no_score = with("\"oos_score\":\"log_odds_knn\"", "\"oos_score\":\"log_odds_oos\"");
  ASSERT_FALSE(no_score.ok());
  EXPECT_NE(no_score.status().ToString().find("nearest examples"), std::string::npos) << no_score.status().ToString();
  o.knn_weight = -1;
  EXPECT_FALSE(Classifier::Train(Task::kIntent, IntentSet(), o).ok());
}

}  // namespace
}  // namespace kefu::nlu
