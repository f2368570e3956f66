// Conversation leases: which node may run a conversation's turns now
// (issue 16; docs/architecture.md, "Leases"). Several nodes share one
// database; the node that runs a conversation's turn holds that
// conversation's lease for as long as it has turns of it queued, renews it
// while it holds it, and releases it when its queue is empty. A node that
// dies stops renewing: its leases expire after `ttl_ms` and another node
// takes them over (ConversationService's failover sweep answers what the
// dead node had accepted).
//
// Three parts:
//   - LeaseStore, the seam where the nodes agree: a record per lease name
//     with its owner, a fencing token (increasing with every grant of that
//     name) and an expiry. SqlLeaseStore keeps it in the shared database
//     (the table `leases`, owned by dialogue), timed by the database's clock;
//     MemoryLeaseStore keeps it in process memory (one node, and the fake).
//   - LeaseTracker, the pure state machine of the leases one node holds:
//     when each must be renewed, until when it may still be trusted (measured
//     from when the request that granted or renewed it was sent, so a slow
//     reply never stretches it), and which were lost. No I/O, no threads.
//   - Leases, the node's lease manager: Acquire (waits briefly when another
//     node holds it), Held, Release, and a thread renewing what it holds.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "storage/database.h"

namespace kefu::dialogue {

// The outcome of one acquisition attempt.
struct LeaseAttempt {
  bool granted = false;
  int64_t token = 0;  // granted: the fencing token of this grant
  // granted: the lease had expired without being released (its holder died,
  // stalled, or left a turn unfinished): what it left undone is the new
  // holder's to finish.
  bool taken_over = false;
  std::string holder;        // refused: the owner holding it
  int64_t remaining_ms = 0;  // refused: until the holder's lease expires (unless renewed)
};

// Where the nodes agree on leases. Thread-safe; calls may block on the
// database (never call them on an I/O thread).
class LeaseStore {
 public:
  virtual ~LeaseStore() = default;
  // Grants `name` to `owner` for `ttl_ms` when nobody holds it, its lease
  // expired, or `owner` itself holds it (a new token then).
  virtual Result<LeaseAttempt> Acquire(const std::string& name, const std::string& owner, int64_t ttl_ms) = 0;
  // Extends the grant `token` of `owner` by `ttl_ms` from now; false when it
  // is no longer that grant (expired and taken over, or released).
  virtual Result<bool> Renew(const std::string& name, const std::string& owner, int64_t token, int64_t ttl_ms) = 0;
  // Ends the grant `token` of `owner` (no-op when it is not that grant).
  virtual Status Release(const std::string& name, const std::string& owner, int64_t token) = 0;
  // Names starting with `prefix` whose lease expired without being released
  // (their holder died or stalled), oldest expiry first, at most `limit`.
  virtual Result<std::vector<std::string>> Abandoned(const std::string& prefix, int limit) = 0;
  // Forgets released leases (their records would otherwise pile up, one per
  // conversation ever served); returns how many.
  virtual Result<int64_t> PurgeReleased() = 0;
};

// In process memory, timed by `clock`: one node, and the fake for tests.
class MemoryLeaseStore final : public LeaseStore {
 public:
  explicit MemoryLeaseStore(const Clock& clock) : clock_(clock) {}
  Result<LeaseAttempt> Acquire(const std::string& name, const std::string& owner, int64_t ttl_ms) override;
  Result<bool> Renew(const std::string& name, const std::string& owner, int64_t token, int64_t ttl_ms) override;
  Status Release(const std::string& name, const std::string& owner, int64_t token) override;
  Result<std::vector<std::string>> Abandoned(const std::string& prefix, int limit) override;
  Result<int64_t> PurgeReleased() override;
  // Makes every call fail with Unavailable (outage tests); false restores.
  void SetFailing(bool failing);

 private:
  struct Record {
    std::string owner;
    int64_t token = 0;
    int64_t expires_ms = 0;  // 0 = released
  };
  const Clock& clock_;
  std::mutex mu_;
  std::map<std::string, Record> records_;  // GUARDED_BY(mu_)
  bool failing_ = false;                   // GUARDED_BY(mu_)
};

// In the shared database (table `leases`): every node that opens the same
// PostgreSQL agrees. Times come from the database server's clock, so the
// nodes' clocks do not matter. Each call is one short write transaction (on
// PostgreSQL with synchronous_commit off: a lease is worth nothing after a
// database crash anyway, and no turn is ever answered twice because the reply
// itself is written at most once per customer message, see
// ConversationStore::AppendReply).
class SqlLeaseStore final : public LeaseStore {
 public:
  explicit SqlLeaseStore(storage::Database& db);
  Result<LeaseAttempt> Acquire(const std::string& name, const std::string& owner, int64_t ttl_ms) override;
  Result<bool> Renew(const std::string& name, const std::string& owner, int64_t token, int64_t ttl_ms) override;
  Status Release(const std::string& name, const std::string& owner, int64_t token) override;
  Result<std::vector<std::string>> Abandoned(const std::string& prefix, int limit) override;
  Result<int64_t> PurgeReleased() override;

 private:
  storage::Database& db_;
  std::string now_;  // the database's "now" in Unix ms, as SQL
};

// The leases one node holds, as a pure state machine over a clock reading
// (monotonic ms). Not thread-safe (Leases locks around it).
class LeaseTracker {
 public:
  struct Settings {
    int64_t ttl_ms = 5'000;
    int64_t renew_every_ms = 1'500;  // < ttl_ms
    // A lease is trusted until (request sent + ttl - margin): the margin
    // covers clock-rate differences and the time a write takes to commit.
    int64_t safety_margin_ms = 1'000;
  };
  explicit LeaseTracker(Settings s) : s_(s) {}

  // The grant `token` of `name`, for a request sent at `sent_ms`.
  void Granted(const std::string& name, int64_t token, int64_t sent_ms);
  // Whether `name` is held with a lease that is still trusted at `now_ms`.
  bool Valid(const std::string& name, int64_t now_ms) const;
  std::optional<int64_t> Token(const std::string& name) const;
  // Leases whose renewal is due at `now_ms` (name, token); each is returned
  // once until RenewResult reports on it.
  std::vector<std::pair<std::string, int64_t>> DueForRenewal(int64_t now_ms);
  // The renewal of `token` sent at `sent_ms` succeeded (`ok`) or found the
  // lease gone (!ok: lost). `failed` = the store could not be asked (it stays
  // held until it is no longer trusted, and is retried at the next tick).
  void RenewResult(const std::string& name, int64_t token, int64_t sent_ms, bool ok, bool failed = false);
  // Forgets `name` if it is held with `token`; true when it was.
  bool Remove(const std::string& name, int64_t token);
  // A lease is used by one or more turns at a time: a grant counts one user,
  // Reuse (of a held, still trusted lease) one more, Unused one less; a lease
  // without users is idle since then. Reuse is false when it is not held
  // and trusted (the caller asks the store).
  bool Reuse(const std::string& name, int64_t now_ms);
  // One user of grant `token` is done; false when it is not that grant.
  bool Unused(const std::string& name, int64_t token, int64_t now_ms);
  // Users of `name` (0 when not held).
  int Users(const std::string& name) const;
  // One user of grant `token` is done and wants the lease left to expire
  // unreleased: forgotten at once when it was the last user, else when the
  // last one is done.
  void Abandon(const std::string& name, int64_t token, int64_t now_ms);
  // Leases idle for at least `linger_ms` at `now_ms`, forgotten here; the
  // caller releases them in the store.
  std::vector<std::pair<std::string, int64_t>> TakeIdle(int64_t now_ms, int64_t linger_ms);
  size_t size() const { return held_.size(); }
  int64_t lost() const { return lost_; }

 private:
  struct Held {
    int64_t token = 0;
    int64_t trusted_until_ms = 0;
    int64_t last_sent_ms = 0;
    bool renewing = false;
    bool lost = false;
    int users = 1;
    int64_t idle_since_ms = 0;  // when users reached 0
    bool abandoned = false;     // once idle: forgotten, not released (Abandon)
  };
  Settings s_;
  std::map<std::string, Held> held_;
  int64_t lost_ = 0;
};

struct LeaseSettings {
  std::string owner;           // this node: node id + a per-process suffix
  int64_t ttl_ms = 5'000;      // a dead node's leases expire after this
  int64_t wait_ms = 1'000;     // Acquire waits at most this for a lease held elsewhere
  int64_t renew_every_ms = 0;  // 0 = ttl_ms / 3
  // A lease no turn uses any more is released after this long, so that the
  // next turn of the same conversation on this node (a chat's next message)
  // needs no database round trip; a turn on another node waits for it
  // meanwhile (within wait_ms). 0 = released at once.
  int64_t linger_ms = 0;
};

// The message of a turn refused because another node holds the
// conversation's lease (503 conversation_busy, Retry-After).
Status LeaseBusy(const std::string& name, const LeaseAttempt& refused);
bool IsLeaseBusy(const Status& s);
// Seconds a client should wait before retrying after LeaseBusy (>= 1).
int64_t LeaseRetryAfterSeconds(const Status& s);

// A node's lease manager. Thread-safe. Acquire blocks (up to wait_ms), so
// call it on worker threads only.
class Leases {
 public:
  Leases(LeaseStore& store, const Clock& clock, LeaseSettings settings);
  ~Leases();  // stops renewing; releases nothing (call ReleaseAll first for a clean stop)
  Leases(const Leases&) = delete;
  Leases& operator=(const Leases&) = delete;

  // Starts the renewal thread.
  void Start();
  struct Grant {
    int64_t token = 0;
    bool taken_over = false;  // LeaseAttempt::taken_over
  };
  // The grant once held. LeaseBusy when another node still holds it after
  // wait_ms (or will for longer than that), Unavailable when the store
  // cannot be reached.
  Result<Grant> Acquire(const std::string& name);
  // Whether `name` is still ours and trusted (renewed in time, not lost).
  bool Held(const std::string& name) const;
  // One user of the grant `token` of `name` is done with it; once none is
  // left it is released in the store after linger_ms (by the renewal thread,
  // or at once when linger_ms is 0). Failing to reach the store is logged:
  // the lease then expires on its own.
  void Release(const std::string& name, int64_t token);
  // Like Release, but the last user leaves the lease unreleased in the store:
  // it expires after ttl_ms and the failover sweep of some node takes it over.
  void Abandon(const std::string& name, int64_t token);
  // Releases the idle leases (linger passed, or every idle one with `all`:
  // shutdown). The renewal thread calls it each tick.
  void ReleaseIdle(bool all = false);
  LeaseStore& store() { return store_; }
  const LeaseSettings& settings() const { return s_; }
  size_t HeldCount() const;

 private:
  void RenewLoop();
  int64_t NowMs() const { return clock_.MonotonicNs() / 1'000'000; }

  LeaseStore& store_;
  const Clock& clock_;
  LeaseSettings s_;
  mutable std::mutex mu_;
  LeaseTracker tracker_;  // GUARDED_BY(mu_)
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread renewer_;
};

}  // namespace kefu::dialogue
