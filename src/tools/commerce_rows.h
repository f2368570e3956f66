// The shop tables' SQL (customers, products, orders, logistics_events,
// handoff_requests) for modules that compose it into a transaction of their
// own: the data hub writes a batch in one transaction with a savepoint per row,
// merges customer records, and reads a customer's 360° profile in one
// snapshot; the agents' desk reads the customer panel. This module (tools) owns
// those tables: no other module writes their SQL (tests/table_ownership_test.py
// checks it). CommerceStore, the tools' own access, is built on the same
// tables and opens its own sessions.
//
// Every function takes the caller's session (storage/database.h), runs in the
// caller's transaction when there is one, and leaves no statement on a row.
// Scoped to one tenant; money in cents, times in Unix milliseconds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/database.h"
#include "tools/commerce_store.h"

namespace kefu::tools::rows {

// --- customers ---

// One customer record as ingested (every column but the merge link).
struct CustomerRecord {
  std::string id;
  std::string name;
  std::optional<std::string> phone, email;
  std::string tier = "normal";
  std::optional<std::string> city, gender, birthday;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

Result<bool> CustomerExists(storage::Session& s, const std::string& tenant, const std::string& id);
// Insert or update by id; an update keeps the stored created_ms unless
// `replace_created` (the source sent one).
Status UpsertCustomer(storage::Session& s, const std::string& tenant, const CustomerRecord& c, bool replace_created);
// A bare record for a first contact (name empty); nothing when the id exists.
Status InsertContactCustomer(storage::Session& s, const std::string& tenant, const std::string& id,
                             const std::optional<std::string>& phone, const std::optional<std::string>& email,
                             int64_t now_ms);
// nullopt when there is no such record.
Result<std::optional<CustomerRecord>> GetCustomerRecord(storage::Session& s, const std::string& tenant,
                                                        const std::string& id);
// Other records with this name and city (a weak sign of one person), at most `limit`.
Result<std::vector<std::string>> CustomersNamed(storage::Session& s, const std::string& tenant,
                                                const std::string& name, const std::string& city,
                                                const std::string& except_id, int limit);

// The merge link (the data hub's identity service decides merges; this is where
// they are kept). MergedInto: NotFound for no such record, "" when the record
// is a root itself.
Result<std::string> MergedInto(storage::Session& s, const std::string& tenant, const std::string& id);
Result<std::vector<std::string>> RecordsMergedInto(storage::Session& s, const std::string& tenant,
                                                   const std::string& root);
// `other` and every record merged into it now point at `root`.
Status MergeRecords(storage::Session& s, const std::string& tenant, const std::string& root, const std::string& other);
Status ClearMerge(storage::Session& s, const std::string& tenant, const std::string& id);

// --- products ---

struct ProductRecord {
  std::string id;
  std::string name;
  std::string category;
  std::string brand;
  int64_t price_cents = 0;
  std::optional<int64_t> stock;  // nullopt: 0 for a new product, unchanged for an existing one
  std::string description;
  std::string attrs_json = "{}";
};
Status UpsertProduct(storage::Session& s, const std::string& tenant, const ProductRecord& p);
// False when there is no such product.
Result<bool> SetProductStock(storage::Session& s, const std::string& tenant, const std::string& id, int64_t stock);

// --- orders and logistics ---

// An order as stored: items as the JSON array they were written as.
struct OrderRecord {
  std::string id;
  std::string customer_id;
  std::string status;
  int64_t total_cents = 0;
  std::string items_json = "[]";
  std::string address;
  std::optional<std::string> carrier, tracking_no;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};
// Insert or update by id; updated_ms never goes back.
Status UpsertOrder(storage::Session& s, const std::string& tenant, const OrderRecord& o);
// nullopt when there is no such order.
Result<std::optional<std::string>> OrderStatus(storage::Session& s, const std::string& tenant,
                                               const std::string& order_id);
// The order's status follows its parcel; updated_ms never goes back.
Status SetOrderStatus(storage::Session& s, const std::string& tenant, const std::string& order_id,
                      const std::string& status, int64_t at_ms);
// Newest first, at most `limit`, of one customer record.
Result<std::vector<OrderRecord>> RecentOrders(storage::Session& s, const std::string& tenant,
                                              const std::string& customer_id, int limit);
// Orders that were paid for (not pending, cancelled or refunded) of one record.
struct OrderStats {
  int64_t count = 0;
  int64_t total_cents = 0;
  int64_t first_ms = 0;
  int64_t last_ms = 0;
};
Result<OrderStats> PaidOrderStats(storage::Session& s, const std::string& tenant, const std::string& customer_id);

// Idempotent by (order, ts_ms, status).
Status InsertLogisticsEvent(storage::Session& s, const std::string& tenant, const LogisticsEvent& e);
// The newest event's time, nullopt without events.
Result<std::optional<int64_t>> LastLogisticsTime(storage::Session& s, const std::string& tenant,
                                                 const std::string& order_id);
// The latest event: by time, then by progress (delivered > out_for_delivery > in_transit > picked_up).
Result<std::optional<LogisticsEvent>> LatestLogisticsEvent(storage::Session& s, const std::string& tenant,
                                                           const std::string& order_id);

// --- handoff requests (the request_human tool, the desk's leave-a-message) ---

// status: "pending" (asked for a human) or "follow_up" (a message left while nobody was online).
Result<int64_t> RecordHandoffRequest(storage::Session& s, const HandoffRequest& r, const std::string& status,
                                     int64_t now_ms);

}  // namespace kefu::tools::rows
