// Two kefu nodes behind one PostgreSQL and one Redis (issue 16, items 4-5):
// two in-process servers with [storage] url on the throwaway PostgreSQL (one
// schema, shared) and [bus] url on the throwaway Redis (ctest's kefu_pg and
// kefu_redis fixtures). A customer's WebSocket on node A sees the turn made
// on node B (the customer message and the bot's reply), a close made on B,
// and an inbox message sent through B; an agent on B serves a conversation
// queued through A; a conversation leased by another node is busy (503) and
// then served once. Skips without PostgreSQL or Redis. (Killing a real node
// under load: bench/cluster_soak.py, ctest ClusterKill.)
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "bus/testing.h"
#include "http/testing.h"
#include "storage/testing.h"
#include "support/test_server.h"

namespace kefu {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using http::testing::Fetch;
using http::testing::Headers;
using http::testing::WsClient;
using nlohmann::json;

const Headers kWidget = {{"X-Kefu-Widget-Key", "demo"}, {"Content-Type", "application/json"}};
const Headers kAdmin = {{"Authorization", "Bearer demo-admin-key"}, {"Content-Type", "application/json"}};

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (storage::testdb::PostgresTestUrl().empty()) GTEST_SKIP() << storage::testdb::kPostgresMissing;
    const std::string redis = bus::testbus::RedisTestUrl();
    if (redis.empty()) GTEST_SKIP() << bus::testbus::kRedisMissing;
    auto pg = storage::testdb::FreshLocation(storage::Engine::kPostgres);
    ASSERT_TRUE(pg.ok()) << pg.status().ToString();
    const std::string prefix = bus::testbus::UniquePrefix();
    for (const char* name : {"a", "b"}) {
      fs::path dir = testing::FreshTestDir(std::string("cluster_") + name, /*per_test=*/true);
      dirs_.push_back(dir);
      Config cfg = testing::TestConfig(dir, "warn");
      cfg.storage.url = *pg;
      cfg.bus.url = redis;
      cfg.bus.prefix = prefix;
      cfg.bus.node_id = std::string("node-") + name;
      cfg.dialogue.require_verified_customer = false;
      auto app = testing::StartServer(cfg);  // the demo tenant: loaded by a, found by b
      ASSERT_TRUE(app.ok()) << app.status().ToString();
      nodes_.push_back(std::move(*app));
    }
  }
  void TearDown() override {
    nodes_.clear();
    for (const auto& d : dirs_) fs::remove_all(d);
  }

  json Call(int node, const std::string& method, const std::string& target, const json& body, int expect,
            const Headers& h = kWidget) {
    auto r = Fetch(nodes_[node]->port(), method, target, body.is_null() ? "" : body.dump(), h);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
    EXPECT_EQ(r->status, expect) << method << " " << target << " -> " << r->body;
    return json::parse(r->body, nullptr, false);
  }

  // The frames `ws` receives within `quiet` of each other, up to `limit`.
  static std::vector<json> Frames(WsClient& ws, std::chrono::milliseconds first_wait, std::chrono::milliseconds quiet,
                                  size_t limit = 100) {
    std::vector<json> out;
    auto wait = first_wait;
    while (out.size() < limit) {
      auto f = ws.Receive(wait);
      if (!f.ok()) break;
      out.push_back(json::parse(*f, nullptr, false));
      wait = quiet;
    }
    return out;
  }

  std::vector<fs::path> dirs_;
  std::vector<std::unique_ptr<app::ServerApp>> nodes_;
};

TEST_F(ClusterTest, ACustomersWebSocketOnOneNodeSeesTheTurnMadeOnTheOther) {
  for (int n : {0, 1}) {
    json h = Call(n, "GET", "/healthz", nullptr, 200);
    EXPECT_EQ(h["bus"]["engine"], "redis") << h.dump();
    EXPECT_EQ(h["bus"]["ok"], true) << h.dump();
    EXPECT_EQ(h["bus"]["node_id"], n == 0 ? "node-a" : "node-b");
  }
  const std::string id =
      Call(0, "POST", "/v1/conversations", {{"customer_id", "C0001"}, {"channel", "web"}}, 201).value("id", "");
  ASSERT_FALSE(id.empty());
  auto ws = WsClient::Connect(nodes_[0]->port(), "/v1/conversations/" + id + "/ws?widget_key=demo");
  ASSERT_TRUE(ws.ok()) << ws.status().ToString();
  ASSERT_TRUE(nodes_[0]->BusForTesting().WaitIdle(10s));  // node a's subscription is active at Redis

  // The turn runs on node b (the same conversation, from the shared database).
  json turn =
      Call(1, "POST", "/v1/conversations/" + id + "/messages", {{"client_msg_id", "b1"}, {"text", "多久发货"}}, 200);
  ASSERT_EQ(turn["reply"]["role"], "bot") << turn.dump();

  std::vector<json> frames = Frames(**ws, 10s, 500ms);
  std::vector<int64_t> seqs;
  for (const auto& f : frames)
    if (f.value("type", "") == "message") seqs.push_back(f["message"].value("seq", int64_t{0}));
  EXPECT_EQ(seqs, (std::vector<int64_t>{1, 2})) << json(frames).dump();  // each once, in order
  ASSERT_FALSE(frames.empty());
  json bot;
  for (const auto& f : frames)
    if (f.value("type", "") == "message" && f["message"]["role"] == "bot") bot = f["message"];
  EXPECT_EQ(bot["text"], turn["reply"]["text"]);
  EXPECT_EQ(bot["id"], turn["reply"]["id"]);
  EXPECT_FALSE(bot["meta"].contains("decision")) << "the customer's view, as on one node";

  // An inbox message sent through node b reaches the customer's stream on a.
  json sent = Call(1, "POST", "/v1/inbox/messages",
                   {{"customer_id", "C0001"}, {"kind", "notice"}, {"title", "跨节点"}, {"body", "正文"}}, 201, kAdmin);
  std::vector<json> inbox = Frames(**ws, 10s, 300ms);
  ASSERT_FALSE(inbox.empty());
  EXPECT_EQ(inbox.front().value("type", ""), "inbox") << inbox.front().dump();
  EXPECT_EQ(inbox.front()["message"]["title"], "跨节点");

  // A close made on node b.
  Call(1, "POST", "/v1/conversations/" + id + "/close", nullptr, 200);
  std::vector<json> closed = Frames(**ws, 10s, 300ms);
  ASSERT_FALSE(closed.empty());
  EXPECT_EQ(closed.front().value("type", ""), "closed") << closed.front().dump();
  EXPECT_EQ(closed.front()["conversation"]["status"], "closed");
}

TEST_F(ClusterTest, ATurnOnTheSameNodeIsDeliveredOnceNotEchoed) {
  const std::string id =
      Call(0, "POST", "/v1/conversations", {{"customer_id", "C0002"}, {"channel", "web"}}, 201).value("id", "");
  auto ws = WsClient::Connect(nodes_[0]->port(), "/v1/conversations/" + id + "/ws?widget_key=demo");
  ASSERT_TRUE(ws.ok()) << ws.status().ToString();
  ASSERT_TRUE(nodes_[0]->BusForTesting().WaitIdle(10s));
  ASSERT_TRUE((*ws)->Send(json{{"type", "message"}, {"client_msg_id", "w1"}, {"text", "退货运费谁出"}}.dump()).ok());
  std::vector<json> frames = Frames(**ws, 10s, 700ms);
  int customer = 0, bot = 0, acks = 0;
  for (const auto& f : frames) {
    if (f.value("type", "") == "ack") ++acks;
    if (f.value("type", "") != "message") continue;
    if (f["message"]["role"] == "customer") ++customer;
    if (f["message"]["role"] == "bot") ++bot;
  }
  EXPECT_EQ(acks, 1);
  EXPECT_EQ(customer, 1) << json(frames).dump();
  EXPECT_EQ(bot, 1) << json(frames).dump();
}

// The desk across nodes: an agent logged in on node b (presence and workspace
// there) is assigned a conversation queued through node a, serves it through
// b, and sees the customer's next message written through a; the bot stays
// silent on a meanwhile.
TEST_F(ClusterTest, AnAgentOnOneNodeServesAConversationQueuedOnTheOther) {
  json login = Call(1, "POST", "/v1/agent/login",
                    {{"tenant_id", "demo"}, {"username", "agent1"}, {"password", "demo1234"}}, 200);
  const std::string token = login.value("token", "");
  ASSERT_FALSE(token.empty()) << login.dump();
  const Headers bearer = {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
  auto agent_ws = WsClient::Connect(nodes_[1]->port(), "/v1/agent/ws?token=" + token);
  ASSERT_TRUE(agent_ws.ok()) << agent_ws.status().ToString();
  Call(1, "PUT", "/v1/agent/presence", {{"presence", "online"}}, 200, bearer);
  ASSERT_TRUE(nodes_[1]->BusForTesting().WaitIdle(10s));  // b's presence heartbeat reached Redis
  // Node a learns that agent1 is online (b's heartbeat) within a tick.
  std::this_thread::sleep_for(1500ms);

  const std::string id =
      Call(0, "POST", "/v1/conversations", {{"customer_id", "C0002"}, {"channel", "web"}}, 201).value("id", "");
  auto customer_ws = WsClient::Connect(nodes_[0]->port(), "/v1/conversations/" + id + "/ws?widget_key=demo");
  ASSERT_TRUE(customer_ws.ok());
  ASSERT_TRUE(nodes_[0]->BusForTesting().WaitIdle(10s));
  json turn = Call(0, "POST", "/v1/conversations/" + id + "/messages",
                   {{"client_msg_id", "q1"}, {"text", "我要投诉！你们的东西用了两天就坏了，太气人了"}}, 200);
  ASSERT_EQ(turn["reply"]["role"], "system") << turn.dump();
  EXPECT_NE(turn["reply"]["text"].get<std::string>().find("转接人工"), std::string::npos)
      << "queued for the agent online on b, not 'leave a message': " << turn.dump();

  // Node b's desk picks it up from the database and assigns it to its agent.
  json assigned;
  for (const auto& f : Frames(**agent_ws, 10s, 3s, 50))
    if (f.value("type", "") == "assigned" && f["conversation"]["conversation"]["id"] == id) assigned = f;
  ASSERT_FALSE(assigned.is_null()) << "the agent on b was never assigned the conversation queued on a";
  json conv = Call(0, "GET", "/v1/conversations/" + id, nullptr, 200);
  EXPECT_EQ(conv["status"], "human");

  // The agent answers through b; the customer's stream on a gets it.
  Call(1, "POST", "/v1/agent/conversations/" + id + "/messages", {{"text", "您好，我来处理"}, {"client_msg_id", "a1"}},
       200, bearer);
  bool saw_agent = false;
  for (const auto& f : Frames(**customer_ws, 10s, 1s))
    if (f.value("type", "") == "message" && f["message"]["role"] == "agent") saw_agent = true;
  EXPECT_TRUE(saw_agent);

  // The customer writes through a: no bot reply, and the agent on b sees it.
  json r2 = Call(0, "POST", "/v1/conversations/" + id + "/messages",
                 {{"client_msg_id", "q2"}, {"text", "订单号是多少来着"}}, 200);
  EXPECT_TRUE(r2["reply"].is_null()) << "the bot must not talk over the agent: " << r2.dump();
  bool agent_got = false;
  for (const auto& f : Frames(**agent_ws, 10s, 1s))
    if (f.value("type", "") == "message" && f["conversation_id"] == id && f["message"]["role"] == "customer" &&
        f["message"]["text"] == "订单号是多少来着")
      agent_got = true;
  EXPECT_TRUE(agent_got) << "the agent on b did not see the customer message written through a";
}

// Leases across nodes: a turn for a conversation whose turn another node is
// running is refused with 503 conversation_busy and Retry-After, nothing
// stored; once that node is done, the retry goes through once.
TEST_F(ClusterTest, AConversationLeasedByTheOtherNodeIsBusyThenServedOnce) {
  const std::string id =
      Call(0, "POST", "/v1/conversations", {{"customer_id", "C0001"}, {"channel", "web"}}, 201).value("id", "");
  // Node "ghost" holds the conversation's lease (as a node that died mid-turn would, for 3 s).
  {
    auto s = nodes_[0]->DatabaseForTesting().Lock();
    auto& st = s.Prepare(
        "INSERT INTO leases(name, owner, token, expires_ms) VALUES(?, 'ghost', 1, "
        "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT) + 3000)");
    st.Bind(1, "conv:" + id);
    ASSERT_TRUE(st.Run().ok());
  }
  auto busy = Fetch(nodes_[1]->port(), "POST", "/v1/conversations/" + id + "/messages",
                    json{{"client_msg_id", "k1"}, {"text", "多久发货"}}.dump(), kWidget);
  ASSERT_TRUE(busy.ok());
  EXPECT_EQ(busy->status, 503) << busy->body;
  EXPECT_EQ(json::parse(busy->body)["error"]["code"], "conversation_busy") << busy->body;
  bool retry_after = false;
  for (const auto& [k, v] : busy->headers)
    if (strcasecmp(k.c_str(), "Retry-After") == 0) retry_after = !v.empty() && std::stoi(v) >= 1 && std::stoi(v) <= 3;
  EXPECT_TRUE(retry_after) << "Retry-After: the seconds left on the other node's lease";
  json history = Call(0, "GET", "/v1/conversations/" + id + "/messages", nullptr, 200);
  EXPECT_TRUE(history["messages"].empty()) << "nothing stored for a refused turn";

  // The lease expires (the "node" never renews it): the retry is served.
  std::this_thread::sleep_for(3200ms);
  json ok =
      Call(1, "POST", "/v1/conversations/" + id + "/messages", {{"client_msg_id", "k1"}, {"text", "多久发货"}}, 200);
  EXPECT_EQ(ok["reply"]["role"], "bot") << ok.dump();
  json again =
      Call(0, "POST", "/v1/conversations/" + id + "/messages", {{"client_msg_id", "k1"}, {"text", "多久发货"}}, 200);
  EXPECT_EQ(again["duplicate"], true);
  EXPECT_EQ(again["reply"]["id"], ok["reply"]["id"]);
  EXPECT_EQ(Call(1, "GET", "/v1/conversations/" + id + "/messages", nullptr, 200)["messages"].size(), 2u);
}

// [bus] url at start: a malformed one stops start-up naming the key; a Redis
// that does not answer does not, and /healthz says what is down (SQLite, no
// Redis needed).
TEST(BusAtStart, ABadUrlStopsStartAndAnUnreachableRedisIsReported) {
  fs::path dir = testing::FreshTestDir("bus_at_start", /*per_test=*/true);
  Config cfg = testing::TestConfig(dir, "error");
  cfg.bus.url = "redis://127.0.0.1:notaport";
  auto bad = testing::StartServer(cfg, /*demo=*/false);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("bus.url"), std::string::npos) << bad.status().message();

  // A loopback port nobody listens on.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  cfg.bus.url = "redis://127.0.0.1:" + std::to_string(port);
  const auto start = std::chrono::steady_clock::now();
  auto app = testing::StartServer(cfg, /*demo=*/true);
  ASSERT_TRUE(app.ok()) << app.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
  auto h = Fetch((*app)->port(), "GET", "/healthz");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->status, 200) << h->body;  // degraded, still serving: not out of the balancer
  json j = json::parse(h->body, nullptr, false);
  EXPECT_EQ(j["status"], "degraded");
  EXPECT_EQ(j["storage"]["ok"], true) << j.dump();
  EXPECT_EQ(j["bus"]["ok"], false);
  EXPECT_EQ(j["bus"]["engine"], "redis");
  EXPECT_NE(j["bus"].value("error", "").find("127.0.0.1:" + std::to_string(port)), std::string::npos) << j.dump();
  EXPECT_EQ(j["bus"]["down"].size(), 3u) << j.dump();
  // Serving its own customers meanwhile.
  auto c = Fetch((*app)->port(), "POST", "/v1/conversations", json{{"customer_id", "C0001"}}.dump(), kWidget);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->status, 201) << c->body;
  app->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kefu
