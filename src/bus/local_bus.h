// LocalBus: the in-process EventBus (the default, [bus] url = ""). Events
// reach this process's subscribers only; durable and live events are the
// same. Delivery follows event_bus.h: bounded queue per subscription (a full
// queue drops the new event for that subscription and counts it in
// Event::missed / BusHealth::dropped), handlers on BusOptions::delivery_threads
// threads, never on the publisher's. Never unhealthy.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "bus/dispatcher.h"
#include "bus/event_bus.h"

namespace kefu::bus {

class LocalBus final : public EventBus {
 public:
  // `options.url` is ignored; node_id "" = GenerateNodeId().
  explicit LocalBus(const BusOptions& options = {});
  ~LocalBus() override;

  Status Publish(std::string_view topic, std::string payload, PublishOptions options = {}) override;
  Result<SubscriptionId> Subscribe(std::string topic, Handler handler, SubscribeOptions options = {}) override;
  void Unsubscribe(SubscriptionId id) override;
  BusHealth Health() const override;
  const std::string& NodeId() const override { return node_id_; }
  bool Distributed() const override { return false; }
  bool WaitIdle(std::chrono::milliseconds timeout) override;

 private:
  const std::string node_id_;
  const size_t max_event_bytes_;
  std::atomic<uint64_t> seq_{0};
  Dispatcher dispatcher_;
};

}  // namespace kefu::bus
