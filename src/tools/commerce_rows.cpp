#include "tools/commerce_rows.h"

namespace kefu::tools::rows {

using storage::Session;
using storage::Statement;

namespace {

constexpr std::string_view kCustomerColumns =
    "id, name, phone, email, tier, city, gender, birthday, created_ms, updated_ms";

CustomerRecord ReadCustomer(const Statement& st) {
  CustomerRecord c;
  c.id = st.Text(0);
  c.name = st.Text(1);
  c.phone = st.OptText(2);
  c.email = st.OptText(3);
  c.tier = st.Text(4);
  c.city = st.OptText(5);
  c.gender = st.OptText(6);
  c.birthday = st.OptText(7);
  c.created_ms = st.Int(8);
  c.updated_ms = st.IsNull(9) ? 0 : st.Int(9);
  return c;
}

Result<std::vector<std::string>> Ids(Statement& st) {
  std::vector<std::string> out;
  while (true) {
    KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(st.Text(0));
  }
  return out;
}

}  // namespace

Result<bool> CustomerExists(Session& s, const std::string& tenant, const std::string& id) {
  auto& st = s.Prepare("SELECT 1 FROM customers WHERE tenant_id = ? AND id = ?");
  st.Bind(1, tenant).Bind(2, id);
  KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
  st.Reset();
  return row;
}

Status UpsertCustomer(Session& s, const std::string& tenant, const CustomerRecord& c, bool replace_created) {
  auto& st = s.Prepare(
      "INSERT INTO customers(tenant_id, id, name, phone, email, tier, city, gender, birthday, created_ms, "
      "updated_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT(tenant_id, id) DO UPDATE SET "
      "name = ?3, phone = ?4, email = ?5, tier = ?6, city = ?7, gender = ?8, birthday = ?9, "
      "created_ms = CASE WHEN ?12 THEN ?10 ELSE customers.created_ms END, updated_ms = ?11");
  st.Bind(1, tenant).Bind(2, c.id).Bind(3, c.name).Bind(4, c.phone).Bind(5, c.email);
  st.Bind(6, c.tier).Bind(7, c.city).Bind(8, c.gender).Bind(9, c.birthday).Bind(10, c.created_ms);
  st.Bind(11, c.updated_ms).Bind(12, static_cast<int64_t>(replace_created));
  return st.Run();
}

Status InsertContactCustomer(Session& s, const std::string& tenant, const std::string& id,
                             const std::optional<std::string>& phone, const std::optional<std::string>& email,
                             int64_t now_ms) {
  auto& st = s.Prepare(
      "INSERT INTO customers(tenant_id, id, name, phone, email, created_ms, updated_ms) "
      "VALUES(?, ?, '', ?, ?, ?, ?) ON CONFLICT DO NOTHING");
  st.Bind(1, tenant).Bind(2, id).Bind(3, phone).Bind(4, email).Bind(5, now_ms).Bind(6, now_ms);
  return st.Run();
}

Result<std::optional<CustomerRecord>> GetCustomerRecord(Session& s, const std::string& tenant,
                                                        const std::string& id) {
  auto& st = s.Prepare("SELECT " + std::string(kCustomerColumns) + " FROM customers WHERE tenant_id = ? AND id = ?");
  st.Bind(1, tenant).Bind(2, id);
  KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<CustomerRecord>();
  CustomerRecord c = ReadCustomer(st);
  st.Reset();
  return std::optional<CustomerRecord>(std::move(c));
}

Result<std::vector<std::string>> CustomersNamed(Session& s, const std::string& tenant, const std::string& name,
                                                const std::string& city, const std::string& except_id, int limit) {
  auto& st = s.Prepare("SELECT id FROM customers WHERE tenant_id = ? AND name = ? AND city = ? AND id != ? LIMIT ?");
  st.Bind(1, tenant).Bind(2, name).Bind(3, city).Bind(4, except_id).Bind(5, limit);
  return Ids(st);
}

Result<std::string> MergedInto(Session& s, const std::string& tenant, const std::string& id) {
  auto& st = s.Prepare("SELECT merged_into FROM customers WHERE tenant_id = ? AND id = ?");
  st.Bind(1, tenant).Bind(2, id);
  KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NotFound("customer " + id + " not found");
  std::string root = st.OptText(0).value_or("");
  st.Reset();  // a statement left on a row keeps a read snapshot open (and the WAL from being reset)
  return root;
}

Result<std::vector<std::string>> RecordsMergedInto(Session& s, const std::string& tenant, const std::string& root) {
  auto& st = s.Prepare("SELECT id FROM customers WHERE tenant_id = ? AND merged_into = ?");
  st.Bind(1, tenant).Bind(2, root);
  return Ids(st);
}

Status MergeRecords(Session& s, const std::string& tenant, const std::string& root, const std::string& other) {
  auto& st = s.Prepare("UPDATE customers SET merged_into = ? WHERE tenant_id = ? AND (id = ? OR merged_into = ?)");
  st.Bind(1, root).Bind(2, tenant).Bind(3, other).Bind(4, other);
  return st.Run();
}

Status ClearMerge(Session& s, const std::string& tenant, const std::string& id) {
  auto& st = s.Prepare("UPDATE customers SET merged_into = NULL WHERE tenant_id = ? AND id = ?");
  st.Bind(1, tenant).Bind(2, id);
  return st.Run();
}

Status UpsertProduct(Session& s, const std::string& tenant, const ProductRecord& p) {
  auto& st = s.Prepare(
      "INSERT INTO products(tenant_id, id, name, category, brand, price_cents, stock, description, attrs_json) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, COALESCE(?7, 0), ?8, ?9) ON CONFLICT(tenant_id, id) DO UPDATE SET "
      "name = ?3, category = ?4, brand = ?5, price_cents = ?6, stock = COALESCE(?7, products.stock), description = ?8, "
      "attrs_json = ?9");
  st.Bind(1, tenant).Bind(2, p.id).Bind(3, p.name).Bind(4, p.category).Bind(5, p.brand);
  st.Bind(6, p.price_cents).Bind(7, p.stock).Bind(8, p.description).Bind(9, p.attrs_json);
  return st.Run();
}

Result<bool> SetProductStock(Session& s, const std::string& tenant, const std::string& id, int64_t stock) {
  auto& st = s.Prepare("UPDATE products SET stock = ? WHERE tenant_id = ? AND id = ?");
  st.Bind(1, stock).Bind(2, tenant).Bind(3, id);
  KEFU_RETURN_IF_ERROR(st.Run());
  return s.Changes() > 0;
}

Status UpsertOrder(Session& s, const std::string& tenant, const OrderRecord& o) {
  auto& st = s.Prepare(
      "INSERT INTO orders(tenant_id, id, customer_id, status, total_cents, items_json, address, carrier, "
      "tracking_no, created_ms, updated_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
      "ON CONFLICT(tenant_id, id) DO UPDATE SET customer_id = ?3, status = ?4, total_cents = ?5, "
      "items_json = ?6, address = ?7, carrier = ?8, tracking_no = ?9, created_ms = ?10, "
      "updated_ms = CASE WHEN orders.updated_ms > ?11 THEN orders.updated_ms ELSE ?11 END");
  st.Bind(1, tenant).Bind(2, o.id).Bind(3, o.customer_id).Bind(4, o.status).Bind(5, o.total_cents);
  st.Bind(6, o.items_json).Bind(7, o.address).Bind(8, o.carrier).Bind(9, o.tracking_no);
  st.Bind(10, o.created_ms).Bind(11, o.updated_ms);
  return st.Run();
}

Result<std::optional<std::string>> OrderStatus(Session& s, const std::string& tenant, const std::string& order_id) {
  auto& st = s.Prepare("SELECT status FROM orders WHERE tenant_id = ? AND id = ?");
  st.Bind(1, tenant).Bind(2, order_id);
  KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<std::string>();
  std::string status = st.Text(0);
  st.Reset();
  return std::optional<std::string>(std::move(status));
}

Status SetOrderStatus(Session& s, const std::string& tenant, const std::string& order_id, const std::string& status,
                      int64_t at_ms) {
  auto& st = s.Prepare(
      "UPDATE orders SET status = ?1, updated_ms = CASE WHEN updated_ms > ?2 THEN updated_ms ELSE ?2 END "
      "WHERE tenant_id = ?3 AND id = ?4");
  st.Bind(1, status).Bind(2, at_ms).Bind(3, tenant).Bind(4, order_id);
  return st.Run();
}

Result<std::vector<OrderRecord>> RecentOrders(Session& s, const std::string& tenant, const std::string& customer_id,
                                              int limit) {
  auto& st = s.Prepare(
      "SELECT id, customer_id, status, total_cents, items_json, address, carrier, tracking_no, created_ms, "
      "updated_ms FROM orders WHERE tenant_id = ? AND customer_id = ? ORDER BY created_ms DESC, id DESC LIMIT ?");
  st.Bind(1, tenant).Bind(2, customer_id).Bind(3, limit);
  std::vector<OrderRecord> out;
  while (true) {
    KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    OrderRecord o;
    o.id = st.Text(0);
    o.customer_id = st.Text(1);
    o.status = st.Text(2);
    o.total_cents = st.Int(3);
    o.items_json = st.Text(4);
    o.address = st.Text(5);
    o.carrier = st.OptText(6);
    o.tracking_no = st.OptText(7);
    o.created_ms = st.Int(8);
    o.updated_ms = st.Int(9);
    out.push_back(std::move(o));
  }
  return out;
}

Result<OrderStats> PaidOrderStats(Session& s, const std::string& tenant, const std::string& customer_id) {
  auto& st = s.Prepare(
      "SELECT COUNT(*), COALESCE(SUM(total_cents), 0), COALESCE(MAX(created_ms), 0), COALESCE(MIN(created_ms), 0) "
      "FROM orders WHERE tenant_id = ? AND customer_id = ? AND status NOT IN ('pending_payment', 'cancelled', "
      "'refunded')");
  st.Bind(1, tenant).Bind(2, customer_id);
  KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
  OrderStats out;
  if (row) out = {st.Int(0), st.Int(1), st.Int(3), st.Int(2)};
  st.Reset();
  return out;
}

Status InsertLogisticsEvent(Session& s, const std::string& tenant, const LogisticsEvent& e) {
  auto& st = s.Prepare(
      "INSERT INTO logistics_events(tenant_id, order_id, ts_ms, status, location, description) "
      "VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING");
  st.Bind(1, tenant).Bind(2, e.order_id).Bind(3, e.ts_ms).Bind(4, e.status).Bind(5, e.location);
  st.Bind(6, e.description);
  return st.Run();
}

Result<std::optional<int64_t>> LastLogisticsTime(Session& s, const std::string& tenant, const std::string& order_id) {
  auto& st = s.Prepare("SELECT MAX(ts_ms) FROM logistics_events WHERE tenant_id = ? AND order_id = ?");
  st.Bind(1, tenant).Bind(2, order_id);
  KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
  std::optional<int64_t> out = row ? st.OptInt(0) : std::nullopt;
  st.Reset();
  return out;
}

Result<std::optional<LogisticsEvent>> LatestLogisticsEvent(Session& s, const std::string& tenant,
                                                           const std::string& order_id) {
  auto& st = s.Prepare(
      "SELECT order_id, ts_ms, status, location, description FROM logistics_events WHERE tenant_id = ? AND "
      "order_id = ? ORDER BY ts_ms DESC, CASE status WHEN 'delivered' THEN 4 WHEN 'out_for_delivery' THEN 3 WHEN "
      "'in_transit' THEN 2 ELSE 1 END DESC LIMIT 1");
  st.Bind(1, tenant).Bind(2, order_id);
  KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<LogisticsEvent>();
  LogisticsEvent e{st.Text(0), st.Int(1), st.Text(2), st.Text(3), st.Text(4)};
  st.Reset();
  return std::optional<LogisticsEvent>(std::move(e));
}

Result<int64_t> RecordHandoffRequest(Session& s, const HandoffRequest& r, const std::string& status, int64_t now_ms) {
  auto& st = s.Prepare(
      "INSERT INTO handoff_requests(tenant_id, conversation_id, customer_id, reason, status, created_ms) "
      "VALUES(?, ?, ?, ?, ?, ?) RETURNING id");
  st.Bind(1, r.tenant_id).Bind(2, r.conversation_id).Bind(3, r.customer_id).Bind(4, r.reason).Bind(5, status);
  st.Bind(6, r.created_ms != 0 ? r.created_ms : now_ms);
  KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
  const int64_t id = row ? st.Int(0) : 0;
  st.Reset();
  return id;
}

}  // namespace kefu::tools::rows
