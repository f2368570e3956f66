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

}  // namespace
}  // namespace kefu::nlu
