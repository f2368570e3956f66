// Webhooks: outbound, signed, at-least-once event delivery to a tenant's own
// app (docs/inbox.md).
//
// Outbox pattern: a feature that changes state calls EnqueueLocked() inside
// its own SQLite transaction, which writes one durable delivery row per
// subscribed endpoint; the rows commit (or roll back) with the change, so an
// event is never lost and never announced for a change that did not happen.
// After committing, the caller calls Notify(). A dispatcher thread (Start())
// claims due rows with a lease, POSTs them on a small worker pool and records
// the outcome:
//   2xx                              -> delivered
//   408, 429, 5xx, network, timeout  -> retried with exponential backoff and
//                                       jitter, a dead letter after max_attempts
//   any other status (3xx, 4xx)      -> dead letter at once
// Dead letters stay until an admin replays them (same delivery id, attempts
// reset). Every request carries
//   X-Kefu-Timestamp: <unix seconds>
//   X-Kefu-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//   Idempotency-Key: <delivery id>   (stable across retries and replays)
//   X-Kefu-Event: <event type>
// A delivery may arrive more than once (a crash after the receiver answered,
// a replay): receivers dedupe by Idempotency-Key.
//
// Time comes from the injected Clock only (retry schedule, leases), so tests
// drive retries with a FakeClock and DeliverDue() without sleeping.
// Thread-safe: every public method may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "common/metrics.h"
#include "common/status.h"
#include "common/thread_pool.h"
#include "storage/database.h"

namespace kefu::inbox {

// Event types a webhook endpoint can subscribe to ("*" = all of them).
inline constexpr const char* kEventMessageCreated = "inbox.message.created";
inline constexpr const char* kEventMessageRead = "inbox.message.read";
inline constexpr const char* kEventMessageAcked = "inbox.message.acked";
const std::vector<std::string>& WebhookEventTypes();

struct WebhookEndpoint {
  std::string id;  // "wh_<hex>"
  std::string tenant_id;
  std::string url;
  std::string secret;               // HMAC key; shown only when the endpoint is created
  std::vector<std::string> events;  // event types, or {"*"}
  std::string description;
  int64_t created_ms = 0;
  nlohmann::json ToJson(bool with_secret) const;
};

struct Delivery {
  std::string id;  // "dlv_<hex>", also the Idempotency-Key header
  std::string tenant_id;
  std::string endpoint_id;
  std::string event_id;
  std::string event_type;
  std::string payload;  // the exact body POSTed (signed as is)
  std::string status;   // pending | delivered | dead | cancelled
  int attempts = 0;
  int64_t next_attempt_ms = 0;
  std::optional<int64_t> last_status;  // HTTP status of the last attempt, if any answered
  std::optional<std::string> last_error;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  std::optional<int64_t> delivered_ms;
  nlohmann::json ToJson() const;
};

// The outcome of one HTTP POST. status 0 = no HTTP answer (error says why).
struct PostOutcome {
  int status = 0;
  std::string error;
  int64_t retry_after_ms = -1;  // from a Retry-After header (seconds form), -1 if none
};

// The HTTP seam: one POST, bounded by timeout_ms. Must be thread-safe.
class WebhookTransport {
 public:
  virtual ~WebhookTransport() = default;
  virtual PostOutcome Post(const std::string& url, const std::vector<std::pair<std::string, std::string>>& headers,
                           const std::string& body, int timeout_ms) = 0;
};

// Boost.Beast client: http:// and https:// (OpenSSL, peer and host name
// verified against the system trust store, SNI), a fresh connection per POST,
// no redirects followed, response bodies read up to 64 KiB. Unless
// `allow_private`, it connects only to resolved addresses that are not
// private (so a name that resolves to an internal host, or is rebound to one
// after the endpoint was created, is refused: status 0, not retried as ok).
std::unique_ptr<WebhookTransport> MakeBeastTransport(bool allow_private = false);

// "sha256=<hex>" for the body as signed by Webhooks (exposed for receivers'
// tests and docs).
std::string SignPayload(const std::string& secret, const std::string& timestamp, const std::string& body);

struct WebhookSettings {
  int max_attempts = 10;
  int64_t initial_backoff_ms = 10'000;
  int64_t max_backoff_ms = 3'600'000;
  int timeout_ms = 10'000;
  int workers = 4;
  int poll_ms = 1'000;       // real time between dispatcher scans (Notify() wakes it early)
  uint64_t jitter_seed = 0;  // 0 = seeded from std::random_device
  // Endpoints on loopback, private, link-local... addresses (url.h
  // IsPrivateAddress) are refused at creation and at delivery unless true.
  bool allow_private = false;

  static WebhookSettings FromConfig(const InboxConfig& c);
};

// The retry delay after `attempts` failed attempts (1-based): the exponential
// step d = min(max, initial * 2^(attempts-1)), jittered uniformly into
// [d/2, d], so below the cap consecutive delays never decrease.
int64_t BackoffMs(const WebhookSettings& s, int attempts, double unit_random);

class Webhooks {
 public:
  // `db`, `clock` and `metrics` must outlive this object. `transport` may be
  // null (the Beast client is used).
  Webhooks(storage::Database& db, const Clock& clock, metrics::Registry& metrics, WebhookSettings settings,
           std::unique_ptr<WebhookTransport> transport = nullptr);
  ~Webhooks();  // Stop()
  Webhooks(const Webhooks&) = delete;
  Webhooks& operator=(const Webhooks&) = delete;

  // --- endpoints (admin) ---
  // `url` must be http(s)://host[:port][/path]; `events` non-empty, each a
  // known type or "*"; `secret` empty = a random one is generated.
  Result<WebhookEndpoint> CreateEndpoint(const std::string& tenant_id, const std::string& url,
                                         const std::vector<std::string>& events, std::string secret,
                                         const std::string& description);
  Result<std::vector<WebhookEndpoint>> ListEndpoints(const std::string& tenant_id);
  // Removes the endpoint; its pending deliveries become "cancelled".
  Status DeleteEndpoint(const std::string& tenant_id, const std::string& endpoint_id);

  // --- outbox ---
  // Writes one pending delivery per endpoint of the tenant subscribed to
  // `event_type`, using the caller's session (and so its open transaction).
  // Returns how many rows were written. Call Notify() after the commit.
  Result<int> EnqueueLocked(storage::Session& session, const std::string& tenant_id, const std::string& event_type,
                            const nlohmann::json& data);
  void Notify();

  // --- dispatcher ---
  // Starts the background dispatcher (idempotent). Stop() waits for attempts
  // in flight; rows it did not finish stay pending and are retried after
  // their lease (timeout + 60 s) by the next dispatcher over the database.
  void Start();
  void Stop();
  // Claims every due delivery (up to `max`), attempts them on the worker
  // pool, waits for the outcomes; returns how many were attempted. The
  // dispatcher thread calls this; tests call it directly.
  int DeliverDue(int max = 256);

  // --- deliveries (admin) ---
  // Newest first, at most `limit`; `status` / `endpoint_id` empty = any.
  Result<std::vector<Delivery>> ListDeliveries(const std::string& tenant_id, const std::string& status,
                                               const std::string& endpoint_id, int limit);
  Result<Delivery> GetDelivery(const std::string& tenant_id, const std::string& delivery_id);
  // A dead letter becomes pending again, due now, attempts reset to 0.
  Result<Delivery> Replay(const std::string& tenant_id, const std::string& delivery_id);
  // Replays every dead letter of the tenant (of one endpoint if given).
  Result<int> ReplayDead(const std::string& tenant_id, const std::string& endpoint_id);

 private:
  struct Claimed;
  void Run();
  void Attempt(const Claimed& c);
  double NextRandom();

  storage::Database& db_;
  const Clock& clock_;
  metrics::Registry& metrics_;
  const WebhookSettings settings_;
  std::unique_ptr<WebhookTransport> transport_;
  ThreadPool pool_;

  metrics::Counter& delivered_;
  metrics::Counter& retried_;
  metrics::Counter& dead_;
  metrics::Counter& replayed_;
  metrics::Counter& enqueued_;
  metrics::Histogram& attempt_seconds_;

  std::mutex rng_mu_;
  std::mt19937_64 rng_;  // GUARDED_BY(rng_mu_)

  std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = false;      // GUARDED_BY(mu_)
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;     // started/joined under start_mu_
  std::mutex start_mu_;
};

}  // namespace kefu::inbox
