// Helpers shared by the bus tests: a handler that records what it receives.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "bus/event_bus.h"

namespace kefu::bus::testbus {

class Collector {
 public:
  Handler handler() {
    return [this](const Event& e) {
      std::lock_guard lock(mu_);
      events_.push_back(e);
      cv_.notify_all();
    };
  }
  // Waits until at least n events arrived; false on timeout.
  bool WaitFor(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return events_.size() >= n; });
  }
  std::vector<Event> events() {
    std::lock_guard lock(mu_);
    return events_;
  }
  size_t size() {
    std::lock_guard lock(mu_);
    return events_.size();
  }
  // The payloads received on `topic`, in order.
  std::vector<std::string> Payloads(const std::string& topic) {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& e : events_)
      if (e.topic == topic) out.push_back(e.payload);
    return out;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Event> events_;
};

inline std::vector<std::string> Numbered(const std::string& stem, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i <= to; ++i) out.push_back(stem + std::to_string(i));
  return out;
}

}  // namespace kefu::bus::testbus
