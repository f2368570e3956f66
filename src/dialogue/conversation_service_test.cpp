// The turn pipeline with routing and a TurnGate: real SQLite (in memory), the
// shipped routing rules, a scripted gate and an echo responder.
#include "dialogue/conversation_service.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "app/schema.h"
#include "storage/testing.h"

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
    auto db = storage::testdb::OpenFresh(storage::Engine::kSqlite, app::Schema());
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

// A spoken turn's voice score is stored with the message and, once the
// caller's baseline is calibrated, is a routing fact.
TEST_F(ConversationServiceTest, AVoiceSignalIsStoredAndRoutedOnceCalibrated) {
  auto c = service_->Start("t1", "C1", "voice");
  ASSERT_TRUE(c.ok());
  auto post = [&](const std::string& text, VoiceSignal v) {
    std::promise<Message> accepted;
    PostCallbacks cb;
    cb.on_accepted = [&](const Result<AppendResult>& a) { accepted.set_value(a.ok() ? a->message : Message{}); };
    service_->Post("t1", c->id, "v" + std::to_string(++n_), text, std::move(cb), {}, {}, v);
    return accepted.get_future().get();
  };
  Message calibrating = post("where is my parcel", {false, 0, 0});
  EXPECT_EQ(calibrating.meta["voice"]["calibrated"], false);
  EXPECT_FALSE(calibrating.meta["decision"]["facts"].contains("voice_anger"));
  Message loud = post("where is my parcel", {true, 0.9, 0.85});
  EXPECT_EQ(loud.meta["voice"]["anger"], 0.85);
  EXPECT_EQ(loud.meta["decision"]["facts"]["voice_anger"], 0.85);
  EXPECT_EQ(loud.meta["decision"]["facts"]["voice_arousal"], 0.9);
  // The voice alone (neutral words: no analyzer here) does not hand over.
  EXPECT_EQ(loud.meta["decision"]["handoff"], false);
  // A typed turn has no voice.
  auto [typed, reply] = Turn(c->id, "where is my parcel");
  EXPECT_FALSE(typed.meta.contains("voice"));
  EXPECT_FALSE(typed.meta["decision"]["facts"].contains("voice_anger"));
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

// ---------------------------------------------------------------- leases (several nodes)

namespace kefu::dialogue {
namespace {

// Two "nodes" on one database: two services with leases of their own owner
// over one shared lease store (the fake, on the fake clock).
class LeasedServicesTest : public ConversationServiceTest {
 protected:
  void SetUp() override {
    ConversationServiceTest::SetUp();
    leases_a_ = std::make_unique<Leases>(lease_store_, clock_, LeaseSettings{"node-a", 5000, 100});
    leases_b_ = std::make_unique<Leases>(lease_store_, clock_, LeaseSettings{"node-b", 5000, 100});
    service_->SetLeases(leases_a_.get());
    node_b_ = std::make_unique<ConversationService>(*store_, responder_, pool_b_, hub_, metrics_, clock_,
                                                    ServiceSettings{}, nullptr, &rules_);
    node_b_->SetLeases(leases_b_.get());
  }
  void TearDown() override {
    node_b_->Drain(5000);
    pool_b_.Shutdown();
    ConversationServiceTest::TearDown();
  }
  // Posts through `node`; the accept result and, when accepted, the reply.
  std::pair<Status, Result<Message>> PostTo(ConversationService& node, const std::string& cid,
                                            const std::string& client_id, const std::string& text) {
    std::promise<Status> acc;
    std::promise<Result<Message>> reply;
    PostCallbacks cb;
    cb.on_accepted = [&](const Result<AppendResult>& a) {
      acc.set_value(a.ok() ? Status::Ok() : a.status());
      if (!a.ok()) reply.set_value(a.status());
    };
    cb.on_reply = [&](const Result<Message>& m) { reply.set_value(m); };
    node.Post("t1", cid, client_id, text, std::move(cb));
    Status s = acc.get_future().get();
    return {s, reply.get_future().get()};
  }
  static bool Idle(ConversationService& node) {
    for (int i = 0; i < 500 && node.InFlight() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return node.InFlight() == 0;
  }
  int Replies(const std::string& cid) {
    auto all = store_->List(cid, 0, 1000);
    int n = 0;
    for (const auto& m : *all) n += m.role != "customer";
    return n;
  }

  MemoryLeaseStore lease_store_{clock_};
  std::unique_ptr<Leases> leases_a_, leases_b_;
  ThreadPool pool_b_{2};
  std::unique_ptr<ConversationService> node_b_;
};

TEST_F(LeasedServicesTest, ATurnWhoseConversationIsLeasedElsewhereIsRefusedBeforeAnythingIsStored) {
  auto c = service_->Start("t1", "C1", "web");
  ASSERT_TRUE(c.ok());
  // Node b is running a turn of it (holds its lease).
  auto held = leases_b_->Acquire("conv:" + c->id);
  ASSERT_TRUE(held.ok());
  auto [accepted, reply] = PostTo(*service_, c->id, "x1", "多久发货");
  ASSERT_FALSE(accepted.ok());
  EXPECT_TRUE(IsLeaseBusy(accepted)) << accepted.ToString();
  EXPECT_EQ(LeaseRetryAfterSeconds(accepted), 5);
  EXPECT_TRUE(store_->List(c->id, 0, 100)->empty()) << "refused before storing: the client retries";
  // Released: the retry with the same client id goes through, once.
  leases_b_->Release("conv:" + c->id, held->token);
  auto [again, reply2] = PostTo(*service_, c->id, "x1", "多久发货");
  ASSERT_TRUE(again.ok()) << again.ToString();
  ASSERT_TRUE(reply2.ok());
  EXPECT_EQ(reply2->role, "bot");
  EXPECT_EQ(store_->List(c->id, 0, 100)->size(), 2u);
  for (int i = 0; i < 200 && leases_a_->HeldCount() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(leases_a_->HeldCount(), 0u) << "released once the conversation's queue is empty";
  EXPECT_TRUE(lease_store_.Acquire("conv:" + c->id, "node-b", 5000)->granted);
}

TEST_F(LeasedServicesTest, ADeadNodesAcceptedMessagesAreAnsweredOnceByTheNodeThatTakesItsLeasesOver) {
  auto c = service_->Start("t1", "C1", "web");
  ASSERT_TRUE(c.ok());
  // Node a accepted two messages under its lease and died before answering.
  ASSERT_TRUE(leases_a_->Acquire("conv:" + c->id).ok());
  ASSERT_TRUE(store_->AppendCustomerMessage(c->id, "d1", "你好", {}).ok());
  ASSERT_TRUE(store_->AppendCustomerMessage(c->id, "d2", "多久发货", {}).ok());
  EXPECT_EQ(node_b_->SweepAbandoned(), 0) << "still within its ttl";
  // The client's retry through node b meanwhile: busy, nothing stored twice.
  auto [busy, none] = PostTo(*node_b_, c->id, "d2", "多久发货");
  EXPECT_TRUE(IsLeaseBusy(busy)) << busy.ToString();

  clock_.AdvanceMs(5001);  // a stopped renewing
  EXPECT_EQ(node_b_->SweepAbandoned(), 1);
  ASSERT_TRUE(Idle(*node_b_));
  auto all = store_->List(c->id, 0, 100);
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[2].reply_to, (*all)[0].id);
  EXPECT_EQ((*all)[3].reply_to, (*all)[1].id);
  EXPECT_TRUE(store_->UnansweredIn(c->id)->empty());
  EXPECT_EQ(node_b_->SweepAbandoned(), 0) << "released cleanly: nothing left to take over";
}

TEST_F(LeasedServicesTest, TheRetryOfADeadNodesMessageGetsTheReplyMadeByTheFailoverNotASecondOne) {
  auto c = service_->Start("t1", "C1", "web");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(leases_a_->Acquire("conv:" + c->id).ok());
  ASSERT_TRUE(store_->AppendCustomerMessage(c->id, "r1", "多久发货", {}).ok());
  clock_.AdvanceMs(6000);
  // The client's retry reaches node b after the lease expired and before any sweep.
  auto [accepted, reply] = PostTo(*node_b_, c->id, "r1", "多久发货");
  ASSERT_TRUE(accepted.ok()) << accepted.ToString();
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(node_b_->SweepAbandoned(), 0) << "node b took the lease over and released it";
  auto [again, same] = PostTo(*node_b_, c->id, "r1", "多久发货");
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->id, reply->id);
  EXPECT_EQ(Replies(c->id), 1);
}

// Found by the kill test: the dead node's lease expired and a new message of
// the same conversation reached the other node before any sweep. That turn
// takes the lease over, so it must answer what the dead node left first (a
// release afterwards leaves nothing for the sweep to find).
TEST_F(LeasedServicesTest, ANewTurnThatTakesAnExpiredLeaseOverFirstAnswersWhatTheDeadNodeLeft) {
  auto c = service_->Start("t1", "C1", "web");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(leases_a_->Acquire("conv:" + c->id).ok());
  ASSERT_TRUE(store_->AppendCustomerMessage(c->id, "left", "你好", {}).ok());  // acknowledged by a, then a died
  clock_.AdvanceMs(6000);
  auto [accepted, reply] = PostTo(*node_b_, c->id, "next", "多久发货");
  ASSERT_TRUE(accepted.ok()) << accepted.ToString();
  ASSERT_TRUE(reply.ok());
  EXPECT_TRUE(store_->UnansweredIn(c->id)->empty()) << "the message node a acknowledged was never answered";
  auto all = store_->List(c->id, 0, 100);
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[1].reply_to, (*all)[0].id) << "the older message is answered first";
  EXPECT_EQ((*all)[3].reply_to, (*all)[2].id);
  EXPECT_EQ(node_b_->SweepAbandoned(), 0);
}

TEST_F(LeasedServicesTest, TwoNodesPostingIntoOneConversationKeepItsTurnsOrderedAndAnsweredOnce) {
  auto c = service_->Start("t1", "C1", "web");
  ASSERT_TRUE(c.ok());
  std::atomic<int> ok{0}, busy{0};
  std::vector<std::thread> clients;
  for (int n = 0; n < 4; ++n) {
    clients.emplace_back([&, n] {
      ConversationService& node = n % 2 ? *node_b_ : *service_;
      for (int i = 0; i < 10; ++i) {
        const std::string id = "p" + std::to_string(n) + "-" + std::to_string(i);
        // A client retries while the other node runs this conversation's
        // turns (the fake clock never lets a lease expire: only releases free it).
        for (int attempt = 0; attempt < 5000; ++attempt) {
          auto [accepted, reply] = PostTo(node, c->id, id, "你好 " + id);
          if (accepted.ok()) {
            ++ok;
            break;
          }
          ASSERT_TRUE(IsLeaseBusy(accepted)) << accepted.ToString();
          ++busy;
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 40);
  auto all = store_->List(c->id, 0, 1000);
  ASSERT_EQ(all->size(), 80u);
  // Every customer message is followed directly by its own reply: no two turns interleaved.
  for (size_t i = 0; i + 1 < all->size(); i += 2) {
    EXPECT_EQ((*all)[i].role, "customer");
    EXPECT_EQ((*all)[i + 1].reply_to, (*all)[i].id) << "at seq " << (*all)[i + 1].seq;
  }
}

}  // namespace
}  // namespace kefu::dialogue
