#include "common/json.h"

#include <string>

namespace kefu {

int JsonNestingDepth(std::string_view text, int stop_after) {
  int depth = 0;
  int max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;  // the escaped character cannot end the string
      else if (c == '"') in_string = false;
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[':
      case '{':
        if (++depth > max_depth) {
          max_depth = depth;
          if (max_depth > stop_after) return max_depth;
        }
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default: break;
    }
  }
  return max_depth;
}

Result<nlohmann::json> ParseJson(std::string_view text, int max_depth) {
  if (JsonNestingDepth(text, max_depth) > max_depth)
    return InvalidArgument("JSON nested deeper than " + std::to_string(max_depth) + " levels");
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    // Parse once more with exceptions only to name the position; rare path.
    try {
      (void)nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      std::string what = e.what();
      auto p = what.find("parse error");
      return InvalidArgument("not valid JSON (" + (p == std::string::npos ? what : what.substr(p)) + ")");
    }
    return InvalidArgument("not valid JSON");
  }
  return j;
}

nlohmann::json ParseJsonOrDiscarded(std::string_view text, int max_depth) {
  if (JsonNestingDepth(text, max_depth) > max_depth) return nlohmann::json(nlohmann::json::value_t::discarded);
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace kefu
