// LoginLimiter on a FakeClock: the per-address sliding window, the
// per-account lockout (doubling, cap, reset on success, forgetting), their
// independence, reservations of attempts in flight, and bounded memory. Also
// ClientAddress (port stripping, IPv6 /64, trusted proxies).
#include "agents/login_limiter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kefu::agents {
namespace {

using Scope = LoginLimiter::Scope;

class LoginLimiterTest : public ::testing::Test {
 protected:
  LoginLimits Limits() {
    LoginLimits l;
    l.ip_max_failures = 20;
    l.ip_window_ms = 300'000;
    l.account_max_failures = 5;
    l.lockout_ms = 30'000;
    l.lockout_max_ms = 900'000;
    l.max_tracked = 1000;
    return l;
  }
  // One whole attempt: false when refused before hashing.
  static bool Attempt(LoginLimiter& l, const std::string& ip, const std::string& account, bool success) {
    if (!l.Begin(ip, account).allowed) return false;
    l.Finish(ip, account, success);
    return true;
  }
  FakeClock clock_;
};

TEST_F(LoginLimiterTest, FiveFailuresLockTheAccountAndEachFurtherFailureDoublesUpToTheCap) {
  LoginLimiter l(clock_, Limits());
  const std::string acct = "demo\nagent1";
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(l.Begin("1.1.1.1", acct).allowed) << i;
    EXPECT_TRUE(l.Finish("1.1.1.1", acct, false).allowed) << "no limit reached yet at failure " << i + 1;
  }
  ASSERT_TRUE(l.Begin("1.1.1.1", acct).allowed);
  auto reached = l.Finish("1.1.1.1", acct, false);
  EXPECT_FALSE(reached.allowed);
  EXPECT_EQ(reached.scope, Scope::kAccount);
  EXPECT_EQ(reached.retry_after_ms, 30'000);

  // Locked: refused (right password or not), from any address, with the time left.
  auto d = l.Begin("2.2.2.2", acct);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.scope, Scope::kAccount);
  EXPECT_EQ(d.retry_after_ms, 30'000);
  clock_.AdvanceMs(10'000);
  EXPECT_EQ(l.Begin("1.1.1.1", acct).retry_after_ms, 20'000);
  EXPECT_EQ(LoginLimiter::RetryAfterSeconds(l.Begin("1.1.1.1", acct).retry_after_ms), 20);

  // After each lockout, one more failure locks again for twice as long: 60, 120, ... capped at 900 s.
  std::vector<int64_t> expected = {60'000, 120'000, 240'000, 480'000, 900'000, 900'000};
  clock_.AdvanceMs(20'000);
  for (int64_t want : expected) {
    ASSERT_TRUE(l.Begin("1.1.1.1", acct).allowed);
    auto r = l.Finish("1.1.1.1", acct, false);
    ASSERT_FALSE(r.allowed);
    EXPECT_EQ(r.retry_after_ms, want);
    clock_.AdvanceMs(want - 1);
    EXPECT_FALSE(l.Begin("1.1.1.1", acct).allowed) << "still locked 1 ms before the end of " << want;
    clock_.AdvanceMs(1);
  }
}

TEST_F(LoginLimiterTest, SuccessResetsTheAccountStreak) {
  LoginLimiter l(clock_, Limits());
  const std::string acct = "demo\nagent1";
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(Attempt(l, "1.1.1.1", acct, false));
  ASSERT_TRUE(Attempt(l, "1.1.1.1", acct, true));
  // A fresh streak: four more failures are allowed before the fifth locks.
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(l.Finish("1.1.1.1", acct, (l.Begin("1.1.1.1", acct), false)).allowed);
  EXPECT_FALSE(l.Finish("1.1.1.1", acct, (l.Begin("1.1.1.1", acct), false)).allowed);

  // And after a lockout has escalated, a success starts over at 30 s.
  clock_.AdvanceMs(30'000);
  ASSERT_TRUE(Attempt(l, "1.1.1.1", acct, false));  // 60 s
  clock_.AdvanceMs(60'000);
  ASSERT_TRUE(Attempt(l, "1.1.1.1", acct, true));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(Attempt(l, "1.1.1.1", acct, false));
  ASSERT_TRUE(l.Begin("1.1.1.1", acct).allowed);
  EXPECT_EQ(l.Finish("1.1.1.1", acct, false).retry_after_ms, 30'000);
}

TEST_F(LoginLimiterTest, AStreakIsForgottenAfterTheCapWithoutFailures) {
  LoginLimiter l(clock_, Limits());
  const std::string acct = "demo\nagent1";
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Attempt(l, "1.1.1.1", acct, false));  // locked 30 s
  clock_.AdvanceMs(30'000 + 900'000);                                            // lockout end + 15 min
  // Back to five tries before a 30 s lockout (not one try and 60 s).
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(l.Finish("9.9.9.9", acct, (l.Begin("9.9.9.9", acct), false)).allowed);
  ASSERT_TRUE(l.Begin("9.9.9.9", acct).allowed);
  EXPECT_EQ(l.Finish("9.9.9.9", acct, false).retry_after_ms, 30'000);
}

TEST_F(LoginLimiterTest, TwentyFailuresFromOneAddressInFiveMinutesBlockItForEveryAccount) {
  LoginLimiter l(clock_, Limits());
  for (int i = 0; i < 19; ++i) {
    ASSERT_TRUE(Attempt(l, "1.1.1.1", "demo\nguess" + std::to_string(i), false)) << i;
    clock_.AdvanceMs(1'000);
  }
  ASSERT_TRUE(l.Begin("1.1.1.1", "demo\nguess19").allowed);
  auto reached = l.Finish("1.1.1.1", "demo\nguess19", false);
  EXPECT_FALSE(reached.allowed);
  EXPECT_EQ(reached.scope, Scope::kIp);
  // The first failure was at t=0 and leaves the window at t=300 s; now t=19 s.
  EXPECT_EQ(reached.retry_after_ms, 300'000 - 19'000);

  auto d = l.Begin("1.1.1.1", "demo\nagent1");  // an untouched account, maybe the right password: still refused
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.scope, Scope::kIp);
  EXPECT_EQ(d.retry_after_ms, 281'000);
  // Another address is unaffected.
  EXPECT_TRUE(Attempt(l, "2.2.2.2", "demo\nagent1", true));
  // A success from the blocked address does not reset it (and cannot even be tried).
  // Sliding window: when the oldest failure leaves, one more attempt is allowed.
  clock_.AdvanceMs(281'000);
  ASSERT_TRUE(l.Begin("1.1.1.1", "demo\nagent1").allowed);
  l.Finish("1.1.1.1", "demo\nagent1", true);
  ASSERT_TRUE(Attempt(l, "1.1.1.1", "demo\nguess20", false));  // 20 in the window again
  EXPECT_FALSE(l.Begin("1.1.1.1", "demo\nagent1").allowed);
  EXPECT_EQ(l.Begin("1.1.1.1", "demo\nagent1").retry_after_ms, 1'000);  // the t=1 s failure leaves next
}

TEST_F(LoginLimiterTest, AddressAndAccountLimitsAreIndependent) {
  LoginLimiter l(clock_, Limits());
  // Account locked by attempts from many addresses: none of those addresses is limited.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Attempt(l, "10.0.0." + std::to_string(i), "demo\nagent1", false));
  EXPECT_FALSE(l.Begin("10.0.0.9", "demo\nagent1").allowed);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(Attempt(l, "10.0.0." + std::to_string(i), "demo\nagent2", true));
  // An address blocked by failures on many accounts: those accounts are not locked elsewhere.
  // (four failures on each of five accounts: none of them reaches its own limit).
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Attempt(l, "6.6.6.6", "demo\nu" + std::to_string(i % 5), false));
  EXPECT_EQ(l.Begin("6.6.6.6", "demo\nagent3").scope, Scope::kIp);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(Attempt(l, "7.7.7.7", "demo\nu" + std::to_string(i), true));
  // Same username in another tenant is another account.
  EXPECT_TRUE(Attempt(l, "8.8.8.8", "other\nagent1", true));
}

TEST_F(LoginLimiterTest, AttemptsInFlightCountSoABurstCannotOvershoot) {
  LoginLimiter l(clock_, Limits());
  const std::string acct = "demo\nagent1";
  int allowed = 0;
  for (int i = 0; i < 50; ++i) allowed += l.Begin("1.1.1." + std::to_string(i), acct).allowed;
  EXPECT_EQ(allowed, 5) << "five concurrent guesses at most, whatever their addresses";
  auto d = l.Begin("1.1.1.99", acct);
  EXPECT_EQ(d.scope, Scope::kAccount);
  EXPECT_EQ(d.retry_after_ms, 1'000);
  // Verdicts: all five fail -> locked.
  for (int i = 0; i < 4; ++i) l.Finish("1.1.1." + std::to_string(i), acct, false);
  EXPECT_FALSE(l.Finish("1.1.1.4", acct, false).allowed);
  EXPECT_EQ(l.Begin("1.1.1.5", acct).retry_after_ms, 30'000);

  // An abandoned attempt (server busy) frees its reservation and counts as nothing.
  ASSERT_TRUE(l.Begin("2.2.2.2", "demo\nagent2").allowed);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(l.Begin("2.2.2.2", "demo\nagent2").allowed);
  EXPECT_FALSE(l.Begin("2.2.2.2", "demo\nagent2").allowed);
  for (int i = 0; i < 5; ++i) l.Abandon("2.2.2.2", "demo\nagent2");
  EXPECT_EQ(l.TrackedAccounts(), 1u) << "agent2 left no trace";
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(Attempt(l, "2.2.2.2", "demo\nagent2", false));

  // The address too: 20 in flight from one address, the 21st is refused.
  LoginLimiter m(clock_, Limits());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(m.Begin("3.3.3.3", "demo\nx" + std::to_string(i)).allowed);
  EXPECT_EQ(m.Begin("3.3.3.3", "demo\nx20").scope, Scope::kIp);
}

TEST_F(LoginLimiterTest, ExpiredEntriesAreEvictedAndTrackedKeysAreCapped) {
  LoginLimits limits = Limits();
  limits.max_tracked = 100;
  LoginLimiter l(clock_, limits);
  for (int i = 0; i < 1000; ++i)
    ASSERT_TRUE(Attempt(l, "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256),
                        "demo\nuser" + std::to_string(i), false));
  EXPECT_LE(l.TrackedIps(), 100u);
  EXPECT_LE(l.TrackedAccounts(), 100u);
  // The newest are kept: the last account still remembers its failure.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Attempt(l, "1.1.1.1", "demo\nuser999", false));
  ASSERT_TRUE(l.Begin("1.1.1.1", "demo\nuser999").allowed);
  EXPECT_FALSE(l.Finish("1.1.1.1", "demo\nuser999", false).allowed) << "5th failure of user999 locks it";

  // Once everything has expired (window and streaks), the next call drops it all.
  clock_.AdvanceMs(30'000 + 900'000);
  ASSERT_TRUE(Attempt(l, "2.2.2.2", "demo\nfresh", true));
  EXPECT_EQ(l.TrackedAccounts(), 0u);
  EXPECT_LE(l.TrackedIps(), 1u);

  // Successes alone leave nothing behind.
  LoginLimiter m(clock_, Limits());
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(Attempt(m, "1.2.3.4", "demo\nok" + std::to_string(i), true));
  EXPECT_EQ(m.TrackedAccounts(), 0u);
  EXPECT_EQ(m.TrackedIps(), 0u);
  // Refused attempts create nothing either.
  LoginLimiter n(clock_, Limits());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Attempt(n, "5.5.5.5", "demo\nz" + std::to_string(i), false));
  size_t before = n.TrackedAccounts();
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(n.Begin("5.5.5.5", "demo\nnew" + std::to_string(i)).allowed);
  EXPECT_EQ(n.TrackedAccounts(), before);
}

TEST(ClientAddress, StripsThePortAndBucketsIpv6) {
  EXPECT_EQ(ClientAddress("127.0.0.1:54321"), "127.0.0.1");
  EXPECT_EQ(ClientAddress("203.0.113.9:80"), "203.0.113.9");
  EXPECT_EQ(ClientAddress("::1:54321"), "::/64");
  EXPECT_EQ(ClientAddress("[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:443"), "2001:db8:1:2::/64");
  EXPECT_EQ(ClientAddress("2001:db8:1:2:aaaa:bbbb:cccc:dddd:443"), "2001:db8:1:2::/64");
  EXPECT_EQ(ClientAddress("2001:db8:1:2:ffff::1:443"), ClientAddress("2001:db8:1:2:1::2:443"));
  EXPECT_EQ(ClientAddress("::ffff:198.51.100.7:1234"), "198.51.100.7");
  EXPECT_EQ(ClientAddress(""), "");
}

TEST(ClientAddress, XForwardedForOnlyFromTrustedProxies) {
  std::unordered_set<std::string> trusted;
  std::string bad;
  ASSERT_TRUE(ParseTrustedProxies(" 10.0.0.1, 10.0.0.2 ,::1", trusted, bad));
  EXPECT_EQ(trusted.size(), 3u);
  EXPECT_FALSE(ParseTrustedProxies("10.0.0.1, proxy.local", trusted, bad));
  EXPECT_EQ(bad, "proxy.local");
  ASSERT_TRUE(ParseTrustedProxies("10.0.0.1,10.0.0.2", trusted, bad));

  // Not from a trusted proxy: the header is ignored (anyone can send it).
  EXPECT_EQ(ClientAddress("198.51.100.7:5000", "1.2.3.4", trusted), "198.51.100.7");
  EXPECT_EQ(ClientAddress("198.51.100.7:5000", "1.2.3.4"), "198.51.100.7");
  // From one: the right-most entry that is not a trusted proxy.
  EXPECT_EQ(ClientAddress("10.0.0.1:5000", "1.2.3.4", trusted), "1.2.3.4");
  EXPECT_EQ(ClientAddress("10.0.0.1:5000", "6.6.6.6, 1.2.3.4, 10.0.0.2", trusted), "1.2.3.4")
      << "a client-supplied left part cannot choose its address";
  EXPECT_EQ(ClientAddress("10.0.0.1:5000", "junk, 1.2.3.4", trusted), "1.2.3.4");
  EXPECT_EQ(ClientAddress("10.0.0.1:5000", "1.2.3.4, junk", trusted), "10.0.0.1") << "garbage: the proxy itself";
  EXPECT_EQ(ClientAddress("10.0.0.1:5000", "", trusted), "10.0.0.1");
  EXPECT_EQ(ClientAddress("10.0.0.1:5000", "2001:db8::5", trusted), "2001:db8::/64");
}

}  // namespace
}  // namespace kefu::agents
