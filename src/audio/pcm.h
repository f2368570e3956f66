// PCM frames as kefu's audio code takes them: 16 kHz, mono, signed 16-bit,
// 10, 20 or 30 ms per frame (160, 320 or 480 samples). Every entry point of
// audio/ checks a frame with CheckFrame first, so a wrong size or rate is an
// InvalidArgument naming what was wrong, never an out-of-bounds read.
#pragma once

#include <cstdint>
#include <span>

#include "common/status.h"

namespace kefu::audio {

inline constexpr int kSampleRateHz = 16'000;
inline constexpr int kSamplesPerMs = kSampleRateHz / 1000;
inline constexpr int kHopSamples = 160;  // 10 ms: the analysis step of the VADs and prosody

// 10, 20 or 30 → true.
bool ValidFrameMs(int ms);
// OK for 160, 320 or 480 samples; otherwise InvalidArgument with the size seen.
Status CheckFrame(std::span<const int16_t> frame);
// The frame's length in ms (after CheckFrame).
inline int FrameMs(std::span<const int16_t> frame) {
  return static_cast<int>(frame.size()) / kSamplesPerMs;
}

// Root-mean-square level relative to full scale (32768), in dBFS; silence
// (all zeros) reads as kSilenceDbfs.
inline constexpr double kSilenceDbfs = -100.0;
double RmsDbfs(std::span<const int16_t> samples);

}  // namespace kefu::audio
