#include "inbox/routes.h"

#include "api/http_util.h"
#include "api/openapi.h"
#include "api/openapi_util.h"
#include "common/utf8.h"

namespace kefu::inbox {
namespace {

using api::SendError;
using api::SendJson;
using api::SendStatus;
using http::Request;
using http::Responder;
using nlohmann::json;

constexpr const char* kIdRule = "1-64 characters of letters, digits and - _ . : @";

class Routes final : public InboxRoutes {
 public:
  explicit Routes(const RouteDeps& d) : d_(d) {}

  void Register(http::Server& s) {
    // Admin: the business (or kefu's own modules) sends; support reads.
    s.Route("POST", "/v1/inbox/messages", [this](Request&& q, Responder r) { SendMessage(q, r); });
    s.Route("GET", "/v1/customers/{id}/inbox", [this](Request&& q, Responder r) {
      if (auto who = Admin(q, r)) List(*who, q, r);
    });
    s.Route("GET", "/v1/customers/{id}/inbox/unread-count", [this](Request&& q, Responder r) {
      if (auto who = Admin(q, r)) Unread(*who, r);
    });
    s.Route("POST", "/v1/customers/{id}/inbox/{msg}/read", [this](Request&& q, Responder r) {
      if (auto who = Admin(q, r)) Mark(*who, q, r, false);
    });
    s.Route("POST", "/v1/customers/{id}/inbox/{msg}/ack", [this](Request&& q, Responder r) {
      if (auto who = Admin(q, r)) Mark(*who, q, r, true);
    });
    s.Route("POST", "/v1/customers/{id}/inbox/token", [this](Request&& q, Responder r) { MintToken(q, r); });
    // Customer: the app, with a token minted by the business backend.
    s.Route("GET", "/v1/me/inbox", [this](Request&& q, Responder r) {
      if (auto who = Customer(q, r)) List(*who, q, r);
    });
    s.Route("GET", "/v1/me/inbox/unread-count", [this](Request&& q, Responder r) {
      if (auto who = Customer(q, r)) Unread(*who, r);
    });
    s.Route("POST", "/v1/me/inbox/{msg}/read", [this](Request&& q, Responder r) {
      if (auto who = Customer(q, r)) Mark(*who, q, r, false);
    });
    s.Route("POST", "/v1/me/inbox/{msg}/ack", [this](Request&& q, Responder r) {
      if (auto who = Customer(q, r)) Mark(*who, q, r, true);
    });
    // Webhook administration.
    s.Route("POST", "/v1/webhooks/endpoints", [this](Request&& q, Responder r) { CreateEndpoint(q, r); });
    s.Route("GET", "/v1/webhooks/endpoints", [this](Request&& q, Responder r) { ListEndpoints(q, r); });
    s.Route("DELETE", "/v1/webhooks/endpoints/{id}", [this](Request&& q, Responder r) { DeleteEndpoint(q, r); });
    s.Route("GET", "/v1/webhooks/deliveries", [this](Request&& q, Responder r) { ListDeliveries(q, r); });
    s.Route("GET", "/v1/webhooks/deliveries/{id}", [this](Request&& q, Responder r) { GetDelivery(q, r); });
    s.Route("POST", "/v1/webhooks/deliveries/{id}/replay", [this](Request&& q, Responder r) { Replay(q, r); });
    s.Route("POST", "/v1/webhooks/deliveries/replay", [this](Request&& q, Responder r) { ReplayAll(q, r); });
  }

 private:
  struct Who {
    std::string tenant_id;
    std::string customer_id;
  };

  std::optional<api::Tenant> AdminTenant(const Request& q, const Responder& r) {
    auto t = d_.tenants.ByApiKey(api::Bearer(q));
    if (!t.ok()) {
      SendStatus(r, t.status());
      return std::nullopt;
    }
    return *t;
  }

  // The tenant of the API key and the customer in the path.
  std::optional<Who> Admin(const Request& q, const Responder& r) {
    auto t = AdminTenant(q, r);
    if (!t) return std::nullopt;
    const std::string& customer = q.path_params.at("id");
    if (!api::IdChars(customer, 64)) {
      SendError(r, 400, "invalid_argument", std::string("customer id: ") + kIdRule);
      return std::nullopt;
    }
    return Who{t->id, customer};
  }

  // The tenant and customer a customer token names.
  std::optional<Who> Customer(const Request& q, const Responder& r) {
    std::string token = q.Header("X-Kefu-Customer-Token");
    if (token.empty())
      if (auto it = q.query.find("customer_token"); it != q.query.end()) token = it->second;
    if (token.empty()) {
      SendError(r, 401, "unauthenticated", "a customer token is required (X-Kefu-Customer-Token)");
      return std::nullopt;
    }
    auto id = d_.tokens.Verify(token);
    if (!id.ok()) {
      SendStatus(r, id.status());
      return std::nullopt;
    }
    return Who{id->tenant_id, id->customer_id};
  }

  static std::optional<int64_t> MessageId(const Request& q, const Responder& r) {
    auto id = api::ParseInt(q.path_params.at("msg"));
    if (!id || *id <= 0) {
      SendError(r, 404, "not_found", "inbox message does not exist");
      return std::nullopt;
    }
    return id;
  }

  void SendMessage(const Request& q, const Responder& r) {
    auto t = AdminTenant(q, r);
    if (!t) return;
    auto body = api::ParseBody(q, r);
    if (!body) return;
    SendRequest req;
    req.tenant_id = t->id;
    auto str = [&](const char* key, std::string& out, bool required) {
      auto v = body->value(key, json());
      if (v.is_null() && !required) return true;
      if (!v.is_string()) {
        SendError(r, 400, "invalid_argument",
                  std::string(key) + (required ? " is required and" : "") + " must be a string");
        return false;
      }
      out = v.get<std::string>();
      return true;
    };
    if (!str("customer_id", req.customer_id, true) || !str("kind", req.kind, true) || !str("title", req.title, true) ||
        !str("body", req.body, true) || !str("idempotency_key", req.idempotency_key, false) ||
        !str("source", req.source, false))
      return;
    if (req.source.empty()) req.source = "api";
    std::string header_key = q.Header("Idempotency-Key");
    if (!header_key.empty()) {
      if (!req.idempotency_key.empty() && req.idempotency_key != header_key)
        return SendError(r, 400, "invalid_argument", "the Idempotency-Key header and idempotency_key differ");
      req.idempotency_key = header_key;
    }
    if (body->contains("action")) req.action = (*body)["action"];
    if (body->contains("expires_ms") && !(*body)["expires_ms"].is_null()) {
      if (!(*body)["expires_ms"].is_number_integer())
        return SendError(r, 400, "invalid_argument", "expires_ms must be an integer (Unix milliseconds)");
      req.expires_ms = (*body)["expires_ms"].get<int64_t>();
    }
    auto res = d_.center.Send(req);
    if (!res.ok()) return SendStatus(r, res.status());
    SendJson(r, res->created ? 201 : 200, {{"message", res->message.ToJson()}, {"duplicate", !res->created}});
  }

  void List(const Who& who, const Request& q, const Responder& r) {
    ListQuery lq;
    if (auto it = q.query.find("unread"); it != q.query.end()) {
      if (it->second == "true" || it->second == "1")
        lq.unread_only = true;
      else if (it->second != "false" && it->second != "0" && !it->second.empty())
        return SendError(r, 400, "invalid_argument", "unread must be true or false");
    }
    auto after = api::QueryInt(q, r, "after", 0, 0, INT64_MAX);
    if (!after) return;
    auto limit = api::QueryInt(q, r, "limit", 20, 1, 100);
    if (!limit) return;
    lq.after = *after;
    lq.limit = static_cast<int>(*limit);
    auto page = d_.center.List(who.tenant_id, who.customer_id, lq);
    if (!page.ok()) return SendStatus(r, page.status());
    auto unread = d_.center.UnreadCount(who.tenant_id, who.customer_id);
    if (!unread.ok()) return SendStatus(r, unread.status());
    json arr = json::array();
    for (const auto& m : page->messages) arr.push_back(m.ToJson());
    SendJson(r, 200,
             {{"messages", arr},
              {"next_cursor", page->next_cursor ? json(*page->next_cursor) : json(nullptr)},
              {"unread_count", *unread}});
  }

  void Unread(const Who& who, const Responder& r) {
    auto unread = d_.center.UnreadCount(who.tenant_id, who.customer_id);
    if (!unread.ok()) return SendStatus(r, unread.status());
    SendJson(r, 200, {{"unread_count", *unread}});
  }

  void Mark(const Who& who, const Request& q, const Responder& r, bool ack) {
    auto id = MessageId(q, r);
    if (!id) return;
    auto m = ack ? d_.center.Ack(who.tenant_id, who.customer_id, *id)
                 : d_.center.MarkRead(who.tenant_id, who.customer_id, *id);
    if (!m.ok()) return SendStatus(r, m.status());
    SendJson(r, 200, {{"message", m->ToJson()}});
  }

  void MintToken(const Request& q, const Responder& r) {
    auto who = Admin(q, r);
    if (!who) return;
    int64_t ttl = d_.default_token_ttl_s;
    if (!utf8::Trim(q.body).empty()) {
      auto body = api::ParseBody(q, r);
      if (!body) return;
      if (body->contains("ttl_s")) {
        if (!(*body)["ttl_s"].is_number_integer())
          return SendError(r, 400, "invalid_argument", "ttl_s must be an integer");
        ttl = (*body)["ttl_s"].get<int64_t>();
      }
    }
    auto t = d_.tokens.Mint(who->tenant_id, who->customer_id, ttl);
    if (!t.ok()) return SendStatus(r, t.status());
    SendJson(r, 200, {{"token", t->token}, {"customer_id", who->customer_id}, {"expires_ms", t->expires_ms}});
  }

  void CreateEndpoint(const Request& q, const Responder& r) {
    auto t = AdminTenant(q, r);
    if (!t) return;
    auto body = api::ParseBody(q, r);
    if (!body) return;
    const json& url = api::Field(*body, "url");
    if (!url.is_string()) return SendError(r, 400, "invalid_argument", "url is required and must be a string");
    std::vector<std::string> events;
    auto ev = body->value("events", json::array({"*"}));
    if (!ev.is_array()) return SendError(r, 400, "invalid_argument", "events must be an array of event types");
    for (const auto& e : ev) {
      if (!e.is_string()) return SendError(r, 400, "invalid_argument", "events must be an array of event types");
      events.push_back(e);
    }
    auto secret = body->value("secret", json(""));
    auto description = body->value("description", json(""));
    if (!secret.is_string() || !description.is_string())
      return SendError(r, 400, "invalid_argument", "secret and description must be strings");
    auto e = d_.webhooks.CreateEndpoint(t->id, url, events, secret, description);
    if (!e.ok()) return SendStatus(r, e.status());
    SendJson(r, 201, e->ToJson(/*with_secret=*/true));
  }

  void ListEndpoints(const Request& q, const Responder& r) {
    auto t = AdminTenant(q, r);
    if (!t) return;
    auto list = d_.webhooks.ListEndpoints(t->id);
    if (!list.ok()) return SendStatus(r, list.status());
    json arr = json::array();
    for (const auto& e : *list) arr.push_back(e.ToJson(/*with_secret=*/false));
    SendJson(r, 200, {{"endpoints", arr}});
  }

  void DeleteEndpoint(const Request& q, const Responder& r) {
    auto t = AdminTenant(q, r);
    if (!t) return;
    const std::string& id = q.path_params.at("id");
    Status s = d_.webhooks.DeleteEndpoint(t->id, id);
    if (!s.ok()) return SendStatus(r, s);
    SendJson(r, 200, {{"deleted", id}});
  }

  void ListDeliveries(const Request& q, const Responder& r) {
    auto t = AdminTenant(q, r);
    if (!t) return;
    std::string status, endpoint;
    if (auto it = q.query.find("status"); it != q.query.end()) status = it->second;
    if (!status.empty() && status != "pending" && status != "delivered" && status != "dead" && status != "cancelled")
      return SendError(r, 400, "invalid_argument", "status must be pending, delivered, dead or cancelled");
    if (auto it = q.query.find("endpoint_id"); it != q.query.end()) endpoint = it->second;
    auto limit = api::QueryInt(q, r, "limit", 50, 1, 500);
    if (!limit) return;
    auto list = d_.webhooks.ListDeliveries(t->id, status, endpoint, static_cast<int>(*limit));
    if (!list.ok()) return SendStatus(r, list.status());
    json arr = json::array();
    for (const auto& d : *list) arr.push_back(d.ToJson());
    SendJson(r, 200, {{"deliveries", arr}});
  }

  void GetDelivery(const Request& q, const Responder& r) {
    auto t = AdminTenant(q, r);
    if (!t) return;
    auto d = d_.webhooks.GetDelivery(t->id, q.path_params.at("id"));
    if (!d.ok()) return SendStatus(r, d.status());
    SendJson(r, 200, {{"delivery", d->ToJson()}});
  }

  void Replay(const Request& q, const Responder& r) {
    auto t = AdminTenant(q, r);
    if (!t) return;
    auto d = d_.webhooks.Replay(t->id, q.path_params.at("id"));
    if (!d.ok()) return SendStatus(r, d.status());
    SendJson(r, 200, {{"delivery", d->ToJson()}});
  }

  void ReplayAll(const Request& q, const Responder& r) {
    auto t = AdminTenant(q, r);
    if (!t) return;
    std::string endpoint;
    if (!utf8::Trim(q.body).empty()) {
      auto body = api::ParseBody(q, r);
      if (!body) return;
      auto e = body->value("endpoint_id", json(""));
      if (!e.is_string()) return SendError(r, 400, "invalid_argument", "endpoint_id must be a string");
      endpoint = e;
    }
    auto n = d_.webhooks.ReplayDead(t->id, endpoint);
    if (!n.ok()) return SendStatus(r, n.status());
    SendJson(r, 200, {{"replayed", *n}});
  }

  RouteDeps d_;
};

void RegisterOpenApi() {
  api::RegisterOpenApiFragment("inbox", [](json& paths, json& schemas) {
    using namespace api::openapi;  // NOLINT(google-build-using-namespace): the builders
    const json admin = AdminSecurity();
    const json nullable_int = {{"type", "integer"}, {"nullable", true}};
    schemas["InboxMessage"] = {{"type", "object"},
                               {"properties",
                                {{"id", {{"type", "integer"}}},
                                 {"customer_id", {{"type", "string"}}},
                                 {"kind", {{"type", "string"}, {"enum", MessageKinds()}}},
                                 {"title", {{"type", "string"}}},
                                 {"body", {{"type", "string"}}},
                                 {"action", {{"type", "object"}, {"nullable", true}}},
                                 {"source", {{"type", "string"}}},
                                 {"idempotency_key", {{"type", "string"}, {"nullable", true}}},
                                 {"created_ms", {{"type", "integer"}}},
                                 {"expires_ms", nullable_int},
                                 {"read_ms", nullable_int},
                                 {"acked_ms", nullable_int}}}};
    schemas["NewInboxMessage"] = {
        {"type", "object"},
        {"required", {"customer_id", "kind", "title", "body"}},
        {"properties",
         {{"customer_id", {{"type", "string"}, {"maxLength", 64}}},
          {"kind", {{"type", "string"}, {"enum", MessageKinds()}}},
          {"title", {{"type", "string"}, {"maxLength", kMaxTitleBytes}}},
          {"body", {{"type", "string"}, {"maxLength", kMaxBodyBytes}}},
          {"action", {{"type", "object"}, {"description", "e.g. {\"url\": \"app://coupons/1\", \"payload\": {...}}"}}},
          {"expires_ms", {{"type", "integer"}}},
          {"idempotency_key", {{"type", "string"}, {"maxLength", 128}}},
          {"source", {{"type", "string"}, {"maxLength", 64}}}}}};
    schemas["InboxMessageResult"] = {
        {"type", "object"}, {"properties", {{"message", Ref("InboxMessage")}, {"duplicate", {{"type", "boolean"}}}}}};
    schemas["InboxPage"] = {{"type", "object"},
                            {"properties",
                             {{"messages", {{"type", "array"}, {"items", Ref("InboxMessage")}}},
                              {"next_cursor", nullable_int},
                              {"unread_count", {{"type", "integer"}}}}}};
    schemas["WebhookEndpoint"] = {{"type", "object"},
                                  {"properties",
                                   {{"id", {{"type", "string"}}},
                                    {"url", {{"type", "string"}}},
                                    {"events", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                                    {"description", {{"type", "string"}}},
                                    {"secret", {{"type", "string"}, {"description", "only in the create response"}}},
                                    {"created_ms", {{"type", "integer"}}}}}};
    schemas["NewWebhookEndpoint"] = {
        {"type", "object"},
        {"required", {"url"}},
        {"properties",
         {{"url", {{"type", "string"}}},
          {"events",
           {{"type", "array"},
            {"items", {{"type", "string"}}},
            {"description", "inbox.message.created, inbox.message.read, inbox.message.acked or * (default)"}}},
          {"secret", {{"type", "string"}, {"minLength", 16}}},
          {"description", {{"type", "string"}}}}}};
    schemas["WebhookDelivery"] = {
        {"type", "object"},
        {"properties",
         {{"id", {{"type", "string"}}},
          {"endpoint_id", {{"type", "string"}}},
          {"event_id", {{"type", "string"}}},
          {"event_type", {{"type", "string"}}},
          {"status", {{"type", "string"}, {"enum", {"pending", "delivered", "dead", "cancelled"}}}},
          {"attempts", {{"type", "integer"}}},
          {"next_attempt_ms", nullable_int},
          {"last_status", nullable_int},
          {"last_error", {{"type", "string"}, {"nullable", true}}},
          {"created_ms", {{"type", "integer"}}},
          {"updated_ms", {{"type", "integer"}}},
          {"delivered_ms", nullable_int},
          {"payload", {{"type", "object"}}}}}};

    const json customer = PathParam("id", "Customer id");
    const json msg = PathParam("msg", "Inbox message id");
    const json token_header = {{"name", "X-Kefu-Customer-Token"},
                               {"in", "header"},
                               {"required", false},
                               {"description", "Customer token from POST /v1/customers/{id}/inbox/token"},
                               {"schema", {{"type", "string"}}}};
    const json token_query = QueryParam("customer_token", "string", "Alternative to the X-Kefu-Customer-Token header");
    const json list_params = json::array({QueryParam("unread", "boolean", "only unread messages"),
                                          QueryParam("after", "integer", "cursor: next_cursor of the previous page"),
                                          QueryParam("limit", "integer", "1..100, default 20")});
    auto with = [](json base, std::initializer_list<json> more) {
      for (const auto& m : more) base.push_back(m);
      return base;
    };
    const json message_result =
        JsonResponse("The message", {{"type", "object"}, {"properties", {{"message", Ref("InboxMessage")}}}});
    const json unread = JsonResponse("Unread messages",
                                     {{"type", "object"}, {"properties", {{"unread_count", {{"type", "integer"}}}}}});

    paths["/v1/inbox/messages"]["post"] = Op(
        "Send an in-app inbox message to a customer (idempotent by idempotency_key)", "inbox",
        Merge({{"201", JsonResponse("Created", Ref("InboxMessageResult"))},
               {"200", JsonResponse("An earlier send with the same idempotency key", Ref("InboxMessageResult"))}},
              ErrorResponses({"400", "401", "409", "413"})),
        json::array(
            {{{"name", "Idempotency-Key"}, {"in", "header"}, {"required", false}, {"schema", {{"type", "string"}}}}}),
        JsonBody(Ref("NewInboxMessage")), admin);
    paths["/v1/customers/{id}/inbox"]["get"] =
        Op("A customer's inbox, newest first (cursor pagination)", "inbox",
           Merge({{"200", JsonResponse("A page", Ref("InboxPage"))}}, ErrorResponses({"400", "401"})),
           with(list_params, {customer}), nullptr, admin);
    paths["/v1/customers/{id}/inbox/unread-count"]["get"] =
        Op("A customer's unread count", "inbox", Merge({{"200", unread}}, ErrorResponses({"400", "401"})),
           json::array({customer}), nullptr, admin);
    paths["/v1/customers/{id}/inbox/{msg}/read"]["post"] =
        Op("Mark a message read", "inbox", Merge({{"200", message_result}}, ErrorResponses({"400", "401", "404"})),
           json::array({customer, msg}), nullptr, admin);
    paths["/v1/customers/{id}/inbox/{msg}/ack"]["post"] =
        Op("Acknowledge a message (also marks it read)", "inbox",
           Merge({{"200", message_result}}, ErrorResponses({"400", "401", "404"})), json::array({customer, msg}),
           nullptr, admin);
    paths["/v1/customers/{id}/inbox/token"]["post"] =
        Op("Mint a customer token for the app's inbox calls", "inbox",
           Merge({{"200", JsonResponse("The token", {{"type", "object"},
                                                     {"properties",
                                                      {{"token", {{"type", "string"}}},
                                                       {"customer_id", {{"type", "string"}}},
                                                       {"expires_ms", {{"type", "integer"}}}}}})}},
                 ErrorResponses({"400", "401"})),
           json::array({customer}),
           JsonBody({{"type", "object"}, {"properties", {{"ttl_s", {{"type", "integer"}}}}}}, false), admin);
    paths["/v1/me/inbox"]["get"] =
        Op("The token holder's inbox, newest first", "inbox",
           Merge({{"200", JsonResponse("A page", Ref("InboxPage"))}}, ErrorResponses({"400", "401"})),
           with(list_params, {token_header, token_query}));
    paths["/v1/me/inbox/unread-count"]["get"] =
        Op("The token holder's unread count", "inbox", Merge({{"200", unread}}, ErrorResponses({"401"})),
           json::array({token_header, token_query}));
    paths["/v1/me/inbox/{msg}/read"]["post"] = Op("Mark one of the token holder's messages read", "inbox",
                                                  Merge({{"200", message_result}}, ErrorResponses({"401", "404"})),
                                                  json::array({msg, token_header, token_query}));
    paths["/v1/me/inbox/{msg}/ack"]["post"] = Op("Acknowledge one of the token holder's messages", "inbox",
                                                 Merge({{"200", message_result}}, ErrorResponses({"401", "404"})),
                                                 json::array({msg, token_header, token_query}));

    paths["/v1/webhooks/endpoints"]["post"] =
        Op("Register a webhook endpoint (the secret is returned only here)", "webhooks",
           Merge({{"201", JsonResponse("Created", Ref("WebhookEndpoint"))}}, ErrorResponses({"400", "401", "429"})),
           json::array(), JsonBody(Ref("NewWebhookEndpoint")), admin);
    paths["/v1/webhooks/endpoints"]["get"] = Op(
        "The tenant's webhook endpoints", "webhooks",
        Merge({{"200", JsonResponse(
                           "Endpoints",
                           {{"type", "object"},
                            {"properties", {{"endpoints", {{"type", "array"}, {"items", Ref("WebhookEndpoint")}}}}}})}},
              ErrorResponses({"401"})),
        json::array(), nullptr, admin);
    paths["/v1/webhooks/endpoints/{id}"]["delete"] =
        Op("Remove an endpoint; its pending deliveries are cancelled", "webhooks",
           Merge({{"200", JsonResponse("Deleted", {{"type", "object"}})}}, ErrorResponses({"401", "404"})),
           json::array({PathParam("id", "Endpoint id")}), nullptr, admin);
    const json delivery_result =
        JsonResponse("The delivery", {{"type", "object"}, {"properties", {{"delivery", Ref("WebhookDelivery")}}}});
    paths["/v1/webhooks/deliveries"]["get"] =
        Op("Webhook deliveries, newest first (status=dead: the dead-letter list)", "webhooks",
           Merge({{"200", JsonResponse("Deliveries",
                                       {{"type", "object"},
                                        {"properties",
                                         {{"deliveries", {{"type", "array"}, {"items", Ref("WebhookDelivery")}}}}}})}},
                 ErrorResponses({"400", "401"})),
           json::array({QueryParam("status", "string", "pending, delivered, dead or cancelled"),
                        QueryParam("endpoint_id", "string", "only this endpoint's deliveries"),
                        QueryParam("limit", "integer", "1..500, default 50")}),
           nullptr, admin);
    paths["/v1/webhooks/deliveries/{id}"]["get"] =
        Op("One delivery", "webhooks", Merge({{"200", delivery_result}}, ErrorResponses({"401", "404"})),
           json::array({PathParam("id", "Delivery id")}), nullptr, admin);
    paths["/v1/webhooks/deliveries/{id}/replay"]["post"] =
        Op("Replay a dead letter (same delivery id, attempts reset)", "webhooks",
           Merge({{"200", delivery_result}}, ErrorResponses({"401", "404", "409"})),
           json::array({PathParam("id", "Delivery id")}), nullptr, admin);
    paths["/v1/webhooks/deliveries/replay"]["post"] = Op(
        "Replay every dead letter (optionally of one endpoint)", "webhooks",
        Merge({{"200",
                JsonResponse("How many", {{"type", "object"}, {"properties", {{"replayed", {{"type", "integer"}}}}}})}},
              ErrorResponses({"400", "401"})),
        json::array(), JsonBody({{"type", "object"}, {"properties", {{"endpoint_id", {{"type", "string"}}}}}}, false),
        admin);
  });
}

}  // namespace

std::unique_ptr<InboxRoutes> RegisterInboxRoutes(http::Server& server, const RouteDeps& deps) {
  auto routes = std::make_unique<Routes>(deps);
  routes->Register(server);
  RegisterOpenApi();
  return routes;
}

}  // namespace kefu::inbox
