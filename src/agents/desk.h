// Desk: human service for every tenant (docs/agents.md) — the shell around
// the pure queue/assignment state machine (DeskState, desk_state.h): it
// takes the lock, writes every change through its DeskStore first, applies
// it to the state machine only when the write won, renders what agents
// should see as frames for its AgentNotifier (the workspace WebSockets live
// on the transport side), runs the tick (long-wait alerts, auto assignment,
// board frames, rule reload) and, with several nodes, shares presence on the
// bus and merges the database's queues (Resync).
//
// It is the dialogue::TurnGate of the conversation service: while a
// conversation is queued or served by a human the bot stays silent; a routing
// decision with a transfer puts the conversation in its queue and replaces the
// bot's answer by a notice with the customer's place and estimated wait (or an
// offer to leave a message when nobody can take it).
//
// State: the in-memory view (DeskState, guarded by one mutex) is the source
// for reads and fan-out; every state change is written to the database first
// (the conversation's queue columns, through DeskStore), with a
// compare-and-set where two agents may race (accept, take-over, transfer),
// so exactly one wins. At start-up the view is rebuilt from the store.
//
// Threads: all methods are thread-safe. Agent operations do short database
// round trips and must run on a worker thread (routes.cpp uses its own
// pool). The hub callbacks (customer messages → agent frames) touch memory only.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "agents/accounts.h"
#include "agents/agent_notifier.h"
#include "agents/assist.h"
#include "agents/desk_state.h"
#include "agents/desk_store.h"
#include "bus/event_bus.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/status.h"
#include "common/thread_pool.h"
#include "dialogue/conversation_store.h"
#include "dialogue/hub.h"
#include "dialogue/turn_gate.h"
#include "knowledge/knowledge_base.h"
#include "llm/llm_client.h"
#include "routing/rule_store.h"

namespace kefu::agents {

struct DeskSettings {
  int64_t avg_handle_ms = 180'000;       // for the estimated wait
  int64_t long_wait_alert_ms = 180'000;  // queued longer → one long_wait alert
  int64_t reload_interval_ms = 5'000;    // RuleStore::ReloadIfChanged cadence (when rules are given)
  std::string rules_dir;                 // scanned for new <tenant_id>.toml files at that cadence
  size_t max_alerts = 100;               // kept per tenant for the board
  // Auto assignment (config agents.assignment = "auto"): a conversation routed
  // to a human goes to the least-loaded online agent (role agent) with a
  // connected workspace WebSocket, the skill and room, ties to the one whose
  // last assignment is oldest; with
  // none free it waits in the queue and is assigned when a slot frees (agent
  // online, close, transfer, raised max_chats, or the 1 s tick). Manual: the
  // queue waits for Accept.
  bool auto_assign = true;
  // With DeskDeps::llm set: a generated handoff summary (added to the
  // extractive one in the background, pushed as a "handoff" frame) and
  // DraftReplies. Runs on the desk's own assist pool of this many threads.
  bool llm_assist = true;
  int assist_threads = 2;
};

struct DeskDeps {
  DeskStore& desk_store;  // human service in the database (SqlDeskStore)
  dialogue::ConversationStore& store;
  dialogue::ConversationHub& hub;
  AccountStore& accounts;
  knowledge::KnowledgeBase& kb;
  const Clock& clock;
  metrics::Registry& metrics;
  routing::RuleStore* rules = nullptr;  // reloaded periodically when set
  llm::LlmClient* llm = nullptr;        // LLM assist when set (and DeskSettings::llm_assist)
  // Several nodes (a distributed bus): the desk shares its agents' presence
  // on the bus (a heartbeat each tick, "desk.presence"), reloads the queued
  // and human-served conversations from the database each tick (what other
  // nodes queued, accepted, transferred or closed), and sees other nodes'
  // customer messages through the hub. Null or in-process: one node.
  bus::EventBus* bus = nullptr;
  // Where agents' frames go (the workspace WebSockets); null: nowhere.
  AgentNotifier* notifier = nullptr;
};

class Desk final : public dialogue::TurnGate {
 public:
  // Loads agents and the queued/assigned conversations, subscribes to the hub.
  static Result<std::unique_ptr<Desk>> Create(const DeskDeps& deps, DeskSettings settings);
  ~Desk() override;

  // Starts / stops the background tick (long-wait alerts, board frames, rule reload).
  void Start();
  void Stop();

  // --- dialogue::TurnGate ---
  dialogue::GateFacts Facts(const dialogue::Conversation& conversation) override;
  dialogue::GateVerdict Admit(const dialogue::Conversation& conversation, const dialogue::Message& customer_message,
                              const nlohmann::json& decision, nlohmann::json& context) override;

  // --- accounts (memory view) ---
  // The agent as the desk knows it; NotFound for another tenant's or a missing id.
  Result<Agent> FindAgent(const std::string& tenant_id, const std::string& id);
  void AgentChanged(const Agent& agent);  // after an admin create/update
  nlohmann::json AgentJson(const std::string& tenant_id, const std::string& id);

  // --- agent operations (caller authenticated; every id checked against its tenant) ---
  Result<nlohmann::json> SetPresence(const Agent& me, const std::string& presence);
  nlohmann::json Queue(const Agent& me);
  nlohmann::json MyConversations(const Agent& me);
  Result<nlohmann::json> Detail(const Agent& me, const std::string& conversation_id);
  // A picture of a conversation the agent may see (as Detail): its
  // attachment row (the blob key, type); NotFound for another conversation's.
  Result<dialogue::Attachment> FindAttachment(const Agent& me, const std::string& conversation_id,
                                              const std::string& attachment_id);
  // takeover: supervisors take any queued or assigned conversation.
  Result<nlohmann::json> Accept(const Agent& me, const std::string& conversation_id, bool takeover);
  // Idempotent by `client_msg_id` when given (a retry returns the stored message).
  Result<nlohmann::json> SendMessage(const Agent& me, const std::string& conversation_id, const std::string& text,
                                     const std::string& client_msg_id = "");
  Result<nlohmann::json> AddNote(const Agent& me, const std::string& conversation_id, const std::string& text);
  Result<nlohmann::json> Transfer(const Agent& me, const std::string& conversation_id,
                                  const std::optional<std::string>& agent_id, const std::optional<std::string>& group);
  Result<nlohmann::json> Close(const Agent& me, const std::string& conversation_id);
  // Knowledge-base and canned suggestions, plus "llm": "available" | "off"
  // (whether DraftReplies can add generated ones).
  Result<nlohmann::json> Suggestions(const Agent& me, const std::string& conversation_id);
  // LLM-drafted replies for the conversation's latest turn, {"items":[{text,
  // source:"llm"}], "cached"}. Runs on the assist pool and calls `done` there
  // (or at once for an access error). Unavailable "llm_off" without an LLM;
  // cached per conversation until a new message arrives.
  using Done = std::function<void(Result<nlohmann::json>)>;
  void DraftReplies(const Agent& me, const std::string& conversation_id, Done done);
  bool LlmAssist() const { return assist_ != nullptr; }
  // The customer panel: {"customer","orders","conversations"} from the tenant's
  // tables of that one record, plus "profile": the provider's 360° profile
  // (null when no provider is set or it fails; the panel still answers).
  Result<nlohmann::json> CustomerPanel(const Agent& me, const std::string& customer_id);
  // The 360° profile of a customer (the data hub's ProfileService, which
  // resolves merged records), injected by the server because datahub sits
  // above agents. Set once before the server starts; called on the desk's
  // worker threads, never with the desk's or the database's lock held.
  using ProfileProvider =
      std::function<Result<nlohmann::json>(const std::string& tenant, const std::string& customer_id)>;
  void SetProfileProvider(ProfileProvider provider) { profile_provider_ = std::move(provider); }
  nlohmann::json Board(const std::string& tenant_id);
  // Decision traces of every customer turn of a conversation of `tenant_id`.
  Result<nlohmann::json> Decisions(const std::string& tenant_id, const std::string& conversation_id);

  // --- agent workspaces ---
  // A workspace connection `conn_id` of `me` opened. `open` is called with
  // the desk's lock held and the "hello" frame: it sends that on the
  // connection and then registers the connection with the notifier, so that
  // no other frame of the desk comes first. Not called for an unknown agent.
  void Attach(const Agent& me, uint64_t conn_id, const std::function<void(const std::string& hello)>& open);
  void Detach(const Agent& me, uint64_t conn_id);

 private:
  class Listener;
  class Events;
  Desk(const DeskDeps& deps, DeskSettings settings);
  Status Load();
  void Tick();
  void ReloadRules();
  // Several nodes: this node's online agents to the others; the others' heartbeats.
  void PublishPresence();
  void OnPresence(const std::string& payload);
  // Several nodes: the queued and human-served conversations as the database
  // has them now (changes other nodes made), merged into the memory view.
  void Resync();

  // All *Locked helpers need mu_.
  nlohmann::json QueueItemLocked(const DeskConv& c) const;
  nlohmann::json SummaryLocked(const DeskConv& c) const;
  nlohmann::json AgentJsonLocked(const DeskAgent& a) const;
  nlohmann::json CustomerBriefLocked(const DeskConv& c) const;
  void SendToLocked(const DeskAgent& a, const std::string& frame);
  void SendToLocked(const DeskEvents::Agents& to, const std::string& frame);
  // Accessible conversation for `me`: NotFound (other tenant / unknown), or
  // PermissionDenied (not assigned) unless `allow_queued` and eligible.
  Result<const DeskConv*> AccessLocked(const Agent& me, const std::string& conversation_id, bool allow_queued);
  nlohmann::json CustomerLocked(const std::string& tenant_id, const std::string& customer_id);

  // Auto assignment: assigns queued conversations of `tenant` while some
  // eligible agent has room (one CAS per assignment). Worker threads only.
  void Dispatch(const std::string& tenant);
  // The extractive handoff summary of a conversation being handed over.
  nlohmann::json ExtractiveHandoff(const dialogue::Conversation& conv, const dialogue::Message& msg,
                                   const std::string& reason, const nlohmann::json& context);
  // Background: adds the LLM's summary to the stored handoff and pushes it.
  void GenerateSummary(const std::string& tenant_id, const std::string& conversation_id);

  void OnMessage(const dialogue::Message& m);
  void OnClosed(const dialogue::Conversation& c);
  Result<dialogue::Message> SystemMessage(const std::string& conversation_id, const std::string& text,
                                          const nlohmann::json& meta);

  DeskStore& desk_store_;
  dialogue::ConversationStore& store_;
  dialogue::ConversationHub& hub_;
  AccountStore& accounts_;
  knowledge::KnowledgeBase& kb_;
  const Clock& clock_;
  routing::RuleStore* rules_;
  ProfileProvider profile_provider_;  // set before Start; read-only afterwards
  DeskSettings settings_;
  std::shared_ptr<Listener> listener_;

  metrics::Counter& handoffs_;
  metrics::Counter& accepts_;
  metrics::Gauge& queued_gauge_;
  metrics::Counter& auto_assigned_;
  metrics::Counter& assist_calls_;
  metrics::Counter& assist_failures_;
  std::unique_ptr<AgentAssist> assist_;     // null without an LLM
  std::unique_ptr<ThreadPool> assist_pool_;  // null without an LLM
  std::mutex dispatch_mu_;                   // one Dispatch at a time (no double picks)

  AgentNotifier* notifier_;  // null: frames go nowhere
  mutable std::mutex mu_;
  std::unique_ptr<Events> events_;  // renders DeskState's events as frames (mu_ held)
  DeskState state_;                 // GUARDED_BY(mu_)
  // What the frames show of a conversation besides its state: the customer's
  // latest emotion and message (conversation id → {emotion, last_message}).
  std::unordered_map<std::string, std::pair<nlohmann::json, nlohmann::json>> views_;  // GUARDED_BY(mu_)
  std::unordered_map<std::string, nlohmann::json> customers_;            // GUARDED_BY(mu_), tenant/id → {id,name,tier}
  std::unordered_map<std::string, std::pair<int64_t, nlohmann::json>> drafts_;  // GUARDED_BY(mu_), conv → (last msg id, items)
  // Resync (exclusive) against this node's own database-then-memory changes
  // (Admit, Accept, Transfer, Close, Dispatch: shared), so that it never sees
  // one half-done. Taken before mu_.
  std::shared_mutex sync_mu_;
  bus::EventBus* bus_ = nullptr;  // distributed only; set at construction
  uint64_t presence_sub_ = 0;

  std::mutex tick_mu_;
  std::condition_variable tick_cv_;
  bool stopping_ = false;  // GUARDED_BY(tick_mu_)
  std::thread ticker_;
  std::set<std::string> rule_files_;  // only touched by the ticker thread
};

// Creates the demo tenant's accounts (agent1..agent3, super, admin; password
// demo1234), skill groups and canned responses when missing.
Status EnsureDemoAccounts(AccountStore& accounts, const std::string& tenant_id);

}  // namespace kefu::agents
