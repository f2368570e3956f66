#include "api/api.h"

#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <set>

#include "api/errors.h"
#include "api/http_util.h"
#include "api/openapi.h"
#include "channels/content_parts.h"
#include "channels/intake.h"
#include "common/crypto.h"
#include "common/json.h"
#include "common/log.h"
#include "common/utf8.h"
#include "voice/audio.h"

namespace kefu::api {
namespace {

using nlohmann::json;
using http::Request;
using http::Responder;
using http::Response;

// A turn that could not start: 503 with Retry-After, the code
// conversation_busy when another node holds the conversation's lease (a
// client retries with the same client_msg_id; nothing was stored).
void SendTurnRefused(const Responder& r, const Status& s) {
  if (s.code() != ErrorCode::kUnavailable) return SendStatus(r, s);
  const bool busy = dialogue::IsLeaseBusy(s);
  Response resp = Response::Error(503, busy ? "conversation_busy" : "unavailable", s.message());
  resp.headers.emplace_back("Retry-After", std::to_string(busy ? dialogue::LeaseRetryAfterSeconds(s) : 1));
  r.Send(std::move(resp));
}

// A live subscriber: pushes conversation events to one WebSocket.
class WsSubscriber final : public dialogue::Subscriber {
 public:
  explicit WsSubscriber(std::weak_ptr<http::WsConnection> c) : conn_(std::move(c)) {}
  void OnMessage(const dialogue::Message& m) override { Send({{"type", "message"}, {"message", m.CustomerJson()}}); }
  void OnDelta(const std::string&, int64_t reply_to, std::string_view text) override {
    Send({{"type", "delta"}, {"reply_to", reply_to}, {"text", std::string(text)}});
  }
  void OnClosed(const dialogue::Conversation& c) override {
    Send({{"type", "closed"}, {"conversation", c.ToJson()}});
  }
  // e.g. {"type":"inbox","message":{...}}: a notice for the customer, not a chat message.
  void OnCustomerEvent(std::string_view kind, const json& payload) override {
    Send({{"type", std::string(kind)}, {"message", payload}});
  }
  void Send(const json& j) {
    if (auto c = conn_.lock()) c->Send(DumpJson(j));
  }

 private:
  std::weak_ptr<http::WsConnection> conn_;
};

class SseSubscriber final : public dialogue::Subscriber {
 public:
  explicit SseSubscriber(std::weak_ptr<http::SseStream> s) : stream_(std::move(s)) {}
  void OnMessage(const dialogue::Message& m) override { Send("message", m.CustomerJson()); }
  void OnDelta(const std::string&, int64_t reply_to, std::string_view text) override {
    Send("delta", {{"reply_to", reply_to}, {"text", std::string(text)}});
  }
  void OnClosed(const dialogue::Conversation& c) override { Send("closed", c.ToJson()); }
  void OnCustomerEvent(std::string_view kind, const json& payload) override { Send(kind, payload); }
  void Send(std::string_view event, const json& j) {
    if (auto s = stream_.lock()) s->Send(event, DumpJson(j));
  }

 private:
  std::weak_ptr<http::SseStream> stream_;
};

class Routes final : public ApiRoutes {
 public:
  Routes(const ApiDeps& d, WidgetConfigFn widget_config) : d_(d), widget_config_(std::move(widget_config)) {
    if (d_.voice && d_.voice->config.enabled)
      voice_ = std::make_unique<VoiceSockets>(d_.service, d_.store, d_.hub, d_.metrics, *d_.voice);
  }

  void Register(http::Server& server) {
    server.SetErrorRenderer([](const Status& s) {
      return Response::Error(HttpStatusFor(s.code()), ErrorCodeName(s.code()), s.message());
    });
    server.Route("GET", "/healthz", [this](Request&&, Responder r) { Healthz(r); });
    server.Route("GET", "/metrics", [this](Request&& req, Responder r) {
      if (!MetricsAuthorized(req)) {
        Response resp = Response::Error(401, "unauthenticated", "metrics need Authorization: Bearer <server.metrics_token>");
        resp.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"kefu-metrics\"");
        return r.Send(std::move(resp));
      }
      Response resp;
      resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
      resp.body = d_.metrics.Render();
      r.Send(std::move(resp));
    });
    server.Route("GET", "/openapi.json", [](Request&&, Responder r) { SendJson(r, 200, OpenApiDocument()); });
    server.Route("GET", "/v1/widget/config", [this](Request&& req, Responder r) { WidgetConfig(req, r); });
    server.Route("POST", "/v1/conversations", [this](Request&& req, Responder r) { CreateConversation(req, r); });
    server.Route("GET", "/v1/conversations/{id}", [this](Request&& req, Responder r) { GetConversation(req, r); });
    server.Route("POST", "/v1/conversations/{id}/messages",
                 [this](Request&& req, Responder r) { PostMessage(std::move(req), std::move(r)); });
    server.Route("GET", "/v1/conversations/{id}/messages", [this](Request&& req, Responder r) { ListMessages(req, r); });
    server.Route("GET", "/v1/conversations/{id}/attachments/{attachment}",
                 [this](Request&& req, Responder r) { GetAttachment(std::move(req), std::move(r)); });
    server.Route("POST", "/v1/conversations/{id}/close", [this](Request&& req, Responder r) { Close(req, r); });
    server.Sse("/v1/conversations/{id}/events", [this](const Request& req) { return AcceptSse(req); });
    server.WebSocket("/v1/conversations/{id}/ws", [this](const Request& req) { return AcceptWs(req); });
    server.WebSocket("/v1/conversations/{id}/voice", [this](const Request& req) { return AcceptVoice(req); });
    server.Route("GET", "/v1/kb/search", [this](Request&& req, Responder r) { KbSearch(req, r); });
    server.Route("POST", "/v1/kb/import", [this](Request&& req, Responder r) { KbImport(std::move(req), std::move(r)); });
    server.Route("GET", "/v1/kb/entries/{id}", [this](Request&& req, Responder r) { KbGet(req, r); });
    server.Route("PUT", "/v1/kb/entries/{id}", [this](Request&& req, Responder r) { KbPut(req, r); });
    server.Route("DELETE", "/v1/kb/entries/{id}", [this](Request&& req, Responder r) { KbDelete(req, r); });
    server.Route("GET", "/v1/tools", [this](Request&& req, Responder r) { ToolsList(req, r); });
    server.Route("POST", "/v1/tools/{name}", [this](Request&& req, Responder r) { ToolsCall(std::move(req), std::move(r)); });
  }

 private:
  // --- operations ---

  // [server] metrics_token: empty = open; else the bearer token, compared in
  // constant time (digests of equal length, so not even the length leaks).
  bool MetricsAuthorized(const Request& req) const {
    const std::string& want = d_.config.server.metrics_token;
    if (want.empty()) return true;
    const std::string got = Bearer(req);
    return !got.empty() && crypto::SafeEqual(crypto::Sha256Hex(got), crypto::Sha256Hex(want));
  }

  static json HealthJson(const storage::StorageHealth& h) {
    return {{"status", "unhealthy"},
            {"storage", {{"ok", false},
                         {"engine", h.engine},
                         {"error", h.error},
                         {"code", h.code},
                         {"sqlite_code", h.engine == "sqlite" ? h.code : std::string()},
                         {"since_ms", h.since_ms},
                         {"last_ms", h.last_ms},
                         {"failures", h.failures}}}};
  }

  // "bus": {"ok", "engine", "node_id", ...}; what is down and why when not ok.
  json BusJson(bool& ok) const {
    const bus::BusHealth h = d_.bus->Health();
    ok = h.ok;
    json j = {{"ok", h.ok}, {"engine", h.engine}, {"node_id", h.node_id}, {"dropped", h.dropped}};
    if (h.engine == "redis") {
      j["pending"] = h.pending;
      j["refused"] = h.refused;
      j["reconnects"] = h.reconnects;
    }
    if (!h.ok) {
      j["error"] = h.error;
      j["down"] = h.down;
      j["since_ms"] = h.since_ms;
    }
    return j;
  }

  // The storage part (healthy or the failure), plus the bus. 503 only when
  // storage is down: without the bus a node still serves its own connections
  // (other nodes' events reach them when they reconnect), and a Redis outage
  // must not take every node out of a load balancer at once: "degraded", 200.
  void SendHealth(const Responder& r, bool storage_ok) const {
    json body = storage_ok ? json{{"status", "ok"}, {"storage", {{"ok", true}}}} : HealthJson(d_.storage->Health());
    bool bus_ok = true;
    if (d_.bus) body["bus"] = BusJson(bus_ok);
    body["status"] = !storage_ok ? "unhealthy" : bus_ok ? "ok" : "degraded";
    SendJson(r, storage_ok ? 200 : 503, body);
  }

  // 200 {"status":"ok"} while the database stores data and the bus reaches
  // its Redis; after a storage failure 503 {"status":"unhealthy","storage":{...}}
  // until a write commits again; 200 {"status":"degraded","bus":{...}} while the bus is down.
  // Unhealthy storage proves recovery itself (a probe write, at most one a
  // second, on a worker): a balancer that took the server out of rotation
  // sends no traffic that could.
  void Healthz(const Responder& r) {
    storage::Database* db = d_.storage;
    if (!db || db->Healthy()) return SendHealth(r, true);
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now().time_since_epoch()).count();
    int64_t last = last_probe_ms_.load();
    if (now - last < 1000 || !last_probe_ms_.compare_exchange_strong(last, now)) return SendHealth(r, false);
    bool queued = d_.workers.Submit([this, db, r] {
      (void)db->ProbeWrite();  // success marks the database healthy
      SendHealth(r, db->Healthy());
    });
    if (!queued) SendHealth(r, false);
  }

  // --- customer-facing ---

  std::optional<Tenant> WidgetAuth(const Request& req, const Responder& r) {
    auto t = d_.tenants.ByWidgetKey(WidgetKeyOf(req));
    if (!t.ok()) {
      SendStatus(r, t.status());
      return std::nullopt;
    }
    return *t;
  }

  void WidgetConfig(const Request& req, const Responder& r) {
    auto t = WidgetAuth(req, r);
    if (!t) return;
    json cfg = widget_config_ ? widget_config_(*t) : json::object();
    cfg["tenant_id"] = t->id;
    if (!cfg.contains("name")) cfg["name"] = t->name;
    SendJson(r, 200, cfg);
  }

  void CreateConversation(const Request& req, const Responder& r) {
    auto body = ParseBody(req, r);
    if (!body) return;
    // A server-side caller (the shop's backend, a phone gateway) authenticates
    // with the tenant's API key and vouches for the customer it names: verified.
    // Browsers and apps use the public widget key: the customer is only claimed.
    const std::string api_key = Bearer(req);
    Result<Tenant> t = NotFound("");
    if (!api_key.empty()) {
      t = d_.tenants.ByApiKey(api_key);
    } else {
      std::string widget_key = WidgetKeyOf(req);
      if (widget_key.empty() && body->contains("widget_key") && (*body)["widget_key"].is_string())
        widget_key = (*body)["widget_key"];
      t = d_.tenants.ByWidgetKey(widget_key);
    }
    if (!t.ok()) return SendStatus(r, t.status());
    std::string customer_id;
    // A signed customer token (minted by the business backend) proves who the customer is.
    std::string token = req.Header("X-Kefu-Customer-Token");
    if (token.empty() && body->contains("customer_token") && (*body)["customer_token"].is_string())
      token = (*body)["customer_token"];
    bool verified = !api_key.empty();
    if (!token.empty()) {
      if (!d_.verify_customer_token) return SendError(r, 401, "unauthenticated", "customer tokens are not enabled");
      auto who = d_.verify_customer_token(token);
      if (!who.ok() || who->first != t->id)
        return SendError(r, 401, "unauthenticated", "invalid or expired customer token");
      const json& asserted = Field(*body, "customer_id");
      if (asserted.is_string() && asserted.get<std::string>() != who->second)
        return SendError(r, 400, "invalid_argument", "customer_id does not match the customer token");
      customer_id = who->second;
      verified = true;
    } else if (body->contains("identity") && d_.resolve_identity) {
      // Data hub: {"identity": {"kind": "phone", "value": "..."}} names the customer by a channel identity.
      const json& idj = (*body)["identity"];
      if (!idj.is_object() || !idj.contains("kind") || !idj["kind"].is_string() || !idj.contains("value") ||
          !idj["value"].is_string())
        return SendError(r, 400, "invalid_argument", "identity must be {\"kind\": \"phone\", \"value\": \"...\"}");
      auto resolved = d_.resolve_identity(t->id, idj["kind"].get<std::string>(), idj["value"].get<std::string>());
      if (!resolved.ok()) return SendStatus(r, resolved.status());
      customer_id = *resolved;
    } else {
      const json& cust = Field(*body, "customer_id");
      if (!cust.is_string() || !IdChars(cust.get<std::string>(), 64))
        return SendError(r, 400, "invalid_argument",
                         "customer_id is required: 1-64 characters of letters, digits and - _ . : @");
      customer_id = cust.get<std::string>();
    }
    std::string channel = "web";
    if (body->contains("channel")) {
      const json& ch = Field(*body, "channel");
      static const std::set<std::string> kChannels = {"web", "app", "api", "voice", "phone"};
      if (!ch.is_string() || !kChannels.count(ch.get<std::string>()))
        return SendError(r, 400, "invalid_argument", "channel must be one of web, app, api, voice, phone");
      channel = ch;
    }
    auto c = d_.service.Start(t->id, customer_id, channel);
    if (!c.ok()) return SendStatus(r, c.status());
    // Read by the order tools (dialogue::CustomerVerified): an asserted id counts as
    // verified only where the server trusts clients ([dialogue] require_verified_customer = false).
    const bool trusted = verified || !d_.config.dialogue.require_verified_customer;
    Status saved = d_.store.SaveContext(c->id, {{"customer_verified", trusted}, {"customer_proven", verified}});
    if (!saved.ok()) return SendStatus(r, saved);
    json out = c->ToJson();
    out["customer_verified"] = verified;
    SendJson(r, 201, out);
  }

  // The widget tenant and the well-formed conversation id in the path; nullopt
  // when the request was answered (bad credentials, a malformed id).
  std::optional<std::pair<Tenant, std::string>> WidgetConversationPath(const Request& req, const Responder& r) {
    auto t = WidgetAuth(req, r);
    if (!t) return std::nullopt;
    const std::string& id = req.path_params.at("id");
    if (!IdChars(id, 64)) {
      SendError(r, 404, "not_found", "conversation does not exist");
      return std::nullopt;
    }
    return std::make_pair(std::move(*t), id);
  }

  // The conversation named in the path, checked against the widget tenant.
  std::optional<dialogue::Conversation> AuthConversation(const Request& req, const Responder& r) {
    auto path = WidgetConversationPath(req, r);
    if (!path) return std::nullopt;
    auto c = d_.service.Get(path->first.id, path->second);
    if (!c.ok()) {
      SendStatus(r, c.status());
      return std::nullopt;
    }
    return *c;
  }

  // AuthConversation for posting a turn, which needs only to know that the
  // conversation is the tenant's: its tenant id, or nullopt (answered).
  std::optional<std::string> AuthConversationOwner(const Request& req, const Responder& r) {
    auto path = WidgetConversationPath(req, r);
    if (!path) return std::nullopt;
    if (Status st = d_.service.CheckOwner(path->first.id, path->second); !st.ok()) {
      SendStatus(r, st);
      return std::nullopt;
    }
    return path->first.id;
  }

  void GetConversation(const Request& req, const Responder& r) {
    auto c = AuthConversation(req, r);
    if (c) SendJson(r, 200, c->ToJson());
  }

  static void SendUploadError(const Responder& r, const Status& s) {
    const channels::UploadError e = channels::UploadErrorOf(s);
    SendError(r, e.http_status, e.code, e.message);
  }

  // What a message POST carries: a JSON body ({"text"} or OpenAI content
  // parts in {"content"}) or a multipart/form-data upload.
  struct Incoming {
    std::string client_msg_id;
    json text = nullptr;  // the text field (string) or null
    std::vector<channels::Upload> uploads;
    std::vector<channels::Upload> audio;  // an input_audio part (WAV), at most one
  };

  channels::ContentLimits UploadLimits() const {
    channels::ContentLimits l;
    l.max_image_bytes = d_.config.channels.max_image_bytes;
    l.max_images = d_.config.channels.max_images_per_message;
    return l;
  }

  // The route's body may exceed server.max_body_bytes only to carry
  // pictures (http: is_upload_path); anything else that large is 413 as on
  // every other route.
  bool OverPlainLimit(const Request& req) const {
    return static_cast<int64_t>(req.body.size()) > d_.config.server.max_body_bytes;
  }
  void SendTooLarge(const Responder& r) const {
    SendError(r, 413, "payload_too_large",
              "request body exceeds " + std::to_string(d_.config.server.max_body_bytes) + " bytes (without pictures)");
  }

  std::optional<Incoming> ParseIncoming(const Request& req, const Responder& r) {
    Incoming in;
    const std::string boundary = channels::MultipartBoundary(req.Header("Content-Type"));
    if (boundary.empty() && OverPlainLimit(req) && req.body.find("image_url") == std::string::npos &&
        req.body.find("input_audio") == std::string::npos) {
      SendTooLarge(r);
      return std::nullopt;
    }
    if (!boundary.empty()) {
      auto fields = channels::ParseMultipart(req.body, boundary, 16);
      if (!fields.ok()) {
        SendUploadError(r, fields.status());
        return std::nullopt;
      }
      const channels::ContentLimits limits = UploadLimits();
      for (auto& f : *fields) {
        if (f.name == "client_msg_id" && f.filename.empty()) {
          in.client_msg_id = f.data;
        } else if (f.name == "text" && f.filename.empty()) {
          in.text = f.data;
        } else if (!f.filename.empty() || f.name == "image" || f.name == "file") {
          if (static_cast<int>(in.uploads.size()) >= limits.max_images) {
            SendError(r, 413, "too_many_images",
                      "at most " + std::to_string(limits.max_images) + " pictures per message");
            return std::nullopt;
          }
          if (static_cast<int64_t>(f.data.size()) > limits.max_image_bytes) {
            SendError(r, 413, "image_too_large",
                      "the picture is " + std::to_string(f.data.size()) + " bytes; at most " +
                          std::to_string(limits.max_image_bytes) + " are accepted");
            return std::nullopt;
          }
          in.uploads.push_back({std::move(f.data), f.content_type, f.filename});
        }
      }
      if (in.uploads.empty() && OverPlainLimit(req)) {
        SendTooLarge(r);
        return std::nullopt;
      }
      return in;
    }
    auto body = ParseBody(req, r);
    if (!body) return std::nullopt;
    const json& cmid = Field(*body, "client_msg_id");
    if (cmid.is_string()) in.client_msg_id = cmid.get<std::string>();
    in.text = Field(*body, "text");
    const json& content = Field(*body, "content");
    if (!content.is_null()) {
      if (!in.text.is_null()) {
        SendError(r, 400, "invalid_argument", "send either text or content, not both");
        return std::nullopt;
      }
      auto parsed = channels::ParseContentParts(content, UploadLimits());
      if (!parsed.ok()) {
        SendUploadError(r, parsed.status());
        return std::nullopt;
      }
      if (!parsed->text.empty() || (parsed->images.empty() && parsed->audio.empty())) in.text = parsed->text;
      in.uploads = std::move(parsed->images);
      in.audio = std::move(parsed->audio);
    }
    if (in.uploads.empty() && in.audio.empty() && OverPlainLimit(req)) {
      SendTooLarge(r);
      return std::nullopt;
    }
    return in;
  }

  void PostMessage(Request req, Responder r) {
    auto in = ParseIncoming(req, r);
    if (!in) return;
    const auto owner = AuthConversationOwner(req, r);
    if (!owner) return;
    const std::string& conversation_id = req.path_params.at("id");
    if (!IdChars(in->client_msg_id, 64))
      return SendError(r, 400, "invalid_argument",
                       "client_msg_id is required: 1-64 characters of letters, digits and - _ . : @");
    // A message with pictures or audio may have no text; a text-only message needs it.
    std::string text;
    const bool media = !in->uploads.empty() || !in->audio.empty();
    if (!media || !(in->text.is_null() || (in->text.is_string() && in->text.get_ref<const std::string&>().empty()))) {
      auto clean = CleanText(in->text);
      if (!clean.ok()) return SendStatus(r, clean.status());
      text = std::move(*clean);
    }
    bool wait = true;
    if (auto it = req.query.find("wait"); it != req.query.end()) wait = it->second != "false" && it->second != "0";

    struct State {  // the accepted message as the customer sees it (not its routing trace)
      json message;
      bool duplicate = false;
    };
    auto state = std::make_shared<State>();
    dialogue::PostCallbacks cb;
    cb.on_accepted = [r, state, wait](const Result<dialogue::AppendResult>& a) {
      if (!a.ok()) return SendTurnRefused(r, a.status());
      if (!wait) return SendJson(r, 202, {{"message", a->message.CustomerJson()}, {"duplicate", a->duplicate}});
      state->message = a->message.CustomerJson();
      state->duplicate = a->duplicate;
    };
    cb.on_reply = [r, state, wait](const Result<dialogue::Message>& reply) {
      if (!wait) return;
      if (!reply.ok()) return SendStatus(r, reply.status());
      // A conversation served by a human agent gets no automatic reply (id 0).
      SendJson(r, 200,
               {{"message", std::move(state->message)},
                {"reply", reply->id ? reply->CustomerJson() : json(nullptr)},
                {"duplicate", state->duplicate}});
    };
    if (!in->audio.empty()) {
      if (!in->uploads.empty())
        return SendError(r, 400, "invalid_argument", "send pictures and audio in separate messages");
      return PostSpoken(std::move(*in), std::move(text), *owner, conversation_id, std::move(cb), r);
    }
    if (in->uploads.empty()) {
      d_.service.Post(*owner, conversation_id, in->client_msg_id, text, std::move(cb));
      return;
    }
    if (!d_.pictures)
      return SendError(r, 415, "unsupported_media_type", "this server does not accept pictures");
    // Decoding, storing and reading the pictures is slow: a worker does it,
    // then the turn is queued as usual.
    auto job = std::make_shared<Incoming>(std::move(*in));
    auto shared_cb = std::make_shared<dialogue::PostCallbacks>(std::move(cb));
    const std::string tenant = *owner, cid = conversation_id;
    bool queued = d_.workers.Submit([this, job, shared_cb, tenant, cid, text, r] {
      auto taken = d_.pictures->Take(tenant, cid, job->uploads);
      if (!taken.ok()) return SendUploadError(r, taken.status());
      std::vector<dialogue::MessagePart> parts;
      if (!text.empty()) parts.push_back(dialogue::MessagePart::Text(text));
      for (auto& p : taken->parts) parts.push_back(std::move(p));
      d_.service.Post(tenant, cid, job->client_msg_id, text, std::move(*shared_cb), std::move(parts),
                      std::move(taken->attachments));
    });
    if (!queued) SendError(r, 503, "unavailable", "server is shutting down");
  }

  // A message with an input_audio part (a WAV): on a voice worker, decode it,
  // recognise it, keep the recording, then queue the turn as the voice socket
  // does (the transcript is the message text unless the customer typed some).
  void PostSpoken(Incoming in, std::string text, std::string tenant, std::string cid, dialogue::PostCallbacks cb,
                  const Responder& r) {
    const VoiceDeps* v = d_.voice;
    if (!v || !v->asr || !v->workers)
      return SendError(r, 415, "unsupported_media_type", "this server does not accept audio (no speech recognition)");
    auto job = std::make_shared<Incoming>(std::move(in));
    auto shared_cb = std::make_shared<dialogue::PostCallbacks>(std::move(cb));
    bool queued = v->workers->Submit([this, v, job, shared_cb, tenant, cid, text, r] {
      voice::AudioLimits limits;
      limits.max_seconds = v->config.max_utterance_ms / 1000.0;
      auto pcm = voice::DecodeWav(job->audio[0].bytes, limits);
      if (!pcm.ok()) return SendError(r, 400, "invalid_argument", "the audio cannot be read: " + pcm.status().message());
      auto at16 = voice::Resample(*pcm, voice::kAsrSampleRate);
      if (!at16.ok()) return SendStatus(r, at16.status());
      auto heard = v->asr->Transcribe(*at16, {v->asr_language});
      if (!heard.ok()) return SendStatus(r, heard.status());
      std::string said = heard->text;
      while (!said.empty() && std::isspace(static_cast<unsigned char>(said.back()))) said.pop_back();
      said.erase(0, std::min(said.size(), said.find_first_not_of(" \t\r\n")));
      if (said.empty() && text.empty())
        return SendError(r, 400, "invalid_argument", "no speech was recognised in the audio");
      std::vector<dialogue::MessagePart> parts;
      std::vector<dialogue::Attachment> attachments;
      if (!text.empty()) parts.push_back(dialogue::MessagePart::Text(text));
      if (v->blobs) {
        auto wav = voice::EncodeWav(*at16);
        if (!wav.ok()) return SendStatus(r, wav.status());
        auto taken = channels::TakeUtterance(*v->blobs, tenant, cid, *wav,
                                             static_cast<int64_t>(at16->seconds() * 1000), said);
        if (!taken.ok()) return SendStatus(r, taken.status());
        for (auto& p : taken->parts) parts.push_back(std::move(p));
        attachments = std::move(taken->attachments);
      }
      d_.service.Post(tenant, cid, job->client_msg_id, text.empty() ? said : text, std::move(*shared_cb),
                      std::move(parts), std::move(attachments), dialogue::VoiceSignal{});
    });
    if (!queued) SendError(r, 503, "unavailable", "server is shutting down");
  }

  // GET /v1/conversations/{id}/attachments/{attachment}[?thumbnail=1]: a
  // picture of this conversation (the conversation id is the customer's
  // capability, the attachment id is 128 random bits; another conversation's
  // attachment is 404). Served as stored: EXIF-stripped, sniffed type.
  void GetAttachment(Request req, Responder r) {
    auto c = AuthConversation(req, r);
    if (!c) return;
    if (!d_.pictures) return SendError(r, 404, "not_found", "attachment does not exist");
    const std::string aid = req.path_params.at("attachment");
    if (!IdChars(aid, 64)) return SendError(r, 404, "not_found", "attachment does not exist");
    bool thumb = false;
    if (auto it = req.query.find("thumbnail"); it != req.query.end()) thumb = it->second == "1" || it->second == "true";
    const std::string cid = c->id;
    bool queued = d_.workers.Submit([this, cid, aid, thumb, r] {
      auto a = d_.store.FindAttachment(cid, aid);
      if (!a.ok()) return SendStatus(r, a.status());
      const std::string& key = thumb && !a->thumb_key.empty() ? a->thumb_key : a->blob_key;
      auto bytes = d_.pictures->blobs().Get(a->tenant_id, key);
      if (!bytes.ok()) return SendStatus(r, bytes.status());
      Response resp;
      resp.content_type = thumb && !a->thumb_key.empty() ? "image/jpeg" : a->mime;
      resp.body = std::move(*bytes);
      resp.headers.emplace_back("Cache-Control", "private, max-age=86400");
      resp.headers.emplace_back("X-Content-Type-Options", "nosniff");
      resp.headers.emplace_back("Content-Disposition", "inline");
      r.Send(std::move(resp));
    });
    if (!queued) SendError(r, 503, "unavailable", "server is shutting down");
  }

  void ListMessages(const Request& req, const Responder& r) {
    auto after = QueryInt(req, r, "after_seq", 0, 0, INT64_MAX);
    if (!after) return;
    auto limit = QueryInt(req, r, "limit", 100, 1, 500);
    if (!limit) return;
    auto c = AuthConversation(req, r);
    if (!c) return;
    auto msgs = d_.store.List(c->id, *after, static_cast<int>(*limit));
    if (!msgs.ok()) return SendStatus(r, msgs.status());
    json arr = json::array();
    for (auto& m : *msgs) arr.push_back(m.CustomerJson());
    SendJson(r, 200, {{"messages", arr}});
  }

  void Close(const Request& req, const Responder& r) {
    auto c = AuthConversation(req, r);
    if (!c) return;
    auto closed = d_.service.Close(c->tenant_id, c->id);
    if (!closed.ok()) return SendStatus(r, closed.status());
    SendJson(r, 200, closed->ToJson());
  }

  Result<dialogue::Conversation> ConversationFor(const Request& req) {
    KEFU_ASSIGN_OR_RETURN(Tenant t, d_.tenants.ByWidgetKey(WidgetKeyOf(req)));
    const std::string& id = req.path_params.at("id");
    if (!IdChars(id, 64)) return NotFound("conversation does not exist");
    return d_.service.Get(t.id, id);
  }

  Result<int64_t> AfterSeq(const Request& req) {
    auto it = req.query.find("after_seq");
    if (it == req.query.end() || it->second.empty()) return int64_t{0};
    auto v = ParseInt(it->second);
    if (!v || *v < 0) return InvalidArgument("after_seq must be a non-negative integer");
    return *v;
  }

  Result<http::WsHandlers> AcceptWs(const Request& req) {
    KEFU_ASSIGN_OR_RETURN(dialogue::Conversation conv, ConversationFor(req));
    KEFU_ASSIGN_OR_RETURN(int64_t after_seq, AfterSeq(req));
    struct Session {
      std::shared_ptr<WsSubscriber> sub;
      uint64_t token = 0;
    };
    auto session = std::make_shared<Session>();
    std::string cid = conv.id, tenant = conv.tenant_id, customer = conv.customer_id;
    http::WsHandlers h;
    h.on_open = [this, session, cid, tenant, customer, after_seq](std::shared_ptr<http::WsConnection> conn) {
      session->sub = std::make_shared<WsSubscriber>(conn);
      // Subscribe first, then replay: a message stored in between arrives
      // twice at worst, and the client dedupes by seq.
      session->token = d_.hub.Subscribe(cid, session->sub, tenant, customer);
      auto msgs = d_.store.List(cid, after_seq, 10000);
      if (msgs.ok())
        for (auto& m : *msgs) session->sub->OnMessage(m);
    };
    h.on_message = [this, session, cid, tenant](std::shared_ptr<http::WsConnection> conn, std::string&& text) {
      auto send = [conn](const json& j) { conn->Send(DumpJson(j)); };
      if (JsonNestingDepth(text) > kMaxJsonDepth)
        return send(ErrorFrame("invalid_argument",
                               "frame is nested deeper than " + std::to_string(kMaxJsonDepth) + " levels"));
      json j = json::parse(text, nullptr, false);
      if (j.is_discarded() || !j.is_object())
        return send(ErrorFrame("invalid_json", "each frame must be a JSON object"));
      std::string type = j.value("type", "");
      if (type == "ping") return send({{"type", "pong"}});
      if (type != "message") return send(ErrorFrame("invalid_argument", "type must be message or ping"));
      const json& cmid = Field(j, "client_msg_id");
      if (!cmid.is_string() || !IdChars(cmid.get<std::string>(), 64))
        return send(ErrorFrame("invalid_argument", "client_msg_id is required: 1-64 of letters, digits, - _ . : @"));
      auto clean = CleanText(Field(j, "text"));
      if (!clean.ok()) {
        json f = ErrorFrame(ErrorCodeName(clean.status().code()), clean.status().message());
        f["client_msg_id"] = cmid;
        return send(f);
      }
      std::string id = cmid;
      dialogue::PostCallbacks cb;
      cb.on_accepted = [send, id](const Result<dialogue::AppendResult>& a) {
        if (!a.ok()) {
          const bool busy = dialogue::IsLeaseBusy(a.status());
          json f = ErrorFrame(busy ? "conversation_busy" : ErrorCodeName(a.status().code()), a.status().message());
          f["client_msg_id"] = id;
          if (busy || a.status().code() == ErrorCode::kUnavailable)
            f["retry_after_ms"] = busy ? dialogue::LeaseRetryAfterSeconds(a.status()) * 1000 : 1000;
          return send(f);
        }
        send({{"type", "ack"}, {"client_msg_id", id}, {"message", a->message.CustomerJson()}, {"duplicate", a->duplicate}});
        // A retried message: resend its stored reply so the client has it.
        if (a->duplicate && a->reply) send({{"type", "message"}, {"message", a->reply->CustomerJson()}});
      };
      cb.on_reply = [send, id](const Result<dialogue::Message>& reply) {
        // New replies reach every subscriber through the hub; only failures
        // are reported here.
        if (!reply.ok()) {
          json f = ErrorFrame(ErrorCodeName(reply.status().code()), reply.status().message());
          f["client_msg_id"] = id;
          send(f);
        }
      };
      d_.service.Post(tenant, cid, id, *clean, std::move(cb));
    };
    h.on_close = [this, session, cid](std::shared_ptr<http::WsConnection>) {
      if (session->token) d_.hub.Unsubscribe(cid, session->token);
      session->sub.reset();
    };
    return h;
  }

  // The voice channel (docs/voice.md): authenticated exactly like the text socket.
  Result<http::WsHandlers> AcceptVoice(const Request& req) {
    KEFU_ASSIGN_OR_RETURN(dialogue::Conversation conv, ConversationFor(req));
    KEFU_ASSIGN_OR_RETURN(int64_t after_seq, AfterSeq(req));
    if (!voice_) return Unavailable("voice calls are not configured on this server");
    return voice_->Accept(conv, after_seq);
  }

  Result<std::function<void(std::shared_ptr<http::SseStream>)>> AcceptSse(const Request& req) {
    KEFU_ASSIGN_OR_RETURN(dialogue::Conversation conv, ConversationFor(req));
    KEFU_ASSIGN_OR_RETURN(int64_t after_seq, AfterSeq(req));
    std::string cid = conv.id, tenant = conv.tenant_id, customer = conv.customer_id;
    return std::function<void(std::shared_ptr<http::SseStream>)>(
        [this, cid, tenant, customer, after_seq](std::shared_ptr<http::SseStream> stream) {
          auto sub = std::make_shared<SseSubscriber>(stream);
          uint64_t token = d_.hub.Subscribe(cid, sub, tenant, customer);
          auto msgs = d_.store.List(cid, after_seq, 10000);
          if (msgs.ok())
            for (auto& m : *msgs) sub->OnMessage(m);
          stream->OnClose([this, cid, token, sub]() mutable {
            d_.hub.Unsubscribe(cid, token);
            sub.reset();
          });
        });
  }

  // --- admin ---

  std::optional<Tenant> AdminAuth(const Request& req, const Responder& r) {
    auto t = d_.tenants.ByApiKey(Bearer(req));
    if (!t.ok()) {
      SendStatus(r, t.status());
      return std::nullopt;
    }
    return *t;
  }

  static json PassageJson(const knowledge::Passage& p) {
    return {{"id", p.id},       {"title", p.title}, {"text", p.text},
            {"category", p.category}, {"score", p.score}, {"confidence", p.confidence}};
  }

  static json EntryJson(const knowledge::KbEntry& e) {
    return {{"id", e.id},         {"title", e.title},         {"body", e.body},         {"category", e.category},
            {"questions", e.questions}, {"source", e.source}, {"updated_ms", e.updated_ms}};
  }

  void KbSearch(const Request& req, const Responder& r) {
    auto t = AdminAuth(req, r);
    if (!t) return;
    auto q = req.query.find("q");
    if (q == req.query.end() || utf8::Trim(q->second).empty())
      return SendError(r, 400, "invalid_argument", "q is required");
    if (!utf8::IsValid(q->second)) return SendError(r, 400, "invalid_utf8", "q is not valid UTF-8");
    auto k = QueryInt(req, r, "top_k", 5, 1, 50);
    if (!k) return;
    json arr = json::array();
    for (const auto& p : d_.kb.Search(t->id, q->second, static_cast<int>(*k))) arr.push_back(PassageJson(p));
    SendJson(r, 200, {{"passages", arr}});
  }

  void KbImport(Request req, Responder r) {
    auto t = AdminAuth(req, r);
    if (!t) return;
    auto f = req.query.find("format");
    std::string fmt = f == req.query.end() ? "" : f->second;
    knowledge::Format format;
    if (fmt == "md" || fmt == "markdown") format = knowledge::Format::kMarkdown;
    else if (fmt == "csv") format = knowledge::Format::kCsv;
    else if (fmt == "json") format = knowledge::Format::kJson;
    else return SendError(r, 400, "invalid_argument", "format must be md, csv or json");
    if (!utf8::IsValid(req.body))
      return SendError(r, 400, "invalid_utf8",
                       "file is not valid UTF-8 (byte " + std::to_string(utf8::FirstInvalid(req.body)) + ")");
    auto body = std::make_shared<std::string>(std::move(req.body));
    std::string tenant = t->id;
    bool queued = d_.workers.Submit([this, r, body, tenant, format] {
      auto report = d_.kb.Import(tenant, format, *body, "api");
      if (!report.ok()) return SendStatus(r, report.status());
      json errors = json::array();
      for (auto& e : report->errors) errors.push_back({{"line", e.line}, {"reason", e.reason}});
      log::Info("kb_import", {{"tenant_id", tenant}, {"imported", report->imported}, {"updated", report->updated},
                              {"errors", report->errors.size()}});
      SendJson(r, 200, {{"imported", report->imported}, {"updated", report->updated},
                        {"unchanged", report->unchanged}, {"errors", errors}});
    });
    if (!queued) SendError(r, 503, "unavailable", "server is shutting down");
  }

  void KbGet(const Request& req, const Responder& r) {
    auto t = AdminAuth(req, r);
    if (!t) return;
    auto e = d_.kb.Get(t->id, req.path_params.at("id"));
    if (!e.ok()) return SendStatus(r, e.status());
    SendJson(r, 200, EntryJson(*e));
  }

  void KbPut(const Request& req, const Responder& r) {
    auto t = AdminAuth(req, r);
    if (!t) return;
    auto body = ParseBody(req, r);
    if (!body) return;
    knowledge::KbEntry e;
    e.id = req.path_params.at("id");
    if (!IdChars(e.id, 128)) return SendError(r, 400, "invalid_argument", "entry id: 1-128 of letters, digits, - _ . : @");
    const json& title = Field(*body, "title");
    const json& text = Field(*body, "body");
    if (!title.is_string() || utf8::Trim(title.get<std::string>()).empty())
      return SendError(r, 400, "invalid_argument", "title is required");
    if (!text.is_string() || utf8::Trim(text.get<std::string>()).empty())
      return SendError(r, 400, "invalid_argument", "body is required");
    e.title = title;
    e.body = text;
    if (body->contains("category")) {
      if (!(*body)["category"].is_string()) return SendError(r, 400, "invalid_argument", "category must be a string");
      e.category = (*body)["category"];
    }
    if (body->contains("questions")) {
      const auto& qs = (*body)["questions"];
      if (!qs.is_array()) return SendError(r, 400, "invalid_argument", "questions must be an array of strings");
      for (const auto& q : qs) {
        if (!q.is_string()) return SendError(r, 400, "invalid_argument", "questions must be an array of strings");
        e.questions.push_back(q);
      }
    }
    e.source = "api";
    Status s = d_.kb.Upsert(t->id, e);
    if (!s.ok()) return SendStatus(r, s);
    auto stored = d_.kb.Get(t->id, e.id);
    SendJson(r, 200, stored.ok() ? EntryJson(*stored) : EntryJson(e));
  }

  void KbDelete(const Request& req, const Responder& r) {
    auto t = AdminAuth(req, r);
    if (!t) return;
    Status s = d_.kb.Remove(t->id, req.path_params.at("id"));
    if (!s.ok()) return SendStatus(r, s);
    SendJson(r, 200, {{"removed", req.path_params.at("id")}});
  }

  void ToolsList(const Request& req, const Responder& r) {
    auto t = AdminAuth(req, r);
    if (!t) return;
    json arr = json::array();
    for (const tools::Tool* tool : d_.tools.List())
      arr.push_back({{"name", tool->Name()}, {"description", tool->Description()}, {"parameters", tool->Parameters()}});
    SendJson(r, 200, {{"tools", arr}});
  }

  void ToolsCall(Request req, Responder r) {
    auto t = AdminAuth(req, r);
    if (!t) return;
    json args = json::object();
    if (!utf8::Trim(req.body).empty()) {
      auto body = ParseBody(req, r);
      if (!body) return;
      args = std::move(*body);
    }
    tools::ToolContext ctx;
    ctx.tenant_id = t->id;
    ctx.is_operator = true;
    if (auto it = req.query.find("customer_id"); it != req.query.end()) ctx.customer_id = it->second;
    std::string name = req.path_params.at("name");
    bool queued = d_.workers.Submit([this, r, ctx, name, args] {
      auto res = d_.tools.Call(ctx, name, args);
      if (!res.ok()) return SendStatus(r, res.status());
      SendJson(r, 200, *res);
    });
    if (!queued) SendError(r, 503, "unavailable", "server is shutting down");
  }

  ApiDeps d_;
  std::atomic<int64_t> last_probe_ms_{0};  // steady ms of the latest health probe (GET /healthz)
  WidgetConfigFn widget_config_;
  std::unique_ptr<VoiceSockets> voice_;  // null: no voice channel
};

}  // namespace

std::unique_ptr<ApiRoutes> RegisterRoutes(http::Server& server, const ApiDeps& deps, WidgetConfigFn widget_config) {
  auto routes = std::make_unique<Routes>(deps, std::move(widget_config));
  routes->Register(server);
  return routes;
}

}  // namespace kefu::api
