#include "bus/testing.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

namespace kefu::bus::testbus {

namespace {
std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}
}  // namespace

std::string RedisTestUrl() {
  if (const char* url = std::getenv("KEFU_TEST_REDIS_URL"); url && *url) return url;
  if (const char* file = std::getenv("KEFU_TEST_REDIS_URL_FILE"); file && *file) return FirstLine(file);
#ifdef KEFU_TEST_REDIS_URL_FILE_DEFAULT
  return FirstLine(KEFU_TEST_REDIS_URL_FILE_DEFAULT);
#else
  return "";
#endif
}

std::string UniquePrefix() {
  static std::atomic<int> counter{0};
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  return "kefutest" + std::to_string(::getpid()) + "_" + std::to_string(now % 1000000000) + "_" +
         std::to_string(counter.fetch_add(1));
}

Result<std::unique_ptr<TempRedis>> TempRedis::Start() {
  namespace fs = std::filesystem;
  const char* source = std::getenv("KEFU_SOURCE_DIR");
  fs::path script = fs::path(source && *source ? source : ".") / "scripts" / "redis_temp.sh";
  if (!fs::exists(script)) return Unavailable("no " + script.string() + " (set KEFU_SOURCE_DIR)");
  static std::atomic<int> counter{0};
  fs::path state = fs::temp_directory_path() /
                   ("kefu_redis_state_" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1)));
  std::unique_ptr<TempRedis> r(new TempRedis(script.string(), state.string(), ""));
  KEFU_RETURN_IF_ERROR(r->Run("start"));
  r->url_ = FirstLine((state / "url").string());
  if (r->url_.empty()) return Unavailable(kRedisMissing);
  return r;
}

TempRedis::~TempRedis() {
  (void)Run("stop");
  std::error_code ec;
  std::filesystem::remove_all(state_, ec);
}

Status TempRedis::Down() {
  return Run("down");
}
Status TempRedis::Up() {
  return Run("up");
}

Status TempRedis::Run(const std::string& command) {
  const std::string line = "bash '" + script_ + "' " + command + " '" + state_ + "' >/dev/null";
  if (std::system(line.c_str()) != 0) return Unavailable("scripts/redis_temp.sh " + command + " failed");
  return Status::Ok();
}

}  // namespace kefu::bus::testbus
