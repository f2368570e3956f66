#include "dialogue/lease.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "common/log.h"

namespace kefu::dialogue {

namespace {

constexpr std::string_view kBusyPrefix = "conversation busy: ";
constexpr std::string_view kRetryMarker = "; retry after ";

}  // namespace

// ---------------------------------------------------------------- errors

Status LeaseBusy(const std::string& name, const LeaseAttempt& refused) {
  const int64_t secs = std::max<int64_t>(1, (refused.remaining_ms + 999) / 1000);
  return Unavailable(std::string(kBusyPrefix) + name + " is being served by node " + refused.holder +
                     std::string(kRetryMarker) + std::to_string(secs) + " s");
}

bool IsLeaseBusy(const Status& s) {
  return s.code() == ErrorCode::kUnavailable && s.message().rfind(kBusyPrefix, 0) == 0;
}

int64_t LeaseRetryAfterSeconds(const Status& s) {
  const auto at = s.message().rfind(kRetryMarker);
  if (at == std::string::npos) return 1;
  int64_t secs = 0;
  for (size_t i = at + kRetryMarker.size(); i < s.message().size() && s.message()[i] >= '0' && s.message()[i] <= '9';
       ++i)
    secs = std::min<int64_t>(secs * 10 + (s.message()[i] - '0'), 3600);
  return std::max<int64_t>(1, secs);
}

// ---------------------------------------------------------------- MemoryLeaseStore

Result<LeaseAttempt> MemoryLeaseStore::Acquire(const std::string& name, const std::string& owner, int64_t ttl_ms) {
  std::lock_guard lock(mu_);
  if (failing_) return Unavailable("lease store unavailable (test)");
  const int64_t now = clock_.NowMs();
  Record& r = records_[name];
  LeaseAttempt a;
  if (r.expires_ms <= now || r.owner == owner) {
    a.taken_over = r.expires_ms > 0 && (r.owner != owner || r.expires_ms <= now);
    r.owner = owner;
    r.token += 1;
    r.expires_ms = now + ttl_ms;
    a.granted = true;
    a.token = r.token;
  } else {
    a.holder = r.owner;
    a.remaining_ms = r.expires_ms - now;
  }
  return a;
}

Result<bool> MemoryLeaseStore::Renew(const std::string& name, const std::string& owner, int64_t token, int64_t ttl_ms) {
  std::lock_guard lock(mu_);
  if (failing_) return Unavailable("lease store unavailable (test)");
  auto it = records_.find(name);
  if (it == records_.end() || it->second.owner != owner || it->second.token != token || it->second.expires_ms == 0)
    return false;
  it->second.expires_ms = clock_.NowMs() + ttl_ms;
  return true;
}

Status MemoryLeaseStore::Release(const std::string& name, const std::string& owner, int64_t token) {
  std::lock_guard lock(mu_);
  if (failing_) return Unavailable("lease store unavailable (test)");
  auto it = records_.find(name);
  if (it != records_.end() && it->second.owner == owner && it->second.token == token) it->second.expires_ms = 0;
  return Status::Ok();
}

Result<std::vector<std::string>> MemoryLeaseStore::Abandoned(const std::string& prefix, int limit) {
  std::lock_guard lock(mu_);
  if (failing_) return Unavailable("lease store unavailable (test)");
  const int64_t now = clock_.NowMs();
  std::vector<std::pair<int64_t, std::string>> found;
  for (const auto& [name, r] : records_)
    if (r.expires_ms > 0 && r.expires_ms <= now && name.rfind(prefix, 0) == 0) found.emplace_back(r.expires_ms, name);
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& f : found) {
    if (static_cast<int>(out.size()) >= limit) break;
    out.push_back(std::move(f.second));
  }
  return out;
}

Result<int64_t> MemoryLeaseStore::PurgeReleased() {
  std::lock_guard lock(mu_);
  if (failing_) return Unavailable("lease store unavailable (test)");
  int64_t n = 0;
  for (auto it = records_.begin(); it != records_.end();) {
    if (it->second.expires_ms == 0) {
      it = records_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

void MemoryLeaseStore::SetFailing(bool failing) {
  std::lock_guard lock(mu_);
  failing_ = failing;
}

// ---------------------------------------------------------------- SqlLeaseStore

SqlLeaseStore::SqlLeaseStore(storage::Database& db) : db_(db) {
  // The database server's clock in Unix milliseconds: one clock for every node.
  now_ = db.engine() == storage::Engine::kPostgres ? "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
                                                   : "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";
}

namespace {

// A lease write need not wait for the disk (see SqlLeaseStore).
Status NoSyncCommit(storage::Session& s) {
  if (s.database().engine() != storage::Engine::kPostgres) return Status::Ok();
  return s.Exec("SET LOCAL synchronous_commit TO OFF");
}

}  // namespace

Result<LeaseAttempt> SqlLeaseStore::Acquire(const std::string& name, const std::string& owner, int64_t ttl_ms) {
  LeaseAttempt out;
  const std::string grant = "INSERT INTO leases(name, owner, token, expires_ms) VALUES(?1, ?2, 1, " + now_ +
                            " + ?3) ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, token = leases.token + 1, "
                            "expires_ms = excluded.expires_ms WHERE leases.expires_ms <= " +
                            now_ + " OR leases.owner = excluded.owner RETURNING token";
  const std::string before = "SELECT owner, expires_ms, expires_ms - " + now_ + " FROM leases WHERE name = ?";
  Status st = db_.Write([&](storage::Session& s) -> Status {
    out = LeaseAttempt{};
    KEFU_RETURN_IF_ERROR(NoSyncCommit(s));
    // The record as it was: who held it, and whether it ended without a release.
    bool existed = false;
    std::string prev_owner;
    int64_t prev_expires = 0, remaining = 0;
    {
      auto& q = s.Prepare(before);
      q.Bind(1, name);
      auto h = q.Step();
      if (!h.ok()) {
        q.Reset();
        return h.status();
      }
      if (*h) {
        existed = true;
        prev_owner = q.Text(0);
        prev_expires = q.Int(1);
        remaining = q.Int(2);
      }
      q.Reset();
    }
    auto& ins = s.Prepare(grant);
    ins.Bind(1, name).Bind(2, owner).Bind(3, ttl_ms);
    auto row = ins.Step();
    if (!row.ok()) {
      ins.Reset();
      return row.status();
    }
    if (*row) {
      out.granted = true;
      out.token = ins.Int(0);
      out.taken_over = existed && prev_expires > 0 && (prev_owner != owner || remaining <= 0);
      ins.Reset();
      return Status::Ok();
    }
    ins.Reset();
    out.holder = prev_owner;
    out.remaining_ms = std::max<int64_t>(0, remaining);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

Result<bool> SqlLeaseStore::Renew(const std::string& name, const std::string& owner, int64_t token, int64_t ttl_ms) {
  bool renewed = false;
  const std::string sql = "UPDATE leases SET expires_ms = " + now_ +
                          " + ?1 WHERE name = ?2 AND owner = ?3 AND token = ?4 AND expires_ms > 0";
  Status st = db_.Write([&](storage::Session& s) -> Status {
    renewed = false;
    KEFU_RETURN_IF_ERROR(NoSyncCommit(s));
    auto& u = s.Prepare(sql);
    u.Bind(1, ttl_ms).Bind(2, name).Bind(3, owner).Bind(4, token);
    KEFU_RETURN_IF_ERROR(u.Run());
    renewed = s.Changes() == 1;
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return renewed;
}

Status SqlLeaseStore::Release(const std::string& name, const std::string& owner, int64_t token) {
  return db_.Write([&](storage::Session& s) -> Status {
    KEFU_RETURN_IF_ERROR(NoSyncCommit(s));
    auto& u = s.Prepare("UPDATE leases SET expires_ms = 0 WHERE name = ? AND owner = ? AND token = ?");
    u.Bind(1, name).Bind(2, owner).Bind(3, token);
    return u.Run();
  });
}

Result<std::vector<std::string>> SqlLeaseStore::Abandoned(const std::string& prefix, int limit) {
  auto s = db_.Read();
  auto& q = s.Prepare("SELECT name FROM leases WHERE expires_ms > 0 AND expires_ms <= " + now_ +
                      " AND substr(name, 1, ?1) = ?2 ORDER BY expires_ms LIMIT ?3");
  q.Bind(1, static_cast<int64_t>(prefix.size())).Bind(2, prefix).Bind(3, static_cast<int64_t>(limit));
  std::vector<std::string> out;
  for (;;) {
    auto row = q.Step();
    if (!row.ok()) {
      q.Reset();
      return row.status();
    }
    if (!*row) break;
    out.push_back(q.Text(0));
  }
  q.Reset();
  return out;
}

Result<int64_t> SqlLeaseStore::PurgeReleased() {
  int64_t n = 0;
  Status st = db_.Write([&](storage::Session& s) -> Status {
    KEFU_RETURN_IF_ERROR(NoSyncCommit(s));
    KEFU_RETURN_IF_ERROR(s.Prepare("DELETE FROM leases WHERE expires_ms = 0").Run());
    n = s.Changes();
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return n;
}

// ---------------------------------------------------------------- LeaseTracker

void LeaseTracker::Granted(const std::string& name, int64_t token, int64_t sent_ms) {
  held_[name] = Held{token, sent_ms + s_.ttl_ms - s_.safety_margin_ms, sent_ms, false, false};
}

bool LeaseTracker::Valid(const std::string& name, int64_t now_ms) const {
  auto it = held_.find(name);
  return it != held_.end() && !it->second.lost && now_ms < it->second.trusted_until_ms;
}

std::optional<int64_t> LeaseTracker::Token(const std::string& name) const {
  auto it = held_.find(name);
  if (it == held_.end()) return std::nullopt;
  return it->second.token;
}

std::vector<std::pair<std::string, int64_t>> LeaseTracker::DueForRenewal(int64_t now_ms) {
  std::vector<std::pair<std::string, int64_t>> due;
  for (auto& [name, h] : held_) {
    if (h.lost || h.renewing || now_ms - h.last_sent_ms < s_.renew_every_ms) continue;
    h.renewing = true;
    due.emplace_back(name, h.token);
  }
  return due;
}

void LeaseTracker::RenewResult(const std::string& name, int64_t token, int64_t sent_ms, bool ok, bool failed) {
  auto it = held_.find(name);
  if (it == held_.end() || it->second.token != token) return;  // released or re-granted meanwhile
  Held& h = it->second;
  h.renewing = false;
  if (failed) return;  // still trusted until trusted_until_ms; due again at the next tick
  if (ok) {
    h.trusted_until_ms = std::max(h.trusted_until_ms, sent_ms + s_.ttl_ms - s_.safety_margin_ms);
    h.last_sent_ms = sent_ms;
  } else if (!h.lost) {
    h.lost = true;
    ++lost_;
  }
}

bool LeaseTracker::Remove(const std::string& name, int64_t token) {
  auto it = held_.find(name);
  if (it == held_.end() || it->second.token != token) return false;
  held_.erase(it);
  return true;
}

bool LeaseTracker::Reuse(const std::string& name, int64_t now_ms) {
  if (!Valid(name, now_ms)) return false;
  ++held_[name].users;
  return true;
}

bool LeaseTracker::Unused(const std::string& name, int64_t token, int64_t now_ms) {
  auto it = held_.find(name);
  if (it == held_.end() || it->second.token != token || it->second.users == 0) return false;
  if (--it->second.users == 0) it->second.idle_since_ms = now_ms;
  return true;
}

void LeaseTracker::Abandon(const std::string& name, int64_t token, int64_t now_ms) {
  auto it = held_.find(name);
  if (it == held_.end() || it->second.token != token) return;
  if (it->second.users <= 1) {
    held_.erase(it);
    return;
  }
  it->second.abandoned = true;
  Unused(name, token, now_ms);
}

int LeaseTracker::Users(const std::string& name) const {
  auto it = held_.find(name);
  return it == held_.end() ? 0 : it->second.users;
}

std::vector<std::pair<std::string, int64_t>> LeaseTracker::TakeIdle(int64_t now_ms, int64_t linger_ms) {
  std::vector<std::pair<std::string, int64_t>> out;
  for (auto it = held_.begin(); it != held_.end();) {
    if (it->second.users == 0 && (it->second.abandoned || now_ms - it->second.idle_since_ms >= linger_ms)) {
      if (!it->second.abandoned) out.emplace_back(it->first, it->second.token);
      it = held_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

// ---------------------------------------------------------------- Leases

namespace {

LeaseTracker::Settings TrackerSettings(const LeaseSettings& s) {
  LeaseTracker::Settings t;
  t.ttl_ms = s.ttl_ms;
  t.renew_every_ms = s.renew_every_ms > 0 ? s.renew_every_ms : std::max<int64_t>(1, s.ttl_ms / 3);
  t.safety_margin_ms = std::min<int64_t>(1'000, s.ttl_ms / 5);
  return t;
}

}  // namespace

Leases::Leases(LeaseStore& store, const Clock& clock, LeaseSettings settings)
    : store_(store), clock_(clock), s_(std::move(settings)), tracker_(TrackerSettings(s_)) {}

Leases::~Leases() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (renewer_.joinable()) renewer_.join();
}

void Leases::Start() {
  if (!renewer_.joinable()) renewer_ = std::thread([this] { RenewLoop(); });
}

Result<Leases::Grant> Leases::Acquire(const std::string& name) {
  using Steady = std::chrono::steady_clock;
  const auto start = Steady::now();
  auto deadline = start + std::chrono::milliseconds(s_.wait_ms);
  bool outlasts = false;
  {
    // Still ours from a turn a moment ago (lingering) or running now: no round trip.
    std::lock_guard lock(mu_);
    if (tracker_.Reuse(name, NowMs())) return Grant{*tracker_.Token(name), false};
  }
  int64_t pause_ms = 20;
  for (;;) {
    const int64_t sent = NowMs();
    auto a = store_.Acquire(name, s_.owner, s_.ttl_ms);
    if (!a.ok()) return Unavailable("conversation lease store unavailable: " + a.status().message());
    if (a->granted) {
      std::lock_guard lock(mu_);
      tracker_.Granted(name, a->token, sent);
      return Grant{a->token, a->taken_over};
    }
    if (!outlasts && a->remaining_ms > s_.wait_ms + 50) {
      // Held elsewhere for longer than we may wait: its holder may be done
      // and only lingering (it releases within about two lingers), or dead
      // (then nothing but expiry frees it): wait only the former, rather
      // than hold a worker for the whole wait.
      outlasts = true;
      deadline = std::min(deadline, start + std::chrono::milliseconds(2 * s_.linger_ms + 100));
    }
    const int64_t left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now()).count();
    if (left <= 0) return LeaseBusy(name, *a);
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::max<int64_t>(1, std::min({pause_ms, left, a->remaining_ms + 5}))));
    pause_ms = std::min<int64_t>(pause_ms * 2, 100);
  }
}

bool Leases::Held(const std::string& name) const {
  std::lock_guard lock(mu_);
  return tracker_.Valid(name, NowMs());
}

void Leases::Release(const std::string& name, int64_t token) {
  {
    std::lock_guard lock(mu_);
    if (!tracker_.Unused(name, token, NowMs())) return;
    if (s_.linger_ms > 0) return;  // the renewal thread releases it once it has lingered
  }
  ReleaseIdle();
}

void Leases::Abandon(const std::string& name, int64_t token) {
  std::lock_guard lock(mu_);
  tracker_.Abandon(name, token, NowMs());
}

void Leases::ReleaseIdle(bool all) {
  std::vector<std::pair<std::string, int64_t>> idle;
  {
    std::lock_guard lock(mu_);
    idle = tracker_.TakeIdle(all ? std::numeric_limits<int64_t>::max() / 2 : NowMs(), s_.linger_ms);
  }
  for (const auto& [name, token] : idle) {
    Status st = store_.Release(name, s_.owner, token);
    if (!st.ok()) log::Warn("lease_release_failed", {{"lease", name}, {"error", st.ToString()}});
  }
}

size_t Leases::HeldCount() const {
  std::lock_guard lock(mu_);
  return tracker_.size();
}

void Leases::RenewLoop() {
  const LeaseTracker::Settings t = TrackerSettings(s_);
  int64_t tick_ms = t.renew_every_ms / 4;
  if (s_.linger_ms > 0) tick_ms = std::min(tick_ms, s_.linger_ms / 2);
  const auto tick = std::chrono::milliseconds(std::max<int64_t>(10, tick_ms));
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, tick, [this] { return stop_; });
    if (stop_) break;
    if (s_.linger_ms > 0) {
      lock.unlock();
      ReleaseIdle();
      lock.lock();
    }
    auto due = tracker_.DueForRenewal(NowMs());
    if (due.empty()) continue;
    lock.unlock();
    for (const auto& [name, token] : due) {
      const int64_t sent = NowMs();
      auto r = store_.Renew(name, s_.owner, token, s_.ttl_ms);
      std::lock_guard relock(mu_);
      if (!r.ok()) {
        log::Warn("lease_renew_failed", {{"lease", name}, {"error", r.status().ToString()}});
        tracker_.RenewResult(name, token, sent, false, /*failed=*/true);
      } else {
        if (!*r) log::Warn("lease_lost", {{"lease", name}, {"token", token}});
        tracker_.RenewResult(name, token, sent, *r);
      }
    }
    lock.lock();
  }
}

}  // namespace kefu::dialogue
