#include "demo/demo_shop.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "common/log.h"
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

Result<tools::CommerceBatch> BuildBatch(const DemoShop& shop, int64_t now) {
  tools::CommerceBatch b;
  b.tenant = {shop.tenant_id, shop.name, shop.widget_key, now};
  KEFU_ASSIGN_OR_RETURN(json products, ParseFile("products.json"));
  KEFU_ASSIGN_OR_RETURN(json customers, ParseFile("customers.json"));
  KEFU_ASSIGN_OR_RETURN(json orders, ParseFile("orders.json"));
  try {
    for (const auto& p : products) {
      b.products.push_back({p.at("id"), p.at("name"), p.at("category"), p.value("brand", ""), Cents(p.at("price")),
                            p.value("stock", int64_t{0}), p.value("description", ""),
                            p.value("attrs", json::object())});
    }
    int64_t i = 0;
    for (const auto& c : customers) {
      // Registration dates spread over the past two years, oldest customer first.
      b.customers.push_back({c.at("id"), c.at("name"), c.value("phone", ""), c.value("email", ""),
                             c.value("tier", "normal"), c.value("city", ""), now - (700 - 10 * i++) * kDayMs});
    }
    for (const auto& o : orders) {
      tools::Order order;
      order.id = o.at("id");
      order.customer_id = o.at("customer_id");
      order.status = o.at("status");
      order.total_cents = Cents(o.at("total"));
      for (const auto& it : o.at("items")) {
        order.items.push_back({it.at("product_id"), it.value("name", ""), it.value("spec", ""),
                               it.value("qty", int64_t{1}), Cents(it.at("price"))});
      }
      order.address = o.value("address", "");
      if (o.contains("carrier") && o["carrier"].is_string()) order.carrier = o["carrier"].get<std::string>();
      if (o.contains("tracking_no") && o["tracking_no"].is_string())
        order.tracking_no = o["tracking_no"].get<std::string>();
      order.created_ms = now - std::llround(o.at("created_days_ago").get<double>() * kDayMs);
      order.updated_ms = order.created_ms;
      for (const auto& e : o.value("events", json::array())) {
        int64_t ts = order.created_ms + std::llround(e.at("hours").get<double>() * kHourMs);
        if (ts > now) return Internal("orders.json: order " + order.id + " has an event in the future");
        b.events.push_back({order.id, ts, e.at("status"), e.value("location", ""), e.value("description", "")});
        order.updated_ms = std::max(order.updated_ms, ts);
      }
      b.orders.push_back(std::move(order));
    }
  } catch (const json::exception& e) {
    return Internal(std::string("demo data: ") + e.what());
  }
  return b;
}

Result<int64_t> CountRows(storage::Database& db, const char* sql, const std::string& tenant) {
  auto s = db.Lock();
  auto& st = s.Prepare(sql);
  KEFU_RETURN_IF_ERROR(s.PrepareStatus());
  st.Bind(1, tenant);
  KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.Int(0) : 0;
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
  KEFU_ASSIGN_OR_RETURN(int64_t orders, CountRows(db, "SELECT COUNT(*) FROM orders WHERE tenant_id = ?", t));
  KEFU_ASSIGN_OR_RETURN(int64_t entries, CountRows(db, "SELECT COUNT(*) FROM kb_entries WHERE tenant_id = ?", t));
  if (orders > 0 && entries > 0) return Status::Ok();

  int64_t now = clock.NowMs();
  if (orders == 0) {
    KEFU_ASSIGN_OR_RETURN(tools::CommerceBatch batch, BuildBatch(shop, now));
    KEFU_RETURN_IF_ERROR(store.UpsertBatch(batch));
    log::Info("demo_commerce_loaded", {{"tenant", t}, {"products", batch.products.size()},
                                       {"customers", batch.customers.size()}, {"orders", batch.orders.size()},
                                       {"logistics_events", batch.events.size()}});
  }
  if (entries == 0) {
    KEFU_ASSIGN_OR_RETURN(knowledge::ImportReport report,
                          kb.Import(t, knowledge::Format::kMarkdown, DemoFile("kb.md"), "demo/shop/kb.md"));
    if (!report.errors.empty()) {
      return Internal("demo kb.md line " + std::to_string(report.errors.front().line) + ": " +
                      report.errors.front().reason);
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
