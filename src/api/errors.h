// The one place where kefu's ErrorCodes become HTTP statuses and JSON error
// bodies: {"error": {"code": "...", "message": "..."}}.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace kefu::api {

int HttpStatusFor(ErrorCode code);
std::string ErrorBody(std::string_view code, std::string_view message);
nlohmann::json ErrorFrame(std::string_view code, std::string_view message);  // WebSocket {"type":"error",...}

}  // namespace kefu::api
