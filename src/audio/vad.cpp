#include "audio/vad.h"

#include <webrtc/modules/audio_processing/include/audio_processing.h>
#include <webrtc/modules/interface/module_common_types.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <numbers>
#include <string>

namespace kefu::audio {
namespace {

constexpr int kFftSize = 256;                                // one 10 ms hop (160 samples), Hann window, zero-padded
constexpr int kBandLo = 300 * kFftSize / kSampleRateHz + 1;  // bin 5 (312.5 Hz)
constexpr int kBandHi = 4000 * kFftSize / kSampleRateHz;     // bin 64 (4 kHz)
constexpr int kStationaryHops = 50;                          // 500 ms of levels for the stationarity test

// In-place radix-2 FFT of kFftSize points, twiddles precomputed.
class Fft {
 public:
  Fft() {
    for (int k = 0; k < kFftSize / 2; ++k) {
      const double a = -2.0 * std::numbers::pi * k / kFftSize;
      twiddle_[k] = {std::cos(a), std::sin(a)};
    }
    for (int i = 0; i < kHopSamples; ++i)
      window_[i] = 0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * i / (kHopSamples - 1));
  }
  // Power spectrum of one hop in bins [kBandLo, kBandHi] → spectral flatness.
  double Flatness(std::span<const int16_t> hop) {
    std::array<std::complex<double>, kFftSize> x{};
    for (int i = 0; i < kHopSamples; ++i) x[i] = {hop[i] * window_[i] / 32768.0, 0.0};
    Transform(x);
    double log_sum = 0, sum = 0;
    constexpr double kEps = 1e-12;
    for (int k = kBandLo; k <= kBandHi; ++k) {
      const double p = std::norm(x[k]) + kEps;
      log_sum += std::log(p);
      sum += p;
    }
    const int n = kBandHi - kBandLo + 1;
    return std::exp(log_sum / n) / (sum / n);
  }

 private:
  void Transform(std::array<std::complex<double>, kFftSize>& x) const {
    for (int i = 1, j = 0; i < kFftSize; ++i) {
      int bit = kFftSize >> 1;
      for (; j & bit; bit >>= 1) j ^= bit;
      j ^= bit;
      if (i < j) std::swap(x[i], x[j]);
    }
    for (int len = 2; len <= kFftSize; len <<= 1) {
      const int step = kFftSize / len;
      for (int i = 0; i < kFftSize; i += len) {
        for (int k = 0; k < len / 2; ++k) {
          const std::complex<double> u = x[i + k];
          const std::complex<double> v = x[i + k + len / 2] * twiddle_[k * step];
          x[i + k] = u + v;
          x[i + k + len / 2] = u - v;
        }
      }
    }
  }
  std::array<std::complex<double>, kFftSize / 2> twiddle_;
  std::array<double, kHopSamples> window_;
};

}  // namespace

struct EnergyVad::Impl {
  Fft fft;
  double floor_dbfs = 0;
  std::array<double, kStationaryHops> levels{};
  int levels_count = 0, levels_next = 0;
  int hangover_left_ms = 0;
  bool prev_hop_speech = false;

  // The last 500 ms are steady (std below `max_std_db`) and `level` is one of
  // them (within max_std_db of their mean): a hum, a tone, a fan.
  bool Stationary(double level, double max_std_db) const {
    if (levels_count < kStationaryHops / 2) return false;  // too little history
    double mean = 0;
    for (int i = 0; i < levels_count; ++i) mean += levels[i];
    mean /= levels_count;
    double var = 0;
    for (int i = 0; i < levels_count; ++i) var += (levels[i] - mean) * (levels[i] - mean);
    return std::sqrt(var / levels_count) < max_std_db && std::abs(level - mean) < max_std_db;
  }
};

EnergyVad::EnergyVad(EnergyVadSettings settings) : settings_(settings), impl_(std::make_unique<Impl>()) {
  Reset();
}
EnergyVad::~EnergyVad() = default;

void EnergyVad::Reset() {
  impl_->floor_dbfs = settings_.initial_floor_dbfs;
  impl_->levels_count = impl_->levels_next = 0;
  impl_->hangover_left_ms = 0;
  impl_->prev_hop_speech = false;
  last_ = {};
}

bool EnergyVad::Hop(std::span<const int16_t> hop) {
  Impl& s = *impl_;
  const double level = RmsDbfs(hop);
  int crossings = 0;
  for (size_t i = 1; i < hop.size(); ++i) crossings += (hop[i - 1] < 0) != (hop[i] < 0);
  const double flatness = level > settings_.min_level_dbfs ? s.fft.Flatness(hop) : 1.0;

  const double snr = level - s.floor_dbfs;
  bool speech = false;
  if (level > settings_.min_level_dbfs) {
    speech = (snr > settings_.snr_db && flatness < settings_.max_flatness) ||
             (s.prev_hop_speech && snr > settings_.strong_snr_db) ||
             (s.prev_hop_speech && snr > settings_.continue_snr_db && flatness < settings_.continue_max_flatness);
  }

  // The floor: falls quickly to anything quieter, creeps up under a varying
  // signal, climbs fast under a stationary one.
  s.levels[s.levels_next] = level;
  s.levels_next = (s.levels_next + 1) % kStationaryHops;
  s.levels_count = std::min(s.levels_count + 1, kStationaryHops);
  if (level < s.floor_dbfs) {
    s.floor_dbfs = 0.8 * s.floor_dbfs + 0.2 * level;
  } else {
    const double rate = s.Stationary(level, settings_.stationary_std_db) ? settings_.stationary_rise_db_per_s
                                                                         : settings_.floor_rise_db_per_s;
    s.floor_dbfs = std::min(level, s.floor_dbfs + rate * 0.010);
  }
  s.floor_dbfs = std::max(s.floor_dbfs, settings_.lowest_floor_dbfs);
  s.prev_hop_speech = speech;
  last_ = {level, s.floor_dbfs, flatness, static_cast<double>(crossings) / hop.size(), speech};
  return speech;
}

Result<VadResult> EnergyVad::Process(std::span<const int16_t> frame) {
  KEFU_RETURN_IF_ERROR(CheckFrame(frame));
  int hops = 0, speech_hops = 0;
  for (size_t off = 0; off < frame.size(); off += kHopSamples, ++hops) {
    speech_hops += Hop(frame.subspan(off, kHopSamples));
  }
  // A frame is speech when at least half its hops are (1 of 1, 1 of 2, 2 of 3).
  bool speech = speech_hops * 2 >= hops;
  if (speech) {
    impl_->hangover_left_ms = settings_.hangover_ms;
  } else if (impl_->hangover_left_ms > 0) {
    impl_->hangover_left_ms -= FrameMs(frame);
    speech = true;
  }
  return VadResult{speech, RmsDbfs(frame)};
}

namespace {

class WebRtcVad final : public Vad {
 public:
  explicit WebRtcVad(std::unique_ptr<webrtc::AudioProcessing> apm) : apm_(std::move(apm)) {}
  Result<VadResult> Process(std::span<const int16_t> frame) override {
    KEFU_RETURN_IF_ERROR(CheckFrame(frame));
    bool speech = false;
    for (size_t off = 0; off < frame.size(); off += kHopSamples) {
      webrtc::AudioFrame f;
      f.sample_rate_hz_ = kSampleRateHz;
      f.num_channels_ = 1;
      f.samples_per_channel_ = kHopSamples;
      std::copy_n(frame.data() + off, kHopSamples, f.data_);
      if (const int rc = apm_->ProcessStream(&f); rc != webrtc::AudioProcessing::kNoError) {
        return Internal("webrtc AudioProcessing::ProcessStream failed: " + std::to_string(rc));
      }
      speech |= apm_->voice_detection()->stream_has_voice();
    }
    return VadResult{speech, RmsDbfs(frame)};
  }
  void Reset() override { apm_->Initialize(); }

 private:
  std::unique_ptr<webrtc::AudioProcessing> apm_;
};

}  // namespace

Result<std::unique_ptr<Vad>> CreateWebRtcVad(WebRtcVadSettings settings) {
  if (settings.likelihood < 0 || settings.likelihood > 3) {
    return InvalidArgument("webrtc VAD likelihood " + std::to_string(settings.likelihood) + " outside 0..3");
  }
  std::unique_ptr<webrtc::AudioProcessing> apm(webrtc::AudioProcessing::Create());
  if (!apm) return Unavailable("webrtc AudioProcessing::Create failed");
  webrtc::VoiceDetection* vd = apm->voice_detection();
  if (vd->Enable(true) != 0 ||
      vd->set_likelihood(static_cast<webrtc::VoiceDetection::Likelihood>(settings.likelihood)) != 0 ||
      vd->set_frame_size_ms(10) != 0) {
    return Unavailable("webrtc VoiceDetection could not be configured");
  }
  return std::unique_ptr<Vad>(std::make_unique<WebRtcVad>(std::move(apm)));
}

}  // namespace kefu::audio
