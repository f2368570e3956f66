#include "dialogue/conversation_service.h"

#include <algorithm>

#include "common/log.h"
#include "dialogue/human_request.h"

namespace kefu::dialogue {

namespace {

// Appends this turn's negativity to context.negativity (last 8) and refreshes
// context.emotion_trend, the trajectory routing and the responder read.
void UpdateTrajectory(nlohmann::json& context, const nlohmann::json& analysis) {
  if (!analysis.is_object()) return;
  auto& hist = context["negativity"];
  if (!hist.is_array()) hist = nlohmann::json::array();
  nlu::TurnAnalysis a;
  a.sentiment = analysis.value("sentiment", "neutral");
  a.sentiment_score = analysis.value("sentiment_score", 0.0);
  a.emotion = analysis.value("emotion", "neutral");
  a.emotion_intensity = analysis.value("emotion_intensity", 0.0);
  hist.push_back(a.Negativity());
  while (hist.size() > 8) hist.erase(hist.begin());
  nlu::EmotionTrajectory trajectory;
  for (const auto& v : hist) {
    nlu::TurnAnalysis t;
    t.sentiment = "negative";
    t.sentiment_score = v.get<double>();
    trajectory.Add(t);
  }
  context["emotion_trend"] = trajectory.ToJson();
}

// A reply for PostCallbacks::on_reply when nobody answers automatically.
Message NoReply(const Message& customer_message) {
  Message m;
  m.conversation_id = customer_message.conversation_id;
  m.role = "none";
  m.reply_to = customer_message.id;
  return m;
}

}  // namespace

nlohmann::json ConversationService::Route(const Conversation& conv, const std::string& text, const VoiceSignal* voice,
                                          const nlohmann::json& analysis, nlohmann::json& context) {
  UpdateTrajectory(context, analysis);
  if (!rules_) return nullptr;
  routing::TurnFacts f;
  f.tenant_id = conv.tenant_id;
  f.channel = conv.channel;
  f.text = text;
  if (voice && voice->calibrated) {
    f.voice = true;
    f.voice_arousal = voice->arousal;
    f.voice_anger = voice->anger;
  }
  if (analysis.is_object()) {
    f.emotion = analysis.value("emotion", "neutral");
    f.emotion_intensity = analysis.value("emotion_intensity", 0.0);
    f.sentiment = analysis.value("sentiment", "neutral");
    f.sentiment_score = analysis.value("sentiment_score", 0.0);
    f.intent = analysis.value("intent", "");
    f.intent_score = analysis.value("intent_score", 0.0);
    if (analysis.contains("urgency") && analysis["urgency"].is_array())
      for (const auto& u : analysis["urgency"])
        if (u.is_string()) f.urgency.push_back(u.get<std::string>());
  } else {
    f.emotion = "neutral";
    f.sentiment = "neutral";
  }
  if (context.contains("emotion_trend") && context["emotion_trend"].is_object()) {
    f.emotion_trend_slope = context["emotion_trend"].value("slope", 0.0);
    f.emotion_trend_mean = context["emotion_trend"].value("mean", 0.0);
  }
  f.repeat_count = repeat_.Observe(context["repeat"], text, need_key_ ? need_key_(conv.tenant_id, text) : "");
  f.now_ms = clock_.NowMs();
  // The same reading as the grounded responder's (dialogue/human_request.h):
  // whenever the bot would say "转人工", routing really transfers.
  const HumanNeed need = DetectHumanNeed(text);
  f.human_requested = (f.intent == "human" && f.intent_score >= 0.8) || need.asks_for_human;
  if (need.abusive) f.urgency.push_back("abuse");
  if (need.stuck) f.urgency.push_back("stuck");
  if (gate_) {
    GateFacts g = gate_->Facts(conv);
    f.customer_tier = g.customer_tier;
    f.wait_ms = g.wait_ms;
  } else {
    f.customer_tier = "normal";
  }
  nlohmann::json d = rules_->For(conv.tenant_id)->Evaluate(f).ToJson();
  d["facts"] = {{"repeat_count", f.repeat_count}, {"tier", f.customer_tier}, {"wait_ms", f.wait_ms},
                {"trend_slope", f.emotion_trend_slope}, {"trend_mean", f.emotion_trend_mean}};
  if (f.voice) {
    d["facts"]["voice_arousal"] = f.voice_arousal;
    d["facts"]["voice_anger"] = f.voice_anger;
  }
  return d;
}

ConversationService::ConversationService(ConversationStore& store, Responder& responder, ThreadPool& workers,
                                         ConversationHub& hub, metrics::Registry& metrics, const Clock& clock,
                                         ServiceSettings settings, const nlu::Analyzer* analyzer,
                                         const routing::RuleStore* rules)
    : store_(store),
      responder_(responder),
      workers_(workers),
      hub_(hub),
      clock_(clock),
      analyzer_(analyzer),
      rules_(rules),
      settings_(settings),
      turns_ok_(metrics.GetCounter("kefu_turns_total", "Customer turns answered", "outcome=\"ok\"")),
      turns_failed_(metrics.GetCounter("kefu_turns_total", "Customer turns answered", "outcome=\"error\"")),
      messages_accepted_(metrics.GetCounter("kefu_messages_accepted_total", "Customer messages stored")),
      duplicates_(
          metrics.GetCounter("kefu_messages_duplicate_total", "Retried customer messages (same client_msg_id)")),
      turn_seconds_(metrics.GetHistogram("kefu_turn_seconds", "Time from accepting a message to storing the reply")),
      open_conversations_(metrics.GetGauge("kefu_open_conversations", "Conversations with status open")),
      in_flight_gauge_(metrics.GetGauge("kefu_turns_in_flight", "Turns accepted and not yet answered")),
      failovers_(metrics.GetCounter("kefu_failover_conversations_total",
                                    "Conversations taken over from a node whose lease expired")),
      lease_refusals_(metrics.GetCounter("kefu_lease_busy_total",
                                         "Turns refused because another node holds the conversation's lease")) {
  open_conversations_.Set(static_cast<double>(store_.CountOpen()));
}

ConversationService::~ConversationService() {
  StopFailover();
}

Result<Conversation> ConversationService::Start(const std::string& tenant_id, const std::string& customer_id,
                                                const std::string& channel) {
  auto c = store_.Create(tenant_id, customer_id, channel);
  if (c.ok()) {
    open_conversations_.Add(1);
    log::Info("conversation_started", {{"conversation_id", c->id}, {"tenant_id", tenant_id}, {"channel", channel}});
  }
  return c;
}

Result<Conversation> ConversationService::Get(const std::string& tenant_id, const std::string& conversation_id) {
  return store_.Get(tenant_id, conversation_id, /*with_context=*/false);
}

Status ConversationService::CheckOwner(const std::string& tenant_id, const std::string& conversation_id) {
  constexpr size_t kMaxOwners = 100000;  // about 10 MB; then it starts over
  {
    std::lock_guard lock(owners_mu_);
    auto it = owners_.find(conversation_id);
    if (it != owners_.end() && it->second == tenant_id) return Status::Ok();
  }
  auto c = Get(tenant_id, conversation_id);
  if (!c.ok()) return c.status();
  std::lock_guard lock(owners_mu_);
  if (owners_.size() >= kMaxOwners) owners_.clear();
  owners_.emplace(conversation_id, tenant_id);
  return Status::Ok();
}

Result<Conversation> ConversationService::Close(const std::string& tenant_id, const std::string& conversation_id) {
  KEFU_ASSIGN_OR_RETURN(Conversation c, store_.Get(tenant_id, conversation_id));
  if (c.status == "closed") return c;
  KEFU_RETURN_IF_ERROR(store_.Close(conversation_id));
  open_conversations_.Add(-1);
  c.status = "closed";
  c.updated_ms = clock_.NowMs();
  hub_.PublishClosed(c);
  log::Info("conversation_closed", {{"conversation_id", c.id}});
  return c;
}

void ConversationService::Enqueue(const std::string& conversation_id, Task task) {
  bool start = false;
  {
    std::lock_guard lock(mu_);
    auto [it, inserted] = queues_.try_emplace(conversation_id);
    it->second.push_back(std::move(task));
    start = inserted;  // nothing running for this conversation yet
  }
  if (start) {
    if (!workers_.Submit([this, conversation_id] { RunNext(conversation_id); })) {
      // The pool is gone (process exit): run inline so nothing accepted is dropped.
      RunNext(conversation_id);
    }
  }
}

void ConversationService::RunNext(const std::string& conversation_id) {
  const std::string lease = "conv:" + conversation_id;
  int64_t token = 0;
  bool held = false;
  bool dirty = false;
  for (;;) {
    Task task;
    {
      std::lock_guard lock(mu_);
      auto it = queues_.find(conversation_id);
      if (it == queues_.end() || it->second.empty()) {
        if (it != queues_.end()) queues_.erase(it);
        break;
      }
      task = std::move(it->second.front());
      it->second.pop_front();
    }
    if (leases_ && !(held && leases_->Held(lease))) {
      if (held) {
        // Lost, or not renewed in time: take it again before the next turn.
        log::Warn("lease_not_held", {{"conversation_id", conversation_id}, {"token", token}});
        leases_->Abandon(lease, token);
        held = false;
      }
      auto t = leases_->Acquire(lease);
      if (!t.ok()) {
        // Nothing of these turns was stored: each caller gets the error (a
        // client retries with the same client_msg_id).
        if (IsLeaseBusy(t.status())) lease_refusals_.Inc();
        std::deque<Task> rest;
        {
          std::lock_guard lock(mu_);
          auto it = queues_.find(conversation_id);
          if (it != queues_.end()) {
            rest = std::move(it->second);
            queues_.erase(it);
          }
        }
        task.fail(t.status());
        for (auto& r : rest) r.fail(t.status());
        return;
      }
      token = t->token;
      held = true;
      if (t->taken_over) {
        // The previous holder died (or left a turn unfinished) with messages
        // it had acknowledged: answer them first, in order, before this turn.
        failovers_.Inc();
        log::Info("failover", {{"conversation_id", conversation_id}, {"by", "turn"}});
        auto pending = store_.UnansweredIn(conversation_id);
        if (!pending.ok()) {
          dirty = true;
        } else {
          for (const auto& m : *pending)
            if (!Answer(m).ok()) dirty = true;
        }
      }
    }
    bool clean = false;
    try {
      clean = task.run();
    } catch (const std::exception& e) {
      log::Error("turn_threw", {{"conversation_id", conversation_id}, {"error", e.what()}});
    }
    if (!clean) dirty = true;
  }
  if (held) {
    // A turn left a message unanswered: keep the lease until it expires, so
    // that the failover sweep (of any node) answers it then.
    if (dirty)
      leases_->Abandon(lease, token);
    else
      leases_->Release(lease, token);
  }
}

ConversationService::Task ConversationService::RecoveryTask(const std::string& cid) {
  Task t;
  t.run = [this, cid] {
    {
      std::lock_guard lock(mu_);
      recovering_.erase(cid);
    }
    // Read under the lease: what another node answered meanwhile is not answered again.
    auto pending = store_.UnansweredIn(cid);
    bool clean = pending.ok();
    if (!pending.ok()) {
      log::Error("recover_failed", {{"conversation_id", cid}, {"error", pending.status().ToString()}});
    } else {
      for (const auto& m : *pending)
        if (!Answer(m).ok()) clean = false;
    }
    FinishOne();
    return clean;
  };
  t.fail = [this, cid](const Status& st) {
    {
      std::lock_guard lock(mu_);
      recovering_.erase(cid);
    }
    log::Info("recover_deferred", {{"conversation_id", cid}, {"reason", st.ToString()}});
    FinishOne();
  };
  return t;
}

void ConversationService::FinishOne() {
  in_flight_gauge_.Add(-1);
  if (--in_flight_ == 0) {
    std::lock_guard lock(mu_);
    idle_cv_.notify_all();
  }
}

void ConversationService::Post(const std::string& tenant_id, const std::string& conversation_id,
                               const std::string& client_msg_id, const std::string& text, PostCallbacks cb,
                               std::vector<MessagePart> parts, std::vector<Attachment> attachments,
                               std::optional<VoiceSignal> voice) {
  {
    std::lock_guard lock(mu_);
    if (draining_) {
      if (cb.on_accepted) cb.on_accepted(Unavailable("server is shutting down"));
      return;
    }
    ++in_flight_;
  }
  in_flight_gauge_.Add(1);
  int64_t start_ns = clock_.MonotonicNs();
  auto shared_cb = std::make_shared<PostCallbacks>(std::move(cb));
  Task task;
  task.fail = [this, shared_cb](const Status& st) {
    if (shared_cb->on_accepted) shared_cb->on_accepted(st);
    FinishOne();
  };
  auto shared_parts = std::make_shared<std::pair<std::vector<MessagePart>, std::vector<Attachment>>>(
      std::move(parts), std::move(attachments));
  task.run = [this, tenant_id, conversation_id, client_msg_id, text, shared_cb, shared_parts, start_ns,
              voice]() -> bool {
    const PostCallbacks& cb = *shared_cb;
    auto conv = store_.Get(tenant_id, conversation_id);
    if (!conv.ok()) {
      if (cb.on_accepted) cb.on_accepted(conv.status());
      FinishOne();
      return true;
    }
    nlohmann::json meta = nlohmann::json::object();
    // The customer's words: what they typed plus the text read from their pictures.
    const std::string turn_text = TurnText(text, shared_parts->first);
    if (analyzer_) meta["analysis"] = analyzer_->Analyze(turn_text, tenant_id).ToJson();
    if (voice)
      meta["voice"] = {{"calibrated", voice->calibrated}, {"arousal", voice->arousal}, {"anger", voice->anger}};
    nlohmann::json context = conv->context;
    static const nlohmann::json kNoAnalysis;
    const auto analysis = meta.find("analysis");
    nlohmann::json decision = Route(*conv, turn_text, voice ? &*voice : nullptr,
                                    analysis != meta.end() ? *analysis : kNoAnalysis, context);
    if (!decision.is_null()) meta["decision"] = std::move(decision);
    auto accepted = store_.AppendCustomerMessage(conversation_id, client_msg_id, text, std::move(meta),
                                                 shared_parts->first, shared_parts->second);
    if (cb.on_accepted) cb.on_accepted(accepted);
    if (!accepted.ok()) {
      FinishOne();
      return true;
    }
    if (accepted->duplicate) {
      duplicates_.Inc();
      if (accepted->reply) {
        if (cb.on_reply) cb.on_reply(*accepted->reply);
        FinishOne();
        return true;
      }
    } else {
      messages_accepted_.Inc();
      hub_.PublishMessage(accepted->message);
    }
    auto reply = accepted->duplicate ? Answer(accepted->message, std::move(*conv))
                                     : Answer(accepted->message, std::move(*conv), std::move(context));
    turn_seconds_.Observe(static_cast<double>(clock_.MonotonicNs() - start_ns) / 1e9);
    if (cb.on_reply) cb.on_reply(reply);
    FinishOne();
    return reply.ok();
  };
  Enqueue(conversation_id, std::move(task));
}

// The service's own state in the context (emotion trajectory, repeats, proof
// of identity) outlives whatever the responder returns.
void ConversationService::CarryServiceState(const nlohmann::json& from, nlohmann::json& to) {
  for (const char* key : {"negativity", "emotion_trend", "repeat", "customer_verified", "customer_proven"})
    if (from.contains(key)) to[key] = from[key];
}

// Stores a reply (and the context, when given), counts the turn and publishes it.
Result<Message> ConversationService::StoreReply(const std::string& conversation_id, const std::string& text,
                                                int64_t reply_to, const nlohmann::json& meta,
                                                const nlohmann::json* context, const std::string& role) {
  auto stored = store_.AppendReply(conversation_id, text, reply_to, meta, context, role);
  if (!stored.ok()) {
    turns_failed_.Inc();
    return stored.status();
  }
  turns_ok_.Inc();
  hub_.PublishMessage(*stored);
  return stored;
}

Result<Message> ConversationService::Answer(const Message& customer_message, std::optional<Conversation> known,
                                            std::optional<nlohmann::json> routed_context) {
  Result<Conversation> conv = known ? Result<Conversation>(std::move(*known))
                                    : store_.GetById(customer_message.conversation_id);
  if (!conv.ok()) {
    turns_failed_.Inc();
    return conv.status();
  }
  auto recent = store_.Recent(conv->id, settings_.history_turns + 1, /*with_meta=*/false);
  std::vector<Message> history;
  if (recent.ok()) {
    for (auto& m : *recent) {
      if (m.seq >= customer_message.seq) continue;
      if (!m.parts.empty()) m.text = TurnText(m.text, m.parts);  // earlier pictures' text, as it was read
      history.push_back(std::move(m));
    }
  }
  // The emotion trajectory over the last turns travels in the context, for
  // the responder now and for routing decisions.
  nlohmann::json stored_context;
  if (routed_context) {
    stored_context = std::move(conv->context);
    conv->context = std::move(*routed_context);
  } else {
    stored_context = conv->context;
    if (customer_message.meta.contains("analysis")) UpdateTrajectory(conv->context, customer_message.meta["analysis"]);
  }
  static const nlohmann::json kNoDecision;
  const auto found = customer_message.meta.is_object() ? customer_message.meta.find("decision")
                                                       : customer_message.meta.end();
  const nlohmann::json& decision = found != customer_message.meta.end() ? *found : kNoDecision;
  std::string calming;
  if (decision.is_object() && decision.contains("actions"))
    for (const auto& a : decision["actions"])
      if (a.value("action", "") == "calming_reply" && calming.empty()) calming = a.value("text", "");
  if (gate_) {
    GateVerdict v = gate_->Admit(*conv, customer_message, decision, conv->context);
    if (v.kind != GateVerdict::Kind::kBot) {
      const bool changed = conv->context != stored_context;
      if (v.kind == GateVerdict::Kind::kSilent) {
        if (changed) (void)store_.SaveContext(conv->id, conv->context);
        turns_ok_.Inc();
        return NoReply(customer_message);
      }
      return StoreReply(conv->id, v.text, customer_message.id, v.meta, changed ? &conv->context : nullptr, "system");
    }
  }
  // A customer trusted only because the server trusted claims when the
  // conversation began (require_verified_customer was off) is not trusted
  // once it is on: proof (a customer token, the API key) is what counts.
  if (settings_.require_verified_customer && conv->context.is_object() &&
      conv->context.value("customer_verified", true) && !conv->context.value("customer_proven", false))
    conv->context["customer_verified"] = false;
  // A message with pictures is answered on its turn text: the typed words
  // plus what was read from the pictures (TurnText), as if the customer had
  // typed it (an order number in a screenshot → the order tools).
  std::optional<Message> with_transcripts;
  if (!customer_message.parts.empty()) {
    with_transcripts = customer_message;
    with_transcripts->text = TurnText(customer_message.text, customer_message.parts);
  }
  TurnRequest turn{*conv, with_transcripts ? *with_transcripts : customer_message, history, conv->context};
  const std::string& cid = conv->id;
  int64_t reply_to = customer_message.id;
  TurnReply reply = responder_.Respond(turn, [&](std::string_view delta) { hub_.PublishDelta(cid, reply_to, delta); });
  // The responder found a request for a human the routing facts did not show
  // (a language model's reading, its request_human tool call): route it now,
  // through the tenant's rules, so the reply states the real outcome (queue
  // place, the agent, leave-a-message) and never an empty promise.
  if (gate_ && rules_ && reply.meta.value("handoff", false) &&
      !(decision.is_object() && decision.value("handoff", false))) {
    routing::TurnFacts f;
    f.tenant_id = conv->tenant_id;
    f.channel = conv->channel;
    f.text = TurnText(customer_message.text, customer_message.parts);
    f.emotion = "neutral";
    f.sentiment = "neutral";
    f.human_requested = true;
    f.now_ms = clock_.NowMs();
    GateFacts g = gate_->Facts(*conv);
    f.customer_tier = g.customer_tier;
    f.wait_ms = g.wait_ms;
    nlohmann::json late = rules_->For(conv->tenant_id)->Evaluate(f).ToJson();
    if (late.value("handoff", false)) {
      late["late"] = true;  // decided after the bot read the turn
      GateVerdict v = gate_->Admit(*conv, customer_message, late, reply.context);
      if (v.kind == GateVerdict::Kind::kNotice) {
        for (const char* key : {"llm_reading", "tools", "intent"})
          if (reply.meta.contains(key)) v.meta[key] = reply.meta[key];
        v.meta["decision"] = std::move(late);
        CarryServiceState(conv->context, reply.context);
        return StoreReply(cid, v.text, reply_to, v.meta, &reply.context, "system");
      }
    }
  }
  if (!calming.empty()) {
    reply.text = calming + "\n" + reply.text;
    reply.meta["calming"] = true;
  }
  CarryServiceState(conv->context, reply.context);
  const bool context_changed = reply.context != stored_context;
  auto stored =
      store_.AppendReply(cid, reply.text, reply_to, std::move(reply.meta), context_changed ? &reply.context : nullptr);
  if (!stored.ok()) {
    turns_failed_.Inc();
    log::Error("reply_not_stored", {{"conversation_id", cid}, {"error", stored.status().ToString()}});
    return stored.status();
  }
  turns_ok_.Inc();
  hub_.PublishMessage(*stored);
  log::Debug("turn", {{"conversation_id", cid},
                      {"seq", customer_message.seq},
                      {"intent", stored->meta.value("intent", "")},
                      {"source", stored->meta.value("source", "")}});
  return stored;
}

void ConversationService::RecoverUnanswered() {
  auto pending = store_.Unanswered(100000);
  if (!pending.ok()) {
    log::Error("recover_failed", {{"error", pending.status().ToString()}});
    return;
  }
  if (!pending->empty()) log::Info("recovering_unanswered", {{"count", pending->size()}});
  std::vector<std::string> conversations;
  {
    std::lock_guard lock(mu_);
    for (const auto& m : *pending)
      if (recovering_.insert(m.conversation_id).second) conversations.push_back(m.conversation_id);
  }
  for (const auto& cid : conversations) {
    ++in_flight_;
    in_flight_gauge_.Add(1);
    Enqueue(cid, RecoveryTask(cid));
  }
}

int ConversationService::SweepAbandoned() {
  if (!leases_) return 0;
  auto names = leases_->store().Abandoned("conv:", 100);
  if (!names.ok()) {
    log::Warn("failover_sweep_failed", {{"error", names.status().ToString()}});
    return 0;
  }
  std::vector<std::string> conversations;
  {
    std::lock_guard lock(mu_);
    if (draining_) return 0;
    for (const auto& name : *names) {
      std::string cid = name.substr(5);
      if (recovering_.insert(cid).second) conversations.push_back(std::move(cid));
    }
    in_flight_ += static_cast<int64_t>(conversations.size());
  }
  for (const auto& cid : conversations) {
    in_flight_gauge_.Add(1);
    failovers_.Inc();
    log::Info("failover", {{"conversation_id", cid}});
    Enqueue(cid, RecoveryTask(cid));
  }
  return static_cast<int>(conversations.size());
}

void ConversationService::StartFailover(int64_t interval_ms) {
  if (!leases_ || failover_.joinable()) return;
  failover_ = std::thread([this, interval_ms] {
    std::unique_lock lock(failover_mu_);
    int64_t sweeps = 0;
    const int64_t purge_every = std::max<int64_t>(1, 60'000 / interval_ms);  // about once a minute
    while (!failover_stop_) {
      failover_cv_.wait_for(lock, std::chrono::milliseconds(interval_ms), [this] { return failover_stop_; });
      if (failover_stop_) break;
      lock.unlock();
      try {
        if (++sweeps % purge_every == 0) (void)leases_->store().PurgeReleased();
        SweepAbandoned();
      } catch (const std::exception& e) {
        log::Error("failover_sweep_threw", {{"error", e.what()}});
      }
      lock.lock();
    }
  });
}

void ConversationService::StopFailover() {
  {
    std::lock_guard lock(failover_mu_);
    failover_stop_ = true;
  }
  failover_cv_.notify_all();
  if (failover_.joinable()) failover_.join();
}

bool ConversationService::Drain(int timeout_ms) {
  StopFailover();
  std::unique_lock lock(mu_);
  draining_ = true;
  return idle_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [this] { return in_flight_.load() == 0; });
}

}  // namespace kefu::dialogue
