// The Redis bus against a real Redis 7 (ctest's kefu_redis fixture, or a
// private server from scripts/redis_temp.sh for outages): two bus instances
// are two nodes; each sees the other's events once, in order per topic; a
// Redis restart mid-run is survived (durable events published meanwhile
// arrive once) and Health says what is down meanwhile. Skips without
// redis-server.
#include "bus/redis_bus.h"

#include <gtest/gtest.h>

#include <thread>

#include "bus/test_util.h"
#include "bus/testing.h"

namespace kefu::bus {
namespace {

using namespace std::chrono_literals;
using testbus::Collector;
using testbus::Numbered;

class RedisBusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testbus::RedisTestUrl();
    if (url_.empty()) GTEST_SKIP() << testbus::kRedisMissing;
    prefix_ = testbus::UniquePrefix();
  }

  std::unique_ptr<RedisBus> Node(const std::string& id, BusOptions o = {}) {
    o.url = o.url.empty() ? url_ : o.url;
    o.node_id = id;
    o.prefix = prefix_;
    auto b = RedisBus::Create(o);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return b.ok() ? std::move(*b) : nullptr;
  }

  // Until `pred` holds or `timeout` passes.
  template <typename Pred>
  static bool Eventually(Pred pred, std::chrono::milliseconds timeout = 10s) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return pred();
  }

  std::string url_, prefix_;
};

TEST_F(RedisBusTest, TwoNodesSeeEachOthersEventsInOrderPerTopic) {
  auto a = Node("node-a"), b = Node("node-b");
  ASSERT_TRUE(a && b);
  Collector at_a, at_b;
  ASSERT_TRUE(a->Subscribe("conv.", at_a.handler(), {.prefix = true}).ok());
  ASSERT_TRUE(b->Subscribe("conv.", at_b.handler(), {.prefix = true}).ok());
  ASSERT_TRUE(a->WaitIdle(10s) && b->WaitIdle(10s));
  // The publisher connects on its own thread; with nothing queued, WaitIdle
  // does not wait for it.
  EXPECT_TRUE(Eventually([&] { return a->Health().ok; })) << a->Health().error;
  EXPECT_EQ(a->Health().engine, "redis");

  for (int i = 1; i <= 300; ++i) {
    ASSERT_TRUE(a->Publish("conv.1", "a" + std::to_string(i)).ok());
    ASSERT_TRUE(a->Publish("conv.2", "a" + std::to_string(i)).ok());
    ASSERT_TRUE(b->Publish("conv.3", "b" + std::to_string(i)).ok());
  }
  ASSERT_TRUE(at_a.WaitFor(900)) << at_a.size();
  ASSERT_TRUE(at_b.WaitFor(900)) << at_b.size();
  ASSERT_TRUE(a->WaitIdle(10s) && b->WaitIdle(10s));
  std::this_thread::sleep_for(100ms);  // no late duplicates (echoes) follow
  EXPECT_EQ(at_a.size(), 900u);
  EXPECT_EQ(at_b.size(), 900u);
  for (auto* c : {&at_a, &at_b}) {
    EXPECT_EQ(c->Payloads("conv.1"), Numbered("a", 1, 300));
    EXPECT_EQ(c->Payloads("conv.2"), Numbered("a", 1, 300));
    EXPECT_EQ(c->Payloads("conv.3"), Numbered("b", 1, 300));
  }
  for (const auto& e : at_b.events()) EXPECT_EQ(e.origin, e.topic == "conv.3" ? "node-b" : "node-a") << e.topic;
}

TEST_F(RedisBusTest, DurableEventsReachTheOtherNodeOnceInOrder) {
  auto a = Node("node-a"), b = Node("node-b");
  ASSERT_TRUE(a && b);
  Collector at_b;
  ASSERT_TRUE(b->Subscribe("orders.", at_b.handler(), {.prefix = true}).ok());
  ASSERT_TRUE(a->WaitIdle(10s) && b->WaitIdle(10s));
  for (int i = 1; i <= 200; ++i) ASSERT_TRUE(a->Publish("orders.o1", std::to_string(i), {.durable = true}).ok());
  ASSERT_TRUE(at_b.WaitFor(200)) << at_b.size();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(at_b.Payloads("orders.o1"), Numbered("", 1, 200));
  for (const auto& e : at_b.events()) EXPECT_TRUE(e.durable);
}

TEST_F(RedisBusTest, ANodeCanLeaveOutItsOwnEvents) {
  auto a = Node("node-a"), b = Node("node-b");
  ASSERT_TRUE(a && b);
  Collector others;
  ASSERT_TRUE(a->Subscribe("t", others.handler(), {.own_events = false}).ok());
  ASSERT_TRUE(a->WaitIdle(10s));
  ASSERT_TRUE(a->Publish("t", "from-a").ok());
  ASSERT_TRUE(a->Publish("t", "from-a-durable", {.durable = true}).ok());
  ASSERT_TRUE(b->Publish("t", "from-b").ok());
  ASSERT_TRUE(b->Publish("t", "from-b-durable", {.durable = true}).ok());
  ASSERT_TRUE(others.WaitFor(2));
  ASSERT_TRUE(a->WaitIdle(10s) && b->WaitIdle(10s));
  std::this_thread::sleep_for(100ms);
  ASSERT_EQ(others.size(), 2u);
  for (const auto& e : others.events()) EXPECT_EQ(e.origin, "node-b");
}

TEST_F(RedisBusTest, OverlappingSubscriptionsGetAnEventOnceEach) {
  // Redis sends an event twice to a node subscribed to its channel and to a
  // pattern that matches it; every local subscription still gets it once.
  auto a = Node("node-a"), b = Node("node-b");
  ASSERT_TRUE(a && b);
  Collector exact, prefix, everything;
  ASSERT_TRUE(b->Subscribe("conv.7", exact.handler()).ok());
  ASSERT_TRUE(b->Subscribe("conv.", prefix.handler(), {.prefix = true}).ok());
  ASSERT_TRUE(b->Subscribe("", everything.handler(), {.prefix = true}).ok());
  ASSERT_TRUE(b->WaitIdle(10s));
  for (int i = 1; i <= 50; ++i) ASSERT_TRUE(a->Publish("conv.7", std::to_string(i)).ok());
  ASSERT_TRUE(everything.WaitFor(50));
  ASSERT_TRUE(a->WaitIdle(10s) && b->WaitIdle(10s));
  std::this_thread::sleep_for(100ms);
  for (auto* c : {&exact, &prefix, &everything}) EXPECT_EQ(c->Payloads("conv.7"), Numbered("", 1, 50));
}

TEST_F(RedisBusTest, UnsubscribedTopicsStopArriving) {
  auto a = Node("node-a"), b = Node("node-b");
  ASSERT_TRUE(a && b);
  Collector got;
  auto id = b->Subscribe("conv.9", got.handler());
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(b->WaitIdle(10s));
  ASSERT_TRUE(a->Publish("conv.9", "1").ok());
  ASSERT_TRUE(got.WaitFor(1));
  b->Unsubscribe(*id);
  ASSERT_TRUE(b->WaitIdle(10s));  // Redis confirmed the UNSUBSCRIBE
  ASSERT_TRUE(a->Publish("conv.9", "2").ok());
  ASSERT_TRUE(a->WaitIdle(10s));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(got.size(), 1u);
}

TEST_F(RedisBusTest, UnreachableRedisIsReportedAndTheSendQueueIsBounded) {
  // A port where nothing listens: connecting fails at once.
  auto gone = testbus::TempRedis::Start();
  if (!gone.ok()) GTEST_SKIP() << gone.status().message();
  const std::string url = (*gone)->url();
  gone->reset();
  BusOptions o;
  o.url = url;
  o.send_queue = 10;
  auto a = Node("node-a", o);
  ASSERT_TRUE(a);
  ASSERT_TRUE(Eventually([&] { return a->Health().down.size() == 3; }));
  BusHealth h = a->Health();
  EXPECT_FALSE(h.ok);
  EXPECT_NE(h.error.find("unreachable (publish, subscribe, stream)"), std::string::npos) << h.error;
  EXPECT_NE(h.error.find(url.substr(8)), std::string::npos) << h.error;  // host:port
  EXPECT_GT(h.since_ms, 0);
  // Publish still never blocks: events wait (and reach local subscribers) ...
  Collector local;
  ASSERT_TRUE(a->Subscribe("t", local.handler()).ok());
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(a->Publish("t", "x", {.durable = true}).ok());
  ASSERT_TRUE(local.WaitFor(10));
  // ... up to the bound; then Publish refuses.
  Status refused = a->Publish("t", "one too many");
  EXPECT_EQ(refused.code(), ErrorCode::kResourceExhausted) << refused.ToString();
  EXPECT_EQ(a->Health().pending, 10);
  EXPECT_EQ(a->Health().refused, 1);
  EXPECT_FALSE(a->WaitIdle(300ms));
}

TEST_F(RedisBusTest, SurvivesARedisRestartAndDeliversDurableEventsPublishedMeanwhileOnce) {
  auto redis = testbus::TempRedis::Start();
  if (!redis.ok()) GTEST_SKIP() << redis.status().message();
  BusOptions o;
  o.url = (*redis)->url();
  o.heartbeat_ms = 200;  // notice a silent outage sooner than the default 1 s
  auto a = Node("node-a", o), b = Node("node-b", o);
  ASSERT_TRUE(a && b);
  Collector at_b;
  ASSERT_TRUE(b->Subscribe("orders.", at_b.handler(), {.prefix = true}).ok());
  ASSERT_TRUE(a->WaitIdle(10s) && b->WaitIdle(10s));
  for (int i = 1; i <= 50; ++i) ASSERT_TRUE(a->Publish("orders.x", std::to_string(i), {.durable = true}).ok());
  ASSERT_TRUE(at_b.WaitFor(50));

  ASSERT_TRUE((*redis)->Down().ok());
  ASSERT_TRUE(Eventually([&] { return !a->Health().ok && !b->Health().ok; }));
  BusHealth down = b->Health();
  EXPECT_NE(down.error.find("unreachable"), std::string::npos) << down.error;
  EXPECT_FALSE(down.down.empty());
  // Published while Redis is away: queued on node a, not lost.
  for (int i = 51; i <= 100; ++i) ASSERT_TRUE(a->Publish("orders.x", std::to_string(i), {.durable = true}).ok());
  EXPECT_GT(a->Health().pending, 0);
  std::this_thread::sleep_for(300ms);  // a few reconnect attempts fail meanwhile
  EXPECT_FALSE(a->Health().ok);

  ASSERT_TRUE((*redis)->Up().ok());
  ASSERT_TRUE(at_b.WaitFor(100, 20s)) << at_b.size();
  ASSERT_TRUE(Eventually([&] { return a->Health().ok && b->Health().ok; }, 20s)) << a->Health().error;
  ASSERT_TRUE(a->WaitIdle(10s));
  std::this_thread::sleep_for(300ms);  // nothing arrives twice
  EXPECT_EQ(at_b.Payloads("orders.x"), Numbered("", 1, 100));
  EXPECT_GE(a->Health().reconnects, 1);
  EXPECT_GE(b->Health().reconnects, 1);
  EXPECT_EQ(a->Health().pending, 0);

  // And live events flow again both ways.
  Collector live;
  ASSERT_TRUE(a->Subscribe("chat", live.handler(), {.own_events = false}).ok());
  ASSERT_TRUE(a->WaitIdle(10s));
  ASSERT_TRUE(b->Publish("chat", "hi").ok());
  ASSERT_TRUE(live.WaitFor(1));
}

TEST_F(RedisBusTest, EventsFromABusThatStoppedWhileAnotherWasDisconnectedArrive) {
  // Node b's stream connection is down while node a publishes durable events
  // and stops; b reads them from the stream once it is back.
  auto redis = testbus::TempRedis::Start();
  if (!redis.ok()) GTEST_SKIP() << redis.status().message();
  BusOptions o;
  o.url = (*redis)->url();
  auto b = Node("node-b", o);
  ASSERT_TRUE(b);
  Collector at_b;
  ASSERT_TRUE(b->Subscribe("kb.reload", at_b.handler()).ok());
  ASSERT_TRUE(b->WaitIdle(10s));
  ASSERT_TRUE((*redis)->Down().ok());
  ASSERT_TRUE(Eventually([&] { return !b->Health().ok; }));
  {
    auto a = Node("node-a", o);
    ASSERT_TRUE(a);
    ASSERT_TRUE(a->Publish("kb.reload", "tenant-1", {.durable = true}).ok());
    ASSERT_TRUE((*redis)->Up().ok());
    ASSERT_TRUE(a->WaitIdle(20s));  // sent once a reconnected
  }
  ASSERT_TRUE(at_b.WaitFor(1, 20s));
  EXPECT_EQ(at_b.Payloads("kb.reload"), std::vector<std::string>{"tenant-1"});
}

}  // namespace
}  // namespace kefu::bus
