// The conversation hub across nodes, on a fake network of buses (no Redis):
// a subscriber on one node gets the messages, deltas, closes and customer
// events published on another, once and in order; its own node's events are
// not echoed; the hub listens on the bus only while it has subscribers there;
// subscribers to everything (the desk) keep seeing only their own node.
#include "dialogue/hub.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "bus/fake_bus.h"

namespace kefu::dialogue {
namespace {

using namespace std::chrono_literals;

class Recorder final : public Subscriber {
 public:
  void OnMessage(const Message& m) override { Add("message:" + std::to_string(m.seq) + ":" + m.text); }
  void OnDelta(const std::string& cid, int64_t reply_to, std::string_view text) override {
    Add("delta:" + cid + ":" + std::to_string(reply_to) + ":" + std::string(text));
  }
  void OnClosed(const Conversation& c) override { Add("closed:" + c.id + ":" + c.status); }
  void OnCustomerEvent(std::string_view kind, const nlohmann::json& payload) override {
    Add("customer:" + std::string(kind) + ":" + payload.value("title", ""));
  }
  bool WaitFor(size_t n, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return got_.size() >= n; });
  }
  std::vector<std::string> got() {
    std::lock_guard lock(mu_);
    return got_;
  }

 private:
  void Add(std::string s) {
    std::lock_guard lock(mu_);
    got_.push_back(std::move(s));
    cv_.notify_all();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> got_;
};

Message Msg(const std::string& cid, int64_t seq, const std::string& text) {
  Message m;
  m.id = seq * 10;
  m.conversation_id = cid;
  m.seq = seq;
  m.role = seq % 2 ? "customer" : "bot";
  m.text = text;
  m.meta = {{"k", "v"}};
  return m;
}

class HubAcrossNodes : public ::testing::Test {
 protected:
  void SetUp() override {
    bus_a_ = net_.Join("node-a");
    bus_b_ = net_.Join("node-b");
    a_.AttachBus(bus_a_.get());
    b_.AttachBus(bus_b_.get());
  }
  void Settle() {
    ASSERT_TRUE(bus_a_->WaitIdle(10s));
    ASSERT_TRUE(bus_b_->WaitIdle(10s));
  }

  bus::FakeNetwork net_;
  std::unique_ptr<bus::FakeNetwork::Node> bus_a_, bus_b_;
  // Declared after the buses: destroyed first, ending their subscriptions.
  ConversationHub a_, b_;
};

TEST_F(HubAcrossNodes, ASubscriberOnOneNodeSeesWhatTheOtherPublishesInOrder) {
  auto on_a = std::make_shared<Recorder>();
  a_.Subscribe("c_1", on_a, "t1", "C1");
  b_.PublishMessage(Msg("c_1", 1, "你好"));
  b_.PublishDelta("c_1", 1, "在");
  b_.PublishDelta("c_1", 1, "的");
  b_.PublishMessage(Msg("c_1", 2, "在的"));
  b_.PublishMessage(Msg("c_2", 1, "another conversation"));
  Conversation closed;
  closed.id = "c_1";
  closed.status = "closed";
  b_.PublishClosed(closed);
  b_.PublishToCustomer("t1", "C1", "inbox", {{"title", "通知"}});
  b_.PublishToCustomer("t2", "C1", "inbox", {{"title", "other tenant"}});
  Settle();
  EXPECT_EQ(on_a->got(), (std::vector<std::string>{"message:1:你好", "delta:c_1:1:在", "delta:c_1:1:的",
                                                   "message:2:在的", "closed:c_1:closed", "customer:inbox:通知"}));
}

TEST_F(HubAcrossNodes, ItsOwnNodesEventsArriveOnceNotEchoed) {
  auto on_a = std::make_shared<Recorder>();
  a_.Subscribe("c_1", on_a);
  a_.PublishMessage(Msg("c_1", 1, "local"));
  Settle();
  std::this_thread::sleep_for(50ms);
  Settle();
  EXPECT_EQ(on_a->got(), (std::vector<std::string>{"message:1:local"}));
}

TEST_F(HubAcrossNodes, ListensOnlyWhileItHasSubscribersThere) {
  EXPECT_EQ(bus_a_->subscriptions(), 0);
  auto s1 = std::make_shared<Recorder>(), s2 = std::make_shared<Recorder>();
  const uint64_t t1 = a_.Subscribe("c_1", s1, "t1", "C1");
  const uint64_t t2 = a_.Subscribe("c_1", s2);
  EXPECT_EQ(bus_a_->subscriptions(), 2);  // the conversation's topic once, the customer's
  a_.Unsubscribe("c_1", t1);
  EXPECT_EQ(bus_a_->subscriptions(), 1);  // s2 still wants the conversation
  a_.Unsubscribe("c_1", t1);              // twice: no effect
  EXPECT_EQ(bus_a_->subscriptions(), 1);
  a_.Unsubscribe("c_1", t2);
  EXPECT_EQ(bus_a_->subscriptions(), 0);
  b_.PublishMessage(Msg("c_1", 1, "nobody listens"));
  Settle();
  EXPECT_TRUE(s1->got().empty());
  EXPECT_TRUE(s2->got().empty());
}

// The desk on node a sees what node b's customers write (and closes), of
// every conversation, without subscribing to each; deltas stay out, and each
// event comes once.
TEST_F(HubAcrossNodes, SubscribersToEverythingSeeEveryNodesMessagesAndClosesButNoDeltas) {
  auto desk = std::make_shared<Recorder>();
  a_.SubscribeAll(desk);
  auto on_a = std::make_shared<Recorder>();
  a_.Subscribe("c_1", on_a);
  Settle();  // a's subscriptions are active at Redis
  b_.PublishMessage(Msg("c_1", 1, "from b"));
  b_.PublishDelta("c_9", 20, "partial");
  b_.PublishMessage(Msg("c_9", 1, "other conversation"));
  Conversation closed;
  closed.id = "c_9";
  closed.status = "closed";
  b_.PublishClosed(closed);
  a_.PublishMessage(Msg("c_1", 2, "from a"));
  ASSERT_TRUE(desk->WaitFor(4));
  Settle();
  std::vector<std::string> got = desk->got();
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"closed:c_9:closed", "message:1:from b", "message:1:other conversation",
                                           "message:2:from a"}));
  ASSERT_TRUE(on_a->WaitFor(2));
  EXPECT_EQ(on_a->got().size(), 2u) << "the conversation's own subscriber: once each";
}

TEST_F(HubAcrossNodes, ManyThreadsPublishWhileSubscribersComeAndGo) {
  auto steady = std::make_shared<Recorder>();
  a_.Subscribe("c_0", steady);
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    while (!stop) {
      auto r = std::make_shared<Recorder>();
      const uint64_t t = a_.Subscribe("c_1", r, "t", "C");
      a_.Unsubscribe("c_1", t);
    }
  });
  std::vector<std::thread> publishers;
  for (int p = 0; p < 3; ++p)
    publishers.emplace_back([&, p] {
      for (int i = 1; i <= 300; ++i) {
        b_.PublishMessage(Msg("c_" + std::to_string(p % 2), i, "x"));
        b_.PublishDelta("c_1", i, "y");
        b_.PublishToCustomer("t", "C", "inbox", {{"title", "z"}});
      }
    });
  for (auto& t : publishers) t.join();
  stop = true;
  churn.join();
  Settle();
  EXPECT_EQ(steady->got().size(), 600u);  // publishers 0 and 2 wrote to c_0
}

}  // namespace
}  // namespace kefu::dialogue
