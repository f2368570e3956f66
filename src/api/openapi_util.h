// Builders for OpenAPI 3 fragments, shared by the route files that describe
// their own paths. Each feature contributes paths and component schemas
// through a function called from openapi.cpp's Build(); ApiTest checks the
// document against the served routes in both directions.
#pragma once

#include <initializer_list>
#include <string>

#include <nlohmann/json.hpp>

namespace kefu::api::openapi {

using json = nlohmann::json;

inline json Ref(const char* name) { return {{"$ref", std::string("#/components/schemas/") + name}}; }

inline json JsonBody(json schema, bool required = true) {
  return {{"required", required}, {"content", {{"application/json", {{"schema", std::move(schema)}}}}}};
}

inline json JsonResponse(const char* description, json schema) {
  return {{"description", description}, {"content", {{"application/json", {{"schema", std::move(schema)}}}}}};
}

inline json ErrorResponses(std::initializer_list<const char*> codes) {
  json r = json::object();
  for (const char* c : codes) r[c] = JsonResponse("Error", Ref("Error"));
  return r;
}

inline json Merge(json a, const json& b) {
  for (auto it = b.begin(); it != b.end(); ++it) a[it.key()] = it.value();
  return a;
}

inline json PathParam(const char* name, const char* description) {
  return {{"name", name}, {"in", "path"}, {"required", true}, {"description", description}, {"schema", {{"type", "string"}}}};
}

inline json QueryParam(const char* name, const char* type, const char* description, bool required = false) {
  return {{"name", name}, {"in", "query"}, {"required", required}, {"description", description}, {"schema", {{"type", type}}}};
}

inline json Op(const char* summary, const char* tag, json responses, json params = json::array(), json body = nullptr,
        json security = nullptr) {
  json op = {{"summary", summary}, {"tags", {tag}}, {"responses", std::move(responses)}};
  if (!params.empty()) op["parameters"] = std::move(params);
  if (!body.is_null()) op["requestBody"] = std::move(body);
  if (!security.is_null()) op["security"] = std::move(security);
  return op;
}

// Security requirement objects.
inline json WidgetSecurity() { return json::array({{{"widgetKey", json::array()}}}); }
inline json AdminSecurity() { return json::array({{{"apiKey", json::array()}}}); }

}  // namespace kefu::api::openapi
