#include "agents/login_limiter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace kefu::agents {

// ---- Table -----------------------------------------------------------------

template <typename E>
E* LoginLimiter::Table<E>::Find(const std::string& key) {
  auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second.entry;
}

template <typename E>
E& LoginLimiter::Table<E>::Touch(const std::string& key) {
  auto it = map.find(key);
  if (it != map.end()) {
    order.splice(order.end(), order, it->second.pos);
    return it->second.entry;
  }
  order.push_back(key);
  auto& slot = map[key];
  slot.pos = std::prev(order.end());
  return slot.entry;
}

template <typename E>
void LoginLimiter::Table<E>::Erase(const std::string& key) {
  auto it = map.find(key);
  if (it == map.end()) return;
  order.erase(it->second.pos);
  map.erase(it);
}

// ---- LoginLimiter ------------------------------------------------------------

LoginLimiter::LoginLimiter(const Clock& clock, LoginLimits limits) : clock_(clock), limits_(limits) {}

int64_t LoginLimiter::RetryAfterSeconds(int64_t retry_after_ms) {
  return std::max<int64_t>(1, (retry_after_ms + 999) / 1000);
}

void LoginLimiter::Prune(IpEntry& e, int64_t now) const {
  auto keep = std::find_if(e.failures.begin(), e.failures.end(),
                           [&](int64_t t) { return t > now - limits_.ip_window_ms; });
  e.failures.erase(e.failures.begin(), keep);
}

bool LoginLimiter::Expired(const IpEntry& e, int64_t now) const {
  return e.pending == 0 && (e.failures.empty() || e.failures.back() <= now - limits_.ip_window_ms);
}

bool LoginLimiter::Expired(const AccountEntry& e, int64_t now) const {
  return e.pending == 0 && now >= std::max(e.locked_until, e.last_ms) + limits_.lockout_max_ms;
}

int LoginLimiter::AllowedFailures(const AccountEntry& e) const {
  // Before the first lockout a streak may fail account_max_failures times;
  // after one, the next failure locks again (for twice as long).
  return e.lockouts == 0 ? limits_.account_max_failures : 1;
}

template <typename E>
void LoginLimiter::Sweep(Table<E>& t, int64_t now) {
  // The front is the least recently used entry: drop it while it has expired,
  // or regardless while the table is over its cap. Expired entries further
  // back go when they reach the front; the cap bounds memory meanwhile.
  while (!t.order.empty()) {
    auto it = t.map.find(t.order.front());
    if (t.map.size() <= limits_.max_tracked && !Expired(it->second.entry, now)) break;
    t.map.erase(it);
    t.order.pop_front();
  }
}

LoginLimiter::Decision LoginLimiter::Begin(const std::string& ip, const std::string& account) {
  const int64_t now = clock_.NowMs();
  std::lock_guard lock(mu_);
  Sweep(ips_, now);
  Sweep(accounts_, now);
  Decision d;
  auto refuse = [&d](Scope scope, int64_t retry_ms) {
    if (d.allowed || retry_ms > d.retry_after_ms) d = Decision{false, scope, retry_ms};
  };
  if (IpEntry* e = ips_.Find(ip)) {
    Prune(*e, now);
    const int failed = static_cast<int>(e->failures.size());
    if (failed >= limits_.ip_max_failures)
      refuse(Scope::kIp, e->failures.front() + limits_.ip_window_ms - now);
    else if (failed + e->pending >= limits_.ip_max_failures)
      refuse(Scope::kIp, 1000);  // attempts in flight may use up the limit; their verdicts come within a second
  }
  if (AccountEntry* e = accounts_.Find(account)) {
    if (Expired(*e, now)) *e = AccountEntry{};  // an old streak is forgotten
    if (now < e->locked_until)
      refuse(Scope::kAccount, e->locked_until - now);
    else if (e->failures + e->pending >= AllowedFailures(*e))
      refuse(Scope::kAccount, 1000);
  }
  if (!d.allowed) return d;
  ips_.Touch(ip).pending++;
  accounts_.Touch(account).pending++;
  // Creating may have put a table over its cap.
  Sweep(ips_, now);
  Sweep(accounts_, now);
  return d;
}

LoginLimiter::Decision LoginLimiter::Finish(const std::string& ip, const std::string& account, bool success) {
  const int64_t now = clock_.NowMs();
  std::lock_guard lock(mu_);
  Decision reached;
  // The address: a success only releases the reservation.
  {
    IpEntry* e = ips_.Find(ip);
    if (!success) e = &ips_.Touch(ip);  // (re)created if evicted meanwhile
    if (e) {
      if (e->pending > 0) e->pending--;
      Prune(*e, now);
      if (!success) {
        e->failures.push_back(now);
        if (static_cast<int>(e->failures.size()) > limits_.ip_max_failures)
          e->failures.erase(e->failures.begin(), e->failures.end() - limits_.ip_max_failures);
        if (static_cast<int>(e->failures.size()) >= limits_.ip_max_failures)
          reached = Decision{false, Scope::kIp, e->failures.front() + limits_.ip_window_ms - now};
      } else if (Expired(*e, now)) {
        ips_.Erase(ip);
      }
    }
  }
  // The account: a success ends the streak.
  if (success) {
    accounts_.Erase(account);
  } else {
    AccountEntry& e = accounts_.Touch(account);
    if (e.pending > 0) e.pending--;
    if (Expired(e, now)) e = AccountEntry{0, 0, 0, 0, e.pending};  // an old streak is forgotten
    e.failures++;
    e.last_ms = now;
    if (e.failures >= AllowedFailures(e)) {
      int64_t lock_ms = limits_.lockout_ms;
      for (int i = 0; i < e.lockouts && lock_ms < limits_.lockout_max_ms; ++i) lock_ms *= 2;
      lock_ms = std::min(lock_ms, limits_.lockout_max_ms);
      e.locked_until = now + lock_ms;
      e.lockouts++;
      e.failures = 0;
      if (reached.allowed || lock_ms > reached.retry_after_ms) reached = Decision{false, Scope::kAccount, lock_ms};
    }
  }
  Sweep(ips_, now);
  Sweep(accounts_, now);
  return reached;
}

void LoginLimiter::Abandon(const std::string& ip, const std::string& account) {
  const int64_t now = clock_.NowMs();
  std::lock_guard lock(mu_);
  if (IpEntry* e = ips_.Find(ip)) {
    if (e->pending > 0) e->pending--;
    if (Expired(*e, now)) ips_.Erase(ip);
  }
  if (AccountEntry* e = accounts_.Find(account)) {
    if (e->pending > 0) e->pending--;
    if (e->pending == 0 && e->failures == 0 && e->lockouts == 0) accounts_.Erase(account);
  }
}

size_t LoginLimiter::TrackedIps() const {
  std::lock_guard lock(mu_);
  return ips_.map.size();
}

size_t LoginLimiter::TrackedAccounts() const {
  std::lock_guard lock(mu_);
  return accounts_.map.size();
}

// ---- Addresses ---------------------------------------------------------------

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The canonical text of an address ("" if `s` is none); with `bucket`, IPv6
// reduced to its /64 and IPv4-mapped IPv6 to IPv4.
std::string Canonical(std::string_view s, bool bucket) {
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  if (s.empty() || s.size() >= INET6_ADDRSTRLEN) return "";
  std::string text(s);
  char buf[INET6_ADDRSTRLEN];
  in_addr v4;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return inet_ntop(AF_INET, &v4, buf, sizeof buf) ? buf : "";
  in6_addr v6;
  if (inet_pton(AF_INET6, text.c_str(), &v6) != 1) return "";
  static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(v6.s6_addr, kMapped, sizeof kMapped) == 0) {
    std::memcpy(&v4, v6.s6_addr + 12, 4);
    return inet_ntop(AF_INET, &v4, buf, sizeof buf) ? buf : "";
  }
  if (!bucket) return inet_ntop(AF_INET6, &v6, buf, sizeof buf) ? buf : "";
  std::memset(v6.s6_addr + 8, 0, 8);
  return inet_ntop(AF_INET6, &v6, buf, sizeof buf) ? std::string(buf) + "/64" : "";
}

}  // namespace

std::string ClientAddress(std::string_view remote, std::string_view x_forwarded_for,
                          const std::unordered_set<std::string>& trusted_proxies) {
  // Strip the port: "1.2.3.4:80", "::1:80" (asio's form) and "[::1]:80".
  std::string_view host = remote;
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    host = close == std::string_view::npos ? host.substr(1) : host.substr(1, close - 1);
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  std::string peer = Canonical(host, /*bucket=*/false);
  if (peer.empty()) return std::string(host);  // not an address (tests, unix sockets): use it as it is
  if (!trusted_proxies.empty() && trusted_proxies.count(peer) && !x_forwarded_for.empty()) {
    // Right to left: the first hop that is not one of our proxies is the client.
    std::string_view rest = x_forwarded_for;
    std::string client = peer;
    while (!rest.empty()) {
      auto comma = rest.rfind(',');
      std::string_view hop = Trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
      std::string addr = Canonical(hop, /*bucket=*/false);
      if (addr.empty()) break;  // garbage: trust nothing further left
      client = addr;
      if (!trusted_proxies.count(addr)) break;
    }
    return Canonical(client, /*bucket=*/true);
  }
  return Canonical(peer, /*bucket=*/true);
}

bool ParseTrustedProxies(std::string_view list, std::unordered_set<std::string>& out, std::string& bad) {
  out.clear();
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string_view item = Trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (item.empty()) continue;
    std::string addr = Canonical(item, /*bucket=*/false);
    if (addr.empty()) {
      bad = std::string(item);
      return false;
    }
    out.insert(addr);
  }
  return true;
}

}  // namespace kefu::agents
