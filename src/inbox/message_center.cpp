#include "inbox/message_center.h"

#include <algorithm>

#include "common/json.h"
#include "common/log.h"
#include "common/utf8.h"
#include "common/crypto.h"

namespace kefu::inbox {
namespace {

using nlohmann::json;

constexpr const char* kColumns =
    "id, tenant_id, customer_id, kind, title, body, action_json, source, idempotency_key, created_ms, expires_ms, "
    "read_ms, acked_ms";

bool IdOk(std::string_view s, size_t max_len) {
  if (s.empty() || s.size() > max_len) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == ':' || c == '@';
  });
}

std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

InboxMessage ReadRow(storage::Statement& st) {
  InboxMessage m;
  m.id = st.Int(0);
  m.tenant_id = st.Text(1);
  m.customer_id = st.Text(2);
  m.kind = st.Text(3);
  m.title = st.Text(4);
  m.body = st.Text(5);
  if (auto a = st.OptText(6)) {
    m.action = ParseJsonOrDiscarded(*a);
    if (m.action.is_discarded()) m.action = nullptr;
  }
  m.source = st.Text(7);
  m.idempotency_key = st.OptText(8);
  m.created_ms = st.Int(9);
  m.expires_ms = st.OptInt(10);
  m.read_ms = st.OptInt(11);
  m.acked_ms = st.OptInt(12);
  return m;
}

Status ValidText(const std::string& v, const char* name, size_t max_bytes) {
  if (!utf8::IsValid(v)) return InvalidArgument(std::string(name) + " is not valid UTF-8");
  if (utf8::Trim(v).empty()) return InvalidArgument(std::string(name) + " is required");
  if (v.size() > max_bytes)
    return InvalidArgument(std::string(name) + " is longer than " + std::to_string(max_bytes) + " bytes");
  return Status::Ok();
}

// The fingerprint that decides whether a reused idempotency key is a retry.
std::string ContentHash(const SendRequest& r, const std::string& action) {
  json j = {r.customer_id, r.kind, r.title, r.body, action, r.expires_ms ? json(*r.expires_ms) : json(nullptr)};
  return crypto::Sha256Hex(Dump(j));
}

// The message as it appears in webhook events.
json EventData(const InboxMessage& m) {
  return {{"message", m.ToJson()}, {"customer_id", m.customer_id}};
}

}  // namespace

const std::vector<std::string>& MessageKinds() {
  static const std::vector<std::string> kKinds = {"remedy",       "proactive", "notice", "ticket_update",
                                                  "order_update", "marketing", "survey", "system"};
  return kKinds;
}

json InboxMessage::ToJson() const {
  auto opt = [](const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); };
  return {{"id", id},
          {"customer_id", customer_id},
          {"kind", kind},
          {"title", title},
          {"body", body},
          {"action", action},
          {"source", source},
          {"idempotency_key", idempotency_key ? json(*idempotency_key) : json(nullptr)},
          {"created_ms", created_ms},
          {"expires_ms", opt(expires_ms)},
          {"read_ms", opt(read_ms)},
          {"acked_ms", opt(acked_ms)}};
}

MessageCenter::MessageCenter(storage::Database& db, const Clock& clock, metrics::Registry& metrics, Webhooks* webhooks)
    : db_(db), clock_(clock), metrics_(metrics), webhooks_(webhooks) {}

void MessageCenter::SetListener(Listener listener) {
  std::lock_guard<std::mutex> lock(listener_mu_);
  listener_ = std::move(listener);
}

Result<SendResult> MessageCenter::Send(const SendRequest& req) {
  if (!IdOk(req.tenant_id, 64)) return InvalidArgument("tenant_id is invalid");
  if (!IdOk(req.customer_id, 64))
    return InvalidArgument("customer_id is required: 1-64 characters of letters, digits and - _ . : @");
  const auto& kinds = MessageKinds();
  if (std::find(kinds.begin(), kinds.end(), req.kind) == kinds.end()) {
    std::string all;
    for (const auto& k : kinds) all += (all.empty() ? "" : ", ") + k;
    return InvalidArgument("kind must be one of " + all);
  }
  KEFU_RETURN_IF_ERROR(ValidText(req.title, "title", kMaxTitleBytes));
  KEFU_RETURN_IF_ERROR(ValidText(req.body, "body", kMaxBodyBytes));
  std::optional<std::string> action;
  if (!req.action.is_null()) {
    if (!req.action.is_object()) return InvalidArgument("action must be an object");
    action = Dump(req.action);
    if (action->size() > kMaxActionBytes)
      return InvalidArgument("action is larger than " + std::to_string(kMaxActionBytes) + " bytes");
  }
  if (!req.idempotency_key.empty() && !IdOk(req.idempotency_key, 128))
    return InvalidArgument("idempotency_key: 1-128 characters of letters, digits and - _ . : @");
  const int64_t now = clock_.NowMs();
  if (req.expires_ms && *req.expires_ms <= now) return InvalidArgument("expires_ms must be in the future");
  if (!IdOk(req.source, 64)) return InvalidArgument("source: 1-64 characters of letters, digits and - _ . : @");
  const std::string hash = ContentHash(req, action.value_or(""));

  InboxMessage m;
  {
    auto s = db_.Lock();
    auto tx = s.Begin();
    KEFU_RETURN_IF_ERROR(tx.status());
    if (!req.idempotency_key.empty()) {
      auto& prior = s.Prepare(std::string("SELECT ") + kColumns +
                              ", content_sha256 FROM inbox_messages WHERE tenant_id = ? AND idempotency_key = ?");
      prior.Bind(1, req.tenant_id).Bind(2, req.idempotency_key);
      KEFU_ASSIGN_OR_RETURN(bool found, prior.Step());
      if (found) {
        if (prior.Text(13) != hash)
          return Conflict("idempotency_key " + req.idempotency_key + " was already used for a different message");
        return SendResult{ReadRow(prior), false};
      }
    }
    auto& ins = s.Prepare(
        "INSERT INTO inbox_messages(tenant_id, customer_id, kind, title, body, action_json, source, "
        "idempotency_key, content_sha256, created_ms, expires_ms) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
    ins.Bind(1, req.tenant_id).Bind(2, req.customer_id).Bind(3, req.kind).Bind(4, req.title).Bind(5, req.body);
    ins.Bind(6, action).Bind(7, req.source);
    ins.Bind(8, req.idempotency_key.empty() ? std::nullopt : std::optional<std::string>(req.idempotency_key));
    ins.Bind(9, hash).Bind(10, now).Bind(11, req.expires_ms);
    KEFU_ASSIGN_OR_RETURN(bool inserted, ins.Step());
    m.id = inserted ? ins.Int(0) : 0;
    ins.Reset();
    m.tenant_id = req.tenant_id;
    m.customer_id = req.customer_id;
    m.kind = req.kind;
    m.title = req.title;
    m.body = req.body;
    m.action = req.action.is_null() ? json(nullptr) : req.action;
    m.source = req.source;
    if (!req.idempotency_key.empty()) m.idempotency_key = req.idempotency_key;
    m.created_ms = now;
    m.expires_ms = req.expires_ms;
    if (webhooks_)
      KEFU_RETURN_IF_ERROR(webhooks_->EnqueueLocked(s, req.tenant_id, kEventMessageCreated, EventData(m)).status());
    KEFU_RETURN_IF_ERROR(tx.Commit());
  }
  metrics_.GetCounter("kefu_inbox_messages_total", "Inbox messages created, by kind", "kind=\"" + m.kind + "\"").Inc();
  log::Info("inbox_message_sent", {{"tenant_id", m.tenant_id},
                                   {"customer_id", m.customer_id},
                                   {"message_id", m.id},
                                   {"kind", m.kind},
                                   {"source", m.source}});
  if (webhooks_) webhooks_->Notify();
  Listener listener;
  {
    std::lock_guard<std::mutex> lock(listener_mu_);
    listener = listener_;
  }
  if (listener) listener(m);
  return SendResult{std::move(m), true};
}

Result<ListPage> MessageCenter::List(const std::string& tenant_id, const std::string& customer_id, const ListQuery& q) {
  if (q.limit < 1 || q.limit > 100) return InvalidArgument("limit must be 1..100");
  if (q.after < 0) return InvalidArgument("after must be a cursor from next_cursor");
  auto s = db_.Lock();
  auto& st = s.Prepare(std::string("SELECT ") + kColumns +
                       " FROM inbox_messages WHERE tenant_id = ?1 AND customer_id = ?2 AND (?3 = 0 OR id < ?3) "
                       "AND (?4 = 0 OR read_ms IS NULL) AND (expires_ms IS NULL OR expires_ms > ?5) "
                       "ORDER BY id DESC LIMIT ?6");
  st.Bind(1, tenant_id).Bind(2, customer_id).Bind(3, q.after).Bind(4, q.unread_only ? 1 : 0);
  st.Bind(5, clock_.NowMs()).Bind(6, q.limit + 1);
  ListPage page;
  while (true) {
    KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    page.messages.push_back(ReadRow(st));
  }
  if (static_cast<int>(page.messages.size()) > q.limit) {
    page.messages.pop_back();
    page.next_cursor = page.messages.back().id;
  }
  return page;
}

Result<int64_t> MessageCenter::UnreadCount(const std::string& tenant_id, const std::string& customer_id) {
  auto s = db_.Lock();
  auto& st = s.Prepare(
      "SELECT COUNT(*) FROM inbox_messages WHERE tenant_id = ? AND customer_id = ? AND read_ms IS NULL "
      "AND (expires_ms IS NULL OR expires_ms > ?)");
  st.Bind(1, tenant_id).Bind(2, customer_id).Bind(3, clock_.NowMs());
  KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.Int(0) : int64_t{0};
}

Result<InboxMessage> MessageCenter::Get(const std::string& tenant_id, const std::string& customer_id, int64_t id) {
  auto s = db_.Lock();
  auto& st = s.Prepare(std::string("SELECT ") + kColumns +
                       " FROM inbox_messages WHERE tenant_id = ? AND customer_id = ? AND id = ? "
                       "AND (expires_ms IS NULL OR expires_ms > ?)");
  st.Bind(1, tenant_id).Bind(2, customer_id).Bind(3, id).Bind(4, clock_.NowMs());
  KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NotFound("inbox message " + std::to_string(id) + " does not exist");
  return ReadRow(st);
}

Result<InboxMessage> MessageCenter::MarkRead(const std::string& tenant_id, const std::string& customer_id, int64_t id) {
  return Mark(tenant_id, customer_id, id, /*ack=*/false);
}

Result<InboxMessage> MessageCenter::Ack(const std::string& tenant_id, const std::string& customer_id, int64_t id) {
  return Mark(tenant_id, customer_id, id, /*ack=*/true);
}

Result<InboxMessage> MessageCenter::Mark(const std::string& tenant_id, const std::string& customer_id, int64_t id,
                                         bool ack) {
  const int64_t now = clock_.NowMs();
  InboxMessage m;
  bool changed = false;
  {
    auto s = db_.Lock();
    auto tx = s.Begin();
    KEFU_RETURN_IF_ERROR(tx.status());
    auto& st = s.Prepare(std::string("SELECT ") + kColumns +
                         " FROM inbox_messages WHERE tenant_id = ? AND customer_id = ? AND id = ? "
                         "AND (expires_ms IS NULL OR expires_ms > ?)");
    st.Bind(1, tenant_id).Bind(2, customer_id).Bind(3, id).Bind(4, now);
    KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return NotFound("inbox message " + std::to_string(id) + " does not exist");
    m = ReadRow(st);
    st.Reset();
    const bool set_read = !m.read_ms.has_value();
    const bool set_ack = ack && !m.acked_ms.has_value();
    if (!set_read && !set_ack) return m;
    if (set_read) m.read_ms = now;
    if (set_ack) m.acked_ms = now;
    auto& up = s.Prepare("UPDATE inbox_messages SET read_ms = ?, acked_ms = ? WHERE id = ?");
    up.Bind(1, m.read_ms).Bind(2, m.acked_ms).Bind(3, id);
    KEFU_RETURN_IF_ERROR(up.Run());
    if (webhooks_) {
      if (set_read)
        KEFU_RETURN_IF_ERROR(webhooks_->EnqueueLocked(s, tenant_id, kEventMessageRead, EventData(m)).status());
      if (set_ack)
        KEFU_RETURN_IF_ERROR(webhooks_->EnqueueLocked(s, tenant_id, kEventMessageAcked, EventData(m)).status());
    }
    KEFU_RETURN_IF_ERROR(tx.Commit());
    changed = true;
  }
  if (changed && webhooks_) webhooks_->Notify();
  return m;
}

}  // namespace kefu::inbox
