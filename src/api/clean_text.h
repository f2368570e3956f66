// Message texts as the API accepts them, without the HTTP server: the turn
// path's edge (api::CleanText), which the conversation scenarios also use.
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace kefu::api {

// Longest customer or agent message accepted, in characters (Unicode code
// points: 4,000 Chinese characters are as long as 4,000 Latin letters).
inline constexpr size_t kMaxTextChars = 4000;

// Validates a message text: a string, at most kMaxTextChars characters, control
// characters other than \n and \t dropped, trimmed, not empty.
Result<std::string> CleanText(const nlohmann::json& v);

}  // namespace kefu::api
