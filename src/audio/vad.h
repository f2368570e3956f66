// Vad: frame-level voice-activity detection over 16 kHz mono 16-bit PCM
// frames of 10, 20 or 30 ms (audio/pcm.h). Two implementations:
//  - EnergyVad (default): energy above an adaptive noise floor, gated by
//    spectral flatness (broadband noise is flat, voiced speech is not) with
//    zero-crossing rate reported; stationary sounds (hum, a steady tone, a
//    fan) are absorbed into the floor within a few seconds.
//  - WebRtcVad: webrtc-audio-processing 0.3's VoiceDetection (a GMM VAD),
//    run through an AudioProcessing instance in 10 ms steps.
// FakeVad (vad_fake.h) replays scripted decisions for tests.
//
// One instance per audio stream: it keeps per-stream state (noise floor,
// hangover), a few KiB, bounded. Not thread-safe; one stream's frames arrive
// in order on one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "audio/pcm.h"
#include "common/status.h"

namespace kefu::audio {

struct VadResult {
  bool speech = false;
  double level_dbfs = kSilenceDbfs;  // the frame's RMS level
};

class Vad {
 public:
  virtual ~Vad() = default;
  // Classifies the next frame of the stream; InvalidArgument for a frame
  // that is not 160, 320 or 480 samples (the stream's state is unchanged).
  virtual Result<VadResult> Process(std::span<const int16_t> frame) = 0;
  // Forgets the stream (a new call starts).
  virtual void Reset() = 0;
};

struct EnergyVadSettings {
  double min_level_dbfs = -55;  // quieter than this is never speech
  double snr_db = 5;            // above the noise floor by this much (with low flatness)
  double strong_snr_db = 20;    // this far above the floor, a flat hop continues speech (fricatives)
  double max_flatness = 0.35;   // spectral flatness 300–4000 Hz; white noise ≈ 0.55, vowels ≈ 0.05–0.2
  // Hysteresis: a hop right after a speech hop needs only this (the quiet
  // tail of a syllable in noise).
  double continue_snr_db = 3;
  double continue_max_flatness = 0.45;
  double initial_floor_dbfs = -60;       // the floor before the stream has taught it anything
  double lowest_floor_dbfs = -65;        // the floor never goes below (digital silence would drag it to -100)
  double floor_rise_db_per_s = 0.5;      // how fast the floor creeps up under a varying signal (speech)
  double stationary_rise_db_per_s = 20;  // … and under a steady one (std below stationary_std_db)
  double stationary_std_db = 2;          // the level's std over the last 500 ms below this → stationary
  int hangover_ms = 60;                  // speech stays on this long after the last speech hop
};

// What EnergyVad saw in the last 10 ms hop of the last frame (diagnostics, tests).
struct EnergyVadHop {
  double level_dbfs = kSilenceDbfs;
  double floor_dbfs = kSilenceDbfs;
  double flatness = 1;
  double zcr = 0;  // zero crossings per sample
  bool speech = false;
};

class EnergyVad final : public Vad {
 public:
  explicit EnergyVad(EnergyVadSettings settings = {});
  ~EnergyVad() override;
  Result<VadResult> Process(std::span<const int16_t> frame) override;
  void Reset() override;
  const EnergyVadHop& last_hop() const { return last_; }

 private:
  bool Hop(std::span<const int16_t> hop);
  struct Impl;
  EnergyVadSettings settings_;
  std::unique_ptr<Impl> impl_;
  EnergyVadHop last_;
};

struct WebRtcVadSettings {
  // webrtc::VoiceDetection::Likelihood: 0 very low … 3 high (more speech,
  // also more noise called speech). Default 1 (low).
  int likelihood = 1;
};

// Unavailable if AudioProcessing cannot be created; InvalidArgument for a
// likelihood outside 0..3.
Result<std::unique_ptr<Vad>> CreateWebRtcVad(WebRtcVadSettings settings = {});

}  // namespace kefu::audio
