// Tools: typed, schema-described operations the dialogue layer (rules or an
// LLM doing function calling) may invoke on behalf of a customer, e.g. looking
// up an order. A Tool declares a JSON schema for its arguments; ToolRegistry
// validates arguments against it before Invoke runs, so Invoke may assume the
// declared types, ranges and required fields.
//
// Threads: Register is called during start-up only; after that Find, List and
// Call may be used from any number of threads concurrently. Tools must be
// thread-safe (they are const and keep their collaborators by reference).
#pragma once

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace kefu::tools {

// Who a tool call acts for. Customer-facing callers (the dialogue engine)
// always set tenant_id and customer_id; a tool never returns data of another
// customer to them. `is_operator` marks a trusted admin caller (POST
// /v1/tools/{name}): it may read any order of the tenant by id.
struct ToolContext {
  std::string tenant_id;
  std::string customer_id;
  std::string conversation_id;
  bool is_operator = false;
  // False when the customer id was asserted by the client without a signed
  // customer token and the server requires verified customers
  // (`[dialogue] require_verified_customer`): tools then reveal no personal data.
  bool customer_verified = true;
};

class Tool {
 public:
  virtual ~Tool() = default;
  // snake_case, unique within a registry, e.g. "track_logistics".
  virtual std::string_view Name() const = 0;
  // Chinese + English, written for an LLM choosing a tool.
  virtual std::string_view Description() const = 0;
  // JSON schema of the arguments; always {"type":"object", ...}.
  virtual const nlohmann::json& Parameters() const = 0;
  // Called only with arguments that passed Parameters() validation.
  virtual Result<nlohmann::json> Invoke(const ToolContext& ctx, const nlohmann::json& args) const = 0;
};

class ToolRegistry {
 public:
  // Takes ownership. A tool whose name is already registered replaces the old one.
  void Register(std::unique_ptr<Tool> tool);
  // nullptr when unknown. The pointer stays valid for the registry's lifetime
  // unless the tool is replaced by Register.
  const Tool* Find(std::string_view name) const;
  // Sorted by name.
  std::vector<const Tool*> List() const;

  // Validates `args` (null counts as {}) against the tool's schema, then invokes
  // it. NotFound for an unknown tool; InvalidArgument naming the offending field
  // for bad arguments; otherwise whatever the tool returns.
  Result<nlohmann::json> Call(const ToolContext& ctx, std::string_view name, const nlohmann::json& args) const;

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, std::unique_ptr<Tool>, std::less<>> tools_;  // GUARDED_BY(mu_)
};

// Checks `value` against the subset of JSON schema that tools use: type (a name
// or a list of names), properties, required, additionalProperties:false, items,
// enum, minimum/maximum, minLength/maxLength (in code points), minItems/maxItems.
// `path` names the value in the error message ("" = the top-level arguments).
Status ValidateJsonSchema(const nlohmann::json& schema, const nlohmann::json& value, const std::string& path = "");

}  // namespace kefu::tools
