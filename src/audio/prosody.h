// Prosody of one caller utterance and how it departs from the caller's own
// usual voice — a voice-side emotion signal that routing can use beside the
// text's (nlu/). Two parts:
//
// ProsodyAnalyzer: feed the frames of one utterance (16 kHz mono 16-bit,
// 10/20/30 ms; e.g. between the Endpointer's kSpeechStart and kEndOfTurn),
// then Finish() for its ProsodyFeatures:
//   - pitch (aubio yinfast, 512-sample window, 10 ms hop; a hop is voiced when
//     its confidence ≥ min_confidence, its pitch is in [min_pitch_hz,
//     max_pitch_hz], it is part of a run of min_voiced_run voiced hops and
//     within octave_outlier_ratio of the utterance's median — yin's octave
//     errors dropped): median, 10th/90th percentiles, range in semitones;
//   - level (RMS dBFS per 10 ms hop): mean over phonation (hops within
//     phonation_range_db of the 95th percentile) and the 95th percentile (peaks);
//   - syllable nuclei: peaks of the 50 ms-smoothed level contour above
//     p95 − nucleus_range_db, voiced, each separated from the previous one by a
//     dip of nucleus_dip_db; rate = nuclei per second of phonation
//     (articulation rate: pauses excluded).
// Memory: 3 floats per 10 ms hop, at most max_utterance_ms of them (60 s: 70 KiB).
//
// CallerBaseline: the caller's running baseline (the first calibration
// utterances, then a slow average over calm utterances) and the score of an
// utterance against it — arousal and anger likelihood in [0, 1]; the formula
// is in docs/audio.md and prosody.cpp. Not evaluated on labelled emotional
// speech (none was available): see docs/audio.md for what was tested.
//
// Neither is thread-safe; one of each per call (voice session).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "audio/pcm.h"
#include "common/status.h"

namespace kefu::audio {

struct ProsodySettings {
  double min_pitch_hz = 60;
  double max_pitch_hz = 500;
  double min_confidence = 0.6;
  int min_voiced_run = 3;             // hops
  double octave_outlier_ratio = 1.9;  // pitch further than this factor from the median is an error
  double phonation_range_db = 30;
  double nucleus_range_db = 20;
  double nucleus_dip_db = 2;
  double min_level_dbfs = -55;  // quieter hops are silence whatever the percentiles say
  int max_utterance_ms = 60'000;
};

struct ProsodyFeatures {
  double duration_s = 0;
  double phonation_s = 0;
  double voiced_s = 0;
  // 0 when no hop was voiced.
  double pitch_median_hz = 0, pitch_p10_hz = 0, pitch_p90_hz = 0;
  double pitch_range_st = 0;  // 12·log2(p90/p10)
  double level_mean_dbfs = kSilenceDbfs;
  double level_peak_dbfs = kSilenceDbfs;  // 95th percentile of the hops
  int syllables = 0;
  double syllable_rate = 0;  // nuclei per phonation second
};

class ProsodyAnalyzer {
 public:
  static Result<std::unique_ptr<ProsodyAnalyzer>> Create(ProsodySettings settings = {});
  ~ProsodyAnalyzer();

  // InvalidArgument for a malformed frame; ResourceExhausted past
  // max_utterance_ms (the frame is not taken; Finish still works).
  Status Push(std::span<const int16_t> frame);
  // The utterance's features; FailedPrecondition when it had no phonation at
  // all (silence). Starts a new utterance either way.
  Result<ProsodyFeatures> Finish();
  void Reset();

 private:
  struct Impl;
  explicit ProsodyAnalyzer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct BaselineSettings {
  int calibration_utterances = 2;     // utterances averaged before scores count …
  double calibration_voiced_s = 1.0;  // … and at least this much voiced speech in them
  double ema_alpha = 0.2;             // after calibration, weight of a new calm utterance
  double learn_below_arousal = 0.5;   // only utterances calmer than this update the baseline
  double min_voiced_s = 0.3;          // shorter voiced time: the pitch terms are left out
};

struct ProsodyScore {
  bool calibrated = false;  // false: arousal and anger are 0 and mean nothing yet
  double arousal = 0;       // [0, 1]; ~0.18 for the caller's usual voice
  double anger = 0;         // [0, 1]; ~0.11 for the caller's usual voice
  // The departures the scores are made of.
  double pitch_delta_st = 0, range_delta_st = 0, level_delta_db = 0, peak_delta_db = 0, rate_ratio = 1;
};

class CallerBaseline {
 public:
  explicit CallerBaseline(BaselineSettings settings = {}) : s_(settings) {}
  // Scores the utterance against the baseline so far, then learns from it
  // (always while calibrating; afterwards only when calm).
  ProsodyScore Observe(const ProsodyFeatures& f);
  ProsodyScore Score(const ProsodyFeatures& f) const;
  bool calibrated() const;
  int utterances() const { return n_; }

 private:
  void Learn(const ProsodyFeatures& f, double weight);
  BaselineSettings s_;
  int n_ = 0;
  double voiced_s_ = 0;
  // Running values (log pitch in semitones re 100 Hz).
  double pitch_st_ = 0, range_st_ = 0, level_ = 0, peak_ = 0, rate_ = 0;
  double pitch_weight_ = 0, level_weight_ = 0, rate_weight_ = 0;
};

}  // namespace kefu::audio
