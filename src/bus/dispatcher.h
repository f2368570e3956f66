// Dispatcher: the local half of every EventBus (internal to src/bus). Keeps
// the subscriptions, matches an event's topic against them and queues it on
// each matching subscription's bounded queue; delivery threads run the
// handlers, one subscription at a time on any thread (a strand), in queue
// order. See event_bus.h for the contract it implements.
//
// Deliver never blocks on a handler: it takes a short lock to read the
// subscription table and one per matching subscription to queue. Any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bus/event_bus.h"

namespace kefu::bus {

class Dispatcher {
 public:
  Dispatcher(std::string node_id, int threads);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  SubscriptionId Add(std::string topic, Handler handler, const SubscribeOptions& options);
  // The removed subscription's (topic, prefix), nullopt for an unknown id.
  // Waits for a running handler of it unless called from that handler.
  std::optional<std::pair<std::string, bool>> Remove(SubscriptionId id);

  // Queues `event` for every matching subscription (those with own_events =
  // false skip events whose origin is this node).
  void Deliver(const std::shared_ptr<const Event>& event);

  // Until every queue is empty and no handler runs; false on timeout.
  bool WaitIdle(std::chrono::steady_clock::time_point deadline);
  // Stops the delivery threads; queued events are discarded.
  void Shutdown();

  int64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  const std::string& node_id() const { return node_id_; }

 private:
  struct Sub;
  struct Table;

  void Enqueue(const std::shared_ptr<Sub>& s, const std::shared_ptr<const Event>& e);
  void Schedule(std::shared_ptr<Sub> s);
  void RunLoop();
  void RunSome(const std::shared_ptr<Sub>& s);

  const std::string node_id_;

  mutable std::mutex table_mu_;
  std::shared_ptr<const Table> table_;          // GUARDED_BY(table_mu_); copied on change, read by snapshot
  SubscriptionId next_id_ = 1;                  // GUARDED_BY(table_mu_)

  std::mutex ready_mu_;
  std::condition_variable ready_cv_;            // a subscription became ready, or stopping
  std::condition_variable idle_cv_;             // a subscription went idle
  std::deque<std::shared_ptr<Sub>> ready_;      // GUARDED_BY(ready_mu_)
  int busy_ = 0;                                // subscriptions scheduled or running; GUARDED_BY(ready_mu_)
  bool stopping_ = false;                       // GUARDED_BY(ready_mu_)
  std::vector<std::thread> threads_;

  std::atomic<int64_t> dropped_{0};
};

}  // namespace kefu::bus
