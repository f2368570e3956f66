// CommerceStore: the shop data tools read (tenants, customers, products,
// orders and their logistics events) over the tables of tools/schema.cpp
// (tenants: api/schema.cpp). Every read and write is scoped to one tenant; nothing
// here can return another tenant's rows. Upserts are idempotent by id.
//
// Money is integer cents (fen). Times are Unix milliseconds.
// Threads: any thread; the Database serialises statements. The store keeps a
// reference to the Database, which must outlive it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/status.h"
#include "storage/database.h"

namespace kefu::tools {

struct Tenant {
  std::string id;
  std::string name;
  std::string widget_key;
  int64_t created_ms = 0;
};

struct Customer {
  std::string id;
  std::string name;
  std::string phone;
  std::string email;
  std::string tier = "normal";  // normal | silver | gold | vip
  std::string city;
  int64_t created_ms = 0;
};

struct Product {
  std::string id;
  std::string name;
  std::string category;
  std::string brand;
  int64_t price_cents = 0;
  int64_t stock = 0;
  std::string description;
  nlohmann::json attrs = nlohmann::json::object();
};

struct OrderItem {
  std::string product_id;
  std::string name;
  std::string spec;  // e.g. "黑色 / L"; may be empty
  int64_t qty = 1;
  int64_t price_cents = 0;
};

// Order status codes stored in `orders.status`.
inline constexpr std::string_view kOrderStatuses[] = {
    "pending_payment", "paid", "shipped", "in_transit", "out_for_delivery",
    "delivered", "cancelled", "refunding", "refunded"};
// Chinese label for an order status code (待付款, 待发货, ...); the code itself if unknown.
std::string_view OrderStatusLabel(std::string_view status);

struct Order {
  std::string id;
  std::string customer_id;
  std::string status;
  int64_t total_cents = 0;
  std::vector<OrderItem> items;
  std::string address;
  std::optional<std::string> carrier;
  std::optional<std::string> tracking_no;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

// Logistics event status codes: picked_up | in_transit | out_for_delivery | delivered.
struct LogisticsEvent {
  std::string order_id;
  int64_t ts_ms = 0;
  std::string status;
  std::string location;
  std::string description;
};
std::string_view LogisticsStatusLabel(std::string_view status);

struct ProductQuery {
  // Space-separated words; each must occur in the name, category, brand or description.
  std::string keyword;
  std::string category;  // exact match when not empty
  std::optional<int64_t> min_price_cents;
  std::optional<int64_t> max_price_cents;
  int limit = 10;
};

// Everything of one tenant, written in one transaction (used by loaders).
struct CommerceBatch {
  Tenant tenant;
  std::vector<Customer> customers;
  std::vector<Product> products;
  std::vector<Order> orders;
  std::vector<LogisticsEvent> events;
};

struct HandoffRequest {
  std::string tenant_id;
  std::string conversation_id;
  std::string customer_id;
  std::string reason;
  int64_t created_ms = 0;  // 0 = now
};

class CommerceStore {
 public:
  // `clock` stamps rows written with a zero time (created_ms = 0); both must outlive the store.
  explicit CommerceStore(storage::Database& db, const Clock& clock = SystemClock::Instance())
      : db_(db), clock_(clock) {}

  Status UpsertTenant(const Tenant& tenant);
  // NotFound when the tenant does not exist.
  Result<Tenant> GetTenant(const std::string& tenant_id);

  // The tenant must exist (foreign key) for the writes below.
  Status UpsertCustomer(const std::string& tenant, const Customer& c);
  Status UpsertProduct(const std::string& tenant, const Product& p);
  Status UpsertOrder(const std::string& tenant, const Order& o);
  // Idempotent by (order, ts_ms, status).
  Status UpsertLogisticsEvent(const std::string& tenant, const LogisticsEvent& e);
  // Upserts the tenant and all rows in one transaction: all or nothing.
  Status UpsertBatch(const CommerceBatch& batch);

  // One customer may have several records (a phone caller and an app user
  // merged by the data hub). The data hub sits above tools, so the server
  // injects the lookup of a record's cluster; set once before use. Without it
  // a customer is the one record.
  using ClusterFn =
      std::function<Result<std::vector<std::string>>(const std::string& tenant, const std::string& customer_id)>;
  void SetCustomerCluster(ClusterFn fn) { cluster_ = std::move(fn); }
  // Every record id of the customer (the record itself when nothing is merged or the lookup fails).
  std::vector<std::string> CustomerRecords(const std::string& tenant, const std::string& customer_id) const;

  Result<Customer> GetCustomer(const std::string& tenant, const std::string& customer_id);
  Result<Product> GetProduct(const std::string& tenant, const std::string& product_id);
  Result<Order> GetOrder(const std::string& tenant, const std::string& order_id);
  // Newest first; at most `limit` orders of every record of the customer.
  Result<std::vector<Order>> LatestOrders(const std::string& tenant, const std::string& customer_id, int limit);
  // Oldest first.
  Result<std::vector<LogisticsEvent>> LogisticsEvents(const std::string& tenant, const std::string& order_id);
  // Ordered by relevance of the name match, then price.
  Result<std::vector<Product>> SearchProducts(const std::string& tenant, const ProductQuery& q);

  // Records a request to talk to a human agent (status "pending"); returns its id.
  // status "pending" (the request_human tool) or "follow_up" (a message left while no agent was online).
  Result<int64_t> RecordHandoffRequest(const HandoffRequest& r, const std::string& status = "pending");

  // Row counts of one tenant's table: "customers", "products", "orders",
  // "logistics_events" or "handoff_requests"; InvalidArgument otherwise.
  Result<int64_t> Count(const std::string& tenant, std::string_view table);

 private:
  storage::Database& db_;
  const Clock& clock_;
  ClusterFn cluster_;  // set before the server starts; read-only afterwards
};

}  // namespace kefu::tools
