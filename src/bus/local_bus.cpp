#include "bus/local_bus.h"

namespace kefu::bus {

LocalBus::LocalBus(const BusOptions& options)
    : node_id_(options.node_id.empty() ? GenerateNodeId() : options.node_id),
      max_event_bytes_(options.max_event_bytes),
      dispatcher_(node_id_, options.delivery_threads) {}

LocalBus::~LocalBus() {
  dispatcher_.Shutdown();
}

Status LocalBus::Publish(std::string_view topic, std::string payload, PublishOptions options) {
  if (!ValidTopic(topic)) return InvalidArgument("bus: invalid topic '" + std::string(topic.substr(0, 64)) + "'");
  if (payload.size() > max_event_bytes_)
    return PayloadTooLarge("bus: event of " + std::to_string(payload.size()) + " bytes on " + std::string(topic) +
                           " exceeds " + std::to_string(max_event_bytes_));
  auto e = std::make_shared<Event>();
  e->topic = topic;
  e->payload = std::move(payload);
  e->origin = node_id_;
  e->seq = seq_.fetch_add(1, std::memory_order_relaxed) + 1;
  e->durable = options.durable;
  dispatcher_.Deliver(e);
  return Status::Ok();
}

Result<SubscriptionId> LocalBus::Subscribe(std::string topic, Handler handler, SubscribeOptions options) {
  if (!handler) return InvalidArgument("bus: subscribe without a handler");
  if (!(options.prefix && topic.empty()) && !ValidTopic(topic))
    return InvalidArgument("bus: invalid topic '" + topic.substr(0, 64) + "'");
  return dispatcher_.Add(std::move(topic), std::move(handler), options);
}

void LocalBus::Unsubscribe(SubscriptionId id) {
  (void)dispatcher_.Remove(id);
}

BusHealth LocalBus::Health() const {
  BusHealth h;
  h.engine = "inprocess";
  h.node_id = node_id_;
  h.dropped = dispatcher_.dropped();
  return h;
}

bool LocalBus::WaitIdle(std::chrono::milliseconds timeout) {
  return dispatcher_.WaitIdle(std::chrono::steady_clock::now() + timeout);
}

}  // namespace kefu::bus
