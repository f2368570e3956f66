#include "datahub/profile.h"

#include "tools/commerce_rows.h"
#include "dialogue/conversation_rows.h"

#include "common/json.h"

#include <algorithm>

#include "tools/commerce_store.h"

namespace kefu::datahub {
namespace {


using nlohmann::json;

json ConversationJson(const dialogue::rows::ConversationRow& c) {
  return {{"id", c.id},          {"customer_id", c.customer_id}, {"channel", c.channel},
          {"status", c.status},  {"created_ms", c.created_ms},   {"updated_ms", c.updated_ms}};
}

constexpr int64_t kDayMs = 86'400'000;

// Keeps the `limit` rows with the largest `key` (newest first).
void NewestFirst(json& rows, const char* key, int limit) {
  std::stable_sort(rows.begin(), rows.end(),
                   [key](const json& a, const json& b) { return a[key].get<int64_t>() > b[key].get<int64_t>(); });
  if (static_cast<int>(rows.size()) > limit) rows.erase(rows.begin() + limit, rows.end());
}

int Score(int64_t v, std::initializer_list<int64_t> thresholds) {  // thresholds for scores 5, 4, 3, 2
  int score = 5;
  for (int64_t t : thresholds) {
    if (v >= t) return score;
    --score;
  }
  return 1;
}

std::string Segment(int r, int f, int m) {
  if (r >= 4 && f >= 4 && m >= 4) return "champion";
  if (r >= 3 && f >= 3) return "loyal";
  if (r >= 4 && f <= 2) return "new";
  if (r <= 2 && f >= 3) return "at_risk";
  if (r <= 2) return "hibernating";
  return "regular";
}

}  // namespace

Result<json> ProfileService::Get(const std::string& tenant, const std::string& customer_id,
                                 const ProfileOptions& o) {
  int64_t now = clock_.NowMs();
  auto s = db_.Lock();
  KEFU_ASSIGN_OR_RETURN(std::vector<std::string> ids, identity_.ClusterIds(s, tenant, customer_id));
  const std::string& root = ids.front();
  json profile;
  profile["customer_id"] = root;
  profile["requested_id"] = customer_id;
  profile["merged_ids"] = json(std::vector<std::string>(ids.begin() + 1, ids.end()));
  {
    KEFU_ASSIGN_OR_RETURN(std::optional<tools::rows::CustomerRecord> c, tools::rows::GetCustomerRecord(s, tenant, root));
    if (!c) return NotFound("customer " + root + " not found");
    auto opt = [](const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); };
    profile["demographics"] = {{"name", c->name},      {"phone", opt(c->phone)},   {"email", opt(c->email)},
                               {"city", opt(c->city)}, {"gender", opt(c->gender)}, {"birthday", opt(c->birthday)},
                               {"customer_since_ms", c->created_ms}};
    profile["tier"] = c->tier;
  }

  // Identities of every record in the cluster; device ids also find anonymous browsing.
  json identities = json::array();
  std::vector<std::string> devices;
  for (const auto& id : ids) {
    auto& st = s.Prepare(
        "SELECT kind, value, source, created_ms FROM customer_identities INDEXED BY identities_by_customer WHERE tenant_id = ? AND customer_id = ?");
    st.Bind(1, tenant).Bind(2, id);
    while (true) {
      KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      identities.push_back({{"kind", st.Text(0)}, {"value", st.Text(1)}, {"customer_id", id}, {"source", st.Text(2)}});
      if (st.Text(0) == "device_id") devices.push_back(st.Text(1));
    }
  }
  profile["identities"] = identities;

  // Value: RFM over orders that were paid for, lifetime value from transactions when there are any.
  int64_t frequency = 0, monetary = 0, last_order = 0, first_order = 0;
  json orders = json::array();
  for (const auto& id : ids) {
    KEFU_ASSIGN_OR_RETURN(tools::rows::OrderStats stats, tools::rows::PaidOrderStats(s, tenant, id));
    if (stats.count > 0) {
      frequency += stats.count;
      monetary += stats.total_cents;
      last_order = std::max(last_order, stats.last_ms);
      first_order = first_order == 0 ? stats.first_ms : std::min(first_order, stats.first_ms);
    }
    KEFU_ASSIGN_OR_RETURN(std::vector<tools::rows::OrderRecord> recent,
                          tools::rows::RecentOrders(s, tenant, id, o.recent_orders));
    for (const auto& r : recent) {
      json items = ParseJsonOrDiscarded(r.items_json);
      orders.push_back({{"id", r.id},
                        {"customer_id", id},
                        {"status", r.status},
                        {"status_label", std::string(tools::OrderStatusLabel(r.status))},
                        {"total_cents", r.total_cents},
                        {"items", items.is_discarded() ? json::array() : items},
                        {"carrier", r.carrier ? json(*r.carrier) : json(nullptr)},
                        {"tracking_no", r.tracking_no ? json(*r.tracking_no) : json(nullptr)},
                        {"created_ms", r.created_ms},
                        {"updated_ms", r.updated_ms}});
    }
  }
  NewestFirst(orders, "created_ms", o.recent_orders);
  for (auto& ord : orders) {
    KEFU_ASSIGN_OR_RETURN(std::optional<tools::LogisticsEvent> e,
                          tools::rows::LatestLogisticsEvent(s, tenant, ord["id"].get<std::string>()));
    if (e) {
      ord["logistics"] = {{"status", e->status},
                          {"status_label", std::string(tools::LogisticsStatusLabel(e->status))},
                          {"ts_ms", e->ts_ms},
                          {"location", e->location},
                          {"description", e->description}};
    } else {
      ord["logistics"] = nullptr;
    }
  }
  profile["recent_orders"] = orders;

  int64_t paid = 0, refunded = 0, tx_count = 0;
  json transactions = json::array();
  for (const auto& id : ids) {
    auto& agg = s.Prepare(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN type = 'payment' THEN amount_cents ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN type != 'payment' THEN amount_cents ELSE 0 END), 0) FROM transactions "
        "INDEXED BY transactions_by_customer WHERE tenant_id = ? AND customer_id = ? AND status = 'succeeded'");
    agg.Bind(1, tenant).Bind(2, id);
    KEFU_ASSIGN_OR_RETURN(bool row, agg.Step());
    if (row) {
      tx_count += agg.Int(0);
      paid += agg.Int(1);
      refunded += agg.Int(2);
    }
    agg.Reset();
    auto& st = s.Prepare(
        "SELECT id, order_id, ts_ms, type, method, amount_cents, currency, status, card_last4 FROM transactions "
        "INDEXED BY transactions_by_customer WHERE tenant_id = ? AND customer_id = ? ORDER BY ts_ms DESC LIMIT ?");
    st.Bind(1, tenant).Bind(2, id).Bind(3, o.transactions);
    while (true) {
      KEFU_ASSIGN_OR_RETURN(bool r, st.Step());
      if (!r) break;
      transactions.push_back({{"id", st.Text(0)},
                              {"order_id", st.IsNull(1) ? json(nullptr) : json(st.Text(1))},
                              {"ts_ms", st.Int(2)},
                              {"type", st.Text(3)},
                              {"method", st.Text(4)},
                              {"amount_cents", st.Int(5)},
                              {"currency", st.Text(6)},
                              {"status", st.Text(7)},
                              {"card_last4", st.IsNull(8) ? json(nullptr) : json(st.Text(8))}});
    }
  }
  NewestFirst(transactions, "ts_ms", o.transactions);
  profile["recent_transactions"] = transactions;

  int r = 1, f = 1, m = 1;
  json recency = nullptr;
  if (frequency > 0) {
    int64_t days = std::max<int64_t>(0, (now - last_order) / kDayMs);
    recency = days;
    r = 6 - Score(days, {366, 181, 91, 31});  // fewer days = better: 0-30 -> 5 ... > 365 -> 1
    f = Score(frequency, {10, 5, 3, 2});
    m = Score(monetary, {1'000'000, 500'000, 200'000, 50'000});
  }
  bool by_tx = tx_count > 0;
  profile["value"] = {
      {"rfm",
       {{"recency_days", recency},
        {"frequency", frequency},
        {"monetary_cents", monetary},
        {"r", r},
        {"f", f},
        {"m", m},
        {"score", std::to_string(r) + std::to_string(f) + std::to_string(m)},
        {"segment", frequency > 0 ? Segment(r, f, m) : "prospect"}}},
      {"lifetime_value_cents", by_tx ? paid - refunded : monetary},
      {"lifetime_value_basis", by_tx ? "transactions" : "orders"},
      {"first_order_ms", first_order > 0 ? json(first_order) : json(nullptr)},
      {"last_order_ms", last_order > 0 ? json(last_order) : json(nullptr)}};

  json tickets = json::array();
  for (const auto& id : ids) {
    auto& st = s.Prepare(
        "SELECT id, order_id, subject, status, priority, channel, created_ms, updated_ms FROM tickets "
        "WHERE tenant_id = ? AND customer_id = ? AND status IN ('open', 'pending') ORDER BY updated_ms DESC LIMIT ?");
    st.Bind(1, tenant).Bind(2, id).Bind(3, o.tickets);
    while (true) {
      KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      tickets.push_back({{"id", st.Text(0)},
                         {"order_id", st.IsNull(1) ? json(nullptr) : json(st.Text(1))},
                         {"subject", st.Text(2)},
                         {"status", st.Text(3)},
                         {"priority", st.Text(4)},
                         {"channel", st.Text(5)},
                         {"created_ms", st.Int(6)},
                         {"updated_ms", st.Int(7)}});
    }
  }
  NewestFirst(tickets, "updated_ms", o.tickets);
  profile["open_tickets"] = tickets;

  json browsing = json::array();
  auto browse = [&](const char* sql, const std::string& key) -> Status {
    auto& st = s.Prepare(sql);
    st.Bind(1, tenant).Bind(2, key).Bind(3, o.browsing);
    while (true) {
      KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      browsing.push_back({{"id", st.Text(0)},
                          {"ts_ms", st.Int(1)},
                          {"type", st.Text(2)},
                          {"product_id", st.IsNull(3) ? json(nullptr) : json(st.Text(3))},
                          {"url", st.Text(4)},
                          {"query", st.Text(5)},
                          {"device_id", st.IsNull(6) ? json(nullptr) : json(st.Text(6))}});
    }
    return Status::Ok();
  };
  for (const auto& id : ids) {
    KEFU_RETURN_IF_ERROR(browse(
        "SELECT id, ts_ms, type, product_id, url, query, device_id FROM browsing_events INDEXED BY browsing_by_customer WHERE "
        "tenant_id = ? AND customer_id = ? ORDER BY ts_ms DESC LIMIT ?",
        id));
  }
  for (const auto& d : devices) {
    KEFU_RETURN_IF_ERROR(browse(
        "SELECT id, ts_ms, type, product_id, url, query, device_id FROM browsing_events WHERE tenant_id = ? AND "
        "device_id = ? AND customer_id IS NULL ORDER BY ts_ms DESC LIMIT ?",
        d));
  }
  NewestFirst(browsing, "ts_ms", o.browsing);
  profile["recent_browsing"] = browsing;

  json conversations = json::array();
  for (const auto& id : ids) {
    KEFU_ASSIGN_OR_RETURN(auto rows, dialogue::rows::CustomerConversations(s, tenant, id, o.conversations));
    for (const auto& c : rows) conversations.push_back(ConversationJson(c));
  }
  NewestFirst(conversations, "created_ms", o.conversations);
  for (auto& c : conversations) {
    KEFU_ASSIGN_OR_RETURN(auto analyses, dialogue::rows::CustomerMessageAnalyses(s, c["id"].get<std::string>(),
                                                                                 o.messages_per_conversation));
    json emotions = json::array();
    for (const auto& a : analyses)
      emotions.push_back({{"seq", a.seq},
                          {"ts_ms", a.created_ms},
                          {"emotion", a.emotion},
                          {"emotion_intensity", a.emotion_intensity},
                          {"sentiment", a.sentiment}});
    c["emotions"] = emotions;
  }
  profile["conversations"] = conversations;
  return profile;
}

Result<json> ProfileService::Conversations(const std::string& tenant, const std::string& customer_id, int limit) {
  auto s = db_.Lock();
  KEFU_ASSIGN_OR_RETURN(std::vector<std::string> ids, identity_.ClusterIds(s, tenant, customer_id));
  json out = json::array();
  for (const auto& id : ids) {
    KEFU_ASSIGN_OR_RETURN(auto rows, dialogue::rows::CustomerConversations(s, tenant, id, limit));
    for (const auto& c : rows) out.push_back(ConversationJson(c));
  }
  NewestFirst(out, "created_ms", limit);
  return out;
}

}  // namespace kefu::datahub
