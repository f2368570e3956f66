// DeskState, the desk's pure queue/assignment state machine, with a FakeClock
// and a recording DeskEvents: races (through the compare-and-set of a
// FakeDeskStore), capacity, skills, an agent going offline, transfers,
// priority and order, long waits, and the several-nodes merge and presence.
#include "agents/desk_state.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agents/desk_store_fake.h"
#include "common/clock.h"

namespace kefu::agents {
namespace {

// Every event as one line: "queued c1 -> a1,a2", "assigned c1 -> a1", ...
class Recorder final : public DeskEvents {
 public:
  void Queued(const DeskConv& c, const Agents& to) override { Add("queued " + c.id + " -> " + Names(to)); }
  void QueueRemoved(const DeskConv& c, const Agents& to) override { Add("queue_removed " + c.id + " -> " + Names(to)); }
  void Assigned(const DeskConv& c, const DeskAgent& to) override { Add("assigned " + c.id + " -> " + to.agent.id); }
  void Unassigned(const DeskConv& c, const DeskAgent& from) override {
    Add("unassigned " + c.id + " -> " + from.agent.id);
  }
  void Alert(const std::string& tenant, const DeskAlert& a, const Agents& to) override {
    Add("alert " + tenant + " " + a.kind + " " + a.conversation_id + " -> " + Names(to));
    alerts.push_back(a);
  }
  void Left(const DeskConv& c) override { Add("left " + c.id); }

  std::vector<std::string> Take() { return std::exchange(lines, {}); }
  std::vector<std::string> lines;
  std::vector<DeskAlert> alerts;

 private:
  void Add(std::string s) { lines.push_back(std::move(s)); }
  static std::string Names(const Agents& to) {
    std::vector<std::string> ids;
    for (const DeskAgent* a : to) ids.push_back(a->agent.id);
    std::sort(ids.begin(), ids.end());
    std::string out;
    for (const auto& id : ids) out += (out.empty() ? "" : ",") + id;
    return out.empty() ? "(none)" : out;
  }
};

Agent MakeAgent(const std::string& id, std::vector<std::string> skills, int max_chats = 5, Role role = Role::kAgent,
                const std::string& tenant = "t1") {
  Agent a;
  a.tenant_id = tenant;
  a.id = id;
  a.username = id;
  a.name = "name-" + id;
  a.role = role;
  a.skills = std::move(skills);
  a.max_chats = max_chats;
  return a;
}

class DeskStateTest : public ::testing::Test {
 protected:
  DeskStateTest() : state_(clock_, events_, Rules()) {}
  static DeskRules Rules() {
    DeskRules r;
    r.long_wait_alert_ms = 180'000;
    r.max_alerts = 3;
    r.presence_ttl_ms = 5'000;
    return r;
  }

  // An agent that is online with its workspace open.
  void Online(const Agent& a, uint64_t conn = 0) {
    state_.PutAgent(a, false);
    ASSERT_TRUE(state_.SetPresence(a.tenant_id, a.id, Presence::kOnline).ok());
    state_.AttachWorkspace(a.tenant_id, a.id, conn ? conn : ++next_conn_);
  }

  // A handed-over conversation placed in `queue` now (as Desk::Admit does).
  const DeskConv& Queue(const std::string& id, const std::string& queue = "general", const std::string& skill = "",
                        int priority = 0, const std::string& tenant = "t1") {
    DeskConv c;
    c.order = state_.NextOrder();
    c.id = id;
    c.tenant_id = tenant;
    c.customer_id = "cust-" + id;
    c.channel = "web";
    c.queue = queue;
    c.skill = skill;
    c.priority = priority;
    c.queued_ms = c.created_ms = c.updated_ms = clock_.NowMs();
    return state_.Place(c);
  }

  FakeClock clock_;
  Recorder events_;
  DeskState state_;
  uint64_t next_conn_ = 100;
};

TEST_F(DeskStateTest, QueuedConversationIsShownToEligibleConnectedAgentsOnly) {
  Online(MakeAgent("a1", {"general"}));
  Online(MakeAgent("a2", {"vip"}));
  state_.PutAgent(MakeAgent("a3", {"general"}), false);  // no workspace open
  Online(MakeAgent("s1", {}, 10, Role::kSupervisor));
  Online(MakeAgent("other", {"general"}, 5, Role::kAgent, "t2"));
  events_.Take();
  Queue("c1", "general", "general");
  EXPECT_EQ(events_.Take(), (std::vector<std::string>{"queued c1 -> a1,s1"}));
  EXPECT_EQ(state_.QueuedCount(), 1);
  EXPECT_EQ(state_.OnlineFor(*state_.Find("c1")), 1);  // a1; supervisors count only when no agent can
}

TEST_F(DeskStateTest, TwoAgentsRaceForOneConversationExactlyOneWins) {
  const Agent a1 = MakeAgent("a1", {"general"}), a2 = MakeAgent("a2", {"general"});
  Online(a1);
  Online(a2);
  FakeDeskStore store;
  store.Open("c1", "t1", "cust");
  const DeskConv& c = Queue("c1");
  ASSERT_TRUE(store.HandOver(c, "", nlohmann::json::object()).value());
  events_.Take();

  // Both see it waiting and both may accept it ...
  auto check1 = state_.CheckAccept(a1, c, false);
  auto check2 = state_.CheckAccept(a2, c, false);
  ASSERT_TRUE(check1.ok() && check2.ok());
  EXPECT_EQ(check1->expected_agent, "");
  // ... the store's compare-and-set lets one write win; only that one reaches the state.
  EXPECT_TRUE(store.AssignQueued("t1", "c1", "a2", clock_.NowMs()).value());
  EXPECT_FALSE(store.AssignQueued("t1", "c1", "a1", clock_.NowMs()).value());
  ASSERT_NE(state_.Assign("c1", "a2", false), nullptr);
  EXPECT_EQ(events_.Take(), (std::vector<std::string>{"queue_removed c1 -> a1,a2", "assigned c1 -> a2"}));
  // The loser, asking again, is told it is taken.
  auto again = state_.CheckAccept(a1, *state_.Find("c1"), false);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), ErrorCode::kConflict);
  EXPECT_EQ(again.status().message().rfind("already_assigned: ", 0), 0u) << again.status().message();
  EXPECT_EQ(state_.FindAgent("t1", "a2")->chats.size(), 1u);
  EXPECT_TRUE(state_.FindAgent("t1", "a1")->chats.empty());
  EXPECT_EQ(state_.QueuedCount(), 0);
  EXPECT_EQ(store.Get("c1").agent_id, "a2");
}

TEST_F(DeskStateTest, AutoAssignmentReservesTheLoadSoTwoAdmissionsPickTwoAgents) {
  Online(MakeAgent("a1", {"general"}, 1));
  Online(MakeAgent("a2", {"general"}, 1));
  DeskConv x, y;
  x.id = "x";
  y.id = "y";
  x.tenant_id = y.tenant_id = "t1";
  auto first = state_.Reserve(x);
  auto second = state_.Reserve(y);
  ASSERT_TRUE(first && second);
  EXPECT_NE(*first, *second);
  DeskConv z;
  z.id = "z";
  z.tenant_id = "t1";
  EXPECT_FALSE(state_.Reserve(z)) << "both are at capacity while reserved";
  state_.Unreserve("t1", *first, "x");  // its write lost: the slot is free again
  auto third = state_.Reserve(z);
  ASSERT_TRUE(third);
  EXPECT_EQ(*third, *first);
}

TEST_F(DeskStateTest, CapacityLimitsAcceptsAndAutoAssignment) {
  const Agent a1 = MakeAgent("a1", {"general"}, /*max_chats=*/1);
  Online(a1);
  Queue("c1");
  Queue("c2");
  auto pick = state_.NextAssignment("t1", {});
  ASSERT_TRUE(pick);
  EXPECT_EQ(pick->conversation_id, "c1");
  EXPECT_EQ(pick->agent_id, "a1");
  ASSERT_NE(state_.Assign("c1", "a1", true), nullptr);
  // Full: no automatic pick, and an accept is refused.
  EXPECT_FALSE(state_.NextAssignment("t1", {}));
  auto check = state_.CheckAccept(a1, *state_.Find("c2"), false);
  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.status().code(), ErrorCode::kConflict);
  EXPECT_EQ(check.status().message(), "at_capacity: you already serve 1 conversations");
  // Supervisors are not bound by max_chats when they accept.
  const Agent s1 = MakeAgent("s1", {}, 0, Role::kSupervisor);
  state_.PutAgent(s1, false);
  EXPECT_TRUE(state_.CheckAccept(s1, *state_.Find("c2"), false).ok());
  // Closing frees the slot: the tenant is due for dispatch, and c2 goes to a1.
  state_.Tick();
  ASSERT_TRUE(state_.Release("c1", /*redispatch=*/true));
  EXPECT_TRUE(state_.Tick().dispatch_due.count("t1"));
  pick = state_.NextAssignment("t1", {});
  ASSERT_TRUE(pick);
  EXPECT_EQ(pick->conversation_id, "c2");
}

TEST_F(DeskStateTest, SkillsDecideEligibilityAndPicks) {
  const Agent general = MakeAgent("g", {"general"}), vip = MakeAgent("v", {"general", "vip"});
  Online(general);
  Online(vip);
  const DeskConv& c = Queue("c1", "vip", "vip");
  EXPECT_FALSE(state_.Eligible(*state_.FindAgent("t1", "g"), c));
  auto check = state_.CheckAccept(general, c, false);
  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(check.status().message(), "not_eligible: the queue vip needs skill vip");
  auto pick = state_.NextAssignment("t1", {});
  ASSERT_TRUE(pick);
  EXPECT_EQ(pick->agent_id, "v");
  EXPECT_EQ(state_.QueueFor(general).size(), 0u);
  EXPECT_EQ(state_.QueueFor(vip).size(), 1u);
  // A waiting conversation nobody free can take does not hold back another skill's.
  (void)state_.SetPresence("t1", "v", Presence::kAway);
  Queue("c2", "general", "general");
  pick = state_.NextAssignment("t1", {});
  ASSERT_TRUE(pick);
  EXPECT_EQ(pick->conversation_id, "c2");
  EXPECT_EQ(pick->agent_id, "g");
  // Supervisors serve every queue, but count as online only when no agent can.
  Online(MakeAgent("s", {}, 10, Role::kSupervisor));
  EXPECT_EQ(state_.OnlineFor(c), 1);  // v is away: only the supervisor
  EXPECT_TRUE(state_.Eligible(*state_.FindAgent("t1", "s"), c));
  // Another tenant's agent never is.
  Online(MakeAgent("x", {"vip"}, 5, Role::kAgent, "t2"));
  EXPECT_FALSE(state_.Eligible(*state_.FindAgent("t2", "x"), c));
}

TEST_F(DeskStateTest, AgentGoingOfflineKeepsItsChatsButGetsNoNewOnes) {
  Online(MakeAgent("a1", {"general"}));
  Online(MakeAgent("a2", {"general"}));
  Queue("c1");
  ASSERT_NE(state_.Assign("c1", "a1", true), nullptr);
  ASSERT_TRUE(state_.SetPresence("t1", "a1", Presence::kOffline).ok());
  EXPECT_EQ(state_.FindAgent("t1", "a1")->chats.count("c1"), 1u) << "its customers are not dropped";
  EXPECT_EQ(state_.Check(MakeAgent("a1", {"general"}), "c1", false), DeskState::Access::kAllowed);
  Queue("c2");
  auto pick = state_.NextAssignment("t1", {});
  ASSERT_TRUE(pick);
  EXPECT_EQ(pick->agent_id, "a2");
  // a2 closes its workspace: online but unreachable, so nobody is picked.
  state_.DetachWorkspace("t1", "a2", 102);
  EXPECT_FALSE(state_.FindAgent("t1", "a2")->WorkspaceConnected());
  EXPECT_FALSE(state_.NextAssignment("t1", {}));
  EXPECT_EQ(state_.OnlineFor(*state_.Find("c2")), 1) << "still online: the customer waits in the queue";
  // Everybody offline: nobody can take a new handoff (the desk offers to leave a message).
  ASSERT_TRUE(state_.SetPresence("t1", "a2", Presence::kOffline).ok());
  EXPECT_EQ(state_.OnlineFor(*state_.Find("c2")), 0);
  // Unknown agents are refused.
  EXPECT_EQ(state_.SetPresence("t1", "nobody", Presence::kOnline).status().code(), ErrorCode::kNotFound);
}

TEST_F(DeskStateTest, TransferToAnAgentAndBackToAGroupQueue) {
  Online(MakeAgent("a1", {"general"}));
  Online(MakeAgent("a2", {"general", "after_sale"}));
  Online(MakeAgent("a3", {"after_sale"}));
  Queue("c1");
  ASSERT_NE(state_.Assign("c1", "a1", false), nullptr);
  events_.Take();
  // To an agent: the old one is told, the new one gets it.
  ASSERT_NE(state_.Assign("c1", "a2", false), nullptr);
  EXPECT_EQ(events_.Take(), (std::vector<std::string>{"unassigned c1 -> a1", "assigned c1 -> a2"}));
  EXPECT_TRUE(state_.FindAgent("t1", "a1")->chats.empty());
  // To a group: the least-loaded member other than the current agent ...
  const DeskAgent* target = state_.GroupTarget("t1", "a2", {"after_sale"});
  ASSERT_NE(target, nullptr);
  EXPECT_EQ(target->agent.id, "a3");
  // ... or, with nobody free, back to that group's queue.
  clock_.AdvanceMs(1'000);
  const DeskConv* c = state_.Requeue("c1", "after_sale", "after_sale");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, ConvStatus::kQueued);
  EXPECT_EQ(c->queued_ms, clock_.NowMs());
  EXPECT_EQ(events_.Take(), (std::vector<std::string>{"unassigned c1 -> a2", "queued c1 -> a2,a3"}));
  EXPECT_EQ(state_.QueuedCount(), 1);
}

TEST_F(DeskStateTest, PriorityThenWaitThenAdmissionOrder) {
  const Agent a1 = MakeAgent("a1", {"general"});
  Online(a1);
  Queue("old");
  clock_.AdvanceMs(10);
  Queue("same_ms_first");
  Queue("same_ms_second");  // the same millisecond: admitted later
  Queue("urgent", "general", "", /*priority=*/5);
  EXPECT_EQ(state_.Position(*state_.Find("urgent")), 0);
  EXPECT_EQ(state_.Position(*state_.Find("old")), 1);
  EXPECT_EQ(state_.Position(*state_.Find("same_ms_first")), 2);
  EXPECT_EQ(state_.Position(*state_.Find("same_ms_second")), 3);
  std::vector<std::string> served;
  std::set<std::string> skip;
  while (auto pick = state_.NextAssignment("t1", skip)) {
    served.push_back(pick->conversation_id);
    ASSERT_NE(state_.Assign(pick->conversation_id, pick->agent_id, true), nullptr);
  }
  EXPECT_EQ(served, (std::vector<std::string>{"urgent", "old", "same_ms_first", "same_ms_second"}));
  // Another queue does not count in this one's position.
  Queue("elsewhere", "after_sale");
  EXPECT_EQ(state_.Position(*state_.Find("elsewhere")), 0);
}

TEST_F(DeskStateTest, SkippedConversationsLetDispatchGoOn) {
  Online(MakeAgent("a1", {"general"}));
  Queue("c1");
  Queue("c2");
  auto pick = state_.NextAssignment("t1", {"c1"});  // c1's write lost a race (another node took it)
  ASSERT_TRUE(pick);
  EXPECT_EQ(pick->conversation_id, "c2");
}

TEST_F(DeskStateTest, LeastLoadedTiesGoToTheLongestWithoutANewChat) {
  Online(MakeAgent("a1", {"general"}));
  Online(MakeAgent("a2", {"general"}));
  Queue("c1");
  auto pick = state_.NextAssignment("t1", {});
  ASSERT_TRUE(pick);
  const std::string first = pick->agent_id;
  ASSERT_NE(state_.Assign("c1", first, true), nullptr);
  ASSERT_TRUE(state_.Release("c1", true));  // both idle again
  clock_.AdvanceMs(1);
  Queue("c2");
  pick = state_.NextAssignment("t1", {});
  ASSERT_TRUE(pick);
  EXPECT_NE(pick->agent_id, first);
}

TEST_F(DeskStateTest, LongWaitAlertsOncePerWait) {
  Online(MakeAgent("s1", {}, 10, Role::kSupervisor));
  Online(MakeAgent("a1", {"vip"}));
  Queue("c1");
  clock_.AdvanceMs(179'999);
  state_.Tick();
  EXPECT_TRUE(events_.alerts.empty());
  clock_.AdvanceMs(1);
  auto out = state_.Tick();
  ASSERT_EQ(events_.alerts.size(), 1u);
  EXPECT_EQ(events_.alerts[0].kind, "long_wait");
  EXPECT_EQ(events_.alerts[0].text, "客户已等待 3 分钟（队列 general）");
  EXPECT_TRUE(out.board_dirty.count("t1"));
  EXPECT_EQ(events_.lines.back(), "alert t1 long_wait c1 -> s1");  // supervisors only
  clock_.AdvanceMs(600'000);
  state_.Tick();
  EXPECT_EQ(events_.alerts.size(), 1u) << "once per wait";
  EXPECT_FALSE(state_.ClaimLongWait("c1")) << "the rules' long_wait alert is the same event";
  // Requeued (a transfer): a new wait, a new alert.
  ASSERT_NE(state_.Requeue("c1", "general", ""), nullptr);
  EXPECT_TRUE(state_.ClaimLongWait("c1"));
  EXPECT_FALSE(state_.ClaimLongWait("not-in-desk"));
  // The board keeps the newest max_alerts, newest first.
  for (int i = 0; i < 5; ++i) state_.RaiseAlert("t1", "anger_spike", "c" + std::to_string(i), "x");
  BoardView b = state_.Board("t1");
  ASSERT_EQ(b.alerts.size(), 3u);
  EXPECT_EQ(b.alerts[0].conversation_id, "c4");
  EXPECT_EQ(b.alerts[2].conversation_id, "c2");
}

TEST_F(DeskStateTest, OtherNodesPresenceTimesOutToLeaveAMessage) {
  // a1 exists here but is online only on another node.
  state_.PutAgent(MakeAgent("a1", {"general"}), false);
  DeskConv c;
  c.id = "c1";
  c.tenant_id = "t1";
  EXPECT_EQ(state_.OnlineFor(c), 0);
  state_.HeardPresence("node-b", {"t1/a1"});
  EXPECT_EQ(state_.OnlineFor(c), 1) << "queued for an agent online elsewhere";
  EXPECT_TRUE(state_.Tick().board_dirty.count("t1"));
  clock_.AdvanceMs(5'000);
  EXPECT_EQ(state_.OnlineFor(c), 1);
  clock_.AdvanceMs(1);
  EXPECT_EQ(state_.OnlineFor(c), 0) << "a silent node's agents no longer count: leave a message";
  // Never picked for automatic assignment here (no workspace on this node).
  Queue("c2");
  EXPECT_FALSE(state_.NextAssignment("t1", {}));
}

TEST_F(DeskStateTest, AccessRules) {
  const Agent a1 = MakeAgent("a1", {"general"}), a2 = MakeAgent("a2", {"vip"});
  const Agent sup = MakeAgent("s1", {}, 10, Role::kSupervisor);
  const Agent stranger = MakeAgent("a1", {"general"}, 5, Role::kAgent, "t2");
  for (const Agent& a : {a1, a2, sup}) state_.PutAgent(a, false);
  Queue("c1", "general", "general");
  EXPECT_EQ(state_.Check(a1, "c1", true), DeskState::Access::kAllowed);
  EXPECT_EQ(state_.Check(a1, "c1", false), DeskState::Access::kDenied);
  EXPECT_EQ(state_.Check(a2, "c1", true), DeskState::Access::kDenied);
  EXPECT_EQ(state_.Check(sup, "c1", false), DeskState::Access::kAllowed);
  EXPECT_EQ(state_.Check(stranger, "c1", true), DeskState::Access::kNotHere);
  EXPECT_EQ(state_.Check(a1, "missing", true), DeskState::Access::kNotHere);
  ASSERT_NE(state_.Assign("c1", "a1", false), nullptr);
  EXPECT_EQ(state_.Check(a1, "c1", false), DeskState::Access::kAllowed);
  // A takeover by the agent that already serves it changes nothing.
  auto check = state_.CheckAccept(a1, *state_.Find("c1"), /*takeover=*/true);
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->mine);
  check = state_.CheckAccept(sup, *state_.Find("c1"), /*takeover=*/true);
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->expected_agent, "a1");
}

TEST_F(DeskStateTest, MergeAppliesWhatOtherNodesChanged) {
  Online(MakeAgent("a1", {"general"}));
  Online(MakeAgent("a2", {"general"}));
  Queue("mine_closed_elsewhere");
  Queue("accepted_elsewhere");
  events_.Take();
  auto stored = [&](const std::string& id, ConvStatus status, const std::string& agent) {
    DeskConv c;
    c.id = id;
    c.tenant_id = "t1";
    c.customer_id = "cust";
    c.status = status;
    c.queue = "general";
    c.agent_id = agent;
    c.queued_ms = clock_.NowMs();
    return c;
  };
  state_.BeginAdmit("being_admitted");
  state_.Merge(
      {stored("accepted_elsewhere", ConvStatus::kHuman, "a2"), stored("queued_elsewhere", ConvStatus::kQueued, ""),
       stored("served_elsewhere", ConvStatus::kHuman, "a1"), stored("being_admitted", ConvStatus::kQueued, "")});
  EXPECT_EQ(events_.Take(), (std::vector<std::string>{
                                "queue_removed mine_closed_elsewhere -> a1,a2",
                                "left mine_closed_elsewhere",
                                "queue_removed accepted_elsewhere -> a1,a2",
                                "assigned accepted_elsewhere -> a2",
                                "queued queued_elsewhere -> a1,a2",
                                "assigned served_elsewhere -> a1",
                            }));
  EXPECT_EQ(state_.Find("mine_closed_elsewhere"), nullptr);
  EXPECT_EQ(state_.Find("being_admitted"), nullptr) << "left to the admission in progress";
  EXPECT_EQ(state_.QueuedCount(), 1);
  EXPECT_EQ(state_.FindAgent("t1", "a1")->chats.count("served_elsewhere"), 1u);
  auto tick = state_.Tick();
  EXPECT_TRUE(tick.dispatch_due.count("t1"));
  // The same view again changes nothing.
  state_.EndAdmit("being_admitted");
  state_.Merge({stored("accepted_elsewhere", ConvStatus::kHuman, "a2"),
                stored("queued_elsewhere", ConvStatus::kQueued, ""),
                stored("served_elsewhere", ConvStatus::kHuman, "a1")});
  EXPECT_TRUE(events_.Take().empty());
}

TEST_F(DeskStateTest, ReleaseAndRestore) {
  Online(MakeAgent("a1", {"general"}));
  DeskConv served;
  served.id = "served";
  served.tenant_id = "t1";
  served.status = ConvStatus::kHuman;
  served.agent_id = "a1";
  state_.Restore(served);
  DeskConv waiting;
  waiting.id = "waiting";
  waiting.tenant_id = "t1";
  state_.Restore(waiting);
  EXPECT_TRUE(events_.Take().empty()) << "restoring at start-up tells nobody";
  EXPECT_EQ(state_.QueuedCount(), 1);
  EXPECT_EQ(state_.FindAgent("t1", "a1")->chats.count("served"), 1u);
  auto closed = state_.Release("served", /*redispatch=*/false);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->status, ConvStatus::kOpen);
  EXPECT_EQ(events_.Take(), (std::vector<std::string>{"unassigned served -> a1", "left served"}));
  EXPECT_FALSE(state_.Release("served", true)) << "gone already";
  ASSERT_TRUE(state_.Release("waiting", true));
  EXPECT_EQ(state_.QueuedCount(), 0);
}

TEST_F(DeskStateTest, CustomerMessagesRefreshTheQueueItem) {
  Online(MakeAgent("a1", {"general"}));
  Queue("c1");
  events_.Take();
  clock_.AdvanceMs(5);
  state_.Touch("c1", clock_.NowMs(), /*customer=*/true);
  state_.Touch("c1", clock_.NowMs(), /*customer=*/false);
  EXPECT_EQ(events_.Take(), (std::vector<std::string>{"queued c1 -> a1"}));
  EXPECT_EQ(state_.Find("c1")->updated_ms, clock_.NowMs());
  ASSERT_NE(state_.Assign("c1", "a1", false), nullptr);
  EXPECT_EQ(state_.ServedBy(*state_.Find("c1"))->agent.id, "a1");
}

TEST_F(DeskStateTest, BoardCountsQueuesAndAgents) {
  Online(MakeAgent("a1", {"general"}));
  state_.PutAgent(MakeAgent("x", {}, 5, Role::kAgent, "t2"), false);
  Queue("c1");
  clock_.AdvanceMs(30'000);
  Queue("c2");
  Queue("c3", "vip");
  BoardView b = state_.Board("t1");
  ASSERT_EQ(b.queues.size(), 2u);
  EXPECT_EQ(b.queues[0].name, "general");
  EXPECT_EQ(b.queues[0].waiting, 2);
  EXPECT_EQ(b.queues[0].oldest_wait_ms, 30'000);
  EXPECT_EQ(b.queues[1].name, "vip");
  ASSERT_EQ(b.agents.size(), 1u);
  EXPECT_EQ(b.agents[0]->agent.id, "a1");
}

TEST(PresenceTest, Names) {
  for (Presence p : {Presence::kOnline, Presence::kAway, Presence::kOffline})
    EXPECT_TRUE(ParsePresence(PresenceName(p)) == p);
  EXPECT_FALSE(ParsePresence("busy"));
  for (ConvStatus s : {ConvStatus::kOpen, ConvStatus::kQueued, ConvStatus::kHuman})
    EXPECT_TRUE(ParseConvStatus(ConvStatusName(s)) == s);
}

}  // namespace
}  // namespace kefu::agents
