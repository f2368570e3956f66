// Desk, the shell around DeskState, with a FakeDeskStore, a FakeClock and a
// recording AgentNotifier (no HTTP, no WebSockets): the turn gate's verdicts,
// the frames each agent is sent, racing accepts, leave-a-message, a store that
// fails, the board and long-wait alerts.
#include "agents/desk.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>

#include "agents/desk_store_fake.h"
#include "api/tenants.h"
#include "app/schema.h"
#include "common/json.h"
#include "storage/testing.h"
#include "text/segmenter.h"

namespace kefu::agents {
namespace {

using dialogue::GateVerdict;
using nlohmann::json;

// Every frame the desk sends, by agent, in order.
class RecordingNotifier final : public AgentNotifier {
 public:
  void Send(const std::string& tenant_id, const std::string& agent_id, const std::string& frame) override {
    std::lock_guard lock(mu_);
    frames_.emplace_back(agent_id, ParseJsonOrDiscarded(frame));
  }
  void Hello(const std::string& agent_id, const std::string& frame) { Send("", agent_id, frame); }
  // The frame types `agent_id` got, in order.
  std::vector<std::string> Types(const std::string& agent_id) {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& [a, f] : frames_)
      if (a == agent_id) out.push_back(f.value("type", "?"));
    return out;
  }
  std::vector<json> Frames(const std::string& agent_id, const std::string& type) {
    std::lock_guard lock(mu_);
    std::vector<json> out;
    for (const auto& [a, f] : frames_)
      if (a == agent_id && f.value("type", "") == type) out.push_back(f);
    return out;
  }
  void Clear() {
    std::lock_guard lock(mu_);
    frames_.clear();
  }

 private:
  std::mutex mu_;
  std::vector<std::pair<std::string, json>> frames_;
};

class DeskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = storage::testdb::OpenFresh(storage::Engine::kSqlite, app::Schema());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    api::TenantDirectory tenants(*db_, clock_);
    ASSERT_TRUE(tenants.Ensure("t1", "One", "w1").ok());
    store_ = std::make_unique<dialogue::ConversationStore>(*db_, clock_);
    AccountSettings as;
    as.pwhash.ops = 1;
    as.pwhash.mem_bytes = 64 * 1024;
    accounts_ = std::make_unique<AccountStore>(*db_, clock_, as);
    kb_config_.segmenter = "bigram";
    auto seg = text::CreateSegmenter(kb_config_);
    ASSERT_TRUE(seg.ok()) << seg.status().ToString();
    segmenter_ = std::move(*seg);
    auto kb = knowledge::KnowledgeBase::Create(*db_, *segmenter_, kb_config_, clock_);
    ASSERT_TRUE(kb.ok()) << kb.status().ToString();
    kb_ = std::move(*kb);
  }
  void TearDown() override {
    if (desk_) desk_->Stop();
  }

  Agent MakeAgent(const std::string& username, std::vector<std::string> skills, Role role = Role::kAgent) {
    AgentSpec spec;
    spec.username = username;
    spec.name = "name-" + username;
    spec.password = "secret-pass";
    spec.skills = std::move(skills);
    spec.role = role;
    auto a = accounts_->Create("t1", spec);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? *a : Agent{};
  }

  void StartDesk(bool auto_assign) {
    DeskSettings s;
    s.auto_assign = auto_assign;
    s.long_wait_alert_ms = 180'000;
    DeskDeps deps{fake_, *store_, hub_, *accounts_, *kb_, clock_, metrics_};
    deps.notifier = &notifier_;
    auto d = Desk::Create(deps, s);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    desk_ = std::move(*d);
  }

  // Online with an open workspace; the hello comes first, straight on the connection.
  void Online(const Agent& a) {
    desk_->Attach(a, ++conn_, [&](const std::string& hello) { notifier_.Hello(a.id, hello); });
    ASSERT_TRUE(desk_->SetPresence(a, "online").ok());
  }

  // A conversation of the bot, in the database and in the fake desk store.
  dialogue::Conversation Open() {
    auto c = store_->Create("t1", "cust", "web");
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    fake_.Open(c->id, "t1", "cust", c->created_ms);
    return *c;
  }

  dialogue::Message Say(const dialogue::Conversation& c, const std::string& text) {
    auto r = store_->AppendCustomerMessage(c.id, "m" + std::to_string(++msg_), text, json::object());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r->message;
  }

  // A customer turn routed to the complaints queue (skill after_sale).
  GateVerdict Complain(const dialogue::Conversation& c, json& context) {
    json decision = {{"actions",
                      {{{"action", "transfer"},
                        {"queue", "complaints"},
                        {"skill", "after_sale"},
                        {"rule", "complaint"},
                        {"priority", 1}}}}};
    return desk_->Admit(c, Say(c, "我要投诉"), decision, context);
  }

  FakeClock clock_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<dialogue::ConversationStore> store_;
  dialogue::ConversationHub hub_;
  std::unique_ptr<AccountStore> accounts_;
  KnowledgeConfig kb_config_;
  std::unique_ptr<text::Segmenter> segmenter_;
  std::unique_ptr<knowledge::KnowledgeBase> kb_;
  metrics::Registry metrics_;
  FakeDeskStore fake_;
  RecordingNotifier notifier_;
  std::unique_ptr<Desk> desk_;
  uint64_t conn_ = 0;
  int msg_ = 0;
};

TEST_F(DeskTest, AutoAssignsToTheLeastLoadedAgentWithTheSkill) {
  const Agent a1 = MakeAgent("a1", {"general", "after_sale"}), a2 = MakeAgent("a2", {"general"});
  StartDesk(/*auto_assign=*/true);
  Online(a1);
  Online(a2);
  dialogue::Conversation c = Open();
  json context = json::object();
  GateVerdict v = Complain(c, context);
  EXPECT_EQ(v.kind, GateVerdict::Kind::kNotice);
  EXPECT_EQ(v.text, "客服 name-a1 为您服务");
  EXPECT_EQ(v.meta["event"], "assigned");
  EXPECT_EQ(fake_.Get(c.id).status, "human");
  EXPECT_EQ(fake_.Get(c.id).agent_id, "" + a1.id);
  EXPECT_EQ(fake_.Get(c.id).handoff.value("reason", ""), "complaint");
  EXPECT_EQ(notifier_.Types(a1.id), (std::vector<std::string>{"hello", "assigned"}));
  EXPECT_EQ(notifier_.Types(a2.id), (std::vector<std::string>{"hello"})) << "no skill: sees nothing of it";
  auto assigned = notifier_.Frames(a1.id, "assigned");
  EXPECT_EQ(assigned[0]["conversation"]["conversation"]["status"], "human");
  EXPECT_EQ(assigned[0]["conversation"]["last_message"]["text"], "我要投诉");
  // The bot stays silent from now on; the agent sees the customer's messages.
  json ctx2 = context;
  EXPECT_EQ(desk_->Admit(c, Say(c, "人呢"), json::object(), ctx2).kind, GateVerdict::Kind::kSilent);
  hub_.PublishMessage(Say(c, "在吗"));
  EXPECT_EQ(notifier_.Types(a1.id).back(), "message");
  EXPECT_EQ(desk_->AgentJson("t1", a1.id)["active_chats"], 1);
}

TEST_F(DeskTest, QueuedThenOfTwoRacingAcceptsExactlyOneWins) {
  const Agent a1 = MakeAgent("a1", {"after_sale"}), a3 = MakeAgent("a3", {"after_sale"});
  StartDesk(/*auto_assign=*/false);
  Online(a1);
  Online(a3);
  dialogue::Conversation c = Open();
  json context = json::object();
  GateVerdict v = Complain(c, context);
  EXPECT_EQ(v.kind, GateVerdict::Kind::kNotice);
  EXPECT_EQ(v.meta["position"], 0);
  EXPECT_NE(v.text.find("您是下一位"), std::string::npos) << v.text;
  EXPECT_EQ(fake_.Get(c.id).status, "queued");
  EXPECT_EQ(notifier_.Frames(a1.id, "queue").size(), 1u);
  EXPECT_EQ(notifier_.Frames(a3.id, "queue").size(), 1u);
  EXPECT_EQ(desk_->Queue(a1)["items"].size(), 1u);
  EXPECT_EQ(desk_->Board("t1")["queues"][0]["waiting"], 1);

  Result<json> r1 = InvalidArgument("not run"), r3 = InvalidArgument("not run");
  std::thread t1([&] { r1 = desk_->Accept(a1, c.id, false); });
  std::thread t3([&] { r3 = desk_->Accept(a3, c.id, false); });
  t1.join();
  t3.join();
  ASSERT_NE(r1.ok(), r3.ok()) << "exactly one wins";
  const Agent& winner = r1.ok() ? a1 : a3;
  const Agent& loser = r1.ok() ? a3 : a1;
  const Status lost = r1.ok() ? r3.status() : r1.status();
  EXPECT_EQ(lost.code(), ErrorCode::kConflict);
  EXPECT_EQ(lost.message().rfind("already_assigned: ", 0), 0u) << lost.message();
  EXPECT_EQ(fake_.Get(c.id).agent_id, winner.id);
  // The "客服 … 为您服务" notice reaches the winner through the hub like any message of its conversation.
  EXPECT_EQ(notifier_.Types(winner.id),
            (std::vector<std::string>{"hello", "queue", "queue_removed", "assigned", "message"}));
  EXPECT_EQ(notifier_.Types(loser.id), (std::vector<std::string>{"hello", "queue", "queue_removed"}));
  auto history = store_->List(c.id, 0, 100);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->back().text, "客服 name-" + winner.username + " 为您服务");
  EXPECT_EQ(desk_->MyConversations(winner)["items"].size(), 1u);
  EXPECT_EQ(desk_->SendMessage(loser, c.id, "hi").status().code(), ErrorCode::kPermissionDenied);
  EXPECT_TRUE(desk_->SendMessage(winner, c.id, "您好").ok());
}

TEST_F(DeskTest, NobodyOnlineOffersToLeaveAMessage) {
  const Agent a1 = MakeAgent("a1", {"after_sale"});
  StartDesk(true);
  dialogue::Conversation c = Open();
  json context = json::object();
  GateVerdict v = Complain(c, context);
  EXPECT_EQ(v.kind, GateVerdict::Kind::kNotice);
  EXPECT_EQ(v.meta["leave_message"], true);
  EXPECT_TRUE(context.value("leave_message", false));
  EXPECT_EQ(fake_.Get(c.id).status, "open") << "nothing queued";
  // The next message is the message left.
  v = desk_->Admit(c, Say(c, "请回电 138"), json::object(), context);
  EXPECT_EQ(v.kind, GateVerdict::Kind::kNotice);
  EXPECT_EQ(v.meta["follow_up"], true);
  EXPECT_EQ(fake_.LeftMessages(), 1);
  EXPECT_FALSE(context.contains("leave_message"));
  // An agent online but away counts as nobody too.
  ASSERT_TRUE(desk_->SetPresence(a1, "away").ok());
  EXPECT_EQ(Complain(Open(), context).meta.value("leave_message", false), true);
}

TEST_F(DeskTest, NoticesFollowTheLanguageTheCustomerWroteIn) {
  const Agent a1 = MakeAgent("a1", {"after_sale"});
  StartDesk(/*auto_assign=*/false);
  json transfer = {{"actions", {{{"action", "transfer"}, {"queue", "general"}, {"rule", "human-requested"}}}}};
  // Nobody online: leave a message, in English.
  dialogue::Conversation c = Open();
  json context = json::object();
  GateVerdict v = desk_->Admit(c, Say(c, "human agent please"), transfer, context);
  EXPECT_EQ(v.meta["leave_message"], true);
  EXPECT_NE(v.text.find("no agent is online"), std::string::npos) << v.text;
  v = desk_->Admit(c, Say(c, "please call me back at 138"), json::object(), context);
  EXPECT_NE(v.text.find("We have your message"), std::string::npos) << v.text;
  // Queued: the position in English, and in Chinese for a Chinese message.
  Online(a1);
  dialogue::Conversation e = Open(), z = Open();
  json ce = json::object(), cz = json::object();
  v = desk_->Admit(e, Say(e, "get me a real person"), transfer, ce);
  EXPECT_EQ(v.meta["position"], 0);
  EXPECT_NE(v.text.find("you are next in line"), std::string::npos) << v.text;
  v = desk_->Admit(z, Say(z, "转人工"), transfer, cz);
  EXPECT_EQ(v.meta["position"], 1);
  EXPECT_NE(v.text.find("您前面还有 1 位"), std::string::npos) << v.text;
  // Accepted from the queue: "Agent … is now with you" for the English customer, 客服 … 为您服务 for the other.
  ASSERT_TRUE(desk_->Accept(a1, e.id, false).ok());
  ASSERT_TRUE(desk_->Accept(a1, z.id, false).ok());
  auto he = store_->List(e.id, 0, 100), hz = store_->List(z.id, 0, 100);
  ASSERT_TRUE(he.ok() && hz.ok());
  ASSERT_FALSE(he->empty());
  ASSERT_FALSE(hz->empty());
  EXPECT_NE(he->back().text.find("is now with you"), std::string::npos) << he->back().text;
  EXPECT_NE(hz->back().text.find("为您服务"), std::string::npos) << hz->back().text;
}

TEST_F(DeskTest, CloseHandsTheConversationBackToTheBot) {
  const Agent a1 = MakeAgent("a1", {"after_sale"});
  StartDesk(true);
  Online(a1);
  dialogue::Conversation c = Open();
  json context = json::object();
  ASSERT_EQ(Complain(c, context).meta["event"], "assigned");
  auto closed = desk_->Close(a1, c.id);
  ASSERT_TRUE(closed.ok()) << closed.status().ToString();
  EXPECT_EQ((*closed)["conversation"]["status"], "open");
  EXPECT_EQ((*closed)["conversation"]["assigned_agent_id"], nullptr);
  EXPECT_EQ((*closed)["last_message"]["text"], "我要投诉") << "the summary still shows the conversation";
  EXPECT_EQ(notifier_.Types(a1.id).back(), "unassigned");
  EXPECT_EQ(fake_.Get(c.id).status, "open");
  EXPECT_EQ(desk_->AgentJson("t1", a1.id)["active_chats"], 0);
  json ctx = json::object();
  EXPECT_EQ(desk_->Admit(c, Say(c, "谢谢"), json::object(), ctx).kind, GateVerdict::Kind::kBot);
  EXPECT_EQ(desk_->Close(a1, c.id).status().code(), ErrorCode::kPermissionDenied);
}

TEST_F(DeskTest, AFailingStoreLeavesTheBotAnsweringAndNoChatReserved) {
  const Agent a1 = MakeAgent("a1", {"after_sale"});
  StartDesk(true);
  Online(a1);
  fake_.FailWrites(true);
  dialogue::Conversation c = Open();
  json context = json::object();
  EXPECT_EQ(Complain(c, context).kind, GateVerdict::Kind::kBot);
  EXPECT_EQ(desk_->AgentJson("t1", a1.id)["active_chats"], 0);
  EXPECT_EQ(notifier_.Types(a1.id), (std::vector<std::string>{"hello"}));
  fake_.FailWrites(false);
  EXPECT_EQ(Complain(c, context).meta["event"], "assigned");
}

TEST_F(DeskTest, TransferToAGroupWithNobodyFreeQueuesItThere) {
  const Agent a1 = MakeAgent("a1", {"after_sale"}), a2 = MakeAgent("a2", {"vip"});
  ASSERT_TRUE(accounts_->PutGroup("t1", "vip", {"vip"}).ok());
  StartDesk(true);
  Online(a1);
  dialogue::Conversation c = Open();
  json context = json::object();
  ASSERT_EQ(Complain(c, context).meta["event"], "assigned");
  auto moved = desk_->Transfer(a1, c.id, std::nullopt, std::string("vip"));
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ((*moved)["conversation"]["status"], "queued");
  EXPECT_EQ((*moved)["conversation"]["queue"], "vip");
  EXPECT_EQ(fake_.Get(c.id).status, "queued");
  EXPECT_EQ(fake_.Get(c.id).skill, "vip");
  EXPECT_EQ(notifier_.Types(a1.id).back(), "unassigned");
  // a2 comes online: the dispatch on presence assigns it.
  Online(a2);
  EXPECT_EQ(fake_.Get(c.id).agent_id, a2.id);
  auto types = notifier_.Types(a2.id);
  EXPECT_NE(std::find(types.begin(), types.end(), "assigned"), types.end());
}

TEST_F(DeskTest, TheTickAlertsSupervisorsOfALongWait) {
  const Agent a1 = MakeAgent("a1", {"after_sale"});
  const Agent boss = MakeAgent("boss", {}, Role::kSupervisor);
  StartDesk(false);
  Online(a1);
  desk_->Attach(boss, ++conn_, [&](const std::string& hello) { notifier_.Hello(boss.id, hello); });
  dialogue::Conversation c = Open();
  json context = json::object();
  ASSERT_EQ(Complain(c, context).kind, GateVerdict::Kind::kNotice);
  clock_.AdvanceMs(180'000);
  desk_->Start();
  for (int i = 0; i < 50 && notifier_.Frames(boss.id, "alert").empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  desk_->Stop();
  auto alerts = notifier_.Frames(boss.id, "alert");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["alert"]["kind"], "long_wait");
  EXPECT_EQ(alerts[0]["alert"]["conversation_id"], c.id);
  EXPECT_TRUE(notifier_.Frames(a1.id, "alert").empty()) << "supervisors only";
  json board = desk_->Board("t1");
  EXPECT_EQ(board["alerts"].size(), 1u);
  EXPECT_EQ(board["queues"][0]["oldest_wait_ms"], 180'000);
  EXPECT_EQ(board["agents"].size(), 2u);
}

}  // namespace
}  // namespace kefu::agents
