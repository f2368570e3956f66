// kefu_ingest_bench: issue 5's data hub benchmark. Bulk-ingests events through
// datahub::IngestService (the same path as POST /v1/ingest/{kind} and
// `kefu import`: validation, idempotency bookkeeping, one transaction per
// batch, a savepoint per row) into a real SQLite file, then measures 360°
// profile lookups (datahub::ProfileService) with that many events stored.
//
//   kefu_ingest_bench [--events 1000000] [--customers 10000] [--batch 1000]
//                     [--lookups 2000] [--db /tmp/kefu_ingest_bench.db] [--cache-mb 256]
//
// Events are a mix of clickstream (70 %), payments (15 %) and logistics
// events (15 %, over 20,000 orders, a quarter of them arriving out of order).
// Only the Ingest() calls are timed, not building the JSON records.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>

#include <time.h>

#include <nlohmann/json.hpp>

#include "app/schema.h"
#include "common/clock.h"
#include "datahub/ingest.h"
#include "datahub/profile.h"
#include "tools/commerce_store.h"

namespace {

using nlohmann::json;
using namespace kefu;
using Steady = std::chrono::steady_clock;

double Seconds(Steady::time_point a, Steady::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// CPU time of this thread: unlike wall time, it does not grow when other
// processes on a shared machine take the cores.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

std::string Cid(int i) {
  char b[16];
  std::snprintf(b, sizeof b, "C%07d", i);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"kefu data hub benchmark: bulk ingestion and profile lookups"};
  int64_t events = 1'000'000;
  int customers = 10'000, orders = 20'000, batch = 1000, lookups = 2000;
  std::string db_path = (std::filesystem::temp_directory_path() / "kefu_ingest_bench.db").string();
  cli.add_option("--events", events, "events to ingest");
  cli.add_option("--customers", customers, "customers");
  cli.add_option("--orders", orders, "orders (logistics events refer to them)");
  cli.add_option("--batch", batch, "records per Ingest() call (one transaction)");
  cli.add_option("--lookups", lookups, "profile lookups to time");
  cli.add_option("--db", db_path, "SQLite file (deleted first)");
  int cache_mb = 256;
  cli.add_option("--cache-mb", cache_mb, "SQLite page cache in MB (0 = SQLite's default 2 MB)");
  int checkpoint_pages = 1000;
  cli.add_option("--wal-autocheckpoint", checkpoint_pages, "WAL pages between automatic checkpoints (SQLite default 1000)");
  CLI11_PARSE(cli, argc, argv);

  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db_path + suffix);
  auto db = storage::OpenWithSchema(db_path, app::Schema());
  if (!db.ok()) {
    std::fprintf(stderr, "cannot open %s\n", db_path.c_str());
    return 1;
  }
  if (cache_mb > 0) {
    // SQLite's default page cache is 2 MB; a bulk load into a database of
    // hundreds of MB with random-key indexes wants its hot B-tree pages cached.
    auto s = (*db)->Lock();
    if (!s.Exec("PRAGMA cache_size = -" + std::to_string(cache_mb * 1024)).ok()) return 1;
  }
  {
    auto s = (*db)->Lock();
    if (!s.Exec("PRAGMA wal_autocheckpoint = " + std::to_string(checkpoint_pages)).ok()) return 1;
  }
  const kefu::Clock& clock = SystemClock::Instance();
  tools::CommerceStore store(**db, clock);
  if (!store.UpsertTenant({"bench", "Bench", "bench", clock.NowMs()}).ok()) return 1;
  datahub::IdentityService identity(**db, clock);
  datahub::IngestSettings settings;
  settings.max_batch = 0;
  datahub::IngestService ingest(**db, identity, clock, settings);
  datahub::ProfileService profiles(**db, identity, clock);
  std::mt19937_64 rng(5);
  int64_t now = clock.NowMs();

  double ingest_cpu = 0;
  auto run = [&](datahub::Kind kind, const json& records, double& timer, int64_t& reordered) -> bool {
    auto t0 = Steady::now();
    double c0 = ThreadCpuSeconds();
    auto r = ingest.Ingest("bench", kind, "bench", records);
    ingest_cpu += ThreadCpuSeconds() - c0;
    timer += Seconds(t0, Steady::now());
    if (!r.ok() || !r->rejected.empty()) {
      std::fprintf(stderr, "ingest %s failed: %s\n", std::string(datahub::KindName(kind)).c_str(),
                   r.ok() ? r->rejected.front().reason.c_str() : r.status().ToString().c_str());
      return false;
    }
    reordered += r->reordered;
    return true;
  };

  // Setup: customers (with identities) and orders.
  double setup_s = 0;
  int64_t ignored = 0;
  for (int i = 0; i < customers; i += batch) {
    json recs = json::array();
    for (int k = i; k < std::min(customers, i + batch); ++k) {
      recs.push_back({{"id", Cid(k)},
                      {"name", "客户" + std::to_string(k)},
                      {"phone", std::to_string(13000000000LL + k)},
                      {"email", "c" + std::to_string(k) + "@example.com"},
                      {"city", "杭州"},
                      {"identities", json::array({{{"kind", "app_user_id"}, {"value", "app-" + std::to_string(k)}}})}});
    }
    if (!run(datahub::Kind::kCustomers, recs, setup_s, ignored)) return 1;
  }
  for (int i = 0; i < orders; i += batch) {
    json recs = json::array();
    for (int k = i; k < std::min(orders, i + batch); ++k) {
      recs.push_back({{"id", "O" + std::to_string(k)},
                      {"customer_id", Cid(k % customers)},
                      {"status", "paid"},
                      {"total_cents", 1000 + k % 50000},
                      {"items", json::array({{{"product_id", "P" + std::to_string(k % 300)}, {"qty", 1},
                                              {"price_cents", 1000 + k % 50000}}})},
                      {"created_ms", now - 86'400'000LL * (1 + k % 300)}});
    }
    if (!run(datahub::Kind::kOrders, recs, setup_s, ignored)) return 1;
  }
  std::printf("setup: %d customers, %d orders in %.2f s\n", customers, orders, setup_s);

  // The event stream.
  static const char* kBrowse[] = {"page_view", "product_view", "search", "add_to_cart"};
  static const char* kLogistics[] = {"picked_up", "in_transit", "out_for_delivery", "delivered"};
  double timed[3] = {0, 0, 0};
  int64_t counts[3] = {0, 0, 0};
  int64_t reordered = 0;
  std::vector<int> order_progress(orders, 0);
  int64_t seq = 0;
  auto wall0 = Steady::now();
  ingest_cpu = 0;
  while (seq < events) {
    json browse = json::array(), pay = json::array(), logi = json::array();
    int n = static_cast<int>(std::min<int64_t>(batch, events - seq));
    for (int k = 0; k < n; ++k, ++seq) {
      int roll = static_cast<int>(rng() % 100);
      int c = static_cast<int>(rng() % customers);
      int64_t ts = now - static_cast<int64_t>(rng() % (86'400'000LL * 90));
      if (roll < 70) {
        browse.push_back({{"id", "E" + std::to_string(seq)}, {"customer_id", Cid(c)}, {"ts_ms", ts},
                          {"type", kBrowse[seq % 4]}, {"product_id", "P" + std::to_string(seq % 300)},
                          {"url", "/product/P" + std::to_string(seq % 300)}});
      } else if (roll < 85) {
        pay.push_back({{"id", "T" + std::to_string(seq)}, {"customer_id", Cid(c)}, {"ts_ms", ts},
                       {"type", seq % 10 == 0 ? "refund" : "payment"}, {"method", "alipay"},
                       {"amount_cents", 100 + seq % 100000}, {"status", "succeeded"}});
      } else {
        int o = static_cast<int>(rng() % orders);
        int step = order_progress[o]++ % 4;
        int64_t base = now - 86'400'000LL * (o % 30);
        // Every fourth order's events arrive in reverse order of their event time.
        int64_t when = o % 4 == 0 ? base - step * 3'600'000LL : base + step * 3'600'000LL + seq;
        logi.push_back({{"id", "L" + std::to_string(seq)}, {"order_id", "O" + std::to_string(o)}, {"ts_ms", when},
                        {"status", kLogistics[o % 4 == 0 ? 3 - step : step]}});
      }
    }
    int64_t dummy = 0;
    if (!browse.empty() && !run(datahub::Kind::kBrowsing, browse, timed[0], dummy)) return 1;
    if (!pay.empty() && !run(datahub::Kind::kTransactions, pay, timed[1], dummy)) return 1;
    if (!logi.empty() && !run(datahub::Kind::kLogistics, logi, timed[2], reordered)) return 1;
    counts[0] += browse.size();
    counts[1] += pay.size();
    counts[2] += logi.size();
    if (seq % 100'000 < batch) std::fprintf(stderr, "\r%lld events", static_cast<long long>(seq));
  }
  double wall = Seconds(wall0, Steady::now());
  std::fputc('\n', stderr);
  double total_timed = timed[0] + timed[1] + timed[2];
  std::printf("ingested %lld events in %.2f s of Ingest() (%.0f events/s); wall with record generation %.2f s (%.0f/s)\n",
              static_cast<long long>(events), total_timed, events / total_timed, wall, events / wall);
  std::printf("  CPU time in Ingest(): %.2f s (%.0f events per CPU second)\n", ingest_cpu, events / ingest_cpu);
  const char* names[] = {"browsing", "transactions", "logistics"};
  for (int i = 0; i < 3; ++i) {
    std::printf("  %-12s %8lld events  %7.2f s  %8.0f events/s\n", names[i], static_cast<long long>(counts[i]),
                timed[i], counts[i] / timed[i]);
  }
  std::printf("  logistics events stored out of order (reordered): %lld\n", static_cast<long long>(reordered));

  // Idempotent re-ingest of one batch: all unchanged.
  {
    json again = json::array();
    for (int k = 0; k < batch; ++k)
      again.push_back({{"id", "E" + std::to_string(k)}, {"customer_id", Cid(0)}, {"ts_ms", now}, {"type", "search"}});
    auto r = ingest.Ingest("bench", datahub::Kind::kBrowsing, "bench", again);
    (void)r;
  }

  // Profile lookups.
  std::vector<double> lat, cpu;
  lat.reserve(lookups);
  cpu.reserve(lookups);
  size_t bytes = 0;
  for (int i = 0; i < lookups; ++i) {
    std::string id = Cid(static_cast<int>(rng() % customers));
    auto t0 = Steady::now();
    double c0 = ThreadCpuSeconds();
    auto p = profiles.Get("bench", id);
    cpu.push_back((ThreadCpuSeconds() - c0) * 1000.0);
    lat.push_back(Seconds(t0, Steady::now()) * 1000.0);
    if (!p.ok()) {
      std::fprintf(stderr, "profile %s: %s\n", id.c_str(), p.status().ToString().c_str());
      return 1;
    }
    bytes += p->dump().size();
  }
  std::sort(lat.begin(), lat.end());
  std::sort(cpu.begin(), cpu.end());
  auto pct_of = [](const std::vector<double>& v, double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))]; };
  auto pct = [&](double q) { return pct_of(lat, q); };
  double mean = 0;
  for (double v : lat) mean += v;
  mean /= lat.size();
  std::printf("profile lookups: %d with %lld events stored: mean %.3f ms, p50 %.3f ms, p99 %.3f ms, max %.3f ms "
              "(avg %zu bytes of JSON)\n",
              lookups, static_cast<long long>(events), mean, pct(0.5), pct(0.99), lat.back(), bytes / lat.size());
  std::printf("  thread CPU time per lookup: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", pct_of(cpu, 0.5),
              pct_of(cpu, 0.99), cpu.back());
  std::error_code ec;
  double mb = 0;
  for (const std::string& f : {db_path, db_path + "-wal"}) {
    if (std::filesystem::exists(f, ec)) mb += std::filesystem::file_size(f, ec) / 1048576.0;
  }
  std::printf("database: %s (+ WAL) %.1f MB, page cache %d MB, WAL autocheckpoint %d pages\n", db_path.c_str(), mb,
              cache_mb, checkpoint_pages);
  return 0;
}
