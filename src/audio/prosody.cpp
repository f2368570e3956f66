#include "audio/prosody.h"

#include <aubio/aubio.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace kefu::audio {
namespace {

constexpr int kPitchWindow = 512;  // 32 ms: periods down to 62.5 Hz

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

double Semitones(double hz, double ref_hz) {
  return 12.0 * std::log2(hz / ref_hz);
}
double Sigmoid(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}
double Clamp3(double x) {
  return std::clamp(x, -3.0, 3.0);
}

// Which hops are voiced, and their pitch (0 = unvoiced): confidence ≥
// min_confidence, in runs of at least min_voiced_run hops (a lone hop is more
// often an error than a syllable), and within octave_outlier_ratio of the
// utterance's centre — the median of the confident hops (≥ 0.85) when there
// are enough of them — which drops yin's octave and sub-harmonic errors.
std::vector<double> Voicing(const std::vector<float>& f0, const std::vector<float>& conf, const ProsodySettings& s) {
  const size_t n = f0.size();
  std::vector<double> out(n, 0.0);
  for (size_t i = 0; i < n; ++i)
    if (f0[i] > 0 && conf[i] >= s.min_confidence) out[i] = f0[i];
  for (size_t i = 0; i < n;) {
    if (out[i] == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < n && out[j] > 0) ++j;
    if (static_cast<int>(j - i) < s.min_voiced_run) std::fill(out.begin() + i, out.begin() + j, 0.0);
    i = j;
  }
  std::vector<double> confident, all;
  for (size_t i = 0; i < n; ++i) {
    if (out[i] == 0) continue;
    all.push_back(out[i]);
    if (conf[i] >= 0.85) confident.push_back(out[i]);
  }
  if (all.empty()) return out;
  const double centre = Percentile(confident.size() >= 10 ? confident : all, 0.5);
  for (double& hz : out) {
    if (hz > 0 && (hz > centre * s.octave_outlier_ratio || hz < centre / s.octave_outlier_ratio)) hz = 0;
  }
  return out;
}

}  // namespace

struct ProsodyAnalyzer::Impl {
  ProsodySettings s;
  aubio_pitch_t* pitch = nullptr;
  fvec_t* in = nullptr;
  fvec_t* out = nullptr;
  // Per 10 ms hop: level (dBFS), the detector's pitch (Hz; 0 outside the
  // pitch range or below the level floor) and its confidence.
  std::vector<float> level, f0, conf;
  size_t max_hops = 0;

  ~Impl() {
    if (pitch) del_aubio_pitch(pitch);
    if (in) del_fvec(in);
    if (out) del_fvec(out);
  }
};

ProsodyAnalyzer::ProsodyAnalyzer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProsodyAnalyzer::~ProsodyAnalyzer() = default;

Result<std::unique_ptr<ProsodyAnalyzer>> ProsodyAnalyzer::Create(ProsodySettings s) {
  if (!(s.min_pitch_hz >= 50 && s.min_pitch_hz < s.max_pitch_hz && s.max_pitch_hz <= 1000)) {
    return InvalidArgument("prosody: need 50 <= min_pitch_hz < max_pitch_hz <= 1000");
  }
  if (s.min_confidence < 0 || s.min_confidence > 1) return InvalidArgument("prosody.min_confidence outside [0, 1]");
  if (s.min_voiced_run < 1 || s.min_voiced_run > 50) return InvalidArgument("prosody.min_voiced_run outside [1, 50]");
  if (!(s.octave_outlier_ratio >= 1.2 && s.octave_outlier_ratio <= 4)) {
    return InvalidArgument("prosody.octave_outlier_ratio outside [1.2, 4]");
  }
  if (s.max_utterance_ms < 1000 || s.max_utterance_ms > 600'000) {
    return InvalidArgument("prosody.max_utterance_ms outside [1000, 600000]");
  }
  auto impl = std::make_unique<Impl>();
  impl->s = s;
  impl->pitch = new_aubio_pitch("yinfast", kPitchWindow, kHopSamples, kSampleRateHz);
  impl->in = new_fvec(kHopSamples);
  impl->out = new_fvec(1);
  if (!impl->pitch || !impl->in || !impl->out) return Unavailable("aubio: cannot create the yinfast pitch detector");
  aubio_pitch_set_unit(impl->pitch, "Hz");
  aubio_pitch_set_silence(impl->pitch, static_cast<smpl_t>(s.min_level_dbfs));
  impl->max_hops = static_cast<size_t>(s.max_utterance_ms / 10);
  impl->level.reserve(std::min<size_t>(impl->max_hops, 3000));
  impl->f0.reserve(std::min<size_t>(impl->max_hops, 3000));
  impl->conf.reserve(std::min<size_t>(impl->max_hops, 3000));
  return std::unique_ptr<ProsodyAnalyzer>(new ProsodyAnalyzer(std::move(impl)));
}

void ProsodyAnalyzer::Reset() {
  impl_->level.clear();
  impl_->f0.clear();
  impl_->conf.clear();
  // A fresh detector: yinfast keeps the last window. Should aubio fail to
  // allocate one, Push says so instead of using a null detector.
  if (impl_->pitch) del_aubio_pitch(impl_->pitch);
  impl_->pitch = new_aubio_pitch("yinfast", kPitchWindow, kHopSamples, kSampleRateHz);
  if (impl_->pitch) {
    aubio_pitch_set_unit(impl_->pitch, "Hz");
    aubio_pitch_set_silence(impl_->pitch, static_cast<smpl_t>(impl_->s.min_level_dbfs));
  }
}

Status ProsodyAnalyzer::Push(std::span<const int16_t> frame) {
  KEFU_RETURN_IF_ERROR(CheckFrame(frame));
  Impl& m = *impl_;
  if (!m.pitch) return Unavailable("aubio: the yinfast pitch detector could not be created");
  const size_t hops = frame.size() / kHopSamples;
  if (m.level.size() + hops > m.max_hops) {
    return ResourceExhausted("prosody: utterance longer than " + std::to_string(m.s.max_utterance_ms) + " ms");
  }
  for (size_t h = 0; h < hops; ++h) {
    auto hop = frame.subspan(h * kHopSamples, kHopSamples);
    for (int i = 0; i < kHopSamples; ++i) m.in->data[i] = static_cast<smpl_t>(hop[i] / 32768.0);
    aubio_pitch_do(m.pitch, m.in, m.out);
    const double hz = m.out->data[0];
    const double conf = aubio_pitch_get_confidence(m.pitch);
    const double level = RmsDbfs(hop);
    const bool in_range = level >= m.s.min_level_dbfs && hz >= m.s.min_pitch_hz && hz <= m.s.max_pitch_hz;
    m.level.push_back(static_cast<float>(level));
    m.f0.push_back(in_range ? static_cast<float>(hz) : 0.0f);
    m.conf.push_back(in_range ? static_cast<float>(conf) : 0.0f);
  }
  return Status::Ok();
}

Result<ProsodyFeatures> ProsodyAnalyzer::Finish() {
  Impl& m = *impl_;
  const std::vector<double> level(m.level.begin(), m.level.end());
  std::vector<double> f0 = Voicing(m.f0, m.conf, m.s);
  Reset();
  const size_t n = level.size();
  ProsodyFeatures out;
  out.duration_s = n * 0.01;
  const double p95 = Percentile(level, 0.95);
  const double phon_floor = std::max(p95 - m.s.phonation_range_db, m.s.min_level_dbfs);
  std::vector<double> phon, voiced;
  for (size_t i = 0; i < n; ++i) {
    if (level[i] >= phon_floor) phon.push_back(level[i]);
    if (f0[i] > 0) voiced.push_back(f0[i]);
  }
  if (phon.empty()) return FailedPrecondition("prosody: the utterance has no phonation (silence)");
  out.phonation_s = phon.size() * 0.01;
  out.voiced_s = voiced.size() * 0.01;
  double sum = 0;
  for (double l : phon) sum += l;
  out.level_mean_dbfs = sum / phon.size();
  out.level_peak_dbfs = p95;
  if (!voiced.empty()) {
    out.pitch_median_hz = Percentile(voiced, 0.5);
    out.pitch_p10_hz = Percentile(voiced, 0.1);
    out.pitch_p90_hz = Percentile(voiced, 0.9);
    out.pitch_range_st = Semitones(out.pitch_p90_hz, out.pitch_p10_hz);
  }

  // Syllable nuclei on the 50 ms-smoothed level contour.
  std::vector<double> smooth(n);
  for (size_t i = 0; i < n; ++i) {
    double s = 0;
    int c = 0;
    for (size_t j = (i >= 2 ? i - 2 : 0); j <= std::min(n - 1, i + 2); ++j) s += level[j], ++c;
    smooth[i] = s / c;
  }
  auto voiced_near = [&](size_t i) {
    for (size_t j = (i >= 2 ? i - 2 : 0); j <= std::min(n - 1, i + 2); ++j)
      if (f0[j] > 0) return true;
    return false;
  };
  const double nucleus_floor = std::max(p95 - m.s.nucleus_range_db, m.s.min_level_dbfs);
  std::vector<size_t> peaks;
  for (size_t i = 1; i + 1 < n; ++i) {
    if (!(smooth[i] >= smooth[i - 1] && smooth[i] > smooth[i + 1])) continue;
    if (smooth[i] < nucleus_floor || !voiced_near(i)) continue;
    if (peaks.empty()) {
      peaks.push_back(i);
      continue;
    }
    const size_t q = peaks.back();
    const double dip = *std::min_element(smooth.begin() + static_cast<std::ptrdiff_t>(q),
                                         smooth.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    if (dip <= std::min(smooth[q], smooth[i]) - m.s.nucleus_dip_db) {
      peaks.push_back(i);
    } else if (smooth[i] > smooth[q]) {
      peaks.back() = i;  // the same nucleus, a higher top
    }
  }
  out.syllables = static_cast<int>(peaks.size());
  out.syllable_rate = out.syllables / out.phonation_s;
  return out;
}

// ---- CallerBaseline ----
//
// Departures from the baseline, each scaled to "one notable step" and clamped to ±3:
//   zp = Δ median pitch / 3 st      zg = Δ pitch range / 4 st
//   ze = Δ mean level / 6 dB        zk = Δ peak level / 6 dB
//   zr = (rate / baseline rate − 1) / 0.25
// arousal = σ(2.5·(0.30 zp + 0.30 ze + 0.15 zr + 0.15 zg + 0.10 zk − 0.6))
// anger   = σ(3.0·(0.40 ze + 0.20 zk + 0.15 zp + 0.15 zr + 0.10 zg − 0.7))
// (σ the logistic function). At the baseline arousal ≈ 0.18 and anger ≈ 0.11;
// louder + higher + faster raises both; higher pitch alone raises arousal more
// than anger (loudness weighs most in anger, as in the acoustic-correlates
// literature on hot anger). Pitch terms are left out when the utterance has
// less than min_voiced_s of voicing.

bool CallerBaseline::calibrated() const {
  return n_ >= s_.calibration_utterances && voiced_s_ >= s_.calibration_voiced_s && pitch_weight_ > 0;
}

ProsodyScore CallerBaseline::Score(const ProsodyFeatures& f) const {
  ProsodyScore sc;
  if (!calibrated()) return sc;
  sc.calibrated = true;
  const bool pitch = f.voiced_s >= s_.min_voiced_s && f.pitch_median_hz > 0;
  if (pitch) {
    sc.pitch_delta_st = Semitones(f.pitch_median_hz, 100) - pitch_st_;
    sc.range_delta_st = f.pitch_range_st - range_st_;
  }
  sc.level_delta_db = f.level_mean_dbfs - level_;
  sc.peak_delta_db = f.level_peak_dbfs - peak_;
  sc.rate_ratio = rate_ > 0 && f.syllable_rate > 0 ? f.syllable_rate / rate_ : 1;
  const double zp = Clamp3(sc.pitch_delta_st / 3), zg = Clamp3(sc.range_delta_st / 4);
  const double ze = Clamp3(sc.level_delta_db / 6), zk = Clamp3(sc.peak_delta_db / 6);
  const double zr = Clamp3((sc.rate_ratio - 1) / 0.25);
  sc.arousal = Sigmoid(2.5 * (0.30 * zp + 0.30 * ze + 0.15 * zr + 0.15 * zg + 0.10 * zk - 0.6));
  sc.anger = Sigmoid(3.0 * (0.40 * ze + 0.20 * zk + 0.15 * zp + 0.15 * zr + 0.10 * zg - 0.7));
  return sc;
}

void CallerBaseline::Learn(const ProsodyFeatures& f, double alpha) {
  // alpha < 0: calibration, a running mean weighted by phonation / voiced time.
  auto mix = [&](double& value, double& weight, double x, double w) {
    if (w <= 0) return;
    if (alpha < 0 || weight == 0) {
      value = (value * weight + x * w) / (weight + w);
      weight += w;
    } else {
      value = (1 - alpha) * value + alpha * x;
    }
  };
  if (f.voiced_s >= s_.min_voiced_s && f.pitch_median_hz > 0) {
    double w = pitch_weight_;
    mix(pitch_st_, w, Semitones(f.pitch_median_hz, 100), f.voiced_s);
    double w2 = pitch_weight_;
    mix(range_st_, w2, f.pitch_range_st, f.voiced_s);
    pitch_weight_ = w;
  }
  double lw = level_weight_;
  mix(level_, lw, f.level_mean_dbfs, f.phonation_s);
  double lw2 = level_weight_;
  mix(peak_, lw2, f.level_peak_dbfs, f.phonation_s);
  level_weight_ = lw;
  if (f.syllables > 0) mix(rate_, rate_weight_, f.syllable_rate, f.phonation_s);
  voiced_s_ += f.voiced_s;
  ++n_;
}

ProsodyScore CallerBaseline::Observe(const ProsodyFeatures& f) {
  ProsodyScore sc = Score(f);
  if (!calibrated()) {
    Learn(f, -1);
  } else if (sc.arousal < s_.learn_below_arousal) {
    Learn(f, s_.ema_alpha);
  }
  return sc;
}

}  // namespace kefu::audio
