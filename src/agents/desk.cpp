#include "agents/desk.h"

#include "tools/commerce_rows.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <regex>

#include "api/http_util.h"
#include "api/pii.h"
#include "common/json.h"
#include "common/log.h"

namespace kefu::agents {

using dialogue::GateVerdict;
using nlohmann::json;

struct Desk::ConvState {
  std::string id, tenant_id, customer_id, channel, status;  // status: queued | human
  std::string queue, skill, agent_id, reason;
  int priority = 0;
  int64_t queued_ms = 0, created_ms = 0, updated_ms = 0;
  json emotion = {{"label", "neutral"}, {"intensity", 0.0}, {"trend", "steady"}};
  json last_message;
  bool long_wait_alerted = false;
  // Order of admission: breaks ties between conversations queued in the same
  // millisecond (the first to ask is served first, not the smaller id).
  uint64_t order = 0;
};

namespace {
std::atomic<uint64_t> admissions{0};
}  // namespace

struct Desk::AgentState {
  Agent agent;
  std::string presence = "offline";
  std::set<std::string> chats;
  std::vector<std::weak_ptr<http::WsConnection>> conns;
  int64_t last_assigned_ms = 0;  // auto assignment: ties go to the longest without a new chat
};

class Desk::Listener final : public dialogue::Subscriber {
 public:
  explicit Listener(Desk* d) : desk_(d) {}
  void OnMessage(const dialogue::Message& m) override { desk_->OnMessage(m); }
  void OnDelta(const std::string&, int64_t, std::string_view) override {}
  void OnClosed(const dialogue::Conversation& c) override { desk_->OnClosed(c); }

 private:
  Desk* desk_;
};

namespace {

std::string Key(const std::string& tenant, const std::string& id) { return tenant + "/" + id; }

// Several nodes: a node's presence heartbeat (each tick) counts this long.
constexpr int64_t kPresenceTtlMs = 5'000;

std::string Frame(const json& j) { return api::DumpJson(j); }

json EmotionOf(const json& meta) {
  json e = {{"label", "neutral"}, {"intensity", 0.0}, {"trend", "steady"}};
  if (meta.contains("analysis") && meta["analysis"].is_object()) {
    e["label"] = meta["analysis"].value("emotion", "neutral");
    e["intensity"] = meta["analysis"].value("emotion_intensity", 0.0);
  }
  if (meta.contains("decision") && meta["decision"].is_object() && meta["decision"].contains("facts")) {
    double slope = meta["decision"]["facts"].value("trend_slope", 0.0);
    e["trend"] = slope > 0.1 ? "rising" : slope < -0.1 ? "falling" : "steady";
  }
  return e;
}

// A Message of role "note" (notes live in agent_notes, never in the customer's history).
json NoteJson(int64_t id, const std::string& conversation_id, const std::string& text, const std::string& agent_id,
              const std::string& agent_name, int64_t created_ms) {
  return {{"id", id},           {"conversation_id", conversation_id},
          {"seq", 0},           {"role", "note"},
          {"text", text},       {"client_msg_id", nullptr},
          {"reply_to", nullptr}, {"created_ms", created_ms},
          {"meta", {{"agent", {{"id", agent_id}, {"name", agent_name}}}}}};
}

// A message for queue items and summaries, which go to many agents at once:
// no decision (the full message is in the detail and in message frames).
json Brief(const dialogue::Message& m) {
  json meta = json::object();
  if (m.meta.contains("analysis")) meta["analysis"] = m.meta["analysis"];
  return {{"id", m.id},     {"conversation_id", m.conversation_id}, {"seq", m.seq},
          {"role", m.role}, {"text", m.text},                       {"created_ms", m.created_ms},
          {"meta", meta}};
}

std::string AlertKindFor(const std::string& rule_id) {
  if (rule_id.find("wait") != std::string::npos) return "long_wait";
  if (rule_id.find("repeat") != std::string::npos) return "repeated_escalation";
  return "anger_spike";
}

}  // namespace

Desk::Desk(const DeskDeps& d, DeskSettings settings)
    : db_(d.db),
      store_(d.store),
      hub_(d.hub),
      accounts_(d.accounts),
      kb_(d.kb),
      clock_(d.clock),
      rules_(d.rules),
      settings_(settings),
      handoffs_(d.metrics.GetCounter("kefu_handoffs_total", "Conversations routed to a human queue")),
      accepts_(d.metrics.GetCounter("kefu_agent_accepts_total", "Conversations accepted by an agent")),
      agent_frames_(d.metrics.GetCounter("kefu_agent_frames_total", "Frames sent to agent WebSockets")),
      queued_gauge_(d.metrics.GetGauge("kefu_queued_conversations", "Conversations waiting for an agent")),
      auto_assigned_(d.metrics.GetCounter("kefu_auto_assignments_total", "Conversations assigned to an agent automatically")),
      assist_calls_(d.metrics.GetCounter("kefu_agent_assist_calls_total", "LLM assist calls (summaries, reply drafts)")),
      assist_failures_(d.metrics.GetCounter("kefu_agent_assist_failures_total", "LLM assist calls that failed")) {
  if (d.bus && d.bus->Distributed()) bus_ = d.bus;
  if (d.llm && settings_.llm_assist) {
    assist_ = std::make_unique<AgentAssist>(*d.llm);
    assist_pool_ = std::make_unique<ThreadPool>(std::max(1, settings_.assist_threads), "assist");
  }
}

Result<std::unique_ptr<Desk>> Desk::Create(const DeskDeps& deps, DeskSettings settings) {
  std::unique_ptr<Desk> d(new Desk(deps, settings));
  KEFU_RETURN_IF_ERROR(d->Load());
  d->listener_ = std::make_shared<Listener>(d.get());
  deps.hub.SubscribeAll(d->listener_);
  if (d->bus_) {
    bus::SubscribeOptions o;
    o.own_events = false;
    Desk* desk = d.get();
    auto id = d->bus_->Subscribe(
        "desk.presence", [desk](const bus::Event& e) { desk->OnPresence(e.payload); }, o);
    if (id.ok())
      d->presence_sub_ = *id;
    else
      log::Warn("desk_presence_unavailable", {{"error", id.status().ToString()}});
  }
  return d;
}

Desk::~Desk() {
  Stop();
  if (bus_ && presence_sub_) bus_->Unsubscribe(presence_sub_);
  if (assist_pool_) assist_pool_->Shutdown();  // its tasks use the desk
}

Status Desk::Load() {
  KEFU_ASSIGN_OR_RETURN(auto all, accounts_.ListAll());
  std::lock_guard lock(mu_);
  for (auto& a : all) {
    auto st = std::make_unique<AgentState>();
    st->agent = a;
    agents_[Key(a.tenant_id, a.id)] = std::move(st);
  }
  auto s = db_.Lock();
  auto& q = s.Prepare(
      "SELECT id, tenant_id, customer_id, channel, status, COALESCE(queue, ''), COALESCE(queue_skill, ''), "
      "COALESCE(assigned_agent_id, ''), queue_priority, COALESCE(queued_ms, 0), created_ms, updated_ms, "
      "COALESCE(handoff_json, '{}') FROM conversations WHERE status IN ('queued', 'human')");
  for (;;) {
    KEFU_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    auto c = std::make_unique<ConvState>();
    c->order = ++admissions;
    c->id = q.Text(0);
    c->tenant_id = q.Text(1);
    c->customer_id = q.Text(2);
    c->channel = q.Text(3);
    c->status = q.Text(4);
    c->queue = q.Text(5);
    c->skill = q.Text(6);
    c->agent_id = q.Text(7);
    c->priority = static_cast<int>(q.Int(8));
    c->queued_ms = q.Int(9);
    c->created_ms = q.Int(10);
    c->updated_ms = q.Int(11);
    json h = ParseJsonOrDiscarded(q.Text(12));
    if (h.is_object()) c->reason = h.value("reason", "");
    if (c->status == "human")
      if (auto it = agents_.find(Key(c->tenant_id, c->agent_id)); it != agents_.end()) it->second->chats.insert(c->id);
    convs_[c->id] = std::move(c);
  }
  q.Reset();
  return Status::Ok();
}

void Desk::Start() {
  std::lock_guard lock(tick_mu_);
  if (ticker_.joinable()) return;
  stopping_ = false;
  ticker_ = std::thread([this] {
    int64_t last_reload = clock_.NowMs();
    std::unique_lock lock(tick_mu_);
    while (!stopping_) {
      tick_cv_.wait_for(lock, std::chrono::milliseconds(1000));
      if (stopping_) break;
      lock.unlock();
      Tick();
      if (rules_ && clock_.NowMs() - last_reload >= settings_.reload_interval_ms) {
        ReloadRules();
        last_reload = clock_.NowMs();
      }
      lock.lock();
    }
  });
}

void Desk::Stop() {
  {
    std::lock_guard lock(tick_mu_);
    stopping_ = true;
  }
  tick_cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

void Desk::ReloadRules() {
  if (!settings_.rules_dir.empty()) {
    std::error_code ec;
    for (const auto& f : std::filesystem::directory_iterator(settings_.rules_dir, ec)) {
      if (f.path().extension() != ".toml" || !rule_files_.insert(f.path().string()).second) continue;
      // A new tenant file: Load() parses it now (and watches it, even when rejected).
      (void)rules_->Load(f.path().stem().string(), f.path().string());
    }
  }
  (void)rules_->ReloadIfChanged();
}

void Desk::Tick() {
  if (bus_) {
    PublishPresence();
    Resync();
  }
  std::set<std::string> dirty, due;
  {
    std::lock_guard lock(mu_);
    const int64_t now = clock_.NowMs();
    for (auto& [id, c] : convs_) {
      if (c->status != "queued" || c->long_wait_alerted) continue;
      if (now - c->queued_ms >= settings_.long_wait_alert_ms) {
        c->long_wait_alerted = true;
        AlertLocked(c->tenant_id, "long_wait", c->id,
                    "客户已等待 " + std::to_string((now - c->queued_ms) / 60000) + " 分钟（队列 " + c->queue + "）");
      }
    }
    dirty.swap(board_dirty_);
    if (settings_.auto_assign)
      for (const auto& [id, c] : convs_)
        if (c->status == "queued") dispatch_due_.insert(c->tenant_id);
    due.swap(dispatch_due_);
  }
  for (const auto& tenant : due) Dispatch(tenant);
  for (const auto& tenant : dirty) {
    json board = Board(tenant);
    std::lock_guard lock(mu_);
    SendToSupervisorsLocked(tenant, Frame({{"type", "board"}, {"board", board}}));
  }
}

// ---- several nodes ----------------------------------------------------------------

void Desk::PublishPresence() {
  json online = json::array();
  {
    std::lock_guard lock(mu_);
    for (const auto& [k, a] : agents_)
      if (a->presence == "online") online.push_back(k);
  }
  Status st = bus_->Publish("desk.presence", json{{"node", bus_->NodeId()}, {"online", online}}.dump());
  if (!st.ok()) log::Debug("desk_presence_not_sent", {{"error", st.ToString()}});
}

void Desk::OnPresence(const std::string& payload) {
  json j = ParseJsonOrDiscarded(payload);
  if (!j.is_object() || !j.contains("online") || !j["online"].is_array()) return;
  std::set<std::string> online;
  for (const auto& k : j["online"])
    if (k.is_string()) online.insert(k.get<std::string>());
  std::lock_guard lock(mu_);
  auto& slot = remote_online_[j.value("node", "")];
  const bool more = std::any_of(online.begin(), online.end(), [&](const auto& k) { return !slot.second.count(k); });
  slot = {clock_.NowMs(), std::move(online)};
  if (more)
    for (const auto& k : slot.second)
      if (auto it = agents_.find(k); it != agents_.end()) board_dirty_.insert(it->second->agent.tenant_id);
}

void Desk::Resync() {
  std::unique_lock sync(sync_mu_);
  struct Row {
    std::string tenant_id, customer_id, channel, status, queue, skill, agent_id, reason;
    int priority = 0;
    int64_t queued_ms = 0, created_ms = 0, updated_ms = 0;
  };
  std::map<std::string, Row> rows;
  {
    auto s = db_.Read();
    auto& q = s.Prepare(
        "SELECT id, tenant_id, customer_id, channel, status, COALESCE(queue, ''), COALESCE(queue_skill, ''), "
        "COALESCE(assigned_agent_id, ''), queue_priority, COALESCE(queued_ms, 0), created_ms, updated_ms, "
        "COALESCE(handoff_json, '{}') FROM conversations WHERE status IN ('queued', 'human')");
    for (;;) {
      auto row = q.Step();
      if (!row.ok()) {
        q.Reset();
        log::Warn("desk_resync_failed", {{"error", row.status().ToString()}});
        return;
      }
      if (!*row) break;
      Row r{q.Text(1), q.Text(2), q.Text(3), q.Text(4), q.Text(5), q.Text(6), q.Text(7), ""};
      r.priority = static_cast<int>(q.Int(8));
      r.queued_ms = q.Int(9);
      r.created_ms = q.Int(10);
      r.updated_ms = q.Int(11);
      json h = ParseJsonOrDiscarded(q.Text(12));
      if (h.is_object()) r.reason = h.value("reason", "");
      rows.emplace(q.Text(0), std::move(r));
    }
    q.Reset();
  }
  std::lock_guard lock(mu_);
  // Gone from the database's queues: closed, or handed back to the bot, elsewhere.
  for (auto it = convs_.begin(); it != convs_.end();) {
    if (rows.count(it->first) || admitting_.count(it->first)) {
      ++it;
      continue;
    }
    ForgetLocked(*it->second);
    it = convs_.erase(it);
  }
  for (auto& [id, r] : rows) {
    if (admitting_.count(id)) continue;
    auto it = convs_.find(id);
    if (it == convs_.end()) {
      // Queued or assigned on another node.
      auto c = std::make_unique<ConvState>();
      c->order = ++admissions;
      c->id = id;
      c->tenant_id = r.tenant_id;
      c->customer_id = r.customer_id;
      c->channel = r.channel;
      c->status = r.status;
      c->queue = r.queue;
      c->skill = r.skill;
      c->agent_id = r.status == "human" ? r.agent_id : "";
      c->priority = r.priority;
      c->queued_ms = r.queued_ms;
      c->created_ms = r.created_ms;
      c->updated_ms = r.updated_ms;
      c->reason = r.reason;
      ConvState& placed = *c;
      convs_[id] = std::move(c);
      (void)CustomerLocked(r.tenant_id, r.customer_id);  // name and tier for the frames (cached)
      board_dirty_.insert(r.tenant_id);
      if (placed.status == "queued") {
        queued_gauge_.Add(1);
        dispatch_due_.insert(r.tenant_id);
        SendToEligibleLocked(placed, Frame({{"type", "queue"}, {"item", QueueItemLocked(placed)}}));
      } else if (AgentState* a = AgentLocked(r.tenant_id, placed.agent_id)) {
        a->chats.insert(id);
        SendToAgentLocked(*a, Frame({{"type", "assigned"}, {"conversation", SummaryLocked(placed)}}));
      }
      continue;
    }
    ConvState& c = *it->second;
    const std::string agent = r.status == "human" ? r.agent_id : "";
    if (c.status == r.status && c.agent_id == agent) continue;
    // Accepted, transferred or queued again on another node.
    if (c.status == "queued") {
      queued_gauge_.Add(-1);
      SendToEligibleLocked(c, Frame({{"type", "queue_removed"}, {"conversation_id", c.id}}));
    } else if (AgentState* from = AgentLocked(c.tenant_id, c.agent_id)) {
      from->chats.erase(c.id);
      SendToAgentLocked(*from, Frame({{"type", "unassigned"}, {"conversation_id", c.id}}));
    }
    c.status = r.status;
    c.agent_id = agent;
    c.queue = r.queue;
    c.skill = r.skill;
    c.priority = r.priority;
    c.queued_ms = r.queued_ms;
    c.updated_ms = r.updated_ms;
    board_dirty_.insert(c.tenant_id);
    if (c.status == "queued") {
      queued_gauge_.Add(1);
      dispatch_due_.insert(c.tenant_id);
      SendToEligibleLocked(c, Frame({{"type", "queue"}, {"item", QueueItemLocked(c)}}));
    } else if (AgentState* to = AgentLocked(c.tenant_id, c.agent_id)) {
      to->chats.insert(c.id);
      SendToAgentLocked(*to, Frame({{"type", "assigned"}, {"conversation", SummaryLocked(c)}}));
    }
  }
}

// ---- memory helpers ----------------------------------------------------------

Desk::AgentState* Desk::AgentLocked(const std::string& tenant_id, const std::string& id) {
  auto it = agents_.find(Key(tenant_id, id));
  return it == agents_.end() ? nullptr : it->second.get();
}

bool Desk::EligibleLocked(const AgentState& a, const ConvState& c) const {
  if (a.agent.tenant_id != c.tenant_id) return false;
  if (a.agent.role != Role::kAgent) return true;
  if (c.skill.empty()) return true;
  return std::find(a.agent.skills.begin(), a.agent.skills.end(), c.skill) != a.agent.skills.end();
}

int Desk::PositionLocked(const ConvState& c) const {
  int ahead = 0;
  for (const auto& [id, o] : convs_) {
    if (o->status != "queued" || o->tenant_id != c.tenant_id || o->queue != c.queue || o->id == c.id) continue;
    if (o->priority > c.priority ||
        (o->priority == c.priority && (o->queued_ms < c.queued_ms || (o->queued_ms == c.queued_ms && o->order < c.order))))
      ++ahead;
  }
  return ahead;
}

int Desk::OnlineFor(const ConvState& c) const {
  // Online here, or (several nodes) online on another node that said so in
  // the last few seconds.
  std::set<std::string> online;
  for (const auto& [k, a] : agents_)
    if (a->presence == "online") online.insert(k);
  const int64_t now = clock_.NowMs();
  for (const auto& [node, heard] : remote_online_)
    if (now - heard.first <= kPresenceTtlMs) online.insert(heard.second.begin(), heard.second.end());
  int n = 0;
  for (const auto& k : online)
    if (auto it = agents_.find(k);
        it != agents_.end() && it->second->agent.role == Role::kAgent && EligibleLocked(*it->second, c))
      ++n;
  if (n == 0)  // supervisors serve every queue, but only when no agent can
    for (const auto& k : online)
      if (auto it = agents_.find(k); it != agents_.end() && EligibleLocked(*it->second, c)) ++n;
  return n;
}

json Desk::AgentJsonLocked(const AgentState& a) const {
  json j = a.agent.ToJson();
  j["presence"] = a.presence;
  j["active_chats"] = a.chats.size();
  // Automatic assignment skips an online agent whose workspace is not open.
  j["workspace_connected"] = std::any_of(a.conns.begin(), a.conns.end(), [](const auto& w) { return !w.expired(); });
  return j;
}

json Desk::CustomerLocked(const std::string& tenant_id, const std::string& customer_id) {
  const std::string key = Key(tenant_id, customer_id);
  if (auto it = customers_.find(key); it != customers_.end()) return it->second;
  json c = {{"id", customer_id}, {"name", customer_id}, {"tier", "normal"}};
  auto s = db_.Read();
  auto record = tools::rows::GetCustomerRecord(s, tenant_id, customer_id);
  if (record.ok() && *record) {
    c["name"] = (*record)->name;
    c["tier"] = (*record)->tier;
  }
  if (customers_.size() > 100'000) customers_.clear();
  customers_[key] = c;
  return c;
}

json Desk::QueueItemLocked(const ConvState& c) const {
  auto it = customers_.find(Key(c.tenant_id, c.customer_id));
  json customer = it != customers_.end() ? it->second : json{{"id", c.customer_id}, {"name", c.customer_id}, {"tier", "normal"}};
  return {{"conversation_id", c.id}, {"customer", customer},    {"queue", c.queue},
          {"skill", c.skill},        {"priority", c.priority},  {"waiting_since_ms", c.queued_ms},
          {"reason", c.reason},      {"emotion", c.emotion},    {"last_message", c.last_message}};
}

json Desk::SummaryLocked(const ConvState& c) const {
  auto it = customers_.find(Key(c.tenant_id, c.customer_id));
  json customer = it != customers_.end() ? it->second : json{{"id", c.customer_id}, {"name", c.customer_id}, {"tier", "normal"}};
  json conv = {{"id", c.id},
               {"tenant_id", c.tenant_id},
               {"customer_id", c.customer_id},
               {"channel", c.channel},
               {"status", c.status},
               {"created_ms", c.created_ms},
               {"updated_ms", c.updated_ms},
               {"assigned_agent_id", c.agent_id.empty() ? json(nullptr) : json(c.agent_id)},
               {"queue", c.queue.empty() ? json(nullptr) : json(c.queue)}};
  return {{"conversation", conv}, {"customer", customer}, {"emotion", c.emotion}, {"last_message", c.last_message}};
}

void Desk::SendToAgentLocked(const AgentState& a, const std::string& frame) {
  for (const auto& w : a.conns)
    if (auto c = w.lock()) {
      c->Send(frame);
      agent_frames_.Inc();
    }
}

void Desk::SendToEligibleLocked(const ConvState& c, const std::string& frame) {
  for (const auto& [k, a] : agents_)
    if (!a->conns.empty() && EligibleLocked(*a, c)) SendToAgentLocked(*a, frame);
}

void Desk::SendToSupervisorsLocked(const std::string& tenant_id, const std::string& frame) {
  for (const auto& [k, a] : agents_)
    if (!a->conns.empty() && a->agent.tenant_id == tenant_id && a->agent.role != Role::kAgent)
      SendToAgentLocked(*a, frame);
}

void Desk::AlertLocked(const std::string& tenant_id, const std::string& kind, const std::string& conversation_id,
                       const std::string& text) {
  json alert = {{"id", "al_" + std::to_string(next_alert_++)},
                {"kind", kind},
                {"conversation_id", conversation_id},
                {"text", text},
                {"created_ms", clock_.NowMs()}};
  auto& q = alerts_[tenant_id];
  q.push_back(alert);
  while (q.size() > settings_.max_alerts) q.pop_front();
  board_dirty_.insert(tenant_id);
  SendToSupervisorsLocked(tenant_id, Frame({{"type", "alert"}, {"alert", alert}}));
  log::Info("agent_alert", {{"tenant_id", tenant_id}, {"kind", kind}, {"conversation_id", conversation_id}});
}

Result<Desk::ConvState*> Desk::AccessLocked(const Agent& me, const std::string& conversation_id, bool allow_queued) {
  auto it = convs_.find(conversation_id);
  if (it == convs_.end() || it->second->tenant_id != me.tenant_id) {
    // Not in human service: exists for this tenant? (then: not assigned)
    auto c = store_.Get(me.tenant_id, conversation_id);
    if (!c.ok()) return NotFound("not_found: conversation " + conversation_id + " does not exist");
    return PermissionDenied("not_assigned: conversation " + conversation_id + " is not assigned to you");
  }
  ConvState* c = it->second.get();
  if (c->status == "human" && c->agent_id == me.id) return c;
  if (me.role != Role::kAgent) return c;
  if (allow_queued && c->status == "queued") {
    AgentState* a = AgentLocked(me.tenant_id, me.id);
    if (a && EligibleLocked(*a, *c)) return c;
  }
  return PermissionDenied("not_assigned: conversation " + conversation_id + " is not assigned to you");
}

Result<dialogue::Message> Desk::SystemMessage(const std::string& conversation_id, const std::string& text,
                                              const json& meta) {
  auto m = store_.AppendMessage(conversation_id, "system", text, std::nullopt, meta);
  if (m.ok()) hub_.PublishMessage(*m);
  return m;
}

// ---- TurnGate ----------------------------------------------------------------

dialogue::GateFacts Desk::Facts(const dialogue::Conversation& conv) {
  dialogue::GateFacts f;
  std::lock_guard lock(mu_);
  f.customer_tier = CustomerLocked(conv.tenant_id, conv.customer_id).value("tier", "normal");
  if (auto it = convs_.find(conv.id); it != convs_.end() && it->second->status == "queued")
    f.wait_ms = clock_.NowMs() - it->second->queued_ms;
  return f;
}

GateVerdict Desk::Admit(const dialogue::Conversation& conv, const dialogue::Message& msg, const json& decision,
                        json& context) {
  GateVerdict v;
  // Alerts asked for by the rules, whoever answers.
  std::vector<std::pair<std::string, std::string>> alerts;  // kind, text
  const json* transfer = nullptr;
  int priority = 0;
  if (decision.is_object() && decision.contains("actions"))
    for (const auto& a : decision["actions"]) {
      const std::string kind = a.value("action", "");
      if (kind == "alert_supervisor") alerts.emplace_back(AlertKindFor(a.value("rule", "")), a.value("alert", ""));
      if (kind == "transfer" && !transfer) transfer = &a;
      if (kind == "transfer" || kind == "raise_priority") priority = std::max(priority, a.value("priority", 0));
    }

  std::shared_lock sync(sync_mu_);
  std::unique_lock lock(mu_);
  for (auto& [kind, text] : alerts) {
    // long_wait alerts from the rules and the tick are the same event: once per wait.
    if (kind == "long_wait") {
      auto it = convs_.find(conv.id);
      if (it == convs_.end() || it->second->long_wait_alerted) continue;
      it->second->long_wait_alerted = true;
    }
    AlertLocked(conv.tenant_id, kind, conv.id, text + "：" + msg.text);
  }
  if (auto it = convs_.find(conv.id); it != convs_.end()) {
    v.kind = GateVerdict::Kind::kSilent;  // a human serves it, or it waits for one
    return v;
  }
  if (conv.status == "queued" || conv.status == "human") {
    // Queued or served through another node, not in this node's view yet
    // (the next tick's Resync brings it): the bot stays silent all the same.
    v.kind = GateVerdict::Kind::kSilent;
    return v;
  }
  if (context.value("leave_message", false)) {
    context.erase("leave_message");
    lock.unlock();
    auto s = db_.Lock();
    if (tools::rows::RecordHandoffRequest(s, {conv.tenant_id, conv.id, conv.customer_id, msg.text, 0}, "follow_up",
                                          clock_.NowMs())
            .ok()) {
      v.kind = GateVerdict::Kind::kNotice;
      v.text = "已收到您的留言，客服上线后会尽快联系您。您也可以继续向智能助手提问。";
      v.meta = {{"follow_up", true}};
    }
    return v;
  }
  if (!transfer) return v;

  auto state = std::make_unique<ConvState>();
  ConvState& c = *state;
  c.order = ++admissions;
  c.id = conv.id;
  c.tenant_id = conv.tenant_id;
  c.customer_id = conv.customer_id;
  c.channel = conv.channel;
  c.status = "queued";
  c.queue = transfer->value("queue", "general");
  c.skill = transfer->value("skill", "");
  c.priority = priority;
  c.reason = transfer->value("rule", "");
  c.queued_ms = clock_.NowMs();
  c.created_ms = conv.created_ms;
  c.updated_ms = c.queued_ms;
  c.emotion = EmotionOf(msg.meta);
  c.last_message = Brief(msg);
  (void)CustomerLocked(conv.tenant_id, conv.customer_id);
  const int online = OnlineFor(c);
  int escalations = context.value("escalations", 0) + 1;
  context["escalations"] = escalations;
  if (escalations >= 2)
    AlertLocked(conv.tenant_id, "repeated_escalation", conv.id,
                "第 " + std::to_string(escalations) + " 次转人工：" + msg.text);
  if (online == 0) {
    context["leave_message"] = true;
    v.kind = GateVerdict::Kind::kNotice;
    v.text = "非常抱歉，当前暂无在线的人工客服。您可以直接在这里留言（下一条消息），我们会尽快联系您；"
             "也可以继续向智能助手提问。";
    v.meta = {{"handoff", true}, {"queue", c.queue}, {"leave_message", true}};
    return v;
  }
  admitting_.insert(c.id);  // Resync leaves it to this Admit
  lock.unlock();
  struct Admitted {
    Desk* d;
    std::string id;
    ~Admitted() {
      std::lock_guard l(d->mu_);
      d->admitting_.erase(id);
    }
  } admitted{this, c.id};
  json handoff = ExtractiveHandoff(conv, msg, c.reason, context);

  // Auto assignment: straight to the least-loaded eligible agent with room.
  std::string target, target_name;
  if (settings_.auto_assign) {
    std::lock_guard pick(mu_);
    if (AgentState* a = LeastLoadedLocked(c.tenant_id, [&](const AgentState& x) { return EligibleLocked(x, c); })) {
      target = a->agent.id;
      target_name = a->agent.name;
      a->chats.insert(c.id);  // reserved: a concurrent pick sees the load
    }
  }
  auto unreserve = [&] {
    if (target.empty()) return;
    std::lock_guard undo(mu_);
    if (AgentState* a = AgentLocked(c.tenant_id, target)) a->chats.erase(c.id);
  };
  bool written;
  {
    auto s = db_.Lock();
    auto& st = s.Prepare(
        "UPDATE conversations SET status = ?, queue = ?, queue_skill = ?, queue_priority = ?, queued_ms = ?, "
        "assigned_agent_id = NULLIF(?, ''), handoff_json = ?, updated_ms = ? WHERE id = ? AND status = 'open'");
    st.Bind(1, target.empty() ? "queued" : "human").Bind(2, c.queue).Bind(3, c.skill).Bind(4, c.priority);
    st.Bind(5, c.queued_ms).Bind(6, target).Bind(7, handoff.dump()).Bind(8, c.queued_ms).Bind(9, c.id);
    written = st.Run().ok() && s.Changes() == 1;
  }
  if (!written) {  // closed meanwhile: the bot answers
    unreserve();
    return v;
  }
  lock.lock();
  ConvState* placed = state.get();
  convs_[c.id] = std::move(state);
  // Only now: a summary finished before the conversation is in convs_ would
  // find nobody to push its frame to (the model answered faster than this
  // thread took the lock back: the agent never saw the summary).
  if (assist_) {
    const std::string tenant = c.tenant_id, id = c.id;
    (void)assist_pool_->Submit([this, tenant, id] { GenerateSummary(tenant, id); });
  }
  handoffs_.Inc();
  board_dirty_.insert(placed->tenant_id);
  if (!target.empty()) {
    AgentState* to = AgentLocked(placed->tenant_id, target);
    placed->status = "human";
    placed->agent_id = target;
    to->chats.insert(placed->id);
    to->last_assigned_ms = clock_.NowMs();
    SendToAgentLocked(*to, Frame({{"type", "assigned"}, {"conversation", SummaryLocked(*placed)}}));
    lock.unlock();
    auto_assigned_.Inc();
    // The notice is the customer's "who serves you" message (the same as after an accept).
    v.kind = GateVerdict::Kind::kNotice;
    v.text = "客服 " + target_name + " 为您服务";
    v.meta = {{"handoff", true},
              {"queue", c.queue},
              {"event", "assigned"},
              {"agent", {{"id", target}, {"name", target_name}}}};
    log::Info("handoff_assigned", {{"conversation_id", conv.id}, {"agent_id", target}});
    return v;
  }
  const int ahead = PositionLocked(*placed);
  const int64_t wait_ms = (ahead / std::max(1, online) + 1) * settings_.avg_handle_ms;
  const int64_t minutes = std::max<int64_t>(1, (wait_ms + 59'999) / 60'000);
  queued_gauge_.Add(1);
  SendToEligibleLocked(*placed, Frame({{"type", "queue"}, {"item", QueueItemLocked(*placed)}}));
  const std::string queue = placed->queue;
  lock.unlock();
  v.kind = GateVerdict::Kind::kNotice;
  // Never "前面还有 0 位": first in line is said as such.
  v.text = ahead == 0 ? "正在为您转接人工客服，您是下一位，预计等待约 " + std::to_string(minutes) + " 分钟。"
                      : "正在为您转接人工客服，您前面还有 " + std::to_string(ahead) + " 位，预计等待约 " +
                            std::to_string(minutes) + " 分钟。";
  v.meta = {{"handoff", true}, {"queue", queue}, {"position", ahead}, {"estimated_wait_ms", wait_ms}};
  log::Info("handoff_queued", {{"conversation_id", conv.id}, {"queue", queue}});
  return v;
}

json Desk::ExtractiveHandoff(const dialogue::Conversation& conv, const dialogue::Message& msg,
                             const std::string& reason, const json& context) {
  json handoff = {{"reason", reason}, {"rule_id", reason}, {"summary_source", "extractive"}};
  auto recent = store_.Recent(conv.id, 30);
  json trajectory = json::array(), tried = json::array(), facts = json::object();
  std::string intent;
  if (recent.ok()) {
    for (const auto& m : *recent) {
      if (m.role == "customer" && m.meta.contains("analysis")) {
        const auto& a = m.meta["analysis"];
        trajectory.push_back({{"seq", m.seq}, {"label", a.value("emotion", "neutral")},
                              {"intensity", a.value("emotion_intensity", 0.0)}});
        std::string in = a.value("intent", "");
        if (!in.empty() && in != "oos") intent = in;
      }
      if (m.role == "bot") {
        std::string what = m.meta.value("intent", m.meta.value("source", "answer"));
        std::string text = m.text.substr(0, std::min<size_t>(m.text.size(), 90));
        while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80) text.pop_back();
        if (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0xC0) text.pop_back();
        tried.push_back(what + ": " + text);
        if (m.meta.contains("order_id") && m.meta["order_id"].is_string()) facts["order_id"] = m.meta["order_id"];
      }
      static const std::regex kOrder("SO\\d{6,}");
      std::smatch sm;
      if (m.role == "customer" && std::regex_search(m.text, sm, kOrder)) facts["order_id"] = sm.str();
    }
  }
  if (context.contains("last_order_id") && context["last_order_id"].is_string())
    facts["order_id"] = context["last_order_id"];
  if (context.contains("last_products") && context["last_products"].is_array() && !context["last_products"].empty())
    facts["product"] = context["last_products"][0];
  if (intent.empty() && msg.meta.contains("analysis")) intent = msg.meta["analysis"].value("intent", "");
  handoff["intent"] = intent;
  handoff["facts"] = facts;
  handoff["emotion_trajectory"] = trajectory;
  handoff["bot_tried"] = tried;
  std::string labels;
  for (const auto& t : trajectory) labels += (labels.empty() ? "" : "→") + t["label"].get<std::string>();
  std::string summary = "转人工原因：" + reason + "。";
  if (!intent.empty()) summary += "意图：" + intent + "。";
  if (facts.contains("order_id")) summary += "订单：" + facts["order_id"].get<std::string>() + "。";
  if (facts.contains("product")) summary += "商品：" + facts["product"].get<std::string>() + "。";
  if (!labels.empty()) summary += "情绪：" + labels + "。";
  summary += "机器人已回答 " + std::to_string(tried.size()) + " 次。客户最后说：“" + msg.text + "”";
  handoff["summary"] = summary;
  return handoff;
}

void Desk::GenerateSummary(const std::string& tenant_id, const std::string& conversation_id) {
  auto history = store_.Recent(conversation_id, 30);
  json stored;
  {
    auto s = db_.Lock();
    auto& h = s.Prepare("SELECT COALESCE(handoff_json, '{}') FROM conversations WHERE id = ? AND tenant_id = ?");
    h.Bind(1, conversation_id).Bind(2, tenant_id);
    auto row = h.Step();
    if (row.ok() && *row) stored = ParseJsonOrDiscarded(h.Text(0));
    h.Reset();
  }
  if (!history.ok() || !stored.is_object()) return;
  assist_calls_.Inc();
  auto generated = assist_->Summarize(*history, stored);
  json patch;
  if (generated.ok()) {
    patch = {{"generated_summary", *generated}, {"summary_source", "llm"}};
  } else {
    assist_failures_.Inc();
    patch = {{"generated_error", generated.status().message()}};
    log::Warn("handoff_summary_llm_failed", {{"conversation_id", conversation_id},
                                             {"error", generated.status().ToString()}});
  }
  // Merged into the handoff as stored now, in one transaction: another
  // handoff of the same conversation written meanwhile keeps its own fields.
  {
    auto s = db_.Lock();
    auto tx = s.Begin();
    if (!tx.status().ok()) return;
    auto& h = s.Prepare("SELECT COALESCE(handoff_json, '{}') FROM conversations WHERE id = ? AND tenant_id = ?");
    h.Bind(1, conversation_id).Bind(2, tenant_id);
    auto row = h.Step();
    if (!row.ok() || !*row) return;
    json now = ParseJsonOrDiscarded(h.Text(0));
    h.Reset();
    if (now.is_object()) stored = std::move(now);
    stored.merge_patch(patch);
    auto& u = s.Prepare("UPDATE conversations SET handoff_json = ? WHERE id = ? AND tenant_id = ?");
    u.Bind(1, stored.dump()).Bind(2, conversation_id).Bind(3, tenant_id);
    if (!u.Run().ok() || !tx.Commit().ok()) return;
  }
  std::lock_guard lock(mu_);
  auto it = convs_.find(conversation_id);
  if (it == convs_.end()) return;  // closed meanwhile: nobody is looking
  const std::string frame = Frame({{"type", "handoff"}, {"conversation_id", conversation_id}, {"handoff", stored}});
  if (it->second->status == "human") {
    if (AgentState* a = AgentLocked(tenant_id, it->second->agent_id)) SendToAgentLocked(*a, frame);
  } else {
    SendToEligibleLocked(*it->second, frame);
  }
}

Desk::AgentState* Desk::LeastLoadedLocked(const std::string& tenant_id,
                                          const std::function<bool(const AgentState&)>& fits) {
  AgentState* best = nullptr;
  for (auto& [k, a] : agents_) {
    if (a->agent.tenant_id != tenant_id || a->presence != "online" || a->agent.role != Role::kAgent) continue;
    // Only agents whose workspace is connected: a closed browser tab must not collect chats.
    if (std::none_of(a->conns.begin(), a->conns.end(), [](const auto& w) { return !w.expired(); })) continue;
    if (static_cast<int>(a->chats.size()) >= a->agent.max_chats || !fits(*a)) continue;
    if (!best || a->chats.size() < best->chats.size() ||
        (a->chats.size() == best->chats.size() && a->last_assigned_ms < best->last_assigned_ms))
      best = a.get();
  }
  return best;
}

void Desk::Dispatch(const std::string& tenant) {
  if (!settings_.auto_assign) return;
  std::lock_guard serial(dispatch_mu_);
  std::set<std::string> changed;  // the database no longer has them queued (another node took them)
  for (int round = 0; round < 10'000; ++round) {
    std::shared_lock sync(sync_mu_);
    std::string conversation_id, agent_id, agent_name;
    {
      std::lock_guard lock(mu_);
      std::vector<ConvState*> waiting;
      for (auto& [id, c] : convs_)
        if (c->status == "queued" && c->tenant_id == tenant && !changed.count(id)) waiting.push_back(c.get());
      std::sort(waiting.begin(), waiting.end(), [](const ConvState* x, const ConvState* y) {
        if (x->priority != y->priority) return x->priority > y->priority;
        if (x->queued_ms != y->queued_ms) return x->queued_ms < y->queued_ms;
        if (x->order != y->order) return x->order < y->order;
        return x->id < y->id;
      });
      // Highest priority first, oldest first; one that no free agent can take
      // does not hold back the others (another skill may be free).
      for (ConvState* c : waiting)
        if (AgentState* a = LeastLoadedLocked(tenant, [&](const AgentState& x) { return EligibleLocked(x, *c); })) {
          conversation_id = c->id;
          agent_id = a->agent.id;
          agent_name = a->agent.name;
          break;
        }
    }
    if (conversation_id.empty()) return;
    {
      auto s = db_.Lock();
      auto& st = s.Prepare(
          "UPDATE conversations SET status = 'human', assigned_agent_id = ?, updated_ms = ? "
          "WHERE id = ? AND tenant_id = ? AND status = 'queued'");
      st.Bind(1, agent_id).Bind(2, clock_.NowMs()).Bind(3, conversation_id).Bind(4, tenant);
      if (!st.Run().ok()) return;  // retried by the next tick
      if (s.Changes() != 1) {      // accepted or closed meanwhile (here, or on another node: Resync)
        changed.insert(conversation_id);
        continue;
      }
    }
    {
      std::lock_guard lock(mu_);
      auto it = convs_.find(conversation_id);
      AgentState* a = AgentLocked(tenant, agent_id);
      if (it == convs_.end() || !a) continue;
      AssignLocked(*it->second, *a, "");
      a->last_assigned_ms = clock_.NowMs();
    }
    auto_assigned_.Inc();
    (void)SystemMessage(conversation_id, "客服 " + agent_name + " 为您服务",
                        {{"agent", {{"id", agent_id}, {"name", agent_name}}}, {"event", "assigned"}, {"auto", true}});
    log::Info("handoff_assigned", {{"conversation_id", conversation_id}, {"agent_id", agent_id}});
  }
}

// ---- hub events ----------------------------------------------------------------

void Desk::OnMessage(const dialogue::Message& m) {
  std::lock_guard lock(mu_);
  auto it = convs_.find(m.conversation_id);
  if (it == convs_.end()) return;  // self-service: no agent involved
  ConvState& c = *it->second;
  if (m.role == "customer") {
    c.emotion = EmotionOf(m.meta);
    c.last_message = Brief(m);
  }
  c.updated_ms = m.created_ms;
  if (c.status == "human") {
    if (AgentState* a = AgentLocked(c.tenant_id, c.agent_id))
      SendToAgentLocked(*a, Frame({{"type", "message"}, {"conversation_id", c.id}, {"message", m.ToJson()}}));
  } else if (m.role == "customer") {
    SendToEligibleLocked(c, Frame({{"type", "queue"}, {"item", QueueItemLocked(c)}}));
  }
}

void Desk::OnClosed(const dialogue::Conversation& conv) {
  std::lock_guard lock(mu_);
  auto it = convs_.find(conv.id);
  if (it == convs_.end()) return;
  ForgetLocked(*it->second);
  convs_.erase(it);
}

// A conversation leaves the desk (closed, or gone from the shared queue): its
// agent or the eligible agents are told, and the board and dispatch redone
// (a slot freed; the hub thread must not dispatch). The caller erases it.
void Desk::ForgetLocked(const ConvState& c) {
  if (c.status == "human") {
    if (AgentState* a = AgentLocked(c.tenant_id, c.agent_id)) {
      a->chats.erase(c.id);
      SendToAgentLocked(*a, Frame({{"type", "unassigned"}, {"conversation_id", c.id}}));
    }
  } else {
    queued_gauge_.Add(-1);
    SendToEligibleLocked(c, Frame({{"type", "queue_removed"}, {"conversation_id", c.id}}));
  }
  board_dirty_.insert(c.tenant_id);
  dispatch_due_.insert(c.tenant_id);
  drafts_.erase(c.id);
}

// ---- accounts -------------------------------------------------------------------

Result<Agent> Desk::FindAgent(const std::string& tenant_id, const std::string& id) {
  std::lock_guard lock(mu_);
  AgentState* a = AgentLocked(tenant_id, id);
  if (!a) return NotFound("not_found: agent " + id + " does not exist");
  return a->agent;
}

void Desk::AgentChanged(const Agent& agent) {
  std::lock_guard lock(mu_);
  auto& slot = agents_[Key(agent.tenant_id, agent.id)];
  if (!slot) slot = std::make_unique<AgentState>();
  slot->agent = agent;
  board_dirty_.insert(agent.tenant_id);
  dispatch_due_.insert(agent.tenant_id);  // more room or new skills
}

json Desk::AgentJson(const std::string& tenant_id, const std::string& id) {
  std::lock_guard lock(mu_);
  AgentState* a = AgentLocked(tenant_id, id);
  return a ? AgentJsonLocked(*a) : json(nullptr);
}

// ---- agent operations ---------------------------------------------------------

Result<json> Desk::SetPresence(const Agent& me, const std::string& presence) {
  if (presence != "online" && presence != "away" && presence != "offline")
    return InvalidArgument("presence must be online, away or offline");
  std::unique_lock lock(mu_);
  AgentState* a = AgentLocked(me.tenant_id, me.id);
  if (!a) return NotFound("not_found: agent does not exist");
  a->presence = presence;
  board_dirty_.insert(me.tenant_id);
  json out = AgentJsonLocked(*a);
  if (bus_) {
    lock.unlock();
    PublishPresence();  // other nodes queue for this agent (or stop) at once
    lock.lock();
  }
  if (presence == "online") {
    lock.unlock();
    Dispatch(me.tenant_id);  // the queue may be waiting for exactly this agent
  }
  return out;
}

json Desk::Queue(const Agent& me) {
  std::lock_guard lock(mu_);
  AgentState* a = AgentLocked(me.tenant_id, me.id);
  std::vector<const ConvState*> items;
  for (const auto& [id, c] : convs_)
    if (c->status == "queued" && a && EligibleLocked(*a, *c)) items.push_back(c.get());
  std::sort(items.begin(), items.end(), [](const ConvState* x, const ConvState* y) {
    if (x->priority != y->priority) return x->priority > y->priority;
    if (x->queued_ms != y->queued_ms) return x->queued_ms < y->queued_ms;
    return x->id < y->id;
  });
  json out = json::array();
  for (const ConvState* c : items) out.push_back(QueueItemLocked(*c));
  return {{"items", out}};
}

json Desk::MyConversations(const Agent& me) {
  std::lock_guard lock(mu_);
  json out = json::array();
  if (AgentState* a = AgentLocked(me.tenant_id, me.id))
    for (const auto& id : a->chats)
      if (auto it = convs_.find(id); it != convs_.end()) out.push_back(SummaryLocked(*it->second));
  return {{"items", out}};
}

Result<json> Desk::Detail(const Agent& me, const std::string& conversation_id) {
  json summary;
  {
    std::lock_guard lock(mu_);
    KEFU_ASSIGN_OR_RETURN(ConvState * c, AccessLocked(me, conversation_id, /*allow_queued=*/true));
    summary = SummaryLocked(*c);
  }
  KEFU_ASSIGN_OR_RETURN(auto msgs, store_.List(conversation_id, 0, 500));
  std::vector<json> all;
  for (const auto& m : msgs) all.push_back(m.ToJson());
  json handoff = json::object();
  {
    auto s = db_.Lock();
    auto& n = s.Prepare(
        "SELECT n.id, n.text, n.agent_id, COALESCE(a.name, ''), n.created_ms FROM agent_notes n LEFT JOIN agents a "
        "ON a.tenant_id = n.tenant_id AND a.id = n.agent_id WHERE n.conversation_id = ? AND n.tenant_id = ? ORDER BY n.id");
    n.Bind(1, conversation_id).Bind(2, me.tenant_id);
    for (;;) {
      KEFU_ASSIGN_OR_RETURN(bool row, n.Step());
      if (!row) break;
      all.push_back(NoteJson(n.Int(0), conversation_id, n.Text(1), n.Text(2), n.Text(3), n.Int(4)));
    }
    n.Reset();
    auto& h = s.Prepare("SELECT COALESCE(handoff_json, '{}') FROM conversations WHERE id = ?");
    h.Bind(1, conversation_id);
    KEFU_ASSIGN_OR_RETURN(bool row, h.Step());
    if (row) handoff = ParseJsonOrDiscarded(h.Text(0));
    h.Reset();
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const json& a, const json& b) { return a["created_ms"].get<int64_t>() < b["created_ms"].get<int64_t>(); });
  summary["messages"] = all;
  summary["handoff"] = handoff.is_object() ? handoff : json::object();
  return summary;
}

void Desk::AssignLocked(ConvState& c, AgentState& to, const std::string& system_text) {
  if (c.status == "queued") {
    queued_gauge_.Add(-1);
    SendToEligibleLocked(c, Frame({{"type", "queue_removed"}, {"conversation_id", c.id}}));
  } else if (AgentState* from = AgentLocked(c.tenant_id, c.agent_id); from && from != &to) {
    from->chats.erase(c.id);
    SendToAgentLocked(*from, Frame({{"type", "unassigned"}, {"conversation_id", c.id}}));
  }
  c.status = "human";
  c.agent_id = to.agent.id;
  c.updated_ms = clock_.NowMs();
  to.chats.insert(c.id);
  board_dirty_.insert(c.tenant_id);
  SendToAgentLocked(to, Frame({{"type", "assigned"}, {"conversation", SummaryLocked(c)}}));
  (void)system_text;
}

Result<json> Desk::Accept(const Agent& me, const std::string& conversation_id, bool takeover) {
  std::shared_lock sync(sync_mu_);
  std::string expected_agent;
  {
    std::lock_guard lock(mu_);
    auto it = convs_.find(conversation_id);
    if (it == convs_.end() || it->second->tenant_id != me.tenant_id) {
      auto c = store_.Get(me.tenant_id, conversation_id);
      if (!c.ok()) return NotFound("not_found: conversation " + conversation_id + " does not exist");
      return Conflict("already_assigned: conversation " + conversation_id + " is not waiting in a queue");
    }
    ConvState& c = *it->second;
    AgentState* a = AgentLocked(me.tenant_id, me.id);
    if (!a) return NotFound("not_found: agent does not exist");
    if (!takeover) {
      if (c.status != "queued")
        return Conflict("already_assigned: conversation " + conversation_id + " was accepted by another agent");
      if (!EligibleLocked(*a, c))
        return PermissionDenied("not_eligible: the queue " + c.queue + " needs skill " + c.skill);
      if (me.role == Role::kAgent && static_cast<int>(a->chats.size()) >= a->agent.max_chats)
        return Conflict("at_capacity: you already serve " + std::to_string(a->chats.size()) + " conversations");
    } else if (c.status == "human" && c.agent_id == me.id) {
      return SummaryLocked(c);
    }
    expected_agent = c.status == "human" ? c.agent_id : "";
  }
  // Compare-and-set in SQLite: of two racing accepts exactly one changes the row.
  {
    auto s = db_.Lock();
    const int64_t now = clock_.NowMs();
    storage::Statement* st;
    if (!takeover) {
      st = &s.Prepare(
          "UPDATE conversations SET status = 'human', assigned_agent_id = ?, updated_ms = ? "
          "WHERE id = ? AND tenant_id = ? AND status = 'queued'");
      st->Bind(1, me.id).Bind(2, now).Bind(3, conversation_id).Bind(4, me.tenant_id);
    } else {
      st = &s.Prepare(
          "UPDATE conversations SET status = 'human', assigned_agent_id = ?, updated_ms = ? "
          "WHERE id = ? AND tenant_id = ? AND status IN ('queued', 'human') AND COALESCE(assigned_agent_id, '') = ?");
      st->Bind(1, me.id).Bind(2, now).Bind(3, conversation_id).Bind(4, me.tenant_id).Bind(5, expected_agent);
    }
    KEFU_RETURN_IF_ERROR(st->Run());
    if (s.Changes() != 1)
      return Conflict("already_assigned: conversation " + conversation_id + " was accepted by another agent");
  }
  json summary;
  {
    std::lock_guard lock(mu_);
    auto it = convs_.find(conversation_id);
    AgentState* a = AgentLocked(me.tenant_id, me.id);
    if (it == convs_.end() || !a) return NotFound("not_found: conversation closed meanwhile");
    AssignLocked(*it->second, *a, "");
    summary = SummaryLocked(*it->second);
  }
  accepts_.Inc();
  (void)SystemMessage(conversation_id, "客服 " + me.name + " 为您服务",
                      {{"agent", {{"id", me.id}, {"name", me.name}}}, {"event", "assigned"}});
  log::Info("agent_accepted", {{"conversation_id", conversation_id}, {"agent_id", me.id}, {"takeover", takeover}});
  return summary;
}

Result<json> Desk::SendMessage(const Agent& me, const std::string& conversation_id, const std::string& text,
                               const std::string& client_msg_id) {
  {
    std::lock_guard lock(mu_);
    KEFU_ASSIGN_OR_RETURN(ConvState * c, AccessLocked(me, conversation_id, /*allow_queued=*/false));
    if (c->status != "human" || c->agent_id != me.id)
      return PermissionDenied("not_assigned: conversation " + conversation_id + " is not assigned to you");
  }
  const json meta = {{"agent", {{"id", me.id}, {"name", me.name}}}};
  if (!client_msg_id.empty()) {
    // Namespaced so an agent's id never collides with the customer's.
    KEFU_ASSIGN_OR_RETURN(dialogue::AppendResult r,
                          store_.AppendIdempotent(conversation_id, "agent", "agent:" + me.id + ":" + client_msg_id,
                                                  text, meta));
    if (!r.duplicate) hub_.PublishMessage(r.message);
    return r.message.ToJson();
  }
  KEFU_ASSIGN_OR_RETURN(dialogue::Message m, store_.AppendMessage(conversation_id, "agent", text, std::nullopt, meta));
  hub_.PublishMessage(m);
  return m.ToJson();
}

Result<json> Desk::AddNote(const Agent& me, const std::string& conversation_id, const std::string& text) {
  {
    std::lock_guard lock(mu_);
    KEFU_ASSIGN_OR_RETURN(ConvState * c, AccessLocked(me, conversation_id, /*allow_queued=*/true));
    (void)c;
  }
  const int64_t now = clock_.NowMs();
  int64_t id;
  {
    auto s = db_.Lock();
    auto& st = s.Prepare(
        "INSERT INTO agent_notes(tenant_id, conversation_id, agent_id, text, created_ms) VALUES(?, ?, ?, ?, ?) "
        "RETURNING id");
    st.Bind(1, me.tenant_id).Bind(2, conversation_id).Bind(3, me.id).Bind(4, text).Bind(5, now);
    KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
    id = row ? st.Int(0) : 0;
    st.Reset();
  }
  json note = NoteJson(id, conversation_id, text, me.id, me.name, now);
  std::lock_guard lock(mu_);
  if (auto it = convs_.find(conversation_id); it != convs_.end() && it->second->status == "human")
    if (AgentState* a = AgentLocked(me.tenant_id, it->second->agent_id))
      SendToAgentLocked(*a, Frame({{"type", "message"}, {"conversation_id", conversation_id}, {"message", note}}));
  return note;
}

Result<json> Desk::Transfer(const Agent& me, const std::string& conversation_id,
                            const std::optional<std::string>& agent_id, const std::optional<std::string>& group) {
  if (!agent_id == !group) return InvalidArgument("give exactly one of agent_id or group");
  std::shared_lock sync(sync_mu_);
  std::optional<std::vector<std::string>> group_skills;
  if (group) {
    group_skills = accounts_.Group(me.tenant_id, *group);
    if (!group_skills) return NotFound("not_found: group " + *group + " does not exist");
  }
  std::string current_agent, target;
  std::string new_queue, new_skill;
  {
    std::lock_guard lock(mu_);
    KEFU_ASSIGN_OR_RETURN(ConvState * c, AccessLocked(me, conversation_id, /*allow_queued=*/false));
    current_agent = c->status == "human" ? c->agent_id : "";
    if (agent_id) {
      AgentState* to = AgentLocked(me.tenant_id, *agent_id);
      if (!to) return NotFound("not_found: agent " + *agent_id + " does not exist");
      target = to->agent.id;
    } else {
      // Least-loaded online agent of the group with room; else back to the group's queue.
      new_queue = *group;
      new_skill = group_skills->empty() ? "" : (*group_skills)[0];
      AgentState* best = LeastLoadedLocked(me.tenant_id, [&](const AgentState& a) {
        if (a.agent.id == current_agent) return false;
        bool in_group = group_skills->empty();
        for (const auto& s : a.agent.skills)
          in_group |= std::find(group_skills->begin(), group_skills->end(), s) != group_skills->end();
        return in_group;
      });
      if (best) target = best->agent.id;
    }
  }
  {
    auto s = db_.Lock();
    const int64_t now = clock_.NowMs();
    storage::Statement* st;
    if (!target.empty()) {
      st = &s.Prepare(
          "UPDATE conversations SET status = 'human', assigned_agent_id = ?, updated_ms = ? WHERE id = ? AND "
          "tenant_id = ? AND status IN ('queued', 'human') AND COALESCE(assigned_agent_id, '') = ?");
      st->Bind(1, target).Bind(2, now).Bind(3, conversation_id).Bind(4, me.tenant_id).Bind(5, current_agent);
    } else {
      st = &s.Prepare(
          "UPDATE conversations SET status = 'queued', assigned_agent_id = NULL, queue = ?, queue_skill = ?, "
          "queued_ms = ?, updated_ms = ? WHERE id = ? AND tenant_id = ? AND status IN ('queued', 'human') AND "
          "COALESCE(assigned_agent_id, '') = ?");
      st->Bind(1, new_queue).Bind(2, new_skill).Bind(3, now).Bind(4, now).Bind(5, conversation_id);
      st->Bind(6, me.tenant_id).Bind(7, current_agent);
    }
    KEFU_RETURN_IF_ERROR(st->Run());
    if (s.Changes() != 1) return Conflict("already_assigned: conversation " + conversation_id + " changed meanwhile");
  }
  json summary;
  std::string target_name;
  {
    std::lock_guard lock(mu_);
    auto it = convs_.find(conversation_id);
    if (it == convs_.end()) return NotFound("not_found: conversation closed meanwhile");
    ConvState& c = *it->second;
    if (!target.empty()) {
      AgentState* to = AgentLocked(me.tenant_id, target);
      AssignLocked(c, *to, "");
      target_name = to->agent.name;
    } else {
      if (AgentState* from = AgentLocked(c.tenant_id, c.agent_id)) {
        from->chats.erase(c.id);
        SendToAgentLocked(*from, Frame({{"type", "unassigned"}, {"conversation_id", c.id}}));
      }
      if (c.status == "human") queued_gauge_.Add(1);
      c.status = "queued";
      c.agent_id.clear();
      c.queue = new_queue;
      c.skill = new_skill;
      c.queued_ms = clock_.NowMs();
      c.long_wait_alerted = false;
      board_dirty_.insert(c.tenant_id);
      SendToEligibleLocked(c, Frame({{"type", "queue"}, {"item", QueueItemLocked(c)}}));
    }
    summary = SummaryLocked(c);
  }
  if (!target.empty())
    (void)SystemMessage(conversation_id, "客服 " + target_name + " 为您服务",
                        {{"agent", {{"id", target}, {"name", target_name}}}, {"event", "transferred"}});
  else
    (void)SystemMessage(conversation_id, "正在为您转接其他客服，请稍候。", {{"event", "transferred"}});
  sync.unlock();
  Dispatch(me.tenant_id);  // the slot it freed, or the re-queued conversation
  return summary;
}

Result<json> Desk::Close(const Agent& me, const std::string& conversation_id) {
  std::shared_lock sync(sync_mu_);
  {
    std::lock_guard lock(mu_);
    KEFU_ASSIGN_OR_RETURN(ConvState * c, AccessLocked(me, conversation_id, /*allow_queued=*/false));
    (void)c;
  }
  {
    auto s = db_.Lock();
    auto& st = s.Prepare(
        "UPDATE conversations SET status = 'open', assigned_agent_id = NULL, queue = NULL, queue_skill = NULL, "
        "queued_ms = NULL, updated_ms = ? WHERE id = ? AND tenant_id = ? AND status IN ('queued', 'human')");
    st.Bind(1, clock_.NowMs()).Bind(2, conversation_id).Bind(3, me.tenant_id);
    KEFU_RETURN_IF_ERROR(st.Run());
    if (s.Changes() != 1) return Conflict("already_assigned: conversation " + conversation_id + " changed meanwhile");
  }
  json summary;
  {
    std::lock_guard lock(mu_);
    auto it = convs_.find(conversation_id);
    if (it == convs_.end()) return NotFound("not_found: conversation closed meanwhile");
    ConvState& c = *it->second;
    if (c.status == "human") {
      if (AgentState* a = AgentLocked(c.tenant_id, c.agent_id)) {
        a->chats.erase(c.id);
        SendToAgentLocked(*a, Frame({{"type", "unassigned"}, {"conversation_id", c.id}}));
      }
    } else {
      queued_gauge_.Add(-1);
      SendToEligibleLocked(c, Frame({{"type", "queue_removed"}, {"conversation_id", c.id}}));
    }
    c.status = "open";
    c.agent_id.clear();
    c.queue.clear();
    summary = SummaryLocked(c);
    board_dirty_.insert(c.tenant_id);
    drafts_.erase(c.id);
    convs_.erase(it);
  }
  (void)SystemMessage(conversation_id, "本次人工服务已结束，感谢您的耐心。如还有问题，可以继续向智能助手提问。",
                      {{"event", "closed_by_agent"}, {"agent", {{"id", me.id}, {"name", me.name}}}});
  sync.unlock();
  Dispatch(me.tenant_id);  // the slot it freed
  return summary;
}

Result<json> Desk::Suggestions(const Agent& me, const std::string& conversation_id) {
  {
    std::lock_guard lock(mu_);
    KEFU_ASSIGN_OR_RETURN(ConvState * c, AccessLocked(me, conversation_id, /*allow_queued=*/true));
    (void)c;
  }
  KEFU_ASSIGN_OR_RETURN(auto recent, store_.Recent(conversation_id, 20));
  std::string query;
  for (auto it = recent.rbegin(); it != recent.rend() && query.empty(); ++it)
    if (it->role == "customer") query = it->text;
  json items = json::array();
  if (!query.empty())
    for (const auto& p : kb_.Search(me.tenant_id, query, 3))
      items.push_back({{"text", p.text}, {"source", "kb"}, {"kb_id", p.id}, {"title", p.title}, {"score", p.confidence}});
  KEFU_ASSIGN_OR_RETURN(json canned, accounts_.Canned(me.tenant_id));
  for (const auto& c : canned)
    items.push_back({{"text", c["text"]}, {"source", "canned"}, {"canned_id", c["id"]}, {"title", c["title"]}, {"score", 0.0}});
  return json{{"items", items}, {"llm", assist_ ? "available" : "off"}};
}

void Desk::DraftReplies(const Agent& me, const std::string& conversation_id, Done done) {
  if (!assist_) return done(Unavailable("llm_off: no LLM is configured for reply drafts"));
  {
    std::lock_guard lock(mu_);
    auto c = AccessLocked(me, conversation_id, /*allow_queued=*/true);
    if (!c.ok()) return done(c.status());
  }
  const std::string tenant = me.tenant_id;
  auto task = [this, tenant, conversation_id, done] {
    auto history = store_.Recent(conversation_id, 30);
    if (!history.ok()) return done(history.status());
    if (history->empty()) return done(FailedPrecondition("no messages to reply to yet"));
    const int64_t last_id = history->back().id;
    {
      std::lock_guard lock(mu_);
      if (auto it = drafts_.find(conversation_id); it != drafts_.end() && it->second.first == last_id)
        return done(json{{"items", it->second.second}, {"cached", true}});
    }
    std::string question;
    for (auto it = history->rbegin(); it != history->rend() && question.empty(); ++it)
      if (it->role == "customer") question = it->text;
    std::vector<knowledge::Passage> passages;
    if (!question.empty()) passages = kb_.Search(tenant, question, 3);
    assist_calls_.Inc();
    auto drafts = assist_->DraftReplies(*history, passages, 3);
    if (!drafts.ok()) {
      assist_failures_.Inc();
      log::Warn("reply_drafts_llm_failed", {{"conversation_id", conversation_id}, {"error", drafts.status().ToString()}});
      return done(drafts.status());
    }
    json items = json::array();
    json kb_ids = json::array();
    for (const auto& p : passages) kb_ids.push_back(p.id);
    for (const auto& d : *drafts) items.push_back({{"text", d}, {"source", "llm"}, {"grounding", kb_ids}});
    {
      std::lock_guard lock(mu_);
      if (drafts_.size() > 10'000) drafts_.clear();
      drafts_[conversation_id] = {last_id, items};
    }
    done(json{{"items", items}, {"cached", false}});
  };
  if (!assist_pool_->Submit(std::move(task))) done(Unavailable("server is shutting down"));
}

Result<json> Desk::CustomerPanel(const Agent& me, const std::string& customer_id) {
  KEFU_ASSIGN_OR_RETURN(json panel, PanelFromTables(me, customer_id));  // the db lock is released here
  panel["profile"] = nullptr;
  if (profile_provider_) {
    auto profile = profile_provider_(me.tenant_id, customer_id);
    if (profile.ok()) panel["profile"] = std::move(*profile);
    else log::Warn("customer_profile_failed", {{"customer_id", customer_id}, {"error", profile.status().ToString()}});
  }
  // Personal data by role (docs/agents.md): agents see phone, email, address,
  // identity values and birthday masked; supervisors and admins in full.
  if (me.role == Role::kAgent) api::pii::MaskPersonalData(panel);
  return panel;
}

Result<json> Desk::PanelFromTables(const Agent& me, const std::string& customer_id) {
  auto s = db_.Lock();
  KEFU_ASSIGN_OR_RETURN(std::optional<tools::rows::CustomerRecord> c,
                        tools::rows::GetCustomerRecord(s, me.tenant_id, customer_id));
  if (!c) return NotFound("not_found: customer " + customer_id + " does not exist");
  json customer = {{"id", c->id},   {"name", c->name}, {"phone", c->phone.value_or("")},
                   {"email", c->email.value_or("")}, {"tier", c->tier}, {"city", c->city.value_or("")},
                   {"created_ms", c->created_ms}};
  json orders = json::array();
  KEFU_ASSIGN_OR_RETURN(std::vector<tools::rows::OrderRecord> recent,
                        tools::rows::RecentOrders(s, me.tenant_id, customer_id, 20));
  for (const auto& o : recent) {
    json items = ParseJsonOrDiscarded(o.items_json);
    json logistics = nullptr;
    KEFU_ASSIGN_OR_RETURN(std::optional<tools::LogisticsEvent> e,
                          tools::rows::LatestLogisticsEvent(s, me.tenant_id, o.id));
    if (e) logistics = {{"status", e->status}, {"location", e->location}, {"description", e->description}, {"ts_ms", e->ts_ms}};
    orders.push_back({{"id", o.id},        {"status", o.status},     {"total_cents", o.total_cents},
                      {"items", items.is_discarded() ? json::array() : items}, {"carrier", o.carrier.value_or("")},
                      {"tracking_no", o.tracking_no.value_or("")}, {"created_ms", o.created_ms}, {"logistics", logistics}});
  }
  json convs = json::array();
  auto& cv = s.Prepare(
      "SELECT id, channel, status, created_ms, updated_ms, context_json FROM conversations WHERE tenant_id = ? AND "
      "customer_id = ? ORDER BY created_ms DESC LIMIT 20");
  cv.Bind(1, me.tenant_id).Bind(2, customer_id);
  for (;;) {
    KEFU_ASSIGN_OR_RETURN(bool r, cv.Step());
    if (!r) break;
    json ctx = ParseJsonOrDiscarded(cv.Text(5));
    json emotion = {{"mean", 0.0}, {"last", 0.0}, {"turns", 0}};
    if (ctx.is_object() && ctx.contains("emotion_trend") && ctx["emotion_trend"].is_object()) {
      emotion["mean"] = ctx["emotion_trend"].value("mean", 0.0);
      emotion["last"] = ctx["emotion_trend"].value("last", 0.0);
      emotion["turns"] = ctx["emotion_trend"].value("turns", 0);
    }
    convs.push_back({{"id", cv.Text(0)}, {"channel", cv.Text(1)}, {"status", cv.Text(2)}, {"created_ms", cv.Int(3)},
                     {"updated_ms", cv.Int(4)}, {"emotion", emotion}});
  }
  cv.Reset();
  return json{{"customer", customer}, {"orders", orders}, {"conversations", convs}};
}

json Desk::Board(const std::string& tenant_id) {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.NowMs();
  std::map<std::string, std::pair<int, int64_t>> queues;  // name → waiting, oldest wait
  for (const auto& [id, c] : convs_) {
    if (c->tenant_id != tenant_id || c->status != "queued") continue;
    auto& q = queues[c->queue];
    ++q.first;
    q.second = std::max(q.second, now - c->queued_ms);
  }
  json qs = json::array();
  for (const auto& [name, q] : queues) qs.push_back({{"name", name}, {"waiting", q.first}, {"oldest_wait_ms", q.second}});
  json agents = json::array();
  for (const auto& [k, a] : agents_)
    if (a->agent.tenant_id == tenant_id) agents.push_back(AgentJsonLocked(*a));
  json alerts = json::array();
  if (auto it = alerts_.find(tenant_id); it != alerts_.end())
    for (auto a = it->second.rbegin(); a != it->second.rend(); ++a) alerts.push_back(*a);
  return {{"queues", qs}, {"agents", agents}, {"alerts", alerts}};
}

Result<json> Desk::Decisions(const std::string& tenant_id, const std::string& conversation_id) {
  KEFU_ASSIGN_OR_RETURN(dialogue::Conversation c, store_.Get(tenant_id, conversation_id));
  auto s = db_.Lock();
  auto& st = s.Prepare(
      "SELECT id, seq, text, meta_json, created_ms FROM messages WHERE conversation_id = ? AND role = 'customer' "
      "ORDER BY seq");
  st.Bind(1, c.id);
  json items = json::array();
  for (;;) {
    KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    json meta = ParseJsonOrDiscarded(st.Text(3));
    items.push_back({{"message_id", st.Int(0)},
                     {"seq", st.Int(1)},
                     {"text", st.Text(2)},
                     {"created_ms", st.Int(4)},
                     {"decision", meta.is_object() ? meta.value("decision", json()) : json()}});
  }
  st.Reset();
  return json{{"items", items}};
}

// ---- WebSockets -------------------------------------------------------------------

void Desk::Attach(const Agent& me, const std::shared_ptr<http::WsConnection>& conn) {
  std::lock_guard lock(mu_);
  AgentState* a = AgentLocked(me.tenant_id, me.id);
  if (!a) return;
  std::erase_if(a->conns, [](const auto& w) { return w.expired(); });
  a->conns.push_back(conn);
  conn->Send(Frame({{"type", "hello"}, {"agent", AgentJsonLocked(*a)}}));
  if (a->presence == "online") dispatch_due_.insert(me.tenant_id);  // may now receive chats (I/O thread: the tick assigns)
  board_dirty_.insert(me.tenant_id);  // supervisors see workspace_connected change
}

void Desk::Detach(const Agent& me, uint64_t conn_id) {
  std::lock_guard lock(mu_);
  AgentState* a = AgentLocked(me.tenant_id, me.id);
  if (!a) return;
  std::erase_if(a->conns, [&](const auto& w) {
    auto c = w.lock();
    return !c || c->id() == conn_id;
  });
  board_dirty_.insert(me.tenant_id);
}

// ---- demo ---------------------------------------------------------------------------

Status EnsureDemoAccounts(AccountStore& accounts, const std::string& tenant_id) {
  struct Demo {
    const char *username, *name, *role;
    std::vector<std::string> skills;
    int max_chats;
  };
  const std::vector<Demo> demo = {
      {"agent1", "小王", "agent", {"general", "after_sale"}, 5},
      {"agent2", "小李", "agent", {"general"}, 5},
      {"agent3", "小张", "agent", {"general", "after_sale", "vip"}, 5},
      {"super", "陈主管", "supervisor", {"general", "after_sale", "vip"}, 10},
      {"admin", "管理员", "admin", {"general", "after_sale", "vip"}, 10},
  };
  KEFU_ASSIGN_OR_RETURN(auto existing, accounts.List(tenant_id));
  for (const auto& d : demo) {
    bool have = std::any_of(existing.begin(), existing.end(), [&](const Agent& a) { return a.username == d.username; });
    if (have) continue;
    AgentSpec spec;
    spec.username = d.username;
    spec.name = d.name;
    spec.password = "demo1234";
    spec.role = ParseRole(d.role);
    spec.skills = d.skills;
    spec.max_chats = d.max_chats;
    KEFU_RETURN_IF_ERROR(accounts.Create(tenant_id, spec).status());
  }
  KEFU_RETURN_IF_ERROR(accounts.PutGroup(tenant_id, "general", {"general"}));
  KEFU_RETURN_IF_ERROR(accounts.PutGroup(tenant_id, "after_sale", {"after_sale"}));
  KEFU_RETURN_IF_ERROR(accounts.PutGroup(tenant_id, "complaints", {"after_sale"}));
  KEFU_RETURN_IF_ERROR(accounts.PutGroup(tenant_id, "vip", {"vip"}));
  KEFU_RETURN_IF_ERROR(accounts.PutCanned(tenant_id, "greet", "问候", "您好，我是人工客服，很高兴为您服务，请问有什么可以帮您？"));
  KEFU_RETURN_IF_ERROR(accounts.PutCanned(tenant_id, "sorry", "致歉", "非常抱歉给您带来不便，我马上为您核实处理。"));
  KEFU_RETURN_IF_ERROR(accounts.PutCanned(tenant_id, "wait", "请稍候", "请您稍等，我正在为您查询。"));
  KEFU_RETURN_IF_ERROR(accounts.PutCanned(tenant_id, "refund", "退款说明", "退款审核通过后 1-3 个工作日原路退回，请您留意账户。"));
  KEFU_RETURN_IF_ERROR(accounts.PutCanned(tenant_id, "bye", "结束语", "感谢您的耐心，祝您生活愉快！如有其他问题随时联系我们。"));
  return Status::Ok();
}

}  // namespace kefu::agents
