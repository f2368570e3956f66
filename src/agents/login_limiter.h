// Login throttling for POST /v1/agent/login (docs/agents.md, "Login
// throttling"). Pure: no HTTP, no SQL, time from an injected Clock.
//
// Two independent limits, checked before any password is hashed:
//  - per client address: at most `ip_max_failures` failed logins in a sliding
//    window of `ip_window_ms`; over it, every login from the address (right
//    password or not) is refused until the oldest failure leaves the window.
//    A success does not reset it (one valid account must not launder the
//    failures of guessing at others).
//  - per account (tenant + username, whether or not it exists, so a lockout
//    reveals nothing): `account_max_failures` consecutive failures lock it for
//    `lockout_ms`; every further failure after a lockout, with no success in
//    between, locks it again for twice as long, up to `lockout_max_ms`. A
//    success resets the account; a streak is forgotten `lockout_max_ms` after
//    its last failure or lockout end.
//
// An allowed attempt is reserved until Finish/Abandon and counts as a possible
// failure meanwhile, so a burst of concurrent guesses cannot overshoot a limit
// while its hashes are still being computed.
//
// Memory is bounded: at most `max_tracked` addresses and `max_tracked`
// accounts; entries whose failures have expired are dropped as calls pass, and
// at the cap the least recently used entry goes. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/clock.h"

namespace kefu::agents {

struct LoginLimits {
  int ip_max_failures = 20;           // failed logins per client address ...
  int64_t ip_window_ms = 300'000;     // ... in this sliding window (5 min)
  int account_max_failures = 5;       // consecutive failures before an account's first lockout
  int64_t lockout_ms = 30'000;        // first lockout; doubles with each further failure
  int64_t lockout_max_ms = 900'000;   // cap of a lockout (15 min); also how long a streak is remembered
  size_t max_tracked = 100'000;       // addresses and accounts tracked (each)
};

class LoginLimiter {
 public:
  enum class Scope { kNone, kIp, kAccount };
  struct Decision {
    bool allowed = true;
    Scope scope = Scope::kNone;  // which limit refused (Begin) or was just reached (Finish)
    int64_t retry_after_ms = 0;  // > 0 when refused / locked
  };

  LoginLimiter(const Clock& clock, LoginLimits limits);

  // Before an attempt (and before any hash): refused while the address or the
  // account is over its limit. An allowed attempt must end in exactly one
  // Finish or Abandon.
  Decision Begin(const std::string& ip, const std::string& account);
  // The verdict on an allowed attempt. A failure counts for both the address
  // and the account; a success resets the account. Returns, for logging, the
  // limit this failure has just reached (allowed = false) if any.
  Decision Finish(const std::string& ip, const std::string& account, bool success);
  // An allowed attempt that got no verdict (server busy, internal error).
  void Abandon(const std::string& ip, const std::string& account);

  size_t TrackedIps() const;
  size_t TrackedAccounts() const;
  const LoginLimits& limits() const { return limits_; }

  // Seconds for a Retry-After header: ceil(ms / 1000), at least 1.
  static int64_t RetryAfterSeconds(int64_t retry_after_ms);

 private:
  struct IpEntry {
    // Times of the last <= ip_max_failures failures, oldest first (a vector:
    // small, and a deque's first block alone would be 512 bytes per address).
    std::vector<int64_t> failures;
    int pending = 0;
  };
  struct AccountEntry {
    int failures = 0;         // consecutive failures since the last lockout (or the start of the streak)
    int lockouts = 0;         // lockouts in this streak; the next one lasts lockout_ms << lockouts
    int64_t locked_until = 0;
    int64_t last_ms = 0;      // last failure or lockout start
    int pending = 0;
  };
  // An LRU-ordered map: touching moves an entry to the back; the front is the
  // least recently used.
  template <typename E>
  struct Table {
    struct Slot {
      E entry;
      std::list<std::string>::iterator pos;
    };
    std::unordered_map<std::string, Slot> map;
    std::list<std::string> order;
    E* Find(const std::string& key);
    E& Touch(const std::string& key);  // finds or creates, and marks it most recently used
    void Erase(const std::string& key);
  };

  bool Expired(const IpEntry& e, int64_t now) const;
  bool Expired(const AccountEntry& e, int64_t now) const;
  void Prune(IpEntry& e, int64_t now) const;
  int AllowedFailures(const AccountEntry& e) const;
  template <typename E>
  void Sweep(Table<E>& t, int64_t now);

  const Clock& clock_;
  const LoginLimits limits_;
  mutable std::mutex mu_;
  Table<IpEntry> ips_;            // GUARDED_BY(mu_)
  Table<AccountEntry> accounts_;  // GUARDED_BY(mu_)
};

// The client address of a request, for limits and logs: Request::remote
// ("ip:port", IPv6 as "::1:port" or "[::1]:port") without the port. An
// IPv4-mapped IPv6 address becomes the IPv4 address; any other IPv6 address
// becomes its /64 ("2001:db8:1:2::/64"), which one subscriber usually holds
// whole. When the peer is one of `trusted_proxies` (exact addresses), the
// client is the right-most X-Forwarded-For entry that is not a trusted proxy
// (an unparsable entry stops the walk at the proxy). "" for an empty remote.
std::string ClientAddress(std::string_view remote, std::string_view x_forwarded_for = {},
                          const std::unordered_set<std::string>& trusted_proxies = {});

// Parses a comma-separated list of IP addresses (agents.trusted_proxies) into
// their canonical text; false (with the offending entry in `bad`) on one that
// is not an address.
bool ParseTrustedProxies(std::string_view list, std::unordered_set<std::string>& out, std::string& bad);

}  // namespace kefu::agents
