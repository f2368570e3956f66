#include "datahub/routes.h"

#include "api/http_util.h"
#include "api/openapi.h"
#include "api/openapi_util.h"
#include "common/json.h"
#include "common/log.h"

namespace kefu::datahub {
namespace {

using api::SendError;
using api::SendJson;
using api::SendStatus;
using http::Request;
using http::Responder;
using nlohmann::json;

class Routes final : public DatahubRoutes {
 public:
  explicit Routes(const RouteDeps& d) : d_(d) {}

  void Register(http::Server& s) {
    s.Route("POST", "/v1/ingest/{kind}", [this](Request&& q, Responder r) { Ingest(std::move(q), std::move(r)); });
    s.Route("POST", "/v1/webhooks/ingest/{kind}",
            [this](Request&& q, Responder r) { Webhook(std::move(q), std::move(r)); });
    s.Route("POST", "/v1/ingest/webhook-secret/rotate", [this](Request&& q, Responder r) { Rotate(q, r); });
    s.Route("GET", "/v1/customers/{id}/profile", [this](Request&& q, Responder r) { Profile(q, r); });
    s.Route("GET", "/v1/customers/{id}/conversations", [this](Request&& q, Responder r) { Conversations(q, r); });
    s.Route("GET", "/v1/identity/resolve", [this](Request&& q, Responder r) { Resolve(q, r); });
    s.Route("GET", "/v1/identity/suggestions", [this](Request&& q, Responder r) { Suggestions(q, r); });
    s.Route("POST", "/v1/identity/suggestions/{id}/reject", [this](Request&& q, Responder r) { Reject(q, r); });
    s.Route("POST", "/v1/identity/merge", [this](Request&& q, Responder r) { Merge(q, r); });
    s.Route("POST", "/v1/identity/unmerge", [this](Request&& q, Responder r) { Unmerge(q, r); });
    s.Route("GET", "/v1/identity/merges", [this](Request&& q, Responder r) { Merges(q, r); });
  }

 private:
  std::optional<api::Tenant> Auth(const Request& q, const Responder& r) {
    auto t = d_.tenants.ByApiKey(api::Bearer(q));
    if (!t.ok()) {
      SendStatus(r, t.status());
      return std::nullopt;
    }
    return *t;
  }

  void Work(const Responder& r, std::function<void()> fn) {
    if (!d_.workers.Submit(std::move(fn))) SendError(r, 503, "unavailable", "server is shutting down");
  }

  std::optional<Kind> KindOf(const Request& q, const Responder& r) {
    auto k = ParseKind(q.path_params.at("kind"));
    if (!k) {
      SendError(r, 404, "not_found",
                "unknown kind; one of customers, products, inventory, orders, logistics, tickets, browsing, "
                "transactions");
    }
    return k;
  }

  // Parses {"source", "records"} and ingests it on a worker.
  void RunBatch(const std::string& tenant, Kind kind, const std::string& body, const Responder& r,
                const std::string& via) {
    if (JsonNestingDepth(body) > kMaxJsonDepth)
      return SendError(r, 400, "invalid_argument",
                       "body is nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    json j = json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return SendError(r, 400, "invalid_json", "body must be a JSON object");
    auto src = j.find("source");
    if (src == j.end() || !src->is_string() || !api::IdChars(src->get<std::string>(), 64))
      return SendError(r, 400, "invalid_argument", "source is required: 1-64 characters of letters, digits and - _ . : @");
    auto recs = j.find("records");
    if (recs == j.end() || !recs->is_array())
      return SendError(r, 400, "invalid_argument", "records must be an array of objects");
    if (d_.ingest.settings().max_batch > 0 && recs->size() > d_.ingest.settings().max_batch)
      return SendError(r, 413, "payload_too_large",
                       "batch of " + std::to_string(recs->size()) + " records is larger than the limit of " +
                           std::to_string(d_.ingest.settings().max_batch) + "; split it");
    auto shared = std::make_shared<json>(std::move(j));
    Work(r, [this, r, shared, tenant, kind, via] {
      std::string source = (*shared)["source"];
      auto report = d_.ingest.Ingest(tenant, kind, source, (*shared)["records"]);
      if (!report.ok()) return SendStatus(r, report.status());
      log::Info("ingest", {{"tenant_id", tenant}, {"kind", std::string(KindName(kind))}, {"source", source},
                           {"via", via}, {"accepted", report->accepted}, {"unchanged", report->unchanged},
                           {"rejected", report->rejected.size()}});
      SendJson(r, 200, report->ToJson());
    });
  }

  void Ingest(Request q, Responder r) {
    auto t = Auth(q, r);
    if (!t) return;
    auto kind = KindOf(q, r);
    if (!kind) return;
    RunBatch(t->id, *kind, q.body, r, "api");
  }

  void Webhook(Request q, Responder r) {
    auto kind = KindOf(q, r);
    if (!kind) return;
    std::string tenant = q.Header("X-Kefu-Tenant");
    if (!api::IdChars(tenant, 64)) return SendError(r, 401, "unauthenticated", "X-Kefu-Tenant header is required");
    auto shared = std::make_shared<Request>(std::move(q));
    Work(r, [this, r, shared, tenant, kind] {
      Status v = d_.webhooks.Verify(tenant, shared->Header("X-Kefu-Timestamp"), shared->Header("X-Kefu-Signature"),
                                    shared->body);
      if (!v.ok()) {
        log::Warn("ingest_webhook_refused", {{"tenant_id", tenant}, {"reason", v.message()}});
        return SendStatus(r, v);
      }
      RunBatch(tenant, *kind, shared->body, r, "webhook");
    });
  }

  void Rotate(const Request& q, const Responder& r) {
    auto t = Auth(q, r);
    if (!t) return;
    std::string tenant = t->id;
    Work(r, [this, r, tenant] {
      auto secret = d_.webhooks.RotateSecret(tenant);
      if (!secret.ok()) return SendStatus(r, secret.status());
      log::Info("ingest_webhook_secret_rotated", {{"tenant_id", tenant}});
      SendJson(r, 200, {{"secret", *secret}});
    });
  }

  std::optional<std::string> CustomerId(const Request& q, const Responder& r) {
    const std::string& id = q.path_params.at("id");
    if (!api::IdChars(id, 64)) {
      SendError(r, 400, "invalid_argument", "customer id: 1-64 characters of letters, digits and - _ . : @");
      return std::nullopt;
    }
    return id;
  }

  void Profile(const Request& q, const Responder& r) {
    auto t = Auth(q, r);
    if (!t) return;
    auto id = CustomerId(q, r);
    if (!id) return;
    Work(r, [this, r, tenant = t->id, cid = *id] {
      auto p = d_.profile.Get(tenant, cid);
      if (!p.ok()) return SendStatus(r, p.status());
      SendJson(r, 200, *p);
    });
  }

  void Conversations(const Request& q, const Responder& r) {
    auto t = Auth(q, r);
    if (!t) return;
    auto id = CustomerId(q, r);
    if (!id) return;
    auto limit = api::QueryInt(q, r, "limit", 50, 1, 500);
    if (!limit) return;
    Work(r, [this, r, tenant = t->id, cid = *id, n = *limit] {
      auto c = d_.profile.Conversations(tenant, cid, static_cast<int>(n));
      if (!c.ok()) return SendStatus(r, c.status());
      SendJson(r, 200, {{"conversations", *c}});
    });
  }

  void Resolve(const Request& q, const Responder& r) {
    auto t = Auth(q, r);
    if (!t) return;
    auto k = q.query.find("kind");
    auto v = q.query.find("value");
    if (k == q.query.end() || v == q.query.end())
      return SendError(r, 400, "invalid_argument", "kind and value are required");
    Work(r, [this, r, tenant = t->id, kind = k->second, value = v->second] {
      auto id = d_.identity.Resolve(tenant, kind, value);
      if (!id.ok()) return SendStatus(r, id.status());
      SendJson(r, 200, {{"customer_id", *id}});
    });
  }

  void Suggestions(const Request& q, const Responder& r) {
    auto t = Auth(q, r);
    if (!t) return;
    std::string status = "open";
    if (auto it = q.query.find("status"); it != q.query.end()) status = it->second;
    if (status != "open" && status != "accepted" && status != "rejected" && status != "all")
      return SendError(r, 400, "invalid_argument", "status must be open, accepted, rejected or all");
    if (status == "all") status.clear();
    auto limit = api::QueryInt(q, r, "limit", 100, 1, 1000);
    if (!limit) return;
    Work(r, [this, r, tenant = t->id, status, n = *limit] {
      auto list = d_.identity.Suggestions(tenant, status, static_cast<int>(n));
      if (!list.ok()) return SendStatus(r, list.status());
      json out = json::array();
      for (const auto& s : *list) out.push_back(s.ToJson());
      SendJson(r, 200, {{"suggestions", out}});
    });
  }

  void Reject(const Request& q, const Responder& r) {
    auto t = Auth(q, r);
    if (!t) return;
    auto id = api::ParseInt(q.path_params.at("id"));
    if (!id) return SendError(r, 400, "invalid_argument", "suggestion id must be an integer");
    Work(r, [this, r, tenant = t->id, sid = *id] {
      Status s = d_.identity.RejectSuggestion(tenant, sid, "api");
      if (!s.ok()) return SendStatus(r, s);
      SendJson(r, 200, {{"id", sid}, {"status", "rejected"}});
    });
  }

  static std::optional<std::string> IdField(const json& b, const char* name, const Responder& r) {
    auto it = b.find(name);
    if (it == b.end() || !it->is_string() || !api::IdChars(it->get<std::string>(), 64)) {
      SendError(r, 400, "invalid_argument", std::string(name) + " is required: a customer id");
      return std::nullopt;
    }
    return it->get<std::string>();
  }

  static std::string Reason(const json& b, const char* def) {
    auto it = b.find("reason");
    if (it == b.end() || !it->is_string()) return def;
    return it->get<std::string>().substr(0, 500);
  }

  void Merge(const Request& q, const Responder& r) {
    auto t = Auth(q, r);
    if (!t) return;
    auto b = api::ParseBody(q, r);
    if (!b) return;
    auto primary = IdField(*b, "primary_id", r);
    if (!primary) return;
    auto secondary = IdField(*b, "secondary_id", r);
    if (!secondary) return;
    Work(r, [this, r, tenant = t->id, p = *primary, s = *secondary, reason = Reason(*b, "manual merge")] {
      Status st = d_.identity.Merge(tenant, p, s, reason, "api");
      if (!st.ok()) return SendStatus(r, st);
      auto ids = d_.identity.ClusterIds(tenant, p);
      if (!ids.ok()) return SendStatus(r, ids.status());
      SendJson(r, 200, {{"customer_id", ids->front()}, {"merged_ids", json(std::vector<std::string>(ids->begin() + 1, ids->end()))}});
    });
  }

  void Unmerge(const Request& q, const Responder& r) {
    auto t = Auth(q, r);
    if (!t) return;
    auto b = api::ParseBody(q, r);
    if (!b) return;
    auto id = IdField(*b, "customer_id", r);
    if (!id) return;
    Work(r, [this, r, tenant = t->id, cid = *id, reason = Reason(*b, "manual unmerge")] {
      Status st = d_.identity.Unmerge(tenant, cid, reason, "api");
      if (!st.ok()) return SendStatus(r, st);
      SendJson(r, 200, {{"customer_id", cid}, {"merged_into", nullptr}});
    });
  }

  void Merges(const Request& q, const Responder& r) {
    auto t = Auth(q, r);
    if (!t) return;
    auto limit = api::QueryInt(q, r, "limit", 100, 1, 1000);
    if (!limit) return;
    Work(r, [this, r, tenant = t->id, n = *limit] {
      auto list = d_.identity.Audit(tenant, static_cast<int>(n));
      if (!list.ok()) return SendStatus(r, list.status());
      json out = json::array();
      for (const auto& a : *list) out.push_back(a.ToJson());
      SendJson(r, 200, {{"merges", out}});
    });
  }

  RouteDeps d_;
};

}  // namespace

void DescribeDatahubApi(json& paths, json& schemas) {
  using namespace api::openapi;
  const char* tag = "datahub";
  json kinds = json::array();
  for (Kind k : kAllKinds) kinds.push_back(std::string(KindName(k)));
  json kind_param = {{"name", "kind"}, {"in", "path"}, {"required", true}, {"description", "what the records are"}};
  kind_param["schema"] = {{"type", "string"}, {"enum", kinds}};
  json one_of = json::array();
  for (Kind k : kAllKinds) {
    std::string name = "Ingest" + std::string(KindName(k)) + "Record";
    name[6] = static_cast<char>(std::toupper(name[6]));
    schemas[name] = IngestService::RecordSchema(k);
    one_of.push_back({{"$ref", "#/components/schemas/" + name}});
  }
  schemas["IngestBatch"] = {
      {"type", "object"},
      {"required", {"source", "records"}},
      {"properties",
       {{"source", {{"type", "string"}, {"description", "the sending system (crm, erp, wms ...); ids are unique per source"}}},
        {"records", {{"type", "array"}, {"maxItems", 1000}, {"items", {{"oneOf", one_of}}},
                     {"description", "records of the kind in the path"}}}}}};
  schemas["IngestReport"] = {
      {"type", "object"},
      {"properties",
       {{"accepted", {{"type", "integer"}}},
        {"created", {{"type", "integer"}}},
        {"updated", {{"type", "integer"}}},
        {"unchanged", {{"type", "integer"}}},
        {"reordered", {{"type", "integer"}}},
        {"rejected",
         {{"type", "array"},
          {"items",
           {{"type", "object"},
            {"properties",
             {{"index", {{"type", "integer"}}}, {"id", {{"type", "string"}}}, {"reason", {{"type", "string"}}}}}}}}}}}};
  schemas["CustomerProfile"] = {{"type", "object"},
                                {"description",
                                 "customer_id, merged_ids, demographics, tier, identities, value {rfm, "
                                 "lifetime_value_cents}, recent_orders (with logistics), open_tickets, "
                                 "conversations (with emotions), recent_browsing, recent_transactions"}};
  schemas["MergeSuggestion"] = {{"type", "object"},
                                {"properties",
                                 {{"id", {{"type", "integer"}}},
                                  {"customer_a", {{"type", "string"}}},
                                  {"customer_b", {{"type", "string"}}},
                                  {"reason", {{"type", "string"}}},
                                  {"status", {{"type", "string"}, {"enum", {"open", "accepted", "rejected"}}}},
                                  {"created_ms", {{"type", "integer"}}}}}};
  schemas["MergeAudit"] = {{"type", "object"},
                           {"properties",
                            {{"id", {{"type", "integer"}}},
                             {"action", {{"type", "string"}, {"enum", {"merge", "unmerge"}}}},
                             {"primary_id", {{"type", "string"}}},
                             {"secondary_id", {{"type", "string"}}},
                             {"reason", {{"type", "string"}}},
                             {"actor", {{"type", "string"}}},
                             {"created_ms", {{"type", "integer"}}}}}};
  json obj = {{"type", "object"}};
  paths["/v1/ingest/{kind}"]["post"] =
      Op("Ingest a batch of records (idempotent by source + id)", tag,
         Merge({{"200", JsonResponse("Per-row report", Ref("IngestReport"))}},
               ErrorResponses({"400", "401", "404", "413"})),
         json::array({kind_param}), JsonBody(Ref("IngestBatch")), AdminSecurity());
  json wh_params = json::array(
      {kind_param,
       {{"name", "X-Kefu-Tenant"}, {"in", "header"}, {"required", true}, {"schema", {{"type", "string"}}}},
       {{"name", "X-Kefu-Timestamp"}, {"in", "header"}, {"required", true},
        {"description", "Unix seconds; must be within 5 minutes"}, {"schema", {{"type", "string"}}}},
       {{"name", "X-Kefu-Signature"}, {"in", "header"}, {"required", true},
        {"description", "sha256=<hex HMAC-SHA256(secret, timestamp + \".\" + body)>"}, {"schema", {{"type", "string"}}}}});
  paths["/v1/webhooks/ingest/{kind}"]["post"] =
      Op("Signed ingestion webhook (replays are refused with 409)", tag,
         Merge({{"200", JsonResponse("Per-row report", Ref("IngestReport"))}},
               ErrorResponses({"400", "401", "404", "409", "413"})),
         wh_params, JsonBody(Ref("IngestBatch")));
  paths["/v1/ingest/webhook-secret/rotate"]["post"] =
      Op("Create or rotate the tenant's webhook secret (returned once)", tag,
         Merge({{"200", JsonResponse("The new secret", {{"type", "object"}, {"properties", {{"secret", {{"type", "string"}}}}}})}},
               ErrorResponses({"401"})),
         json::array(), nullptr, AdminSecurity());
  paths["/v1/customers/{id}/profile"]["get"] =
      Op("The customer's 360° profile", tag,
         Merge({{"200", JsonResponse("Profile", Ref("CustomerProfile"))}}, ErrorResponses({"400", "401", "404"})),
         json::array({PathParam("id", "customer id (any record of a merged customer)")}), nullptr, AdminSecurity());
  paths["/v1/customers/{id}/conversations"]["get"] =
      Op("Conversations of the customer on every channel, newest first", tag,
         Merge({{"200", JsonResponse("Conversations", obj)}}, ErrorResponses({"400", "401", "404"})),
         json::array({PathParam("id", "customer id"), QueryParam("limit", "integer", "1-500, default 50")}), nullptr,
         AdminSecurity());
  paths["/v1/identity/resolve"]["get"] =
      Op("The customer an identity belongs to", tag,
         Merge({{"200", JsonResponse("Customer", obj)}}, ErrorResponses({"400", "401", "404"})),
         json::array({QueryParam("kind", "string", "phone, email, app_user_id, wechat_openid, wechat_unionid, "
                                                   "device_id or loyalty_no", true),
                      QueryParam("value", "string", "the identifier", true)}),
         nullptr, AdminSecurity());
  paths["/v1/identity/suggestions"]["get"] =
      Op("Merge suggestions from weak identifiers", tag,
         Merge({{"200", JsonResponse("Suggestions",
                                     {{"type", "object"},
                                      {"properties", {{"suggestions", {{"type", "array"}, {"items", Ref("MergeSuggestion")}}}}}})}},
               ErrorResponses({"400", "401"})),
         json::array({QueryParam("status", "string", "open (default), accepted, rejected or all"),
                      QueryParam("limit", "integer", "1-1000, default 100")}),
         nullptr, AdminSecurity());
  paths["/v1/identity/suggestions/{id}/reject"]["post"] =
      Op("Reject a merge suggestion", tag, Merge({{"200", JsonResponse("Rejected", obj)}}, ErrorResponses({"400", "401", "404", "409"})),
         json::array({PathParam("id", "suggestion id")}), nullptr, AdminSecurity());
  paths["/v1/identity/merge"]["post"] =
      Op("Merge two customers (audited)", tag,
         Merge({{"200", JsonResponse("The merged cluster", obj)}}, ErrorResponses({"400", "401", "404", "409"})),
         json::array(),
         JsonBody({{"type", "object"},
                   {"required", {"primary_id", "secondary_id"}},
                   {"properties",
                    {{"primary_id", {{"type", "string"}}}, {"secondary_id", {{"type", "string"}}}, {"reason", {{"type", "string"}}}}}}),
         AdminSecurity());
  paths["/v1/identity/unmerge"]["post"] =
      Op("Detach a merged customer record (audited)", tag,
         Merge({{"200", JsonResponse("Detached", obj)}}, ErrorResponses({"400", "401", "404", "409"})), json::array(),
         JsonBody({{"type", "object"},
                   {"required", {"customer_id"}},
                   {"properties", {{"customer_id", {{"type", "string"}}}, {"reason", {{"type", "string"}}}}}}),
         AdminSecurity());
  paths["/v1/identity/merges"]["get"] =
      Op("Merge and unmerge audit, newest first", tag,
         Merge({{"200", JsonResponse("Audit", {{"type", "object"},
                                               {"properties", {{"merges", {{"type", "array"}, {"items", Ref("MergeAudit")}}}}}})}},
               ErrorResponses({"400", "401"})),
         json::array({QueryParam("limit", "integer", "1-1000, default 100")}), nullptr, AdminSecurity());
}

std::unique_ptr<DatahubRoutes> RegisterDatahubRoutes(http::Server& server, const RouteDeps& deps) {
  auto routes = std::make_unique<Routes>(deps);
  routes->Register(server);
  api::RegisterOpenApiFragment("datahub", DescribeDatahubApi);
  return routes;
}

}  // namespace kefu::datahub
