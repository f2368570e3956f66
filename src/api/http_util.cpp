#include "api/http_util.h"

#include <charconv>

#include "api/errors.h"
#include "common/json.h"
#include "common/utf8.h"

namespace kefu::api {

using nlohmann::json;
using http::Request;
using http::Responder;
using http::Response;

std::string DumpJson(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void SendJson(const Responder& r, int status, const json& body) {
  Response resp;
  resp.status = status;
  resp.content_type = "application/json; charset=utf-8";
  resp.body = DumpJson(body);
  r.Send(std::move(resp));
}

void SendError(const Responder& r, int status, std::string_view code, std::string_view message) {
  r.Send(Response::Error(status, code, message));
}

void SendStatus(const Responder& r, const Status& s) {
  SendError(r, HttpStatusFor(s.code()), ErrorCodeName(s.code()), s.message());
}

std::optional<json> ParseBody(const Request& req, const Responder& r) {
  if (!utf8::IsValid(req.body)) {
    SendError(r, 400, "invalid_utf8", "request body is not valid UTF-8 (byte " +
                                          std::to_string(utf8::FirstInvalid(req.body)) + ")");
    return std::nullopt;
  }
  if (JsonNestingDepth(req.body) > kMaxJsonDepth) {
    SendError(r, 400, "invalid_argument",
              "request body is nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    return std::nullopt;
  }
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded()) {
    SendError(r, 400, "invalid_json", "request body is not valid JSON");
    return std::nullopt;
  }
  if (!j.is_object()) {
    SendError(r, 400, "invalid_json", "request body must be a JSON object");
    return std::nullopt;
  }
  return j;
}

const json& Field(const json& obj, std::string_view key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

bool IdChars(std::string_view s, size_t max_len) {
  if (s.empty() || s.size() > max_len) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.' || c == ':' || c == '@';
    if (!ok) return false;
  }
  return true;
}

std::optional<int64_t> ParseInt(const std::string& s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<int64_t> QueryInt(const Request& req, const Responder& r, const char* name, int64_t def, int64_t lo,
                                int64_t hi) {
  auto it = req.query.find(name);
  if (it == req.query.end() || it->second.empty()) return def;
  auto v = ParseInt(it->second);
  if (!v || *v < lo || *v > hi) {
    SendError(r, 400, "invalid_argument",
              std::string(name) + " must be an integer in " + std::to_string(lo) + ".." + std::to_string(hi));
    return std::nullopt;
  }
  return v;
}

std::string Bearer(const Request& req) {
  std::string h = req.Header("Authorization");
  if (h.rfind("Bearer ", 0) == 0) return h.substr(7);
  return {};
}

std::string WidgetKeyOf(const Request& req) {
  std::string k = req.Header("X-Kefu-Widget-Key");
  if (!k.empty()) return k;
  auto it = req.query.find("widget_key");
  return it == req.query.end() ? std::string() : it->second;
}

}  // namespace kefu::api
