// Test helper for the crypto::RandomSource seam (crypto.h): a source that
// records every draw, so a test can prove an id or token is exactly the bytes
// the source handed out. Header-only; tests only.
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "common/crypto.h"

namespace kefu::crypto {

// Hands out bytes from `inner` (e.g. SystemRandomSource()) or, without one,
// from a deterministic generator (splitmix64 over a counter, so no two draws
// repeat), and records each Fill's bytes in order. Thread-safe.
class RecordingRandomSource final : public RandomSource {
 public:
  explicit RecordingRandomSource(RandomSource* inner = nullptr, uint64_t seed = 0x6b656675) : inner_(inner), state_(seed) {}

  void Fill(std::span<uint8_t> out) override {
    std::lock_guard lock(mu_);
    if (inner_) {
      inner_->Fill(out);
    } else {
      for (size_t i = 0; i < out.size(); i += 8) {
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
        for (size_t k = 0; k < 8 && i + k < out.size(); ++k) out[i + k] = static_cast<uint8_t>(z >> (8 * k));
      }
    }
    draws_.emplace_back(reinterpret_cast<const char*>(out.data()), out.size());
  }

  // The raw bytes of every draw so far, in order.
  std::vector<std::string> Draws() const {
    std::lock_guard lock(mu_);
    return draws_;
  }
  // The same as lower-case hex (as RandomHex and NewId print them).
  std::vector<std::string> HexDraws() const {
    std::vector<std::string> out;
    for (const auto& d : Draws()) out.push_back(Hex(d));
    return out;
  }

 private:
  RandomSource* inner_;
  mutable std::mutex mu_;
  uint64_t state_;                  // GUARDED_BY(mu_)
  std::vector<std::string> draws_;  // GUARDED_BY(mu_)
};

}  // namespace kefu::crypto
