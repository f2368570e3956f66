// kefu_picture_bench: image → first reply latency through the real server
// (issue 17). Starts kefu in-process with the demo tenant on 127.0.0.1:0 (a
// temporary data dir), then for each request opens a verified conversation of
// a demo customer (API key) and POSTs "这个订单到哪了" with a screenshot of one of
// that customer's orders (app/ocr_screens.h OrderPage: a PNG order page, the
// order number only in the picture). The time is from sending the request to
// having the whole answer, which carries the bot's reply; the reply must name
// the order (counted, not asserted). Requests go one at a time: this is the
// latency a customer sees on an idle server, OCR included (local tesseract,
// the server's own [channels] settings). The first request loads the OCR
// models and is reported apart.
//   build/bench/kefu_picture_bench --requests 40 --text-px 36
#include "channels/content_parts.h"
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>
#include <unistd.h>

#include "app/ocr_screens.h"
#include "app/server_app.h"
#include "common/config.h"
#include "common/log.h"
#include "http/testing.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using kefu::http::testing::Fetch;
using kefu::http::testing::Headers;

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

struct Order {
  std::string id, customer, status, item, price;
};

const std::map<std::string, std::string> kStatusZh = {
    {"pending_payment", "待付款"}, {"paid", "待发货"},      {"shipped", "已发货"},  {"in_transit", "运输中"},
    {"out_for_delivery", "派送中"}, {"delivered", "已签收"}, {"cancelled", "已取消"}, {"refunded", "已退款"}};

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"kefu_picture_bench: image → first reply latency through the real server (demo tenant)"};
  int requests = 40, text_px = 36;
  std::string orders_path = "demo/shop/orders.json", json_out;
  cli.add_option("--requests", requests, "screenshots to send (after one warm-up)")->check(CLI::Range(1, 10000));
  cli.add_option("--text-px", text_px, "body text size of the screenshots in pixels (36 ≈ a 3× phone screenshot)")
      ->check(CLI::Range(8, 120));
  cli.add_option("--orders", orders_path, "the demo shop's orders (default demo/shop/orders.json)");
  cli.add_option("--json", json_out, "also write the figures as JSON here");
  CLI11_PARSE(cli, argc, argv);

  std::ifstream in(orders_path);
  if (!in) {
    std::fprintf(stderr, "cannot read %s (run from the repository root or pass --orders)\n", orders_path.c_str());
    return 2;
  }
  const json all = json::parse(in, nullptr, false);
  if (!all.is_array()) {
    std::fprintf(stderr, "%s: not a JSON array of orders\n", orders_path.c_str());
    return 2;
  }
  // Orders of the demo customers with a parcel to ask about.
  std::vector<Order> orders;
  for (const auto& o : all) {
    const std::string status = o.value("status", "");
    if (!o.contains("items") || !o["items"].is_array() || o["items"].empty() || !kStatusZh.count(status)) continue;
    if (o.value("tracking_no", json()).is_null()) continue;
    char price[32];
    std::snprintf(price, sizeof price, "%.2f", o.value("total", 0.0));
    orders.push_back({o.value("id", ""), o.value("customer_id", ""), kStatusZh.at(status),
                      o["items"][0].value("name", ""), price});
  }
  if (orders.empty()) {
    std::fprintf(stderr, "%s: no orders with a waybill\n", orders_path.c_str());
    return 2;
  }

  const fs::path dir = fs::temp_directory_path() / ("kefu_picture_bench_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto parsed = kefu::Config::Parse("", {});
  if (!parsed.ok()) return 2;
  kefu::Config config = *parsed;
  config.server.port = 0;
  config.server.host = "127.0.0.1";
  config.storage.data_dir = dir.string();
  config.log.level = "error";
  kefu::log::Init(config.log.level, config.log.json);
  kefu::app::ServeOptions serve;
  serve.demo = true;
  auto app = kefu::app::ServerApp::Create(config, serve);
  if (!app.ok() || !(*app)->Start().ok()) {
    std::fprintf(stderr, "cannot start the server: %s\n", app.ok() ? "start failed" : app.status().ToString().c_str());
    return 1;
  }
  const int port = (*app)->port();
  const Headers api = {{"Authorization", "Bearer demo-admin-key"}, {"Content-Type", "application/json"}};
  const Headers widget = {{"X-Kefu-Widget-Key", "demo"}, {"Content-Type", "application/json"}};

  std::vector<double> ms;
  double cold_ms = 0;
  int named = 0, failed = 0;
  size_t bytes_total = 0;
  for (int i = 0; i <= requests; ++i) {
    const Order& o = orders[(static_cast<size_t>(i) * 7919) % orders.size()];
    auto conv = Fetch(port, "POST", "/v1/conversations", json{{"customer_id", o.customer}, {"channel", "app"}}.dump(),
                      api);
    if (!conv.ok() || conv->status != 201) {
      std::fprintf(stderr, "cannot open a conversation: %s\n",
                   conv.ok() ? conv->body.c_str() : conv.status().ToString().c_str());
      return 1;
    }
    const std::string cid = json::parse(conv->body, nullptr, false).value("id", "");
    kefu::app::ScreenLook look;
    look.text_px = text_px;
    auto shot = kefu::app::RenderScreen(kefu::app::OrderPage(o.id, o.status, o.item, o.price), look, i);
    if (!shot.ok()) {
      std::fprintf(stderr, "cannot render: %s\n", shot.status().ToString().c_str());
      return 1;
    }
    bytes_total += shot->size();
    const json body = {
        {"client_msg_id", "bench-" + std::to_string(i)},
        {"content", json::array({{{"type", "text"}, {"text", "这个订单到哪了"}},
                                 {{"type", "image_url"},
                                  {"image_url", {{"url", "data:image/png;base64," + kefu::channels::Base64Encode(*shot)}}}}})}};
    const auto t0 = std::chrono::steady_clock::now();
    auto r = Fetch(port, "POST", "/v1/conversations/" + cid + "/messages", body.dump(), widget,
                   std::chrono::milliseconds(30'000));
    const double t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!r.ok() || r->status != 200) {
      ++failed;
      std::fprintf(stderr, "request %d: %s\n", i, r.ok() ? r->body.substr(0, 300).c_str() : r.status().ToString().c_str());
      continue;
    }
    const json answer = json::parse(r->body, nullptr, false);
    const std::string reply = answer.is_object() && answer.contains("reply") && answer["reply"].is_object()
                                  ? answer["reply"].value("text", "")
                                  : "";
    if (i == 0) {
      cold_ms = t;
      continue;
    }
    ms.push_back(t);
    if (reply.find(o.id) != std::string::npos) ++named;
  }
  (*app)->Stop();
  app->reset();
  fs::remove_all(dir);

  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  const json figures = {{"requests", ms.size()},
                        {"failed", failed},
                        {"text_px", text_px},
                        {"mean_png_bytes", requests > 0 ? bytes_total / static_cast<size_t>(requests + 1) : 0},
                        {"first_request_ms", cold_ms},
                        {"p50_ms", Percentile(ms, 0.5)},
                        {"p95_ms", Percentile(ms, 0.95)},
                        {"max_ms", ms.empty() ? 0.0 : *std::max_element(ms.begin(), ms.end())},
                        {"replies_naming_the_order", named},
                        {"hardware_threads", std::thread::hardware_concurrency()},
                        {"load_average_1m_at_end", load[0]}};
  std::printf(
      "image → first reply (%d px text, PNG ≈ %zu KiB, one at a time): p50 %.0f ms, p95 %.0f ms, max %.0f ms "
      "over %zu requests; first request (loads the OCR models) %.0f ms; replies naming the order %d/%zu; "
      "failed %d; load average %.1f\n",
      text_px, figures["mean_png_bytes"].get<size_t>() / 1024, figures["p50_ms"].get<double>(),
      figures["p95_ms"].get<double>(), figures["max_ms"].get<double>(), ms.size(), cold_ms, named, ms.size(), failed,
      load[0]);
  if (!json_out.empty()) std::ofstream(json_out) << figures.dump(2) << "\n";
  return failed == 0 ? 0 : 1;
}
