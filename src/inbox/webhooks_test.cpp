// Webhooks against a real receiving HTTP server on port 0 and real SQLite;
// retries are driven by a FakeClock and DeliverDue(), so nothing sleeps
// through a backoff.
#include "inbox/url.h"
#include "inbox/webhooks.h"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <thread>

#include "api/tenants.h"
#include "app/schema.h"
#include "http/server.h"
#include "inbox/message_center.h"

namespace kefu::inbox {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A receiving app: answers each POST /hook with the next scripted status
// (200 once the script is used up) and records what it got.
class Receiver {
 public:
  struct Got {
    std::string body;
    std::string signature;
    std::string timestamp;
    std::string idempotency_key;
    std::string event;
    int answered = 0;
  };

  Receiver() : server_(Settings(), metrics_) {
    server_.Route("POST", "/hook", [this](http::Request&& req, http::Responder r) {
      std::lock_guard<std::mutex> lock(mu_);
      Got g{req.body,
            req.Header("X-Kefu-Signature"),
            req.Header("X-Kefu-Timestamp"),
            req.Header("Idempotency-Key"),
            req.Header("X-Kefu-Event"),
            200};
      if (!script_.empty()) {
        g.answered = script_.front();
        script_.pop_front();
      }
      got_.push_back(g);
      if (g.answered < 0) {  // never answer: the sender must time out
        hung_.push_back(r);
        return;
      }
      http::Response resp;
      resp.status = g.answered;
      resp.body = "{}";
      if (g.answered == 429) resp.headers.emplace_back("Retry-After", "120");
      r.Send(std::move(resp));
    });
    EXPECT_TRUE(server_.Start().ok());
  }
  ~Receiver() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& r : hung_) r.Send(http::Response{});
    }
    server_.Stop();
  }

  void Script(std::initializer_list<int> statuses) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.assign(statuses.begin(), statuses.end());
  }
  std::vector<Got> Requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return got_;
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(server_.port()) + "/hook"; }

 private:
  static http::ServerSettings Settings() {
    http::ServerSettings s;
    s.port = 0;
    s.shutdown_grace_ms = 200;
    return s;
  }

  metrics::Registry metrics_;
  http::Server server_;
  std::mutex mu_;
  std::deque<int> script_;             // GUARDED_BY(mu_)
  std::vector<Got> got_;               // GUARDED_BY(mu_)
  std::vector<http::Responder> hung_;  // GUARDED_BY(mu_)
};

class WebhooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kefu_webhooks_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    OpenDb();
    api::TenantDirectory tenants(*db_, clock_);
    ASSERT_TRUE(tenants.Ensure("t1", "Shop 1", "w1").ok());
    ASSERT_TRUE(tenants.Ensure("t2", "Shop 2", "w2").ok());
    settings_.max_attempts = 5;
    settings_.initial_backoff_ms = 1000;
    settings_.max_backoff_ms = 60'000;
    settings_.timeout_ms = 2000;
    settings_.workers = 2;
    settings_.poll_ms = 20;
    settings_.jitter_seed = 42;
    settings_.allow_private = true;  // the receivers listen on 127.0.0.1
    MakeServices();
  }
  void TearDown() override {
    center_.reset();
    hooks_.reset();
    db_.reset();
    fs::remove_all(dir_);
  }

  void OpenDb() {
    auto db = storage::OpenWithSchema((dir_ / "kefu.db").string(), app::Schema());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
  }
  void MakeServices() {
    hooks_ = std::make_unique<Webhooks>(*db_, clock_, metrics_, settings_);
    center_ = std::make_unique<MessageCenter>(*db_, clock_, metrics_, hooks_.get());
  }

  InboxMessage SendOne(const std::string& tenant = "t1", const std::string& title = "补偿券已发放") {
    SendRequest req;
    req.tenant_id = tenant;
    req.customer_id = "C0001";
    req.kind = "remedy";
    req.title = title;
    req.body = "您的订单延误，我们已为您发放 20 元无门槛券。";
    auto r = center_->Send(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->message : InboxMessage{};
  }

  std::vector<Delivery> Deliveries(const std::string& status = "", const std::string& tenant = "t1") {
    auto d = hooks_->ListDeliveries(tenant, status, "", 100);
    EXPECT_TRUE(d.ok());
    return d.ok() ? *d : std::vector<Delivery>{};
  }

  fs::path dir_;
  FakeClock clock_;
  metrics::Registry metrics_;
  WebhookSettings settings_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<Webhooks> hooks_;
  std::unique_ptr<MessageCenter> center_;
};

TEST_F(WebhooksTest, DeliversSignedEventReceiverCanVerify) {
  Receiver rx;
  auto ep = hooks_->CreateEndpoint("t1", rx.Url(), {"*"}, "", "app backend");
  ASSERT_TRUE(ep.ok()) << ep.status().ToString();
  ASSERT_TRUE(ep->secret.starts_with("whsec_"));
  InboxMessage m = SendOne();
  auto pending = Deliveries("pending");
  ASSERT_EQ(pending.size(), 1u);

  EXPECT_EQ(hooks_->DeliverDue(), 1);
  auto got = rx.Requests();
  ASSERT_EQ(got.size(), 1u);
  // What a receiver does: recompute the HMAC over timestamp + "." + raw body.
  EXPECT_EQ(got[0].signature, SignPayload(ep->secret, got[0].timestamp, got[0].body));
  EXPECT_NE(got[0].signature, SignPayload("wrong-secret-0123456789", got[0].timestamp, got[0].body));
  EXPECT_EQ(got[0].timestamp, std::to_string(clock_.NowMs() / 1000));
  EXPECT_EQ(got[0].idempotency_key, pending[0].id);
  EXPECT_EQ(got[0].event, "inbox.message.created");
  json body = json::parse(got[0].body);
  EXPECT_EQ(body["type"], "inbox.message.created");
  EXPECT_EQ(body["tenant_id"], "t1");
  EXPECT_EQ(body["data"]["message"]["id"], m.id);
  EXPECT_EQ(body["data"]["message"]["title"], "补偿券已发放");

  auto d = hooks_->GetDelivery("t1", pending[0].id);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->status, "delivered");
  EXPECT_EQ(d->attempts, 1);
  EXPECT_EQ(d->last_status, 200);
  // Nothing more to do.
  EXPECT_EQ(hooks_->DeliverDue(), 0);
  EXPECT_EQ(rx.Requests().size(), 1u);
  EXPECT_NE(metrics_.Render().find("kefu_webhook_deliveries_total{outcome=\"delivered\"} 1"), std::string::npos);
}

TEST_F(WebhooksTest, RetriesWithGrowingBackoffThenDeliversOnce) {
  Receiver rx;
  rx.Script({500, 502, 503, 200});
  ASSERT_TRUE(hooks_->CreateEndpoint("t1", rx.Url(), {"inbox.message.created"}, "s3cret-s3cret-s3cret", "").ok());
  SendOne();
  std::vector<int64_t> delays;
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(hooks_->DeliverDue(), 1) << "attempt " << i + 1;
    auto d = Deliveries();
    ASSERT_EQ(d.size(), 1u);
    ASSERT_EQ(d[0].status, "pending");
    EXPECT_EQ(d[0].attempts, i + 1);
    ASSERT_TRUE(d[0].last_error.has_value());
    delays.push_back(d[0].next_attempt_ms - clock_.NowMs());
    // Not due yet: nothing is attempted.
    clock_.AdvanceMs(delays.back() - 1);
    EXPECT_EQ(hooks_->DeliverDue(), 0);
    clock_.AdvanceMs(1);
  }
  ASSERT_EQ(hooks_->DeliverDue(), 1);
  auto d = Deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].status, "delivered");
  EXPECT_EQ(d[0].attempts, 4);
  // Exponential: [500, 1000], [1000, 2000], [2000, 4000] with jitter; never shrinking.
  ASSERT_EQ(delays.size(), 3u);
  EXPECT_GE(delays[0], 500);
  EXPECT_LE(delays[0], 1000);
  EXPECT_GE(delays[1], 1000);
  EXPECT_LE(delays[1], 2000);
  EXPECT_GE(delays[2], 2000);
  EXPECT_LE(delays[2], 4000);
  EXPECT_LT(delays[0], delays[2]);
  auto got = rx.Requests();
  ASSERT_EQ(got.size(), 4u);
  int successes = 0;
  for (const auto& g : got) {
    EXPECT_EQ(g.idempotency_key, d[0].id);  // the same key on every retry
    successes += g.answered == 200;
  }
  EXPECT_EQ(successes, 1);
  EXPECT_NE(metrics_.Render().find("kefu_webhook_retries_total 3"), std::string::npos);
}

TEST_F(WebhooksTest, PermanentFailureIsDeadLetterUntilReplayed) {
  Receiver rx;
  rx.Script({400});
  ASSERT_TRUE(hooks_->CreateEndpoint("t1", rx.Url(), {"*"}, "", "").ok());
  SendOne();
  ASSERT_EQ(hooks_->DeliverDue(), 1);
  auto dead = Deliveries("dead");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].attempts, 1);
  EXPECT_EQ(dead[0].last_status, 400);
  // Dead letters are not retried by time passing.
  clock_.AdvanceMs(24 * 3600 * 1000LL);
  EXPECT_EQ(hooks_->DeliverDue(), 0);

  // Another tenant cannot see or replay it.
  EXPECT_TRUE(Deliveries("", "t2").empty());
  EXPECT_EQ(hooks_->Replay("t2", dead[0].id).status().code(), ErrorCode::kNotFound);

  auto replayed = hooks_->Replay("t1", dead[0].id);
  ASSERT_TRUE(replayed.ok()) << replayed.status().ToString();
  EXPECT_EQ(replayed->status, "pending");
  EXPECT_EQ(replayed->attempts, 0);
  ASSERT_EQ(hooks_->DeliverDue(), 1);
  auto d = hooks_->GetDelivery("t1", dead[0].id);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->status, "delivered");
  // Replaying something that is not dead is a conflict.
  EXPECT_EQ(hooks_->Replay("t1", dead[0].id).status().code(), ErrorCode::kConflict);
  auto got = rx.Requests();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].idempotency_key, got[1].idempotency_key);
  EXPECT_EQ(got[0].body, got[1].body);
}

TEST_F(WebhooksTest, RetryableFailuresBecomeDeadAfterMaxAttemptsAndReplayAll) {
  Receiver rx;
  rx.Script({500, 500, 500, 500, 500, 500, 500, 500, 500, 500});
  ASSERT_TRUE(hooks_->CreateEndpoint("t1", rx.Url(), {"*"}, "", "").ok());
  SendOne("t1", "一");
  SendOne("t1", "二");
  for (int i = 0; i < settings_.max_attempts; ++i) {
    EXPECT_EQ(hooks_->DeliverDue(), 2);
    clock_.AdvanceMs(settings_.max_backoff_ms);
  }
  EXPECT_EQ(Deliveries("dead").size(), 2u);
  EXPECT_EQ(rx.Requests().size(), 10u);
  auto n = hooks_->ReplayDead("t1", "");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(hooks_->DeliverDue(), 2);
  EXPECT_EQ(Deliveries("delivered").size(), 2u);
}

TEST_F(WebhooksTest, TimeoutAndRefusedConnectionAreRetried) {
  settings_.timeout_ms = 300;
  MakeServices();
  Receiver rx;
  rx.Script({-1});  // the first request is never answered
  ASSERT_TRUE(hooks_->CreateEndpoint("t1", rx.Url(), {"*"}, "", "").ok());
  SendOne();
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(hooks_->DeliverDue(), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  auto d = Deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].status, "pending");
  EXPECT_FALSE(d[0].last_status.has_value());
  EXPECT_NE(d[0].last_error->find("timed out"), std::string::npos) << *d[0].last_error;
  clock_.AdvanceMs(settings_.max_backoff_ms);
  ASSERT_EQ(hooks_->DeliverDue(), 1);
  EXPECT_EQ(Deliveries("delivered").size(), 1u);

  // Nobody listening at all.
  int closed_port;
  {
    Receiver gone;
    closed_port = std::stoi(gone.Url().substr(17, gone.Url().find('/', 17) - 17));
  }
  ASSERT_TRUE(
      hooks_->CreateEndpoint("t2", "http://127.0.0.1:" + std::to_string(closed_port) + "/hook", {"*"}, "", "").ok());
  SendOne("t2");
  ASSERT_EQ(hooks_->DeliverDue(), 1);
  auto d2 = Deliveries("pending", "t2");
  ASSERT_EQ(d2.size(), 1u);
  EXPECT_EQ(d2[0].attempts, 1);
  EXPECT_NE(d2[0].last_error->find("connecting"), std::string::npos) << *d2[0].last_error;
}

TEST_F(WebhooksTest, RetryAfterIsHonoured) {
  Receiver rx;
  rx.Script({429});
  ASSERT_TRUE(hooks_->CreateEndpoint("t1", rx.Url(), {"*"}, "", "").ok());
  SendOne();
  ASSERT_EQ(hooks_->DeliverDue(), 1);
  auto d = Deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].status, "pending");
  EXPECT_EQ(d[0].next_attempt_ms - clock_.NowMs(), 60'000);  // Retry-After 120 s, capped by max_backoff_ms
}

TEST_F(WebhooksTest, PendingDeliveriesSurviveRestart) {
  Receiver rx;
  ASSERT_TRUE(hooks_->CreateEndpoint("t1", rx.Url(), {"*"}, "", "").ok());
  SendOne("t1", "一");
  SendOne("t1", "二");
  // "Crash": drop everything without delivering, reopen the database.
  center_.reset();
  hooks_.reset();
  db_.reset();
  OpenDb();
  MakeServices();
  EXPECT_EQ(Deliveries("pending").size(), 2u);
  hooks_->Start();  // the real dispatcher thread
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (rx.Requests().size() < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  hooks_->Stop();
  EXPECT_EQ(rx.Requests().size(), 2u);
  EXPECT_EQ(Deliveries("delivered").size(), 2u);
}

TEST_F(WebhooksTest, DispatcherWakesOnNewEvents) {
  Receiver rx;
  settings_.poll_ms = 60'000;  // only Notify() can wake it in time
  MakeServices();
  ASSERT_TRUE(hooks_->CreateEndpoint("t1", rx.Url(), {"*"}, "", "").ok());
  hooks_->Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let it go to sleep
  SendOne();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (rx.Requests().empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  hooks_->Stop();
  EXPECT_EQ(rx.Requests().size(), 1u);
}

TEST_F(WebhooksTest, EventFilterTenantIsolationAndDelete) {
  Receiver rx1, rx2;
  auto ep1 = hooks_->CreateEndpoint("t1", rx1.Url(), {"inbox.message.read", "inbox.message.acked"}, "", "");
  ASSERT_TRUE(ep1.ok());
  ASSERT_TRUE(hooks_->CreateEndpoint("t2", rx2.Url(), {"*"}, "", "").ok());
  InboxMessage m = SendOne("t1");
  EXPECT_TRUE(Deliveries().empty());  // not subscribed to created
  ASSERT_TRUE(center_->Ack("t1", "C0001", m.id).ok());
  auto d = Deliveries();
  ASSERT_EQ(d.size(), 2u);  // read (implied by ack) and acked
  EXPECT_EQ(hooks_->DeliverDue(), 2);
  EXPECT_EQ(rx1.Requests().size(), 2u);
  EXPECT_TRUE(rx2.Requests().empty());
  // Ack again: no new event.
  ASSERT_TRUE(center_->Ack("t1", "C0001", m.id).ok());
  EXPECT_EQ(Deliveries().size(), 2u);

  auto list2 = hooks_->ListEndpoints("t2");
  ASSERT_TRUE(list2.ok());
  ASSERT_EQ(list2->size(), 1u);
  EXPECT_EQ(hooks_->DeleteEndpoint("t2", ep1->id).code(), ErrorCode::kNotFound);
  // Deleting cancels what is still pending.
  SendOne("t2");
  ASSERT_EQ(Deliveries("pending", "t2").size(), 1u);
  ASSERT_TRUE(hooks_->DeleteEndpoint("t2", (*list2)[0].id).ok());
  EXPECT_EQ(Deliveries("cancelled", "t2").size(), 1u);
  EXPECT_EQ(hooks_->DeliverDue(), 0);
  EXPECT_TRUE(hooks_->ListEndpoints("t2")->empty());
}

TEST_F(WebhooksTest, RejectsBadEndpoints) {
  EXPECT_EQ(hooks_->CreateEndpoint("t1", "ftp://x/y", {"*"}, "", "").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(hooks_->CreateEndpoint("t1", "http://", {"*"}, "", "").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(hooks_->CreateEndpoint("t1", "http://u:p@h/x", {"*"}, "", "").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(hooks_->CreateEndpoint("t1", "http://h:99999/x", {"*"}, "", "").status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(hooks_->CreateEndpoint("t1", "http://h/x", {"order.paid"}, "", "").status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(hooks_->CreateEndpoint("t1", "http://h/x", {}, "", "").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(hooks_->CreateEndpoint("t1", "http://h/x", {"*"}, "short", "").status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_TRUE(hooks_->CreateEndpoint("t1", "https://[::1]:8443/a?b=c", {"*"}, "", "").ok());
}

TEST(WebhookTargets, PrivateAddressesAndHosts) {
  for (const char* ip : {"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
                         "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fd00::1",
                         "fc12::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1"})
    EXPECT_TRUE(IsPrivateAddress(boost::asio::ip::make_address(ip))) << ip;
  for (const char* ip : {"8.8.8.8", "172.32.0.1", "192.169.0.1", "100.128.0.1", "1.1.1.1", "2001:4860:4860::8888",
                         "::ffff:8.8.8.8"})
    EXPECT_FALSE(IsPrivateAddress(boost::asio::ip::make_address(ip))) << ip;
  EXPECT_TRUE(IsPrivateHost("localhost"));
  EXPECT_TRUE(IsPrivateHost("LocalHost."));
  EXPECT_TRUE(IsPrivateHost("api.localhost"));
  EXPECT_TRUE(IsPrivateHost("127.0.0.1"));
  EXPECT_TRUE(IsPrivateHost("::1"));
  EXPECT_FALSE(IsPrivateHost("hooks.example.com")) << "names are checked after resolution";
  EXPECT_FALSE(IsPrivateHost("93.184.216.34"));
}

TEST_F(WebhooksTest, PrivateTargetsAreRefusedUnlessAllowed) {
  settings_.allow_private = false;
  MakeServices();
  for (const char* url : {"http://127.0.0.1:9/hook", "http://localhost/hook", "https://169.254.169.254/latest/meta-data",
                          "http://[::1]:8080/x", "http://10.0.0.5/x", "http://[::ffff:192.168.0.1]/x"}) {
    auto e = hooks_->CreateEndpoint("t1", url, {"*"}, "", "");
    ASSERT_FALSE(e.ok()) << url;
    EXPECT_EQ(e.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(e.status().message().find("webhook_allow_private"), std::string::npos) << e.status().message();
  }
  EXPECT_TRUE(hooks_->CreateEndpoint("t1", "https://hooks.example.com/kefu", {"*"}, "", "").ok());
  // At delivery the resolved address is checked: nothing is sent to a private one.
  Receiver rx;
  auto transport = MakeBeastTransport(/*allow_private=*/false);
  PostOutcome out = transport->Post(rx.Url(), {}, "{}", 2000);
  EXPECT_EQ(out.status, 0);
  EXPECT_NE(out.error.find("private"), std::string::npos) << out.error;
  EXPECT_TRUE(rx.Requests().empty());
  PostOutcome allowed = MakeBeastTransport(/*allow_private=*/true)->Post(rx.Url(), {}, "{}", 2000);
  EXPECT_EQ(allowed.status, 200) << allowed.error;
}

TEST(BackoffTest, ExponentialWithJitterAndCap) {
  WebhookSettings s;
  s.initial_backoff_ms = 10'000;
  s.max_backoff_ms = 3'600'000;
  EXPECT_EQ(BackoffMs(s, 1, 0.0), 5'000);
  EXPECT_EQ(BackoffMs(s, 1, 1.0), 10'000);
  EXPECT_EQ(BackoffMs(s, 2, 1.0), 20'000);
  EXPECT_EQ(BackoffMs(s, 4, 1.0), 80'000);
  EXPECT_EQ(BackoffMs(s, 20, 1.0), 3'600'000);
  EXPECT_EQ(BackoffMs(s, 20, 0.0), 1'800'000);
  // Below the cap, the shortest next delay is never shorter than the longest previous one.
  for (int a = 1; a < 9; ++a) EXPECT_LE(BackoffMs(s, a, 1.0), BackoffMs(s, a + 1, 0.0)) << a;
}

}  // namespace
}  // namespace kefu::inbox
