// The in-process bus: per-topic order, prefixes, delivery off the publisher's
// thread, unsubscribe (also from a handler, also while it runs), a slow
// subscriber that never blocks publishers, many threads at once.
#include "bus/local_bus.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <thread>

#include "bus/test_util.h"

namespace kefu::bus {
namespace {

using namespace std::chrono_literals;
using testbus::Collector;
using testbus::Numbered;

BusOptions WithThreads(int n) {
  BusOptions o;
  o.delivery_threads = n;
  return o;
}
BusOptions WithUrl(const std::string& url) {
  BusOptions o;
  o.url = url;
  return o;
}

TEST(LocalBus, DeliversInPublishOrderPerTopic) {
  LocalBus bus;
  Collector all, one;
  ASSERT_TRUE(bus.Subscribe("conv.", all.handler(), {.prefix = true}).ok());
  ASSERT_TRUE(bus.Subscribe("conv.a", one.handler()).ok());
  for (int i = 1; i <= 500; ++i) {
    ASSERT_TRUE(bus.Publish("conv.a", "a" + std::to_string(i)).ok());
    ASSERT_TRUE(bus.Publish("conv.b", "b" + std::to_string(i)).ok());
    ASSERT_TRUE(bus.Publish("other.a", "x").ok());  // neither subscription's
  }
  ASSERT_TRUE(bus.WaitIdle(10s));
  EXPECT_EQ(all.size(), 1000u);
  EXPECT_EQ(all.Payloads("conv.a"), Numbered("a", 1, 500));
  EXPECT_EQ(all.Payloads("conv.b"), Numbered("b", 1, 500));
  EXPECT_EQ(one.size(), 500u);
  EXPECT_EQ(one.Payloads("conv.a"), Numbered("a", 1, 500));
  // Sequence numbers increase in publish order, and name this node.
  auto events = one.events();
  for (size_t i = 1; i < events.size(); ++i) EXPECT_LT(events[i - 1].seq, events[i].seq);
  EXPECT_EQ(events.front().origin, bus.NodeId());
  EXPECT_EQ(events.front().missed, 0u);
}

TEST(LocalBus, EmptyPrefixIsEveryTopicAndExactIsExact) {
  LocalBus bus;
  Collector every, exact;
  ASSERT_TRUE(bus.Subscribe("", every.handler(), {.prefix = true}).ok());
  ASSERT_TRUE(bus.Subscribe("desk", exact.handler()).ok());
  ASSERT_TRUE(bus.Publish("desk", "1").ok());
  ASSERT_TRUE(bus.Publish("desk.presence", "2").ok());
  ASSERT_TRUE(bus.Publish("kb.reload", "3").ok());
  ASSERT_TRUE(bus.WaitIdle(10s));
  EXPECT_EQ(every.size(), 3u);
  ASSERT_EQ(exact.size(), 1u);
  EXPECT_EQ(exact.events()[0].payload, "1");
}

TEST(LocalBus, HandlersRunOffThePublishersThread) {
  LocalBus bus;
  std::promise<std::thread::id> ran_on;
  ASSERT_TRUE(bus.Subscribe("t", [&](const Event&) { ran_on.set_value(std::this_thread::get_id()); }).ok());
  ASSERT_TRUE(bus.Publish("t", "x").ok());
  auto f = ran_on.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_NE(f.get(), std::this_thread::get_id());
}

TEST(LocalBus, UnsubscribeStopsDeliveryAndWaitsForARunningHandler) {
  LocalBus bus;
  std::atomic<int> calls{0};
  std::atomic<bool> in_handler{false}, handler_done{false};
  auto id = bus.Subscribe("t", [&](const Event&) {
    in_handler = true;
    std::this_thread::sleep_for(200ms);
    ++calls;
    handler_done = true;
  });
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(bus.Publish("t", "1").ok());
  ASSERT_TRUE(bus.Publish("t", "2").ok());  // queued behind the running call: discarded
  while (!in_handler) std::this_thread::sleep_for(1ms);
  bus.Unsubscribe(*id);
  EXPECT_TRUE(handler_done) << "Unsubscribe returned while the handler still ran";
  ASSERT_TRUE(bus.Publish("t", "3").ok());
  ASSERT_TRUE(bus.WaitIdle(10s));
  EXPECT_EQ(calls, 1);
  bus.Unsubscribe(*id);     // twice: ignored
  bus.Unsubscribe(123456);  // unknown: ignored
}

TEST(LocalBus, AHandlerMayUnsubscribeItself) {
  LocalBus bus;
  std::atomic<int> calls{0};
  std::atomic<SubscriptionId> self{0};
  auto id = bus.Subscribe("t", [&](const Event&) {
    ++calls;
    bus.Unsubscribe(self.load());  // returns at once: no deadlock on itself
  });
  ASSERT_TRUE(id.ok());
  self = *id;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(bus.Publish("t", "x").ok());
  ASSERT_TRUE(bus.WaitIdle(10s));
  EXPECT_EQ(calls, 1);
}

TEST(LocalBus, ASlowSubscriberNeverBlocksPublishersAndLearnsWhatItMissed) {
  std::atomic<bool> go{false};
  struct Release {  // also when an assertion returns early: the bus's destructor joins the stuck thread
    std::atomic<bool>& go;
    ~Release() { go = true; }
  };
  LocalBus bus(WithThreads(2));
  Release release_at_exit{go};
  Collector slow, fast;
  std::atomic<bool> first{true}, stuck{false};
  auto record = slow.handler();
  ASSERT_TRUE(bus.Subscribe("t",
                            [&](const Event& e) {
                              if (first.exchange(false)) {  // stuck on its first event
                                stuck = true;
                                while (!go) std::this_thread::sleep_for(1ms);
                              }
                              record(e);
                            },
                            {.queue_capacity = 10})
                  .ok());
  ASSERT_TRUE(bus.Subscribe("t", fast.handler()).ok());

  ASSERT_TRUE(bus.Publish("t", "1").ok());
  while (!stuck) std::this_thread::sleep_for(1ms);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 2; i <= 1000; ++i) ASSERT_TRUE(bus.Publish("t", std::to_string(i)).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s) << "Publish waited for the slow subscriber";
  ASSERT_TRUE(fast.WaitFor(1000));  // the other subscriber is not held up
  EXPECT_EQ(fast.Payloads("t"), Numbered("", 1, 1000));

  go = true;
  ASSERT_TRUE(bus.WaitIdle(10s));
  ASSERT_TRUE(bus.Publish("t", "after").ok());  // the first queued after the drops: it carries the count
  ASSERT_TRUE(bus.WaitIdle(10s));
  auto got = slow.events();
  // 1 running + 10 queued; 989 dropped; then "after".
  ASSERT_EQ(got.size(), 12u);
  EXPECT_EQ(got[0].payload, "1");
  EXPECT_EQ(got[10].payload, "11");
  EXPECT_EQ(got[11].payload, "after");
  EXPECT_EQ(got[11].missed, 989u);
  for (size_t i = 0; i < 11; ++i) EXPECT_EQ(got[i].missed, 0u);
  EXPECT_EQ(bus.Health().dropped, 989);
  EXPECT_TRUE(bus.Health().ok);
}

TEST(LocalBus, ManyThreadsPublishAndSubscribeAtOnce) {
  LocalBus bus(WithThreads(3));
  constexpr int kThreads = 6, kEach = 2000;
  std::mutex mu;
  std::map<std::string, std::vector<int>> seen;  // topic → payloads in arrival order
  ASSERT_TRUE(bus.Subscribe("t.",
                            [&](const Event& e) {
                              std::lock_guard lock(mu);
                              seen[e.topic].push_back(std::stoi(e.payload));
                            },
                            {.prefix = true, .queue_capacity = kThreads * kEach})
                  .ok());
  std::atomic<bool> stop{false};
  // Subscriptions come and go meanwhile (their handlers may or may not run).
  std::thread churn([&] {
    std::atomic<int> sink{0};
    while (!stop) {
      auto id = bus.Subscribe("t.0", [&](const Event&) { ++sink; });
      if (id.ok()) bus.Unsubscribe(*id);
    }
  });
  std::vector<std::thread> publishers;
  for (int t = 0; t < kThreads; ++t) {
    publishers.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) EXPECT_TRUE(bus.Publish("t." + std::to_string(t), std::to_string(i)).ok());
    });
  }
  for (auto& p : publishers) p.join();
  stop = true;
  churn.join();
  ASSERT_TRUE(bus.WaitIdle(20s));
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), static_cast<size_t>(kThreads));
  for (auto& [topic, values] : seen) {
    ASSERT_EQ(values.size(), static_cast<size_t>(kEach)) << topic;
    for (int i = 0; i < kEach; ++i) ASSERT_EQ(values[i], i) << topic;  // one publisher per topic: its order
  }
  EXPECT_EQ(bus.Health().dropped, 0);
}

TEST(LocalBus, OwnEventsCanBeLeftOut) {
  LocalBus bus;
  Collector others;
  ASSERT_TRUE(bus.Subscribe("t", others.handler(), {.own_events = false}).ok());
  ASSERT_TRUE(bus.Publish("t", "mine").ok());
  ASSERT_TRUE(bus.WaitIdle(10s));
  EXPECT_EQ(others.size(), 0u);  // in-process, every event is this node's own
}

TEST(LocalBus, AThrowingHandlerDoesNotStopDelivery) {
  LocalBus bus;
  Collector after;
  ASSERT_TRUE(bus.Subscribe("t", [](const Event&) { throw std::runtime_error("boom"); }).ok());
  ASSERT_TRUE(bus.Subscribe("t", after.handler()).ok());
  ASSERT_TRUE(bus.Publish("t", "1").ok());
  ASSERT_TRUE(bus.Publish("t", "2").ok());
  ASSERT_TRUE(bus.WaitIdle(10s));
  EXPECT_EQ(after.size(), 2u);
}

TEST(LocalBus, RefusesBadTopicsAndLargeEvents) {
  BusOptions small;
  small.max_event_bytes = 16;
  LocalBus bus(small);
  EXPECT_EQ(bus.Publish("", "x").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bus.Publish("has space", "x").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bus.Publish(std::string(300, 'a'), "x").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bus.Publish("t", std::string(17, 'x')).code(), ErrorCode::kPayloadTooLarge);
  EXPECT_TRUE(bus.Publish("t", std::string(16, 'x')).ok());
  EXPECT_FALSE(bus.Subscribe("", [](const Event&) {}).ok());  // "" only as a prefix
  EXPECT_FALSE(bus.Subscribe("t", nullptr).ok());
}

TEST(EventBus, OpensInProcessByDefaultAndRefusesBadUrls) {
  auto local = OpenEventBus({});
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  EXPECT_FALSE((*local)->Distributed());
  EXPECT_EQ((*local)->Health().engine, "inprocess");
  EXPECT_TRUE(ValidNodeId((*local)->NodeId())) << (*local)->NodeId();

  for (const char* bad :
       {"http://127.0.0.1:6379", "redis://", "redis://host:port", "redis://host:0", "redis://host:70000",
        "redis://host/db", "rediss://host:6379", "127.0.0.1:6379", "redis://host:6379?x=1"}) {
    auto b = OpenEventBus(WithUrl(bad));
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_EQ(b.status().code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_NE(b.status().message().find("bus.url"), std::string::npos) << b.status().message();
  }
  BusOptions spaced;
  spaced.node_id = "no spaces please";
  auto bad_id = OpenEventBus(spaced);
  ASSERT_FALSE(bad_id.ok());
  EXPECT_NE(bad_id.status().message().find("bus.node_id"), std::string::npos);
}

}  // namespace
}  // namespace kefu::bus
