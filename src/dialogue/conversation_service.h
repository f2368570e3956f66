// ConversationService: the turn pipeline. Accepting a customer message stores
// it (idempotently by client_msg_id) before anything else; the turn then runs
// on the worker pool: analysis -> routing decision (meta.decision) -> store +
// publish the customer message -> the TurnGate says who answers -> responder
// -> store the reply -> publish to the hub.
// Turns of one conversation run strictly one after another, in arrival order;
// different conversations run in parallel.
//
// Threads: every public method may be called from any thread and never blocks
// on I/O except Start/Close/Get (one short SQLite statement). Callbacks run on
// worker threads.
#pragma once

#include <optional>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/thread_pool.h"
#include "dialogue/conversation_store.h"
#include "dialogue/hub.h"
#include "dialogue/lease.h"
#include "dialogue/responder.h"
#include "dialogue/turn_gate.h"
#include "nlu/analyzer.h"
#include "routing/repeat_detector.h"
#include "routing/rule_store.h"

namespace kefu::dialogue {

struct ServiceSettings {
  int history_turns = 12;         // messages given to the responder
  size_t max_text_bytes = 16000;  // unused here: the API edge limits messages to 4,000 characters
  // [dialogue] require_verified_customer: when on, a conversation whose
  // customer was never proven (no "customer_proven" in its context) gets no
  // order data, even if it began while claims were trusted.
  bool require_verified_customer = false;
};

// How a spoken turn sounded (the voice channel): the utterance's prosody
// against this caller's own calm baseline (audio::ProsodyScore). Stored in
// the message's meta.voice; once calibrated, routing facts (voice_arousal,
// voice_anger; docs/routing.md).
struct VoiceSignal {
  bool calibrated = false;  // false: the baseline is still being learnt; the scores mean nothing yet
  double arousal = 0;       // 0..1
  double anger = 0;         // 0..1
};

struct PostCallbacks {
  // Called exactly once: the message is stored (or why it was not).
  std::function<void(const Result<AppendResult>&)> on_accepted;
  // Called once after a successful accept: the bot's reply (for a duplicate,
  // the reply stored the first time), or the system notice that replaced it.
  // When nobody answers automatically (a human agent serves the conversation
  // or it waits in a queue) the Message has id 0 and role "none".
  // Not called when accepting failed.
  std::function<void(const Result<Message>&)> on_reply;
};

class ConversationService {
 public:
  // `analyzer` (may be null) reads every customer turn (language, sentiment,
  // emotion, intent, urgency); its result is stored in the message's
  // meta.analysis and the emotion trajectory in the conversation context.
  // `rules` (may be null: no routing) are evaluated on every customer turn
  // after the analysis; the decision is stored in meta.decision.
  ConversationService(ConversationStore& store, Responder& responder, ThreadPool& workers, ConversationHub& hub,
                      metrics::Registry& metrics, const Clock& clock, ServiceSettings settings = {},
                      const nlu::Analyzer* analyzer = nullptr, const routing::RuleStore* rules = nullptr);

  // Installs the gate asked before every answer (null = the bot answers every
  // turn). Call before the first Post; the gate must outlive the service.
  void SetGate(TurnGate* gate) { gate_ = gate; }
  // Names what a customer message is about (e.g. the knowledge entry that
  // answers it) for repeat detection by meaning; "" = unknown. Call before
  // the first Post; any thread may run it.
  using NeedFn = std::function<std::string(const std::string& tenant_id, const std::string& text)>;
  void SetNeedKey(NeedFn fn) { need_key_ = std::move(fn); }
  // Several nodes on one database: a conversation's turns run only on the
  // node holding its lease ("conv:<id>"), taken before its first queued turn
  // and released when its queue is empty (kept, to expire, when a turn
  // failed after its message was accepted, so that a failover sweep answers
  // it). A turn whose lease another node holds past leases->settings().wait_ms
  // fails with LeaseBusy before anything is stored. Null = one node (no
  // leases). Call before the first Post; `leases` must outlive the service.
  void SetLeases(Leases* leases) { leases_ = leases; }
  // Starts the failover sweep (needs SetLeases): every `interval_ms` it looks
  // for conversation leases that expired without being released (their node
  // died or stalled), takes each over and answers the customer messages
  // accepted there and never answered. Drain and the destructor stop it.
  void StartFailover(int64_t interval_ms);
  // One sweep now (tests); returns the conversations queued for recovery.
  int SweepAbandoned();

  Result<Conversation> Start(const std::string& tenant_id, const std::string& customer_id, const std::string& channel);
  // The conversation without its dialogue context (an empty object): what the API checks and shows.
  Result<Conversation> Get(const std::string& tenant_id, const std::string& conversation_id);
  Result<Conversation> Close(const std::string& tenant_id, const std::string& conversation_id);
  // Ok when the conversation exists and belongs to `tenant_id`, else Get's
  // error: the check before a turn is queued (the turn reads the conversation
  // again on its worker). A conversation never changes tenant and is never
  // deleted, so one found is remembered (a bounded set) and later checks of
  // it read no database on the caller's (I/O) thread. Any thread.
  Status CheckOwner(const std::string& tenant_id, const std::string& conversation_id);

  // Queues the turn; the conversation must belong to `tenant_id`. `parts`
  // (pictures already validated and stored, the text read from them) are
  // stored with the message and `attachments` as its rows; the turn reads
  // TurnText(text, parts) as the customer's words.
  // `voice`: the turn was spoken (its text is the transcript).
  void Post(const std::string& tenant_id, const std::string& conversation_id, const std::string& client_msg_id,
            const std::string& text, PostCallbacks callbacks, std::vector<MessagePart> parts = {},
            std::vector<Attachment> attachments = {}, std::optional<VoiceSignal> voice = std::nullopt);

  // Answers customer messages that were accepted but never answered (crash,
  // shutdown). Called once at start-up.
  void RecoverUnanswered();

  // Stops accepting new turns and waits up to `timeout_ms` for in-flight ones.
  // Returns true when everything finished. A worker may still be on its way
  // out of the service's code when it returns: shut the worker pool down
  // (joining its threads) before destroying the service.
  bool Drain(int timeout_ms);
  int64_t InFlight() const { return in_flight_.load(); }
  ~ConversationService();

 private:
  static void CarryServiceState(const nlohmann::json& from, nlohmann::json& to);
  Result<Message> StoreReply(const std::string& conversation_id, const std::string& text, int64_t reply_to,
                             const nlohmann::json& meta, const nlohmann::json* context, const std::string& role);
  struct Task {
    // Runs the turn; false when a message was accepted and left unanswered
    // (its lease is then kept to expire, so that a failover sweep retries).
    std::function<bool()> run;
    // Called instead of run when the turn cannot start (its lease is not ours).
    std::function<void(const Status&)> fail;
  };
  // Runs `task` after every earlier task of the same conversation.
  void Enqueue(const std::string& conversation_id, Task task);
  void RunNext(const std::string& conversation_id);
  // A task answering what is unanswered in one conversation (recovery, failover).
  Task RecoveryTask(const std::string& conversation_id);
  void StopFailover();
  // `conversation` is the current state if the caller has it (saves a read).
  // `routed_context` is the context after this turn's routing (trajectory and
  // repeat state updated), when the caller computed it.
  Result<Message> Answer(const Message& customer_message, std::optional<Conversation> conversation = std::nullopt,
                         std::optional<nlohmann::json> routed_context = std::nullopt);
  // Evaluates the tenant's rules for one turn; updates `context` (emotion
  // trajectory, repeat state). Returns the decision JSON (null without rules).
  nlohmann::json Route(const Conversation& conversation, const std::string& text, const VoiceSignal* voice,
                       const nlohmann::json& analysis,
                       nlohmann::json& context);
  void FinishOne();

  ConversationStore& store_;
  Responder& responder_;
  ThreadPool& workers_;
  ConversationHub& hub_;
  const Clock& clock_;
  const nlu::Analyzer* analyzer_;
  const routing::RuleStore* rules_;
  routing::RepeatDetector repeat_;
  NeedFn need_key_;
  TurnGate* gate_ = nullptr;
  Leases* leases_ = nullptr;
  ServiceSettings settings_;

  metrics::Counter& turns_ok_;
  metrics::Counter& turns_failed_;
  metrics::Counter& messages_accepted_;
  metrics::Counter& duplicates_;
  metrics::Histogram& turn_seconds_;
  metrics::Gauge& open_conversations_;
  metrics::Gauge& in_flight_gauge_;

  std::mutex mu_;
  std::condition_variable idle_cv_;
  std::unordered_map<std::string, std::deque<Task>> queues_;  // GUARDED_BY(mu_); present = a task is running
  bool draining_ = false;                                     // GUARDED_BY(mu_)
  std::set<std::string> recovering_;  // GUARDED_BY(mu_): conversations with a recovery task queued

  std::mutex owners_mu_;
  std::unordered_map<std::string, std::string> owners_;  // GUARDED_BY(owners_mu_): conversation id -> tenant id
  std::mutex failover_mu_;
  std::condition_variable failover_cv_;
  bool failover_stop_ = false;  // GUARDED_BY(failover_mu_)
  std::thread failover_;
  metrics::Counter& failovers_;
  metrics::Counter& lease_refusals_;
  std::atomic<int64_t> in_flight_{0};
};

}  // namespace kefu::dialogue
