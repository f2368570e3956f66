#include "tools/tool.h"

#include <mutex>

#include "common/utf8.h"

namespace kefu::tools {
namespace {

using nlohmann::json;

bool HasType(const json& v, std::string_view type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "null") return v.is_null();
  if (type == "number") return v.is_number();
  if (type == "integer") {
    if (v.is_number_integer()) return true;
    if (v.is_number_float()) {
      double d = v.get<double>();
      return d == static_cast<double>(static_cast<int64_t>(d));
    }
    return false;
  }
  return false;
}

std::string Where(const std::string& path) { return path.empty() ? "arguments" : "argument '" + path + "'"; }

std::string Join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

}  // namespace

Status ValidateJsonSchema(const json& schema, const json& value, const std::string& path) {
  if (!schema.is_object()) return Status::Ok();
  if (auto it = schema.find("type"); it != schema.end()) {
    bool match = false;
    std::string names;
    if (it->is_string()) {
      match = HasType(value, it->get<std::string>());
      names = it->get<std::string>();
    } else if (it->is_array()) {
      for (const auto& t : *it) {
        if (!t.is_string()) continue;
        match = match || HasType(value, t.get<std::string>());
        names += (names.empty() ? "" : " or ") + t.get<std::string>();
      }
    }
    if (!match) return InvalidArgument(Where(path) + ": expected " + names + ", got " + value.type_name());
  }
  if (auto it = schema.find("enum"); it != schema.end() && it->is_array()) {
    bool found = false;
    for (const auto& e : *it) found = found || e == value;
    if (!found) return InvalidArgument(Where(path) + ": must be one of " + it->dump());
  }
  if (value.is_number()) {
    double d = value.get<double>();
    if (auto it = schema.find("minimum"); it != schema.end() && it->is_number() && d < it->get<double>())
      return InvalidArgument(Where(path) + ": must be >= " + it->dump());
    if (auto it = schema.find("maximum"); it != schema.end() && it->is_number() && d > it->get<double>())
      return InvalidArgument(Where(path) + ": must be <= " + it->dump());
  }
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    if (!utf8::IsValid(s)) return InvalidArgument(Where(path) + ": not valid UTF-8");
    size_t len = utf8::Length(s);
    if (auto it = schema.find("minLength"); it != schema.end() && it->is_number() && len < it->get<size_t>())
      return InvalidArgument(Where(path) + ": shorter than " + it->dump() + " characters");
    if (auto it = schema.find("maxLength"); it != schema.end() && it->is_number() && len > it->get<size_t>())
      return InvalidArgument(Where(path) + ": longer than " + it->dump() + " characters");
  }
  if (value.is_array()) {
    if (auto it = schema.find("minItems"); it != schema.end() && it->is_number() && value.size() < it->get<size_t>())
      return InvalidArgument(Where(path) + ": needs at least " + it->dump() + " items");
    if (auto it = schema.find("maxItems"); it != schema.end() && it->is_number() && value.size() > it->get<size_t>())
      return InvalidArgument(Where(path) + ": allows at most " + it->dump() + " items");
    if (auto it = schema.find("items"); it != schema.end()) {
      for (size_t i = 0; i < value.size(); ++i)
        KEFU_RETURN_IF_ERROR(ValidateJsonSchema(*it, value[i], path + "[" + std::to_string(i) + "]"));
    }
  }
  if (value.is_object()) {
    static const json kEmpty = json::object();
    auto pit = schema.find("properties");
    const json& props = pit != schema.end() && pit->is_object() ? *pit : kEmpty;
    if (auto it = schema.find("required"); it != schema.end() && it->is_array()) {
      for (const auto& r : *it) {
        if (r.is_string() && !value.contains(r.get<std::string>()))
          return InvalidArgument(Where(Join(path, r.get<std::string>())) + ": is required");
      }
    }
    auto ait = schema.find("additionalProperties");
    bool closed = ait != schema.end() && ait->is_boolean() && !ait->get<bool>();
    for (const auto& [key, v] : value.items()) {
      auto sp = props.find(key);
      if (sp == props.end()) {
        if (closed) return InvalidArgument(Where(Join(path, key)) + ": unknown argument");
        if (ait != schema.end() && ait->is_object()) KEFU_RETURN_IF_ERROR(ValidateJsonSchema(*ait, v, Join(path, key)));
        continue;
      }
      KEFU_RETURN_IF_ERROR(ValidateJsonSchema(*sp, v, Join(path, key)));
    }
  }
  return Status::Ok();
}

void ToolRegistry::Register(std::unique_ptr<Tool> tool) {
  std::unique_lock lock(mu_);
  std::string name(tool->Name());
  tools_[name] = std::move(tool);
}

const Tool* ToolRegistry::Find(std::string_view name) const {
  std::shared_lock lock(mu_);
  auto it = tools_.find(name);
  return it == tools_.end() ? nullptr : it->second.get();
}

std::vector<const Tool*> ToolRegistry::List() const {
  std::shared_lock lock(mu_);
  std::vector<const Tool*> out;
  out.reserve(tools_.size());
  for (const auto& [_, t] : tools_) out.push_back(t.get());
  return out;
}

Result<json> ToolRegistry::Call(const ToolContext& ctx, std::string_view name, const json& args) const {
  const Tool* tool = Find(name);
  if (tool == nullptr) return NotFound("unknown tool '" + std::string(name) + "'");
  const json& a = args.is_null() ? json::object() : args;
  if (Status s = ValidateJsonSchema(tool->Parameters(), a); !s.ok())
    return InvalidArgument("tool " + std::string(name) + ": " + s.message());
  return tool->Invoke(ctx, a);
}

}  // namespace kefu::tools
