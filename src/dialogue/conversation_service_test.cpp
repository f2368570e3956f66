// The turn pipeline with routing and a TurnGate: real SQLite (in memory), the
// shipped routing rules, a scripted gate and an echo responder.
#include "dialogue/conversation_service.h"

#include <gtest/gtest.h>

#include <future>

#include "storage/schema.h"

namespace kefu::dialogue {
namespace {

class EchoResponder final : public Responder {
 public:
  TurnReply Respond(const TurnRequest& turn, const DeltaFn&) override {
    ++calls;
    verified = CustomerVerified(turn.context);
    TurnReply r;
    r.text = "echo:" + turn.message.text;
    r.context = turn.context;
    return r;
  }
  std::atomic<int> calls{0};
  std::atomic<bool> verified{false};
};

// Serves the conversation by a "human" after the first handoff decision.
class ScriptedGate final : public TurnGate {
 public:
  GateFacts Facts(const Conversation&) override { return {"vip", 0}; }
  GateVerdict Admit(const Conversation&, const Message&, const nlohmann::json& decision,
                    nlohmann::json& context) override {
    GateVerdict v;
    if (human) {
      v.kind = GateVerdict::Kind::kSilent;
    } else if (decision.value("handoff", false)) {
      human = true;
      context["handed_off"] = true;
      v.kind = GateVerdict::Kind::kNotice;
      v.text = "正在为您转接人工客服";
      v.meta = {{"handoff", true}};
    }
    return v;
  }
  bool human = false;
};

class ConversationServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = storage::OpenWithSchema(":memory:");
    ASSERT_TRUE(db.ok());
    db_ = std::move(*db);
    ASSERT_TRUE(db_->Lock().Exec("INSERT INTO tenants VALUES('t1','T','w1',0)").ok());
    store_ = std::make_unique<ConversationStore>(*db_, clock_);
    service_ = std::make_unique<ConversationService>(*store_, responder_, pool_, hub_, metrics_, clock_,
                                                     ServiceSettings{}, nullptr, &rules_);
  }
  void TearDown() override {
    service_->Drain(5000);
    pool_.Shutdown();  // joins the workers before the service goes away
  }
  std::pair<Message, Message> Turn(const std::string& cid, const std::string& text) {
    std::promise<Result<Message>> reply;
    Message accepted;
    PostCallbacks cb;
    cb.on_accepted = [&](const Result<AppendResult>& a) {
      if (a.ok()) accepted = a->message;
    };
    cb.on_reply = [&](const Result<Message>& m) { reply.set_value(m); };
    service_->Post("t1", cid, "m" + std::to_string(++n_), text, std::move(cb));
    auto r = reply.get_future().get();
    EXPECT_TRUE(r.ok());
    return {accepted, r.ok() ? *r : Message{}};
  }

  FakeClock clock_;
  metrics::Registry metrics_;
  ThreadPool pool_{2};
  ConversationHub hub_;
  routing::RuleStore rules_;
  EchoResponder responder_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<ConversationStore> store_;
  std::unique_ptr<ConversationService> service_;
  int n_ = 0;
};

// Upgrading to require_verified_customer = true: a conversation whose customer
// was trusted only because claims were trusted then loses order access; a
// proven one keeps it.
TEST_F(ConversationServiceTest, OnlyProvenCustomersStayVerifiedWhenVerificationIsRequired) {
  ServiceSettings s;
  s.require_verified_customer = true;
  service_->Drain(5000);
  service_ = std::make_unique<ConversationService>(*store_, responder_, pool_, hub_, metrics_, clock_, s, nullptr,
                                                   &rules_);
  auto claimed = service_->Start("t1", "C1", "web");
  ASSERT_TRUE(claimed.ok());
  ASSERT_TRUE(store_->SaveContext(claimed->id, {{"customer_verified", true}}).ok());  // opened under the old default
  Turn(claimed->id, "你好");
  EXPECT_FALSE(responder_.verified.load());
  auto proven = service_->Start("t1", "C2", "web");
  ASSERT_TRUE(proven.ok());
  ASSERT_TRUE(store_->SaveContext(proven->id, {{"customer_verified", true}, {"customer_proven", true}}).ok());
  Turn(proven->id, "你好");
  EXPECT_TRUE(responder_.verified.load());
}

TEST_F(ConversationServiceTest, DecisionIsStoredAndTheBotAnswersWithoutAGate) {
  auto c = service_->Start("t1", "C1", "web");
  ASSERT_TRUE(c.ok());
  auto [msg, reply] = Turn(c->id, "我要投诉");
  ASSERT_TRUE(msg.meta.contains("decision"));
  EXPECT_EQ(msg.meta["decision"]["handoff"], true);
  EXPECT_EQ(msg.meta["decision"]["facts"]["tier"], "normal");
  EXPECT_EQ(reply.role, "bot");  // no gate: nobody else could answer
}

TEST_F(ConversationServiceTest, GateReplacesTheAnswerByANoticeThenSilencesTheBot) {
  ScriptedGate gate;
  service_->SetGate(&gate);
  auto c = service_->Start("t1", "C1", "web");
  ASSERT_TRUE(c.ok());
  auto [m1, r1] = Turn(c->id, "多久发货");
  EXPECT_EQ(r1.role, "bot");
  EXPECT_EQ(m1.meta["decision"]["facts"]["tier"], "vip");  // from the gate
  auto [m2, r2] = Turn(c->id, "转人工");
  EXPECT_EQ(r2.role, "system");
  EXPECT_EQ(r2.text, "正在为您转接人工客服");
  EXPECT_EQ(r2.reply_to, m2.id);
  const int bot_calls = responder_.calls.load();
  auto [m3, r3] = Turn(c->id, "你好，在吗");
  EXPECT_EQ(r3.role, "none");
  EXPECT_EQ(r3.id, 0);
  EXPECT_EQ(responder_.calls.load(), bot_calls);  // the bot was never asked
  auto all = store_->List(c->id, 0, 100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);  // customer, bot, customer, system, customer
  EXPECT_EQ((*all)[4].role, "customer");
  auto conv = store_->GetById(c->id);
  ASSERT_TRUE(conv.ok());
  EXPECT_EQ(conv->context.value("handed_off", false), true);  // the gate's context change was kept
  EXPECT_TRUE(conv->context.contains("repeat"));
}

TEST_F(ConversationServiceTest, ThirdAskingByMeaningCountsAsRepeat) {
  auto c = service_->Start("t1", "C1", "web");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(Turn(c->id, "到底什么时候发货").first.meta["decision"]["facts"]["repeat_count"], 1);
  EXPECT_EQ(Turn(c->id, "怎么还不发货").first.meta["decision"]["facts"]["repeat_count"], 2);
  auto third = Turn(c->id, "什么时候发货啊").first;
  EXPECT_EQ(third.meta["decision"]["facts"]["repeat_count"], 3);
  EXPECT_EQ(third.meta["decision"]["trace"]["stopped_by"], "repeat");
}

}  // namespace
}  // namespace kefu::dialogue
