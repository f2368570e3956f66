#include "routing/rule_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

namespace kefu::routing {
namespace {

namespace fs = std::filesystem;

class RuleStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kefu_routing_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes the file and moves its mtime forward so a reload sees a change
  // even within the file system's timestamp granularity.
  std::string Write(const std::string& name, const std::string& text) {
    fs::path p = dir_ / name;
    std::ofstream(p, std::ios::trunc) << text;
    fs::last_write_time(p, fs::file_time_type::clock::now() + std::chrono::seconds(++bump_));
    return p.string();
  }

  fs::path dir_;
  int bump_ = 0;
};

constexpr const char* kToQueueA =
    "[[rule]]\nid = \"a\"\nwhen.min_repeat = 2\nthen = [{ action = \"transfer\", queue = \"A\" }]\n";
constexpr const char* kToQueueB =
    "[[rule]]\nid = \"b\"\nwhen.min_repeat = 2\nthen = [{ action = \"transfer\", queue = \"B\" }]\n";

TurnFacts Repeated() {
  TurnFacts f;
  f.text = "还没发货";
  f.repeat_count = 2;
  return f;
}

TEST_F(RuleStoreTest, DefaultsWhenNoFile) {
  RuleStore store;
  EXPECT_EQ(store.For("nobody"), RuleSet::Defaults());
}

TEST_F(RuleStoreTest, HotReloadKeepsOldRulesOnInvalidFile) {
  RuleStore store;
  std::string path = Write("t1.toml", kToQueueA);
  auto loaded = store.Load("t1", path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(store.For("t1")->Evaluate(Repeated()).transfer()->queue, "A");
  EXPECT_EQ(store.For("t2"), RuleSet::Defaults());  // other tenants unaffected

  EXPECT_TRUE(store.ReloadIfChanged().ok());  // unchanged: nothing re-read
  auto before = store.For("t1");

  Write("t1.toml", std::string(kToQueueB) + "bogus = 1\n");
  Status st = store.ReloadIfChanged();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(st.message().find("line 5"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("bogus"), std::string::npos) << st.message();
  EXPECT_EQ(store.For("t1"), before);
  EXPECT_EQ(store.For("t1")->Evaluate(Repeated()).transfer()->queue, "A");
  EXPECT_FALSE(store.Describe()["t1"]["error"].is_null());
  EXPECT_TRUE(store.ReloadIfChanged().ok());  // the same bad file is reported once

  Write("t1.toml", kToQueueB);
  ASSERT_TRUE(store.ReloadIfChanged().ok());
  EXPECT_EQ(store.For("t1")->Evaluate(Repeated()).transfer()->queue, "B");
  EXPECT_TRUE(store.Describe()["t1"]["error"].is_null());
  // The RuleSet handed out before the reload is still usable.
  EXPECT_EQ(before->Evaluate(Repeated()).transfer()->queue, "A");
}

TEST_F(RuleStoreTest, InvalidFirstLoadFallsBackAndIsPickedUpWhenFixed) {
  RuleStore store;
  std::string path = Write("t1.toml", "[[rule]]\nid = 3\n");
  auto loaded = store.Load("t1", path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("rule[0].id"), std::string::npos);
  EXPECT_EQ(store.For("t1"), RuleSet::Defaults());
  Write("t1.toml", kToQueueA);
  ASSERT_TRUE(store.ReloadIfChanged().ok());
  EXPECT_EQ(store.For("t1")->Evaluate(Repeated()).transfer()->queue, "A");
}

TEST_F(RuleStoreTest, MissingFileIsAnError) {
  RuleStore store;
  auto loaded = store.Load("t1", (dir_ / "absent.toml").string());
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store.For("t1"), RuleSet::Defaults());
}

TEST_F(RuleStoreTest, ConcurrentEvaluateDuringReloads) {
  RuleStore store;
  std::string path = Write("t1.toml", kToQueueA);
  ASSERT_TRUE(store.Load("t1", path).ok());
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i)
    readers.emplace_back([&] {
      while (!done) {
        const Action* t = nullptr;
        Decision d = store.For("t1")->Evaluate(Repeated());
        t = d.transfer();
        if (!t || (t->queue != "A" && t->queue != "B")) ++bad;
      }
    });
  for (int i = 0; i < 50; ++i) {
    Write("t1.toml", i % 2 ? kToQueueA : kToQueueB);
    EXPECT_TRUE(store.ReloadIfChanged().ok());
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(store.For("t1")->Evaluate(Repeated()).transfer()->queue, "A");
}

}  // namespace
}  // namespace kefu::routing
