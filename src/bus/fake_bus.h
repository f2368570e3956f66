// FakeNetwork: several in-process "nodes" joined as Redis joins them, for
// unit tests of code that uses a distributed bus (Distributed() is true) —
// without a Redis server. An event published on one node reaches every
// node's subscribers (the publisher's own with own_events only), through the
// same Dispatcher as the real buses, so the delivery contract of
// event_bus.h holds. Live and durable events are the same; never unhealthy.
// Header-only test support; any thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bus/dispatcher.h"
#include "bus/event_bus.h"

namespace kefu::bus {

class FakeNetwork {
 public:
  class Node final : public EventBus {
   public:
    Node(FakeNetwork& net, std::string node_id) : net_(net), node_id_(std::move(node_id)), dispatcher_(node_id_, 1) {}
    ~Node() override {
      net_.Leave(this);
      dispatcher_.Shutdown();
    }
    Status Publish(std::string_view topic, std::string payload, PublishOptions options = {}) override {
      if (!ValidTopic(topic)) return InvalidArgument("bus: invalid topic");
      auto e = std::make_shared<Event>();
      e->topic = topic;
      e->payload = std::move(payload);
      e->origin = node_id_;
      e->seq = ++seq_;
      e->durable = options.durable;
      net_.Broadcast(e);
      return Status::Ok();
    }
    Result<SubscriptionId> Subscribe(std::string topic, Handler handler, SubscribeOptions options = {}) override {
      if (!handler) return InvalidArgument("bus: subscribe without a handler");
      subscriptions_.fetch_add(1);
      return dispatcher_.Add(std::move(topic), std::move(handler), options);
    }
    void Unsubscribe(SubscriptionId id) override {
      if (dispatcher_.Remove(id)) subscriptions_.fetch_sub(1);
    }
    BusHealth Health() const override {
      BusHealth h;
      h.engine = "fake";
      h.node_id = node_id_;
      h.dropped = dispatcher_.dropped();
      return h;
    }
    const std::string& NodeId() const override { return node_id_; }
    bool Distributed() const override { return true; }
    bool WaitIdle(std::chrono::milliseconds timeout) override {
      return dispatcher_.WaitIdle(std::chrono::steady_clock::now() + timeout);
    }
    // Subscriptions open now (what a test checks after unsubscribing).
    int subscriptions() const { return subscriptions_.load(); }

   private:
    friend class FakeNetwork;
    FakeNetwork& net_;
    const std::string node_id_;
    std::atomic<uint64_t> seq_{0};
    std::atomic<int> subscriptions_{0};
    Dispatcher dispatcher_;
  };

  // A new node on this network; it must not outlive the network.
  std::unique_ptr<Node> Join(std::string node_id) {
    auto n = std::make_unique<Node>(*this, std::move(node_id));
    std::lock_guard lock(mu_);
    nodes_.push_back(n.get());
    return n;
  }

 private:
  void Leave(Node* n) {
    std::lock_guard lock(mu_);
    std::erase(nodes_, n);
  }
  void Broadcast(const std::shared_ptr<const Event>& e) {
    std::lock_guard lock(mu_);  // Deliver only queues
    for (Node* n : nodes_) n->dispatcher_.Deliver(e);
  }

  std::mutex mu_;
  std::vector<Node*> nodes_;  // GUARDED_BY(mu_)
};

}  // namespace kefu::bus
