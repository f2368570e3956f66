#include "tools/commerce_store.h"

#include "tools/commerce_rows.h"

#include "api/tenant_rows.h"
#include "common/json.h"

#include <array>
#include <functional>
#include <string_view>

namespace kefu::tools {
namespace {

using nlohmann::json;
using storage::Session;
using storage::Statement;

std::optional<std::string> NonEmpty(const std::optional<std::string>& s) {
  return s && !s->empty() ? s : std::nullopt;
}

json ItemsToJson(const std::vector<OrderItem>& items) {
  json a = json::array();
  for (const auto& i : items) {
    a.push_back({{"product_id", i.product_id}, {"name", i.name}, {"spec", i.spec},
                 {"qty", i.qty}, {"price_cents", i.price_cents}});
  }
  return a;
}

std::vector<OrderItem> ItemsFromJsonUncached(const std::string& text) {
  std::vector<OrderItem> out;
  json a = ParseJsonOrDiscarded(text);
  if (!a.is_array()) return out;
  for (const auto& j : a) {
    if (!j.is_object()) continue;
    OrderItem i;
    i.product_id = j.value("product_id", "");
    i.name = j.value("name", "");
    i.spec = j.value("spec", "");
    i.qty = j.value("qty", int64_t{1});
    i.price_cents = j.value("price_cents", int64_t{0});
    out.push_back(std::move(i));
  }
  return out;
}

// An order's items as stored (items_json). A turn lists the customer's latest
// orders and the next turn lists them again: this thread's last 64 readings
// are kept, keyed by the stored text itself (found by its hash).
std::vector<OrderItem> ItemsFromJson(const std::string& text) {
  struct Memo {
    uint64_t used = 0;  // 0 = empty
    size_t hash = 0;
    std::string text;
    std::vector<OrderItem> items;
  };
  thread_local std::array<Memo, 64> memo;
  thread_local uint64_t tick = 0;
  const size_t h = std::hash<std::string>{}(text);
  Memo* oldest = &memo[0];
  for (Memo& m : memo) {
    if (m.used && m.hash == h && m.text == text) {
      m.used = ++tick;
      return m.items;
    }
    if (m.used < oldest->used) oldest = &m;
  }
  std::vector<OrderItem> items = ItemsFromJsonUncached(text);
  *oldest = Memo{++tick, h, text, items};
  return items;
}

Status PutTenant(Session& s, const Tenant& t) {
  return api::tenant_rows::Upsert(s, {t.id, t.name, t.widget_key, t.created_ms});
}

Status PutCustomer(Session& s, const std::string& tenant, const Customer& c) {
  auto& st = s.Prepare(
      "INSERT INTO customers(tenant_id, id, name, phone, email, tier, city, created_ms) VALUES(?,?,?,?,?,?,?,?) "
      "ON CONFLICT(tenant_id, id) DO UPDATE SET name = excluded.name, phone = excluded.phone, "
      "email = excluded.email, tier = excluded.tier, city = excluded.city");
  st.Bind(1, tenant).Bind(2, c.id).Bind(3, c.name).Bind(4, c.phone).Bind(5, c.email).Bind(6, c.tier)
      .Bind(7, c.city).Bind(8, c.created_ms);
  return st.Run();
}

Status PutProduct(Session& s, const std::string& tenant, const Product& p) {
  auto& st = s.Prepare(
      "INSERT INTO products(tenant_id, id, name, category, brand, price_cents, stock, description, attrs_json) "
      "VALUES(?,?,?,?,?,?,?,?,?) ON CONFLICT(tenant_id, id) DO UPDATE SET name = excluded.name, "
      "category = excluded.category, brand = excluded.brand, price_cents = excluded.price_cents, "
      "stock = excluded.stock, description = excluded.description, attrs_json = excluded.attrs_json");
  st.Bind(1, tenant).Bind(2, p.id).Bind(3, p.name).Bind(4, p.category).Bind(5, p.brand).Bind(6, p.price_cents)
      .Bind(7, p.stock).Bind(8, p.description).Bind(9, p.attrs.is_object() ? p.attrs.dump() : std::string("{}"));
  return st.Run();
}

Status PutOrder(Session& s, const std::string& tenant, const Order& o) {
  auto& st = s.Prepare(
      "INSERT INTO orders(tenant_id, id, customer_id, status, total_cents, items_json, address, carrier, "
      "tracking_no, created_ms, updated_ms) VALUES(?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(tenant_id, id) DO UPDATE SET "
      "customer_id = excluded.customer_id, status = excluded.status, total_cents = excluded.total_cents, "
      "items_json = excluded.items_json, address = excluded.address, carrier = excluded.carrier, "
      "tracking_no = excluded.tracking_no, created_ms = excluded.created_ms, updated_ms = excluded.updated_ms");
  st.Bind(1, tenant).Bind(2, o.id).Bind(3, o.customer_id).Bind(4, o.status).Bind(5, o.total_cents)
      .Bind(6, ItemsToJson(o.items).dump()).Bind(7, o.address).Bind(8, NonEmpty(o.carrier))
      .Bind(9, NonEmpty(o.tracking_no)).Bind(10, o.created_ms).Bind(11, o.updated_ms);
  return st.Run();
}

Status PutEvent(Session& s, const std::string& tenant, const LogisticsEvent& e) {
  auto& st = s.Prepare(
      "INSERT INTO logistics_events(tenant_id, order_id, ts_ms, status, location, description) VALUES(?,?,?,?,?,?) "
      "ON CONFLICT(tenant_id, order_id, ts_ms, status) DO UPDATE SET location = excluded.location, "
      "description = excluded.description");
  st.Bind(1, tenant).Bind(2, e.order_id).Bind(3, e.ts_ms).Bind(4, e.status).Bind(5, e.location)
      .Bind(6, e.description);
  return st.Run();
}

constexpr std::string_view kOrderColumns =
    "id, customer_id, status, total_cents, items_json, address, carrier, tracking_no, created_ms, updated_ms";

Order ReadOrder(const Statement& st) {
  Order o;
  o.id = st.Text(0);
  o.customer_id = st.Text(1);
  o.status = st.Text(2);
  o.total_cents = st.Int(3);
  o.items = ItemsFromJson(st.Text(4));
  o.address = st.Text(5);
  o.carrier = st.OptText(6);
  o.tracking_no = st.OptText(7);
  o.created_ms = st.Int(8);
  o.updated_ms = st.Int(9);
  return o;
}

constexpr std::string_view kProductColumns = "id, name, category, brand, price_cents, stock, description, attrs_json";

Product ReadProduct(const Statement& st) {
  Product p;
  p.id = st.Text(0);
  p.name = st.Text(1);
  p.category = st.Text(2);
  p.brand = st.OptText(3).value_or("");
  p.price_cents = st.Int(4);
  p.stock = st.Int(5);
  p.description = st.Text(6);
  p.attrs = ParseJsonOrDiscarded(st.Text(7));
  if (!p.attrs.is_object()) p.attrs = json::object();
  return p;
}

// LIKE pattern matching `word` literally anywhere (escape char '\').
std::string LikeContains(std::string_view word) {
  std::string out = "%";
  for (char c : word) {
    if (c == '%' || c == '_' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('%');
  return out;
}

std::vector<std::string> SplitWords(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == ',')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t' && s[j] != ',') ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

std::string_view OrderStatusLabel(std::string_view s) {
  if (s == "pending_payment") return "待付款";
  if (s == "paid") return "待发货";
  if (s == "shipped") return "已发货";
  if (s == "in_transit") return "运输中";
  if (s == "out_for_delivery") return "派送中";
  if (s == "delivered") return "已签收";
  if (s == "cancelled") return "已取消";
  if (s == "refunding") return "退款中";
  if (s == "refunded") return "已退款";
  return s;
}

std::string_view LogisticsStatusLabel(std::string_view s) {
  if (s == "picked_up") return "已揽收";
  if (s == "in_transit") return "运输中";
  if (s == "out_for_delivery") return "派送中";
  if (s == "delivered") return "已签收";
  return s;
}

Status CommerceStore::UpsertTenant(const Tenant& tenant) {
  Tenant t = tenant;
  if (t.created_ms == 0) t.created_ms = clock_.NowMs();
  auto s = db_.Lock();
  return PutTenant(s, t);
}

Result<Tenant> CommerceStore::GetTenant(const std::string& tenant_id) {
  auto s = db_.Read();
  KEFU_ASSIGN_OR_RETURN(auto row, api::tenant_rows::Get(s, tenant_id));
  if (!row) return NotFound("tenant " + tenant_id + " does not exist");
  return Tenant{row->id, row->name, row->widget_key, row->created_ms};
}

Status CommerceStore::UpsertCustomer(const std::string& tenant, const Customer& c) {
  auto s = db_.Lock();
  return PutCustomer(s, tenant, c);
}

Status CommerceStore::UpsertProduct(const std::string& tenant, const Product& p) {
  auto s = db_.Lock();
  return PutProduct(s, tenant, p);
}

Status CommerceStore::UpsertOrder(const std::string& tenant, const Order& o) {
  auto s = db_.Lock();
  return PutOrder(s, tenant, o);
}

Status CommerceStore::UpsertLogisticsEvent(const std::string& tenant, const LogisticsEvent& e) {
  auto s = db_.Lock();
  return PutEvent(s, tenant, e);
}

Status CommerceStore::UpsertBatch(const CommerceBatch& b) {
  auto s = db_.Lock();
  auto tx = s.Begin();
  KEFU_RETURN_IF_ERROR(tx.status());
  const std::string& t = b.tenant.id;
  KEFU_RETURN_IF_ERROR(PutTenant(s, b.tenant));
  for (const auto& c : b.customers) KEFU_RETURN_IF_ERROR(PutCustomer(s, t, c));
  for (const auto& p : b.products) KEFU_RETURN_IF_ERROR(PutProduct(s, t, p));
  for (const auto& o : b.orders) KEFU_RETURN_IF_ERROR(PutOrder(s, t, o));
  for (const auto& e : b.events) KEFU_RETURN_IF_ERROR(PutEvent(s, t, e));
  return tx.Commit();
}

Result<Customer> CommerceStore::GetCustomer(const std::string& tenant, const std::string& id) {
  auto s = db_.Read();
  auto& st = s.Prepare(
      "SELECT id, name, phone, email, tier, city, created_ms FROM customers WHERE tenant_id = ? AND id = ?");
  st.Bind(1, tenant).Bind(2, id);
  KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NotFound("customer " + id + " does not exist");
  Customer c;
  c.id = st.Text(0);
  c.name = st.Text(1);
  c.phone = st.OptText(2).value_or("");
  c.email = st.OptText(3).value_or("");
  c.tier = st.Text(4);
  c.city = st.OptText(5).value_or("");
  c.created_ms = st.Int(6);
  return c;
}

Result<Product> CommerceStore::GetProduct(const std::string& tenant, const std::string& id) {
  auto s = db_.Read();
  auto& st = s.Prepare("SELECT " + std::string(kProductColumns) + " FROM products WHERE tenant_id = ? AND id = ?");
  st.Bind(1, tenant).Bind(2, id);
  KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NotFound("product " + id + " does not exist");
  return ReadProduct(st);
}

Result<Order> CommerceStore::GetOrder(const std::string& tenant, const std::string& id) {
  auto s = db_.Read();
  auto& st = s.Prepare("SELECT " + std::string(kOrderColumns) + " FROM orders WHERE tenant_id = ? AND id = ?");
  st.Bind(1, tenant).Bind(2, id);
  KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NotFound("order " + id + " does not exist");
  return ReadOrder(st);
}

std::vector<std::string> CommerceStore::CustomerRecords(const std::string& tenant,
                                                       const std::string& customer_id) const {
  if (cluster_) {
    auto ids = cluster_(tenant, customer_id);
    if (ids.ok() && !ids->empty()) return *ids;
  }
  return {customer_id};
}

Result<std::vector<Order>> CommerceStore::LatestOrders(const std::string& tenant, const std::string& customer_id,
                                                      int limit) {
  const std::vector<std::string> records = CustomerRecords(tenant, customer_id);  // before the lock: it locks too
  std::string in = "?";
  for (size_t i = 1; i < records.size(); ++i) in += ", ?";
  auto s = db_.Read();
  auto& st = s.Prepare("SELECT " + std::string(kOrderColumns) + " FROM orders WHERE tenant_id = ? AND customer_id IN (" +
                       in + ") ORDER BY created_ms DESC, id DESC LIMIT ?");
  int k = 1;
  st.Bind(k++, tenant);
  for (const auto& r : records) st.Bind(k++, r);
  st.Bind(k, limit);
  std::vector<Order> out;
  while (true) {
    KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ReadOrder(st));
  }
  return out;
}

Result<std::vector<LogisticsEvent>> CommerceStore::LogisticsEvents(const std::string& tenant,
                                                                   const std::string& order_id) {
  auto s = db_.Read();
  auto& st = s.Prepare(
      "SELECT order_id, ts_ms, status, location, description FROM logistics_events "
      "WHERE tenant_id = ? AND order_id = ? ORDER BY ts_ms ASC");
  st.Bind(1, tenant).Bind(2, order_id);
  std::vector<LogisticsEvent> out;
  while (true) {
    KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back({st.Text(0), st.Int(1), st.Text(2), st.Text(3), st.Text(4)});
  }
  return out;
}

Result<std::vector<Product>> CommerceStore::SearchProducts(const std::string& tenant, const ProductQuery& q) {
  std::string sql = "SELECT " + std::string(kProductColumns) + " FROM products WHERE tenant_id = ?";
  std::vector<std::string> words = SplitWords(q.keyword);
  if (words.size() > 5) words.resize(5);  // bounds the number of distinct cached statements
  for (size_t i = 0; i < words.size(); ++i) {
    sql += " AND (name LIKE ? ESCAPE '\\' OR category LIKE ? ESCAPE '\\' OR brand LIKE ? ESCAPE '\\'"
           " OR description LIKE ? ESCAPE '\\')";
  }
  if (!q.category.empty()) sql += " AND category = ?";
  if (q.min_price_cents) sql += " AND price_cents >= ?";
  if (q.max_price_cents) sql += " AND price_cents <= ?";
  // Products whose name (not just description) matches the first word come first.
  if (!words.empty()) sql += " ORDER BY (name LIKE ? ESCAPE '\\') DESC, price_cents ASC, id ASC LIMIT ?";
  else sql += " ORDER BY price_cents ASC, id ASC LIMIT ?";

  auto s = db_.Read();
  auto& st = s.Prepare(sql);
  int i = 1;
  st.Bind(i++, tenant);
  for (const auto& w : words) {
    std::string pat = LikeContains(w);
    for (int k = 0; k < 4; ++k) st.Bind(i++, pat);
  }
  if (!q.category.empty()) st.Bind(i++, q.category);
  if (q.min_price_cents) st.Bind(i++, *q.min_price_cents);
  if (q.max_price_cents) st.Bind(i++, *q.max_price_cents);
  if (!words.empty()) st.Bind(i++, LikeContains(words.front()));
  st.Bind(i++, q.limit);
  std::vector<Product> out;
  while (true) {
    KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ReadProduct(st));
  }
  return out;
}

Result<int64_t> CommerceStore::RecordHandoffRequest(const HandoffRequest& r, const std::string& status) {
  auto s = db_.Lock();
  return rows::RecordHandoffRequest(s, r, status, clock_.NowMs());
}

Result<int64_t> CommerceStore::Count(const std::string& tenant, std::string_view table) {
  static constexpr std::string_view kTables[] = {"customers", "products", "orders", "logistics_events",
                                                 "handoff_requests"};
  bool known = false;
  for (auto t : kTables) known = known || t == table;
  if (!known) return InvalidArgument("unknown table " + std::string(table));
  auto s = db_.Read();
  auto& st = s.Prepare("SELECT COUNT(*) FROM " + std::string(table) + " WHERE tenant_id = ?");
  st.Bind(1, tenant);
  KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Internal("COUNT returned no row");
  return st.Int(0);
}

}  // namespace kefu::tools
