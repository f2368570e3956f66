// The tenant directory's table (tenants) for modules that must check or write
// a tenant inside a transaction of their own: the data hub checks the tenant
// of an ingest batch, the knowledge base that of an import, and the shop's
// store (tools) creates the demo tenant with its data. The API module owns the
// table (api/schema.cpp) and reads it for requests through TenantDirectory
// (api/tenants.h); no other module writes its SQL (tests/table_ownership.py).
//
// A library of its own (kefu_api_tenant_rows) that needs only storage, so that
// the modules below the API can use it. Every function takes the caller's
// session (storage/database.h), runs in the caller's transaction when there is
// one, and leaves no statement on a row.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "storage/database.h"

namespace kefu::api::tenant_rows {

struct TenantRow {
  std::string id;
  std::string name;
  std::string widget_key;
  int64_t created_ms = 0;
};

Result<bool> Exists(storage::Session& s, const std::string& id);
// Inserts the tenant, or updates the name and widget key of one that exists
// (created_ms is kept).
Status Upsert(storage::Session& s, const TenantRow& row);
// std::nullopt when there is no such tenant.
Result<std::optional<TenantRow>> Get(storage::Session& s, const std::string& id);

}  // namespace kefu::api::tenant_rows
