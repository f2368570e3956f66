#include "api/tenants.h"

#include "common/crypto.h"

namespace kefu::api {

Result<Tenant> TenantDirectory::Query(const char* sql, const std::string& arg) {
  auto s = db_.Read();
  auto& st = s.Prepare(sql);
  st.Bind(1, arg);
  KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Unauthenticated("unknown credentials");
  Tenant t{st.Text(0), st.Text(1), st.Text(2)};
  st.Reset();
  return t;
}

Result<Tenant> TenantDirectory::ByWidgetKey(const std::string& widget_key) {
  if (widget_key.empty()) return Unauthenticated("a widget key is required (X-Kefu-Widget-Key header or widget_key)");
  {
    std::lock_guard lock(mu_);
    auto it = by_widget_.find(widget_key);
    if (it != by_widget_.end()) return it->second;
  }
  auto t = Query("SELECT id, name, widget_key FROM tenants WHERE widget_key = ?", widget_key);
  if (!t.ok()) return Unauthenticated("unknown widget key");
  std::lock_guard lock(mu_);
  by_widget_[widget_key] = *t;
  return t;
}

Result<Tenant> TenantDirectory::ByApiKey(const std::string& api_key) {
  if (api_key.empty()) return Unauthenticated("an API key is required (Authorization: Bearer <key>)");
  std::string h = crypto::Sha256Hex(api_key);
  {
    std::lock_guard lock(mu_);
    auto it = by_key_.find(h);
    if (it != by_key_.end()) return it->second;
  }
  auto t = Query(
      "SELECT t.id, t.name, t.widget_key FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.key_sha256 = ?", h);
  if (!t.ok()) return Unauthenticated("unknown API key");
  std::lock_guard lock(mu_);
  by_key_[h] = *t;
  return t;
}

Result<Tenant> TenantDirectory::ById(const std::string& id) {
  auto t = Query("SELECT id, name, widget_key FROM tenants WHERE id = ?", id);
  if (!t.ok()) return NotFound("tenant " + id + " does not exist");
  return t;
}

Result<Tenant> TenantDirectory::Ensure(const std::string& id, const std::string& name, const std::string& widget_key) {
  {
    auto s = db_.Lock();
    auto& st = s.Prepare("INSERT INTO tenants(id, name, widget_key, created_ms) VALUES(?, ?, ?, ?) ON CONFLICT DO NOTHING");
    st.Bind(1, id).Bind(2, name).Bind(3, widget_key).Bind(4, clock_.NowMs());
    KEFU_RETURN_IF_ERROR(st.Run());
  }
  return ById(id);
}

Status TenantDirectory::AddApiKey(const std::string& tenant_id, const std::string& api_key, const std::string& name) {
  if (api_key.size() < 8) return InvalidArgument("API keys must be at least 8 characters");
  auto s = db_.Lock();
  auto& st = s.Prepare("INSERT INTO api_keys(key_sha256, tenant_id, name, created_ms) VALUES(?, ?, ?, ?) ON CONFLICT DO NOTHING");
  st.Bind(1, crypto::Sha256Hex(api_key)).Bind(2, tenant_id).Bind(3, name).Bind(4, clock_.NowMs());
  return st.Run();
}

}  // namespace kefu::api
