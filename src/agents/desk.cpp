#include "agents/desk.h"

#include <algorithm>
#include <filesystem>
#include <regex>

#include "api/pii.h"
#include "common/json.h"
#include "common/log.h"
#include "dialogue/intent_rules.h"

namespace kefu::agents {

using dialogue::GateVerdict;
using nlohmann::json;

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

// Serialises without throwing on invalid UTF-8 (replaced by U+FFFD).
std::string Frame(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json NeutralEmotion() { return {{"label", "neutral"}, {"intensity", 0.0}, {"trend", "steady"}}; }

json EmotionOf(const json& meta) {
  json e = NeutralEmotion();
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

// "客服 X 为您服务" in the language of the customer's last message (`brief`: Brief()).
std::string ServesYou(const std::string& agent_name, const json& brief) {
  const bool en = brief.is_object() && dialogue::CustomerLanguage(brief.value("text", "")) == "en";
  return en ? "Agent " + agent_name + " is now with you." : "客服 " + agent_name + " 为您服务";
}

std::string AlertKindFor(const std::string& rule_id) {
  if (rule_id.find("wait") != std::string::npos) return "long_wait";
  if (rule_id.find("repeat") != std::string::npos) return "repeated_escalation";
  return "anger_spike";
}

json AlertJson(const DeskAlert& a) {
  return {{"id", a.id}, {"kind", a.kind}, {"conversation_id", a.conversation_id}, {"text", a.text},
          {"created_ms", a.created_ms}};
}

DeskRules RulesFrom(const DeskSettings& s) {
  DeskRules r;
  r.long_wait_alert_ms = s.long_wait_alert_ms;
  r.max_alerts = s.max_alerts;
  r.presence_ttl_ms = kPresenceTtlMs;
  r.auto_assign = s.auto_assign;
  return r;
}

}  // namespace

// DeskState's events as frames for the notifier (called with mu_ held).
class Desk::Events final : public DeskEvents {
 public:
  explicit Events(Desk& d) : d_(d) {}
  void Queued(const DeskConv& c, const Agents& to) override {
    Count();
    if (!to.empty()) d_.SendToLocked(to, Frame({{"type", "queue"}, {"item", d_.QueueItemLocked(c)}}));
  }
  void QueueRemoved(const DeskConv& c, const Agents& to) override {
    Count();
    if (!to.empty()) d_.SendToLocked(to, Frame({{"type", "queue_removed"}, {"conversation_id", c.id}}));
  }
  void Assigned(const DeskConv& c, const DeskAgent& to) override {
    Count();
    d_.SendToLocked(to, Frame({{"type", "assigned"}, {"conversation", d_.SummaryLocked(c)}}));
  }
  void Unassigned(const DeskConv& c, const DeskAgent& from) override {
    Count();
    d_.SendToLocked(from, Frame({{"type", "unassigned"}, {"conversation_id", c.id}}));
  }
  void Alert(const std::string& tenant_id, const DeskAlert& alert, const Agents& to) override {
    d_.SendToLocked(to, Frame({{"type", "alert"}, {"alert", AlertJson(alert)}}));
    log::Info("agent_alert", {{"tenant_id", tenant_id}, {"kind", alert.kind}, {"conversation_id", alert.conversation_id}});
  }
  void Left(const DeskConv& c) override {
    Count();
    d_.drafts_.erase(c.id);
    d_.views_.erase(c.id);
  }

 private:
  void Count() { d_.queued_gauge_.Set(static_cast<double>(d_.state_.QueuedCount())); }
  Desk& d_;
};

Desk::Desk(const DeskDeps& d, DeskSettings settings)
    : desk_store_(d.desk_store),
      store_(d.store),
      hub_(d.hub),
      accounts_(d.accounts),
      kb_(d.kb),
      clock_(d.clock),
      rules_(d.rules),
      settings_(settings),
      handoffs_(d.metrics.GetCounter("kefu_handoffs_total", "Conversations routed to a human queue")),
      accepts_(d.metrics.GetCounter("kefu_agent_accepts_total", "Conversations accepted by an agent")),
      queued_gauge_(d.metrics.GetGauge("kefu_queued_conversations", "Conversations waiting for an agent")),
      auto_assigned_(d.metrics.GetCounter("kefu_auto_assignments_total", "Conversations assigned to an agent automatically")),
      assist_calls_(d.metrics.GetCounter("kefu_agent_assist_calls_total", "LLM assist calls (summaries, reply drafts)")),
      assist_failures_(d.metrics.GetCounter("kefu_agent_assist_failures_total", "LLM assist calls that failed")),
      notifier_(d.notifier),
      events_(std::make_unique<Events>(*this)),
      state_(d.clock, *events_, RulesFrom(settings)) {
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
  KEFU_ASSIGN_OR_RETURN(std::vector<DeskConv> stored, desk_store_.InService());
  std::lock_guard lock(mu_);
  for (auto& a : all) state_.PutAgent(a, /*announce=*/false);
  for (auto& c : stored) state_.Restore(std::move(c));
  queued_gauge_.Set(static_cast<double>(state_.QueuedCount()));
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
  DeskState::TickOut out;
  {
    std::lock_guard lock(mu_);
    out = state_.Tick();
  }
  for (const auto& tenant : out.dispatch_due) Dispatch(tenant);
  for (const auto& tenant : out.board_dirty) {
    json board = Board(tenant);
    std::lock_guard lock(mu_);
    SendToLocked(state_.Supervisors(tenant), Frame({{"type", "board"}, {"board", board}}));
  }
}

// ---- several nodes ----------------------------------------------------------------

void Desk::PublishPresence() {
  json online = json::array();
  {
    std::lock_guard lock(mu_);
    for (auto& k : state_.OnlineHere()) online.push_back(std::move(k));
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
  state_.HeardPresence(j.value("node", ""), std::move(online));
}

void Desk::Resync() {
  std::unique_lock sync(sync_mu_);
  auto stored = desk_store_.InService();
  if (!stored.ok()) {
    log::Warn("desk_resync_failed", {{"error", stored.status().ToString()}});
    return;
  }
  std::lock_guard lock(mu_);
  for (const auto& c : *stored)  // name and tier for the frames of what other nodes queued (cached)
    if (!state_.Find(c.id) && !state_.Admitting(c.id)) (void)CustomerLocked(c.tenant_id, c.customer_id);
  state_.Merge(*stored);
}

// ---- frames --------------------------------------------------------------------

json Desk::AgentJsonLocked(const DeskAgent& a) const {
  json j = a.agent.ToJson();
  j["presence"] = PresenceName(a.presence);
  j["active_chats"] = a.chats.size();
  // Automatic assignment skips an online agent whose workspace is not open.
  j["workspace_connected"] = a.WorkspaceConnected();
  return j;
}

json Desk::CustomerLocked(const std::string& tenant_id, const std::string& customer_id) {
  const std::string key = Key(tenant_id, customer_id);
  if (auto it = customers_.find(key); it != customers_.end()) return it->second;
  json c = {{"id", customer_id}, {"name", customer_id}, {"tier", "normal"}};
  auto record = desk_store_.Customer(tenant_id, customer_id);
  if (record.ok() && *record) {
    c["name"] = (*record)->name;
    c["tier"] = (*record)->tier;
  }
  if (customers_.size() > 100'000) customers_.clear();
  customers_[key] = c;
  return c;
}

json Desk::CustomerBriefLocked(const DeskConv& c) const {
  auto it = customers_.find(Key(c.tenant_id, c.customer_id));
  return it != customers_.end() ? it->second : json{{"id", c.customer_id}, {"name", c.customer_id}, {"tier", "normal"}};
}

json Desk::QueueItemLocked(const DeskConv& c) const {
  auto view = views_.find(c.id);
  return {{"conversation_id", c.id},
          {"customer", CustomerBriefLocked(c)},
          {"queue", c.queue},
          {"skill", c.skill},
          {"priority", c.priority},
          {"waiting_since_ms", c.queued_ms},
          {"reason", c.reason},
          {"emotion", view != views_.end() ? view->second.first : NeutralEmotion()},
          {"last_message", view != views_.end() ? view->second.second : json()}};
}

json Desk::SummaryLocked(const DeskConv& c) const {
  auto view = views_.find(c.id);
  json conv = {{"id", c.id},
               {"tenant_id", c.tenant_id},
               {"customer_id", c.customer_id},
               {"channel", c.channel},
               {"status", ConvStatusName(c.status)},
               {"created_ms", c.created_ms},
               {"updated_ms", c.updated_ms},
               {"assigned_agent_id", c.agent_id.empty() ? json(nullptr) : json(c.agent_id)},
               {"queue", c.queue.empty() ? json(nullptr) : json(c.queue)}};
  return {{"conversation", conv},
          {"customer", CustomerBriefLocked(c)},
          {"emotion", view != views_.end() ? view->second.first : NeutralEmotion()},
          {"last_message", view != views_.end() ? view->second.second : json()}};
}

void Desk::SendToLocked(const DeskAgent& a, const std::string& frame) {
  if (notifier_) notifier_->Send(a.agent.tenant_id, a.agent.id, frame);
}

void Desk::SendToLocked(const DeskEvents::Agents& to, const std::string& frame) {
  for (const DeskAgent* a : to) SendToLocked(*a, frame);
}

Result<const DeskConv*> Desk::AccessLocked(const Agent& me, const std::string& conversation_id, bool allow_queued) {
  switch (state_.Check(me, conversation_id, allow_queued)) {
    case DeskState::Access::kAllowed:
      return state_.Find(conversation_id);
    case DeskState::Access::kNotHere: {
      // Not in human service: exists for this tenant? (then: not assigned)
      auto c = store_.Get(me.tenant_id, conversation_id);
      if (!c.ok()) return NotFound("not_found: conversation " + conversation_id + " does not exist");
      break;
    }
    case DeskState::Access::kDenied:
      break;
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
  if (const DeskConv* c = state_.Find(conv.id); c && c->status == ConvStatus::kQueued)
    f.wait_ms = clock_.NowMs() - c->queued_ms;
  return f;
}

GateVerdict Desk::Admit(const dialogue::Conversation& conv, const dialogue::Message& msg, const json& decision,
                        json& context) {
  GateVerdict v;
  // The customer's notices in the language they wrote in ("human agent please").
  const bool en = dialogue::CustomerLanguage(msg.text) == "en";
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
    if (kind == "long_wait" && !state_.ClaimLongWait(conv.id)) continue;
    state_.RaiseAlert(conv.tenant_id, kind, conv.id, text + "：" + msg.text);
  }
  if (state_.Find(conv.id)) {
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
    if (desk_store_.LeaveMessage(conv.tenant_id, conv.id, conv.customer_id, msg.text, clock_.NowMs()).ok()) {
      v.kind = GateVerdict::Kind::kNotice;
      v.text = en ? "We have your message: an agent will get back to you as soon as one is online. You can also keep "
                    "asking the assistant."
                  : "已收到您的留言，客服上线后会尽快联系您。您也可以继续向智能助手提问。";
      v.meta = {{"follow_up", true}};
    }
    return v;
  }
  if (!transfer) return v;

  DeskConv c;
  c.order = state_.NextOrder();
  c.id = conv.id;
  c.tenant_id = conv.tenant_id;
  c.customer_id = conv.customer_id;
  c.channel = conv.channel;
  c.status = ConvStatus::kQueued;
  c.queue = transfer->value("queue", "general");
  c.skill = transfer->value("skill", "");
  c.priority = priority;
  c.reason = transfer->value("rule", "");
  c.queued_ms = clock_.NowMs();
  c.created_ms = conv.created_ms;
  c.updated_ms = c.queued_ms;
  json emotion = EmotionOf(msg.meta), last_message = Brief(msg);
  (void)CustomerLocked(conv.tenant_id, conv.customer_id);
  const int online = state_.OnlineFor(c);
  int escalations = context.value("escalations", 0) + 1;
  context["escalations"] = escalations;
  if (escalations >= 2)
    state_.RaiseAlert(conv.tenant_id, "repeated_escalation", conv.id,
                      "第 " + std::to_string(escalations) + " 次转人工：" + msg.text);
  if (online == 0) {
    context["leave_message"] = true;
    v.kind = GateVerdict::Kind::kNotice;
    v.text = en ? "Sorry, no agent is online right now. You can leave a message here (your next message) and we "
                  "will get back to you as soon as possible, or keep asking the assistant."
                : "非常抱歉，当前暂无在线的人工客服。您可以直接在这里留言（下一条消息），我们会尽快联系您；"
                  "也可以继续向智能助手提问。";
    v.meta = {{"handoff", true}, {"queue", c.queue}, {"leave_message", true}};
    return v;
  }
  state_.BeginAdmit(c.id);  // Resync leaves it to this Admit
  lock.unlock();
  struct Admitted {
    Desk* d;
    std::string id;
    ~Admitted() {
      std::lock_guard l(d->mu_);
      d->state_.EndAdmit(id);
    }
  } admitted{this, c.id};
  json handoff = ExtractiveHandoff(conv, msg, c.reason, context);

  // Auto assignment: straight to the least-loaded eligible agent with room.
  std::string target, target_name;
  if (settings_.auto_assign) {
    std::lock_guard pick(mu_);
    if (auto id = state_.Reserve(c)) {
      target = *id;
      target_name = state_.FindAgent(c.tenant_id, target)->agent.name;
    }
  }
  auto written = desk_store_.HandOver(c, target, handoff);
  if (!written.ok() || !*written) {  // closed meanwhile: the bot answers
    if (!target.empty()) {
      std::lock_guard undo(mu_);
      state_.Unreserve(c.tenant_id, target, c.id);
    }
    return v;
  }
  lock.lock();
  views_[c.id] = {std::move(emotion), std::move(last_message)};
  // Summary only now: a summary finished before the conversation is in the
  // desk would find nobody to push its frame to (the model answered faster
  // than this thread took the lock back: the agent never saw the summary).
  if (assist_) {
    const std::string tenant = c.tenant_id, id = c.id;
    (void)assist_pool_->Submit([this, tenant, id] { GenerateSummary(tenant, id); });
  }
  handoffs_.Inc();
  const DeskConv& placed = state_.Place(c, target);
  if (placed.status == ConvStatus::kHuman) {
    lock.unlock();
    auto_assigned_.Inc();
    // The notice is the customer's "who serves you" message (the same as after an accept).
    v.kind = GateVerdict::Kind::kNotice;
    v.text = ServesYou(target_name, Brief(msg));
    v.meta = {{"handoff", true},
              {"queue", c.queue},
              {"event", "assigned"},
              {"agent", {{"id", target}, {"name", target_name}}}};
    log::Info("handoff_assigned", {{"conversation_id", conv.id}, {"agent_id", target}});
    return v;
  }
  const int ahead = state_.Position(placed);
  const int64_t wait_ms = (ahead / std::max(1, online) + 1) * settings_.avg_handle_ms;
  const int64_t minutes = std::max<int64_t>(1, (wait_ms + 59'999) / 60'000);
  const std::string queue = placed.queue;
  lock.unlock();
  v.kind = GateVerdict::Kind::kNotice;
  // Never "前面还有 0 位": first in line is said as such.
  const std::string wait = std::to_string(minutes) + (minutes == 1 ? " minute." : " minutes.");
  if (en)
    v.text = ahead == 0 ? "Transferring you to an agent: you are next in line, about " + wait
                        : "Transferring you to an agent: " + std::to_string(ahead) +
                              (ahead == 1 ? " customer is" : " customers are") + " ahead of you, about " + wait;
  else
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
  if (auto h = desk_store_.Handoff(tenant_id, conversation_id); h.ok() && *h) stored = **h;
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
  auto merged = desk_store_.MergeHandoff(tenant_id, conversation_id, stored, patch);
  if (!merged) return;
  std::lock_guard lock(mu_);
  const DeskConv* c = state_.Find(conversation_id);
  if (!c) return;  // closed meanwhile: nobody is looking
  const std::string frame = Frame({{"type", "handoff"}, {"conversation_id", conversation_id}, {"handoff", *merged}});
  if (c->status == ConvStatus::kHuman) {
    if (const DeskAgent* a = state_.ServedBy(*c)) SendToLocked(*a, frame);
  } else {
    SendToLocked(state_.Watchers(*c), frame);
  }
}

void Desk::Dispatch(const std::string& tenant) {
  if (!settings_.auto_assign) return;
  std::lock_guard serial(dispatch_mu_);
  std::set<std::string> changed;  // the database no longer has them queued (another node took them)
  for (int round = 0; round < 10'000; ++round) {
    std::shared_lock sync(sync_mu_);
    std::optional<DeskState::Pick> pick;
    {
      std::lock_guard lock(mu_);
      pick = state_.NextAssignment(tenant, changed);
    }
    if (!pick) return;
    auto won = desk_store_.AssignQueued(tenant, pick->conversation_id, pick->agent_id, clock_.NowMs());
    if (!won.ok()) return;  // retried by the next tick
    if (!*won) {            // accepted or closed meanwhile (here, or on another node: Resync)
      changed.insert(pick->conversation_id);
      continue;
    }
    json brief;
    {
      std::lock_guard lock(mu_);
      if (!state_.Assign(pick->conversation_id, pick->agent_id, /*auto_assigned=*/true)) continue;
      if (auto v = views_.find(pick->conversation_id); v != views_.end()) brief = v->second.second;
    }
    auto_assigned_.Inc();
    (void)SystemMessage(pick->conversation_id, ServesYou(pick->agent_name, brief),
                        {{"agent", {{"id", pick->agent_id}, {"name", pick->agent_name}}},
                         {"event", "assigned"},
                         {"auto", true}});
    log::Info("handoff_assigned", {{"conversation_id", pick->conversation_id}, {"agent_id", pick->agent_id}});
  }
}

// ---- hub events ----------------------------------------------------------------

void Desk::OnMessage(const dialogue::Message& m) {
  std::lock_guard lock(mu_);
  const DeskConv* c = state_.Find(m.conversation_id);
  if (!c) return;  // self-service: no agent involved
  if (m.role == "customer") views_[c->id] = {EmotionOf(m.meta), Brief(m)};
  state_.Touch(c->id, m.created_ms, m.role == "customer");  // a waiting one shows the new message in the queue
  if (const DeskAgent* a = state_.ServedBy(*c))
    SendToLocked(*a, Frame({{"type", "message"}, {"conversation_id", c->id}, {"message", m.ToJson()}}));
}

void Desk::OnClosed(const dialogue::Conversation& conv) {
  std::lock_guard lock(mu_);
  (void)state_.Release(conv.id, /*redispatch=*/true);  // a slot freed (the hub thread must not dispatch)
}

// ---- accounts -------------------------------------------------------------------

Result<Agent> Desk::FindAgent(const std::string& tenant_id, const std::string& id) {
  std::lock_guard lock(mu_);
  const DeskAgent* a = state_.FindAgent(tenant_id, id);
  if (!a) return NotFound("not_found: agent " + id + " does not exist");
  return a->agent;
}

void Desk::AgentChanged(const Agent& agent) {
  std::lock_guard lock(mu_);
  state_.PutAgent(agent, /*announce=*/true);
}

json Desk::AgentJson(const std::string& tenant_id, const std::string& id) {
  std::lock_guard lock(mu_);
  const DeskAgent* a = state_.FindAgent(tenant_id, id);
  return a ? AgentJsonLocked(*a) : json(nullptr);
}

// ---- agent operations ---------------------------------------------------------

Result<json> Desk::SetPresence(const Agent& me, const std::string& presence) {
  const std::optional<Presence> p = ParsePresence(presence);
  if (!p) return InvalidArgument("presence must be online, away or offline");
  std::unique_lock lock(mu_);
  KEFU_ASSIGN_OR_RETURN(const DeskAgent* a, state_.SetPresence(me.tenant_id, me.id, *p));
  json out = AgentJsonLocked(*a);
  if (bus_) {
    lock.unlock();
    PublishPresence();  // other nodes queue for this agent (or stop) at once
    lock.lock();
  }
  if (*p == Presence::kOnline) {
    lock.unlock();
    Dispatch(me.tenant_id);  // the queue may be waiting for exactly this agent
  }
  return out;
}

json Desk::Queue(const Agent& me) {
  std::lock_guard lock(mu_);
  json out = json::array();
  for (const DeskConv* c : state_.QueueFor(me)) out.push_back(QueueItemLocked(*c));
  return {{"items", out}};
}

json Desk::MyConversations(const Agent& me) {
  std::lock_guard lock(mu_);
  json out = json::array();
  for (const DeskConv* c : state_.ServedByAgent(me)) out.push_back(SummaryLocked(*c));
  return {{"items", out}};
}

Result<dialogue::Attachment> Desk::FindAttachment(const Agent& me, const std::string& conversation_id,
                                                  const std::string& attachment_id) {
  {
    std::lock_guard lock(mu_);
    KEFU_RETURN_IF_ERROR(AccessLocked(me, conversation_id, /*allow_queued=*/true).status());
  }
  return store_.FindAttachment(conversation_id, attachment_id);
}

Result<json> Desk::Detail(const Agent& me, const std::string& conversation_id) {
  json summary;
  {
    std::lock_guard lock(mu_);
    KEFU_ASSIGN_OR_RETURN(const DeskConv* c, AccessLocked(me, conversation_id, /*allow_queued=*/true));
    summary = SummaryLocked(*c);
  }
  KEFU_ASSIGN_OR_RETURN(auto msgs, store_.List(conversation_id, 0, 500));
  std::vector<json> all;
  for (const auto& m : msgs) all.push_back(m.ToJson());
  KEFU_ASSIGN_OR_RETURN(std::vector<DeskNote> notes, desk_store_.Notes(me.tenant_id, conversation_id));
  for (const auto& n : notes)
    all.push_back(NoteJson(n.id, conversation_id, n.text, n.agent_id, n.agent_name, n.created_ms));
  json handoff = json::object();
  KEFU_ASSIGN_OR_RETURN(std::optional<json> stored, desk_store_.Handoff(me.tenant_id, conversation_id));
  if (stored) handoff = std::move(*stored);
  std::stable_sort(all.begin(), all.end(),
                   [](const json& a, const json& b) { return a["created_ms"].get<int64_t>() < b["created_ms"].get<int64_t>(); });
  summary["messages"] = all;
  summary["handoff"] = handoff.is_object() ? handoff : json::object();
  return summary;
}

Result<json> Desk::Accept(const Agent& me, const std::string& conversation_id, bool takeover) {
  std::shared_lock sync(sync_mu_);
  std::string expected_agent;
  {
    std::lock_guard lock(mu_);
    const DeskConv* c = state_.Find(conversation_id);
    if (!c || c->tenant_id != me.tenant_id) {
      auto stored = store_.Get(me.tenant_id, conversation_id);
      if (!stored.ok()) return NotFound("not_found: conversation " + conversation_id + " does not exist");
      return Conflict("already_assigned: conversation " + conversation_id + " is not waiting in a queue");
    }
    KEFU_ASSIGN_OR_RETURN(DeskState::AcceptCheck check, state_.CheckAccept(me, *c, takeover));
    if (check.mine) return SummaryLocked(*c);
    expected_agent = check.expected_agent;
  }
  // Compare-and-set in the database: of two racing accepts exactly one changes the row.
  const int64_t now = clock_.NowMs();
  KEFU_ASSIGN_OR_RETURN(bool won, takeover ? desk_store_.Reassign(me.tenant_id, conversation_id, expected_agent,
                                                                  me.id, now)
                                           : desk_store_.AssignQueued(me.tenant_id, conversation_id, me.id, now));
  if (!won) return Conflict("already_assigned: conversation " + conversation_id + " was accepted by another agent");
  json summary, brief;
  {
    std::lock_guard lock(mu_);
    const DeskConv* c = state_.Assign(conversation_id, me.id, /*auto_assigned=*/false);
    if (!c) return NotFound("not_found: conversation closed meanwhile");
    summary = SummaryLocked(*c);
    if (auto v = views_.find(conversation_id); v != views_.end()) brief = v->second.second;
  }
  accepts_.Inc();
  (void)SystemMessage(conversation_id, ServesYou(me.name, brief),
                      {{"agent", {{"id", me.id}, {"name", me.name}}}, {"event", "assigned"}});
  log::Info("agent_accepted", {{"conversation_id", conversation_id}, {"agent_id", me.id}, {"takeover", takeover}});
  return summary;
}

Result<json> Desk::SendMessage(const Agent& me, const std::string& conversation_id, const std::string& text,
                               const std::string& client_msg_id) {
  {
    std::lock_guard lock(mu_);
    KEFU_ASSIGN_OR_RETURN(const DeskConv* c, AccessLocked(me, conversation_id, /*allow_queued=*/false));
    if (c->status != ConvStatus::kHuman || c->agent_id != me.id)
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
    KEFU_ASSIGN_OR_RETURN(const DeskConv* c, AccessLocked(me, conversation_id, /*allow_queued=*/true));
    (void)c;
  }
  const int64_t now = clock_.NowMs();
  KEFU_ASSIGN_OR_RETURN(int64_t id, desk_store_.AddNote(me.tenant_id, conversation_id, me.id, text, now));
  json note = NoteJson(id, conversation_id, text, me.id, me.name, now);
  std::lock_guard lock(mu_);
  if (const DeskConv* c = state_.Find(conversation_id))
    if (const DeskAgent* a = state_.ServedBy(*c))
      SendToLocked(*a, Frame({{"type", "message"}, {"conversation_id", conversation_id}, {"message", note}}));
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
    KEFU_ASSIGN_OR_RETURN(const DeskConv* c, AccessLocked(me, conversation_id, /*allow_queued=*/false));
    current_agent = c->status == ConvStatus::kHuman ? c->agent_id : "";
    if (agent_id) {
      const DeskAgent* to = state_.FindAgent(me.tenant_id, *agent_id);
      if (!to) return NotFound("not_found: agent " + *agent_id + " does not exist");
      target = to->agent.id;
    } else {
      // Least-loaded online agent of the group with room; else back to the group's queue.
      new_queue = *group;
      new_skill = group_skills->empty() ? "" : (*group_skills)[0];
      if (const DeskAgent* best = state_.GroupTarget(me.tenant_id, current_agent, *group_skills))
        target = best->agent.id;
    }
  }
  const int64_t now = clock_.NowMs();
  KEFU_ASSIGN_OR_RETURN(bool won, !target.empty() ? desk_store_.Reassign(me.tenant_id, conversation_id,
                                                                         current_agent, target, now)
                                                  : desk_store_.Requeue(me.tenant_id, conversation_id, current_agent,
                                                                        new_queue, new_skill, now));
  if (!won) return Conflict("already_assigned: conversation " + conversation_id + " changed meanwhile");
  json summary;
  std::string target_name;
  {
    std::lock_guard lock(mu_);
    if (!state_.Find(conversation_id)) return NotFound("not_found: conversation closed meanwhile");
    const DeskConv* c = nullptr;
    if (!target.empty()) {
      c = state_.Assign(conversation_id, target, /*auto_assigned=*/false);
      if (const DeskAgent* to = state_.FindAgent(me.tenant_id, target)) target_name = to->agent.name;
    } else {
      c = state_.Requeue(conversation_id, new_queue, new_skill);
    }
    if (!c) return NotFound("not_found: conversation closed meanwhile");
    summary = SummaryLocked(*c);
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
    KEFU_ASSIGN_OR_RETURN(const DeskConv* c, AccessLocked(me, conversation_id, /*allow_queued=*/false));
    (void)c;
  }
  KEFU_ASSIGN_OR_RETURN(bool won, desk_store_.Release(me.tenant_id, conversation_id, clock_.NowMs()));
  if (!won) return Conflict("already_assigned: conversation " + conversation_id + " changed meanwhile");
  json summary;
  {
    std::lock_guard lock(mu_);
    const DeskConv* c = state_.Find(conversation_id);
    if (!c) return NotFound("not_found: conversation closed meanwhile");
    DeskConv closed = *c;  // as the agent's answer shows it: back with the bot
    closed.status = ConvStatus::kOpen;
    closed.agent_id.clear();
    closed.queue.clear();
    summary = SummaryLocked(closed);
    (void)state_.Release(conversation_id, /*redispatch=*/false);  // dispatched below
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
    KEFU_ASSIGN_OR_RETURN(const DeskConv* c, AccessLocked(me, conversation_id, /*allow_queued=*/true));
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
  KEFU_ASSIGN_OR_RETURN(json panel, desk_store_.CustomerTables(me.tenant_id, customer_id));
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

json Desk::Board(const std::string& tenant_id) {
  std::lock_guard lock(mu_);
  const BoardView b = state_.Board(tenant_id);
  json qs = json::array();
  for (const auto& q : b.queues) qs.push_back({{"name", q.name}, {"waiting", q.waiting}, {"oldest_wait_ms", q.oldest_wait_ms}});
  json agents = json::array();
  for (const DeskAgent* a : b.agents) agents.push_back(AgentJsonLocked(*a));
  json alerts = json::array();
  for (const auto& a : b.alerts) alerts.push_back(AlertJson(a));
  return {{"queues", qs}, {"agents", agents}, {"alerts", alerts}};
}

Result<json> Desk::Decisions(const std::string& tenant_id, const std::string& conversation_id) {
  KEFU_ASSIGN_OR_RETURN(dialogue::Conversation c, store_.Get(tenant_id, conversation_id));
  KEFU_ASSIGN_OR_RETURN(std::vector<CustomerTurnTrace> turns, desk_store_.CustomerTurns(c.id));
  json items = json::array();
  for (const auto& t : turns)
    items.push_back({{"message_id", t.message_id},
                     {"seq", t.seq},
                     {"text", t.text},
                     {"created_ms", t.created_ms},
                     {"decision", t.meta.is_object() ? t.meta.value("decision", json()) : json()}});
  return json{{"items", items}};
}

// ---- workspaces -------------------------------------------------------------------

void Desk::Attach(const Agent& me, uint64_t conn_id, const std::function<void(const std::string& hello)>& open) {
  std::lock_guard lock(mu_);
  const DeskAgent* a = state_.AttachWorkspace(me.tenant_id, me.id, conn_id);
  if (!a) return;
  open(Frame({{"type", "hello"}, {"agent", AgentJsonLocked(*a)}}));
}

void Desk::Detach(const Agent& me, uint64_t conn_id) {
  std::lock_guard lock(mu_);
  state_.DetachWorkspace(me.tenant_id, me.id, conn_id);
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
    spec.public_password = true;  // the README prints it
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
