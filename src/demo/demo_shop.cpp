#include "demo/demo_shop.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "datahub/ingest.h"
#include "demo/embedded_files.h"

namespace kefu::demo {
namespace {

using nlohmann::json;

constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kDayMs = 24 * kHourMs;

int64_t Cents(const json& yuan) { return std::llround(yuan.get<double>() * 100.0); }

Result<json> ParseFile(std::string_view name) {
  std::string_view data = DemoFile(name);
  if (data.empty()) return Internal("demo file " + std::string(name) + " is not embedded");
  json j = json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Internal("demo file " + std::string(name) + " is not valid JSON");
  return j;
}

// "09:00" -> 540
int Minutes(const std::string& hhmm) {
  int h = 0, m = 0;
  if (std::sscanf(hhmm.c_str(), "%d:%d", &h, &m) != 2) return -1;
  return h * 60 + m;
}

Result<DemoShop> ParseShop() {
  KEFU_ASSIGN_OR_RETURN(json j, ParseFile("shop.json"));
  KEFU_ASSIGN_OR_RETURN(json customers, ParseFile("customers.json"));
  DemoShop s;
  if (!j.is_object()) return Internal("shop.json: not an object");
  s.tenant_id = j.value("tenant_id", "");
  s.name = j.value("name", "");
  s.widget_key = j.value("widget_key", "");
  s.api_key = j.value("api_key", "");
  s.assistant_name = j.value("assistant_name", "");
  s.greeting = j.value("greeting", "");
  for (const auto& q : j.value("quick_questions", json::array())) s.quick_questions.push_back(q.get<std::string>());
  json hours = j.value("service_hours", json::object());
  s.service_hours.open_minute = Minutes(hours.value("open", ""));
  s.service_hours.close_minute = Minutes(hours.value("close", ""));
  s.service_hours.utc_offset_minutes = hours.value("utc_offset_minutes", 480);
  s.service_hours_text = hours.value("text", "");
  s.hotline = j.value("hotline", "");
  if (s.tenant_id.empty() || s.name.empty() || s.widget_key.empty() || s.service_hours.open_minute < 0 ||
      s.service_hours.close_minute <= s.service_hours.open_minute)
    return Internal("shop.json: missing tenant_id/name/widget_key or bad service_hours");
  for (const auto& id : j.value("demo_customers", json::array())) {
    std::string cid = id.get<std::string>();
    std::string name;
    for (const auto& c : customers) {
      if (c.value("id", "") == cid) name = c.value("name", "");
    }
    if (name.empty()) return Internal("shop.json: demo customer " + cid + " is not in customers.json");
    s.demo_customers.push_back({cid, name});
  }
  return s;
}

// The demo's records per ingestion kind, with relative times made absolute at `now`.
struct DemoRecords {
  std::vector<std::pair<datahub::Kind, json>> batches;  // in dependency order
};

Result<DemoRecords> BuildRecords(int64_t now) {
  KEFU_ASSIGN_OR_RETURN(json products, ParseFile("products.json"));
  KEFU_ASSIGN_OR_RETURN(json customers, ParseFile("customers.json"));
  KEFU_ASSIGN_OR_RETURN(json orders, ParseFile("orders.json"));
  KEFU_ASSIGN_OR_RETURN(json browsing, ParseFile("browsing.json"));
  KEFU_ASSIGN_OR_RETURN(json tickets, ParseFile("tickets.json"));
  json prod = json::array(), cust = json::array(), ord = json::array(), events = json::array(),
       clicks = json::array(), tks = json::array(), txs = json::array();
  try {
    for (const auto& p : products) {
      json r = {{"id", p.at("id")},
                {"name", p.at("name")},
                {"category", p.at("category")},
                {"brand", p.value("brand", "")},
                {"price_cents", Cents(p.at("price"))},
                {"stock", p.value("stock", int64_t{0})},
                {"description", p.value("description", "")},
                {"attrs", p.value("attrs", json::object())}};
      prod.push_back(std::move(r));
    }
    int64_t i = 0;
    for (const auto& c : customers) {
      json r = c;
      // Registration dates spread over the past two years, oldest customer first.
      r["created_ms"] = now - (700 - 10 * i++) * kDayMs;
      cust.push_back(std::move(r));
    }
    for (const auto& o : orders) {
      json items = json::array();
      for (const auto& it : o.at("items")) {
        items.push_back({{"product_id", it.at("product_id")},
                         {"name", it.value("name", "")},
                         {"spec", it.value("spec", "")},
                         {"qty", it.value("qty", int64_t{1})},
                         {"price_cents", Cents(it.at("price"))}});
      }
      std::string id = o.at("id");
      std::string status = o.at("status");
      int64_t created = now - std::llround(o.at("created_days_ago").get<double>() * kDayMs);
      json r = {{"id", id},
                {"customer_id", o.at("customer_id")},
                {"status", status},
                {"total_cents", Cents(o.at("total"))},
                {"items", items},
                {"address", o.value("address", "")},
                {"created_ms", created}};
      if (o.contains("carrier") && o["carrier"].is_string()) r["carrier"] = o["carrier"];
      if (o.contains("tracking_no") && o["tracking_no"].is_string()) r["tracking_no"] = o["tracking_no"];
      ord.push_back(std::move(r));
      for (const auto& e : o.value("events", json::array())) {
        int64_t ts = created + std::llround(e.at("hours").get<double>() * kHourMs);
        if (ts > now) return Internal("orders.json: order " + id + " has an event in the future");
        events.push_back({{"order_id", id},
                          {"ts_ms", ts},
                          {"status", e.at("status")},
                          {"location", e.value("location", "")},
                          {"description", e.value("description", "")}});
      }
      // Payments (and refunds) of the demo orders, so that the profile's lifetime value has transactions.
      if (status != "pending_payment" && status != "cancelled") {
        static const char* kMethods[] = {"alipay", "wechat_pay", "card", "unionpay"};
        size_t h = std::hash<std::string>{}(id);
        std::string method = kMethods[h % 4];
        json pay = {{"id", "PAY-" + id},  {"customer_id", o.at("customer_id")}, {"order_id", id},
                    {"ts_ms", created + 60'000}, {"type", "payment"},            {"method", method},
                    {"amount_cents", Cents(o.at("total"))}, {"status", "succeeded"}};
        if (method == "card") pay["card_last4"] = std::to_string(1000 + h % 9000);
        txs.push_back(pay);
        if (status == "refunded") {
          json refund = pay;
          refund["id"] = "REF-" + id;
          refund["type"] = "refund";
          refund["ts_ms"] = std::min(now, created + 5 * kDayMs);
          txs.push_back(refund);
        }
      }
    }
    for (const auto& b : browsing) {
      json r = b;
      r.erase("hours_ago");
      r["ts_ms"] = now - std::llround(b.at("hours_ago").get<double>() * kHourMs);
      clicks.push_back(std::move(r));
    }
    for (const auto& t : tickets) {
      json r = t;
      r.erase("days_ago");
      r["created_ms"] = now - std::llround(t.at("days_ago").get<double>() * kDayMs);
      tks.push_back(std::move(r));
    }
  } catch (const json::exception& e) {
    return Internal(std::string("demo data: ") + e.what());
  }
  DemoRecords d;
  d.batches = {{datahub::Kind::kProducts, std::move(prod)}, {datahub::Kind::kCustomers, std::move(cust)},
               {datahub::Kind::kOrders, std::move(ord)},    {datahub::Kind::kLogistics, std::move(events)},
               {datahub::Kind::kTransactions, std::move(txs)}, {datahub::Kind::kBrowsing, std::move(clicks)},
               {datahub::Kind::kTickets, std::move(tks)}};
  return d;
}

}  // namespace

std::string_view DemoFile(std::string_view name) {
  for (const auto& f : EmbeddedFiles()) {
    if (f.name == name) return f.data;
  }
  return {};
}

const DemoShop& DemoShopInfo() {
  static const DemoShop kShop = [] {
    auto s = ParseShop();
    if (!s.ok()) {
      // The files are embedded at build time and checked by demo_shop_test, so this is a build defect.
      std::fprintf(stderr, "kefu: embedded demo shop is broken: %s\n", s.status().ToString().c_str());
      std::abort();
    }
    return std::move(s).value();
  }();
  return kShop;
}

Status LoadDemoTenant(storage::Database& db, tools::CommerceStore& store, knowledge::KnowledgeBase& kb,
                      const Clock& clock) {
  const DemoShop& shop = DemoShopInfo();
  const std::string& t = shop.tenant_id;
  // Each module counts its own rows (the shop's orders, the knowledge base's entries).
  KEFU_ASSIGN_OR_RETURN(int64_t orders, store.Count(t, "orders"));
  const int64_t entries = static_cast<int64_t>(kb.Size(t));
  if (orders > 0 && entries > 0) return Status::Ok();

  int64_t now = clock.NowMs();
  if (orders == 0) {
    // Through the same ingestion service (and validation) as the API and `kefu import`.
    KEFU_RETURN_IF_ERROR(store.UpsertTenant({shop.tenant_id, shop.name, shop.widget_key, now}));
    KEFU_ASSIGN_OR_RETURN(DemoRecords records, BuildRecords(now));
    datahub::IdentityService identity(db, clock);
    datahub::IngestSettings settings;
    settings.max_batch = 0;  // the demo files are a few hundred rows each
    datahub::IngestService ingest(db, identity, clock, settings);
    json counts = json::object();
    for (const auto& [kind, batch] : records.batches) {
      KEFU_ASSIGN_OR_RETURN(datahub::IngestReport report, ingest.Ingest(t, kind, "demo", batch));
      if (!report.rejected.empty()) {
        const auto& r = report.rejected.front();
        return Internal("demo " + std::string(datahub::KindName(kind)) + " record " + r.id + ": " + r.reason);
      }
      counts[std::string(datahub::KindName(kind))] = report.accepted + report.unchanged;
    }
    log::Info("demo_commerce_loaded", {{"tenant", t}, {"ingested", counts}});
  }
  if (entries == 0) {
    KEFU_ASSIGN_OR_RETURN(knowledge::ImportReport report,
                          kb.Import(t, knowledge::Format::kMarkdown, DemoFile("kb.md"), "demo/shop/kb.md"));
    if (!report.errors.empty()) {
      return Internal("demo kb.md line " + std::to_string(report.errors.front().line) + ": " +
                      report.errors.front().reason);
    }
    // English versions of the most-asked entries (id "<entry>.en", lang en).
    KEFU_ASSIGN_OR_RETURN(knowledge::ImportReport en,
                          kb.Import(t, knowledge::Format::kMarkdown, DemoFile("kb_en.md"), "demo/shop/kb_en.md"));
    if (!en.errors.empty()) {
      return Internal("demo kb_en.md line " + std::to_string(en.errors.front().line) + ": " +
                      en.errors.front().reason);
    }
    KEFU_ASSIGN_OR_RETURN(json syn, ParseFile("synonyms.json"));
    std::vector<std::vector<std::string>> groups;
    for (const auto& g : syn) {
      if (!g.is_array()) return Internal("synonyms.json: every group must be an array");
      std::vector<std::string> group;
      for (const auto& term : g) {
        if (!term.is_string()) return Internal("synonyms.json: terms must be strings");
        group.push_back(term.get<std::string>());
      }
      groups.push_back(std::move(group));
    }
    KEFU_RETURN_IF_ERROR(kb.SetSynonyms(t, groups));
    log::Info("demo_kb_loaded", {{"tenant", t}, {"entries", report.imported + report.updated + report.unchanged},
                                 {"synonym_groups", groups.size()}});
  }
  return Status::Ok();
}

}  // namespace kefu::demo
