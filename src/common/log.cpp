#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>

namespace kefu::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::atomic<bool> g_json{true};

spdlog::level::level_enum ToSpd(Level l) {
  switch (l) {
    case Level::kTrace: return spdlog::level::trace;
    case Level::kDebug: return spdlog::level::debug;
    case Level::kInfo: return spdlog::level::info;
    case Level::kWarn: return spdlog::level::warn;
    case Level::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}
const char* Name(Level l) {
  switch (l) {
    case Level::kTrace: return "trace";
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}
std::shared_ptr<spdlog::logger> Logger() {
  static auto logger = [] {
    auto l = spdlog::stderr_logger_mt("kefu");
    l->set_pattern("%v");
    l->set_level(spdlog::level::trace);
    return l;
  }();
  return logger;
}
}  // namespace

void Init(std::string_view level, bool json) {
  Level l = Level::kInfo;
  if (level == "trace") l = Level::kTrace;
  else if (level == "debug") l = Level::kDebug;
  else if (level == "warn") l = Level::kWarn;
  else if (level == "error") l = Level::kError;
  g_level = static_cast<int>(l);
  g_json = json;
  Logger();
}

bool Enabled(Level level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

void Write(Level level, std::string_view event, const nlohmann::json& fields) {
  if (!Enabled(level)) return;
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  if (g_json) {
    nlohmann::json j = {{"ts_ms", ms}, {"level", Name(level)}, {"event", event}};
    if (fields.is_object())
      for (auto it = fields.begin(); it != fields.end(); ++it) j[it.key()] = it.value();
    Logger()->log(ToSpd(level), "{}", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    Logger()->log(ToSpd(level), "{} {} {}", Name(level), event,
                  fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
}

}  // namespace kefu::log
