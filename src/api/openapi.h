// The OpenAPI 3.0 description of kefu's HTTP API, served at GET /openapi.json.
// api_test checks that every route the server registers is documented here and
// every documented path is served.
#pragma once

#include <nlohmann/json.hpp>

namespace kefu::api {

const nlohmann::json& OpenApiDocument();

}  // namespace kefu::api
