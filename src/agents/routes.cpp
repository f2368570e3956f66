#include "agents/routes.h"

#include "api/errors.h"
#include "api/http_util.h"
#include "api/openapi.h"
#include "api/openapi_util.h"
#include "common/json.h"
#include "common/log.h"
#include "common/thread_pool.h"

#include <atomic>

namespace kefu::agents {
namespace {

using http::Request;
using http::Responder;
using nlohmann::json;

// Statuses made by the desk may carry a contract error code as a message
// prefix ("already_assigned: ..."); everything else maps by ErrorCode.
void Fail(const Responder& r, const Status& s) {
  static const char* kCodes[] = {"already_assigned", "not_assigned", "not_found", "invalid_credentials",
                                 "at_capacity",      "not_eligible"};
  const std::string& m = s.message();
  for (const char* code : kCodes) {
    std::string prefix = std::string(code) + ": ";
    if (m.rfind(prefix, 0) == 0) return api::SendError(r, api::HttpStatusFor(s.code()), code, m.substr(prefix.size()));
  }
  api::SendStatus(r, s);
}

void Reply(const Responder& r, const Result<json>& res) {
  if (!res.ok()) return Fail(r, res.status());
  api::SendJson(r, 200, *res);
}

std::optional<std::vector<std::string>> StringList(const json& v) {
  if (!v.is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& s : v) {
    if (!s.is_string() || s.get<std::string>().empty() || s.get<std::string>().size() > 64) return std::nullopt;
    out.push_back(s.get<std::string>());
  }
  return out;
}

Result<AgentSpec> SpecFrom(const json& b) {
  AgentSpec spec;
  for (auto it = b.begin(); it != b.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    if (k == "username" || k == "name" || k == "password") {
      if (!v.is_string()) return InvalidArgument(k + " must be a string");
      (k == "username" ? spec.username : k == "name" ? spec.name : spec.password) = v.get<std::string>();
    } else if (k == "role") {
      auto role = v.is_string() ? ParseRole(v.get<std::string>()) : std::nullopt;
      if (!role) return InvalidArgument("role must be agent, supervisor or admin");
      spec.role = role;
    } else if (k == "skills") {
      spec.skills = StringList(v);
      if (!spec.skills) return InvalidArgument("skills must be a list of 1-64 byte strings");
    } else if (k == "max_chats") {
      if (!v.is_number_integer()) return InvalidArgument("max_chats must be an integer");
      spec.max_chats = v.get<int>();
    } else if (k == "id" || k == "tenant_id" || k == "presence" || k == "active_chats") {
      // read-only fields echoed back by clients are ignored
    } else {
      return InvalidArgument("unknown field " + k);
    }
  }
  return spec;
}

class Routes final : public AgentRoutes {
 public:
  Routes(Desk& desk, WsAgentFeed& feed, AccountStore& accounts, api::TenantDirectory& tenants,
         metrics::Registry& metrics, const LoginSettings& login, int threads)
      : desk_(desk),
        feed_(feed),
        accounts_(accounts),
        tenants_(tenants),
        limiter_(SystemClock::Instance(), login.limits),
        hash_queue_(static_cast<size_t>(std::max(1, login.hash_queue))),
        login_failures_(metrics.GetCounter("kefu_agent_login_failures_total",
                                           "Agent logins refused for a wrong tenant, username or password")),
        throttled_ip_(metrics.GetCounter("kefu_agent_login_throttled_total",
                                         "Agent logins refused unhashed by the login limits", "scope=\"ip\"")),
        throttled_account_(metrics.GetCounter("kefu_agent_login_throttled_total",
                                              "Agent logins refused unhashed by the login limits", "scope=\"account\"")),
        rejected_busy_(metrics.GetCounter("kefu_agent_login_rejected_busy_total",
                                          "Password hashes refused because the hash pool's queue was full")),
        pool_(threads, "agents"),
        hash_pool_(static_cast<size_t>(std::max(1, login.hash_threads)), "pwhash") {
    std::string bad;
    if (!ParseTrustedProxies(login.trusted_proxies, trusted_proxies_, bad))
      log::Warn("agent_login_trusted_proxy_ignored", {{"entry", bad}});  // Config::Parse refuses it first
  }
  ~Routes() override {
    pool_.Shutdown();
    hash_pool_.Shutdown();
  }

  // Customers' pictures for GET /v1/agent/conversations/{id}/attachments/{attachment}; null = 404.
  void SetBlobs(channels::BlobStore* blobs) { blobs_ = blobs; }

  void Register(http::Server& s) {
    // Not on pool_: the limits are checked here, unhashed, and the password is
    // verified on the bounded hash pool (see Login).
    s.Route("POST", "/v1/agent/login", [this](Request&& q, Responder r) { Login(std::move(q), std::move(r)); });
    AsAgent(s, "POST", "/v1/agent/logout", Role::kAgent, [this](const Request& q, const Responder& r, const Agent&) {
      accounts_.Logout(api::Bearer(q));
      api::SendJson(r, 200, json::object());
    });
    AsAgent(s, "GET", "/v1/agent/me", Role::kAgent, [this](const Request&, const Responder& r, const Agent& me) {
      api::SendJson(r, 200, desk_.AgentJson(me.tenant_id, me.id));
    });
    AsAgent(s, "PUT", "/v1/agent/presence", Role::kAgent, [this](const Request& q, const Responder& r, const Agent& me) {
      auto b = api::ParseBody(q, r);
      if (!b) return;
      if (!b->contains("presence") || !(*b)["presence"].is_string())
        return api::SendError(r, 400, "invalid_argument", "presence must be online, away or offline");
      Reply(r, desk_.SetPresence(me, (*b)["presence"].get<std::string>()));
    });
    AsAgent(s, "GET", "/v1/agent/queue", Role::kAgent,
            [this](const Request&, const Responder& r, const Agent& me) { api::SendJson(r, 200, desk_.Queue(me)); });
    AsAgent(s, "GET", "/v1/agent/conversations", Role::kAgent, [this](const Request&, const Responder& r, const Agent& me) {
      api::SendJson(r, 200, desk_.MyConversations(me));
    });
    AsAgent(s, "GET", "/v1/agent/conversations/{id}", Role::kAgent,
            [this](const Request& q, const Responder& r, const Agent& me) { Reply(r, desk_.Detail(me, Id(q))); });
    // A customer's picture (a message part's attachment_id), for the agent who may see the conversation.
    AsAgent(s, "GET", "/v1/agent/conversations/{id}/attachments/{attachment}", Role::kAgent,
            [this](const Request& q, const Responder& r, const Agent& me) {
              const std::string& aid = q.path_params.at("attachment");
              if (!blobs_ || !api::IdChars(aid, 64)) return api::SendError(r, 404, "not_found", "attachment does not exist");
              auto a = desk_.FindAttachment(me, Id(q), aid);
              if (!a.ok()) return Fail(r, a.status());
              const bool thumb = q.query.count("thumbnail") && (q.query.at("thumbnail") == "1" || q.query.at("thumbnail") == "true");
              const bool use_thumb = thumb && !a->thumb_key.empty();
              auto bytes = blobs_->Get(a->tenant_id, use_thumb ? a->thumb_key : a->blob_key);
              if (!bytes.ok()) return Fail(r, bytes.status());
              http::Response resp;
              resp.content_type = use_thumb ? "image/jpeg" : a->mime;
              resp.body = std::move(*bytes);
              resp.headers.emplace_back("Cache-Control", "private, max-age=86400");
              resp.headers.emplace_back("X-Content-Type-Options", "nosniff");
              r.Send(std::move(resp));
            });
    AsAgent(s, "POST", "/v1/agent/conversations/{id}/accept", Role::kAgent,
            [this](const Request& q, const Responder& r, const Agent& me) { Reply(r, desk_.Accept(me, Id(q), false)); });
    AsAgent(s, "POST", "/v1/agent/conversations/{id}/messages", Role::kAgent,
            [this](const Request& q, const Responder& r, const Agent& me) {
              auto b = api::ParseBody(q, r);
              if (!b) return;
              auto text = api::CleanText(api::Field(*b, "text"));
              if (!text.ok()) return api::SendStatus(r, text.status());
              std::string cmid;
              if (b->contains("client_msg_id")) {
                const json& v = (*b)["client_msg_id"];
                if (!v.is_string() || !api::IdChars(v.get<std::string>(), 64))
                  return api::SendError(r, 400, "invalid_argument",
                                        "client_msg_id: 1-64 characters of letters, digits and - _ . : @");
                cmid = v.get<std::string>();
              }
              Reply(r, desk_.SendMessage(me, Id(q), *text, cmid));
            });
    AsAgent(s, "POST", "/v1/agent/conversations/{id}/notes", Role::kAgent,
            [this](const Request& q, const Responder& r, const Agent& me) {
              auto b = api::ParseBody(q, r);
              if (!b) return;
              auto text = api::CleanText(api::Field(*b, "text"));
              if (!text.ok()) return api::SendStatus(r, text.status());
              Reply(r, desk_.AddNote(me, Id(q), *text));
            });
    AsAgent(s, "POST", "/v1/agent/conversations/{id}/transfer", Role::kAgent,
            [this](const Request& q, const Responder& r, const Agent& me) {
              auto b = api::ParseBody(q, r);
              if (!b) return;
              std::optional<std::string> agent_id, group;
              if (b->contains("agent_id")) {
                if (!(*b)["agent_id"].is_string()) return api::SendError(r, 400, "invalid_argument", "agent_id must be a string");
                agent_id = (*b)["agent_id"].get<std::string>();
              }
              if (b->contains("group")) {
                if (!(*b)["group"].is_string()) return api::SendError(r, 400, "invalid_argument", "group must be a string");
                group = (*b)["group"].get<std::string>();
              }
              Reply(r, desk_.Transfer(me, Id(q), agent_id, group));
            });
    AsAgent(s, "POST", "/v1/agent/conversations/{id}/close", Role::kAgent,
            [this](const Request& q, const Responder& r, const Agent& me) { Reply(r, desk_.Close(me, Id(q))); });
    AsAgent(s, "GET", "/v1/agent/conversations/{id}/suggestions", Role::kAgent,
            [this](const Request& q, const Responder& r, const Agent& me) { Reply(r, desk_.Suggestions(me, Id(q))); });
    // Generated on the desk's assist pool; the reply is sent from there.
    AsAgent(s, "POST", "/v1/agent/conversations/{id}/drafts", Role::kAgent,
            [this](const Request& q, const Responder& r, const Agent& me) {
              desk_.DraftReplies(me, Id(q), [r](Result<json> res) { Reply(r, res); });
            });
    AsAgent(s, "GET", "/v1/agent/customers/{id}", Role::kAgent,
            [this](const Request& q, const Responder& r, const Agent& me) { Reply(r, desk_.CustomerPanel(me, Id(q))); });
    AsAgent(s, "GET", "/v1/agent/canned", Role::kAgent, [this](const Request&, const Responder& r, const Agent& me) {
      auto c = accounts_.Canned(me.tenant_id);
      if (!c.ok()) return Fail(r, c.status());
      api::SendJson(r, 200, {{"items", *c}});
    });
    AsAgent(s, "GET", "/v1/supervisor/board", Role::kSupervisor,
            [this](const Request&, const Responder& r, const Agent& me) { api::SendJson(r, 200, desk_.Board(me.tenant_id)); });
    AsAgent(s, "POST", "/v1/supervisor/conversations/{id}/takeover", Role::kSupervisor,
            [this](const Request& q, const Responder& r, const Agent& me) { Reply(r, desk_.Accept(me, Id(q), true)); });
    AsAdmin(s, "GET", "/v1/admin/agents", [this](const Request&, const Responder& r, const std::string& tenant) {
      auto list = accounts_.List(tenant);
      if (!list.ok()) return Fail(r, list.status());
      json items = json::array();
      for (const auto& a : *list) items.push_back(desk_.AgentJson(tenant, a.id));
      api::SendJson(r, 200, {{"items", items}});
    });
    AsAdmin(s, "POST", "/v1/admin/agents", [this](const Request& q, const Responder& r, const std::string& tenant) {
      auto b = api::ParseBody(q, r);
      if (!b) return;
      auto spec = SpecFrom(*b);
      if (!spec.ok()) return Fail(r, spec.status());
      // Creating hashes the password: on the hash pool, like logins.
      OnHashPool(r, [this, r, tenant, spec = *spec] {
        auto a = accounts_.Create(tenant, spec);
        if (!a.ok()) return Fail(r, a.status());
        desk_.AgentChanged(*a);
        api::SendJson(r, 201, desk_.AgentJson(tenant, a->id));
      });
    });
    AsAdmin(s, "PUT", "/v1/admin/agents/{id}", [this](const Request& q, const Responder& r, const std::string& tenant) {
      auto b = api::ParseBody(q, r);
      if (!b) return;
      auto spec = SpecFrom(*b);
      if (!spec.ok()) return Fail(r, spec.status());
      auto update = [this, r, tenant, id = Id(q), spec = *spec] {
        auto a = accounts_.Update(tenant, id, spec);
        if (!a.ok()) return Fail(r, a.status());
        desk_.AgentChanged(*a);
        api::SendJson(r, 200, desk_.AgentJson(tenant, a->id));
      };
      if (spec->password) {
        OnHashPool(r, std::move(update));  // a new password is hashed
        return;
      }
      update();
    });
    AsAdmin(s, "GET", "/v1/admin/groups", [this](const Request&, const Responder& r, const std::string& tenant) {
      auto g = accounts_.Groups(tenant);
      if (!g.ok()) return Fail(r, g.status());
      api::SendJson(r, 200, {{"items", *g}});
    });
    AsAdmin(s, "PUT", "/v1/admin/groups/{name}", [this](const Request& q, const Responder& r, const std::string& tenant) {
      auto b = api::ParseBody(q, r);
      if (!b) return;
      const std::string& name = q.path_params.at("name");
      if (!api::IdChars(name, 64)) return api::SendError(r, 400, "invalid_argument", "group name: 1-64 id characters");
      auto skills = StringList(api::Field(*b, "skills"));
      if (!skills) return api::SendError(r, 400, "invalid_argument", "skills must be a list of strings");
      auto st = accounts_.PutGroup(tenant, name, *skills);
      if (!st.ok()) return Fail(r, st);
      api::SendJson(r, 200, {{"name", name}, {"skills", *skills}});
    });
    s.Route("GET", "/v1/conversations/{id}/decisions", [this](Request&& q, Responder r) {
      Async(std::move(q), std::move(r), [this](const Request& q, const Responder& r) {
        auto tenant = AdminTenant(q, Role::kSupervisor);
        if (!tenant.ok()) return Fail(r, tenant.status());
        Reply(r, desk_.Decisions(*tenant, Id(q)));
      });
    });
    s.WebSocket("/v1/agent/ws", [this](const Request& q) { return AcceptWs(q); });
    api::RegisterOpenApiFragment("agents", Describe);
  }

 private:
  using Fn = std::function<void(const Request&, const Responder&)>;
  using AgentFn = std::function<void(const Request&, const Responder&, const Agent&)>;
  using AdminFn = std::function<void(const Request&, const Responder&, const std::string&)>;

  static std::string Id(const Request& q) { return q.path_params.at(q.path_params.count("id") ? "id" : "name"); }

  void Async(Request&& q, Responder r, Fn fn) {
    auto req = std::make_shared<Request>(std::move(q));
    if (!pool_.Submit([req, r, fn = std::move(fn)] { fn(*req, r); }))
      api::SendError(r, 503, "unavailable", "server is shutting down");
  }

  void Post(http::Server& s, const char* method, const char* path, Fn fn) {
    s.Route(method, path, [this, fn](Request&& q, Responder r) { Async(std::move(q), std::move(r), fn); });
  }

  Result<Agent> Authenticate(const std::string& token, Role min) {
    KEFU_ASSIGN_OR_RETURN(Session session, accounts_.Authenticate(token));
    auto a = desk_.FindAgent(session.tenant_id, session.agent_id);
    if (!a.ok()) return Unauthenticated("unknown agent token");
    if (static_cast<int>(a->role) < static_cast<int>(min))
      return PermissionDenied("forbidden: needs role " + std::string(RoleName(min)));
    return a;
  }

  void AsAgent(http::Server& s, const char* method, const char* path, Role min, AgentFn fn) {
    Post(s, method, path, [this, min, fn](const Request& q, const Responder& r) {
      auto me = Authenticate(api::Bearer(q), min);
      if (!me.ok()) return Fail(r, me.status());
      if (q.path_params.count("id") && !api::IdChars(q.path_params.at("id"), 64))
        return api::SendError(r, 404, "not_found", "no such id");
      fn(q, r, *me);
    });
  }

  // The tenant of an admin request: a tenant API key, or the token of an
  // agent with at least `min` role.
  Result<std::string> AdminTenant(const Request& q, Role min) {
    std::string token = api::Bearer(q);
    if (token.empty()) return Unauthenticated("missing credentials (Authorization: Bearer <api key or agent token>)");
    if (token.rfind("kat_", 0) == 0) {
      KEFU_ASSIGN_OR_RETURN(Agent a, Authenticate(token, min));
      return a.tenant_id;
    }
    auto t = tenants_.ByApiKey(token);
    if (!t.ok()) return Unauthenticated("unknown API key");
    return t->id;
  }

  void AsAdmin(http::Server& s, const char* method, const char* path, AdminFn fn) {
    Post(s, method, path, [this, fn](const Request& q, const Responder& r) {
      auto tenant = AdminTenant(q, Role::kAdmin);
      if (!tenant.ok()) return Fail(r, tenant.status());
      if (q.path_params.count("id") && !api::IdChars(q.path_params.at("id"), 64))
        return api::SendError(r, 404, "not_found", "no such id");
      fn(q, r, *tenant);
    });
  }

  // 429 rate_limited / 503 unavailable with Retry-After (seconds).
  static void SendRetryLater(const Responder& r, int status, std::string_view code, std::string_view message,
                             int64_t retry_after_s) {
    http::Response resp = http::Response::Error(status, code, message);
    resp.headers.emplace_back("Retry-After", std::to_string(retry_after_s));
    r.Send(std::move(resp));
  }

  // Runs `fn` on the bounded password-hash pool; when its queue is full the
  // request is answered 503 at once (it never waits behind other hashes).
  bool OnHashPool(const Responder& r, std::function<void()> fn) {
    if (hash_pool_.TrySubmit(std::move(fn), hash_queue_)) return true;
    rejected_busy_.Inc();
    NoteBusy();
    SendRetryLater(r, 503, "unavailable", "too many password checks in progress; retry shortly", 1);
    return false;
  }

  // A warning at most every 10 s while hashes are refused (each one is counted).
  void NoteBusy() {
    const int64_t now = SystemClock::Instance().NowMs();
    int64_t last = last_busy_log_ms_.load();
    if (now - last < 10'000 || !last_busy_log_ms_.compare_exchange_strong(last, now)) return;
    log::Warn("agent_login_busy", {{"rejected_total", rejected_busy_.Value()}, {"queue", hash_queue_}});
  }

  // POST /v1/agent/login, on the I/O thread up to the hash: the body is small
  // and the limits are in memory, so a refused attempt costs no hash and no
  // worker; the verification itself runs on the hash pool.
  void Login(Request&& q, Responder r) {
    static constexpr size_t kMaxLoginBody = 4096;
    if (q.body.size() > kMaxLoginBody)
      return api::SendError(r, 400, "invalid_argument", "login body is larger than 4 KiB");
    auto b = api::ParseBody(q, r);
    if (!b) return;
    auto str = [&](const char* k) { return b->contains(k) && (*b)[k].is_string() ? (*b)[k].get<std::string>() : ""; };
    std::string tenant = str("tenant_id"), username = str("username"), password = str("password");
    if (tenant.empty() || username.empty() || password.empty())
      return api::SendError(r, 400, "invalid_argument", "tenant_id, username and password are required");
    if (tenant.size() > 64 || username.size() > 64)
      return api::SendError(r, 400, "invalid_argument", "tenant_id and username are at most 64 bytes");
    std::string ip = ClientAddress(q.remote, trusted_proxies_.empty() ? "" : q.Header("X-Forwarded-For"),
                                   trusted_proxies_);
    std::string account = tenant + '\n' + username;
    auto gate = limiter_.Begin(ip, account);
    if (!gate.allowed) {
      (gate.scope == LoginLimiter::Scope::kIp ? throttled_ip_ : throttled_account_).Inc();
      int64_t secs = LoginLimiter::RetryAfterSeconds(gate.retry_after_ms);
      log::Debug("agent_login_throttled", {{"tenant_id", tenant}, {"username", username}, {"ip", ip},
                                           {"scope", gate.scope == LoginLimiter::Scope::kIp ? "ip" : "account"},
                                           {"retry_after_s", secs}});
      return SendRetryLater(r, 429, "rate_limited", "too many failed logins; retry after " + std::to_string(secs) + " s",
                            secs);
    }
    auto job = [this, r, ip, account, tenant, username, password = std::move(password)] {
      auto login = accounts_.Login(tenant, username, password);
      if (!login.ok() && login.status().code() != ErrorCode::kUnauthenticated) {
        limiter_.Abandon(ip, account);  // no verdict (storage error): not a failure
        return Fail(r, login.status());
      }
      if (!login.ok()) {
        auto reached = limiter_.Finish(ip, account, /*success=*/false);
        login_failures_.Inc();
        // Never the password.
        log::Warn("agent_login_failed", {{"tenant_id", tenant}, {"username", username}, {"ip", ip}});
        if (!reached.allowed)
          log::Warn("agent_login_locked",
                    {{"tenant_id", tenant}, {"username", username}, {"ip", ip},
                     {"scope", reached.scope == LoginLimiter::Scope::kIp ? "ip" : "account"},
                     {"retry_after_s", LoginLimiter::RetryAfterSeconds(reached.retry_after_ms)}});
        return api::SendError(r, 401, "invalid_credentials", "wrong tenant, username or password");
      }
      limiter_.Finish(ip, account, /*success=*/true);
      api::SendJson(r, 200,
                    {{"token", login->first},
                     {"expires_ms", login->second.expires_ms},
                     {"agent", desk_.AgentJson(tenant, login->second.agent_id)}});
    };
    if (!OnHashPool(r, std::move(job))) limiter_.Abandon(ip, account);
  }

  Result<http::WsHandlers> AcceptWs(const Request& q) {
    auto it = q.query.find("token");
    std::string token = it == q.query.end() ? api::Bearer(q) : it->second;
    KEFU_ASSIGN_OR_RETURN(Agent me, Authenticate(token, Role::kAgent));
    http::WsHandlers h;
    h.on_open = [this, me](std::shared_ptr<http::WsConnection> c) {
      // The hello first, then the desk's frames (registered under the desk's lock).
      desk_.Attach(me, c->id(), [&](const std::string& hello) {
        c->Send(hello);
        feed_.Add(me.tenant_id, me.id, c);
      });
    };
    h.on_message = [](std::shared_ptr<http::WsConnection> c, std::string&& text) {
      json f = ParseJsonOrDiscarded(text);
      if (f.is_object() && f.value("type", "") == "ping") return c->Send(R"({"type":"pong"})");
      c->Send(api::DumpJson(api::ErrorFrame("invalid_request", "only {\"type\":\"ping\"} is accepted; actions go over REST")));
    };
    h.on_close = [this, me](std::shared_ptr<http::WsConnection> c) {
      feed_.Remove(me.tenant_id, me.id, c->id());
      desk_.Detach(me, c->id());
    };
    return h;
  }

  static void Describe(json& paths, json& schemas);

  Desk& desk_;
  channels::BlobStore* blobs_ = nullptr;
  WsAgentFeed& feed_;
  AccountStore& accounts_;
  api::TenantDirectory& tenants_;
  LoginLimiter limiter_;
  std::unordered_set<std::string> trusted_proxies_;
  const size_t hash_queue_;
  metrics::Counter& login_failures_;
  metrics::Counter& throttled_ip_;
  metrics::Counter& throttled_account_;
  metrics::Counter& rejected_busy_;
  std::atomic<int64_t> last_busy_log_ms_{0};
  // Last, so that their threads stop before the state above goes.
  ThreadPool pool_;       // agent requests
  ThreadPool hash_pool_;  // password hashing and verification only, bounded by hash_queue_
};

void Routes::Describe(json& paths, json& schemas) {
  namespace o = api::openapi;
  // Agent session tokens and tenant API keys are both HTTP bearer tokens.
  json bearer = json::array({{{"apiKey", json::array()}}});
  json admin = bearer;
  json id = json::array({o::PathParam("id", "conversation, customer or agent id")});
  auto ok = [](const char* d, const char* schema) { return json{{"200", o::JsonResponse(d, o::Ref(schema))}}; };
  auto obj = [](const char* d) { return json{{"200", o::JsonResponse(d, {{"type", "object"}})}}; };
  auto errs = [](std::initializer_list<const char*> c) { return o::ErrorResponses(c); };
  const char* tag = "agents";
  schemas["Agent"] = {{"type", "object"},
                      {"properties",
                       {{"id", {{"type", "string"}}},
                        {"tenant_id", {{"type", "string"}}},
                        {"username", {{"type", "string"}}},
                        {"name", {{"type", "string"}}},
                        {"role", {{"type", "string"}, {"enum", {"agent", "supervisor", "admin"}}}},
                        {"skills", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                        {"max_chats", {{"type", "integer"}}},
                        {"presence", {{"type", "string"}, {"enum", {"online", "away", "offline"}}}},
                        {"active_chats", {{"type", "integer"}}}}}};
  schemas["ConversationSummary"] = {{"type", "object"},
                                    {"description", "conversation (+assigned_agent_id, queue), customer, emotion, last_message"}};
  paths["/v1/agent/login"]["post"] =
      o::Op("Agent login (429 rate_limited / 503 unavailable carry Retry-After)", tag,
            o::Merge(obj("{token, expires_ms, agent}"), errs({"400", "401", "429", "503"})), json::array(),
            o::JsonBody({{"type", "object"}, {"required", {"tenant_id", "username", "password"}}}));
  paths["/v1/agent/logout"]["post"] = o::Op("Revoke the session token", tag, o::Merge(obj("{}"), errs({"401"})), json::array(), nullptr, bearer);
  paths["/v1/agent/me"]["get"] = o::Op("The calling agent", tag, o::Merge(ok("Agent", "Agent"), errs({"401"})), json::array(), nullptr, bearer);
  paths["/v1/agent/presence"]["put"] =
      o::Op("Set presence", tag, o::Merge(ok("Agent", "Agent"), errs({"400", "401"})), json::array(),
            o::JsonBody({{"type", "object"}, {"properties", {{"presence", {{"type", "string"}}}}}}), bearer);
  paths["/v1/agent/queue"]["get"] = o::Op("Waiting conversations the caller may accept", tag, o::Merge(obj("{items:[QueueItem]}"), errs({"401"})), json::array(), nullptr, bearer);
  paths["/v1/agent/conversations"]["get"] = o::Op("Conversations assigned to the caller", tag, o::Merge(obj("{items:[ConversationSummary]}"), errs({"401"})), json::array(), nullptr, bearer);
  paths["/v1/agent/conversations/{id}"]["get"] = o::Op("Conversation detail with messages, notes and handoff summary", tag, o::Merge(obj("ConversationDetail"), errs({"401", "403", "404"})), id, nullptr, bearer);
  paths["/v1/agent/conversations/{id}/attachments/{attachment}"]["get"] = o::Op("A customer's picture in the conversation (thumbnail=1: its JPEG thumbnail)", tag, o::Merge({{"200", {{"description", "The picture"}, {"content", {{"image/*", {{"schema", {{"type", "string"}, {"format", "binary"}}}}}}}}}}, errs({"401", "403", "404"})), json::array({id[0], o::PathParam("attachment", "Attachment id (a message part's attachment_id)"), o::QueryParam("thumbnail", "boolean", "true: the thumbnail")}), nullptr, bearer);
  paths["/v1/agent/conversations/{id}/accept"]["post"] = o::Op("Accept from the queue (exactly one of concurrent accepts wins)", tag, o::Merge(ok("summary", "ConversationSummary"), errs({"401", "403", "404", "409"})), id, nullptr, bearer);
  paths["/v1/agent/conversations/{id}/messages"]["post"] = o::Op("Send a message to the customer", tag, o::Merge(obj("Message (role agent)"), errs({"400", "401", "403", "404"})), id, o::JsonBody({{"type", "object"}}), bearer);
  paths["/v1/agent/conversations/{id}/notes"]["post"] = o::Op("Internal note (never shown to the customer)", tag, o::Merge(obj("Message (role note)"), errs({"400", "401", "403", "404"})), id, o::JsonBody({{"type", "object"}}), bearer);
  paths["/v1/agent/conversations/{id}/transfer"]["post"] = o::Op("Transfer to an agent or a skill group", tag, o::Merge(ok("summary", "ConversationSummary"), errs({"400", "401", "403", "404", "409"})), id, o::JsonBody({{"type", "object"}}), bearer);
  paths["/v1/agent/conversations/{id}/close"]["post"] = o::Op("End human service; the bot resumes", tag, o::Merge(ok("summary", "ConversationSummary"), errs({"401", "403", "404", "409"})), id, nullptr, bearer);
  paths["/v1/agent/conversations/{id}/suggestions"]["get"] = o::Op("Suggested replies (knowledge base, canned); llm: available|off", tag, o::Merge(obj("{items, llm}"), errs({"401", "403", "404"})), id, nullptr, bearer);
  paths["/v1/agent/conversations/{id}/drafts"]["post"] = o::Op("LLM-drafted replies for the latest turn, grounded on the knowledge base (503 llm_off without an LLM)", tag, o::Merge(obj("{items:[{text, source: llm, grounding}], cached}"), errs({"401", "403", "404", "409", "503"})), id, nullptr, bearer);
  paths["/v1/agent/customers/{id}"]["get"] = o::Op("Customer panel: profile, orders with logistics, past conversations", tag, o::Merge(obj("CustomerPanel"), errs({"401", "404"})), id, nullptr, bearer);
  paths["/v1/agent/canned"]["get"] = o::Op("Canned responses", tag, o::Merge(obj("{items}"), errs({"401"})), json::array(), nullptr, bearer);
  paths["/v1/agent/ws"]["get"] = o::Op("Agent WebSocket (?token=): hello, queue, queue_removed, assigned, message, unassigned, handoff, alert, board frames", tag, {{"101", {{"description", "Switching protocols"}}}, {"401", o::JsonResponse("Error", o::Ref("Error"))}}, json::array({o::QueryParam("token", "string", "agent session token", true)}));
  paths["/v1/supervisor/board"]["get"] = o::Op("Queues, agent load and alerts", tag, o::Merge(obj("{queues, agents, alerts}"), errs({"401", "403"})), json::array(), nullptr, bearer);
  paths["/v1/supervisor/conversations/{id}/takeover"]["post"] = o::Op("Take over any conversation", tag, o::Merge(ok("summary", "ConversationSummary"), errs({"401", "403", "404", "409"})), id, nullptr, bearer);
  paths["/v1/admin/agents"]["get"] = o::Op("List agent accounts", tag, o::Merge(obj("{items:[Agent]}"), errs({"401", "403"})), json::array(), nullptr, admin);
  paths["/v1/admin/agents"]["post"] = o::Op("Create an agent account", tag, {{"201", o::JsonResponse("Agent", o::Ref("Agent"))}, {"400", o::JsonResponse("Error", o::Ref("Error"))}, {"401", o::JsonResponse("Error", o::Ref("Error"))}, {"409", o::JsonResponse("Error", o::Ref("Error"))}}, json::array(), o::JsonBody({{"type", "object"}}), admin);
  paths["/v1/admin/agents/{id}"]["put"] = o::Op("Update an agent account", tag, o::Merge(ok("Agent", "Agent"), errs({"400", "401", "404"})), id, o::JsonBody({{"type", "object"}}), admin);
  paths["/v1/admin/groups"]["get"] = o::Op("Skill groups", tag, o::Merge(obj("{items:[{name, skills}]}"), errs({"401", "403"})), json::array(), nullptr, admin);
  paths["/v1/admin/groups/{name}"]["put"] = o::Op("Create or replace a skill group", tag, o::Merge(obj("{name, skills}"), errs({"400", "401"})), json::array({o::PathParam("name", "group name")}), o::JsonBody({{"type", "object"}}), admin);
  paths["/v1/conversations/{id}/decisions"]["get"] = o::Op("Routing decision trace of every customer turn", tag, o::Merge(obj("{items:[{message_id, seq, text, decision}]}"), errs({"401", "404"})), id, nullptr, admin);
}

}  // namespace

LoginSettings LoginSettingsFrom(const AgentsConfig& c) {
  LoginSettings s;
  s.limits.ip_max_failures = c.login_ip_max_failures;
  s.limits.ip_window_ms = c.login_ip_window_s * 1000LL;
  s.limits.account_max_failures = c.login_account_max_failures;
  s.limits.lockout_ms = c.login_lockout_s * 1000LL;
  s.limits.lockout_max_ms = c.login_lockout_max_s * 1000LL;
  s.limits.max_tracked = static_cast<size_t>(c.login_max_tracked);
  s.hash_threads = c.login_hash_threads;
  s.hash_queue = c.login_hash_queue;
  s.trusted_proxies = c.trusted_proxies;
  return s;
}

WsAgentFeed::WsAgentFeed(metrics::Registry& metrics)
    : frames_(metrics.GetCounter("kefu_agent_frames_total", "Frames sent to agent WebSockets")) {}

void WsAgentFeed::Send(const std::string& tenant_id, const std::string& agent_id, const std::string& frame) {
  std::lock_guard lock(mu_);
  auto it = conns_.find(tenant_id + "/" + agent_id);
  if (it == conns_.end()) return;
  for (const auto& w : it->second)
    if (auto c = w.lock()) {
      c->Send(frame);
      frames_.Inc();
    }
}

void WsAgentFeed::Add(const std::string& tenant_id, const std::string& agent_id,
                      const std::shared_ptr<http::WsConnection>& conn) {
  std::lock_guard lock(mu_);
  auto& list = conns_[tenant_id + "/" + agent_id];
  std::erase_if(list, [](const auto& w) { return w.expired(); });
  list.push_back(conn);
}

void WsAgentFeed::Remove(const std::string& tenant_id, const std::string& agent_id, uint64_t conn_id) {
  std::lock_guard lock(mu_);
  auto it = conns_.find(tenant_id + "/" + agent_id);
  if (it == conns_.end()) return;
  std::erase_if(it->second, [&](const auto& w) {
    auto c = w.lock();
    return !c || c->id() == conn_id;
  });
  if (it->second.empty()) conns_.erase(it);
}

std::unique_ptr<AgentRoutes> RegisterAgentRoutes(http::Server& server, Desk& desk, WsAgentFeed& feed,
                                                 AccountStore& accounts, api::TenantDirectory& tenants,
                                                 metrics::Registry& metrics, const LoginSettings& login,
                                                 int worker_threads, channels::BlobStore* blobs) {
  auto r = std::make_unique<Routes>(desk, feed, accounts, tenants, metrics, login, worker_threads);
  r->SetBlobs(blobs);
  r->Register(server);
  return r;
}

}  // namespace kefu::agents
