// ConversationHub: fan-out of live conversation events to subscribers (open
// WebSockets and SSE streams). Publish* may be called from any thread; a
// subscriber's callbacks run on the publishing thread and must not block
// (they only queue a frame on their connection).
//
// Customer-level events (e.g. a new inbox message) go to the subscribers of
// every conversation of that (tenant, customer) subscribed with its customer:
// PublishToCustomer → Subscriber::OnCustomerEvent.
//
// Several nodes (AttachBus with a distributed bus::EventBus): every Publish*
// also goes out on the bus as a live event — topic "conv.<conversation id>"
// (messages, deltas, closes, in order) or "cust.<hash of tenant and
// customer>" — and the hub subscribes, for as long as this node has a
// subscriber of that conversation (or customer), to the events other nodes
// publish there, so a customer's WebSocket on node A sees the reply made on
// node B. Those remote events reach the conversation's (and customer's)
// subscribers on the bus's delivery thread; SubscribeAll subscribers (the
// agent desk, whose state is per node) get only this node's events. Without
// AttachBus (one node, the default) nothing of this runs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "dialogue/conversation_store.h"

namespace kefu::bus {
class EventBus;
}

namespace kefu::dialogue {

class Subscriber {
 public:
  virtual ~Subscriber() = default;
  virtual void OnMessage(const Message& m) = 0;
  virtual void OnDelta(const std::string& conversation_id, int64_t reply_to, std::string_view text) = 0;
  virtual void OnClosed(const Conversation& c) = 0;
  // A customer-level event; `kind` names it ("inbox"). Ignored by default.
  virtual void OnCustomerEvent(std::string_view kind, const nlohmann::json& payload) {
    (void)kind;
    (void)payload;
  }
};

class ConversationHub {
 public:
  ConversationHub() = default;
  ~ConversationHub();  // ends its bus subscriptions (the bus must still exist)
  ConversationHub(const ConversationHub&) = delete;
  ConversationHub& operator=(const ConversationHub&) = delete;

  // Shares events with other nodes through `bus` (see above). Call once,
  // before any other call; `bus` must outlive the hub.
  void AttachBus(bus::EventBus* bus);

  // Returns a token for Unsubscribe. The hub keeps only a weak reference.
  // With `tenant_id` and `customer_id` (the conversation's customer) the
  // subscriber also receives that customer's PublishToCustomer events.
  uint64_t Subscribe(const std::string& conversation_id, std::weak_ptr<Subscriber> s,
                     const std::string& tenant_id = "", const std::string& customer_id = "");
  void Unsubscribe(const std::string& conversation_id, uint64_t token);
  // A subscriber to every conversation's messages and closes (deltas are not
  // sent to it), e.g. the agent desk's fan-out. The hub keeps a weak reference.
  // With a bus attached it also gets other nodes' messages and closes (on
  // the bus's delivery thread): the hub then listens to every conversation
  // topic ("conv." prefix) for as long as it lives.
  void SubscribeAll(std::weak_ptr<Subscriber> s);
  void PublishMessage(const Message& m);
  void PublishDelta(const std::string& conversation_id, int64_t reply_to, std::string_view text);
  void PublishClosed(const Conversation& c);
  // To the subscribers that gave this (tenant, customer) at Subscribe; a
  // subscriber of another tenant's customer with the same id gets nothing.
  void PublishToCustomer(const std::string& tenant_id, const std::string& customer_id, std::string_view kind,
                         const nlohmann::json& payload);
  size_t SubscriberCount() const;

 private:
  std::vector<std::shared_ptr<Subscriber>> Snapshot(const std::string& conversation_id, bool global);
  std::vector<std::shared_ptr<Subscriber>> CustomerSnapshot(const std::string& key);
  void FanOutCustomer(const std::string& key, std::string_view kind, const nlohmann::json& payload);
  // Bus topics this node listens to, reference-counted by local subscriptions.
  void Listen(const std::string& topic, bool customer, const std::string& key);
  void StopListening(const std::string& topic);
  void OnRemote(const std::string& key, bool customer, const std::string& payload);
  // Another node's event of any conversation: to the SubscribeAll subscribers.
  void OnRemoteAll(const std::string& topic, const std::string& payload);
  void Share(const std::string& topic, const nlohmann::json& event);

  mutable std::mutex mu_;
  uint64_t next_token_ = 1;  // GUARDED_BY(mu_)
  std::unordered_map<std::string, std::vector<std::pair<uint64_t, std::weak_ptr<Subscriber>>>> subs_;  // GUARDED_BY(mu_)
  std::vector<std::weak_ptr<Subscriber>> all_;  // GUARDED_BY(mu_)
  // Key: tenant_id + '\n' + customer_id → (token, subscriber); token → key.
  std::unordered_map<std::string, std::vector<std::pair<uint64_t, std::weak_ptr<Subscriber>>>> customers_;  // GUARDED_BY(mu_)
  std::unordered_map<uint64_t, std::string> token_customer_;  // GUARDED_BY(mu_)

  bus::EventBus* bus_ = nullptr;  // set once by AttachBus, before use
  // Bus subscriptions: topic → (local subscriptions wanting it, bus id).
  // remote_mu_ is never held together with mu_: a bus handler takes mu_, and
  // the bus's Unsubscribe waits for running handlers.
  std::mutex remote_mu_;
  std::unordered_map<std::string, std::pair<int, uint64_t>> remote_;  // GUARDED_BY(remote_mu_)
  uint64_t remote_all_ = 0;  // GUARDED_BY(remote_mu_): the "conv." prefix subscription (0 = none)
};

}  // namespace kefu::dialogue
