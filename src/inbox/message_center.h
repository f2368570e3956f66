// MessageCenter: the in-app inbox of each (tenant, customer) — how remedies,
// proactive answers, ticket updates and notices reach a customer's app
// (docs/inbox.md). Other modules send with
//
//   inbox::SendRequest req;
//   req.tenant_id = "demo"; req.customer_id = "C0001";
//   req.kind = "remedy"; req.title = "补偿券已发放"; req.body = "...";
//   req.action = {{"url", "app://coupons/123"}};
//   req.idempotency_key = "remedy-T42";   // retries return the same message
//   auto r = center.Send(req);            // r->created == false on a retry
//
// Every state change (created, read, acked) writes its webhook deliveries in
// the same SQLite transaction (Webhooks::EnqueueLocked), so the business's
// app hears of each one at least once, even across crashes.
//
// Idempotency: a key is unique per tenant. The same key with the same
// content returns the stored message (created = false); with different
// content it is a Conflict. Content = customer, kind, title, body, action,
// expires_ms.
// Expired messages (expires_ms <= now) are invisible: not listed, not
// counted, NotFound for read/ack.
//
// Thread-safe. `db`, `clock`, `metrics` and `webhooks` (may be null: no
// webhooks) must outlive the MessageCenter.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/status.h"
#include "inbox/webhooks.h"
#include "storage/database.h"

namespace kefu::inbox {

// Message kinds accepted by Send.
const std::vector<std::string>& MessageKinds();

inline constexpr size_t kMaxTitleBytes = 200;
inline constexpr size_t kMaxBodyBytes = 4000;
inline constexpr size_t kMaxActionBytes = 4096;

struct InboxMessage {
  int64_t id = 0;
  std::string tenant_id;
  std::string customer_id;
  std::string kind;
  std::string title;
  std::string body;
  nlohmann::json action;  // null when none; else an object ({"url": ..., "payload": {...}})
  std::string source;     // who sent it ("api", "remedies", ...)
  std::optional<std::string> idempotency_key;
  int64_t created_ms = 0;
  std::optional<int64_t> expires_ms;
  std::optional<int64_t> read_ms;
  std::optional<int64_t> acked_ms;
  nlohmann::json ToJson() const;
};

struct SendRequest {
  std::string tenant_id;
  std::string customer_id;            // 1-64 of [A-Za-z0-9-_.:@]
  std::string kind;                   // one of MessageKinds()
  std::string title;                  // 1..kMaxTitleBytes of UTF-8
  std::string body;                   // 1..kMaxBodyBytes of UTF-8
  nlohmann::json action;              // null or an object of at most kMaxActionBytes serialised
  std::optional<int64_t> expires_ms;  // must be in the future
  std::string idempotency_key;        // "" = none; else 1-128 of [A-Za-z0-9-_.:@]
  std::string source = "api";
};

struct SendResult {
  InboxMessage message;
  bool created = false;  // false: an earlier Send with the same key
};

struct ListQuery {
  bool unread_only = false;
  int64_t after = 0;  // cursor: the next_cursor of the previous page (0 = newest)
  int limit = 20;     // 1..100
};

struct ListPage {
  std::vector<InboxMessage> messages;  // newest first
  std::optional<int64_t> next_cursor;  // set when more messages may follow
};

class MessageCenter {
 public:
  MessageCenter(storage::Database& db, const Clock& clock, metrics::Registry& metrics, Webhooks* webhooks);

  Result<SendResult> Send(const SendRequest& req);
  Result<ListPage> List(const std::string& tenant_id, const std::string& customer_id, const ListQuery& q);
  Result<int64_t> UnreadCount(const std::string& tenant_id, const std::string& customer_id);
  Result<InboxMessage> Get(const std::string& tenant_id, const std::string& customer_id, int64_t id);
  // Sets read_ms (first call only; later calls return the message unchanged).
  Result<InboxMessage> MarkRead(const std::string& tenant_id, const std::string& customer_id, int64_t id);
  // Sets acked_ms (and read_ms if unset); idempotent like MarkRead.
  Result<InboxMessage> Ack(const std::string& tenant_id, const std::string& customer_id, int64_t id);

  // Called after each newly created message is committed, on the sending
  // thread (e.g. to push it to the customer's open streams). Must not block.
  using Listener = std::function<void(const InboxMessage&)>;
  void SetListener(Listener listener);

 private:
  Result<InboxMessage> Mark(const std::string& tenant_id, const std::string& customer_id, int64_t id, bool ack);

  storage::Database& db_;
  const Clock& clock_;
  metrics::Registry& metrics_;
  Webhooks* webhooks_;
  std::mutex listener_mu_;
  Listener listener_;  // GUARDED_BY(listener_mu_)
};

}  // namespace kefu::inbox
