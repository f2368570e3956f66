#include "nlu/linear.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "common/status.h"
#include "nlu/classifier.h"
#include "nlu/text_features.h"

namespace kefu::nlu {
namespace {

std::vector<LabeledExample> Toy() {
  std::vector<LabeledExample> ex;
  const char* pos[] = {"质量很好，非常满意", "物流很快，好评", "东西不错，下次还来买", "很喜欢，推荐购买", "性价比高，满意"};
  const char* neg[] = {"质量太差了，退货", "物流慢死了，差评", "东西坏了，很失望", "不推荐，垃圾", "客服态度差，不满意"};
  for (int rep = 0; rep < 4; ++rep) {
    for (auto* t : pos) ex.push_back({std::string(t) + std::string(rep, '!'), "positive", 0});
    for (auto* t : neg) ex.push_back({std::string(t) + std::string(rep, '!'), "negative", 0});
  }
  return ex;
}

TrainOptions Linear() {
  TrainOptions o = DefaultTrainOptions(Task::kSentiment, "zh");
  o.kind = "linear";
  o.min_count = 1;
  o.bits = 16;
  o.epoch = 20;
  // The tests below pin format version 2 (the compact version 4 has its own test).
  o.weight_bits = 0;
  o.scale_bits = 8;
  return o;
}

TEST(LinearModel, LearnsTinySetAndRoundTrips) {
  auto m = Classifier::Train(Task::kSentiment, Toy(), Linear());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)->metadata().value("kind", ""), "linear");
  for (const auto& ex : Toy()) EXPECT_EQ((*m)->Classify(ex.text).label, ex.label) << ex.text;
  EXPECT_EQ((*m)->Classify("太差了，差评").label, "negative");
  EXPECT_EQ((*m)->Classify("非常满意").label, "positive");
  auto loaded = Classifier::FromBytes((*m)->Serialize(), Task::kSentiment, "copy");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  for (const char* t : {"质量很差", "非常满意", "物流"}) {
    auto a = (*m)->Predict(t, 0), b = (*loaded)->Predict(t, 0);
    ASSERT_EQ(a.size(), 2u);
    ASSERT_EQ(b.size(), 2u);
    EXPECT_EQ(a[0].label, b[0].label);
    EXPECT_DOUBLE_EQ(a[0].score, b[0].score);
    EXPECT_NEAR(a[0].score + a[1].score, 1.0, 1e-5);
  }
  // Text without any known feature: no prediction.
  EXPECT_TRUE((*m)->Predict("zzzz", 1).empty());
  EXPECT_EQ((*m)->Classify("").label, "");
}

// A model that knows "，" and "!" from its Chinese examples must not read an
// English sentence through its punctuation alone.
TEST(LinearModel, PunctuationAloneIsNoKnownFeature) {
  auto m = Classifier::Train(Task::kSentiment, Toy(), Linear());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE((*m)->Predict("THIS IS UNACCEPTABLE, I WANT IT NOW!!", 1).empty());
  EXPECT_TRUE((*m)->Predict("，!!", 1).empty());
  EXPECT_EQ((*m)->Classify("差评，!!").label, "negative");  // one known word is enough
  EXPECT_TRUE(IsPunctuationToken(","));
  EXPECT_TRUE(IsPunctuationToken("。"));
  EXPECT_TRUE(IsPunctuationToken("…"));
  EXPECT_FALSE(IsPunctuationToken("👍"));  // emoji carry sentiment
  EXPECT_FALSE(IsPunctuationToken("好"));
  EXPECT_FALSE(IsPunctuationToken("ok"));
}

TEST(LinearModel, UnroundedWeightsPredictAliveAndSaveAsRounded) {
  std::vector<std::string> texts;
  std::vector<int> labels;
  for (const auto& e : Toy()) {
    texts.push_back(e.text);
    labels.push_back(e.label == "positive" ? 0 : 1);
  }
  LinearOptions o;
  o.min_count = 1;
  o.bits = 16;
  o.epoch = 20;
  auto rounded = LinearModel::Train(texts, labels, 2, o);
  o.quantize = false;
  auto exact = LinearModel::Train(texts, labels, 2, o);
  ASSERT_TRUE(rounded.ok() && exact.ok());
  // The same training, kept in floats: the same answers, nearly the same probabilities.
  for (const char* t : {"质量很好", "差评 退货", "物流很快"}) {
    const auto a = rounded->Probabilities(t), b = exact->Probabilities(t);
    ASSERT_EQ(a.size(), 2u);
    ASSERT_EQ(b.size(), 2u);
    EXPECT_EQ(a[0] > a[1], b[0] > b[1]) << t;
    EXPECT_NEAR(a[0], b[0], 0.05) << t;
  }
  // Saved, it is the rounded model byte for byte, and loads back.
  EXPECT_EQ(exact->Serialize(), rounded->Serialize());
  auto back = LinearModel::Parse(exact->Serialize());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->Probabilities("质量很好"), rounded->Probabilities("质量很好"));
}

TEST(LinearModel, ExampleWeightsScaleWhatATextCounts) {
  LinearOptions o;
  o.min_count = 1;
  o.bits = 16;
  o.epoch = 20;
  o.lr = 0.2;
  o.weighting = "nb";
  // The same texts with opposite labels: the heavier side wins.
  std::vector<std::string> texts;
  std::vector<int> labels;
  for (int i = 0; i < 6; ++i) {
    texts.push_back("还行吧");
    labels.push_back(0);
    texts.push_back("还行吧");
    labels.push_back(1);
  }
  std::vector<float> w;
  for (int i = 0; i < 6; ++i) w.insert(w.end(), {1.0f, 0.2f});
  auto heavy0 = LinearModel::Train(texts, labels, 2, o, w);
  ASSERT_TRUE(heavy0.ok()) << heavy0.status().ToString();
  auto p = heavy0->Probabilities("还行吧");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_GT(p[0], 0.6f);
  for (size_t i = 0; i < w.size(); ++i) w[i] = i % 2 == 0 ? 0.2f : 1.0f;
  auto heavy1 = LinearModel::Train(texts, labels, 2, o, w);
  ASSERT_TRUE(heavy1.ok());
  EXPECT_GT(heavy1->Probabilities("还行吧")[1], 0.6f);

  EXPECT_FALSE(LinearModel::Train(texts, labels, 2, o, std::vector<float>(3, 1.0f)).ok());  // length
  std::vector<float> bad(texts.size(), 1.0f);
  bad[4] = 0;
  EXPECT_FALSE(LinearModel::Train(texts, labels, 2, o, bad).ok());
  bad[4] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(LinearModel::Train(texts, labels, 2, o, bad).ok());
}

TEST(LinearModel, RefusesCorruptOrForeignModels) {
  auto m = Classifier::Train(Task::kSentiment, Toy(), Linear());
  ASSERT_TRUE(m.ok());
  const std::string bytes = (*m)->Serialize();
  EXPECT_FALSE(Classifier::FromBytes(bytes, Task::kIntent, "x").ok());
  std::string flipped = bytes;
  flipped[flipped.size() - 3] ^= 0x40;
  auto bad = Classifier::FromBytes(flipped, Task::kSentiment, "x");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().ToString().find("checksum"), std::string::npos);
  EXPECT_FALSE(Classifier::FromBytes(bytes.substr(0, bytes.size() - 10), Task::kSentiment, "x").ok());
  // The payload parser itself refuses truncation and garbage even with a valid checksum.
  auto lin = LinearModel::Parse("KLIN");
  EXPECT_FALSE(lin.ok());
  const size_t payload_at = bytes.find('\n', bytes.find('\n') + 1) + 1;
  const std::string payload = bytes.substr(payload_at);
  EXPECT_TRUE(LinearModel::Parse(payload).ok());
  EXPECT_FALSE(LinearModel::Parse(payload.substr(0, payload.size() - 2)).ok());
  EXPECT_FALSE(LinearModel::Parse("XLIN" + payload.substr(4)).ok());
}

// The payload of a .kmodel file (after the magic line and the JSON header line).
std::string PayloadOf(const std::string& bytes) { return bytes.substr(bytes.find('\n', bytes.find('\n') + 1) + 1); }

TEST(LinearModel, Version2PayloadIsStrict) {
  auto m = Classifier::Train(Task::kSentiment, Toy(), Linear());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const std::string payload = PayloadOf((*m)->Serialize());
  auto lin = LinearModel::Parse(payload);
  ASSERT_TRUE(lin.ok()) << lin.status().ToString();
  EXPECT_EQ(lin->format_version(), 2u);
  EXPECT_EQ(lin->Serialize(), payload);
  // Version 2 stores one byte per scale and per weight (plus ~1 byte per bucket)
  // and two 256-entry float codebooks: below version 1's 8 + 2 * classes bytes per row.
  EXPECT_LT(payload.size() - 2 * 256 * 4, lin->rows() * (8 + 2 * 2));
  // Every truncation is refused, and so are trailing bytes.
  for (size_t cut = 0; cut < payload.size(); cut += std::max<size_t>(1, payload.size() / 97)) {
    EXPECT_FALSE(LinearModel::Parse(payload.substr(0, cut)).ok()) << cut;
  }
  EXPECT_FALSE(LinearModel::Parse(payload + "x").ok());
  // Huge class or row counts are refused before anything is allocated.
  {
    uint32_t opts = 0;
    std::memcpy(&opts, payload.data() + 8, 4);
    std::string big_classes = payload, big_rows = payload;
    const uint32_t classes = 90000;
    std::memcpy(&big_classes[12 + opts], &classes, 4);
    EXPECT_FALSE(LinearModel::Parse(big_classes).ok());
    const uint64_t rows = 1ULL << 30;
    std::memcpy(&big_rows[12 + opts + 4], &rows, 8);
    EXPECT_FALSE(LinearModel::Parse(big_rows).ok());
  }
  // An unknown version is refused.
  std::string v9 = payload;
  v9[4] = 9;
  EXPECT_FALSE(LinearModel::Parse(v9).ok());
  // A zero bucket gap (a duplicate bucket) is refused: find the gap block
  // after the header, the biases and both codebooks.
  uint32_t opts_len = 0;
  std::memcpy(&opts_len, payload.data() + 8, 4);
  const size_t gaps_at = 12 + opts_len + 4 + 8 + 2 * 4 + 2 * 256 * 4 + 8;
  ASSERT_LT(gaps_at + 2, payload.size());
  std::string dup = payload;
  size_t second = gaps_at;
  while (static_cast<unsigned char>(dup[second]) & 0x80) ++second;
  ++second;  // first byte of the second gap
  if (!(static_cast<unsigned char>(dup[second]) & 0x80)) {
    dup[second] = 0;
    auto r = LinearModel::Parse(dup);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().ToString().find("bucket"), std::string::npos) << r.status().ToString();
  }
  // A non-finite codebook entry is refused.
  std::string nan = payload;
  const float bad = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(&nan[12 + opts_len + 4 + 8 + 2 * 4 + 256 * 4 + 100 * 4], &bad, 4);
  EXPECT_FALSE(LinearModel::Parse(nan).ok());
}

TEST(LinearModel, PrunedRowsKeepTheirScaleButStoreNoWeights) {
  auto full = Classifier::Train(Task::kSentiment, Toy(), Linear());
  TrainOptions o = Linear();
  o.prune = 0.3;
  auto pruned = Classifier::Train(Task::kSentiment, Toy(), o);
  ASSERT_TRUE(full.ok() && pruned.ok());
  const std::string a = PayloadOf((*full)->Serialize()), b = PayloadOf((*pruned)->Serialize());
  auto la = LinearModel::Parse(a), lb = LinearModel::Parse(b);
  ASSERT_TRUE(la.ok() && lb.ok()) << lb.status().ToString();
  EXPECT_EQ(la->rows(), lb->rows());  // same buckets: pruned rows still count in the norm
  EXPECT_LT(b.size(), a.size());
  EXPECT_EQ(lb->Serialize(), b);
  for (const auto& ex : Toy()) EXPECT_EQ((*pruned)->Classify(ex.text).label, ex.label) << ex.text;
  auto reloaded = Classifier::FromBytes((*pruned)->Serialize(), Task::kSentiment, "copy");
  ASSERT_TRUE(reloaded.ok());
  for (const char* t : {"质量很差", "非常满意", "物流"}) {
    EXPECT_DOUBLE_EQ((*pruned)->Predict(t, 1)[0].score, (*reloaded)->Predict(t, 1)[0].score);
  }
  // Clearing a bitmap bit leaves weight codes over: refused.
  uint32_t opts_len = 0;
  std::memcpy(&opts_len, b.data() + 8, 4);
  size_t at = 12 + opts_len + 4 + 8 + 2 * 4 + 2 * 256 * 4;
  uint64_t gap_bytes = 0;
  std::memcpy(&gap_bytes, b.data() + at, 8);
  at += 8 + gap_bytes + lb->rows();  // the bitmap
  std::string cleared = b;
  size_t byte = at;
  while (cleared[byte] == 0) ++byte;
  cleared[byte] = static_cast<char>(cleared[byte] & (cleared[byte] - 1));  // drop the lowest set bit
  EXPECT_FALSE(LinearModel::Parse(cleared).ok());
}

// Version 4 (weight_bits > 0): C - 1 scaled weight differences per row as
// short codes, bit-packed scales, Rice-coded buckets.
TEST(LinearModel, CompactVersion4RoundTripsAndIsStrict) {
  TrainOptions o = Linear();
  o.weight_bits = 4;
  o.scale_bits = 4;
  o.prune = 0.1;
  std::vector<LabeledExample> three = Toy();
  for (const char* t : {"在吗", "请问什么时候发货", "怎么开发票", "运费怎么算", "可以改地址吗"}) {
    for (int rep = 0; rep < 3; ++rep) three.push_back({std::string(t) + std::string(rep, '?'), "neutral", 0});
  }
  auto m = Classifier::Train(Task::kSentiment, three, o);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  for (const auto& ex : three) EXPECT_EQ((*m)->Classify(ex.text).label, ex.label) << ex.text;
  const std::string payload = PayloadOf((*m)->Serialize());
  auto lin = LinearModel::Parse(payload);
  ASSERT_TRUE(lin.ok()) << lin.status().ToString();
  EXPECT_EQ(lin->format_version(), 4u);
  EXPECT_EQ(lin->options().weight_bits, 4);
  EXPECT_EQ(lin->options().scale_bits, 4);
  EXPECT_EQ(lin->Serialize(), payload);  // written back byte for byte
  // The freshly trained model predicts exactly like its reloaded copy.
  auto reloaded = Classifier::FromBytes((*m)->Serialize(), Task::kSentiment, "copy");
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().ToString();
  for (const char* t : {"质量很差", "非常满意", "物流", "在吗", "请问运费"}) {
    auto a = (*m)->Predict(t, 0), b = (*reloaded)->Predict(t, 0);
    ASSERT_EQ(a.size(), 3u) << t;
    ASSERT_EQ(b.size(), 3u) << t;
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(a[i].label, b[i].label);
      EXPECT_EQ(a[i].score, b[i].score);
    }
  }
  // Smaller than the same model in version 2.
  TrainOptions o2 = o;
  o2.weight_bits = 0;
  o2.scale_bits = 8;
  auto v2 = Classifier::Train(Task::kSentiment, three, o2);
  ASSERT_TRUE(v2.ok());
  const std::string payload2 = PayloadOf((*v2)->Serialize());
  EXPECT_EQ(LinearModel::Parse(payload2)->format_version(), 2u);
  EXPECT_EQ(LinearModel::Parse(payload2)->rows(), lin->rows());
  EXPECT_LT(payload.size() + 2 * 256 * 4 - 2 * 16 * 4, payload2.size());
  // With 8-bit codes the class differences lose nothing the softmax sees:
  // probabilities within 8-bit rounding of version 2's.
  TrainOptions o8 = o2;
  o8.weight_bits = 8;
  o8.scale_bits = 8;
  auto v4_8 = Classifier::Train(Task::kSentiment, three, o8);
  ASSERT_TRUE(v4_8.ok());
  for (const char* t : {"质量很差", "非常满意", "在吗"}) {
    auto a = (*v2)->Predict(t, 0), b = (*v4_8)->Predict(t, 0);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(a[0].label, b[0].label) << t;
    EXPECT_NEAR(a[0].score, b[0].score, 0.02) << t;
  }
  // Every truncation is refused, and so are trailing bytes and an unknown version.
  for (size_t cut = 0; cut < payload.size(); cut += std::max<size_t>(1, payload.size() / 97)) {
    EXPECT_FALSE(LinearModel::Parse(payload.substr(0, cut)).ok()) << cut;
  }
  EXPECT_FALSE(LinearModel::Parse(payload + std::string(1, '\0')).ok());
  EXPECT_FALSE(LinearModel::Parse(payload + "x").ok());
  // Layout: magic, version, options, classes, rows, biases, reference class, codebooks.
  uint32_t opts_len = 0;
  std::memcpy(&opts_len, payload.data() + 8, 4);
  const size_t classes_at = 12 + opts_len, rows_at = classes_at + 4, bias_at = rows_at + 8;
  const size_t ref_at = bias_at + 3 * 4, scale_book_at = ref_at + 4, weight_book_at = scale_book_at + 16 * 4;
  const size_t k_at = weight_book_at + 16 * 4, bucket_bytes_at = k_at + 1, buckets_at = bucket_bytes_at + 8;
  {
    std::string bad = payload;
    const uint32_t ref = 3;
    std::memcpy(&bad[ref_at], &ref, 4);
    EXPECT_FALSE(LinearModel::Parse(bad).ok());  // reference class out of range
  }
  {
    std::string bad = payload;
    const uint64_t rows = 1ULL << 30;
    std::memcpy(&bad[rows_at], &rows, 8);
    EXPECT_FALSE(LinearModel::Parse(bad).ok());  // refused before allocating
  }
  {
    std::string bad = payload;
    const float zero = 0;
    std::memcpy(&bad[scale_book_at], &zero, 4);
    EXPECT_FALSE(LinearModel::Parse(bad).ok());  // a scale must be positive
    std::string nan = payload;
    const float q = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(&nan[weight_book_at + 5 * 4], &q, 4);
    EXPECT_FALSE(LinearModel::Parse(nan).ok());
  }
  {
    std::string bad = payload;
    bad[k_at] = 31;
    EXPECT_FALSE(LinearModel::Parse(bad).ok());
  }
  {
    // One more bucket byte than the bits need: refused.
    uint64_t bucket_bytes = 0;
    std::memcpy(&bucket_bytes, payload.data() + bucket_bytes_at, 8);
    ASSERT_LT(buckets_at + bucket_bytes, payload.size());
    std::string bad = payload;
    const uint64_t more = bucket_bytes + 1;
    std::memcpy(&bad[bucket_bytes_at], &more, 8);
    EXPECT_FALSE(LinearModel::Parse(bad).ok());
  }
  // The option and the version must agree.
  std::string v2tag = payload;
  v2tag[4] = 2;
  EXPECT_FALSE(LinearModel::Parse(v2tag).ok());
  // Options round-trip, and are absent (version 2) by default.
  LinearOptions lo;
  EXPECT_FALSE(lo.ToJson().contains("weight_bits"));
  lo.weight_bits = 5;
  lo.scale_bits = 3;
  auto back = LinearOptions::FromJson(lo.ToJson());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->weight_bits, 5);
  EXPECT_EQ(back->scale_bits, 3);
  auto j = lo.ToJson();
  j["weight_bits"] = 9;
  EXPECT_FALSE(LinearOptions::FromJson(j).ok());
}

// The sentiment defaults drop features seen in fewer than 4 texts, but a
// small (tenant) training set keeps min_count 2.
TEST(LinearModel, SmallTrainingSetsKeepMinCount2) {
  TrainOptions o = DefaultTrainOptions(Task::kSentiment, "zh");
  EXPECT_EQ(o.min_count, 4);
  EXPECT_EQ(o.weight_bits, 6);
  auto small = Classifier::Train(Task::kSentiment, Toy(), o);  // 40 texts
  ASSERT_TRUE(small.ok()) << small.status().ToString();
  auto lin = LinearModel::Parse(PayloadOf((*small)->Serialize()));
  ASSERT_TRUE(lin.ok()) << lin.status().ToString();
  EXPECT_EQ(lin->options().min_count, 2);
  EXPECT_EQ(lin->format_version(), 4u);
  o.small_set = 40;  // 40 texts are no longer "small"
  auto large = Classifier::Train(Task::kSentiment, Toy(), o);
  ASSERT_TRUE(large.ok()) << large.status().ToString();
  EXPECT_EQ(LinearModel::Parse(PayloadOf((*large)->Serialize()))->options().min_count, 4);
}

TEST(LinearModel, Version1FilesStillLoad) {
  // Written by the version-1 code (bfloat16 weights) from a 60-row toy set;
  // the expected probabilities were printed by `kefu nlu predict` at the time.
  auto bytes = ReadFile(std::string(KEFU_NLU_TESTDATA) + "/sentiment_linear_v1.kmodel");
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto m = Classifier::FromBytes(*bytes, Task::kSentiment, "v1");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto p = (*m)->Predict("太差了，差评", 1);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].label, "negative");
  EXPECT_NEAR(p[0].score, 0.9400938749, 1e-6);
  EXPECT_EQ((*m)->Classify("非常满意").label, "positive");
  EXPECT_NEAR((*m)->Classify("非常满意").score, 0.8244782686, 1e-6);
  EXPECT_EQ((*m)->Classify("在吗").label, "neutral");
  const std::string payload = PayloadOf(*bytes);
  auto lin = LinearModel::Parse(payload);
  ASSERT_TRUE(lin.ok());
  EXPECT_EQ(lin->format_version(), 1u);
  EXPECT_EQ(lin->Serialize(), payload);  // written back unchanged
  EXPECT_FALSE(LinearModel::Parse(payload.substr(0, payload.size() - 1)).ok());
  std::string flipped = *bytes;
  flipped[flipped.size() - 5] ^= 0x10;
  EXPECT_FALSE(Classifier::FromBytes(flipped, Task::kSentiment, "v1").ok());
}

// Two English intents and out-of-scope questions, each phrasing four times
// with 0-3 question marks.
std::vector<LabeledExample> EnglishIntents() {
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

TEST(LinearModel, EnglishFeaturesAndIntentRejection) {
  const std::vector<LabeledExample> ex = EnglishIntents();
  TrainOptions o = DefaultTrainOptions(Task::kIntent, "en");
  o.kind = "linear";
  o.min_count = 1;
  o.bits = 16;
  o.calibration_folds = 3;
  // English default: the threshold applies to log p(top) - log p(oos) plus
  // 10 x the similarity to the top class's nearest example (neighbours_test.cpp);
  // the other scores stay available.
  EXPECT_EQ(o.oos_score, "log_odds_knn");
  EXPECT_EQ(o.knn_weight, 10);
  o.oos_score = "log_odds_oos";
  auto m = Classifier::Train(Task::kIntent, ex, o);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)->Classify("refunds please").label, "refund");  // sub-word n-grams
  EXPECT_EQ((*m)->Classify("tracking my parcel").label, "track");
  EXPECT_GT((*m)->metadata()["calibration_oos_examples"].get<int>(), 0);
  EXPECT_EQ((*m)->oos_score(), "log_odds_oos");
  o.oos_score = "top_minus_oos";
  auto minus = Classifier::Train(Task::kIntent, ex, o);
  ASSERT_TRUE(minus.ok()) << minus.status().ToString();
  EXPECT_EQ((*minus)->oos_score(), "top_minus_oos");
  EXPECT_GE((*minus)->oos_threshold(), 0.0);
  EXPECT_LE((*minus)->oos_threshold(), 1.0);
  o.oos_score = "top_minus_xyz";
  EXPECT_FALSE(Classifier::Train(Task::kIntent, ex, o).ok());
  for (const Classifier* c : {m->get(), minus->get()}) {
    for (const char* t : {"refunds please", "what is the weather", "parcel refund", "joke", "track music"}) {
      auto all = c->Predict(t, 0);
      ASSERT_FALSE(all.empty()) << t;
      double p_oos = 0;
      for (const auto& p : all) p_oos = p.label == "oos" ? p.score : p_oos;
      const double score = c->oos_score() == "log_odds_oos" ? std::log(all[0].score) - std::log(p_oos)
                                                            : all[0].score - p_oos;
      const bool reject = all[0].label == "oos" || score < c->oos_threshold();
      EXPECT_EQ(c->Classify(t).label, reject ? "oos" : all[0].label) << c->oos_score() << ": " << t;
    }
  }
  // A header naming an unknown rejection score is refused; one without the key
  // (files written before it) means the top probability.
  std::string bytes = (*m)->Serialize();
  const std::string key = "\"oos_score\":\"log_odds_oos\"";
  const size_t at = bytes.find(key);
  ASSERT_NE(at, std::string::npos);
  std::string bogus = bytes;
  bogus.replace(at, key.size(), "\"oos_score\":\"top_minus_xyz\"");
  auto refused = Classifier::FromBytes(bogus, Task::kIntent, "x");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().ToString().find("oos_score"), std::string::npos) << refused.status().ToString();
  std::string old_header = bytes;
  old_header.replace(at, key.size(), "\"oos_scorx\":\"log_odds_oos\"");
  auto old = Classifier::FromBytes(old_header, Task::kIntent, "x");
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ((*old)->oos_score(), "top");
}

TEST(LinearModel, IntentRejectionWithNearestExampleScore) {
  TrainOptions o = DefaultTrainOptions(Task::kIntent, "en");
  o.bits = 16;
  o.clusters = 0;
  o.oos_score = "log_odds_knn";
  o.knn_weight = 0;
  auto zero = Classifier::Train(Task::kIntent, EnglishIntents(), o);
  ASSERT_TRUE(zero.ok()) << zero.status().ToString();
  o.oos_score = "log_odds_oos";
  auto plain = Classifier::Train(Task::kIntent, EnglishIntents(), o);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  o.oos_score = "log_odds_knn";
  o.knn_weight = 5;
  auto knn = Classifier::Train(Task::kIntent, EnglishIntents(), o);
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
  EXPECT_FALSE(Classifier::Train(Task::kIntent, EnglishIntents(), o).ok());
}

TEST(LinearModel, FeatureBuckets) {
  LinearOptions o;
  o.word_ngrams = 2;
  o.bits = 20;
  auto a = LinearFeatureBuckets("好评", o);
  EXPECT_EQ(a.size(), 3u);  // 好, 评, 好评
  EXPECT_EQ(a, LinearFeatureBuckets("好评", o));
  for (uint32_t b : a) EXPECT_LT(b, 1u << 20);
  o.minn = 3;
  o.maxn = 3;
  // "<ab>" gives "<ab" and "ab>" on top of the word itself.
  EXPECT_EQ(LinearFeatureBuckets("ab", o).size(), 3u);
  EXPECT_TRUE(LinearFeatureBuckets("", o).empty());
}

TEST(OosThreshold, LowestThresholdReachingTheRecall) {
  // Four oos examples: one already predicted oos, others with scores 0.3, 0.5, 0.9.
  std::vector<std::pair<double, bool>> s = {{0.8, true}, {0.3, false}, {0.5, false}, {0.9, false}};
  EXPECT_DOUBLE_EQ(ThresholdForOosRecall(s, 0.25), 0.0);
  EXPECT_DOUBLE_EQ(ThresholdForOosRecall(s, 0.5), 0.31);
  EXPECT_DOUBLE_EQ(ThresholdForOosRecall(s, 0.75), 0.51);
  EXPECT_DOUBLE_EQ(ThresholdForOosRecall(s, 1.0), 0.91);
  EXPECT_DOUBLE_EQ(ThresholdForOosRecall({}, 0.8), 0.0);
  // Log-odds scores are unbounded: the grid (still in steps of 0.01) widens to them.
  std::vector<std::pair<double, bool>> lo = {{5.0, true}, {-1.5, false}, {2.0, false}, {7.3, false}};
  EXPECT_DOUBLE_EQ(ThresholdForOosRecall(lo, 0.25), -1.5);
  EXPECT_DOUBLE_EQ(ThresholdForOosRecall(lo, 0.5), -1.49);
  EXPECT_DOUBLE_EQ(ThresholdForOosRecall(lo, 0.75), 2.01);
  EXPECT_DOUBLE_EQ(ThresholdForOosRecall(lo, 1.0), 7.31);
}

}  // namespace
}  // namespace kefu::nlu
