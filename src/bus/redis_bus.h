// RedisBus: the EventBus shared by every kefu node that names the same Redis 7
// ([bus] url = "redis://host:port"; docs/operations.md, "[bus]").
//
// Three connections, each on a thread of its own (none on an Asio I/O
// thread; Publish and Subscribe only queue and signal):
//   - publish: sends queued events in order, pipelined — a live event as
//     PUBLISH <prefix>:bus:<topic>, a durable one as XADD <prefix>:bus:stream
//     MAXLEN ~ stream_maxlen — and PINGs when idle;
//   - subscribe: SUBSCRIBE / PSUBSCRIBE for the topics and prefixes this
//     node's subscriptions want (reference-counted), delivers what arrives;
//   - stream: XREAD BLOCK on the stream from the last entry it has seen, so a
//     node that was disconnected reads what it missed once it is back.
// A lost connection is reopened after 100 ms, doubling to 5 s
// (reconnect_backoff_ms .. max_reconnect_backoff_ms); Health names the
// connections that are down and why. While the publish connection is down,
// events wait in a queue of send_queue events (Publish refuses beyond):
// durable ones are sent after the reconnect; a live one whose PUBLISH was
// sent but not acknowledged when the connection broke is not sent again
// (at most once), a durable one is, and readers drop the duplicate by
// (origin, instance, seq). Replies are parsed within limits (redis_conn.h).
//
// Every event carries the node id and a per-process instance id, so a node
// ignores its own echoes (it delivered them locally at Publish).
#pragma once

#include <memory>

#include "bus/event_bus.h"

namespace kefu::bus {

class RedisBus final : public EventBus {
 public:
  // Parses options.url (InvalidArgument naming bus.url) and starts the
  // connection threads; Redis being unreachable is not an error.
  static Result<std::unique_ptr<RedisBus>> Create(const BusOptions& options);
  ~RedisBus() override;  // stops the threads; events not yet sent are dropped

  Status Publish(std::string_view topic, std::string payload, PublishOptions options = {}) override;
  Result<SubscriptionId> Subscribe(std::string topic, Handler handler, SubscribeOptions options = {}) override;
  void Unsubscribe(SubscriptionId id) override;
  BusHealth Health() const override;
  const std::string& NodeId() const override;
  bool Distributed() const override { return true; }
  bool WaitIdle(std::chrono::milliseconds timeout) override;

  struct Impl;

 private:
  explicit RedisBus(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kefu::bus
