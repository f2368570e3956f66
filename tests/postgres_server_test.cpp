// The whole server on PostgreSQL: ServerApp with [storage] url pointing at the
// throwaway PostgreSQL ctest starts (a schema of its own), the demo tenant
// loaded into it, real HTTP turns and agents. Skips without PostgreSQL
// (storage/testing.h).
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/testing.h"
#include "storage/testing.h"
#include "support/test_server.h"

namespace kefu {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using http::testing::Fetch;
using http::testing::Headers;

const Headers kWidget = {{"X-Kefu-Widget-Key", "demo"}, {"Content-Type", "application/json"}};

class PostgresServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (storage::testdb::PostgresTestUrl().empty()) GTEST_SKIP() << storage::testdb::kPostgresMissing;
    dir_ = testing::FreshTestDir("pg_server_test", /*per_test=*/true);
    auto url = storage::testdb::FreshLocation(storage::Engine::kPostgres);
    ASSERT_TRUE(url.ok()) << url.status().ToString();
    url_ = *url;
    Config cfg = testing::TestConfig(dir_, "warn");
    cfg.storage.url = url_;
    cfg.dialogue.require_verified_customer = false;
    auto a = testing::StartServer(cfg);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    app_ = std::move(*a);
  }
  void TearDown() override {
    app_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  json Call(const std::string& method, const std::string& target, const json& body, int expect,
            const Headers& h = kWidget) {
    auto r = Fetch(app_->port(), method, target, body.is_null() ? "" : body.dump(), h);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
    EXPECT_EQ(r->status, expect) << method << " " << target << " -> " << r->body;
    return json::parse(r->body, nullptr, false);
  }

  fs::path dir_;
  std::string url_;
  std::unique_ptr<app::ServerApp> app_;
};

TEST_F(PostgresServerTest, MigratesLoadsTheDemoAndAnswersTurns) {
  json h = Call("GET", "/healthz", nullptr, 200);
  EXPECT_EQ(h["status"], "ok");
  json c = Call("POST", "/v1/conversations", {{"customer_id", "C0001"}, {"channel", "web"}}, 201);
  const std::string id = c.value("id", "");
  ASSERT_FALSE(id.empty());
  // An order question answered from the demo shop's data, stored in PostgreSQL.
  json r = Call("POST", "/v1/conversations/" + id + "/messages", {{"client_msg_id", "t1"}, {"text", "我的订单到哪了"}},
                200);
  EXPECT_EQ(r["message"]["seq"], 1);
  EXPECT_EQ(r["reply"]["role"], "bot");
  EXPECT_EQ(r["reply"]["seq"], 2);
  const std::string text = r["reply"].value("text", "");
  EXPECT_NE(text.find("SO2026"), std::string::npos) << text;
  // The context follows the conversation (stored with it).
  json follow = Call("POST", "/v1/conversations/" + id + "/messages",
                     {{"client_msg_id", "t2"}, {"text", "那它什么时候到？"}}, 200);
  EXPECT_EQ(follow["reply"]["meta"]["order_id"], r["reply"]["meta"]["order_id"]) << follow.dump();
  // A retry is answered from what was stored, never twice.
  json again = Call("POST", "/v1/conversations/" + id + "/messages",
                    {{"client_msg_id", "t1"}, {"text", "我的订单到哪了"}}, 200);
  EXPECT_TRUE(again["duplicate"].get<bool>());
  EXPECT_EQ(again["reply"]["id"], r["reply"]["id"]);
  // A knowledge-base answer.
  json kb = Call("POST", "/v1/conversations/" + id + "/messages", {{"client_msg_id", "t3"}, {"text", "多久发货"}}, 200);
  EXPECT_FALSE(kb["reply"].value("text", "").empty()) << kb.dump();
  json list = Call("GET", "/v1/conversations/" + id + "/messages", nullptr, 200);
  ASSERT_EQ(list["messages"].size(), 6u) << list.dump();
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(list["messages"][i]["seq"], static_cast<int>(i + 1));
}

// Turns of many conversations at once, on a pool of PostgreSQL connections:
// every turn answered, every conversation's sequence gapless.
TEST_F(PostgresServerTest, ConcurrentTurnsOnManyConversations) {
  constexpr int kConversations = 6, kTurns = 5;
  std::vector<std::string> ids;
  for (int i = 0; i < kConversations; ++i) {
    json c = Call("POST", "/v1/conversations", {{"customer_id", "C000" + std::to_string(i % 5 + 1)}, {"channel", "web"}},
                  201);
    ids.push_back(c.value("id", ""));
  }
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kConversations; ++i)
    threads.emplace_back([&, i] {
      for (int t = 0; t < kTurns; ++t) {
        auto r = Fetch(app_->port(), "POST", "/v1/conversations/" + ids[i] + "/messages",
                       json{{"client_msg_id", "m" + std::to_string(t)}, {"text", "你们几点上班"}}.dump(), kWidget);
        if (!r.ok() || r->status != 200) ++failed;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failed.load(), 0);
  for (const auto& id : ids) {
    json list = Call("GET", "/v1/conversations/" + id + "/messages", nullptr, 200);
    ASSERT_EQ(list["messages"].size(), static_cast<size_t>(2 * kTurns)) << list.dump();
    for (size_t k = 0; k < list["messages"].size(); ++k)
      EXPECT_EQ(list["messages"][k]["seq"], static_cast<int>(k + 1));
  }
}

}  // namespace
}  // namespace kefu
