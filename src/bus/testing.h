// Test support for the Redis bus: the URL of the Redis that ctest's
// kefu_redis fixture starts (scripts/redis_temp.sh), and private Redis
// servers that a test may take down and bring back (outages). Without
// redis-server installed, Redis tests skip with kRedisMissing. Any thread.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace kefu::bus::testbus {

// The shared test Redis: KEFU_TEST_REDIS_URL, else the first line of the file
// KEFU_TEST_REDIS_URL_FILE names, else BUILD_DIR/redis/url (written by the
// kefu_redis fixture); "" when none.
std::string RedisTestUrl();

inline constexpr const char* kRedisMissing =
    "Redis not available: install redis-server (scripts/deps.sh) and run through ctest (fixture kefu_redis), or "
    "start one with scripts/redis_temp.sh start DIR and set KEFU_TEST_REDIS_URL_FILE=DIR/url";

// A Redis server of its own in a temporary directory (scripts/redis_temp.sh,
// found through KEFU_SOURCE_DIR), stopped and removed by the destructor.
class TempRedis {
 public:
  // Unavailable (with kRedisMissing's hint) when it cannot be started.
  static Result<std::unique_ptr<TempRedis>> Start();
  ~TempRedis();
  const std::string& url() const { return url_; }
  Status Down();  // shut the server down, keeping its data and port
  Status Up();    // start it again on the same port

 private:
  TempRedis(std::string script, std::string state, std::string url)
      : script_(std::move(script)), state_(std::move(state)), url_(std::move(url)) {}
  Status Run(const std::string& command);
  std::string script_, state_, url_;
};

// A namespace for one test's keys and channels (BusOptions::prefix), so
// tests running in parallel against one Redis never see each other.
std::string UniquePrefix();

}  // namespace kefu::bus::testbus
