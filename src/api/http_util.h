// Edge helpers shared by every route file of the API: JSON responses and
// errors, body and query parsing, identifier and text validation, and the
// credentials on a request. Everything here validates untrusted input and
// reports problems with the {"error": {"code", "message"}} shape.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/clean_text.h"  // CleanText, kMaxTextChars
#include "common/status.h"
#include "http/server.h"

namespace kefu::api {

// Serialises without throwing on invalid UTF-8 (replaced by U+FFFD).
std::string DumpJson(const nlohmann::json& j);

void SendJson(const http::Responder& r, int status, const nlohmann::json& body);
void SendError(const http::Responder& r, int status, std::string_view code, std::string_view message);
// Maps the Status code to its HTTP status (errors.h) and sends it.
void SendStatus(const http::Responder& r, const Status& s);

// Parses a JSON object body; on failure sends the error and returns nullopt.
std::optional<nlohmann::json> ParseBody(const http::Request& req, const http::Responder& r);

// obj[key] by reference when obj is an object that has it, else a null value.
// Reading fields this way never copies an untrusted (possibly nested) value.
const nlohmann::json& Field(const nlohmann::json& obj, std::string_view key);

// True when `s` is 1..max_len characters of [A-Za-z0-9-_.:@].
bool IdChars(std::string_view s, size_t max_len);

std::optional<int64_t> ParseInt(const std::string& s);

// Query integer with default and bounds; sends 400 and returns nullopt when bad.
std::optional<int64_t> QueryInt(const http::Request& req, const http::Responder& r, const char* name, int64_t def,
                                int64_t lo, int64_t hi);

// The token of an "Authorization: Bearer <token>" header, or "".
std::string Bearer(const http::Request& req);
// The widget key from X-Kefu-Widget-Key or ?widget_key=, or "".
std::string WidgetKeyOf(const http::Request& req);

}  // namespace kefu::api
