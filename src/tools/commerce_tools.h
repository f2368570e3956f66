// The shop tools a customer conversation may call: get_order, track_logistics,
// list_orders, search_products and request_human. Results are structured JSON
// carrying everything a reply template needs (status code and Chinese label,
// items with names, carrier, tracking number, latest event, ETA estimate ...).
//
// Privacy contract: for a customer context (ToolContext::is_operator false) an
// order is visible only to the customer who placed it; any other order id is
// reported as NotFound, exactly like an id that does not exist.
#pragma once

#include <string>

#include "common/clock.h"
#include "tools/commerce_store.h"
#include "tools/tool.h"

namespace kefu::tools {

// When human agents work, in the shop's local time.
struct ServiceHours {
  int open_minute = 9 * 60;     // minutes after local midnight
  int close_minute = 21 * 60;   // exclusive
  int utc_offset_minutes = 480; // China Standard Time
  std::string ToText() const;   // "09:00-21:00"
};

struct CommerceToolsOptions {
  const Clock* clock = &SystemClock::Instance();  // not owned; must outlive the registry
  ServiceHours service_hours;
};

// Registers the five shop tools; `store` must outlive `registry`.
void RegisterCommerceTools(ToolRegistry& registry, CommerceStore& store, const CommerceToolsOptions& options = {});

// "2026-11-23 14:05" in the given UTC offset.
std::string FormatLocalTime(int64_t ms, int utc_offset_minutes);

}  // namespace kefu::tools
