// DeskState: the desk's queue and assignment state machine — agents'
// presence, load and open workspaces, the conversations waiting in a queue or
// served by a human, the priority queues (highest priority first, then the
// longest waiting, then the first admitted), eligibility by skill, capacity,
// least-loaded picks, accept/transfer/release, long-wait alerts and the
// several-nodes merge of the database's view (Merge).
//
// Pure: no I/O, no SQL, no JSON, no threads, no locks; the time comes from
// the injected Clock. What agents should see as a result of a change is told
// to DeskEvents (the desk renders frames from it and hands them to its
// AgentNotifier). The caller (agents::Desk) writes every change to the
// database first (compare-and-set) and applies it here only after the write
// won, so a change that lost a race never reaches this state.
//
// Threads: not thread-safe; the desk calls it under its one mutex. The
// DeskEvents callbacks run inside the calls, with that mutex held.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agents/agent.h"
#include "common/clock.h"
#include "common/status.h"

namespace kefu::agents {

enum class Presence { kOffline, kAway, kOnline };
std::optional<Presence> ParsePresence(std::string_view s);
std::string_view PresenceName(Presence p);

// kOpen only in a snapshot of a conversation that just left the desk (the bot serves it again).
enum class ConvStatus { kOpen, kQueued, kHuman };
std::string_view ConvStatusName(ConvStatus s);
std::optional<ConvStatus> ParseConvStatus(std::string_view s);

// A conversation in human service.
struct DeskConv {
  std::string id, tenant_id, customer_id, channel;
  ConvStatus status = ConvStatus::kQueued;
  std::string queue, skill;
  std::string agent_id;  // kHuman: who serves it
  std::string reason;    // the routing rule that handed it over
  int priority = 0;
  int64_t queued_ms = 0, created_ms = 0, updated_ms = 0;
  bool long_wait_alerted = false;  // one long_wait alert per wait
  // Order of admission: breaks ties between conversations queued in the same
  // millisecond (the first to ask is served first, not the smaller id).
  uint64_t order = 0;
};

struct DeskAgent {
  Agent agent;
  Presence presence = Presence::kOffline;
  std::set<std::string> chats;    // conversations it serves (or is being assigned)
  std::set<uint64_t> workspaces;  // its open workspace connections
  int64_t last_assigned_ms = 0;   // auto assignment: ties go to the longest without a new chat
  bool WorkspaceConnected() const { return !workspaces.empty(); }
};

struct DeskAlert {
  std::string id;    // "al_<n>"
  std::string kind;  // long_wait | anger_spike | repeated_escalation
  std::string conversation_id, text;
  int64_t created_ms = 0;
};

// What agents should see after a change; recipients are agents with an open
// workspace. Called inside DeskState's methods (see there for the order).
class DeskEvents {
 public:
  using Agents = std::vector<const DeskAgent*>;
  virtual ~DeskEvents() = default;
  // `c` waits in a queue `to` may serve: new, changed, or a customer wrote.
  virtual void Queued(const DeskConv& c, const Agents& to) = 0;
  // `c` no longer waits in the queue (accepted, closed, gone elsewhere).
  virtual void QueueRemoved(const DeskConv& c, const Agents& to) = 0;
  virtual void Assigned(const DeskConv& c, const DeskAgent& to) = 0;
  virtual void Unassigned(const DeskConv& c, const DeskAgent& from) = 0;
  // A supervisor alert, for the tenant's supervisors and admins.
  virtual void Alert(const std::string& tenant_id, const DeskAlert& alert, const Agents& to) = 0;
  // `c` left the desk (closed, handed back to the bot, gone from the shared queue).
  virtual void Left(const DeskConv& c) = 0;
};

struct DeskRules {
  int64_t long_wait_alert_ms = 180'000;  // queued longer → one long_wait alert
  size_t max_alerts = 100;               // kept per tenant for the board
  int64_t presence_ttl_ms = 5'000;       // several nodes: another node's heartbeat counts this long
  bool auto_assign = true;               // Tick marks tenants with a waiting conversation for dispatch
};

// The supervisor board of one tenant.
struct BoardView {
  struct Queue {
    std::string name;
    int waiting = 0;
    int64_t oldest_wait_ms = 0;
  };
  std::vector<Queue> queues;             // by name
  std::vector<const DeskAgent*> agents;  // the tenant's, in no particular order
  std::vector<DeskAlert> alerts;         // newest first
};

class DeskState {
 public:
  DeskState(const Clock& clock, DeskEvents& events, DeskRules rules);

  // ---- agents ----
  // Adds or replaces an account; `announce`: the board is redrawn and the
  // tenant's queue dispatched (more room or new skills).
  void PutAgent(const Agent& agent, bool announce);
  const DeskAgent* FindAgent(const std::string& tenant_id, const std::string& id) const;
  // NotFound for an unknown agent.
  Result<const DeskAgent*> SetPresence(const std::string& tenant_id, const std::string& id, Presence presence);
  // A workspace WebSocket opened / closed; null for an unknown agent.
  const DeskAgent* AttachWorkspace(const std::string& tenant_id, const std::string& id, uint64_t conn_id);
  void DetachWorkspace(const std::string& tenant_id, const std::string& id, uint64_t conn_id);
  // Several nodes: this node's online agents ("tenant/id"), and another node's heartbeat.
  std::vector<std::string> OnlineHere() const;
  void HeardPresence(const std::string& node, std::set<std::string> online);

  // Eligible: same tenant, and an agent needs the conversation's skill (supervisors serve every queue).
  bool Eligible(const DeskAgent& a, const DeskConv& c) const;
  // Agents online (here or, with several nodes, on another node) that may
  // serve `c`: agents with the skill, else supervisors (only when no agent can).
  int OnlineFor(const DeskConv& c) const;
  // Conversations ahead of `c` in its queue.
  int Position(const DeskConv& c) const;
  // The least-loaded online agent (role agent, workspace connected) with room
  // for which `fits` holds; ties to the one whose last assignment is oldest.
  const DeskAgent* LeastLoaded(const std::string& tenant_id, const std::function<bool(const DeskAgent&)>& fits) const;

  // ---- conversations ----
  const DeskConv* Find(const std::string& id) const;
  uint64_t NextOrder() { return ++next_order_; }
  // A conversation as stored at start-up (no events).
  void Restore(DeskConv c);
  // Admission of a handed-over conversation: while `Admitting`, Merge leaves
  // it alone. Reserve counts a picked agent's new chat before it is written,
  // so that a concurrent pick sees the load; Unreserve undoes it.
  void BeginAdmit(const std::string& id) { admitting_.insert(id); }
  void EndAdmit(const std::string& id) { admitting_.erase(id); }
  bool Admitting(const std::string& id) const { return admitting_.count(id) > 0; }
  std::optional<std::string> Reserve(const DeskConv& c);
  void Unreserve(const std::string& tenant_id, const std::string& agent_id, const std::string& conversation_id);
  // Places an admitted conversation after it was written: waiting (Queued to
  // the eligible agents), or with `agent_id` served at once (Assigned).
  const DeskConv& Place(DeskConv c, const std::string& agent_id = "");

  // Whether `me` may accept (or, `takeover`, take over) `c` of its tenant:
  // NotFound for an unknown agent, Conflict already_assigned / at_capacity,
  // PermissionDenied not_eligible. Ok with `mine` set when a takeover finds
  // it served by `me` already.
  struct AcceptCheck {
    std::string expected_agent;  // the compare-and-set's expected agent ("" = queued)
    bool mine = false;
  };
  Result<AcceptCheck> CheckAccept(const Agent& me, const DeskConv& c, bool takeover) const;
  // How `me` may see `c`: served by `me`; any for supervisors; queued and
  // eligible when `allow_queued`.
  enum class Access { kAllowed, kNotHere, kDenied };
  Access Check(const Agent& me, const std::string& conversation_id, bool allow_queued) const;

  // After a won compare-and-set: `c` is served by `agent_id` (QueueRemoved or
  // Unassigned to whoever had it, then Assigned). `auto_assigned` counts as
  // the agent's last assignment (ties in LeastLoaded).
  const DeskConv* Assign(const std::string& conversation_id, const std::string& agent_id, bool auto_assigned);
  // After a won compare-and-set: `c` waits again, in `queue` needing `skill`.
  const DeskConv* Requeue(const std::string& conversation_id, const std::string& queue, const std::string& skill);
  // After a won compare-and-set: `c` leaves the desk (the bot serves it
  // again); its snapshot with status kOpen. `redispatch`: the tick dispatches
  // the tenant (a caller that dispatches itself passes false).
  std::optional<DeskConv> Release(const std::string& conversation_id, bool redispatch);
  // A message of the conversation was stored at `ms`: `customer` ones are
  // shown in the queue (Queued again) when it waits.
  void Touch(const std::string& conversation_id, int64_t ms, bool customer);
  // The agent serving `c`, or the agents that may accept it (open workspaces).
  const DeskAgent* ServedBy(const DeskConv& c) const;
  DeskEvents::Agents Watchers(const DeskConv& c) const;
  // The tenant's supervisors and admins with an open workspace.
  DeskEvents::Agents Supervisors(const std::string& tenant_id) const;

  // Several nodes: the conversations in human service as the database has
  // them now; what other nodes queued, accepted, transferred or closed is
  // merged with the same events local changes give. Conversations being
  // admitted here are left alone.
  void Merge(const std::vector<DeskConv>& stored);

  // Auto assignment: the next (conversation, agent) of `tenant` — highest
  // priority first, then oldest; one no free agent can take does not hold
  // back the others. `skip`: conversations whose write lost a race.
  struct Pick {
    std::string conversation_id, agent_id, agent_name;
  };
  std::optional<Pick> NextAssignment(const std::string& tenant, const std::set<std::string>& skip) const;
  // Transfer to a group: the least-loaded online agent with a skill of
  // `group_skills` (any, when empty) other than `current_agent`.
  const DeskAgent* GroupTarget(const std::string& tenant, const std::string& current_agent,
                               const std::vector<std::string>& group_skills) const;

  // ---- views ----
  // The queue `me` may accept from, in serving order.
  std::vector<const DeskConv*> QueueFor(const Agent& me) const;
  // The conversations `me` serves.
  std::vector<const DeskConv*> ServedByAgent(const Agent& me) const;
  BoardView Board(const std::string& tenant_id) const;
  int64_t QueuedCount() const { return queued_; }

  // ---- alerts and the clock ----
  void RaiseAlert(const std::string& tenant_id, const std::string& kind, const std::string& conversation_id,
                  const std::string& text);
  // The rules asked for a long_wait alert: true (and marked) once per wait of a conversation in the desk.
  bool ClaimLongWait(const std::string& conversation_id);
  // Long-wait alerts due now; then which tenants' boards changed and which
  // tenants to dispatch (taken: the next Tick starts empty).
  struct TickOut {
    std::set<std::string> board_dirty, dispatch_due;
  };
  TickOut Tick();
  void MarkBoardDirty(const std::string& tenant_id) { board_dirty_.insert(tenant_id); }
  void MarkDispatchDue(const std::string& tenant_id) { dispatch_due_.insert(tenant_id); }

 private:
  DeskAgent* AgentMut(const std::string& tenant_id, const std::string& id);
  // `c` leaves: its agent or the eligible agents are told; board and dispatch redone.
  void Forget(const DeskConv& c, bool redispatch);

  const Clock& clock_;
  DeskEvents& events_;
  DeskRules rules_;
  std::unordered_map<std::string, std::unique_ptr<DeskAgent>> agents_;  // "tenant/id"
  std::unordered_map<std::string, std::unique_ptr<DeskConv>> convs_;    // queued or human only
  std::map<std::string, std::deque<DeskAlert>> alerts_;                 // per tenant
  std::set<std::string> board_dirty_, dispatch_due_;                    // tenants
  // Several nodes: other nodes' online agents (node → (heard at, tenant/id keys)).
  std::map<std::string, std::pair<int64_t, std::set<std::string>>> remote_online_;
  std::set<std::string> admitting_;
  int64_t next_alert_ = 1;
  uint64_t next_order_ = 0;
  int64_t queued_ = 0;  // conversations waiting in a queue
};

}  // namespace kefu::agents
