// Bounded JSON parsing for untrusted text. Every JSON document kefu reads
// (HTTP bodies, WebSocket frames, file imports, LLM and webhook responses,
// stored meta columns) goes through here instead of nlohmann::json::parse.
//
// Why: nlohmann parses iteratively, but copying or comparing a parsed value is
// recursive, so a 280 KB body nested 140,000 levels deep overflows the stack
// the first time the value is copied. A document nested deeper than
// kMaxJsonDepth is refused before any DOM is built: one linear scan, no
// allocation. docs/security.md lists the limit.
//
// Pure functions, any thread.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace kefu {

// Deepest nesting of arrays and objects accepted anywhere ({"a":[1]} is 2).
inline constexpr int kMaxJsonDepth = 64;

// Nesting depth of `text` ('[' and '{' outside strings), counting at most up
// to `stop_after` + 1 (it returns as soon as the depth exceeds stop_after).
// Malformed text still gets a number; the parser then rejects it.
int JsonNestingDepth(std::string_view text, int stop_after = kMaxJsonDepth);

// Parses `text`. Errors are kInvalidArgument: "nested deeper than 64 levels"
// or "not valid JSON (<nlohmann's position>)". Never throws.
Result<nlohmann::json> ParseJson(std::string_view text, int max_depth = kMaxJsonDepth);

// Like nlohmann::json::parse(text, nullptr, false): a discarded value
// (is_discarded()) for malformed or too deeply nested text.
nlohmann::json ParseJsonOrDiscarded(std::string_view text, int max_depth = kMaxJsonDepth);

}  // namespace kefu
