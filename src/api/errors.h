// The one place where kefu's ErrorCodes become HTTP statuses (the body shape
// {"error": {"code", "message"}} is http::Response::Error).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace kefu::api {

int HttpStatusFor(ErrorCode code);
nlohmann::json ErrorFrame(std::string_view code, std::string_view message);  // WebSocket {"type":"error",...}

}  // namespace kefu::api
