// Structured logging on top of spdlog. Log lines are JSON objects (or plain
// text when log.json = false) carrying optional request/conversation ids:
//   KEFU_LOG_INFO("turn", {{"conversation_id", id}, {"latency_ms", ms}});
// Thread-safe; Init() is called once by app/.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace kefu::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError };

void Init(std::string_view level, bool json);
bool Enabled(Level level);
void Write(Level level, std::string_view event, const nlohmann::json& fields = nlohmann::json::object());

inline void Info(std::string_view event, const nlohmann::json& f = nlohmann::json::object()) { Write(Level::kInfo, event, f); }
inline void Warn(std::string_view event, const nlohmann::json& f = nlohmann::json::object()) { Write(Level::kWarn, event, f); }
inline void Error(std::string_view event, const nlohmann::json& f = nlohmann::json::object()) { Write(Level::kError, event, f); }
inline void Debug(std::string_view event, const nlohmann::json& f = nlohmann::json::object()) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, event, f);
}

}  // namespace kefu::log
