#include "nlu/analyzer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

namespace kefu::nlu {
namespace {

bool Has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// A tenant's model trained with the Chinese defaults, saved under the temp
// directory; its path ("" when training or saving failed, which is reported).
std::string TrainTenantModel(Task task, const std::vector<LabeledExample>& ex, const std::string& name) {
  auto m = Classifier::Train(task, ex, DefaultTrainOptions(task, "zh"));
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  if (!m.ok()) return "";
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("kefu_tenant_" + name + "_" + std::to_string(::getpid()) + ".kmodel")).string();
  const Status saved = (*m)->Save(path);
  EXPECT_TRUE(saved.ok()) << saved.ToString();
  return saved.ok() ? path : "";
}

class ShippedModels : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto a = Analyzer::Create(AnalyzerSettings{});
    if (a.ok()) analyzer_ = std::move(a).value().release();
    else error_ = a.status().ToString();
  }
  static void TearDownTestSuite() { delete analyzer_; analyzer_ = nullptr; }
  void SetUp() override {
    ASSERT_NE(analyzer_, nullptr) << "shipped models in " << DefaultModelDir() << " must load: " << error_;
  }
  static const Analyzer* analyzer_;
  static std::string error_;
};
const Analyzer* ShippedModels::analyzer_ = nullptr;
std::string ShippedModels::error_;

TEST_F(ShippedModels, AngryComplaintIsNegativeAngerAndUrgent) {
  TurnAnalysis t = analyzer_->Analyze("你们这是什么垃圾服务！！！气死我了，再不给我退款我就去12315投诉你们！");
  EXPECT_EQ(t.language, "zh");
  EXPECT_EQ(t.sentiment, "negative");
  EXPECT_EQ(t.emotion, "anger") << t.ToJson().dump();
  EXPECT_GT(t.emotion_intensity, 0.5);
  EXPECT_TRUE(Has(t.urgency, "keyword:投诉"));
  EXPECT_TRUE(Has(t.urgency, "keyword:12315"));
  EXPECT_TRUE(Has(t.urgency, "repeated_punctuation"));
}

TEST_F(ShippedModels, ThanksIsPositive) {
  TurnAnalysis t = analyzer_->Analyze("谢谢");
  EXPECT_EQ(t.sentiment, "positive") << t.ToJson().dump();
  EXPECT_EQ(t.intent, "thanks");
  EXPECT_TRUE(t.urgency.empty());
}

// Product bug: a sentiment model trained on reviews alone read plain questions
// as negative ("在吗" → negative 0.85), and negative sentiment routes a turn to
// a human. Neutral customer questions must be neutral, with neutral emotion,
// and clear complaints must stay negative.
TEST_F(ShippedModels, NeutralQuestionsAreNeutral) {
  for (const char* q : {"在吗", "这件衣服有没有L码", "请问什么时候发货", "我想问一下怎么开发票", "运费怎么算",
                        "可以改一下收货地址吗", "这个有现货吗", "你好，我想咨询一下会员积分"}) {
    TurnAnalysis t = analyzer_->Analyze(q);
    EXPECT_EQ(t.sentiment, "neutral") << q << " " << t.ToJson().dump();
    EXPECT_EQ(t.emotion, "neutral") << q << " " << t.ToJson().dump();
  }
}

TEST_F(ShippedModels, ClearComplaintsAreNegative) {
  for (const char* q : {"你们太差劲了，我要投诉！", "等了一个星期还没发货，太气人了", "质量太差了，用了两天就坏了",
                        "客服态度恶劣，再也不会买了"}) {
    TurnAnalysis t = analyzer_->Analyze(q);
    EXPECT_EQ(t.sentiment, "negative") << q << " " << t.ToJson().dump();
    EXPECT_NE(t.emotion, "happiness") << q << " " << t.ToJson().dump();
  }
}

// Issue 15: upset customers write short messages, emoji included. The
// sentiment model now trains on short chat messages and reads emoji through
// the emoji-emotion lexicon; these must be negative, as the Analyzer reports
// them (the polar floor applied), whatever the review corpora taught.
TEST_F(ShippedModels, ShortUpsetMessagesAreNegative) {
  for (const char* q : {"😡", "🙄🙄", "什么破服务", "垃圾", "退钱！！！", "你们就是骗子", "TMD还发不发货", "气死我了",
                        "无语", "呵呵", "呵呵。", "退款呢😡", "还不发货😠"}) {
    TurnAnalysis t = analyzer_->Analyze(q);
    EXPECT_EQ(t.sentiment, "negative") << q << " " << t.ToJson().dump();
    EXPECT_GE(t.sentiment_score, 0.6) << q << " " << t.ToJson().dump();
  }
}

// ... while plain shop questions stay neutral (negative sentiment can send a
// turn to a human) and polite messages are positive or neutral.
TEST_F(ShippedModels, ShortPlainQuestionsStayNeutral) {
  for (const char* q : {"在吗", "运费多少", "我的快递到哪了", "能开发票吗", "这件衣服有没有L码", "退款多久到账",
                        "怎么申请退款", "发什么快递", "有优惠券吗"}) {
    TurnAnalysis t = analyzer_->Analyze(q);
    EXPECT_EQ(t.sentiment, "neutral") << q << " " << t.ToJson().dump();
  }
}

TEST_F(ShippedModels, PoliteShortMessagesAreNotNegative) {
  for (const char* q : {"谢谢", "好的 辛苦了", "谢谢👍", "好的，谢谢", "麻烦了", "辛苦了", "麻烦您了"}) {
    TurnAnalysis t = analyzer_->Analyze(q);
    EXPECT_TRUE(t.sentiment == "positive" || t.sentiment == "neutral") << q << " " << t.ToJson().dump();
  }
  for (const char* q : {"谢谢👍", "谢谢", "太好了😊"}) {
    EXPECT_EQ(analyzer_->Analyze(q).sentiment, "positive") << q << " " << analyzer_->Analyze(q).ToJson().dump();
  }
}

TEST(ShortMessages, InterjectionsReadAsCustomersMeanThem) {
  EXPECT_EQ(InterjectionSentiment("呵呵"), "negative");
  EXPECT_EQ(InterjectionSentiment(" 呵呵呵！"), "negative");
  EXPECT_EQ(InterjectionSentiment("呵呵。。"), "negative");
  EXPECT_EQ(InterjectionSentiment("呵呵，好的谢谢"), "");  // only a whole message
  EXPECT_EQ(InterjectionSentiment("呵"), "");
  EXPECT_EQ(InterjectionSentiment(""), "");
  EXPECT_EQ(InterjectionSentiment("在吗"), "");
  EXPECT_EQ(InterjectionSentiment("好的 辛苦了"), "positive");
  EXPECT_EQ(InterjectionSentiment("麻烦您了，谢谢！"), "positive");
  EXPECT_EQ(InterjectionSentiment("OK 辛苦啦"), "positive");
  EXPECT_EQ(InterjectionSentiment("这下麻烦了"), "");
  EXPECT_EQ(InterjectionSentiment("好辛苦"), "");  // "so tiring"
  EXPECT_EQ(InterjectionSentiment("好的"), "");
  EXPECT_EQ(InterjectionSentiment("谢谢"), "");  // the model's business
}

TEST_F(ShippedModels, DemoIntentsAndOutOfScope) {
  EXPECT_EQ(analyzer_->Analyze("我的快递到哪了，怎么还没送到").intent, "logistics");
  EXPECT_EQ(analyzer_->Analyze("我想申请退货").intent, "return");
  EXPECT_EQ(analyzer_->Analyze("帮我转人工客服").intent, "human_agent");
  EXPECT_EQ(analyzer_->Analyze("明天北京会下雨吗").intent, "oos");
}

TEST_F(ShippedModels, BadInputDoesNotCrash) {
  for (std::string s : {std::string(), std::string("\xFF\xFE\xFD"), std::string(1 << 20, 'x'), std::string("   ")}) {
    TurnAnalysis t = analyzer_->Analyze(s);
    EXPECT_FALSE(t.sentiment.empty());
    EXPECT_FALSE(t.emotion.empty());
    EXPECT_GE(t.sentiment_score, 0.0);
    EXPECT_LE(t.sentiment_score, 1.0);
  }
  EXPECT_TRUE(Has(analyzer_->Analyze("WHERE IS MY ORDER").urgency, "all_caps"));
}

TEST(Analyzer, MissingModelIsAnError) {
  AnalyzerSettings s;
  s.sentiment_model = "/nonexistent/sentiment.kmodel";
  EXPECT_FALSE(Analyzer::Create(s).ok());
}

TEST(Urgency, ThreatsAndKeywords) {
  auto u = DetectUrgency("再不处理我就起诉你们，找律师");
  EXPECT_TRUE(Has(u, "keyword:律师"));
  EXPECT_TRUE(Has(u, "threat"));
  EXPECT_TRUE(DetectUrgency("请问有没有优惠券").empty());
  EXPECT_TRUE(Has(DetectUrgency("I want a refund now"), "keyword:refund"));
  EXPECT_FALSE(Has(DetectUrgency("refundable items"), "keyword:refund"));
}

// A tenant with an intent model of its own gets its intents; every other
// tenant keeps the default (the shipped demo intents); a tenant model that
// does not load stops Create with the tenant named.
TEST_F(ShippedModels, TenantIntentModelsReplaceTheDefaultForThatTenantOnly) {
  std::vector<LabeledExample> ex;
  for (const char* t : {"我要退款", "申请退款", "退款什么时候到账", "怎么退钱", "钱能退回来吗", "帮我退款"})
    ex.push_back({t, "bank_refund"});
  for (const char* t : {"开户要带什么", "怎么开户", "我想开个账户", "开户需要多久", "网上能开户吗", "开户流程"})
    ex.push_back({t, "open_account"});
  const std::string path = TrainTenantModel(Task::kIntent, ex, "intent");
  ASSERT_FALSE(path.empty());
  AnalyzerSettings s;
  s.tenant_intent_models = {{"bank", path}};
  auto a = Analyzer::Create(s);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ((*a)->Analyze("我想申请退款", "bank").intent, "bank_refund");
  EXPECT_EQ((*a)->Analyze("怎么开户", "bank").intent, "open_account");
  const std::string demo = (*a)->Analyze("我想申请退款", "demo").intent;
  EXPECT_EQ(demo, analyzer_->Analyze("我想申请退款").intent);  // the shipped demo intents
  EXPECT_NE(demo, "bank_refund");
  EXPECT_NE((*a)->intent_model("bank"), (*a)->intent_model("demo"));

  s.tenant_intent_models = {{"broken", path + ".missing"}};
  auto bad = Analyzer::Create(s);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("tenant broken"), std::string::npos) << bad.status().ToString();
  std::filesystem::remove(path);
}

// A tenant's own sentiment model reads that tenant's turns (here one trained
// to call praise negative, so the difference cannot be a coincidence).
TEST_F(ShippedModels, TenantSentimentModelReadsThatTenantsTurnsOnly) {
  std::vector<LabeledExample> ex;
  for (int rep = 0; rep < 3; ++rep) {
    const std::string tail(rep, '!');
    for (const char* t : {"太棒了", "非常满意", "好极了", "很喜欢", "超赞", "真不错"}) ex.push_back({t + tail, "negative"});
    for (const char* t : {"太差了", "很失望", "糟透了", "不喜欢", "垃圾", "真烂"}) ex.push_back({t + tail, "positive"});
    for (const char* t : {"几点发货", "在吗", "怎么开发票", "运费多少", "有现货吗", "能改地址吗"}) ex.push_back({t + tail, "neutral"});
  }
  const std::string path = TrainTenantModel(Task::kSentiment, ex, "sentiment");
  ASSERT_FALSE(path.empty());
  AnalyzerSettings s;
  s.tenant_sentiment_models = {{"odd", path}};
  auto a = Analyzer::Create(s);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ((*a)->Analyze("太棒了，很喜欢", "odd").sentiment, "negative");
  EXPECT_EQ((*a)->Analyze("太棒了，很喜欢", "demo").sentiment, analyzer_->Analyze("太棒了，很喜欢").sentiment);
  EXPECT_EQ((*a)->Analyze("太棒了，很喜欢", "demo").sentiment, "positive");
  EXPECT_NE((*a)->sentiment_model("odd"), (*a)->sentiment_model("demo"));
  s.tenant_sentiment_models = {{"odd", (std::filesystem::path(DefaultModelDir()) / "emotion.kmodel").string()}};
  auto wrong = Analyzer::Create(s);  // another task's model
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("sentiment model of tenant odd"), std::string::npos) << wrong.status().ToString();
  std::filesystem::remove(path);
}

TEST(EmotionTrajectory, SlopeRisesAsTurnsGetAngrier) {
  EmotionTrajectory tr(5);
  for (double v : {0.0, 0.3, 0.6, 0.9}) {
    TurnAnalysis t;
    t.sentiment = v > 0 ? "negative" : "neutral";
    t.sentiment_score = v;
    t.emotion = "anger";
    t.emotion_intensity = v;
    tr.Add(t);
  }
  EXPECT_NEAR(tr.slope(), 0.3, 1e-9);
  EXPECT_TRUE(tr.Escalating());
  EmotionTrajectory calm;
  TurnAnalysis happy;
  happy.sentiment = "positive";
  happy.sentiment_score = 0.9;
  happy.emotion = "happiness";
  calm.Add(happy);
  calm.Add(happy);
  EXPECT_FALSE(calm.Escalating());
  EXPECT_LT(calm.mean(), 0);
}

}  // namespace
}  // namespace kefu::nlu
