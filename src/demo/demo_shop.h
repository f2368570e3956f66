// The demo tenant "示例商城" (tenant id "demo", widget key "demo", API key
// "demo-admin-key"): 30 products, 50 customers, 200 orders with logistics
// history and a 100+ entry customer-service knowledge base, all embedded into
// the binary from demo/shop/ (docs/demo.md). Order and event times are stored
// in the files as offsets and become absolute at load time, so the demo always
// looks current.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "knowledge/knowledge_base.h"
#include "storage/database.h"
#include "tools/commerce_store.h"
#include "tools/commerce_tools.h"

namespace kefu::demo {

struct DemoCustomer {
  std::string id;
  std::string name;
};

// What the widget config endpoint shows for the demo tenant.
struct DemoShop {
  std::string tenant_id;
  std::string name;
  std::string widget_key;
  std::string api_key;  // the app registers it (api::TenantDirectory::AddApiKey)
  std::string assistant_name;
  std::string greeting;
  std::vector<std::string> quick_questions;
  tools::ServiceHours service_hours;  // pass to tools::CommerceToolsOptions
  std::string service_hours_text;     // "每天 9:00–21:00"
  std::string hotline;
  std::vector<DemoCustomer> demo_customers;  // customers a visitor may pose as
};

// Parsed once from the embedded shop.json; thread-safe.
const DemoShop& DemoShopInfo();

// Loads the demo tenant on first start: tenant, customers, products, orders and
// logistics events (one transaction), then the knowledge base and synonyms.
// Idempotent: when the tenant already has orders and KB entries nothing is
// written (so a restart keeps the times and any edits); a part that is missing
// (e.g. the KB after an interrupted first load) is loaded again.
// Requires the schema to be migrated. Errors: a malformed embedded file
// (internal), storage failures.
Status LoadDemoTenant(storage::Database& db, tools::CommerceStore& store, knowledge::KnowledgeBase& kb,
                      const Clock& clock);

// The contents of an embedded demo file ("orders.json", "kb.md", ...); empty if unknown.
std::string_view DemoFile(std::string_view name);

}  // namespace kefu::demo
