#include "agents/desk_state.h"

#include <algorithm>

namespace kefu::agents {
namespace {

std::string AgentKey(const std::string& tenant, const std::string& id) {
  return tenant + "/" + id;
}

}  // namespace

std::optional<Presence> ParsePresence(std::string_view s) {
  if (s == "online") return Presence::kOnline;
  if (s == "away") return Presence::kAway;
  if (s == "offline") return Presence::kOffline;
  return std::nullopt;
}

std::string_view PresenceName(Presence p) {
  switch (p) {
    case Presence::kOnline:
      return "online";
    case Presence::kAway:
      return "away";
    case Presence::kOffline:
      break;
  }
  return "offline";
}

std::string_view ConvStatusName(ConvStatus s) {
  switch (s) {
    case ConvStatus::kQueued:
      return "queued";
    case ConvStatus::kHuman:
      return "human";
    case ConvStatus::kOpen:
      break;
  }
  return "open";
}

std::optional<ConvStatus> ParseConvStatus(std::string_view s) {
  if (s == "queued") return ConvStatus::kQueued;
  if (s == "human") return ConvStatus::kHuman;
  if (s == "open") return ConvStatus::kOpen;
  return std::nullopt;
}

DeskState::DeskState(const Clock& clock, DeskEvents& events, DeskRules rules)
    : clock_(clock), events_(events), rules_(rules) {}

// ---- agents ---------------------------------------------------------------------

void DeskState::PutAgent(const Agent& agent, bool announce) {
  auto& slot = agents_[AgentKey(agent.tenant_id, agent.id)];
  if (!slot) slot = std::make_unique<DeskAgent>();
  slot->agent = agent;
  if (!announce) return;
  board_dirty_.insert(agent.tenant_id);
  dispatch_due_.insert(agent.tenant_id);  // more room or new skills
}

const DeskAgent* DeskState::FindAgent(const std::string& tenant_id, const std::string& id) const {
  auto it = agents_.find(AgentKey(tenant_id, id));
  return it == agents_.end() ? nullptr : it->second.get();
}

DeskAgent* DeskState::AgentMut(const std::string& tenant_id, const std::string& id) {
  auto it = agents_.find(AgentKey(tenant_id, id));
  return it == agents_.end() ? nullptr : it->second.get();
}

Result<const DeskAgent*> DeskState::SetPresence(const std::string& tenant_id, const std::string& id,
                                                Presence presence) {
  DeskAgent* a = AgentMut(tenant_id, id);
  if (!a) return NotFound("not_found: agent does not exist");
  a->presence = presence;
  board_dirty_.insert(tenant_id);
  return a;
}

const DeskAgent* DeskState::AttachWorkspace(const std::string& tenant_id, const std::string& id, uint64_t conn_id) {
  DeskAgent* a = AgentMut(tenant_id, id);
  if (!a) return nullptr;
  a->workspaces.insert(conn_id);
  if (a->presence == Presence::kOnline) dispatch_due_.insert(tenant_id);  // may now receive chats (the tick assigns)
  board_dirty_.insert(tenant_id);                                         // supervisors see workspace_connected change
  return a;
}

void DeskState::DetachWorkspace(const std::string& tenant_id, const std::string& id, uint64_t conn_id) {
  DeskAgent* a = AgentMut(tenant_id, id);
  if (!a) return;
  a->workspaces.erase(conn_id);
  board_dirty_.insert(tenant_id);
}

std::vector<std::string> DeskState::OnlineHere() const {
  std::vector<std::string> out;
  for (const auto& [k, a] : agents_)
    if (a->presence == Presence::kOnline) out.push_back(k);
  return out;
}

void DeskState::HeardPresence(const std::string& node, std::set<std::string> online) {
  auto& slot = remote_online_[node];
  const bool more = std::any_of(online.begin(), online.end(), [&](const auto& k) { return !slot.second.count(k); });
  slot = {clock_.NowMs(), std::move(online)};
  if (more)
    for (const auto& k : slot.second)
      if (auto it = agents_.find(k); it != agents_.end()) board_dirty_.insert(it->second->agent.tenant_id);
}

bool DeskState::Eligible(const DeskAgent& a, const DeskConv& c) const {
  if (a.agent.tenant_id != c.tenant_id) return false;
  if (a.agent.role != Role::kAgent) return true;
  if (c.skill.empty()) return true;
  return std::find(a.agent.skills.begin(), a.agent.skills.end(), c.skill) != a.agent.skills.end();
}

int DeskState::OnlineFor(const DeskConv& c) const {
  // Online here, or (several nodes) online on another node that said so in
  // the last few seconds.
  std::set<std::string> online;
  for (const auto& [k, a] : agents_)
    if (a->presence == Presence::kOnline) online.insert(k);
  const int64_t now = clock_.NowMs();
  for (const auto& [node, heard] : remote_online_)
    if (now - heard.first <= rules_.presence_ttl_ms) online.insert(heard.second.begin(), heard.second.end());
  int n = 0;
  for (const auto& k : online)
    if (auto it = agents_.find(k);
        it != agents_.end() && it->second->agent.role == Role::kAgent && Eligible(*it->second, c))
      ++n;
  if (n == 0)  // supervisors serve every queue, but only when no agent can
    for (const auto& k : online)
      if (auto it = agents_.find(k); it != agents_.end() && Eligible(*it->second, c)) ++n;
  return n;
}

int DeskState::Position(const DeskConv& c) const {
  int ahead = 0;
  for (const auto& [id, o] : convs_) {
    if (o->status != ConvStatus::kQueued || o->tenant_id != c.tenant_id || o->queue != c.queue || o->id == c.id)
      continue;
    if (o->priority > c.priority ||
        (o->priority == c.priority &&
         (o->queued_ms < c.queued_ms || (o->queued_ms == c.queued_ms && o->order < c.order))))
      ++ahead;
  }
  return ahead;
}

const DeskAgent* DeskState::LeastLoaded(const std::string& tenant_id,
                                        const std::function<bool(const DeskAgent&)>& fits) const {
  const DeskAgent* best = nullptr;
  for (const auto& [k, a] : agents_) {
    if (a->agent.tenant_id != tenant_id || a->presence != Presence::kOnline || a->agent.role != Role::kAgent) continue;
    // Only agents whose workspace is connected: a closed browser tab must not collect chats.
    if (!a->WorkspaceConnected()) continue;
    if (static_cast<int>(a->chats.size()) >= a->agent.max_chats || !fits(*a)) continue;
    if (!best || a->chats.size() < best->chats.size() ||
        (a->chats.size() == best->chats.size() && a->last_assigned_ms < best->last_assigned_ms))
      best = a.get();
  }
  return best;
}

// ---- conversations ------------------------------------------------------------

const DeskConv* DeskState::Find(const std::string& id) const {
  auto it = convs_.find(id);
  return it == convs_.end() ? nullptr : it->second.get();
}

void DeskState::Restore(DeskConv c) {
  if (c.order == 0) c.order = NextOrder();
  if (c.status == ConvStatus::kHuman) {
    if (DeskAgent* a = AgentMut(c.tenant_id, c.agent_id)) a->chats.insert(c.id);
  } else {
    ++queued_;
  }
  const std::string id = c.id;
  convs_[id] = std::make_unique<DeskConv>(std::move(c));
}

std::optional<std::string> DeskState::Reserve(const DeskConv& c) {
  const DeskAgent* pick = LeastLoaded(c.tenant_id, [&](const DeskAgent& x) { return Eligible(x, c); });
  if (!pick) return std::nullopt;
  DeskAgent* a = AgentMut(pick->agent.tenant_id, pick->agent.id);
  a->chats.insert(c.id);  // reserved: a concurrent pick sees the load
  return a->agent.id;
}

void DeskState::Unreserve(const std::string& tenant_id, const std::string& agent_id,
                          const std::string& conversation_id) {
  if (DeskAgent* a = AgentMut(tenant_id, agent_id)) a->chats.erase(conversation_id);
}

const DeskConv& DeskState::Place(DeskConv c, const std::string& agent_id) {
  if (c.order == 0) c.order = NextOrder();
  c.status = ConvStatus::kQueued;
  c.agent_id.clear();
  auto& slot = convs_[c.id];
  if (slot && slot->status == ConvStatus::kQueued) --queued_;  // replaced (never, as admissions are serial)
  slot = std::make_unique<DeskConv>(std::move(c));
  DeskConv& placed = *slot;
  board_dirty_.insert(placed.tenant_id);
  if (!agent_id.empty()) {
    if (DeskAgent* to = AgentMut(placed.tenant_id, agent_id)) {
      placed.status = ConvStatus::kHuman;
      placed.agent_id = agent_id;
      to->chats.insert(placed.id);
      to->last_assigned_ms = clock_.NowMs();
      events_.Assigned(placed, *to);
      return placed;
    }
  }
  ++queued_;
  events_.Queued(placed, Watchers(placed));
  return placed;
}

Result<DeskState::AcceptCheck> DeskState::CheckAccept(const Agent& me, const DeskConv& c, bool takeover) const {
  const DeskAgent* a = FindAgent(me.tenant_id, me.id);
  if (!a) return NotFound("not_found: agent does not exist");
  AcceptCheck out;
  if (!takeover) {
    if (c.status != ConvStatus::kQueued)
      return Conflict("already_assigned: conversation " + c.id + " was accepted by another agent");
    if (!Eligible(*a, c)) return PermissionDenied("not_eligible: the queue " + c.queue + " needs skill " + c.skill);
    if (me.role == Role::kAgent && static_cast<int>(a->chats.size()) >= a->agent.max_chats)
      return Conflict("at_capacity: you already serve " + std::to_string(a->chats.size()) + " conversations");
  } else if (c.status == ConvStatus::kHuman && c.agent_id == me.id) {
    out.mine = true;
    out.expected_agent = me.id;
    return out;
  }
  out.expected_agent = c.status == ConvStatus::kHuman ? c.agent_id : "";
  return out;
}

DeskState::Access DeskState::Check(const Agent& me, const std::string& conversation_id, bool allow_queued) const {
  const DeskConv* c = Find(conversation_id);
  if (!c || c->tenant_id != me.tenant_id) return Access::kNotHere;
  if (c->status == ConvStatus::kHuman && c->agent_id == me.id) return Access::kAllowed;
  if (me.role != Role::kAgent) return Access::kAllowed;
  if (allow_queued && c->status == ConvStatus::kQueued) {
    const DeskAgent* a = FindAgent(me.tenant_id, me.id);
    if (a && Eligible(*a, *c)) return Access::kAllowed;
  }
  return Access::kDenied;
}

const DeskConv* DeskState::Assign(const std::string& conversation_id, const std::string& agent_id, bool auto_assigned) {
  auto it = convs_.find(conversation_id);
  if (it == convs_.end()) return nullptr;
  DeskConv& c = *it->second;
  DeskAgent* to = AgentMut(c.tenant_id, agent_id);
  if (!to) return nullptr;
  if (c.status == ConvStatus::kQueued) {
    --queued_;
    events_.QueueRemoved(c, Watchers(c));
  } else if (DeskAgent* from = AgentMut(c.tenant_id, c.agent_id); from && from != to) {
    from->chats.erase(c.id);
    events_.Unassigned(c, *from);
  }
  c.status = ConvStatus::kHuman;
  c.agent_id = to->agent.id;
  c.updated_ms = clock_.NowMs();
  to->chats.insert(c.id);
  board_dirty_.insert(c.tenant_id);
  events_.Assigned(c, *to);
  if (auto_assigned) to->last_assigned_ms = clock_.NowMs();
  return &c;
}

const DeskConv* DeskState::Requeue(const std::string& conversation_id, const std::string& queue,
                                   const std::string& skill) {
  auto it = convs_.find(conversation_id);
  if (it == convs_.end()) return nullptr;
  DeskConv& c = *it->second;
  if (DeskAgent* from = AgentMut(c.tenant_id, c.agent_id)) {
    from->chats.erase(c.id);
    events_.Unassigned(c, *from);
  }
  if (c.status == ConvStatus::kHuman) ++queued_;
  c.status = ConvStatus::kQueued;
  c.agent_id.clear();
  c.queue = queue;
  c.skill = skill;
  c.queued_ms = clock_.NowMs();
  c.long_wait_alerted = false;
  board_dirty_.insert(c.tenant_id);
  events_.Queued(c, Watchers(c));
  return &c;
}

std::optional<DeskConv> DeskState::Release(const std::string& conversation_id, bool redispatch) {
  auto it = convs_.find(conversation_id);
  if (it == convs_.end()) return std::nullopt;
  std::unique_ptr<DeskConv> c = std::move(it->second);
  convs_.erase(it);
  Forget(*c, redispatch);
  c->status = ConvStatus::kOpen;
  c->agent_id.clear();
  c->queue.clear();
  return std::move(*c);
}

void DeskState::Forget(const DeskConv& c, bool redispatch) {
  if (c.status == ConvStatus::kHuman) {
    if (DeskAgent* a = AgentMut(c.tenant_id, c.agent_id)) {
      a->chats.erase(c.id);
      events_.Unassigned(c, *a);
    }
  } else {
    --queued_;
    events_.QueueRemoved(c, Watchers(c));
  }
  board_dirty_.insert(c.tenant_id);
  if (redispatch) dispatch_due_.insert(c.tenant_id);  // a slot freed
  events_.Left(c);
}

void DeskState::Touch(const std::string& conversation_id, int64_t ms, bool customer) {
  auto it = convs_.find(conversation_id);
  if (it == convs_.end()) return;
  DeskConv& c = *it->second;
  c.updated_ms = ms;
  if (c.status == ConvStatus::kQueued && customer) events_.Queued(c, Watchers(c));
}

const DeskAgent* DeskState::ServedBy(const DeskConv& c) const {
  if (c.status != ConvStatus::kHuman) return nullptr;
  return FindAgent(c.tenant_id, c.agent_id);
}

DeskEvents::Agents DeskState::Watchers(const DeskConv& c) const {
  DeskEvents::Agents out;
  for (const auto& [k, a] : agents_)
    if (a->WorkspaceConnected() && Eligible(*a, c)) out.push_back(a.get());
  return out;
}

DeskEvents::Agents DeskState::Supervisors(const std::string& tenant_id) const {
  DeskEvents::Agents out;
  for (const auto& [k, a] : agents_)
    if (a->WorkspaceConnected() && a->agent.tenant_id == tenant_id && a->agent.role != Role::kAgent)
      out.push_back(a.get());
  return out;
}

void DeskState::Merge(const std::vector<DeskConv>& stored) {
  std::map<std::string, const DeskConv*> rows;
  for (const auto& r : stored) rows.emplace(r.id, &r);
  // Gone from the database's queues: closed, or handed back to the bot, elsewhere.
  for (auto it = convs_.begin(); it != convs_.end();) {
    if (rows.count(it->first) || admitting_.count(it->first)) {
      ++it;
      continue;
    }
    std::unique_ptr<DeskConv> gone = std::move(it->second);
    it = convs_.erase(it);
    Forget(*gone, /*redispatch=*/true);
  }
  for (const auto& [id, r] : rows) {
    if (admitting_.count(id)) continue;
    auto it = convs_.find(id);
    if (it == convs_.end()) {
      // Queued or assigned on another node.
      auto c = std::make_unique<DeskConv>(*r);
      c->order = NextOrder();
      c->long_wait_alerted = false;
      if (c->status != ConvStatus::kHuman) c->agent_id.clear();
      DeskConv& placed = *c;
      convs_[id] = std::move(c);
      board_dirty_.insert(placed.tenant_id);
      if (placed.status == ConvStatus::kQueued) {
        ++queued_;
        dispatch_due_.insert(placed.tenant_id);
        events_.Queued(placed, Watchers(placed));
      } else if (DeskAgent* a = AgentMut(placed.tenant_id, placed.agent_id)) {
        a->chats.insert(id);
        events_.Assigned(placed, *a);
      }
      continue;
    }
    DeskConv& c = *it->second;
    const std::string agent = r->status == ConvStatus::kHuman ? r->agent_id : "";
    if (c.status == r->status && c.agent_id == agent) continue;
    // Accepted, transferred or queued again on another node.
    if (c.status == ConvStatus::kQueued) {
      --queued_;
      events_.QueueRemoved(c, Watchers(c));
    } else if (DeskAgent* from = AgentMut(c.tenant_id, c.agent_id)) {
      from->chats.erase(c.id);
      events_.Unassigned(c, *from);
    }
    c.status = r->status;
    c.agent_id = agent;
    c.queue = r->queue;
    c.skill = r->skill;
    c.priority = r->priority;
    c.queued_ms = r->queued_ms;
    c.updated_ms = r->updated_ms;
    board_dirty_.insert(c.tenant_id);
    if (c.status == ConvStatus::kQueued) {
      ++queued_;
      dispatch_due_.insert(c.tenant_id);
      events_.Queued(c, Watchers(c));
    } else if (DeskAgent* to = AgentMut(c.tenant_id, c.agent_id)) {
      to->chats.insert(c.id);
      events_.Assigned(c, *to);
    }
  }
}

std::optional<DeskState::Pick> DeskState::NextAssignment(const std::string& tenant,
                                                         const std::set<std::string>& skip) const {
  std::vector<const DeskConv*> waiting;
  for (const auto& [id, c] : convs_)
    if (c->status == ConvStatus::kQueued && c->tenant_id == tenant && !skip.count(id)) waiting.push_back(c.get());
  std::sort(waiting.begin(), waiting.end(), [](const DeskConv* x, const DeskConv* y) {
    if (x->priority != y->priority) return x->priority > y->priority;
    if (x->queued_ms != y->queued_ms) return x->queued_ms < y->queued_ms;
    if (x->order != y->order) return x->order < y->order;
    return x->id < y->id;
  });
  // Highest priority first, oldest first; one that no free agent can take
  // does not hold back the others (another skill may be free).
  for (const DeskConv* c : waiting)
    if (const DeskAgent* a = LeastLoaded(tenant, [&](const DeskAgent& x) { return Eligible(x, *c); }))
      return Pick{c->id, a->agent.id, a->agent.name};
  return std::nullopt;
}

const DeskAgent* DeskState::GroupTarget(const std::string& tenant, const std::string& current_agent,
                                        const std::vector<std::string>& group_skills) const {
  return LeastLoaded(tenant, [&](const DeskAgent& a) {
    if (a.agent.id == current_agent) return false;
    bool in_group = group_skills.empty();
    for (const auto& s : a.agent.skills)
      in_group |= std::find(group_skills.begin(), group_skills.end(), s) != group_skills.end();
    return in_group;
  });
}

// ---- views ------------------------------------------------------------------------

std::vector<const DeskConv*> DeskState::QueueFor(const Agent& me) const {
  const DeskAgent* a = FindAgent(me.tenant_id, me.id);
  std::vector<const DeskConv*> items;
  for (const auto& [id, c] : convs_)
    if (c->status == ConvStatus::kQueued && a && Eligible(*a, *c)) items.push_back(c.get());
  std::sort(items.begin(), items.end(), [](const DeskConv* x, const DeskConv* y) {
    if (x->priority != y->priority) return x->priority > y->priority;
    if (x->queued_ms != y->queued_ms) return x->queued_ms < y->queued_ms;
    return x->id < y->id;
  });
  return items;
}

std::vector<const DeskConv*> DeskState::ServedByAgent(const Agent& me) const {
  std::vector<const DeskConv*> out;
  if (const DeskAgent* a = FindAgent(me.tenant_id, me.id))
    for (const auto& id : a->chats)
      if (const DeskConv* c = Find(id)) out.push_back(c);
  return out;
}

BoardView DeskState::Board(const std::string& tenant_id) const {
  BoardView b;
  const int64_t now = clock_.NowMs();
  std::map<std::string, std::pair<int, int64_t>> queues;  // name → waiting, oldest wait
  for (const auto& [id, c] : convs_) {
    if (c->tenant_id != tenant_id || c->status != ConvStatus::kQueued) continue;
    auto& q = queues[c->queue];
    ++q.first;
    q.second = std::max(q.second, now - c->queued_ms);
  }
  for (const auto& [name, q] : queues) b.queues.push_back({name, q.first, q.second});
  for (const auto& [k, a] : agents_)
    if (a->agent.tenant_id == tenant_id) b.agents.push_back(a.get());
  if (auto it = alerts_.find(tenant_id); it != alerts_.end())
    for (auto a = it->second.rbegin(); a != it->second.rend(); ++a) b.alerts.push_back(*a);
  return b;
}

// ---- alerts and the clock ---------------------------------------------------------

void DeskState::RaiseAlert(const std::string& tenant_id, const std::string& kind, const std::string& conversation_id,
                           const std::string& text) {
  DeskAlert alert{"al_" + std::to_string(next_alert_++), kind, conversation_id, text, clock_.NowMs()};
  auto& q = alerts_[tenant_id];
  q.push_back(alert);
  while (q.size() > rules_.max_alerts) q.pop_front();
  board_dirty_.insert(tenant_id);
  events_.Alert(tenant_id, alert, Supervisors(tenant_id));
}

bool DeskState::ClaimLongWait(const std::string& conversation_id) {
  auto it = convs_.find(conversation_id);
  if (it == convs_.end() || it->second->long_wait_alerted) return false;
  it->second->long_wait_alerted = true;
  return true;
}

DeskState::TickOut DeskState::Tick() {
  const int64_t now = clock_.NowMs();
  for (auto& [id, c] : convs_) {
    if (c->status != ConvStatus::kQueued || c->long_wait_alerted) continue;
    if (now - c->queued_ms >= rules_.long_wait_alert_ms) {
      c->long_wait_alerted = true;
      RaiseAlert(c->tenant_id, "long_wait", c->id,
                 "客户已等待 " + std::to_string((now - c->queued_ms) / 60000) + " 分钟（队列 " + c->queue + "）");
    }
  }
  TickOut out;
  out.board_dirty.swap(board_dirty_);
  if (rules_.auto_assign)
    for (const auto& [id, c] : convs_)
      if (c->status == ConvStatus::kQueued) dispatch_due_.insert(c->tenant_id);
  out.dispatch_due.swap(dispatch_due_);
  return out;
}

}  // namespace kefu::agents
