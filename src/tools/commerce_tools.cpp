#include "tools/commerce_tools.h"

#include "common/utf8.h"

#include <algorithm>
#include <chrono>
#include <cctype>
#include <cstdio>
#include <cstdlib>

namespace kefu::tools {

// Orders are personal data: an unverified customer (ToolContext) sees none.
Status RequireVerified(const ToolContext& ctx) {
  if (ctx.is_operator || ctx.customer_verified) return Status::Ok();
  return PermissionDenied("unverified_customer: sign in (a signed customer token) to see orders");
}
namespace {

using nlohmann::json;

constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kDayMs = 24 * kHourMs;

std::string Money(int64_t cents) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "¥%lld.%02lld", static_cast<long long>(cents / 100),
                static_cast<long long>(std::llabs(cents % 100)));
  return buf;
}

double Yuan(int64_t cents) { return static_cast<double>(cents) / 100.0; }

std::string LocalDate(int64_t ms, int offset_min) { return FormatLocalTime(ms, offset_min).substr(0, 10); }

// Typical door-to-door days for a carrier; remote provinces take longer.
int TransitDays(const std::string& carrier, const std::string& address) {
  int days = (carrier == "顺丰速运" || carrier == "京东物流") ? 2 : 3;
  for (const char* remote : {"新疆", "西藏", "青海", "内蒙古", "宁夏", "甘肃", "海南"}) {
    if (address.find(remote) != std::string::npos) return days + 2;
  }
  return days;
}

bool InTransitStatus(const std::string& s) { return s == "shipped" || s == "in_transit" || s == "out_for_delivery"; }

std::string OrderIdArg(const json& args) {
  std::string id = args.value("order_id", "");
  id.erase(0, id.find_first_not_of(" \t"));
  id.erase(id.find_last_not_of(" \t") + 1);
  std::transform(id.begin(), id.end(), id.begin(), [](unsigned char c) { return std::toupper(c); });
  return id;
}

class CommerceTool : public Tool {
 public:
  CommerceTool(CommerceStore& store, const CommerceToolsOptions& opt, std::string name, std::string description,
               json params)
      : store_(store), opt_(opt), name_(std::move(name)), description_(std::move(description)),
        params_(std::move(params)) {}
  std::string_view Name() const override { return name_; }
  std::string_view Description() const override { return description_; }
  const json& Parameters() const override { return params_; }

 protected:
  int Offset() const { return opt_.service_hours.utc_offset_minutes; }
  std::string Time(int64_t ms) const { return FormatLocalTime(ms, Offset()); }

  // The order named by args.order_id, or the customer's most recent order
  // (with `want_tracking`, the most recent one that has a tracking number).
  Result<Order> ResolveOrder(const ToolContext& ctx, const json& args, bool want_tracking) const {
    KEFU_RETURN_IF_ERROR(RequireVerified(ctx));
    std::string id = OrderIdArg(args);
    if (!id.empty()) {
      auto o = store_.GetOrder(ctx.tenant_id, id);
      if (!o.ok()) {
        if (o.status().code() == ErrorCode::kNotFound) return NotFound("order " + id + " not found");
        return o.status();
      }
      if (!ctx.is_operator) {
        const auto mine = store_.CustomerRecords(ctx.tenant_id, ctx.customer_id);
        if (std::find(mine.begin(), mine.end(), o->customer_id) == mine.end())
          return NotFound("order " + id + " not found");
      }
      return o;
    }
    if (ctx.customer_id.empty()) return InvalidArgument("argument 'order_id': is required when no customer is known");
    KEFU_ASSIGN_OR_RETURN(auto orders, store_.LatestOrders(ctx.tenant_id, ctx.customer_id, 50));
    if (orders.empty()) return NotFound("customer " + ctx.customer_id + " has no orders");
    if (want_tracking) {
      for (auto& o : orders) {
        if (o.tracking_no && !o.tracking_no->empty()) return std::move(o);
      }
    }
    return std::move(orders.front());
  }

  json EventJson(const LogisticsEvent& e) const {
    return {{"time", Time(e.ts_ms)}, {"ts_ms", e.ts_ms}, {"status", e.status},
            {"status_label", LogisticsStatusLabel(e.status)}, {"location", e.location},
            {"description", e.description}};
  }

  static std::string ItemSummary(const Order& o) {
    std::string s;
    for (const auto& i : o.items) {
      if (!s.empty()) s += "、";
      s += i.name + (i.spec.empty() ? "" : "（" + i.spec + "）") + " ×" + std::to_string(i.qty);
    }
    return s;
  }

  // Fields shared by every order-shaped result.
  json OrderSummary(const Order& o) const {
    return {{"order_id", o.id}, {"status", o.status}, {"status_label", OrderStatusLabel(o.status)},
            {"created_at", Time(o.created_ms)}, {"created_ms", o.created_ms}, {"total", Yuan(o.total_cents)},
            {"total_text", Money(o.total_cents)}, {"item_summary", ItemSummary(o)},
            {"carrier", o.carrier ? json(*o.carrier) : json()},
            {"tracking_no", o.tracking_no ? json(*o.tracking_no) : json()}};
  }

  // Delivery facts derived from the events: latest event, ETA, delivered_at.
  void AddDelivery(json& out, const Order& o, const std::vector<LogisticsEvent>& events) const {
    int64_t now = opt_.clock->NowMs();
    out["shipped"] = !events.empty() || (o.tracking_no && !o.tracking_no->empty());
    out["latest_event"] = events.empty() ? json() : EventJson(events.back());
    out["event_count"] = events.size();
    out["eta"] = json();
    out["delivered_at"] = json();
    for (const auto& e : events) {
      if (e.status == "delivered") out["delivered_at"] = Time(e.ts_ms);
    }
    if (InTransitStatus(o.status) && !events.empty()) {
      int days = TransitDays(o.carrier.value_or(""), o.address);
      int64_t eta = events.front().ts_ms + days * kDayMs;
      bool delayed = false;
      if (o.status == "out_for_delivery") {
        eta = now;
      } else if (eta < now) {
        eta = now + kDayMs;  // overdue: next day is the honest best guess
        delayed = true;
      }
      std::string date = LocalDate(eta, Offset());
      std::string today = LocalDate(now, Offset());
      std::string tomorrow = LocalDate(now + kDayMs, Offset());
      std::string text = date == today ? "预计今天送达" : date == tomorrow ? "预计明天送达"
                                                                       : "预计" + date.substr(5, 2) + "月" +
                                                                             date.substr(8, 2) + "日送达";
      out["eta"] = {{"date", date}, {"text", text}, {"delayed", delayed}, {"transit_days", days},
                    {"basis", "estimate from pickup time and the carrier's typical transit days"}};
    }
  }

  CommerceStore& store_;
  const CommerceToolsOptions opt_;

 private:
  std::string name_;
  std::string description_;
  json params_;
};

const json kOrderIdProp = {{"type", "string"}, {"minLength", 1}, {"maxLength", 40},
                           {"description", "订单号，如 SO202611010001；不填则使用当前客户最近的订单 / order id, optional"}};

class GetOrderTool final : public CommerceTool {
 public:
  GetOrderTool(CommerceStore& s, const CommerceToolsOptions& o)
      : CommerceTool(s, o, "get_order",
                     "查询订单详情：状态、商品、金额、收货地址、物流单号、能否取消/退货。不给订单号时查询当前客户最近一笔订单。"
                     " / Get an order's details (status, items, total, address, carrier, tracking number, whether it"
                     " can still be cancelled or returned). Without order_id, uses the customer's most recent order.",
                     {{"type", "object"}, {"properties", {{"order_id", kOrderIdProp}}}, {"additionalProperties", false}}) {}

  Result<json> Invoke(const ToolContext& ctx, const json& args) const override {
    KEFU_ASSIGN_OR_RETURN(Order o, ResolveOrder(ctx, args, /*want_tracking=*/false));
    KEFU_ASSIGN_OR_RETURN(auto events, store_.LogisticsEvents(ctx.tenant_id, o.id));
    json out = OrderSummary(o);
    json items = json::array();
    for (const auto& i : o.items) {
      items.push_back({{"product_id", i.product_id}, {"name", i.name}, {"spec", i.spec}, {"qty", i.qty},
                       {"price", Yuan(i.price_cents)}, {"price_text", Money(i.price_cents)}});
    }
    out["items"] = std::move(items);
    out["address"] = o.address;
    AddDelivery(out, o, events);
    out["can_cancel"] = o.status == "pending_payment" || o.status == "paid";
    out["return_deadline"] = json();
    out["can_return_without_reason"] = false;
    for (const auto& e : events) {
      if (e.status == "delivered" && o.status == "delivered") {
        int64_t deadline = e.ts_ms + 7 * kDayMs;
        out["return_deadline"] = Time(deadline);
        out["can_return_without_reason"] = opt_.clock->NowMs() < deadline;
      }
    }
    return out;
  }
};

class TrackLogisticsTool final : public CommerceTool {
 public:
  TrackLogisticsTool(CommerceStore& s, const CommerceToolsOptions& o)
      : CommerceTool(s, o, "track_logistics",
                     "查询物流轨迹：快递公司、运单号、每一条物流记录、最新进展和预计送达时间。不给订单号时查询当前客户最近一笔已发货订单。"
                     " / Track a parcel: carrier, tracking number, all logistics events (oldest first), the latest"
                     " one and an ETA estimate. Without order_id, uses the customer's most recent shipped order.",
                     {{"type", "object"}, {"properties", {{"order_id", kOrderIdProp}}}, {"additionalProperties", false}}) {}

  Result<json> Invoke(const ToolContext& ctx, const json& args) const override {
    KEFU_ASSIGN_OR_RETURN(Order o, ResolveOrder(ctx, args, /*want_tracking=*/true));
    KEFU_ASSIGN_OR_RETURN(auto events, store_.LogisticsEvents(ctx.tenant_id, o.id));
    json out = OrderSummary(o);
    json list = json::array();
    for (const auto& e : events) list.push_back(EventJson(e));
    out["events"] = std::move(list);
    AddDelivery(out, o, events);
    return out;
  }
};

class ListOrdersTool final : public CommerceTool {
 public:
  ListOrdersTool(CommerceStore& s, const CommerceToolsOptions& o)
      : CommerceTool(s, o, "list_orders",
                     "列出当前客户最近的订单（订单号、状态、商品、金额），可按状态筛选。"
                     " / List the current customer's recent orders, newest first, optionally filtered by status.",
                     {{"type", "object"},
                      {"properties",
                       {{"limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", 20}, {"default", 5},
                                   {"description", "最多返回几笔 / how many orders (default 5)"}}},
                        {"status", {{"type", "string"},
                                    {"enum", json(std::vector<std::string>(std::begin(kOrderStatuses),
                                                                           std::end(kOrderStatuses)))},
                                    {"description", "只看某个状态的订单 / only orders in this status"}}}}},
                      {"additionalProperties", false}}) {}

  Result<json> Invoke(const ToolContext& ctx, const json& args) const override {
    if (ctx.customer_id.empty()) return InvalidArgument("list_orders needs a customer");
    KEFU_RETURN_IF_ERROR(RequireVerified(ctx));
    int limit = args.value("limit", 5);
    std::string status = args.value("status", "");
    KEFU_ASSIGN_OR_RETURN(auto orders, store_.LatestOrders(ctx.tenant_id, ctx.customer_id, status.empty() ? limit : 200));
    json list = json::array();
    for (const auto& o : orders) {
      if (!status.empty() && o.status != status) continue;
      if (static_cast<int>(list.size()) >= limit) break;
      list.push_back(OrderSummary(o));
    }
    json out = {{"customer_id", ctx.customer_id}, {"count", list.size()}};
    out["orders"] = std::move(list);
    return out;
  }
};

class SearchProductsTool final : public CommerceTool {
 public:
  SearchProductsTool(CommerceStore& s, const CommerceToolsOptions& o)
      : CommerceTool(s, o, "search_products",
                     "按关键词（商品名/品牌/品类）、品类和价格区间搜索商品，返回价格、库存和规格参数（尺码表、保修期、容量等）。"
                     " / Search products by keyword (name, brand, category), category and price range; returns price,"
                     " stock and attributes (size chart, warranty, volume ...).",
                     {{"type", "object"},
                      {"properties",
                       {{"keyword", {{"type", "string"}, {"maxLength", 50},
                                     {"description", "关键词，多个词用空格分隔 / keywords, space separated"}}},
                        {"category", {{"type", "string"}, {"maxLength", 20},
                                      {"description", "品类，如 家电、服装、美妆、数码 / category"}}},
                        {"min_price", {{"type", "number"}, {"minimum", 0}, {"description", "最低价（元）"}}},
                        {"max_price", {{"type", "number"}, {"minimum", 0}, {"description", "最高价（元）"}}},
                        {"limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", 20}, {"default", 5}}}}},
                      {"additionalProperties", false}}) {}

  Result<json> Invoke(const ToolContext& ctx, const json& args) const override {
    ProductQuery q;
    q.keyword = args.value("keyword", "");
    q.category = args.value("category", "");
    if (args.contains("min_price")) q.min_price_cents = static_cast<int64_t>(args["min_price"].get<double>() * 100 + 0.5);
    if (args.contains("max_price")) q.max_price_cents = static_cast<int64_t>(args["max_price"].get<double>() * 100 + 0.5);
    if (q.min_price_cents && q.max_price_cents && *q.min_price_cents > *q.max_price_cents)
      return InvalidArgument("argument 'min_price': must not exceed max_price");
    q.limit = args.value("limit", 5);
    KEFU_ASSIGN_OR_RETURN(auto products, store_.SearchProducts(ctx.tenant_id, q));
    // A keyword found only in descriptions ("手机" in an air conditioner's "手机App远程控制")
    // names none of those goods: keep the products whose name, brand or category has a keyword.
    if (!q.keyword.empty() && !products.empty()) {
      std::vector<Product> named;
      std::vector<std::string> words = Bigrams(q.keyword);
      for (auto& p : products) {
        const std::string label = p.name + " " + p.brand + " " + p.category;
        bool has = false;
        for (const auto& w : words) has = has || Has(label, w);
        if (has) named.push_back(std::move(p));
      }
      products = std::move(named);
    }
    bool fuzzy = false;
    if (products.empty() && !q.keyword.empty()) {
      // Unsegmented Chinese ("索尼耳机") rarely occurs verbatim: rank by shared character bigrams.
      KEFU_ASSIGN_OR_RETURN(products, FuzzySearch(ctx.tenant_id, q));
      fuzzy = true;
    }
    json list = json::array();
    for (const auto& p : products) {
      list.push_back({{"id", p.id}, {"name", p.name}, {"category", p.category}, {"brand", p.brand},
                      {"price", Yuan(p.price_cents)}, {"price_text", Money(p.price_cents)}, {"stock", p.stock},
                      {"in_stock", p.stock > 0}, {"description", p.description}, {"attrs", p.attrs}});
    }
    json out = {{"count", list.size()}, {"match", fuzzy ? "fuzzy" : "exact"}};
    out["products"] = std::move(list);
    return out;
  }

 private:
  // Chinese character bigrams and whole Latin words (lower case) of `text`.
  static std::vector<std::string> Bigrams(std::string_view text) {
    std::vector<std::string> out;
    std::vector<char32_t> cps = utf8::Decode(utf8::IsValid(text) ? std::string(text) : utf8::Sanitize(text));
    auto cjk = [](char32_t c) { return c >= 0x3400 && c <= 0x9FFF; };
    auto latin = [](char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
    for (size_t i = 0; i < cps.size(); ++i) {
      if (cjk(cps[i]) && i + 1 < cps.size() && cjk(cps[i + 1])) {
        std::string g;
        utf8::Append(g, cps[i]);
        utf8::Append(g, cps[i + 1]);
        out.push_back(std::move(g));
      } else if (latin(cps[i]) && (i == 0 || !latin(cps[i - 1]))) {
        std::string w;
        for (size_t j = i; j < cps.size() && latin(cps[j]); ++j)
          w.push_back(static_cast<char>(std::tolower(static_cast<int>(cps[j]))));
        if (w.size() >= 2) out.push_back(" " + w);  // marked: a whole word
      }
    }
    return out;
  }

  // `gram` in `text`: a bigram anywhere, a Latin word only as a whole word ("app" is not in "Apple").
  static bool Has(const std::string& text, const std::string& gram) {
    if (gram.empty() || gram[0] != ' ') return text.find(gram) != std::string::npos;
    const std::string w = gram.substr(1);
    std::string lower = text;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (size_t at = lower.find(w); at != std::string::npos; at = lower.find(w, at + 1)) {
      const bool start = at == 0 || !std::isalnum(static_cast<unsigned char>(lower[at - 1]));
      const size_t end = at + w.size();
      const bool stop = end >= lower.size() || !std::isalnum(static_cast<unsigned char>(lower[end]));
      if (start && stop) return true;
    }
    return false;
  }

  Result<std::vector<Product>> FuzzySearch(const std::string& tenant, const ProductQuery& q) const {
    std::vector<std::string> grams = Bigrams(q.keyword);
    if (grams.empty()) return std::vector<Product>{};
    ProductQuery all = q;
    all.keyword.clear();
    all.limit = 1000;
    KEFU_ASSIGN_OR_RETURN(auto candidates, store_.SearchProducts(tenant, all));
    std::vector<std::pair<int, Product>> scored;
    for (auto& p : candidates) {
      std::string label = p.name + " " + p.brand + " " + p.category;
      int score = 0, in_label = 0;
      for (const auto& g : grams) {
        if (Has(label, g)) score += 2, ++in_label;
        else if (Has(p.description, g)) score += 1;
      }
      // The name, brand or category must share something: a word of the
      // description alone ("深色" in a phone's) is no product the customer named.
      if (in_label > 0) scored.emplace_back(score, std::move(p));
    }
    std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<Product> out;
    for (auto& [score, p] : scored) {
      if (static_cast<int>(out.size()) >= q.limit) break;
      out.push_back(std::move(p));
    }
    return out;
  }
};

class RequestHumanTool final : public CommerceTool {
 public:
  RequestHumanTool(CommerceStore& s, const CommerceToolsOptions& o)
      : CommerceTool(s, o, "request_human",
                     "客户要求转人工客服时调用：登记转人工请求，并告知人工客服的服务时间以及现在是否有人工在线。"
                     " / Record that the customer asked for a human agent; returns the human service hours and"
                     " whether humans are working now. The queue position is not known yet.",
                     {{"type", "object"},
                      {"properties", {{"reason", {{"type", "string"}, {"maxLength", 500},
                                                  {"description", "转人工原因 / why the customer wants a human"}}}}},
                      {"additionalProperties", false}}) {}

  Result<json> Invoke(const ToolContext& ctx, const json& args) const override {
    int64_t now = opt_.clock->NowMs();
    HandoffRequest r{ctx.tenant_id, ctx.conversation_id, ctx.customer_id, args.value("reason", ""), now};
    KEFU_ASSIGN_OR_RETURN(int64_t id, store_.RecordHandoffRequest(r));
    const ServiceHours& h = opt_.service_hours;
    int64_t local = now + static_cast<int64_t>(h.utc_offset_minutes) * 60'000;
    int64_t day_start = local - ((local % kDayMs) + kDayMs) % kDayMs;
    int minute = static_cast<int>((local - day_start) / 60'000);
    bool open = minute >= h.open_minute && minute < h.close_minute;
    json out = {{"recorded", true}, {"request_id", id}, {"queue_position", json()},
                {"humans_available_now", open}, {"service_hours", h.ToText()}, {"next_available_at", json()}};
    if (open) {
      out["message"] = "已为您登记转人工，人工客服服务时间为" + h.ToText() + "，请稍候。";
    } else {
      int64_t next_local = day_start + static_cast<int64_t>(h.open_minute) * 60'000;
      if (minute >= h.close_minute) next_local += kDayMs;
      int64_t next_utc = next_local - static_cast<int64_t>(h.utc_offset_minutes) * 60'000;
      out["next_available_at"] = Time(next_utc);
      out["message"] = "已为您登记转人工。人工客服服务时间为" + h.ToText() + "，现在不在服务时间内，人工客服将在" +
                       Time(next_utc).substr(11) + "上线后尽快处理。";
    }
    return out;
  }
};

}  // namespace

std::string ServiceHours::ToText() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d-%02d:%02d", open_minute / 60, open_minute % 60, close_minute / 60,
                close_minute % 60);
  return buf;
}

std::string FormatLocalTime(int64_t ms, int utc_offset_minutes) {
  using namespace std::chrono;
  sys_time<milliseconds> t{milliseconds(ms + static_cast<int64_t>(utc_offset_minutes) * 60'000)};
  auto day = floor<days>(t);
  year_month_day ymd{day};
  hh_mm_ss hms{floor<minutes>(t - day)};
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02lld:%02lld", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long long>(hms.hours().count()), static_cast<long long>(hms.minutes().count()));
  return buf;
}

void RegisterCommerceTools(ToolRegistry& registry, CommerceStore& store, const CommerceToolsOptions& options) {
  registry.Register(std::make_unique<GetOrderTool>(store, options));
  registry.Register(std::make_unique<TrackLogisticsTool>(store, options));
  registry.Register(std::make_unique<ListOrdersTool>(store, options));
  registry.Register(std::make_unique<SearchProductsTool>(store, options));
  registry.Register(std::make_unique<RequestHumanTool>(store, options));
}

}  // namespace kefu::tools
