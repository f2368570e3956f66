#include "nlu/neighbours.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>


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
    if (i > 0) {
      EXPECT_LT(v[i - 1].first, v[i].first);  // sorted rows, no repeats
    }
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

}  // namespace
}  // namespace kefu::nlu
