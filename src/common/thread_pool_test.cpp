#include "common/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

namespace kefu {
namespace {

TEST(ThreadPool, TrySubmitRefusesAtOnceWhenTheQueueIsFull) {
  ThreadPool pool(1, "test");
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::promise<void> started;
  std::atomic<int> ran{0};
  // The one thread is held busy; then two may wait, the third is refused.
  ASSERT_TRUE(pool.TrySubmit([&, gate] { started.set_value(); gate.wait(); ++ran; }, 2));
  started.get_future().wait();
  EXPECT_TRUE(pool.TrySubmit([&] { ++ran; }, 2));
  EXPECT_TRUE(pool.TrySubmit([&] { ++ran; }, 2));
  EXPECT_FALSE(pool.TrySubmit([&] { ++ran; }, 2));
  EXPECT_EQ(pool.QueueDepth(), 2u);
  EXPECT_TRUE(pool.Submit([&] { ++ran; })) << "Submit stays unbounded";
  release.set_value();
  pool.Shutdown();
  EXPECT_EQ(ran.load(), 4);
  EXPECT_FALSE(pool.TrySubmit([] {}, 100)) << "refused after shutdown";
}

}  // namespace
}  // namespace kefu
