// Regression tests for the audit (issue 14) over the whole server (ServerApp,
// port 0, a temporary data dir, real SQLite and HTTP):
// - defect 5: with the default configuration a visitor who claims a customer
//   id through the public widget key learns nothing about that customer's
//   orders; a signed customer token from the shop's backend proves who it is;
//   `kefu serve --demo` trusts claimed ids only where nothing is configured;
// - a storage failure answers 503 unavailable, /healthz is unhealthy until a
//   write commits again; start-up names the file that cannot be used;
// - GET /metrics with [server] metrics_token needs the bearer token;
// - the agent workspace's customer panel masks personal data for agents;
// - a knowledge-base file with a control character in a title is refused whole.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "api/pii.h"
#include "common/utf8.h"
#include "http/testing.h"
#include "support/test_server.h"

namespace kefu {
namespace {

namespace fs = std::filesystem;
using http::testing::Fetch;
using http::testing::Headers;
using nlohmann::json;
using namespace std::chrono_literals;

const Headers kWidget = {{"X-Kefu-Widget-Key", "demo"}, {"Content-Type", "application/json"}};
const Headers kAdmin = {{"Authorization", "Bearer demo-admin-key"}, {"Content-Type", "application/json"}};
const Headers kJson = {{"Content-Type", "application/json"}};

// One server per test: the demo tenant's data (C0001 has orders in transit)
// with the configuration each test names.
class ServerTest : public ::testing::Test {
 protected:
  void Start(Config cfg) {
    auto a = testing::StartServer(cfg);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    app_ = std::move(*a);
    port_ = app_->port();
  }
  void SetUp() override { dir_ = testing::FreshTestDir("hardening_test", /*per_test=*/true); }
  void TearDown() override {
    app_.reset();
    fs::remove_all(dir_);
  }
  http::Response Raw(const std::string& method, const std::string& target, const std::string& body,
                     const Headers& h) {
    auto r = Fetch(port_, method, target, body, h);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : http::Response{};
  }
  json Call(const std::string& method, const std::string& target, const json& body, int expect,
            const Headers& h = kWidget) {
    http::Response r = Raw(method, target, body.is_null() ? "" : body.dump(), h);
    if (expect >= 0) {
      EXPECT_EQ(r.status, expect) << method << " " << target << " -> " << r.body;
    }
    return json::parse(r.body, nullptr, false);
  }
  json Ask(const std::string& cid, const std::string& text) {
    return Call("POST", "/v1/conversations/" + cid + "/messages",
                {{"client_msg_id", "m" + std::to_string(++n_)}, {"text", text}}, 200)["reply"];
  }

  fs::path dir_;
  std::unique_ptr<app::ServerApp> app_;
  int port_ = 0;
  int n_ = 0;
};

// --- defect 5: verified customers by default ---

TEST(VerifiedCustomerDefault, OnEverywhereButTheDemoUnlessConfigured) {
  auto plain = Config::Parse("");
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->dialogue.require_verified_customer);
  EXPECT_FALSE(plain->IsExplicit("dialogue.require_verified_customer"));

  // kefu serve --demo: off, so that the demo widget's customer picker works ...
  Config demo = *plain;
  app::ApplyDemoDefaults(demo);
  EXPECT_FALSE(demo.dialogue.require_verified_customer);
  // ... unless the file or the environment says otherwise.
  for (const auto& [toml, env] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"[dialogue]\nrequire_verified_customer = true\n", {}},
           {"", {"KEFU_DIALOGUE_REQUIRE_VERIFIED_CUSTOMER=true"}},
           {"[dialogue]\nrequire_verified_customer = false\n", {"KEFU_DIALOGUE_REQUIRE_VERIFIED_CUSTOMER=1"}}}) {
    auto c = Config::Parse(toml, env);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_TRUE(c->IsExplicit("dialogue.require_verified_customer"));
    app::ApplyDemoDefaults(*c);
    EXPECT_TRUE(c->dialogue.require_verified_customer) << toml;
  }
  auto off = Config::Parse("[dialogue]\nrequire_verified_customer = false\n");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->dialogue.require_verified_customer);
}

// The audit's attack: create a conversation claiming C0001 with the public
// widget key and ask where "my order" is. With the default configuration the
// reply names none of C0001's orders or tracking numbers and no order tool
// answered for C0001; with a signed customer token it works.
TEST_F(ServerTest, ClaimedCustomerIdRevealsNoOrdersByDefault) {
  Start(testing::TestConfig(dir_));  // the defaults: no require_verified_customer setting
  // What there is to protect, as the shop's backend sees it (API key).
  json listed = Call("POST", "/v1/tools/list_orders?customer_id=C0001", json::object(), 200, kAdmin);
  std::vector<std::string> secrets;
  for (const auto& o : listed["orders"]) {
    secrets.push_back(o.value("order_id", ""));
    if (o.contains("tracking_no") && o["tracking_no"].is_string()) secrets.push_back(o["tracking_no"]);
  }
  ASSERT_GE(secrets.size(), 5u) << listed.dump();
  ASSERT_NE(std::find(secrets.begin(), secrets.end(), "SF2610929479530"), secrets.end()) << listed.dump();

  json claimed = Call("POST", "/v1/conversations", {{"customer_id", "C0001"}, {"channel", "web"}}, 201);
  EXPECT_EQ(claimed["customer_verified"], false);
  const std::string cid = claimed.value("id", "");
  for (const char* question : {"我的订单到哪了", "那它什么时候到？", "帮我查一下订单SO202611010001", "我的快递单号是多少"}) {
    json reply = Ask(cid, question);
    const std::string text = reply.value("text", "");
    for (const auto& secret : secrets) {
      if (std::string(question).find(secret) != std::string::npos) continue;  // the customer's own words
      EXPECT_EQ(text.find(secret), std::string::npos) << question << " -> " << text;
    }
    // Every order tool the bot tried was refused: none answered for C0001.
    for (const auto& t : reply["meta"].value("tools", json::array())) {
      EXPECT_FALSE(t.value("ok", true)) << question << " -> " << reply.dump();
      EXPECT_EQ(t.value("error", ""), "permission_denied") << reply.dump();
    }
  }
  json first = Call("GET", "/v1/conversations/" + cid + "/messages", nullptr, 200);
  bool asked_to_sign_in = false;
  for (const auto& m : first["messages"]) asked_to_sign_in |= m["meta"].value("unverified_customer", false);
  EXPECT_TRUE(asked_to_sign_in) << first.dump();
  EXPECT_NE(first.dump().find("登录"), std::string::npos);

  // The shop's backend mints a token for its signed-in user; the widget opens the conversation with it.
  json minted = Call("POST", "/v1/customers/C0001/inbox/token", json::object(), 200, kAdmin);
  const std::string token = minted.value("token", "");
  ASSERT_FALSE(token.empty()) << minted.dump();
  json verified = Call("POST", "/v1/conversations", {{"customer_token", token}}, 201);
  EXPECT_EQ(verified["customer_id"], "C0001");
  EXPECT_EQ(verified["customer_verified"], true);
  json answer = Ask(verified.value("id", ""), "我的订单到哪了");
  EXPECT_NE(answer.value("text", "").find("SO2026"), std::string::npos) << answer.dump();
  bool tool_ok = false;
  for (const auto& t : answer["meta"].value("tools", json::array())) tool_ok |= t.value("ok", false);
  EXPECT_TRUE(tool_ok) << answer.dump();
  // The header works as well as the body field; a forged token is 401.
  Headers with_header = kWidget;
  with_header.push_back({"X-Kefu-Customer-Token", token});
  EXPECT_EQ(Call("POST", "/v1/conversations", json::object(), 201, with_header)["customer_verified"], true);
  Call("POST", "/v1/conversations", {{"customer_token", token + "x"}}, 401);
}

// An operator who trusts its channels may still switch verification off.
TEST_F(ServerTest, ExplicitlyTrustedClaimsStillWork) {
  Config cfg = testing::TestConfig(dir_);
  cfg.dialogue.require_verified_customer = false;
  Start(cfg);
  json claimed = Call("POST", "/v1/conversations", {{"customer_id", "C0001"}}, 201);
  EXPECT_NE(Ask(claimed.value("id", ""), "我的订单到哪了").value("text", "").find("SO2026"), std::string::npos);
}

// --- storage failures: 503 unavailable, /healthz ---

TEST_F(ServerTest, StorageFailureIsUnavailableAndUnhealthyUntilAWriteSucceeds) {
  Start(testing::TestConfig(dir_));
  json health = Call("GET", "/healthz", nullptr, 200, {});
  EXPECT_EQ(health["status"], "ok");
  const std::string cid = Call("POST", "/v1/conversations", {{"customer_id", "C0002"}}, 201).value("id", "");

  // Writes fail from now on (SQLITE_READONLY; root ignores file permission bits, so no chmod).
  ASSERT_TRUE(app_->DatabaseForTesting().Lock().Exec("PRAGMA query_only = 1").ok());
  json refused = Call("POST", "/v1/conversations", {{"customer_id", "C0002"}}, 503);
  EXPECT_EQ(refused["error"]["code"], "unavailable") << refused.dump();
  json msg = Call("POST", "/v1/conversations/" + cid + "/messages", {{"client_msg_id", "s1"}, {"text", "你好"}}, 503);
  EXPECT_EQ(msg["error"]["code"], "unavailable") << msg.dump();
  json sick = Call("GET", "/healthz", nullptr, 503, {});
  EXPECT_EQ(sick["status"], "unhealthy") << sick.dump();
  EXPECT_EQ(sick["storage"]["ok"], false);
  EXPECT_EQ(sick["storage"]["sqlite_code"], "SQLITE_READONLY") << sick.dump();
  EXPECT_NE(sick["storage"]["error"].get<std::string>().find("readonly"), std::string::npos) << sick.dump();
  EXPECT_GE(sick["storage"]["failures"].get<int>(), 2);
  // Reads still work meanwhile.
  Call("GET", "/v1/conversations/" + cid, nullptr, 200);

  // Writable again: the next write heals it.
  ASSERT_TRUE(app_->DatabaseForTesting().Lock().Exec("PRAGMA query_only = 0").ok());
  Call("POST", "/v1/conversations", {{"customer_id", "C0002"}}, 201);
  EXPECT_EQ(Call("GET", "/healthz", nullptr, 200, {})["status"], "ok");

  // With no traffic at all, /healthz proves the recovery itself (a probe write,
  // at most one a second), so that a balancer that took the server out of rotation
  // can bring it back.
  ASSERT_TRUE(app_->DatabaseForTesting().Lock().Exec("PRAGMA query_only = 1").ok());
  Call("POST", "/v1/conversations", {{"customer_id", "C0002"}}, 503);
  Call("GET", "/healthz", nullptr, 503, {});
  ASSERT_TRUE(app_->DatabaseForTesting().Lock().Exec("PRAGMA query_only = 0").ok());
  int status = 0;
  for (int i = 0; i < 30 && status != 200; ++i) {
    std::this_thread::sleep_for(100ms);
    status = Raw("GET", "/healthz", "", {}).status;
  }
  EXPECT_EQ(status, 200);
}

TEST(StorageStartup, NamesTheFileThatCannotBeOpened) {
  fs::path dir = testing::FreshTestDir("hardening_startup");
  fs::create_directories(dir / "kefu.db-wal");  // where SQLite must create its WAL file
  auto a = testing::StartServer(testing::TestConfig(dir));
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(a.status().message().find("kefu.db-wal: Is a directory"), std::string::npos) << a.status().ToString();
  fs::remove_all(dir);
}

// --- /metrics token ---

TEST_F(ServerTest, MetricsOpenByDefault) {
  Start(testing::TestConfig(dir_));
  Raw("GET", "/healthz", "", {});
  http::Response r = Raw("GET", "/metrics", "", {});
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("kefu_http_requests_total"), std::string::npos) << r.body;
}

TEST_F(ServerTest, MetricsTokenRequiresTheBearerToken) {
  Config cfg = testing::TestConfig(dir_);
  cfg.server.metrics_token = "scrape-s3cret";
  Start(cfg);
  for (const Headers& h : std::vector<Headers>{{},
                                              {{"Authorization", "Bearer wrong"}},
                                              {{"Authorization", "Bearer scrape-s3cre"}},
                                              {{"Authorization", "Bearer scrape-s3cretX"}},
                                              {{"Authorization", "scrape-s3cret"}},
                                              {{"Authorization", "Bearer demo-admin-key"}}}) {
    http::Response r = Raw("GET", "/metrics", "", h);
    EXPECT_EQ(r.status, 401) << (h.empty() ? "no header" : h[0].second);
    json body = json::parse(r.body, nullptr, false);
    EXPECT_EQ(body["error"]["code"], "unauthenticated") << r.body;
    EXPECT_EQ(r.body.find("kefu_"), std::string::npos);
  }
  http::Response ok = Raw("GET", "/metrics", "", {{"Authorization", "Bearer scrape-s3cret"}});
  EXPECT_EQ(ok.status, 200);
  EXPECT_NE(ok.body.find("kefu_http_requests_total"), std::string::npos);
  // Health stays open for probes.
  EXPECT_EQ(Raw("GET", "/healthz", "", {}).status, 200);
}

// --- personal data in the agent workspace ---

TEST_F(ServerTest, AgentsSeeMaskedPersonalDataAdminsSeeItInFull) {
  Start(testing::TestConfig(dir_));
  auto login = [&](const std::string& user) {
    json j = Call("POST", "/v1/agent/login", {{"tenant_id", "demo"}, {"username", user}, {"password", "demo1234"}}, 200,
                  kJson);
    return Headers{{"Authorization", "Bearer " + j.value("token", "")}};
  };
  // Personal data of C0001 as the data hub holds it (API key: full).
  json direct = Call("GET", "/v1/customers/C0001/profile", nullptr, 200, kAdmin);
  const std::string phone = direct["demographics"].value("phone", "");
  const std::string email = direct["demographics"].value("email", "");
  ASSERT_EQ(phone, "13812345601");
  ASSERT_FALSE(email.empty());
  json agent = Call("GET", "/v1/agent/customers/C0001", nullptr, 200, login("agent1"));
  const std::string seen = agent.dump();
  EXPECT_EQ(agent["customer"]["phone"], "138****5601") << agent["customer"].dump();
  EXPECT_EQ(agent["profile"]["demographics"]["phone"], "138****5601");
  EXPECT_EQ(seen.find(phone), std::string::npos) << seen;
  EXPECT_EQ(seen.find(email), std::string::npos);
  EXPECT_EQ(agent["customer"]["name"], "张伟");  // the name is needed to serve the customer
  for (const auto& id : agent["profile"]["identities"]) EXPECT_NE(id["value"].get<std::string>().find('*'), std::string::npos) << id.dump();
  // What the agent sees is exactly the masked full view.
  json masked = direct;
  api::pii::MaskPersonalData(masked);
  EXPECT_EQ(agent["profile"]["identities"], masked["identities"]);
  EXPECT_EQ(agent["profile"]["demographics"], masked["demographics"]);

  for (const char* user : {"super", "admin"}) {
    json full = Call("GET", "/v1/agent/customers/C0001", nullptr, 200, login(user));
    EXPECT_EQ(full["customer"]["phone"], phone) << user;
    EXPECT_EQ(full["profile"]["demographics"]["email"], email) << user;
    EXPECT_EQ(full["profile"]["identities"], direct["identities"]) << user;
  }
}

// --- knowledge base: control characters in titles ---

TEST_F(ServerTest, KbImportWithANulInATitleIsRefusedWhole) {
  Start(testing::TestConfig(dir_));
  // JSON: \u0000 in the second entry's title; the first is fine but must not be stored either.
  const std::string file =
      R"([{"id": "kb-fresh-01", "title": "全新条目", "body": "全新内容"},)"
      "\n"
      R"( {"id": "kb-bad-01", "title": "退货\u0000政策", "body": "七天"}])";
  http::Response r = Raw("POST", "/v1/kb/import?format=json", file, kAdmin);
  EXPECT_EQ(r.status, 400) << r.body;
  json err = json::parse(r.body, nullptr, false);
  EXPECT_EQ(err["error"]["code"], "invalid_argument");
  const std::string message = err["error"].value("message", "");
  EXPECT_NE(message.find("line 2"), std::string::npos) << message;
  EXPECT_NE(message.find("退货\\u0000政策"), std::string::npos) << message;
  EXPECT_NE(message.find("nothing was imported"), std::string::npos) << message;
  Call("GET", "/v1/kb/entries/kb-fresh-01", nullptr, 404, kAdmin);
  Call("GET", "/v1/kb/entries/kb-bad-01", nullptr, 404, kAdmin);

  // Markdown with a raw NUL byte, and a single entry with an escape character.
  std::string md = "# 售后\n## 退货";
  md.push_back('\0');
  md += "政策\n\n七天无理由。\n";
  EXPECT_EQ(Raw("POST", "/v1/kb/import?format=md", md, kAdmin).status, 400);
  EXPECT_EQ(Call("PUT", "/v1/kb/entries/kb-esc", {{"title", "标题\x1b[31m"}, {"body", "正文"}}, 400, kAdmin)["error"]["code"],
            "invalid_argument");
  // A clean file still imports.
  json ok = Call("POST", "/v1/kb/import?format=json", json::array({{{"id", "kb-fresh-01"}, {"title", "全新条目"}, {"body", "全新内容"}}}),
                 200, kAdmin);
  EXPECT_EQ(ok["imported"], 1);
}

// --- issue 15, bad input: odd text gets an answer or a clarifying question,
// never a crash or a confident wrong action ---

TEST_F(ServerTest, OddTextIsAnsweredOrClarifiedNeverMisread) {
  Config cfg = testing::TestConfig(dir_);
  cfg.dialogue.require_verified_customer = false;
  Start(cfg);
  auto conv = [&] { return Call("POST", "/v1/conversations", {{"customer_id", "C0001"}}, 201).value("id", ""); };
  auto tools_of = [](const json& reply) {
    std::vector<std::string> names;
    for (const auto& t : reply["meta"].value("tools", json::array())) names.push_back(t.value("name", ""));
    return names;
  };
  // Emoji only: a clarifying question, no tool, no knowledge-base answer.
  for (const char* text : {"😀😀😀", "🙄", "👀❓"}) {
    json r = Ask(conv(), text);
    EXPECT_FALSE(r.value("text", "").empty()) << text;
    EXPECT_TRUE(r["meta"]["citations"].empty()) << text << " " << r.dump();
    EXPECT_TRUE(tools_of(r).empty()) << text << " " << r.dump();
  }
  // Zero-width characters inside words read as the words.
  json zw = Ask(conv(), "退\u200b款\u200d多久\u2060到账\ufeff");
  ASSERT_FALSE(zw["meta"]["citations"].empty()) << zw.dump();
  EXPECT_EQ(zw["meta"]["citations"][0]["id"].get<std::string>().rfind("kb-refund-", 0), 0u) << zw.dump();
  // Full-width order number and letters: the customer's own order.
  json fw = Ask(conv(), "ＳＯ２０２６１１０１０００１到哪了");
  EXPECT_EQ(fw["meta"].value("order_id", ""), "SO202611010001") << fw.dump();
  // Mixed scripts.
  json mixed = Ask(conv(), "我的 order SO202611010001 咋还没到 bro");
  EXPECT_EQ(mixed["meta"].value("order_id", ""), "SO202611010001") << mixed.dump();
  // 4,000 characters (the limit) with the question buried in it: answered or
  // clarified, in time; one more character is refused with a Chinese message.
  std::string ramble;
  while (utf8::Length(ramble) < 3990) ramble += "我想说一下情况。";
  std::string at_limit = std::string(utf8::TruncateBytes(ramble, 3990 * 3));
  while (utf8::Length(at_limit) < 3990) at_limit += "啊";
  at_limit += "退款多久到账？";
  while (utf8::Length(at_limit) < 4000) at_limit += "？";
  ASSERT_EQ(utf8::Length(at_limit), 4000u);
  json longest = Ask(conv(), at_limit);
  EXPECT_FALSE(longest.value("text", "").empty());
  EXPECT_TRUE(tools_of(longest).empty()) << longest.dump();  // no order tool taken on a hunch
  json over = Call("POST", "/v1/conversations/" + conv() + "/messages",
                   {{"client_msg_id", "over"}, {"text", at_limit + "啊"}}, 400);
  EXPECT_NE(over.dump().find("4000"), std::string::npos) << over.dump();
}

}  // namespace
}  // namespace kefu
