// IngestService: the one way business data enters kefu — the HTTP batch and
// webhook routes, `kefu import` (CSV) and the demo loader all call Ingest().
//
// Kinds: customers (CRM), products and inventory (ERP), orders (ERP),
// logistics events, tickets, browsing events (clickstream) and payment/card
// transactions. Records are validated per row against the kind's schema
// (RecordSchema(), also served in the OpenAPI): wrong types, unknown fields,
// unknown enum values and missing fields reject that row with its index and a
// reason; good rows are committed. A batch is one transaction and each row is
// a savepoint, so a row's writes land all together or not at all.
//
// Idempotency is by (source, record id). The same content again is
// "unchanged". For entities (customers, products, inventory, orders, tickets)
// different content is an update (version + 1) unless the record's updated_ms
// is not newer than the stored one (rejected as stale). Events (logistics,
// browsing, transactions) are immutable: different content under a stored id
// is a per-row conflict. Logistics events may arrive out of order: they are
// stored by event time, and the order's status follows the latest event
// (counted as "reordered" when an event is older than one already stored).
//
// Threads: any thread; the Database serialises batches. The Database,
// IdentityService and Clock must outlive the service.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/status.h"
#include "datahub/identity.h"
#include "storage/database.h"

namespace kefu::datahub {

enum class Kind { kCustomers, kProducts, kInventory, kOrders, kLogistics, kTickets, kBrowsing, kTransactions };

inline constexpr Kind kAllKinds[] = {Kind::kCustomers, Kind::kProducts, Kind::kInventory, Kind::kOrders,
                                     Kind::kLogistics, Kind::kTickets,  Kind::kBrowsing,  Kind::kTransactions};

// "customers", "products", "inventory", "orders", "logistics", "tickets", "browsing", "transactions".
std::string_view KindName(Kind kind);
std::optional<Kind> ParseKind(std::string_view name);
bool IsEventKind(Kind kind);

struct RowError {
  size_t index = 0;  // 0-based position in the batch
  std::string id;    // the record's id when it had one
  std::string reason;
};

struct IngestReport {
  int64_t accepted = 0;   // created + updated
  int64_t created = 0;
  int64_t updated = 0;
  int64_t unchanged = 0;
  int64_t reordered = 0;  // accepted logistics events older than one already stored
  std::vector<RowError> rejected;
  // {"accepted","created","updated","unchanged","reordered","rejected":[{"index","id","reason"}]}
  nlohmann::json ToJson() const;
};

struct IngestSettings {
  size_t max_batch = 1000;  // more records: PayloadTooLarge for the whole batch; 0 = unlimited
};

class IngestService {
 public:
  IngestService(storage::Database& db, IdentityService& identity, const Clock& clock, IngestSettings settings = {})
      : db_(db), identity_(identity), clock_(clock), settings_(settings) {}

  // Ingests `records` (a JSON array of objects) from `source` (1-64 of
  // [A-Za-z0-9-_.:@]) for an existing tenant. Whole-batch errors:
  // PayloadTooLarge (too many records), InvalidArgument (not an array, bad
  // source), NotFound (unknown tenant), storage failures (nothing committed).
  Result<IngestReport> Ingest(const std::string& tenant, Kind kind, const std::string& source,
                              const nlohmann::json& records);

  const IngestSettings& settings() const { return settings_; }

  // The JSON schema of one record of `kind` (OpenAPI components, docs).
  static nlohmann::json RecordSchema(Kind kind);
  // Converts one CSV row (header name -> cell text) into a record of `kind`:
  // numbers and JSON columns (items, attrs, identities) are parsed; empty
  // cells are omitted. InvalidArgument names the column that does not parse.
  static Result<nlohmann::json> RecordFromCsv(Kind kind, const std::vector<std::string>& header,
                                              const std::vector<std::string>& cells);

 private:
  storage::Database& db_;
  IdentityService& identity_;
  const Clock& clock_;
  IngestSettings settings_;
};

}  // namespace kefu::datahub
