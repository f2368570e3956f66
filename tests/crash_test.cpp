// Durability: an acknowledged message survives SIGKILL. Runs the real kefu
// binary, floods a conversation over WebSocket, kills the server with SIGKILL
// right after acknowledgements arrive, restarts it on the same data dir and
// checks that every acknowledged message is there exactly once and gets
// answered after the restart.
#include <gtest/gtest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "http/testing.h"

extern char** environ;

namespace kefu {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using http::testing::Fetch;

const http::testing::Headers kWidget = {{"X-Kefu-Widget-Key", "demo"}, {"Content-Type", "application/json"}};

struct Server {
  pid_t pid = -1;
  int port = 0;
};

Server Spawn(const fs::path& dir) {
  fs::remove(dir / "port");
  std::vector<std::string> args = {KEFU_BIN_PATH, "serve", "--demo", "--port", "0", "--host", "127.0.0.1",
                                   "--data-dir", dir.string(), "--port-file", (dir / "port").string()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_store = {"KEFU_LOG_LEVEL=warn"};
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e) envp.push_back(*e);
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  Server s;
  if (posix_spawn(&s.pid, argv[0], nullptr, nullptr, argv.data(), envp.data()) != 0) return s;
  for (int i = 0; i < 300; ++i) {
    std::ifstream in(dir / "port");
    if (in >> s.port && s.port > 0) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return s;
}

void Kill(Server& s, int sig) {
  if (s.pid <= 0) return;
  ::kill(s.pid, sig);
  int status;
  ::waitpid(s.pid, &status, 0);
  s.pid = -1;
}

TEST(CrashTest, AcknowledgedMessagesSurviveSigkill) {
  fs::path dir = fs::temp_directory_path() / ("kefu_crash_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  Server s = Spawn(dir);
  ASSERT_GT(s.port, 0) << "server did not start";

  auto c = Fetch(s.port, "POST", "/v1/conversations", R"({"customer_id":"C0002"})", kWidget);
  ASSERT_TRUE(c.ok());
  std::string id = json::parse(c->body)["id"];
  // Several connections send concurrently, without waiting for replies.
  constexpr int kClients = 4, kPerClient = 60;
  std::vector<std::unique_ptr<http::testing::WsClient>> clients;
  for (int k = 0; k < kClients; ++k) {
    auto ws = http::testing::WsClient::Connect(s.port, "/v1/conversations/" + id + "/ws?widget_key=demo");
    ASSERT_TRUE(ws.ok());
    clients.push_back(std::move(*ws));
  }
  for (int i = 0; i < kPerClient; ++i)
    for (int k = 0; k < kClients; ++k) {
      std::string cmid = "k" + std::to_string(k) + "-" + std::to_string(i);
      // The flood limit is per connection; stay under it.
      (void)clients[k]->Send(json{{"type", "message"}, {"client_msg_id", cmid}, {"text", "退货运费谁出 " + cmid}}.dump());
    }
  // Collect acknowledgements until a third of the messages are acked, then kill.
  std::set<std::string> acked;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (acked.size() < kClients * kPerClient / 3 && std::chrono::steady_clock::now() < deadline) {
    for (auto& ws : clients) {
      auto f = ws->Receive(std::chrono::milliseconds(20));
      if (!f.ok()) continue;
      json j = json::parse(*f, nullptr, false);
      if (j.is_object() && j.value("type", "") == "ack") acked.insert(j["client_msg_id"].get<std::string>());
    }
  }
  Kill(s, SIGKILL);
  clients.clear();
  ASSERT_GE(acked.size(), static_cast<size_t>(kClients * kPerClient / 3));

  Server again = Spawn(dir);
  ASSERT_GT(again.port, 0) << "server did not restart";
  std::map<std::string, int> seen;
  std::set<int64_t> customer_ids, answered;
  for (int attempt = 0; attempt < 100; ++attempt) {
    seen.clear();
    customer_ids.clear();
    answered.clear();
    auto list = Fetch(again.port, "GET", "/v1/conversations/" + id + "/messages?limit=500", "", kWidget);
    ASSERT_TRUE(list.ok());
    ASSERT_EQ(list->status, 200) << list->body;
    const json body = json::parse(list->body);
    for (const auto& m : body["messages"]) {
      if (m["role"] == "customer") {
        seen[m["client_msg_id"].get<std::string>()]++;
        customer_ids.insert(m["id"].get<int64_t>());
      } else if (m["reply_to"].is_number()) {
        answered.insert(m["reply_to"].get<int64_t>());
      }
    }
    if (answered.size() >= customer_ids.size()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::string sample;
  for (auto& [k, v] : seen) { if (sample.size() < 200) sample += k + " "; }
  ASSERT_FALSE(seen.empty()) << "no customer messages after restart on port " << again.port << " conversation " << id;
  EXPECT_GE(seen.size(), acked.size()) << "seen: " << sample << " acked " << *acked.begin();
  for (const auto& cmid : acked) EXPECT_EQ(seen[cmid], 1) << "acknowledged message " << cmid << " lost or duplicated";
  for (const auto& [cmid, n] : seen) EXPECT_EQ(n, 1) << cmid;
  EXPECT_EQ(answered.size(), customer_ids.size()) << "every stored message is answered after the restart";
  Kill(again, SIGTERM);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kefu
