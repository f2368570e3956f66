// ConversationHub: fan-out of live conversation events to subscribers (open
// WebSockets and SSE streams). Publish* may be called from any thread; a
// subscriber's callbacks run on the publishing thread and must not block
// (they only queue a frame on their connection).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "dialogue/conversation_store.h"

namespace kefu::dialogue {

class Subscriber {
 public:
  virtual ~Subscriber() = default;
  virtual void OnMessage(const Message& m) = 0;
  virtual void OnDelta(const std::string& conversation_id, int64_t reply_to, std::string_view text) = 0;
  virtual void OnClosed(const Conversation& c) = 0;
};

class ConversationHub {
 public:
  // Returns a token for Unsubscribe. The hub keeps only a weak reference.
  uint64_t Subscribe(const std::string& conversation_id, std::weak_ptr<Subscriber> s);
  void Unsubscribe(const std::string& conversation_id, uint64_t token);
  // A subscriber to every conversation's messages and closes (deltas are not
  // sent to it), e.g. the agent desk's fan-out. The hub keeps a weak reference.
  void SubscribeAll(std::weak_ptr<Subscriber> s);
  void PublishMessage(const Message& m);
  void PublishDelta(const std::string& conversation_id, int64_t reply_to, std::string_view text);
  void PublishClosed(const Conversation& c);
  size_t SubscriberCount() const;

 private:
  std::vector<std::shared_ptr<Subscriber>> Snapshot(const std::string& conversation_id, bool global);

  mutable std::mutex mu_;
  uint64_t next_token_ = 1;  // GUARDED_BY(mu_)
  std::unordered_map<std::string, std::vector<std::pair<uint64_t, std::weak_ptr<Subscriber>>>> subs_;  // GUARDED_BY(mu_)
  std::vector<std::weak_ptr<Subscriber>> all_;  // GUARDED_BY(mu_)
};

}  // namespace kefu::dialogue
