#include "api/tenant_rows.h"

namespace kefu::api::tenant_rows {

Result<bool> Exists(storage::Session& s, const std::string& id) {
  auto& st = s.Prepare("SELECT 1 FROM tenants WHERE id = ?");
  st.Bind(1, id);
  KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
  st.Reset();
  return row;
}

Status Upsert(storage::Session& s, const TenantRow& t) {
  auto& st = s.Prepare(
      "INSERT INTO tenants(id, name, widget_key, created_ms) VALUES(?,?,?,?) "
      "ON CONFLICT(id) DO UPDATE SET name = excluded.name, widget_key = excluded.widget_key");
  st.Bind(1, t.id).Bind(2, t.name).Bind(3, t.widget_key).Bind(4, t.created_ms);
  return st.Run();
}

Result<std::optional<TenantRow>> Get(storage::Session& s, const std::string& id) {
  auto& st = s.Prepare("SELECT id, name, widget_key, created_ms FROM tenants WHERE id = ?");
  st.Bind(1, id);
  KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) {
    st.Reset();
    return std::optional<TenantRow>();
  }
  TenantRow t{st.Text(0), st.Text(1), st.Text(2), st.Int(3)};
  st.Reset();
  return std::optional<TenantRow>(std::move(t));
}

}  // namespace kefu::api::tenant_rows
