#include "dialogue/templates.h"

#include <map>

#include <cstdio>

namespace kefu::dialogue::templates {

using nlohmann::json;

namespace {
std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
}  // namespace

std::string Greeting() { return "您好！我是智能客服，可以帮您查询订单和物流、解答售后政策等问题，请问有什么可以帮您？"; }

std::string KnowledgeAnswer(const std::string& title, const std::string& body) {
  (void)title;
  return body;
}

namespace {
// `lead`, the titles numbered one per line, then `tail`.
std::string NumberedChoices(std::string_view lead, const std::vector<std::string>& titles, std::string_view tail) {
  std::string s(lead);
  for (size_t i = 0; i < titles.size(); ++i) s += "\n" + std::to_string(i + 1) + ". " + titles[i];
  s += "\n";
  s += tail;
  return s;
}
}  // namespace

std::string Clarify(const std::vector<std::string>& titles) {
  return NumberedChoices("我不太确定您想问的是哪个问题，请问是以下哪一个呢？", titles,
                         "回复序号即可；都不是的话，可以换个说法，或者回复“转人工”。");
}

std::string ClarifyEnglish(const std::vector<std::string>& titles) {
  return NumberedChoices("I'm not sure which question you mean. Is it one of these?", titles,
                         "Reply with the number; if none fits, rephrase it or reply \"human agent\".");
}

std::string UnknownWithChoices(const std::vector<std::string>& titles) {
  return NumberedChoices("抱歉，这个问题我暂时没有找到准确的答案。您是不是想问以下问题？", titles,
                         "是的话回复序号；也可以回复“转人工”，由人工客服为您处理。");
}

std::string UnknownWithChoicesEnglish(const std::vector<std::string>& titles) {
  return NumberedChoices("Sorry, I don't have a reliable answer to that. Did you perhaps mean one of these?", titles,
                         "Reply with the number, or \"human agent\" to talk to a person.");
}

std::string Logistics(const json& r) {
  std::string id = Str(r, "order_id");
  std::string items = Str(r, "item_summary");
  std::string s = "您的订单 " + id;
  if (!items.empty()) s += "（" + items + "）";
  if (!r.value("shipped", false)) {
    s += "当前状态为“" + Str(r, "status_label") + "”，还没有物流信息。";
    if (Str(r, "status") == "paid") s += "商品会在付款后 48 小时内发出，发货后这里可以看到物流进度。";
    return s;
  }
  std::string carrier = Str(r, "carrier"), tracking = Str(r, "tracking_no");
  s += "由" + (carrier.empty() ? std::string("快递") : carrier) + "配送";
  if (!tracking.empty()) s += "，运单号 " + tracking;
  s += "，当前状态：" + Str(r, "status_label") + "。";
  if (r.contains("latest_event") && r["latest_event"].is_object()) {
    const json& e = r["latest_event"];
    s += "\n最新物流（" + Str(e, "time") + "）：" + Str(e, "description");
  }
  if (r.contains("eta") && r["eta"].is_object()) {
    s += "\n" + Str(r["eta"], "text");
    if (r["eta"].value("delayed", false)) s += "（比通常时效略慢，如有需要我可以为您转人工催件）";
    s += "。";
  }
  std::string delivered = Str(r, "delivered_at");
  if (!delivered.empty()) s += "\n已于 " + delivered + " 签收。";
  return s;
}

std::string ArrivalTime(const json& r) {
  std::string id = Str(r, "order_id");
  std::string delivered = Str(r, "delivered_at");
  if (!delivered.empty()) return "订单 " + id + " 已于 " + delivered + " 签收。";
  if (!r.value("shipped", false))
    return "订单 " + id + " 还没有发货（当前状态：" + Str(r, "status_label") + "），发货后一般 1–3 天送达。";
  std::string s = "订单 " + id;
  if (r.contains("eta") && r["eta"].is_object()) {
    s += Str(r["eta"], "text") + "。";
    if (r["eta"].value("delayed", false)) s += "比通常时效略慢，如需催件可以回复“转人工”。";
  } else {
    s += "当前状态：" + Str(r, "status_label") + "。";
  }
  if (r.contains("latest_event") && r["latest_event"].is_object())
    s += "\n最新物流（" + Str(r["latest_event"], "time") + "）：" + Str(r["latest_event"], "description");
  return s;
}

std::string OrderStatus(const json& r) {
  std::string s = "订单 " + Str(r, "order_id") + " 的状态是“" + Str(r, "status_label") + "”。";
  std::string items = Str(r, "item_summary");
  if (!items.empty()) s += "\n商品：" + items;
  std::string total = Str(r, "total_text");
  if (!total.empty()) s += "\n金额：" + total;
  std::string created = Str(r, "created_at");
  if (!created.empty()) s += "\n下单时间：" + created;
  std::string tracking = Str(r, "tracking_no");
  if (!tracking.empty()) s += "\n物流：" + Str(r, "carrier") + " " + tracking;
  if (r.contains("latest_event") && r["latest_event"].is_object())
    s += "\n最新物流：" + Str(r["latest_event"], "description");
  if (r.contains("eta") && r["eta"].is_object()) s += "（" + Str(r["eta"], "text") + "）";
  if (r.value("can_cancel", false)) s += "\n该订单尚未发货，如需取消可以直接在“我的订单”中操作。";
  std::string deadline = Str(r, "return_deadline");
  if (!deadline.empty() && r.value("can_return_without_reason", false))
    s += "\n支持七天无理由退货，截止 " + deadline + "。";
  return s;
}

// English names of the order states list_orders and get_order report.
std::string StatusEnglish(const std::string& code) {
  static const std::map<std::string, std::string> k = {
      {"pending_payment", "awaiting payment"}, {"paid", "paid, not shipped yet"}, {"shipped", "shipped"},
      {"in_transit", "in transit"},           {"out_for_delivery", "out for delivery"},
      {"delivered", "delivered"},             {"cancelled", "cancelled"},
      {"refunding", "refund in progress"},    {"refunded", "refunded"}};
  auto it = k.find(code);
  return it == k.end() ? code : it->second;
}

std::string LogisticsEnglish(const json& r) {
  std::string s = "Your order " + Str(r, "order_id");
  std::string items = Str(r, "item_summary");
  if (!items.empty()) s += " (" + items + ")";
  if (!r.value("shipped", false)) {
    s += " is " + StatusEnglish(Str(r, "status")) + ", so there is no tracking yet.";
    if (Str(r, "status") == "paid") s += " Items ship within 48 hours of payment; tracking appears here once it ships.";
    return s;
  }
  std::string carrier = Str(r, "carrier"), tracking = Str(r, "tracking_no");
  s += " is with " + (carrier.empty() ? std::string("the courier") : carrier);
  if (!tracking.empty()) s += ", tracking number " + tracking;
  s += ": " + StatusEnglish(Str(r, "status")) + ".";
  if (r.contains("latest_event") && r["latest_event"].is_object())
    s += "\nLatest update (" + Str(r["latest_event"], "time") + "): " + Str(r["latest_event"], "description");
  if (r.contains("eta") && r["eta"].is_object()) {
    std::string eta = Str(r["eta"], "date");
    if (!eta.empty()) s += "\nExpected delivery: " + eta + ".";
    if (r["eta"].value("delayed", false)) s += " It is a little slower than usual; reply \"human agent\" to have it chased.";
  }
  std::string delivered = Str(r, "delivered_at");
  if (!delivered.empty()) s += "\nDelivered on " + delivered + ".";
  return s;
}

std::string OrderStatusEnglish(const json& r) {
  std::string s = "Order " + Str(r, "order_id") + " is " + StatusEnglish(Str(r, "status")) + ".";
  std::string items = Str(r, "item_summary");
  if (!items.empty()) s += "\nItems: " + items;
  std::string total = Str(r, "total_text");
  if (!total.empty()) s += "\nTotal: " + total;
  std::string created = Str(r, "created_at");
  if (!created.empty()) s += "\nOrdered: " + created;
  std::string tracking = Str(r, "tracking_no");
  if (!tracking.empty()) s += "\nShipping: " + Str(r, "carrier") + " " + tracking;
  if (r.value("can_cancel", false)) s += "\nIt has not shipped yet: you can cancel it in My Orders (我的订单).";
  return s;
}

std::string OrderList(const json& r) {
  std::string s = "为您查到最近的订单：";
  int i = 0;
  for (const auto& o : r.value("orders", json::array())) {
    s += "\n" + std::to_string(++i) + ". " + Str(o, "order_id") + "｜" + Str(o, "status_label") + "｜" +
         Str(o, "item_summary") + "｜" + Str(o, "total_text");
  }
  s += "\n回复序号可以查看该订单的详情。";
  return s;
}

std::string Products(const std::string& query, const json& r) {
  std::string s = "为您找到以下商品：";
  for (const auto& p : r.value("products", json::array())) {
    s += "\n· " + Str(p, "name") + "，" + Str(p, "price_text");
    s += p.value("in_stock", false) ? "，有货" : "，暂时缺货";
  }
  s += "\n需要了解哪一款的详细参数，告诉我商品名就可以。";
  (void)query;
  return s;
}

std::string ProductsEnglish(const json& r) {
  std::string s = "Here is what we have:";
  for (const auto& p : r.value("products", json::array())) {
    s += "\n· " + Str(p, "name") + ", " + Str(p, "price_text");
    s += p.value("in_stock", false) ? ", in stock" : ", out of stock for now";
  }
  s += "\nTell me which one you'd like to know more about.";
  return s;
}

std::string Handoff(const json& r) {
  std::string msg = Str(r, "message");
  if (msg.empty()) msg = "好的，正在为您转接人工客服，请稍候。";
  return msg;
}

std::string FormatYuan(double yuan) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "¥%.2f", yuan);
  return buf;
}

std::string FormatTime(int64_t ms) {
  time_t t = static_cast<time_t>(ms / 1000 + 8 * 3600);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

}  // namespace kefu::dialogue::templates
