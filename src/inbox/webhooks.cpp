#include "inbox/webhooks.h"

#include <algorithm>
#include <atomic>
#include <latch>

#include "common/json.h"
#include "common/log.h"
#include "common/crypto.h"
#include "inbox/url.h"

namespace kefu::inbox {
namespace {

using nlohmann::json;

// How long a claimed delivery is reserved beyond its timeout: a process that
// dies mid-attempt leaves the row to be retried after this.
constexpr int64_t kLeaseSlackMs = 60'000;
constexpr size_t kMaxSecretBytes = 256;
constexpr size_t kMaxEndpointsPerTenant = 50;

std::string DumpCompact(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool KnownEvent(const std::string& e) {
  if (e == "*") return true;
  const auto& all = WebhookEventTypes();
  return std::find(all.begin(), all.end(), e) != all.end();
}

bool Subscribed(const std::vector<std::string>& events, const std::string& type) {
  return std::find(events.begin(), events.end(), "*") != events.end() ||
         std::find(events.begin(), events.end(), type) != events.end();
}

std::vector<std::string> EventsFromJson(const std::string& text) {
  std::vector<std::string> out;
  json j = ParseJsonOrDiscarded(text);
  if (j.is_array())
    for (const auto& e : j)
      if (e.is_string()) out.push_back(e);
  return out;
}

WebhookEndpoint ReadEndpoint(storage::Statement& st) {
  WebhookEndpoint e;
  e.id = st.Text(0);
  e.tenant_id = st.Text(1);
  e.url = st.Text(2);
  e.secret = st.Text(3);
  e.events = EventsFromJson(st.Text(4));
  e.description = st.Text(5);
  e.created_ms = st.Int(6);
  return e;
}

constexpr const char* kDeliveryColumns =
    "id, tenant_id, endpoint_id, event_id, event_type, payload, status, attempts, next_attempt_ms, last_status, "
    "last_error, created_ms, updated_ms, delivered_ms";

Delivery ReadDelivery(storage::Statement& st) {
  Delivery d;
  d.id = st.Text(0);
  d.tenant_id = st.Text(1);
  d.endpoint_id = st.Text(2);
  d.event_id = st.Text(3);
  d.event_type = st.Text(4);
  d.payload = st.Text(5);
  d.status = st.Text(6);
  d.attempts = static_cast<int>(st.Int(7));
  d.next_attempt_ms = st.Int(8);
  d.last_status = st.OptInt(9);
  d.last_error = st.OptText(10);
  d.created_ms = st.Int(11);
  d.updated_ms = st.Int(12);
  d.delivered_ms = st.OptInt(13);
  return d;
}

}  // namespace

const std::vector<std::string>& WebhookEventTypes() {
  static const std::vector<std::string> kTypes = {kEventMessageCreated, kEventMessageRead, kEventMessageAcked};
  return kTypes;
}

json WebhookEndpoint::ToJson(bool with_secret) const {
  json j = {{"id", id}, {"url", url}, {"events", events}, {"description", description}, {"created_ms", created_ms}};
  if (with_secret) j["secret"] = secret;
  return j;
}

json Delivery::ToJson() const {
  json j = {{"id", id},
            {"endpoint_id", endpoint_id},
            {"event_id", event_id},
            {"event_type", event_type},
            {"status", status},
            {"attempts", attempts},
            {"next_attempt_ms", status == "pending" ? json(next_attempt_ms) : json(nullptr)},
            {"last_status", last_status ? json(*last_status) : json(nullptr)},
            {"last_error", last_error ? json(*last_error) : json(nullptr)},
            {"created_ms", created_ms},
            {"updated_ms", updated_ms},
            {"delivered_ms", delivered_ms ? json(*delivered_ms) : json(nullptr)}};
  json payload_json = ParseJsonOrDiscarded(payload);
  j["payload"] = payload_json.is_discarded() ? json(payload) : payload_json;
  return j;
}

std::string SignPayload(const std::string& secret, const std::string& timestamp, const std::string& body) {
  return "sha256=" + crypto::Hex(crypto::HmacSha256(secret, timestamp + "." + body));
}

WebhookSettings WebhookSettings::FromConfig(const InboxConfig& c) {
  WebhookSettings s;
  s.max_attempts = c.webhook_max_attempts;
  s.initial_backoff_ms = c.webhook_initial_backoff_ms;
  s.max_backoff_ms = c.webhook_max_backoff_ms;
  s.timeout_ms = c.webhook_timeout_ms;
  s.workers = c.webhook_workers;
  s.poll_ms = c.webhook_poll_ms;
  s.allow_private = c.webhook_allow_private;
  return s;
}

int64_t BackoffMs(const WebhookSettings& s, int attempts, double unit_random) {
  int shift = std::clamp(attempts - 1, 0, 40);
  int64_t step = s.initial_backoff_ms;
  for (int i = 0; i < shift && step < s.max_backoff_ms; ++i) step *= 2;
  step = std::min(step, s.max_backoff_ms);
  int64_t half = step / 2;
  return half + static_cast<int64_t>(std::clamp(unit_random, 0.0, 1.0) * static_cast<double>(step - half));
}

struct Webhooks::Claimed {
  Delivery delivery;
  std::string url;
  std::string secret;
};

Webhooks::Webhooks(storage::Database& db, const Clock& clock, metrics::Registry& metrics, WebhookSettings settings,
                   std::unique_ptr<WebhookTransport> transport)
    : db_(db),
      clock_(clock),
      metrics_(metrics),
      settings_(settings),
      transport_(transport ? std::move(transport) : MakeBeastTransport(settings.allow_private)),
      pool_(static_cast<size_t>(std::max(1, settings.workers)), "webhook"),
      delivered_(metrics.GetCounter("kefu_webhook_deliveries_total", "Webhook deliveries by final outcome",
                                    "outcome=\"delivered\"")),
      retried_(metrics.GetCounter("kefu_webhook_retries_total", "Webhook attempts that failed and were rescheduled")),
      dead_(metrics.GetCounter("kefu_webhook_deliveries_total", "Webhook deliveries by final outcome",
                               "outcome=\"dead\"")),
      replayed_(metrics.GetCounter("kefu_webhook_replays_total", "Dead letters replayed by an admin")),
      enqueued_(metrics.GetCounter("kefu_webhook_enqueued_total", "Webhook deliveries written to the outbox")),
      attempt_seconds_(metrics.GetHistogram("kefu_webhook_attempt_seconds", "One webhook POST, connect included")),
      rng_(settings.jitter_seed ? settings.jitter_seed : std::random_device{}()) {}

Webhooks::~Webhooks() {
  Stop();
  pool_.Shutdown();
}

Result<WebhookEndpoint> Webhooks::CreateEndpoint(const std::string& tenant_id, const std::string& url,
                                                 const std::vector<std::string>& events, std::string secret,
                                                 const std::string& description) {
  KEFU_ASSIGN_OR_RETURN(ParsedUrl parsed, ParseUrl(url));
  if (!settings_.allow_private && IsPrivateHost(parsed.host))
    return InvalidArgument("url: " + parsed.host +
                           " is a loopback, private or link-local address; set inbox.webhook_allow_private = true "
                           "for endpoints inside your own network");
  if (events.empty()) return InvalidArgument("events must list at least one event type (or \"*\")");
  for (const auto& e : events)
    if (!KnownEvent(e)) return InvalidArgument("unknown event type '" + e + "'");
  if (secret.empty()) secret = "whsec_" + crypto::RandomHex(24);
  if (secret.size() < 16 || secret.size() > kMaxSecretBytes) return InvalidArgument("secret must be 16-256 bytes");
  if (description.size() > 500) return InvalidArgument("description is longer than 500 bytes");
  WebhookEndpoint e;
  e.id = "wh_" + crypto::RandomHex(16);  // 128 bits
  e.tenant_id = tenant_id;
  e.url = url;
  e.secret = std::move(secret);
  e.events = events;
  e.description = description;
  e.created_ms = clock_.NowMs();
  auto s = db_.Lock();
  auto& count = s.Prepare("SELECT COUNT(*) FROM webhook_endpoints WHERE tenant_id = ? AND deleted_ms IS NULL");
  count.Bind(1, tenant_id);
  KEFU_ASSIGN_OR_RETURN(bool row, count.Step());
  if (row && count.Int(0) >= static_cast<int64_t>(kMaxEndpointsPerTenant))
    return ResourceExhausted("a tenant may have at most 50 webhook endpoints");
  auto& st = s.Prepare(
      "INSERT INTO webhook_endpoints(id, tenant_id, url, secret, events_json, description, created_ms) "
      "VALUES(?, ?, ?, ?, ?, ?, ?)");
  st.Bind(1, e.id).Bind(2, e.tenant_id).Bind(3, e.url).Bind(4, e.secret).Bind(5, DumpCompact(e.events));
  st.Bind(6, e.description).Bind(7, e.created_ms);
  KEFU_RETURN_IF_ERROR(st.Run());
  log::Info("webhook_endpoint_created", {{"tenant_id", tenant_id}, {"endpoint_id", e.id}, {"url", url}});
  return e;
}

Result<std::vector<WebhookEndpoint>> Webhooks::ListEndpoints(const std::string& tenant_id) {
  auto s = db_.Lock();
  auto& st = s.Prepare(
      "SELECT id, tenant_id, url, secret, events_json, description, created_ms FROM webhook_endpoints "
      "WHERE tenant_id = ? AND deleted_ms IS NULL ORDER BY created_ms, id");
  st.Bind(1, tenant_id);
  std::vector<WebhookEndpoint> out;
  while (true) {
    KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ReadEndpoint(st));
  }
  return out;
}

Status Webhooks::DeleteEndpoint(const std::string& tenant_id, const std::string& endpoint_id) {
  const int64_t now = clock_.NowMs();
  auto s = db_.Lock();
  auto tx = s.Begin();
  KEFU_RETURN_IF_ERROR(tx.status());
  auto& st =
      s.Prepare("UPDATE webhook_endpoints SET deleted_ms = ? WHERE tenant_id = ? AND id = ? AND deleted_ms IS NULL");
  st.Bind(1, now).Bind(2, tenant_id).Bind(3, endpoint_id);
  KEFU_RETURN_IF_ERROR(st.Run());
  if (s.Changes() == 0) return NotFound("webhook endpoint " + endpoint_id + " does not exist");
  auto& cancel = s.Prepare(
      "UPDATE webhook_deliveries SET status = 'cancelled', updated_ms = ?, last_error = 'endpoint deleted' "
      "WHERE endpoint_id = ? AND status IN ('pending', 'dead')");
  cancel.Bind(1, now).Bind(2, endpoint_id);
  KEFU_RETURN_IF_ERROR(cancel.Run());
  KEFU_RETURN_IF_ERROR(tx.Commit());
  log::Info("webhook_endpoint_deleted", {{"tenant_id", tenant_id}, {"endpoint_id", endpoint_id}});
  return Status::Ok();
}

Result<int> Webhooks::EnqueueLocked(storage::Session& s, const std::string& tenant_id, const std::string& event_type,
                                    const json& data) {
  auto& st = s.Prepare(
      "SELECT id, tenant_id, url, secret, events_json, description, created_ms FROM webhook_endpoints "
      "WHERE tenant_id = ? AND deleted_ms IS NULL");
  st.Bind(1, tenant_id);
  std::vector<std::string> targets;
  while (true) {
    KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    WebhookEndpoint e = ReadEndpoint(st);
    if (Subscribed(e.events, event_type)) targets.push_back(e.id);
  }
  if (targets.empty()) return 0;
  const int64_t now = clock_.NowMs();
  // One event id for all endpoints; a delivery id per endpoint.
  json event = {{"id", "evt_" + crypto::RandomHex(12)},
                {"type", event_type},
                {"created_ms", now},
                {"tenant_id", tenant_id},
                {"data", data}};
  const std::string payload = DumpCompact(event);
  auto& ins = s.Prepare(
      "INSERT INTO webhook_deliveries(id, tenant_id, endpoint_id, event_id, event_type, payload, status, attempts, "
      "next_attempt_ms, created_ms, updated_ms) VALUES(?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)");
  for (const auto& endpoint : targets) {
    ins.Reset();
    ins.Bind(1, "dlv_" + crypto::RandomHex(12)).Bind(2, tenant_id).Bind(3, endpoint);
    ins.Bind(4, event["id"].get<std::string>()).Bind(5, event_type).Bind(6, payload);
    ins.Bind(7, now).Bind(8, now).Bind(9, now);
    KEFU_RETURN_IF_ERROR(ins.Run());
  }
  enqueued_.Inc(static_cast<int64_t>(targets.size()));
  return static_cast<int>(targets.size());
}

void Webhooks::Notify() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

void Webhooks::Start() {
  std::lock_guard<std::mutex> start(start_mu_);
  if (thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void Webhooks::Stop() {
  std::lock_guard<std::mutex> start(start_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Webhooks::Run() {
  const int kBatch = std::max(16, settings_.workers * 8);
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      wake_ = false;
    }
    int n = DeliverDue(kBatch);
    if (n >= kBatch) continue;  // more may be due right away
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(settings_.poll_ms), [this] { return stopping_ || wake_; });
    if (stopping_) return;
  }
}

double Webhooks::NextRandom() {
  std::lock_guard<std::mutex> lock(rng_mu_);
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
}

int Webhooks::DeliverDue(int max) {
  const int64_t now = clock_.NowMs();
  std::vector<Claimed> claimed;
  {
    auto s = db_.Lock();
    auto tx = s.Begin();
    if (!tx.status().ok()) {
      log::Warn("webhook_claim_failed", {{"error", tx.status().ToString()}});
      return 0;
    }
    auto& due = s.Prepare(std::string("SELECT d.") +
                          "id, d.tenant_id, d.endpoint_id, d.event_id, d.event_type, "
                          "d.payload, d.status, d.attempts, d.next_attempt_ms, d.last_status, d.last_error, "
                          "d.created_ms, d.updated_ms, d.delivered_ms, e.url, e.secret FROM webhook_deliveries d "
                          "JOIN webhook_endpoints e ON e.id = d.endpoint_id "
                          "WHERE d.status = 'pending' AND d.next_attempt_ms <= ? ORDER BY d.next_attempt_ms LIMIT ?");
    due.Bind(1, now).Bind(2, max);
    while (true) {
      auto row = due.Step();
      if (!row.ok()) {
        log::Warn("webhook_claim_failed", {{"error", row.status().ToString()}});
        return 0;
      }
      if (!*row) break;
      Claimed c;
      c.delivery = ReadDelivery(due);
      c.url = due.Text(14);
      c.secret = due.Text(15);
      claimed.push_back(std::move(c));
    }
    due.Reset();
    // The lease: nobody else picks these rows until the attempt is recorded
    // or the lease runs out (this process died mid-attempt).
    auto& lease = s.Prepare("UPDATE webhook_deliveries SET next_attempt_ms = ? WHERE id = ? AND status = 'pending'");
    for (const auto& c : claimed) {
      lease.Reset();
      lease.Bind(1, now + settings_.timeout_ms + kLeaseSlackMs).Bind(2, c.delivery.id);
      Status st = lease.Run();
      if (!st.ok()) {
        log::Warn("webhook_claim_failed", {{"error", st.ToString()}});
        return 0;
      }
    }
    Status st = tx.Commit();
    if (!st.ok()) {
      log::Warn("webhook_claim_failed", {{"error", st.ToString()}});
      return 0;
    }
  }
  if (claimed.empty()) return 0;
  std::latch done(static_cast<std::ptrdiff_t>(claimed.size()));
  for (const auto& c : claimed) {
    bool queued = pool_.Submit([this, &c, &done] {
      Attempt(c);
      done.count_down();
    });
    if (!queued) done.count_down();  // shutting down: the lease expires and another run retries it
  }
  done.wait();
  return static_cast<int>(claimed.size());
}

void Webhooks::Attempt(const Claimed& c) {
  const Delivery& d = c.delivery;
  const std::string timestamp = std::to_string(clock_.NowMs() / 1000);
  std::vector<std::pair<std::string, std::string>> headers = {
      {"X-Kefu-Timestamp", timestamp}, {"X-Kefu-Signature", SignPayload(c.secret, timestamp, d.payload)},
      {"Idempotency-Key", d.id},       {"X-Kefu-Event", d.event_type},
      {"X-Kefu-Delivery", d.id},
  };
  const int64_t start_ns = SystemClock::Instance().MonotonicNs();
  PostOutcome out = transport_->Post(c.url, headers, d.payload, settings_.timeout_ms);
  attempt_seconds_.Observe(static_cast<double>(SystemClock::Instance().MonotonicNs() - start_ns) / 1e9);

  const int attempts = d.attempts + 1;
  const int64_t now = clock_.NowMs();
  const bool ok = out.status >= 200 && out.status < 300;
  const bool retryable = out.status == 0 || out.status == 408 || out.status == 429 || out.status >= 500;
  std::string status = "pending";
  int64_t next = now;
  if (ok) {
    status = "delivered";
  } else if (!retryable || attempts >= settings_.max_attempts) {
    status = "dead";
  } else {
    int64_t delay = BackoffMs(settings_, attempts, NextRandom());
    if (out.retry_after_ms > delay) delay = std::min(out.retry_after_ms, settings_.max_backoff_ms);
    next = now + delay;
  }

  auto s = db_.Lock();
  auto& st = s.Prepare(
      "UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_ms = ?, last_status = ?, last_error = ?, "
      "updated_ms = ?, delivered_ms = ? WHERE id = ? AND status = 'pending'");
  st.Bind(1, status).Bind(2, attempts).Bind(3, next);
  st.Bind(4, out.status ? std::optional<int64_t>(out.status) : std::nullopt);
  st.Bind(5, ok ? std::nullopt : std::optional<std::string>(out.error.substr(0, 500)));
  st.Bind(6, now).Bind(7, ok ? std::optional<int64_t>(now) : std::nullopt).Bind(8, d.id);
  Status result = st.Run();
  if (!result.ok()) {
    // The lease runs out and the delivery is attempted again: at least once.
    log::Warn("webhook_record_failed", {{"delivery_id", d.id}, {"error", result.ToString()}});
    return;
  }
  json fields = {{"tenant_id", d.tenant_id},   {"delivery_id", d.id}, {"endpoint_id", d.endpoint_id},
                 {"event_type", d.event_type}, {"attempt", attempts}, {"http_status", out.status}};
  if (ok) {
    delivered_.Inc();
    log::Debug("webhook_delivered", fields);
  } else if (status == "dead") {
    dead_.Inc();
    fields["error"] = out.error;
    log::Warn("webhook_dead_letter", fields);
  } else {
    retried_.Inc();
    fields["error"] = out.error;
    fields["retry_in_ms"] = next - now;
    log::Info("webhook_retry", fields);
  }
}

Result<std::vector<Delivery>> Webhooks::ListDeliveries(const std::string& tenant_id, const std::string& status,
                                                       const std::string& endpoint_id, int limit) {
  auto s = db_.Lock();
  auto& st = s.Prepare(std::string("SELECT ") + kDeliveryColumns +
                       " FROM webhook_deliveries WHERE tenant_id = ?1 AND (?2 = '' OR status = ?2) AND "
                       "(?3 = '' OR endpoint_id = ?3) ORDER BY created_ms DESC, id DESC LIMIT ?4");
  st.Bind(1, tenant_id).Bind(2, status).Bind(3, endpoint_id).Bind(4, limit);
  std::vector<Delivery> out;
  while (true) {
    KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ReadDelivery(st));
  }
  return out;
}

Result<Delivery> Webhooks::GetDelivery(const std::string& tenant_id, const std::string& delivery_id) {
  auto s = db_.Lock();
  auto& st =
      s.Prepare(std::string("SELECT ") + kDeliveryColumns + " FROM webhook_deliveries WHERE tenant_id = ? AND id = ?");
  st.Bind(1, tenant_id).Bind(2, delivery_id);
  KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NotFound("webhook delivery " + delivery_id + " does not exist");
  return ReadDelivery(st);
}

Result<Delivery> Webhooks::Replay(const std::string& tenant_id, const std::string& delivery_id) {
  {
    const int64_t now = clock_.NowMs();
    auto s = db_.Lock();
    auto& st = s.Prepare(
        "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_ms = ?, updated_ms = ? "
        "WHERE tenant_id = ? AND id = ? AND status = 'dead'");
    st.Bind(1, now).Bind(2, now).Bind(3, tenant_id).Bind(4, delivery_id);
    KEFU_RETURN_IF_ERROR(st.Run());
    if (s.Changes() == 0) {
      auto& exists = s.Prepare("SELECT status FROM webhook_deliveries WHERE tenant_id = ? AND id = ?");
      exists.Bind(1, tenant_id).Bind(2, delivery_id);
      KEFU_ASSIGN_OR_RETURN(bool row, exists.Step());
      if (!row) return NotFound("webhook delivery " + delivery_id + " does not exist");
      return Conflict("only dead letters can be replayed; delivery " + delivery_id + " is " + exists.Text(0));
    }
  }
  replayed_.Inc();
  Notify();
  return GetDelivery(tenant_id, delivery_id);
}

Result<int> Webhooks::ReplayDead(const std::string& tenant_id, const std::string& endpoint_id) {
  int n = 0;
  {
    const int64_t now = clock_.NowMs();
    auto s = db_.Lock();
    auto& st = s.Prepare(
        "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_ms = ?1, updated_ms = ?1 "
        "WHERE tenant_id = ?2 AND status = 'dead' AND (?3 = '' OR endpoint_id = ?3)");
    st.Bind(1, now).Bind(2, tenant_id).Bind(3, endpoint_id);
    KEFU_RETURN_IF_ERROR(st.Run());
    n = s.Changes();
  }
  replayed_.Inc(n);
  if (n > 0) Notify();
  return n;
}

}  // namespace kefu::inbox
