#include "nlu/classifier.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace kefu::nlu {
namespace {

std::vector<LabeledExample> ToyIntents() {
  std::vector<LabeledExample> ex;
  const char* refund[] = {"我要退款", "退款怎么还没到", "申请退款", "钱什么时候退回来", "退钱"};
  const char* logistics[] = {"快递到哪了", "物流怎么不动了", "包裹什么时候到", "查一下快递", "发货了吗"};
  const char* oos[] = {"今天天气怎么样", "给我讲个笑话", "股票会涨吗", "你喜欢什么电影", "火星有多远"};
  for (int rep = 0; rep < 6; ++rep) {
    for (auto* t : refund) ex.push_back({std::string(t) + std::string(rep, '.'), "refund", 0});
    for (auto* t : logistics) ex.push_back({std::string(t) + std::string(rep, '.'), "logistics", 0});
    for (auto* t : oos) ex.push_back({std::string(t) + std::string(rep, '.'), "oos", 0});
  }
  return ex;
}

class ClassifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("kefu_nlu_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const char* name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

// fastText kind (the linear kind has its own tests in linear_test.cpp).
TrainOptions Small() {
  TrainOptions o = DefaultTrainOptions(Task::kIntent, "zh", "fasttext");
  o.dim = 16;
  o.epoch = 30;
  o.bucket = 10000;
  o.quantize = false;
  o.calibration_share = 0;
  return o;
}

TEST_F(ClassifierTest, TrainSaveLoadRoundTrip) {
  auto m = Classifier::Train(Task::kIntent, ToyIntents(), Small());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)->labels(), (std::vector<std::string>{"logistics", "oos", "refund"}));
  EXPECT_EQ((*m)->Classify("我要退款").label, "refund");
  ASSERT_TRUE((*m)->Save(Path("m.kmodel")).ok());
  auto loaded = Classifier::Load(Path("m.kmodel"), Task::kIntent);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ((*loaded)->Classify("快递到哪了").label, "logistics");
  EXPECT_TRUE((*loaded)->Predict("", 1).empty());
  EXPECT_EQ((*loaded)->Classify("\xFF\xFE").label, "");
}

TEST_F(ClassifierTest, RefusesModelOfAnotherTask) {
  auto m = Classifier::Train(Task::kIntent, ToyIntents(), Small());
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE((*m)->Save(Path("m.kmodel")).ok());
  auto wrong = Classifier::Load(Path("m.kmodel"), Task::kSentiment);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("trained for task 'intent'"), std::string::npos)
      << wrong.status().message();
}

TEST_F(ClassifierTest, RefusesCorruptTruncatedAndForeignFiles) {
  auto m = Classifier::Train(Task::kIntent, ToyIntents(), Small());
  ASSERT_TRUE(m.ok());
  std::string bytes = (*m)->Serialize();

  std::string flipped = bytes;
  flipped[flipped.size() - 100] ^= 0x5A;
  auto corrupt = Classifier::FromBytes(flipped, Task::kIntent, "flipped");
  ASSERT_FALSE(corrupt.ok());
  EXPECT_NE(corrupt.status().message().find("checksum"), std::string::npos) << corrupt.status().message();

  auto truncated = Classifier::FromBytes(bytes.substr(0, bytes.size() / 2), Task::kIntent, "half");
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.status().message().find("truncated"), std::string::npos) << truncated.status().message();

  EXPECT_FALSE(Classifier::FromBytes("not a model at all", Task::kIntent, "junk").ok());
  EXPECT_FALSE(Classifier::FromBytes("KEFU-NLU-MODEL/1\n{broken json\n", Task::kIntent, "hdr").ok());
  EXPECT_FALSE(Classifier::Load(Path("missing.kmodel"), Task::kIntent).ok());
}

TEST_F(ClassifierTest, RejectsSingleLabelTraining) {
  std::vector<LabeledExample> ex = {{"你好", "greeting", 2}, {"您好", "greeting", 3}};
  EXPECT_FALSE(Classifier::Train(Task::kIntent, ex, Small()).ok());
}

TEST(OosThreshold, CalibratedThresholdRejectsUnseenNonsense) {
  TrainOptions o = Small();
  o.calibration_share = 0.3;
  auto m = Classifier::Train(Task::kIntent, ToyIntents(), o);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_GE((*m)->oos_threshold(), 0.0);
  EXPECT_LE((*m)->oos_threshold(), 1.0);
  EXPECT_EQ((*m)->Classify("今天天气怎么样").label, "oos");
}

// Self-training: the words of a new domain (food: 香, 凉, 难吃) never occur
// in the labelled reviews, so a model trained on those alone knows nothing of
// them; pseudo-labelled unlabelled texts, where they stand beside known
// polar words, give them weights of the right sign.
std::vector<LabeledExample> ToyReviews() {
  std::vector<LabeledExample> ex;
  const char* pos[] = {"质量很好", "非常满意", "很喜欢", "做工不错", "物超所值", "好评"};
  const char* neg[] = {"质量很差", "非常失望", "很糟糕", "做工粗糙", "不值这个价", "差评"};
  const char* neu[] = {"请问什么时候发货", "有没有大一号的", "怎么开发票", "几点上班", "在吗", "运费多少"};
  for (int rep = 0; rep < 4; ++rep) {
    const std::string tail(rep, '!');
    for (auto* t : pos) ex.push_back({t + tail, "positive", 0});
    for (auto* t : neg) ex.push_back({t + tail, "negative", 0});
    for (auto* t : neu) ex.push_back({t + tail, "neutral", 0});
  }
  return ex;
}

std::vector<std::string> ToyFoodTexts() {
  return {"香，非常满意", "很香，好评", "香香的，很喜欢", "真香，物超所值",
          "饭凉了，非常失望", "凉的，差评", "凉透了，很糟糕", "又凉又难吃，差评", "难吃，非常失望", "难吃，很糟糕",
          "请问什么时候发货", "几点开门"};
}

// Small-data settings for the toy sets; new_only as given (the sentiment default is true).
TrainOptions ToySelfTraining(bool new_only) {
  TrainOptions o = DefaultTrainOptions(Task::kSentiment, "zh");
  o.prune = 0;
  o.epoch = 30;
  o.lr = 0.2;
  o.self_train = 0.5;
  o.self_train_new_only = new_only;
  return o;
}

TEST(SelfTraining, PseudoLabelsTeachTheWordsOfANewDomain) {
  const TrainOptions o = ToySelfTraining(false);  // every weight retrained
  auto plain = Classifier::Train(Task::kSentiment, ToyReviews(), o);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_TRUE((*plain)->Predict("凉").empty());  // no feature it knows
  EXPECT_FALSE((*plain)->metadata().contains("self_training"));

  auto adapted = Classifier::Train(Task::kSentiment, ToyReviews(), o, ToyFoodTexts());
  ASSERT_TRUE(adapted.ok()) << adapted.status().ToString();
  EXPECT_EQ((*adapted)->Classify("凉").label, "negative");
  EXPECT_EQ((*adapted)->Classify("难吃").label, "negative");
  EXPECT_EQ((*adapted)->Classify("香").label, "positive");
  const auto& st = (*adapted)->metadata()["self_training"];
  EXPECT_EQ(st["unlabelled_texts"], 12);
  // The two questions are labelled neutral (or not confidently), never used;
  // the polar texts are, each with the polarity of its known words.
  EXPECT_FALSE(st["by_label"].contains("neutral"));
  EXPECT_EQ(st["by_label"].value("positive", 0), 4);
  EXPECT_EQ(st["by_label"].value("negative", 0), 6);
  EXPECT_EQ(st["pseudo_labelled"], 10);
  // The model file keeps the record (and loads).
  auto again = Classifier::FromBytes((*adapted)->Serialize(), Task::kSentiment, "test");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)->metadata()["self_training"]["pseudo_labelled"], 10);
}

TEST(SelfTraining, NewFeaturesOnlyKeepsWhatTheLabelledDataTaught) {
  const TrainOptions o = ToySelfTraining(true);
  auto plain = Classifier::Train(Task::kSentiment, ToyReviews(), o);
  auto adapted = Classifier::Train(Task::kSentiment, ToyReviews(), o, ToyFoodTexts());
  ASSERT_TRUE(plain.ok() && adapted.ok());
  EXPECT_TRUE((*adapted)->metadata()["self_training"]["new_features_only"].get<bool>());
  EXPECT_EQ((*adapted)->Classify("凉").label, "negative");
  EXPECT_EQ((*adapted)->Classify("香").label, "positive");
  // Texts made only of labelled-data features score as before (up to the
  // re-quantisation of the same weights).
  for (const char* t : {"质量很好", "非常失望", "请问什么时候发货", "做工粗糙"}) {
    auto a = (*plain)->Predict(t, 0), b = (*adapted)->Predict(t, 0);
    ASSERT_EQ(a.size(), b.size()) << t;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].label, b[i].label) << t;
      EXPECT_NEAR(a[i].score, b[i].score, 0.02) << t;
    }
  }
}

TEST(SelfTraining, ThresholdAboveEveryProbabilityAddsNothing) {
  TrainOptions o = DefaultTrainOptions(Task::kSentiment, "zh");
  o.self_train = 1.0;
  auto m = Classifier::Train(Task::kSentiment, ToyReviews(), o, ToyFoodTexts());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)->metadata()["self_training"]["pseudo_labelled"], 0);
  EXPECT_TRUE((*m)->Predict("凉").empty());
}

TEST(SelfTraining, RefusesBadThresholdAndTheFastTextKind) {
  TrainOptions o = DefaultTrainOptions(Task::kSentiment, "zh");
  o.self_train = 1.5;
  EXPECT_FALSE(Classifier::Train(Task::kSentiment, ToyReviews(), o, ToyFoodTexts()).ok());
  o.self_train = 0.7;
  o.self_train_rounds = 0;
  EXPECT_FALSE(Classifier::Train(Task::kSentiment, ToyReviews(), o, ToyFoodTexts()).ok());
  o.self_train_rounds = 1;
  o.self_train_weight = 0;
  EXPECT_FALSE(Classifier::Train(Task::kSentiment, ToyReviews(), o, ToyFoodTexts()).ok());
  TrainOptions f = Small();
  f.self_train = 0.7;
  auto r = Classifier::Train(Task::kSentiment, ToyReviews(), f, ToyFoodTexts());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("linear"), std::string::npos);
}

}  // namespace
}  // namespace kefu::nlu
