#include "dialogue/lease.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "app/schema.h"
#include "storage/testing.h"

namespace kefu::dialogue {
namespace {

using namespace std::chrono_literals;

// ---------------------------------------------------------------- the pure state machine

TEST(LeaseTracker, TrustsALeaseUntilTtlMinusMarginFromTheRequestThatGrantedIt) {
  LeaseTracker t({.ttl_ms = 5000, .renew_every_ms = 1500, .safety_margin_ms = 1000});
  t.Granted("conv:a", 7, /*sent_ms=*/100);
  EXPECT_TRUE(t.Valid("conv:a", 100));
  EXPECT_TRUE(t.Valid("conv:a", 4099));
  EXPECT_FALSE(t.Valid("conv:a", 4100)) << "sent at 100 + ttl 5000 - margin 1000";
  EXPECT_FALSE(t.Valid("conv:b", 100));
  EXPECT_EQ(t.Token("conv:a"), 7);
}

TEST(LeaseTracker, RenewsOnScheduleOnceAtATimeAndExtendsFromTheRenewalsSendTime) {
  LeaseTracker t({.ttl_ms = 5000, .renew_every_ms = 1500, .safety_margin_ms = 1000});
  t.Granted("conv:a", 1, 0);
  EXPECT_TRUE(t.DueForRenewal(1499).empty());
  auto due = t.DueForRenewal(1500);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0], (std::pair<std::string, int64_t>{"conv:a", 1}));
  EXPECT_TRUE(t.DueForRenewal(1600).empty()) << "a renewal in flight is not sent twice";
  t.RenewResult("conv:a", 1, /*sent_ms=*/1500, /*ok=*/true);
  EXPECT_TRUE(t.Valid("conv:a", 5499));
  EXPECT_FALSE(t.Valid("conv:a", 5500));
  EXPECT_TRUE(t.DueForRenewal(2999).empty());
  EXPECT_EQ(t.DueForRenewal(3000).size(), 1u);
}

TEST(LeaseTracker, ALeaseFoundGoneAtRenewalIsLostAtOnce) {
  LeaseTracker t({.ttl_ms = 5000, .renew_every_ms = 1500, .safety_margin_ms = 1000});
  t.Granted("conv:a", 1, 0);
  ASSERT_EQ(t.DueForRenewal(1500).size(), 1u);
  t.RenewResult("conv:a", 1, 1500, /*ok=*/false);
  EXPECT_FALSE(t.Valid("conv:a", 1501)) << "taken over by another node: not trusted although within ttl";
  EXPECT_EQ(t.lost(), 1);
  EXPECT_TRUE(t.DueForRenewal(10'000).empty()) << "a lost lease is not renewed";
}

TEST(LeaseTracker, AStoreThatCannotBeReachedKeepsTheLeaseOnlyUntilItsTrustRunsOut) {
  LeaseTracker t({.ttl_ms = 5000, .renew_every_ms = 1500, .safety_margin_ms = 1000});
  t.Granted("conv:a", 1, 0);
  ASSERT_EQ(t.DueForRenewal(1500).size(), 1u);
  t.RenewResult("conv:a", 1, 1500, false, /*failed=*/true);
  EXPECT_TRUE(t.Valid("conv:a", 3000));
  EXPECT_EQ(t.DueForRenewal(1600).size(), 1u) << "retried at the next tick";
  t.RenewResult("conv:a", 1, 1600, false, /*failed=*/true);
  EXPECT_FALSE(t.Valid("conv:a", 4000)) << "never renewed: trusted only until 0 + 5000 - 1000";
  EXPECT_EQ(t.lost(), 0);
}

TEST(LeaseTracker, ALateResultOrReleaseOfAnOlderGrantDoesNotTouchTheNewOne) {
  LeaseTracker t({.ttl_ms = 5000, .renew_every_ms = 1500, .safety_margin_ms = 1000});
  t.Granted("conv:a", 1, 0);
  ASSERT_EQ(t.DueForRenewal(1500).size(), 1u);
  t.Granted("conv:a", 2, 1600);             // released and granted again meanwhile
  t.RenewResult("conv:a", 1, 1500, false);  // the old grant's renewal answer
  EXPECT_TRUE(t.Valid("conv:a", 1700));
  EXPECT_FALSE(t.Remove("conv:a", 1));
  EXPECT_TRUE(t.Valid("conv:a", 1700));
  EXPECT_TRUE(t.Remove("conv:a", 2));
  EXPECT_FALSE(t.Valid("conv:a", 1700));
}

TEST(LeaseTracker, CountsUsersAndHandsOutIdleLeasesOnlyAfterTheirLinger) {
  LeaseTracker t({.ttl_ms = 5000, .renew_every_ms = 1500, .safety_margin_ms = 1000});
  t.Granted("conv:a", 3, 0);
  EXPECT_TRUE(t.Reuse("conv:a", 10)) << "a second turn of this node";
  EXPECT_FALSE(t.Reuse("conv:b", 10));
  EXPECT_EQ(t.Users("conv:a"), 2);
  EXPECT_TRUE(t.Unused("conv:a", 3, 20));
  EXPECT_TRUE(t.TakeIdle(10'000, 200).empty()) << "still used";
  EXPECT_FALSE(t.Unused("conv:a", 9, 30)) << "another grant";
  EXPECT_TRUE(t.Unused("conv:a", 3, 100));
  EXPECT_TRUE(t.TakeIdle(299, 200).empty()) << "idle since 100, lingers 200";
  EXPECT_TRUE(t.Valid("conv:a", 299));
  EXPECT_EQ(t.TakeIdle(300, 200), (std::vector<std::pair<std::string, int64_t>>{{"conv:a", 3}}));
  EXPECT_FALSE(t.Valid("conv:a", 301)) << "handed out for release: a new turn asks the store";
  EXPECT_FALSE(t.Reuse("conv:a", 301));
  EXPECT_FALSE(t.Reuse("conv:a", 5000)) << "an expired lease is never reused";
}

TEST(LeaseTracker, AnAbandonedLeaseIsForgottenUnreleasedOnceTheLastUserIsDone) {
  LeaseTracker t({.ttl_ms = 5000, .renew_every_ms = 1500, .safety_margin_ms = 1000});
  t.Granted("conv:a", 3, 0);
  ASSERT_TRUE(t.Reuse("conv:a", 1));
  t.Abandon("conv:a", 3, 2);  // one turn left a message unanswered
  EXPECT_TRUE(t.Valid("conv:a", 3)) << "the other turn still runs under it";
  EXPECT_TRUE(t.Unused("conv:a", 3, 4));
  EXPECT_TRUE(t.TakeIdle(5, 10'000).empty()) << "not released: left to expire for the failover sweep";
  EXPECT_EQ(t.size(), 0u);
}

// ---------------------------------------------------------------- MemoryLeaseStore (the fake)

TEST(MemoryLeaseStore, GrantsOneOwnerUntilExpiryThenTheNextWithAHigherToken) {
  FakeClock clock;
  MemoryLeaseStore store(clock);
  auto a = store.Acquire("conv:x", "node-a", 5000);
  ASSERT_TRUE(a.ok() && a->granted);
  auto b = store.Acquire("conv:x", "node-b", 5000);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->granted);
  EXPECT_EQ(b->holder, "node-a");
  EXPECT_EQ(b->remaining_ms, 5000);
  clock.AdvanceMs(4000);
  ASSERT_TRUE(*store.Renew("conv:x", "node-a", a->token, 5000));
  clock.AdvanceMs(4000);
  EXPECT_FALSE(store.Acquire("conv:x", "node-b", 5000)->granted) << "renewed at 4000: held until 9000";
  EXPECT_TRUE(store.Abandoned("conv:", 10)->empty());
  clock.AdvanceMs(1000);
  EXPECT_EQ(*store.Abandoned("conv:", 10), std::vector<std::string>{"conv:x"});
  EXPECT_TRUE(store.Abandoned("other:", 10)->empty());
  auto b2 = store.Acquire("conv:x", "node-b", 5000);
  ASSERT_TRUE(b2->granted);
  EXPECT_GT(b2->token, a->token);
  EXPECT_FALSE(*store.Renew("conv:x", "node-a", a->token, 5000)) << "taken over";
  ASSERT_TRUE(store.Release("conv:x", "node-a", a->token).ok());
  EXPECT_FALSE(store.Acquire("conv:x", "node-a", 5000)->granted) << "an old token releases nothing";
  ASSERT_TRUE(store.Release("conv:x", "node-b", b2->token).ok());
  clock.AdvanceMs(10'000);
  EXPECT_TRUE(store.Abandoned("conv:", 10)->empty()) << "released is not abandoned";
  EXPECT_TRUE(store.Acquire("conv:x", "node-a", 5000)->granted);
}

// ---------------------------------------------------------------- Leases

TEST(Leases, RefusesAtOnceWhenTheHolderHasLongerThanTheWaitLeftAndSaysWhenToRetry) {
  FakeClock clock;
  MemoryLeaseStore store(clock);
  Leases a(store, clock, {.owner = "node-a", .ttl_ms = 5000, .wait_ms = 300});
  Leases b(store, clock, {.owner = "node-b", .ttl_ms = 5000, .wait_ms = 300});
  auto ta = a.Acquire("conv:1");
  ASSERT_TRUE(ta.ok());
  EXPECT_FALSE(ta->taken_over);
  EXPECT_TRUE(a.Held("conv:1"));
  const auto start = std::chrono::steady_clock::now();
  auto tb = b.Acquire("conv:1");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 200ms)
      << "5 s left > 300 ms wait: it waits only as long as a lingering lease takes (100 ms without linger)";
  ASSERT_FALSE(tb.ok());
  EXPECT_TRUE(IsLeaseBusy(tb.status())) << tb.status().ToString();
  EXPECT_NE(tb.status().message().find("node-a"), std::string::npos);
  EXPECT_EQ(LeaseRetryAfterSeconds(tb.status()), 5);
  EXPECT_FALSE(IsLeaseBusy(Unavailable("storage unavailable")));

  clock.AdvanceMs(4500);  // never renewed (no renewal thread): expired after 5000
  EXPECT_FALSE(a.Held("conv:1")) << "not trusted past ttl - margin";
  clock.AdvanceMs(600);
  auto tb2 = b.Acquire("conv:1");
  ASSERT_TRUE(tb2.ok());
  EXPECT_GT(tb2->token, ta->token);
  EXPECT_TRUE(tb2->taken_over) << "a's lease expired unreleased";
}

TEST(Leases, WaitsForALeaseReleasedWithinTheWait) {
  FakeClock clock;
  MemoryLeaseStore store(clock);
  Leases a(store, clock, {.owner = "node-a", .ttl_ms = 500, .wait_ms = 2000});
  Leases b(store, clock, {.owner = "node-b", .ttl_ms = 500, .wait_ms = 2000});
  auto ta = a.Acquire("conv:1");
  ASSERT_TRUE(ta.ok());
  std::thread releaser([&] {
    std::this_thread::sleep_for(100ms);
    a.Release("conv:1", ta->token);
  });
  auto tb = b.Acquire("conv:1");
  releaser.join();
  ASSERT_TRUE(tb.ok()) << tb.status().ToString();
  EXPECT_FALSE(tb->taken_over) << "released, not taken over";
  EXPECT_FALSE(a.Held("conv:1"));
  EXPECT_TRUE(b.Held("conv:1"));
}

TEST(Leases, AnIdleLeaseLingersForTheConversationsNextTurnHereThenIsReleased) {
  FakeClock clock;
  MemoryLeaseStore store(clock);
  Leases a(store, clock, {.owner = "node-a", .ttl_ms = 5000, .wait_ms = 0, .linger_ms = 200});
  Leases b(store, clock, {.owner = "node-b", .ttl_ms = 5000, .wait_ms = 0, .linger_ms = 200});
  auto first = a.Acquire("conv:1");
  ASSERT_TRUE(first.ok());
  a.Release("conv:1", first->token);
  EXPECT_FALSE(b.Acquire("conv:1").ok()) << "lingering on a";
  clock.AdvanceMs(100);
  store.SetFailing(true);  // proves the next turn on a needs no round trip
  auto second = a.Acquire("conv:1");
  store.SetFailing(false);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->token, first->token);
  a.Release("conv:1", second->token);
  clock.AdvanceMs(199);
  a.ReleaseIdle();
  EXPECT_FALSE(b.Acquire("conv:1").ok()) << "idle since 100 ms, lingers 200";
  clock.AdvanceMs(1);
  a.ReleaseIdle();
  auto taken = b.Acquire("conv:1");
  ASSERT_TRUE(taken.ok());
  EXPECT_FALSE(taken->taken_over) << "released, not taken over";
  EXPECT_FALSE(a.Held("conv:1"));
}

// REST clients behind a round-robin balancer: the next message reaches the
// other node while the lease lingers on the first; it waits for the release
// instead of answering 503.
TEST(Leases, ATurnOnAnotherNodeWaitsForALingeringLeaseRatherThanRefusing) {
  FakeClock clock;
  MemoryLeaseStore store(clock);
  Leases a(store, clock, {.owner = "node-a", .ttl_ms = 5000, .wait_ms = 1000, .linger_ms = 200});
  Leases b(store, clock, {.owner = "node-b", .ttl_ms = 5000, .wait_ms = 1000, .linger_ms = 200});
  auto ta = a.Acquire("conv:1");
  ASSERT_TRUE(ta.ok());
  a.Release("conv:1", ta->token);  // done, lingering
  std::thread release([&] {
    std::this_thread::sleep_for(50ms);
    clock.AdvanceMs(200);
    a.ReleaseIdle();  // what a's renewal thread does each tick
  });
  auto tb = b.Acquire("conv:1");
  release.join();
  ASSERT_TRUE(tb.ok()) << tb.status().ToString();
  EXPECT_FALSE(tb->taken_over);
}

TEST(Leases, AnUnreachableStoreIsUnavailableNotBusy) {
  FakeClock clock;
  MemoryLeaseStore store(clock);
  store.SetFailing(true);
  Leases a(store, clock, {.owner = "node-a"});
  auto t = a.Acquire("conv:1");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), ErrorCode::kUnavailable);
  EXPECT_FALSE(IsLeaseBusy(t.status()));
  EXPECT_NE(t.status().message().find("lease store unavailable"), std::string::npos);
}

TEST(Leases, TheRenewalThreadKeepsALeaseAndNoticesATakeOver) {
  MemoryLeaseStore store(SystemClock::Instance());
  Leases a(store, SystemClock::Instance(), {.owner = "node-a", .ttl_ms = 1000, .wait_ms = 0});
  a.Start();
  auto t = a.Acquire("conv:1");
  ASSERT_TRUE(t.ok());
  std::this_thread::sleep_for(2000ms);  // > ttl: alive only through renewals
  EXPECT_TRUE(a.Held("conv:1"));
  Leases b(store, SystemClock::Instance(), {.owner = "node-b", .ttl_ms = 1000, .wait_ms = 0});
  EXPECT_FALSE(b.Acquire("conv:1").ok());
  // Another node takes it (as after a stall): a's next renewal finds it gone.
  ASSERT_TRUE(store.Release("conv:1", "node-a", t->token).ok());
  ASSERT_TRUE(b.Acquire("conv:1").ok());
  std::this_thread::sleep_for(1000ms);
  EXPECT_FALSE(a.Held("conv:1"));
}

// ---------------------------------------------------------------- SqlLeaseStore, both engines

class SqlLeaseStoreTest : public ::testing::TestWithParam<storage::Engine> {
 protected:
  void SetUp() override {
    if (storage::testdb::Missing(GetParam())) GTEST_SKIP() << storage::testdb::kPostgresMissing;
    auto db = storage::testdb::OpenFresh(GetParam(), app::Schema());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    store_ = std::make_unique<SqlLeaseStore>(*db_);
  }
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<SqlLeaseStore> store_;
};

INSTANTIATE_TEST_SUITE_P(Engines, SqlLeaseStoreTest, ::testing::ValuesIn(storage::testdb::AllEngines()),
                         [](const auto& info) { return storage::testdb::EngineTestName(info.param); });

TEST_P(SqlLeaseStoreTest, GrantsRefusesExpiresRenewsAndReleasesOnTheDatabasesClock) {
  auto a = store_->Acquire("conv:x", "node-a", 400);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(a->granted);
  EXPECT_FALSE(a->taken_over) << "new";
  auto again = store_->Acquire("conv:x", "node-a", 400);
  ASSERT_TRUE(again.ok() && again->granted) << "its own holder may take it again";
  EXPECT_FALSE(again->taken_over) << "its own, still valid";
  EXPECT_GT(again->token, a->token);
  auto b = store_->Acquire("conv:x", "node-b", 400);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->granted);
  EXPECT_EQ(b->holder, "node-a");
  EXPECT_GT(b->remaining_ms, 0);
  EXPECT_LE(b->remaining_ms, 400);
  EXPECT_FALSE(*store_->Renew("conv:x", "node-a", a->token, 400)) << "an older grant";
  ASSERT_TRUE(*store_->Renew("conv:x", "node-a", again->token, 400));
  EXPECT_TRUE(store_->Abandoned("conv:", 10)->empty());

  std::this_thread::sleep_for(600ms);
  EXPECT_EQ(*store_->Abandoned("conv:", 10), std::vector<std::string>{"conv:x"});
  EXPECT_TRUE(store_->Abandoned("lock:", 10)->empty());
  auto b2 = store_->Acquire("conv:x", "node-b", 10'000);
  ASSERT_TRUE(b2.ok() && b2->granted);
  EXPECT_TRUE(b2->taken_over) << "node-a's lease expired without a release";
  EXPECT_GT(b2->token, again->token);
  EXPECT_FALSE(*store_->Renew("conv:x", "node-a", again->token, 400)) << "taken over";
  ASSERT_TRUE(store_->Release("conv:x", "node-a", again->token).ok());
  EXPECT_FALSE(store_->Acquire("conv:x", "node-a", 400)->granted) << "a stale release changes nothing";
  ASSERT_TRUE(store_->Release("conv:x", "node-b", b2->token).ok());
  EXPECT_FALSE(*store_->Renew("conv:x", "node-b", b2->token, 400)) << "released";
  EXPECT_TRUE(store_->Abandoned("conv:", 10)->empty()) << "released is not abandoned";
  auto after_release = store_->Acquire("conv:x", "node-a", 400);
  ASSERT_TRUE(after_release.ok() && after_release->granted);
  EXPECT_FALSE(after_release->taken_over) << "released: nothing left undone";
  ASSERT_TRUE(store_->Release("conv:x", "node-a", after_release->token).ok());
  auto held = store_->Acquire("conv:y", "node-a", 10'000);
  ASSERT_TRUE(held.ok() && held->granted);
  EXPECT_EQ(*store_->PurgeReleased(), 1) << "conv:x, released; conv:y is held";
  EXPECT_FALSE(store_->Acquire("conv:y", "node-b", 400)->granted);
  EXPECT_TRUE(store_->Acquire("conv:x", "node-a", 400)->granted);
}

TEST_P(SqlLeaseStoreTest, ConcurrentAcquirersNeverHoldOneLeaseTogether) {
  std::atomic<int> inside{0}, overlaps{0}, grants{0};
  std::vector<std::thread> threads;
  for (int n = 0; n < 4; ++n) {
    threads.emplace_back([&, n] {
      const std::string owner = "node-" + std::to_string(n);
      const auto deadline = std::chrono::steady_clock::now() + 20s;
      for (int mine = 0; mine < 5 && std::chrono::steady_clock::now() < deadline;) {
        auto a = store_->Acquire("conv:shared", owner, 10'000);
        ASSERT_TRUE(a.ok()) << a.status().ToString();
        if (!a->granted) {
          std::this_thread::yield();
          continue;
        }
        ++mine;
        ++grants;
        if (inside.fetch_add(1) != 0) ++overlaps;
        std::this_thread::sleep_for(1ms);
        inside.fetch_sub(1);
        ASSERT_TRUE(store_->Release("conv:shared", owner, a->token).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(grants.load(), 20) << "every node got its five turns (released leases are granted again)";
}

}  // namespace
}  // namespace kefu::dialogue
