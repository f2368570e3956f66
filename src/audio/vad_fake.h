// FakeVad: a Vad that answers from a script ("sss..ss": s speech, anything
// else not), one character per frame, repeating the last answer when the
// script runs out. It checks frames like the real ones. Tests only.
#pragma once

#include <algorithm>
#include <string>
#include <utility>

#include "audio/vad.h"

namespace kefu::audio {

class FakeVad final : public Vad {
 public:
  explicit FakeVad(std::string script, double level_dbfs = -30) : script_(std::move(script)), level_(level_dbfs) {}
  Result<VadResult> Process(std::span<const int16_t> frame) override {
    KEFU_RETURN_IF_ERROR(CheckFrame(frame));
    const size_t i = script_.empty() ? 0 : std::min(next_++, script_.size() - 1);
    return VadResult{!script_.empty() && script_[i] == 's', level_};
  }
  void Reset() override { next_ = 0; }
  size_t frames_seen() const { return next_; }

 private:
  std::string script_;
  double level_;
  size_t next_ = 0;
};

}  // namespace kefu::audio
