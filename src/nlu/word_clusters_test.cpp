#include "nlu/word_clusters.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nlu/classifier.h"
#include "nlu/linear.h"
#include "nlu/text_features.h"

namespace kefu::nlu {
namespace {

// Food words used interchangeably in one frame, vehicle words in another:
// skip-gram vectors put each group together, whatever the labels say.
std::vector<std::string> Corpus() {
  const std::vector<std::string> food = {"苹果", "香蕉", "西瓜", "葡萄"};
  const std::vector<std::string> vehicle = {"汽车", "火车", "飞机", "轮船"};
  const std::vector<std::string> eat = {"我想吃", "他喜欢吃", "妈妈买了", "今天吃了"};
  const std::vector<std::string> ride = {"我们坐", "他开着", "大家乘坐", "明天坐"};
  std::vector<std::string> texts;
  for (int rep = 0; rep < 40; ++rep) {
    for (size_t i = 0; i < 4; ++i) {
      for (size_t j = 0; j < 4; ++j) {
        texts.push_back(eat[(i + rep) % 4] + food[j] + "，很甜");
        texts.push_back(ride[(i + rep) % 4] + vehicle[j] + "去北京");
      }
    }
  }
  return texts;
}

ClusterOptions SmallClusters() {
  ClusterOptions o;
  o.clusters = 2;
  o.dim = 20;
  o.epoch = 50;  // a tiny corpus needs many passes
  o.min_count = 5;
  o.window = 2;
  return o;
}

TEST(WordClusters, GroupsWordsUsedAlikeAndRoundTrips) {
  if (!SegmenterAvailable()) GTEST_SKIP() << "jieba dictionary not found";
  auto wc = WordClusters::Train(Corpus(), SmallClusters());
  ASSERT_TRUE(wc.ok()) << wc.status().ToString();
  ASSERT_EQ(wc->clusters(), 2);
  const int food = wc->Find("苹果"), vehicle = wc->Find("汽车");
  ASSERT_GE(food, 0);
  ASSERT_GE(vehicle, 0);
  EXPECT_NE(food, vehicle);
  for (const char* w : {"香蕉", "西瓜", "葡萄"}) EXPECT_EQ(wc->Find(w), food) << w;
  for (const char* w : {"火车", "飞机", "轮船"}) EXPECT_EQ(wc->Find(w), vehicle) << w;
  EXPECT_EQ(wc->Find("从没见过的词"), -1);

  std::string bytes;
  wc->AppendTo(bytes);
  bytes += "rest";
  std::string_view in(bytes);
  auto back = WordClusters::Parse(in);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(in, "rest");  // Parse consumes exactly its block
  EXPECT_EQ(back->words(), wc->words());
  EXPECT_EQ(back->Find("飞机"), vehicle);

  // Same texts, same clusters (one skip-gram thread, fixed seeds).
  auto again = WordClusters::Train(Corpus(), SmallClusters());
  ASSERT_TRUE(again.ok());
  std::string bytes2;
  again->AppendTo(bytes2);
  EXPECT_EQ(bytes2 + "rest", bytes);
}

TEST(WordClusters, RefusesBadOptionsAndCorruptBytes) {
  if (!SegmenterAvailable()) GTEST_SKIP() << "jieba dictionary not found";
  ClusterOptions o = SmallClusters();
  o.clusters = 1;
  EXPECT_FALSE(WordClusters::Train(Corpus(), o).ok());
  o = SmallClusters();
  o.clusters = 500;  // more clusters than words
  auto few = WordClusters::Train(Corpus(), o);
  ASSERT_FALSE(few.ok());
  EXPECT_NE(few.status().message().find("too few"), std::string::npos) << few.status().message();

  auto wc = WordClusters::Train(Corpus(), SmallClusters());
  ASSERT_TRUE(wc.ok());
  std::string good;
  wc->AppendTo(good);
  auto parse = [](std::string bytes) {
    std::string_view in(bytes);
    return WordClusters::Parse(in).ok();
  };
  EXPECT_TRUE(parse(good));
  EXPECT_FALSE(parse(good.substr(0, good.size() - 1)));  // truncated
  EXPECT_FALSE(parse("XXXX" + good.substr(4)));          // magic
  std::string bad_id = good;
  bad_id[bad_id.size() - 1] = '\x7f';  // last id 0x7fxx >= 2 clusters
  EXPECT_FALSE(parse(bad_id));
  std::string unsorted = good;  // swap the first two keys
  std::swap_ranges(unsorted.begin() + 16, unsorted.begin() + 20, unsorted.begin() + 20);
  EXPECT_FALSE(parse(unsorted));
}

// The point of clusters: a word the labelled data never shows gets the
// polarity of the words it is used like.
TEST(WordClusters, CarryLabelsToWordsTheLabelledDataLacks) {
  if (!SegmenterAvailable()) GTEST_SKIP() << "jieba dictionary not found";
  std::vector<LabeledExample> labelled;
  for (int rep = 0; rep < 5; ++rep) {
    labelled.push_back({"苹果" + std::string(rep, '!'), "positive", 0});
    labelled.push_back({"汽车" + std::string(rep, '!'), "negative", 0});
  }
  TrainOptions o = DefaultTrainOptions(Task::kSentiment, "zh");
  o.min_count = 1;
  o.bits = 16;
  o.epoch = 20;
  o.self_train = 0;
  auto plain = Classifier::Train(Task::kSentiment, labelled, o, Corpus());
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_TRUE((*plain)->Predict("葡萄", 1).empty());  // no feature of 葡萄 is known

  o.clusters = 2;
  o.cluster_dim = 20;
  o.cluster_epoch = 50;
  auto with = Classifier::Train(Task::kSentiment, labelled, o, Corpus());
  ASSERT_TRUE(with.ok()) << with.status().ToString();
  EXPECT_EQ((*with)->Classify("葡萄").label, "positive");
  EXPECT_EQ((*with)->Classify("飞机").label, "negative");
  EXPECT_EQ((*with)->metadata()["word_clusters"].value("clusters", 0), 2);
  // The clusters travel inside the model file.
  auto loaded = Classifier::FromBytes((*with)->Serialize(), Task::kSentiment, "copy");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ((*loaded)->Classify("飞机").label, "negative");
  EXPECT_DOUBLE_EQ((*loaded)->Classify("葡萄").score, (*with)->Classify("葡萄").score);

  // Too little text for the clusters asked for: the model trains without
  // them and its header says why.
  o.clusters = 512;
  auto tiny = Classifier::Train(Task::kSentiment, labelled, o, {});
  ASSERT_TRUE(tiny.ok()) << tiny.status().ToString();
  EXPECT_NE((*tiny)->metadata()["word_clusters"].value("skipped", "").find("too few"), std::string::npos);
  EXPECT_TRUE((*tiny)->Predict("葡萄", 1).empty());

  // No word seen often enough at all (fastText would refuse the empty vocabulary).
  auto none = Classifier::Train(Task::kSentiment, {{"好", "positive", 0}, {"差", "negative", 0}}, o, {});
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_NE((*none)->metadata()["word_clusters"].value("skipped", "").find("only 0 words"), std::string::npos);

  // Cluster options need the linear kind and a sane k.
  o.clusters = 2;
  o.kind = "fasttext";
  EXPECT_FALSE(Classifier::Train(Task::kSentiment, labelled, o, {}).ok());
  o.kind = "linear";
  o.clusters = -1;
  EXPECT_FALSE(Classifier::Train(Task::kSentiment, labelled, o, {}).ok());
}

TEST(WordClusters, LinearPayloadWithClustersIsStrict) {
  if (!SegmenterAvailable()) GTEST_SKIP() << "jieba dictionary not found";
  auto wc = WordClusters::Train(Corpus(), SmallClusters());
  ASSERT_TRUE(wc.ok());
  auto shared = std::make_shared<const WordClusters>(std::move(wc).value());
  LinearOptions o;
  o.min_count = 1;
  o.bits = 16;
  o.clusters = 2;
  auto m = LinearModel::Train({"苹果", "汽车"}, {0, 1}, 2, o, {}, nullptr, shared);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->format_version(), 3u);
  const std::string bytes = m->Serialize();
  ASSERT_TRUE(LinearModel::Parse(bytes).ok());
  EXPECT_FALSE(LinearModel::Parse(bytes + "x").ok());                          // trailing byte
  EXPECT_FALSE(LinearModel::Parse(bytes.substr(0, bytes.size() - 1)).ok());  // truncated clusters
  // Options that ask for clusters must get that many.
  o.clusters = 3;
  EXPECT_FALSE(LinearModel::Train({"苹果", "汽车"}, {0, 1}, 2, o, {}, nullptr, shared).ok());
  o.clusters = 2;
  EXPECT_FALSE(LinearModel::Train({"苹果", "汽车"}, {0, 1}, 2, o).ok());
  // The compact version 4 carries the same cluster block at its end.
  {
    LinearOptions c = o;
    c.weight_bits = 4;
    c.scale_bits = 4;
    auto v4 = LinearModel::Train({"苹果", "汽车"}, {0, 1}, 2, c, {}, nullptr, shared);
    ASSERT_TRUE(v4.ok()) << v4.status().ToString();
    EXPECT_EQ(v4->format_version(), 4u);
    const std::string b4 = v4->Serialize();
    auto p4 = LinearModel::Parse(b4);
    ASSERT_TRUE(p4.ok()) << p4.status().ToString();
    ASSERT_NE(p4->clusters(), nullptr);
    EXPECT_EQ(p4->clusters()->words(), shared->words());
    EXPECT_EQ(p4->Probabilities("苹果"), v4->Probabilities("苹果"));
    EXPECT_EQ(p4->Serialize(), b4);
    EXPECT_FALSE(LinearModel::Parse(b4 + "x").ok());
    EXPECT_FALSE(LinearModel::Parse(b4.substr(0, b4.size() - 1)).ok());
  }
  // Without clusters the model stays version 2.
  o.clusters = 0;
  auto v2 = LinearModel::Train({"苹果", "汽车"}, {0, 1}, 2, o, {}, nullptr, shared);
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->format_version(), 2u);
  EXPECT_EQ(v2->clusters(), nullptr);
}

}  // namespace
}  // namespace kefu::nlu
