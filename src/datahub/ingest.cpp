#include "datahub/ingest.h"

#include "tools/commerce_rows.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include "api/tenant_rows.h"
#include "common/json.h"
#include "common/utf8.h"
#include "common/crypto.h"

namespace kefu::datahub {
namespace {

using nlohmann::json;

enum class T { kString, kInt, kObject, kItems, kIdentities };

struct Field {
  std::string_view name;
  T type;
  bool required;
  std::vector<std::string_view> enums;
  std::string_view description;
  int64_t min = std::numeric_limits<int64_t>::min();
  size_t max_len = 256;
};

constexpr int64_t kMinTime = 946'684'800'000;  // 2000-01-01: times are Unix milliseconds

const std::vector<std::string_view> kTiers = {"normal", "silver", "gold", "vip"};
const std::vector<std::string_view> kGenders = {"male", "female", "other", "unknown"};
const std::vector<std::string_view> kOrderStatus = {"pending_payment", "paid",      "shipped",   "in_transit",
                                                    "out_for_delivery", "delivered", "cancelled", "refunding",
                                                    "refunded"};
const std::vector<std::string_view> kLogisticsStatus = {"picked_up", "in_transit", "out_for_delivery", "delivered"};
const std::vector<std::string_view> kTicketStatus = {"open", "pending", "resolved", "closed"};
const std::vector<std::string_view> kPriority = {"low", "normal", "high", "urgent"};
const std::vector<std::string_view> kBrowseTypes = {"page_view", "product_view",     "search",  "add_to_cart",
                                                    "remove_from_cart", "checkout", "purchase"};
const std::vector<std::string_view> kTxTypes = {"payment", "refund", "chargeback"};
const std::vector<std::string_view> kTxMethods = {"card", "alipay", "wechat_pay", "unionpay", "balance", "cod"};
const std::vector<std::string_view> kTxStatus = {"succeeded", "failed", "pending"};

const std::vector<Field>& Fields(Kind kind) {
  static const std::vector<Field> kCustomers = {
      {"id", T::kString, true, {}, "the CRM's customer id (also kefu's customer id)", 0, 64},
      {"name", T::kString, true, {}, "display name"},
      {"phone", T::kString, false, {}, "phone number (strong identifier)", 0, 32},
      {"email", T::kString, false, {}, "email address (strong identifier)"},
      {"tier", T::kString, false, kTiers, "membership tier"},
      {"city", T::kString, false, {}, "city"},
      {"gender", T::kString, false, kGenders, "gender"},
      {"birthday", T::kString, false, {}, "YYYY-MM-DD", 0, 10},
      {"identities", T::kIdentities, false, {}, "more channel identities: [{kind, value}]"},
      {"created_ms", T::kInt, false, {}, "registration time, Unix ms (default: now)", kMinTime},
      {"updated_ms", T::kInt, false, {}, "source version time, Unix ms; an update must be newer", kMinTime},
  };
  static const std::vector<Field> kProducts = {
      {"id", T::kString, true, {}, "SKU / product id", 0, 64},
      {"name", T::kString, true, {}, "product name"},
      {"category", T::kString, true, {}, "category"},
      {"brand", T::kString, false, {}, "brand"},
      {"price_cents", T::kInt, true, {}, "price in cents (fen)", 0},
      {"stock", T::kInt, false, {}, "units in stock (kept when omitted on update)", 0},
      {"description", T::kString, false, {}, "description", 0, 4000},
      {"attrs", T::kObject, false, {}, "free-form attributes"},
      {"updated_ms", T::kInt, false, {}, "source version time, Unix ms", kMinTime},
  };
  static const std::vector<Field> kInventory = {
      {"product_id", T::kString, true, {}, "product id (must exist)", 0, 64},
      {"stock", T::kInt, true, {}, "units in stock", 0},
      {"updated_ms", T::kInt, false, {}, "stock count time, Unix ms; an update must be newer", kMinTime},
  };
  static const std::vector<Field> kOrders = {
      {"id", T::kString, true, {}, "order number", 0, 64},
      {"customer_id", T::kString, true, {}, "customer id (must exist)", 0, 64},
      {"status", T::kString, true, kOrderStatus, "order status"},
      {"total_cents", T::kInt, true, {}, "order total in cents", 0},
      {"items", T::kItems, true, {}, "[{product_id, name, spec, qty, price_cents}]"},
      {"address", T::kString, false, {}, "delivery address", 0, 512},
      {"carrier", T::kString, false, {}, "carrier name"},
      {"tracking_no", T::kString, false, {}, "tracking number", 0, 64},
      {"created_ms", T::kInt, true, {}, "order time, Unix ms", kMinTime},
      {"updated_ms", T::kInt, false, {}, "source version time, Unix ms (default created_ms)", kMinTime},
  };
  static const std::vector<Field> kLogistics = {
      {"id", T::kString, false, {}, "event id (default order_id:ts_ms:status)", 0, 128},
      {"order_id", T::kString, true, {}, "order id (must exist)", 0, 64},
      {"ts_ms", T::kInt, true, {}, "event time, Unix ms", kMinTime},
      {"status", T::kString, true, kLogisticsStatus, "logistics status"},
      {"location", T::kString, false, {}, "where"},
      {"description", T::kString, false, {}, "carrier's text", 0, 1000},
  };
  static const std::vector<Field> kTickets = {
      {"id", T::kString, true, {}, "ticket id", 0, 64},
      {"customer_id", T::kString, true, {}, "customer id (must exist)", 0, 64},
      {"order_id", T::kString, false, {}, "related order", 0, 64},
      {"subject", T::kString, true, {}, "subject", 0, 512},
      {"body", T::kString, false, {}, "description", 0, 8000},
      {"status", T::kString, true, kTicketStatus, "ticket status"},
      {"priority", T::kString, false, kPriority, "priority (default normal)"},
      {"channel", T::kString, false, {}, "where it was raised (phone, app, store ...)", 0, 32},
      {"created_ms", T::kInt, true, {}, "creation time, Unix ms", kMinTime},
      {"updated_ms", T::kInt, false, {}, "last change, Unix ms (default created_ms); an update must be newer",
       kMinTime},
  };
  static const std::vector<Field> kBrowsing = {
      {"id", T::kString, true, {}, "event id", 0, 128},
      {"customer_id", T::kString, false, {}, "customer id (must exist); customer_id or device_id required", 0, 64},
      {"device_id", T::kString, false, {}, "device id (anonymous visitor)", 0, 128},
      {"ts_ms", T::kInt, true, {}, "event time, Unix ms", kMinTime},
      {"type", T::kString, true, kBrowseTypes, "event type"},
      {"product_id", T::kString, false, {}, "product viewed / added", 0, 64},
      {"url", T::kString, false, {}, "page", 0, 1000},
      {"query", T::kString, false, {}, "search query", 0, 500},
  };
  static const std::vector<Field> kTransactions = {
      {"id", T::kString, true, {}, "transaction id", 0, 128},
      {"customer_id", T::kString, true, {}, "customer id (must exist)", 0, 64},
      {"order_id", T::kString, false, {}, "related order", 0, 64},
      {"ts_ms", T::kInt, true, {}, "transaction time, Unix ms", kMinTime},
      {"type", T::kString, true, kTxTypes, "transaction type"},
      {"method", T::kString, true, kTxMethods, "payment method"},
      {"amount_cents", T::kInt, true, {}, "amount in cents (positive)", 0},
      {"currency", T::kString, false, {}, "ISO 4217 code (default CNY)", 0, 3},
      {"status", T::kString, true, kTxStatus, "transaction status"},
      {"card_last4", T::kString, false, {}, "last four card digits (never the full number)", 0, 4},
  };
  switch (kind) {
    case Kind::kCustomers: return kCustomers;
    case Kind::kProducts: return kProducts;
    case Kind::kInventory: return kInventory;
    case Kind::kOrders: return kOrders;
    case Kind::kLogistics: return kLogistics;
    case Kind::kTickets: return kTickets;
    case Kind::kBrowsing: return kBrowsing;
    case Kind::kTransactions: return kTransactions;
  }
  return kCustomers;
}

const char* TypeName(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "boolean";
  if (v.is_number_integer()) return "integer";
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  if (v.is_array()) return "array";
  return "object";
}

Status CheckString(std::string_view path, const json& v, size_t max_len) {
  if (!v.is_string()) return InvalidArgument(std::string(path) + ": expected string, got " + TypeName(v));
  const auto& s = v.get_ref<const std::string&>();
  if (!utf8::IsValid(s)) return InvalidArgument(std::string(path) + ": not valid UTF-8");
  if (utf8::Length(s) > max_len)
    return InvalidArgument(std::string(path) + ": longer than " + std::to_string(max_len) + " characters");
  return Status::Ok();
}

Status CheckInt(std::string_view path, const json& v, int64_t min) {
  if (!v.is_number_integer()) return InvalidArgument(std::string(path) + ": expected integer, got " + TypeName(v));
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return InvalidArgument(std::string(path) + ": out of range");
  if (v.get<int64_t>() < min) return InvalidArgument(std::string(path) + ": must be >= " + std::to_string(min));
  return Status::Ok();
}

bool IdOk(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.' || c == ':' || c == '@';
    if (!ok) return false;
  }
  return true;
}

Status CheckItems(const json& v) {
  if (!v.is_array()) return InvalidArgument(std::string("items: expected array, got ") + TypeName(v));
  if (v.empty()) return InvalidArgument("items: an order needs at least one item");
  if (v.size() > 200) return InvalidArgument("items: more than 200 items");
  for (size_t i = 0; i < v.size(); ++i) {
    const json& it = v[i];
    std::string p = "items[" + std::to_string(i) + "]";
    if (!it.is_object()) return InvalidArgument(p + ": expected object, got " + TypeName(it));
    if (!it.contains("product_id")) return InvalidArgument(p + ".product_id: missing");
    for (auto f = it.begin(); f != it.end(); ++f) {
      const std::string& k = f.key();
      if (k == "product_id") KEFU_RETURN_IF_ERROR(CheckString(p + ".product_id", *f, 64));
      else if (k == "name" || k == "spec") KEFU_RETURN_IF_ERROR(CheckString(p + "." + k, *f, 256));
      else if (k == "qty") KEFU_RETURN_IF_ERROR(CheckInt(p + ".qty", *f, 1));
      else if (k == "price_cents") KEFU_RETURN_IF_ERROR(CheckInt(p + ".price_cents", *f, 0));
      else return InvalidArgument(p + ": unknown field '" + k + "'");
    }
  }
  return Status::Ok();
}

Status CheckIdentities(const json& v) {
  if (!v.is_array()) return InvalidArgument(std::string("identities: expected array, got ") + TypeName(v));
  if (v.size() > 20) return InvalidArgument("identities: more than 20");
  for (size_t i = 0; i < v.size(); ++i) {
    std::string p = "identities[" + std::to_string(i) + "]";
    const json& it = v[i];
    if (!it.is_object() || !it.contains("kind") || !it.contains("value") || it.size() != 2)
      return InvalidArgument(p + ": expected {\"kind\", \"value\"}");
    KEFU_RETURN_IF_ERROR(CheckString(p + ".kind", it["kind"], 32));
    KEFU_RETURN_IF_ERROR(CheckString(p + ".value", it["value"], 128));
    KEFU_RETURN_IF_ERROR(NormalizeIdentity(it["kind"].get<std::string>(), it["value"].get<std::string>()).status());
  }
  return Status::Ok();
}

// The validated record (only known fields, nulls dropped), or why not.
Result<json> Validate(Kind kind, const json& rec) {
  if (!rec.is_object()) return InvalidArgument(std::string("record: expected object, got ") + TypeName(rec));
  const auto& fields = Fields(kind);
  json out = json::object();
  for (auto it = rec.begin(); it != rec.end(); ++it) {
    auto f = std::find_if(fields.begin(), fields.end(), [&](const Field& x) { return x.name == it.key(); });
    if (f == fields.end()) return InvalidArgument("unknown field '" + it.key() + "'");
  }
  for (const Field& f : fields) {
    std::string name(f.name);
    auto it = rec.find(name);
    if (it == rec.end() || it->is_null()) {
      if (f.required) return InvalidArgument(name + ": missing");
      continue;
    }
    const json& v = *it;
    switch (f.type) {
      case T::kString: {
        KEFU_RETURN_IF_ERROR(CheckString(name, v, f.max_len));
        const std::string& s = v.get_ref<const std::string&>();
        if (!f.enums.empty() && std::find(f.enums.begin(), f.enums.end(), s) == f.enums.end()) {
          std::string allowed;
          for (auto e : f.enums) allowed += (allowed.empty() ? "" : ", ") + std::string(e);
          return InvalidArgument(name + ": unknown value '" + s + "' (allowed: " + allowed + ")");
        }
        bool id_field = name == "id" || (name.size() > 3 && name.compare(name.size() - 3, 3, "_id") == 0);
        if (id_field && !IdOk(s))
          return InvalidArgument(name + ": 1-" + std::to_string(f.max_len) +
                                 " characters of letters, digits and - _ . : @");
        if (f.required && utf8::Trim(s).empty()) return InvalidArgument(name + ": empty");
        break;
      }
      case T::kInt: KEFU_RETURN_IF_ERROR(CheckInt(name, v, f.min)); break;
      case T::kObject:
        if (!v.is_object()) return InvalidArgument(name + ": expected object, got " + TypeName(v));
        if (v.dump().size() > 8000) return InvalidArgument(name + ": larger than 8000 bytes");
        break;
      case T::kItems: KEFU_RETURN_IF_ERROR(CheckItems(v)); break;
      case T::kIdentities: KEFU_RETURN_IF_ERROR(CheckIdentities(v)); break;
    }
    out[name] = v;
  }
  if (kind == Kind::kBrowsing && !out.contains("customer_id") && !out.contains("device_id"))
    return InvalidArgument("customer_id or device_id: one is required");
  if (kind == Kind::kTransactions && out.contains("card_last4")) {
    const std::string& c = out["card_last4"].get_ref<const std::string&>();
    if (c.size() != 4 || !std::all_of(c.begin(), c.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
      return InvalidArgument("card_last4: exactly four digits");
  }
  if (kind == Kind::kTransactions && out.contains("currency")) {
    const std::string& c = out["currency"].get_ref<const std::string&>();
    if (c.size() != 3 || !std::all_of(c.begin(), c.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; }))
      return InvalidArgument("currency: a three-letter ISO 4217 code such as CNY");
  }
  if (kind == Kind::kCustomers && out.contains("birthday")) {
    const std::string& b = out["birthday"].get_ref<const std::string&>();
    bool ok = b.size() == 10 && b[4] == '-' && b[7] == '-';
    for (size_t i = 0; ok && i < b.size(); ++i) ok = i == 4 || i == 7 || (b[i] >= '0' && b[i] <= '9');
    if (!ok) return InvalidArgument("birthday: expected YYYY-MM-DD");
  }
  return out;
}

std::string RecordId(Kind kind, const json& r) {
  if (kind == Kind::kInventory) return r["product_id"].get<std::string>();
  if (kind == Kind::kLogistics && !r.contains("id")) {
    return r["order_id"].get<std::string>() + ":" + std::to_string(r["ts_ms"].get<int64_t>()) + ":" +
           r["status"].get<std::string>();
  }
  return r.value("id", "");
}

std::string Str(const json& r, const char* k, const char* def = "") {
  auto it = r.find(k);
  return it == r.end() ? def : it->get<std::string>();
}
std::optional<std::string> OptStr(const json& r, const char* k) {
  auto it = r.find(k);
  if (it == r.end()) return std::nullopt;
  return it->get<std::string>();
}
std::optional<int64_t> OptInt(const json& r, const char* k) {
  auto it = r.find(k);
  if (it == r.end()) return std::nullopt;
  return it->get<int64_t>();
}

// Row-level failures (reported, batch continues) versus storage failures (abort).
bool IsRowError(const Status& s) {
  switch (s.code()) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kNotFound:
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kConflict:
    case ErrorCode::kFailedPrecondition: return true;
    default: return false;
  }
}

Status RequireCustomer(storage::Session& s, const std::string& tenant, const std::string& id) {
  KEFU_ASSIGN_OR_RETURN(bool exists, tools::rows::CustomerExists(s, tenant, id));
  if (!exists) return NotFound("customer_id: unknown customer '" + id + "' (ingest the customer first)");
  return Status::Ok();
}

int LogisticsRank(std::string_view status) {
  if (status == "picked_up") return 1;
  if (status == "in_transit") return 2;
  if (status == "out_for_delivery") return 3;
  if (status == "delivered") return 4;
  return 0;
}

std::string_view OrderStatusForLogistics(std::string_view status) {
  if (status == "picked_up") return "shipped";
  return status;  // in_transit, out_for_delivery and delivered share the order status code
}

struct RowOutcome {
  bool created = false;
  bool updated = false;
  bool unchanged = false;
  bool reordered = false;
};

class BatchWriter {
 public:
  BatchWriter(storage::Session& s, IdentityService& identity, const std::string& tenant, Kind kind,
              const std::string& source, int64_t now)
      : s_(s), identity_(identity), tenant_(tenant), kind_(kind), source_(source), now_(now) {}

  Result<RowOutcome> Row(const json& r, const std::string& id) {
    std::string hash = crypto::Sha256Hex(r.dump());
    auto& find = s_.Prepare(
        "SELECT hash, version, updated_ms FROM dh_records WHERE tenant_id = ? AND kind = ? AND source = ? AND "
        "source_id = ?");
    find.Bind(1, tenant_).Bind(2, KindName(kind_)).Bind(3, source_).Bind(4, id);
    KEFU_ASSIGN_OR_RETURN(bool exists, find.Step());
    RowOutcome out;
    int64_t version = 1;
    std::optional<int64_t> incoming = OptInt(r, "updated_ms");
    if (exists) {
      std::string stored_hash = find.Text(0);
      version = find.Int(1) + 1;
      int64_t stored_updated = find.Int(2);
      find.Reset();
      if (stored_hash == hash) {
        out.unchanged = true;
        return out;
      }
      if (IsEventKind(kind_))
        return Conflict("conflict: event '" + id + "' is already stored with different content (events are immutable)");
      if (incoming && stored_updated > 0 && *incoming <= stored_updated)
        return Conflict("stale: updated_ms " + std::to_string(*incoming) + " is not newer than the stored " +
                        std::to_string(stored_updated));
      out.updated = true;
    } else {
      find.Reset();
      out.created = true;
    }
    KEFU_RETURN_IF_ERROR(Write(r, id, out));
    auto& put = s_.Prepare(
        "INSERT INTO dh_records(tenant_id, kind, source, source_id, entity_id, hash, version, updated_ms) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(tenant_id, kind, source, source_id) DO UPDATE SET "
        "hash = ?6, version = ?7, updated_ms = ?8");
    put.Bind(1, tenant_).Bind(2, KindName(kind_)).Bind(3, source_).Bind(4, id).Bind(5, id).Bind(6, hash);
    put.Bind(7, version).Bind(8, incoming.value_or(0));
    KEFU_RETURN_IF_ERROR(put.Run());
    return out;
  }

 private:
  Status Write(const json& r, const std::string& id, RowOutcome& out) {
    switch (kind_) {
      case Kind::kCustomers: return Customer(r, id);
      case Kind::kProducts: return Product(r, id);
      case Kind::kInventory: return Inventory(r, id);
      case Kind::kOrders: return Order(r, id);
      case Kind::kLogistics: return Logistics(r, out);
      case Kind::kTickets: return Ticket(r, id);
      case Kind::kBrowsing: return Browsing(r, id);
      case Kind::kTransactions: return Transaction(r, id);
    }
    return Internal("unknown kind");
  }

  Status Customer(const json& r, const std::string& id) {
    std::vector<Identity> ids;
    if (auto p = OptStr(r, "phone")) {
      KEFU_ASSIGN_OR_RETURN(std::string v, NormalizeIdentity("phone", *p));
      ids.push_back({"phone", v});
    }
    if (auto e = OptStr(r, "email")) {
      KEFU_ASSIGN_OR_RETURN(std::string v, NormalizeIdentity("email", *e));
      ids.push_back({"email", v});
    }
    for (const auto& i : r.value("identities", json::array())) {
      std::string k = i["kind"];
      KEFU_ASSIGN_OR_RETURN(std::string v, NormalizeIdentity(k, i["value"].get<std::string>()));
      ids.push_back({k, v});
    }
    tools::rows::CustomerRecord c;
    c.id = id;
    c.name = Str(r, "name");
    c.phone = OptStr(r, "phone");
    c.email = OptStr(r, "email");
    c.tier = Str(r, "tier", "normal");
    c.city = OptStr(r, "city");
    c.gender = OptStr(r, "gender");
    c.birthday = OptStr(r, "birthday");
    c.created_ms = OptInt(r, "created_ms").value_or(now_);
    c.updated_ms = OptInt(r, "updated_ms").value_or(now_);
    KEFU_RETURN_IF_ERROR(tools::rows::UpsertCustomer(s_, tenant_, c, r.contains("created_ms")));
    return identity_.Attach(s_, tenant_, id, ids, source_).status();
  }

  Status Product(const json& r, const std::string& id) {
    tools::rows::ProductRecord p;
    p.id = id;
    p.name = Str(r, "name");
    p.category = Str(r, "category");
    p.brand = Str(r, "brand");
    p.price_cents = r["price_cents"].get<int64_t>();
    p.stock = OptInt(r, "stock");
    p.description = Str(r, "description");
    p.attrs_json = r.value("attrs", json::object()).dump();
    return tools::rows::UpsertProduct(s_, tenant_, p);
  }

  Status Inventory(const json& r, const std::string& id) {
    KEFU_ASSIGN_OR_RETURN(bool found, tools::rows::SetProductStock(s_, tenant_, id, r["stock"].get<int64_t>()));
    if (!found) return NotFound("product_id: unknown product '" + id + "' (ingest the product first)");
    return Status::Ok();
  }

  Status Order(const json& r, const std::string& id) {
    std::string customer = r["customer_id"];
    KEFU_RETURN_IF_ERROR(RequireCustomer(s_, tenant_, customer));
    json items = json::array();
    for (const auto& it : r["items"]) {
      items.push_back({{"product_id", it["product_id"]}, {"name", it.value("name", "")},
                       {"spec", it.value("spec", "")}, {"qty", it.value("qty", int64_t{1})},
                       {"price_cents", it.value("price_cents", int64_t{0})}});
    }
    tools::rows::OrderRecord o;
    o.id = id;
    o.customer_id = customer;
    o.status = Str(r, "status");
    o.total_cents = r["total_cents"].get<int64_t>();
    o.items_json = items.dump();
    o.address = Str(r, "address");
    o.carrier = OptStr(r, "carrier");
    o.tracking_no = OptStr(r, "tracking_no");
    o.created_ms = r["created_ms"].get<int64_t>();
    o.updated_ms = OptInt(r, "updated_ms").value_or(o.created_ms);
    return tools::rows::UpsertOrder(s_, tenant_, o);
  }

  Status Logistics(const json& r, RowOutcome& out) {
    std::string order = r["order_id"];
    int64_t ts = r["ts_ms"];
    KEFU_ASSIGN_OR_RETURN(std::optional<std::string> current, tools::rows::OrderStatus(s_, tenant_, order));
    if (!current) return NotFound("order_id: unknown order '" + order + "' (ingest the order first)");
    std::string order_status = std::move(*current);
    KEFU_ASSIGN_OR_RETURN(std::optional<int64_t> prev_max, tools::rows::LastLogisticsTime(s_, tenant_, order));
    KEFU_RETURN_IF_ERROR(tools::rows::InsertLogisticsEvent(
        s_, tenant_, {order, ts, Str(r, "status"), Str(r, "location"), Str(r, "description")}));
    if (prev_max && ts < *prev_max) out.reordered = true;
    // The order follows its latest event (by event time, then by progress).
    KEFU_ASSIGN_OR_RETURN(std::optional<tools::LogisticsEvent> latest_event,
                          tools::rows::LatestLogisticsEvent(s_, tenant_, order));
    if (!latest_event) return Status::Ok();
    std::string status = latest_event->status;
    int64_t latest_ts = latest_event->ts_ms;
    static const std::string_view kShipping[] = {"paid", "shipped", "in_transit", "out_for_delivery", "delivered"};
    bool in_flow = std::find(std::begin(kShipping), std::end(kShipping), order_status) != std::end(kShipping);
    std::string next = in_flow && LogisticsRank(status) > 0 ? std::string(OrderStatusForLogistics(status)) : order_status;
    return tools::rows::SetOrderStatus(s_, tenant_, order, next, latest_ts);
  }

  Status Ticket(const json& r, const std::string& id) {
    KEFU_RETURN_IF_ERROR(RequireCustomer(s_, tenant_, r["customer_id"].get<std::string>()));
    int64_t created = r["created_ms"];
    auto& st = s_.Prepare(
        "INSERT INTO tickets(tenant_id, id, customer_id, order_id, subject, body, status, priority, channel, "
        "created_ms, updated_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT(tenant_id, id) "
        "DO UPDATE SET customer_id = ?3, order_id = ?4, subject = ?5, body = ?6, status = ?7, priority = ?8, "
        "channel = ?9, created_ms = ?10, updated_ms = ?11");
    st.Bind(1, tenant_).Bind(2, id).Bind(3, Str(r, "customer_id")).Bind(4, OptStr(r, "order_id"));
    st.Bind(5, Str(r, "subject")).Bind(6, Str(r, "body")).Bind(7, Str(r, "status")).Bind(8, Str(r, "priority", "normal"));
    st.Bind(9, Str(r, "channel")).Bind(10, created).Bind(11, OptInt(r, "updated_ms").value_or(created));
    return st.Run();
  }

  Status Browsing(const json& r, const std::string& id) {
    if (auto c = OptStr(r, "customer_id")) KEFU_RETURN_IF_ERROR(RequireCustomer(s_, tenant_, *c));
    auto& st = s_.Prepare(
        "INSERT INTO browsing_events(tenant_id, id, customer_id, device_id, ts_ms, type, product_id, url, query) "
        "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
    st.Bind(1, tenant_).Bind(2, id).Bind(3, OptStr(r, "customer_id")).Bind(4, OptStr(r, "device_id"));
    st.Bind(5, r["ts_ms"].get<int64_t>()).Bind(6, Str(r, "type")).Bind(7, OptStr(r, "product_id"));
    st.Bind(8, Str(r, "url")).Bind(9, Str(r, "query"));
    Status s = st.Run();
    if (s.code() == ErrorCode::kAlreadyExists)
      return Conflict("conflict: event '" + id + "' is already stored by another source");
    return s;
  }

  Status Transaction(const json& r, const std::string& id) {
    KEFU_RETURN_IF_ERROR(RequireCustomer(s_, tenant_, r["customer_id"].get<std::string>()));
    auto& st = s_.Prepare(
        "INSERT INTO transactions(tenant_id, id, customer_id, order_id, ts_ms, type, method, amount_cents, "
        "currency, status, card_last4) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    st.Bind(1, tenant_).Bind(2, id).Bind(3, Str(r, "customer_id")).Bind(4, OptStr(r, "order_id"));
    st.Bind(5, r["ts_ms"].get<int64_t>()).Bind(6, Str(r, "type")).Bind(7, Str(r, "method"));
    st.Bind(8, r["amount_cents"].get<int64_t>()).Bind(9, Str(r, "currency", "CNY")).Bind(10, Str(r, "status"));
    st.Bind(11, OptStr(r, "card_last4"));
    Status s = st.Run();
    if (s.code() == ErrorCode::kAlreadyExists)
      return Conflict("conflict: transaction '" + id + "' is already stored by another source");
    return s;
  }

  storage::Session& s_;
  IdentityService& identity_;
  const std::string& tenant_;
  Kind kind_;
  const std::string& source_;
  int64_t now_;
};

}  // namespace

std::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kCustomers: return "customers";
    case Kind::kProducts: return "products";
    case Kind::kInventory: return "inventory";
    case Kind::kOrders: return "orders";
    case Kind::kLogistics: return "logistics";
    case Kind::kTickets: return "tickets";
    case Kind::kBrowsing: return "browsing";
    case Kind::kTransactions: return "transactions";
  }
  return "";
}

std::optional<Kind> ParseKind(std::string_view name) {
  for (Kind k : kAllKinds) {
    if (KindName(k) == name) return k;
  }
  return std::nullopt;
}

bool IsEventKind(Kind kind) {
  return kind == Kind::kLogistics || kind == Kind::kBrowsing || kind == Kind::kTransactions;
}

json IngestReport::ToJson() const {
  json rej = json::array();
  for (const auto& r : rejected) rej.push_back({{"index", r.index}, {"id", r.id}, {"reason", r.reason}});
  return {{"accepted", accepted}, {"created", created},     {"updated", updated},
          {"unchanged", unchanged}, {"reordered", reordered}, {"rejected", rej}};
}

Result<IngestReport> IngestService::Ingest(const std::string& tenant, Kind kind, const std::string& source,
                                           const json& records) {
  if (!records.is_array()) return InvalidArgument("records must be an array of objects");
  if (settings_.max_batch > 0 && records.size() > settings_.max_batch)
    return PayloadTooLarge("batch of " + std::to_string(records.size()) + " records is larger than the limit of " +
                           std::to_string(settings_.max_batch) + "; split it");
  if (!IdOk(source) || source.size() > 64)
    return InvalidArgument("source must be 1-64 characters of letters, digits and - _ . : @");
  IngestReport report;
  auto s = db_.Lock();
  auto tx = s.Begin();
  KEFU_RETURN_IF_ERROR(tx.status());
  {
    KEFU_ASSIGN_OR_RETURN(bool row, api::tenant_rows::Exists(s, tenant));
    if (!row) return NotFound("tenant " + tenant + " not found");
  }
  BatchWriter writer(s, identity_, tenant, kind, source, clock_.NowMs());
  for (size_t i = 0; i < records.size(); ++i) {
    const json& rec = records[i];
    auto valid = Validate(kind, rec);
    if (!valid.ok()) {
      std::string id;
      if (rec.is_object()) {
        auto it = rec.find(kind == Kind::kInventory ? "product_id" : "id");
        if (it != rec.end() && it->is_string()) id = it->get<std::string>();
      }
      report.rejected.push_back({i, id, valid.status().message()});
      continue;
    }
    std::string id = RecordId(kind, *valid);
    auto& sp = s.Prepare("SAVEPOINT dh_row");
    KEFU_RETURN_IF_ERROR(sp.Run());
    auto outcome = writer.Row(*valid, id);
    if (!outcome.ok()) {
      auto& rb = s.Prepare("ROLLBACK TO dh_row");
      KEFU_RETURN_IF_ERROR(rb.Run());
    }
    auto& rel = s.Prepare("RELEASE dh_row");
    KEFU_RETURN_IF_ERROR(rel.Run());
    if (!outcome.ok()) {
      if (!IsRowError(outcome.status())) return outcome.status();
      report.rejected.push_back({i, id, outcome.status().message()});
      continue;
    }
    if (outcome->unchanged) ++report.unchanged;
    if (outcome->created) ++report.created;
    if (outcome->updated) ++report.updated;
    if (outcome->reordered) ++report.reordered;
  }
  report.accepted = report.created + report.updated;
  KEFU_RETURN_IF_ERROR(tx.Commit());
  return report;
}

json IngestService::RecordSchema(Kind kind) {
  json props = json::object();
  json required = json::array();
  for (const Field& f : Fields(kind)) {
    json p;
    switch (f.type) {
      case T::kString:
        p = {{"type", "string"}, {"maxLength", f.max_len}};
        if (!f.enums.empty()) {
          json e = json::array();
          for (auto v : f.enums) e.push_back(std::string(v));
          p["enum"] = e;
        }
        break;
      case T::kInt:
        p = {{"type", "integer"}, {"format", "int64"}};
        if (f.min != std::numeric_limits<int64_t>::min()) p["minimum"] = f.min;
        break;
      case T::kObject: p = {{"type", "object"}}; break;
      case T::kItems:
      {
        json props = json::object();
        props["product_id"] = {{"type", "string"}};
        props["name"] = {{"type", "string"}};
        props["spec"] = {{"type", "string"}};
        props["qty"] = {{"type", "integer"}, {"minimum", 1}};
        props["price_cents"] = {{"type", "integer"}, {"minimum", 0}};
        json item = {{"type", "object"}, {"properties", props}};
        item["required"] = json::array({"product_id"});
        p = {{"type", "array"}, {"minItems", 1}, {"items", item}};
      }
        break;
      case T::kIdentities: {
        json kinds = json::array();
        for (auto k : kIdentityKinds) kinds.push_back(std::string(k));
        json props = json::object();
        props["kind"] = {{"type", "string"}, {"enum", kinds}};
        props["value"] = {{"type", "string"}};
        json item = {{"type", "object"}, {"properties", props}};
        item["required"] = json::array({"kind", "value"});
        p = {{"type", "array"}, {"items", item}};
        break;
      }
    }
    p["description"] = std::string(f.description);
    props[std::string(f.name)] = p;
    if (f.required) required.push_back(std::string(f.name));
  }
  return {{"type", "object"}, {"additionalProperties", false}, {"required", required}, {"properties", props}};
}

Result<json> IngestService::RecordFromCsv(Kind kind, const std::vector<std::string>& header,
                                          const std::vector<std::string>& cells) {
  if (cells.size() != header.size())
    return InvalidArgument("expected " + std::to_string(header.size()) + " columns, got " +
                           std::to_string(cells.size()));
  const auto& fields = Fields(kind);
  json rec = json::object();
  for (size_t i = 0; i < header.size(); ++i) {
    const std::string& col = header[i];
    const std::string& cell = cells[i];
    if (cell.empty()) continue;
    auto f = std::find_if(fields.begin(), fields.end(), [&](const Field& x) { return x.name == col; });
    if (f == fields.end()) {
      rec[col] = cell;  // reported as an unknown field by validation
      continue;
    }
    switch (f->type) {
      case T::kString: rec[col] = cell; break;
      case T::kInt: {
        int64_t v = 0;
        auto [p, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
        if (ec != std::errc() || p != cell.data() + cell.size())
          return InvalidArgument(col + ": expected integer, got '" + cell + "'");
        rec[col] = v;
        break;
      }
      case T::kObject:
      case T::kItems:
      case T::kIdentities: {
        auto v = ParseJson(cell);
        if (!v.ok()) return InvalidArgument(col + ": " + v.status().message());
        rec[col] = std::move(*v);
        break;
      }
    }
  }
  return rec;
}

}  // namespace kefu::datahub
