// CircuitBreaker: stops calling a dependency that keeps failing.
// Closed: every call is allowed; `failures` consecutive failures open it.
// Open: calls are rejected until `cooldown_ms` (measured on the injected Clock)
// have passed since it opened; then it is half-open.
// Half-open: exactly one trial call is allowed; its success closes the breaker,
// its failure opens it again for another cooldown.
// Thread-safe. Every Allow() that returns true must be followed by exactly one
// Record(success).
#pragma once

#include <cstdint>
#include <mutex>

#include "common/clock.h"

namespace kefu::llm {

class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };

  // failures <= 0 disables the breaker (always closed).
  CircuitBreaker(int failures, int64_t cooldown_ms, const Clock& clock)
      : failures_(failures), cooldown_ns_(cooldown_ms * 1'000'000), clock_(clock) {}

  bool Allow() {
    std::lock_guard lock(mu_);
    switch (state_) {
      case State::kClosed: return true;
      case State::kHalfOpen: return false;  // the one trial is in flight
      case State::kOpen:
        if (clock_.MonotonicNs() - opened_at_ns_ < cooldown_ns_) return false;
        state_ = State::kHalfOpen;
        return true;
    }
    return false;
  }

  void Record(bool success) {
    std::lock_guard lock(mu_);
    if (success) {
      consecutive_ = 0;
      state_ = State::kClosed;
      return;
    }
    ++consecutive_;
    if (state_ == State::kHalfOpen || (failures_ > 0 && consecutive_ >= failures_)) {
      state_ = State::kOpen;
      opened_at_ns_ = clock_.MonotonicNs();
    }
  }

  State state() const {
    std::lock_guard lock(mu_);
    return state_;
  }

 private:
  const int failures_;
  const int64_t cooldown_ns_;
  const Clock& clock_;
  mutable std::mutex mu_;
  State state_ = State::kClosed;  // GUARDED_BY(mu_)
  int consecutive_ = 0;           // GUARDED_BY(mu_)
  int64_t opened_at_ns_ = 0;      // GUARDED_BY(mu_)
};

}  // namespace kefu::llm
