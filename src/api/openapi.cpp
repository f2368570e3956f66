#include "api/openapi.h"

#include "api/openapi_util.h"

#include <map>
#include <mutex>

namespace kefu::api {
namespace {

using nlohmann::json;
using namespace openapi;  // NOLINT(google-build-using-namespace): the builders

json Build() {
  const json widget = json::array({{{"widgetKey", json::array()}}});
  const json admin = json::array({{{"apiKey", json::array()}}});
  const json conv_id = PathParam("id", "Conversation id");

  json schemas = {
      {"Error",
       {{"type", "object"},
        {"required", {"error"}},
        {"properties",
         {{"error",
           {{"type", "object"},
            {"required", {"code", "message"}},
            {"properties", {{"code", {{"type", "string"}}}, {"message", {{"type", "string"}}}}}}}}}}},
      {"Conversation",
       {{"type", "object"},
        {"properties",
         {{"id", {{"type", "string"}}},
          {"tenant_id", {{"type", "string"}}},
          {"customer_id", {{"type", "string"}}},
          {"channel", {{"type", "string"}}},
          {"status", {{"type", "string"}, {"enum", {"open", "closed"}}}},
          {"created_ms", {{"type", "integer"}}},
          {"updated_ms", {{"type", "integer"}}}}}}},
      {"Message",
       {{"type", "object"},
        {"properties",
         {{"id", {{"type", "integer"}}},
          {"conversation_id", {{"type", "string"}}},
          {"seq", {{"type", "integer"}}},
          {"role", {{"type", "string"}, {"enum", {"customer", "bot", "agent", "system"}}}},
          {"text", {{"type", "string"}}},
          {"client_msg_id", {{"type", "string"}, {"nullable", true}}},
          {"reply_to", {{"type", "integer"}, {"nullable", true}}},
          {"created_ms", {{"type", "integer"}}},
          {"meta", {{"type", "object"}}},
          {"parts", {{"type", "array"}, {"items", Ref("MessagePart")}}}}}}},
      {"MessagePart",
       {{"type", "object"},
        {"description",
         "A typed part of a message (present only on messages with pictures): text (what the customer typed), "
         "image (an attachment: GET /v1/conversations/{id}/attachments/{attachment_id}), transcript (text read "
         "from an image: source ocr, qr or barcode; the turn reads it as the customer's words)"},
        {"required", {"type"}},
        {"properties",
         {{"type", {{"type", "string"}, {"enum", {"text", "image", "audio", "transcript"}}}},
          {"text", {{"type", "string"}}},
          {"attachment_id", {{"type", "string"}}},
          {"mime", {{"type", "string"}}},
          {"bytes", {{"type", "integer"}}},
          {"width", {{"type", "integer"}}},
          {"height", {{"type", "integer"}}},
          {"thumbnail", {{"type", "boolean"}}},
          {"source", {{"type", "string"}, {"enum", {"ocr", "qr", "barcode", "vision"}}}}}}}},
      {"ContentPart",
       {{"type", "object"},
        {"description",
         "An OpenAI chat content part: {\"type\":\"text\",\"text\":...} or {\"type\":\"image_url\","
         "\"image_url\":{\"url\":\"data:image/png;base64,...\"}} (data: URLs only; JPEG, PNG, WebP, HEIC)"},
        {"required", {"type"}},
        {"properties",
         {{"type", {{"type", "string"}, {"enum", {"text", "image_url"}}}},
          {"text", {{"type", "string"}}},
          {"image_url", {{"type", "object"}, {"properties", {{"url", {{"type", "string"}}}}}}}}}}},
      {"NewConversation",
       {{"type", "object"},
        {"description",
         "customer_token (a signed customer token from the shop's backend: the conversation is verified), or "
         "customer_id, or identity (data hub: resolved to the customer, created on first contact). Through the "
         "widget key a customer_id or identity is only a claim: unless the server trusts claims "
         "([dialogue] require_verified_customer = false) the order tools answer nothing about that customer's "
         "orders; with the tenant's API key the caller vouches for the customer (verified)"},
        {"properties",
         {{"customer_token", {{"type", "string"}}},
          {"customer_id", {{"type", "string"}, {"maxLength", 64}}},
          {"identity",
           {{"type", "object"},
            {"properties",
             {{"kind",
               {{"type", "string"},
                {"enum", {"phone", "email", "app_user_id", "wechat_openid", "wechat_unionid", "device_id", "loyalty_no"}}}},
              {"value", {{"type", "string"}}}}}}},
          {"channel", {{"type", "string"}, {"enum", {"web", "app", "api", "voice", "phone"}}}},
          {"widget_key", {{"type", "string"}}}}}}},
      {"NewMessage",
       {{"type", "object"},
        {"description", "text, or content (OpenAI content parts: text and pictures), not both"},
        {"required", {"client_msg_id"}},
        {"properties",
         {{"client_msg_id", {{"type", "string"}, {"maxLength", 64}}},
          {"text", {{"type", "string"}, {"maxLength", 4000}}},
          {"content", {{"type", "array"}, {"items", Ref("ContentPart")}}}}}}},
      {"NewMessageUpload",
       {{"type", "object"},
        {"description", "multipart/form-data: client_msg_id, optional text, and picture files (any field with a "
                        "filename, or named image)"},
        {"required", {"client_msg_id"}},
        {"properties",
         {{"client_msg_id", {{"type", "string"}}},
          {"text", {{"type", "string"}}},
          {"image", {{"type", "string"}, {"format", "binary"}}}}}}},
      {"PostMessageResult",
       {{"type", "object"},
        {"properties", {{"message", Ref("Message")}, {"reply", Ref("Message")}, {"duplicate", {{"type", "boolean"}}}}}}},
      {"Passage",
       {{"type", "object"},
        {"properties",
         {{"id", {{"type", "string"}}},
          {"title", {{"type", "string"}}},
          {"text", {{"type", "string"}}},
          {"category", {{"type", "string"}}},
          {"score", {{"type", "number"}}},
          {"confidence", {{"type", "number"}}}}}}},
      {"KbEntry",
       {{"type", "object"},
        {"required", {"title", "body"}},
        {"properties",
         {{"title", {{"type", "string"}}},
          {"body", {{"type", "string"}}},
          {"category", {{"type", "string"}}},
          {"questions", {{"type", "array"}, {"items", {{"type", "string"}}}}}}}}},
      {"ImportReport",
       {{"type", "object"},
        {"properties",
         {{"imported", {{"type", "integer"}}},
          {"updated", {{"type", "integer"}}},
          {"unchanged", {{"type", "integer"}}},
          {"errors",
           {{"type", "array"},
            {"items",
             {{"type", "object"},
              {"properties", {{"line", {{"type", "integer"}}}, {"reason", {{"type", "string"}}}}}}}}}}}}},
  };

  json paths = json::object();
  paths["/healthz"]["get"] =
      Op("Health: 503 while the storage fails (the body names the failure), until a write succeeds again; 200 "
         "\"degraded\" while the event bus cannot reach its Redis (the node still serves its own connections)",
         "operations",
         {{"200", JsonResponse("OK: {\"status\":\"ok\",\"storage\":{\"ok\":true},\"bus\":{\"ok\":true,\"engine\",\"node_id\",...}}; "
                               "or {\"status\":\"degraded\",...,\"bus\":{\"ok\":false,\"error\",\"down\",\"since_ms\",...}}",
                               {{"type", "object"}})},
          {"503", JsonResponse("Unhealthy: {\"status\":\"unhealthy\",\"storage\":{\"ok\":false,\"engine\",\"error\",\"code\",\"sqlite_code\",...},"
                               "\"bus\":{...}}",
                               {{"type", "object"}})}});
  paths["/metrics"]["get"] =
      Op("Prometheus metrics (Authorization: Bearer <server.metrics_token> when one is configured)", "operations",
         Merge({{"200", {{"description", "Prometheus text format"}, {"content", {{"text/plain", {{"schema", {{"type", "string"}}}}}}}}}},
               ErrorResponses({"401"})));
  paths["/openapi.json"]["get"] = Op("This document", "operations", {{"200", JsonResponse("OpenAPI 3", {{"type", "object"}})}});
  paths["/v1/widget/config"]["get"] =
      Op("Chat widget configuration of the tenant", "conversations",
         Merge({{"200", JsonResponse("Tenant name, greeting, quick questions", {{"type", "object"}})}},
               ErrorResponses({"401"})),
         json::array({QueryParam("widget_key", "string", "Alternative to the X-Kefu-Widget-Key header")}), nullptr, widget);
  paths["/v1/conversations"]["post"] =
      Op("Start a conversation (widget key: the customer is claimed unless a customer_token proves it; "
         "API key: a server-side caller vouches for it)",
         "conversations",
         Merge({{"201", JsonResponse("Created", Ref("Conversation"))}}, ErrorResponses({"400", "401", "413"})),
         json::array(), JsonBody(Ref("NewConversation")),
         json::array({{{"widgetKey", json::array()}}, {{"apiKey", json::array()}}}));
  paths["/v1/conversations/{id}"]["get"] =
      Op("Get a conversation", "conversations",
         Merge({{"200", JsonResponse("The conversation", Ref("Conversation"))}}, ErrorResponses({"401", "404"})),
         json::array({conv_id}), nullptr, widget);
  paths["/v1/conversations/{id}/messages"]["post"] = Op(
      "Post a customer message; returns the bot's reply (idempotent by client_msg_id)", "conversations",
      Merge({{"200", JsonResponse("Stored message and the reply", Ref("PostMessageResult"))},
             {"202", JsonResponse("Stored; the reply follows on WebSocket/SSE (wait=false)", Ref("PostMessageResult"))}},
            ErrorResponses({"400", "401", "404", "409", "413", "415", "503"})),
      json::array({conv_id, QueryParam("wait", "boolean", "false: answer 202 as soon as the message is stored")}),
      json{{"required", true},
           {"content",
            {{"application/json", {{"schema", Ref("NewMessage")}}},
             {"multipart/form-data", {{"schema", Ref("NewMessageUpload")}}}}}},
      widget);
  paths["/v1/conversations/{id}/attachments/{attachment}"]["get"] = Op(
      "A picture of this conversation (as stored: metadata stripped); thumbnail=1 for the JPEG thumbnail",
      "conversations",
      Merge({{"200", {{"description", "The picture"},
                      {"content", {{"image/*", {{"schema", {{"type", "string"}, {"format", "binary"}}}}}}}}}},
            ErrorResponses({"401", "404"})),
      json::array({conv_id, PathParam("attachment", "Attachment id (a message part's attachment_id)"),
                   QueryParam("thumbnail", "boolean", "true: the thumbnail (JPEG)")}),
      nullptr, widget);
  paths["/v1/conversations/{id}/messages"]["get"] =
      Op("List messages in seq order", "conversations",
         Merge({{"200", JsonResponse("Messages", {{"type", "object"},
                                                  {"properties", {{"messages", {{"type", "array"}, {"items", Ref("Message")}}}}}})}},
               ErrorResponses({"400", "401", "404"})),
         json::array({conv_id, QueryParam("after_seq", "integer", "Only messages with a larger seq"),
                      QueryParam("limit", "integer", "At most this many (1..500, default 100)")}),
         nullptr, widget);
  paths["/v1/conversations/{id}/close"]["post"] =
      Op("Close a conversation", "conversations",
         Merge({{"200", JsonResponse("Closed conversation", Ref("Conversation"))}}, ErrorResponses({"401", "404"})),
         json::array({conv_id}), nullptr, widget);
  paths["/v1/conversations/{id}/events"]["get"] = Op(
      "Server-sent events: stored messages after after_seq, then live messages and reply deltas", "conversations",
      Merge({{"200", {{"description", "text/event-stream"}, {"content", {{"text/event-stream", {{"schema", {{"type", "string"}}}}}}}}}},
            ErrorResponses({"401", "404"})),
      json::array({conv_id, QueryParam("after_seq", "integer", "Replay messages after this seq")}), nullptr, widget);
  paths["/v1/conversations/{id}/ws"]["get"] = Op(
      "WebSocket (upgrade): send {type:message, client_msg_id, text}; receive ack, delta, message, error frames",
      "conversations",
      Merge({{"101", {{"description", "Switching protocols"}}}}, ErrorResponses({"400", "401", "404"})),
      json::array({conv_id, QueryParam("after_seq", "integer", "Replay messages after this seq"),
                   QueryParam("widget_key", "string", "Tenant widget key (browsers cannot set headers)")}),
      nullptr, widget);
  paths["/v1/conversations/{id}/voice"]["get"] = Op(
      "Voice call (WebSocket upgrade; docs/voice.md): first a text frame {type:start, format:pcm16|opus, "
      "sample_rate, tts}, then binary audio frames (<= 64 KiB each) and text frames end_of_turn, playback, text, ping; "
      "receive ready, speech_started, transcript, no_speech, the conversation's message/delta/closed frames, "
      "audio_start + binary pcm16 + audio_end per reply sentence, barge_in, error. 503 when no speech recognition "
      "is configured or too many calls are open",
      "conversations",
      Merge({{"101", {{"description", "Switching protocols"}}}}, ErrorResponses({"400", "401", "404", "503"})),
      json::array({conv_id, QueryParam("after_seq", "integer", "Replay messages after this seq"),
                   QueryParam("widget_key", "string", "Tenant widget key (browsers cannot set headers)")}),
      nullptr, widget);
  paths["/v1/kb/search"]["get"] =
      Op("Search the knowledge base", "knowledge",
         Merge({{"200", JsonResponse("Passages, best first",
                                     {{"type", "object"},
                                      {"properties", {{"passages", {{"type", "array"}, {"items", Ref("Passage")}}}}}})}},
               ErrorResponses({"400", "401"})),
         json::array({QueryParam("q", "string", "Query", true), QueryParam("top_k", "integer", "1..50, default 5")}),
         nullptr, admin);
  paths["/v1/kb/import"]["post"] =
      Op("Import FAQ/articles (Markdown, CSV or JSON); good rows are committed, bad rows reported", "knowledge",
         Merge({{"200", JsonResponse("Import report", Ref("ImportReport"))}}, ErrorResponses({"400", "401", "413"})),
         json::array({QueryParam("format", "string", "md | csv | json", true)}),
         json{{"required", true},
              {"content",
               {{"text/markdown", {{"schema", {{"type", "string"}}}}},
                {"text/csv", {{"schema", {{"type", "string"}}}}},
                {"application/json", {{"schema", {{"type", "object"}}}}}}}},
         admin);
  paths["/v1/kb/entries/{id}"]["get"] =
      Op("Get one knowledge entry", "knowledge",
         Merge({{"200", JsonResponse("Entry", Ref("KbEntry"))}}, ErrorResponses({"401", "404"})),
         json::array({PathParam("id", "Entry id")}), nullptr, admin);
  paths["/v1/kb/entries/{id}"]["put"] =
      Op("Create or replace one knowledge entry (live, no restart)", "knowledge",
         Merge({{"200", JsonResponse("Entry", Ref("KbEntry"))}}, ErrorResponses({"400", "401"})),
         json::array({PathParam("id", "Entry id")}), JsonBody(Ref("KbEntry")), admin);
  paths["/v1/kb/entries/{id}"]["delete"] =
      Op("Remove one knowledge entry", "knowledge",
         Merge({{"200", JsonResponse("Removed", {{"type", "object"}})}}, ErrorResponses({"401", "404"})),
         json::array({PathParam("id", "Entry id")}), nullptr, admin);
  paths["/v1/tools"]["get"] =
      Op("Business tools with JSON-schema parameters", "tools",
         Merge({{"200", JsonResponse("Tools", {{"type", "object"}})}}, ErrorResponses({"401"})), json::array(), nullptr,
         admin);
  paths["/v1/tools/{name}"]["post"] =
      Op("Invoke a tool (arguments validated against its schema)", "tools",
         Merge({{"200", JsonResponse("Tool result", {{"type", "object"}})}}, ErrorResponses({"400", "401", "404"})),
         json::array({PathParam("name", "Tool name"),
                      QueryParam("customer_id", "string", "Act on behalf of this customer")}),
         JsonBody({{"type", "object"}}), admin);

  return {{"openapi", "3.0.3"},
          {"info",
           {{"title", "kefu API"},
            {"version", "0.1.0"},
            {"description", "Self-hosted LLM customer-service engine. Errors always have the Error shape."}}},
          {"paths", paths},
          {"components",
           {{"schemas", schemas},
            {"securitySchemes",
             {{"widgetKey", {{"type", "apiKey"}, {"in", "header"}, {"name", "X-Kefu-Widget-Key"}}},
              {"apiKey", {{"type", "http"}, {"scheme", "bearer"}}}}}}}};
}

}  // namespace

struct Fragments {
  std::mutex mu;
  std::map<std::string, OpenApiFragment> by_name;  // GUARDED_BY(mu)
};

Fragments& AllFragments() {
  static Fragments f;
  return f;
}

void RegisterOpenApiFragment(const std::string& name, OpenApiFragment fragment) {
  Fragments& f = AllFragments();
  std::lock_guard lock(f.mu);
  f.by_name[name] = std::move(fragment);
}

json OpenApiDocument() {
  static const json core = Build();
  json doc = core;
  Fragments& f = AllFragments();
  std::lock_guard lock(f.mu);
  for (auto& [name, fragment] : f.by_name) fragment(doc["paths"], doc["components"]["schemas"]);
  return doc;
}

}  // namespace kefu::api
