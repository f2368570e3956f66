// The OpenAPI 3.0 description of kefu's HTTP API, served at GET /openapi.json.
// The core routes (api.cpp) are described in openapi.cpp; every other feature
// module (agents, data hub, ...) registers a fragment for its own routes when
// it registers them. tests/server_test.cpp checks that every route the server
// registers is documented and every documented path is served.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace kefu::api {

// Adds a feature's entries to `paths` ("/v1/...": {"get": op, ...}) and
// `schemas` (components.schemas).
using OpenApiFragment = std::function<void(nlohmann::json& paths, nlohmann::json& schemas)>;

// Registers (or replaces) the fragment called `name`. Thread-safe; fragments
// are process-wide, like the routes they describe.
void RegisterOpenApiFragment(const std::string& name, OpenApiFragment fragment);

// The whole document: the core routes plus every registered fragment.
nlohmann::json OpenApiDocument();

}  // namespace kefu::api
