// Synthetic test signals for audio/ tests and benchmarks: silence, white
// noise, tones, and a speech-like signal (a glottal pulse train at a chosen
// f0 through vowel formant resonators, with a short noise consonant before
// each vowel, in syllables at a chosen rate) whose pitch, level and rate are
// known, with the truth per 10 ms hop. Deterministic for a seed.
// Header-only; tests and bench/ only (namespace signals, not testing: that is gtest's).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <vector>

#include "audio/pcm.h"

namespace kefu::audio::signals {

// Float samples in [-1, 1] → 16-bit PCM (clipped).
inline std::vector<int16_t> ToPcm(const std::vector<double>& x) {
  std::vector<int16_t> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = static_cast<int16_t>(std::clamp(x[i] * 32767.0, -32768.0, 32767.0));
  return out;
}

inline double DbToAmp(double db) {
  return std::pow(10.0, db / 20.0);
}

inline std::vector<double> Silence(double seconds) {
  return std::vector<double>(static_cast<size_t>(seconds * kSampleRateHz));
}

// White Gaussian noise with RMS `level_dbfs`.
inline std::vector<double> WhiteNoise(double seconds, double level_dbfs, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> n(0.0, DbToAmp(level_dbfs));
  std::vector<double> x(static_cast<size_t>(seconds * kSampleRateHz));
  for (double& v : x) v = n(rng);
  return x;
}

// A sine of RMS `level_dbfs`.
inline std::vector<double> Tone(double seconds, double hz, double level_dbfs) {
  std::vector<double> x(static_cast<size_t>(seconds * kSampleRateHz));
  const double a = DbToAmp(level_dbfs) * std::numbers::sqrt2;
  for (size_t i = 0; i < x.size(); ++i) x[i] = a * std::sin(2 * std::numbers::pi * hz * i / kSampleRateHz);
  return x;
}

inline void MixInto(std::vector<double>& dst, const std::vector<double>& src, size_t at = 0) {
  for (size_t i = 0; i < src.size() && at + i < dst.size(); ++i) dst[at + i] += src[i];
}

inline void Append(std::vector<double>& dst, const std::vector<double>& src) {
  dst.insert(dst.end(), src.begin(), src.end());
}

struct SpeechLike {
  double seconds = 2;
  double f0_hz = 150;      // mean pitch; the contour moves ±f0_swing around it
  double f0_swing = 0.08;  // relative
  double syllables_per_s = 4;
  double voiced_fraction = 0.6;  // of each syllable period; the rest is a pause
  double level_dbfs = -20;       // RMS of the voiced parts
  uint32_t seed = 7;
};

struct Signal {
  std::vector<double> samples;
  std::vector<bool> speech_hops;  // truth per 10 ms hop
  int syllables = 0;
};

// Two-pole resonator (a formant) with unit gain at its centre.
class Resonator {
 public:
  Resonator(double hz, double bw_hz) {
    const double r = std::exp(-std::numbers::pi * bw_hz / kSampleRateHz);
    a1_ = 2 * r * std::cos(2 * std::numbers::pi * hz / kSampleRateHz);
    a2_ = -r * r;
    g_ = 1 - r;
  }
  double operator()(double x) {
    const double y = g_ * x + a1_ * y1_ + a2_ * y2_;
    y2_ = y1_;
    y1_ = y;
    return y;
  }

 private:
  double a1_, a2_, g_, y1_ = 0, y2_ = 0;
};

inline Signal MakeSpeechLike(const SpeechLike& p) {
  static constexpr std::array<std::array<double, 3>, 5> kVowels{
      {{730, 1090, 2440}, {270, 2290, 3010}, {300, 870, 2240}, {530, 1840, 2480}, {570, 840, 2410}}};
  const size_t n = static_cast<size_t>(p.seconds * kSampleRateHz);
  Signal s;
  s.samples.assign(n, 0.0);
  std::vector<bool> voiced(n, false);
  std::mt19937 rng(p.seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  const double period_s = 1.0 / p.syllables_per_s;
  const size_t period = static_cast<size_t>(period_s * kSampleRateHz);
  const size_t consonant = std::min<size_t>(period / 8, 40 * kSamplesPerMs);
  const size_t vowel = static_cast<size_t>(p.voiced_fraction * period) - consonant;
  double phase = 0, glottal = 0;
  for (size_t start = 0, k = 0; start + period <= n + period / 2 && start < n; start += period, ++k) {
    const auto& f = kVowels[(k * 3 + p.seed) % kVowels.size()];
    Resonator r1(f[0], 80), r2(f[1], 100), r3(f[2], 140);
    for (size_t i = 0; i < consonant + vowel && start + i < n; ++i) {
      const size_t t = start + i;
      double v;
      if (i < consonant) {  // a short fricative-ish burst
        v = 0.15 * noise(rng) * std::sin(std::numbers::pi * i / consonant);
      } else {
        const double u = static_cast<double>(i - consonant) / vowel;
        const double env = std::pow(std::sin(std::numbers::pi * u), 0.6);
        const double f0 = p.f0_hz * (1 + p.f0_swing * std::sin(2 * std::numbers::pi * 0.7 * t / kSampleRateHz));
        phase += f0 / kSampleRateHz;
        double pulse = 0;
        if (phase >= 1) {
          phase -= 1;
          pulse = 1;
        }
        glottal = 0.97 * glottal + pulse;  // spectral tilt
        v = env * (r1(glottal) * 1.0 + r2(glottal) * 0.5 + r3(glottal) * 0.25);
        voiced[t] = env > 0.3;
      }
      s.samples[t] = v;
    }
    ++s.syllables;
  }
  // Scale so the voiced parts have the requested RMS.
  double sum = 0;
  size_t cnt = 0;
  for (size_t i = 0; i < n; ++i)
    if (voiced[i]) sum += s.samples[i] * s.samples[i], ++cnt;
  const double gain = cnt ? DbToAmp(p.level_dbfs) / std::sqrt(sum / cnt) : 0;
  for (double& v : s.samples) v *= gain;
  for (size_t h = 0; h + kHopSamples <= n; h += kHopSamples) {
    size_t active = 0;
    for (size_t i = h; i < h + kHopSamples; ++i) active += voiced[i];
    s.speech_hops.push_back(active * 2 >= kHopSamples);
  }
  return s;
}

}  // namespace kefu::audio::signals
