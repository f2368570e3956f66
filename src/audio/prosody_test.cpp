// Prosody features on synthetic glottal-pulse "speech" whose pitch, level and
// syllable rate are set (120 vs 220 Hz, quiet vs loud, slow vs fast), on
// espeak-ng speech generated at different pitch/amplitude/speed (skipped when
// espeak-ng is absent), the caller baseline's scores, and bad input.
#include "audio/prosody.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "audio/testing_signals.h"
#include "audio/wav.h"

namespace kefu::audio {
namespace {

using signals::MakeSpeechLike;
using signals::SpeechLike;

std::unique_ptr<ProsodyAnalyzer> Analyzer(ProsodySettings s = {}) {
  auto a = ProsodyAnalyzer::Create(s);
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  return std::move(a).value();
}

ProsodyFeatures Analyze(const std::vector<int16_t>& pcm, int frame_ms = 20) {
  auto a = Analyzer();
  const size_t n = static_cast<size_t>(frame_ms) * kSamplesPerMs;
  for (size_t off = 0; off + n <= pcm.size(); off += n) {
    Status st = a->Push(std::span<const int16_t>(pcm).subspan(off, n));
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  auto f = a->Finish();
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return f.ok() ? *f : ProsodyFeatures{};
}

ProsodyFeatures AnalyzeSynthetic(SpeechLike p, int frame_ms = 20) {
  return Analyze(signals::ToPcm(MakeSpeechLike(p).samples), frame_ms);
}

double St(double a, double b) {
  return 12 * std::log2(a / b);
}

TEST(ProsodyTest, PitchOfLowAndHighVoices) {
  for (double f0 : {120.0, 220.0}) {
    for (int frame_ms : {10, 30}) {
      ProsodyFeatures f = AnalyzeSynthetic({.seconds = 3, .f0_hz = f0}, frame_ms);
      EXPECT_NEAR(f.pitch_median_hz, f0, f0 * 0.05) << f0 << " Hz, " << frame_ms << " ms";
      EXPECT_GT(f.voiced_s, 1.0);
      EXPECT_GT(f.pitch_range_st, 1.0);
      EXPECT_LT(f.pitch_range_st, 4.0);  // ±8 % swing ≈ 2.7 st between p10 and p90
    }
  }
  // A livelier contour has a wider range.
  ProsodyFeatures flat = AnalyzeSynthetic({.seconds = 3, .f0_hz = 160, .f0_swing = 0.03});
  ProsodyFeatures lively = AnalyzeSynthetic({.seconds = 3, .f0_hz = 160, .f0_swing = 0.25});
  EXPECT_GT(lively.pitch_range_st, flat.pitch_range_st + 4);
}

TEST(ProsodyTest, LevelFollowsTheGain) {
  ProsodyFeatures quiet = AnalyzeSynthetic({.seconds = 3, .level_dbfs = -32});
  ProsodyFeatures loud = AnalyzeSynthetic({.seconds = 3, .level_dbfs = -18});
  EXPECT_NEAR(loud.level_mean_dbfs - quiet.level_mean_dbfs, 14, 1.0);
  EXPECT_NEAR(loud.level_peak_dbfs - quiet.level_peak_dbfs, 14, 1.0);
  EXPECT_NEAR(quiet.pitch_median_hz, loud.pitch_median_hz, 3);  // the level does not move the pitch
}

TEST(ProsodyTest, SyllableRate) {
  ProsodyFeatures slow = AnalyzeSynthetic({.seconds = 4, .syllables_per_s = 3});
  ProsodyFeatures fast = AnalyzeSynthetic({.seconds = 4, .syllables_per_s = 6});
  std::printf("slow: %d nuclei, %.2f/s phonation; fast: %d nuclei, %.2f/s\n", slow.syllables, slow.syllable_rate,
              fast.syllables, fast.syllable_rate);
  EXPECT_NEAR(slow.syllables, 12, 1);
  EXPECT_NEAR(fast.syllables, 24, 2);
  EXPECT_NEAR(fast.syllable_rate / slow.syllable_rate, 2.0, 0.3);
}

TEST(ProsodyTest, BadInput) {
  EXPECT_EQ(ProsodyAnalyzer::Create({.min_pitch_hz = 300, .max_pitch_hz = 200}).status().code(),
            ErrorCode::kInvalidArgument);
  auto a = Analyzer({.max_utterance_ms = 1000});
  std::vector<int16_t> frame(320, 0);
  EXPECT_EQ(a->Push(std::span<const int16_t>(frame).first(100)).code(), ErrorCode::kInvalidArgument);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(a->Push(frame).ok());
  Status over = a->Push(frame);
  EXPECT_EQ(over.code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(a->Finish().status().code(), ErrorCode::kFailedPrecondition);  // all silence
  // Finish started a new utterance: the analyzer takes frames again.
  EXPECT_TRUE(a->Push(frame).ok());
}

// Three calm utterances of one caller (150 Hz, −26 dBFS, 4 syllables/s).
CallerBaseline Calibrated() {
  CallerBaseline b;
  for (uint32_t seed : {1u, 2u, 3u}) {
    ProsodyScore s = b.Observe(AnalyzeSynthetic({.seconds = 2.5, .f0_hz = 150, .level_dbfs = -26, .seed = seed}));
    EXPECT_EQ(s.calibrated, seed > 2) << seed;
  }
  EXPECT_TRUE(b.calibrated());
  return b;
}

TEST(ProsodyTest, BaselineScores) {
  CallerBaseline b = Calibrated();
  ProsodyScore calm = b.Observe(AnalyzeSynthetic({.seconds = 2.5, .f0_hz = 150, .level_dbfs = -26, .seed = 9}));
  // Angry: 4 semitones up, 8 dB louder, 30 % faster.
  const ProsodyFeatures angry_f = AnalyzeSynthetic(
      {.seconds = 2.5, .f0_hz = 189, .f0_swing = 0.15, .syllables_per_s = 5.2, .level_dbfs = -18, .seed = 4});
  ProsodyScore angry = b.Observe(angry_f);
  ProsodyScore high_only = b.Score(AnalyzeSynthetic({.seconds = 2.5, .f0_hz = 189, .level_dbfs = -26, .seed = 5}));
  ProsodyScore loud_only = b.Score(AnalyzeSynthetic({.seconds = 2.5, .f0_hz = 150, .level_dbfs = -18, .seed = 6}));
  std::printf("calm   arousal %.2f anger %.2f (Δpitch %.1f st, Δlevel %.1f dB, rate ×%.2f)\n", calm.arousal, calm.anger,
              calm.pitch_delta_st, calm.level_delta_db, calm.rate_ratio);
  std::printf("angry  arousal %.2f anger %.2f (Δpitch %.1f st, Δlevel %.1f dB, rate ×%.2f)\n", angry.arousal,
              angry.anger, angry.pitch_delta_st, angry.level_delta_db, angry.rate_ratio);
  std::printf("high   arousal %.2f anger %.2f; loud arousal %.2f anger %.2f\n", high_only.arousal, high_only.anger,
              loud_only.arousal, loud_only.anger);
  EXPECT_LT(calm.arousal, 0.3);
  EXPECT_LT(calm.anger, 0.25);
  EXPECT_NEAR(angry.pitch_delta_st, 4, 1);
  EXPECT_NEAR(angry.level_delta_db, 8, 1.5);
  EXPECT_GT(angry.arousal, 0.7);
  EXPECT_GT(angry.anger, 0.6);
  EXPECT_GT(high_only.arousal, calm.arousal + 0.1);
  EXPECT_LT(high_only.anger, 0.35);
  EXPECT_GT(loud_only.anger, high_only.anger);
  // The angry utterance did not move the baseline: the same calm utterance scores the same.
  ProsodyScore again = b.Score(AnalyzeSynthetic({.seconds = 2.5, .f0_hz = 150, .level_dbfs = -26, .seed = 9}));
  EXPECT_NEAR(again.arousal, calm.arousal, 0.05);
}

TEST(ProsodyTest, UncalibratedScoresAreMarked) {
  CallerBaseline b;
  ProsodyScore s = b.Observe(AnalyzeSynthetic({.seconds = 2, .level_dbfs = -10}));
  EXPECT_FALSE(s.calibrated);
  EXPECT_EQ(s.arousal, 0);
  EXPECT_EQ(b.utterances(), 1);
}

TEST(ProsodyTest, ExtremeInputStaysFinite) {
  // Full-scale square wave, DC, alternating ±32767 (Nyquist), random bytes.
  std::vector<std::vector<int16_t>> inputs(4, std::vector<int16_t>(16'000));
  uint32_t rng = 99;
  for (size_t i = 0; i < 16'000; ++i) {
    inputs[0][i] = (i / 40) % 2 ? 32767 : -32768;
    inputs[1][i] = 20'000;
    inputs[2][i] = i % 2 ? 32767 : -32767;
    rng = rng * 1664525u + 1013904223u;
    inputs[3][i] = static_cast<int16_t>(rng >> 16);
  }
  for (const auto& pcm : inputs) {
    auto a = Analyzer();
    for (size_t off = 0; off + 480 <= pcm.size(); off += 480)
      ASSERT_TRUE(a->Push(std::span(pcm).subspan(off, 480)).ok());
    auto f = a->Finish();
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    for (double v : {f->pitch_median_hz, f->pitch_range_st, f->level_mean_dbfs, f->level_peak_dbfs, f->syllable_rate}) {
      EXPECT_TRUE(std::isfinite(v));
    }
    CallerBaseline b;
    for (int i = 0; i < 3; ++i) {
      ProsodyScore sc = b.Observe(*f);
      EXPECT_TRUE(std::isfinite(sc.arousal) && sc.arousal >= 0 && sc.arousal <= 1);
      EXPECT_TRUE(std::isfinite(sc.anger) && sc.anger >= 0 && sc.anger <= 1);
    }
  }
}

TEST(ProsodyTest, RecordedSpeechHasPlausibleFeatures) {
  const char* src = std::getenv("KEFU_SOURCE_DIR");
  const auto dir = std::filesystem::path(src ? src : ".") / ".." / "shared" / "data" / "speech";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << dir << " is absent";
  int files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.path().extension() != ".wav") continue;
    auto pcm = ReadAudioFile16kMono(e.path().string());
    ASSERT_TRUE(pcm.ok());
    pcm->resize(pcm->size() / 320 * 320);
    ProsodyFeatures f = Analyze(*pcm);
    std::printf(
        "%s: pitch %.0f Hz (p10 %.0f, p90 %.0f, range %.1f st), level %.1f / peak %.1f dBFS, %d nuclei, "
        "%.1f/s over %.2f s phonation (%.2f s voiced)\n",
        e.path().filename().c_str(), f.pitch_median_hz, f.pitch_p10_hz, f.pitch_p90_hz, f.pitch_range_st,
        f.level_mean_dbfs, f.level_peak_dbfs, f.syllables, f.syllable_rate, f.phonation_s, f.voiced_s);
    EXPECT_GT(f.pitch_median_hz, 70) << e.path();
    EXPECT_LT(f.pitch_median_hz, 350) << e.path();
    EXPECT_GT(f.voiced_s, 0.2) << e.path();
    EXPECT_GT(f.syllable_rate, 1.5) << e.path();  // conversational speech: ≈ 3–7 syllables/s
    EXPECT_LT(f.syllable_rate, 9) << e.path();
    ++files;
  }
  if (files == 0) GTEST_SKIP() << "no .wav under " << dir;
}

// ---- espeak-ng ----

class EspeakTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("command -v espeak-ng >/dev/null 2>&1") != 0) GTEST_SKIP() << "espeak-ng is not installed";
    dir_ = std::filesystem::temp_directory_path() / ("kefu_prosody_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  // espeak-ng -v VOICE -p PITCH -s SPEED -a AMPLITUDE TEXT → features.
  ProsodyFeatures Say(const std::string& voice, int pitch, int speed, int amp, const std::string& text) {
    const auto wav = dir_ / ("s" + std::to_string(n_++) + ".wav");
    const std::string cmd = "espeak-ng -v " + voice + " -p " + std::to_string(pitch) + " -s " + std::to_string(speed) +
                            " -a " + std::to_string(amp) + " -w " + wav.string() + " '" + text + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    auto pcm = ReadAudioFile16kMono(wav.string());
    EXPECT_TRUE(pcm.ok()) << pcm.status().ToString();
    if (!pcm.ok()) return {};
    pcm->resize(pcm->size() / 480 * 480);
    return Analyze(*pcm, 30);
  }
  std::filesystem::path dir_;
  int n_ = 0;
};

const char* kZh = "请帮我查一下我的订单，已经三天了还没有发货";
const char* kEn = "I ordered a blue jacket last week and it still has not arrived";

TEST_F(EspeakTest, PitchLevelAndRateMoveTheRightWay) {
  for (const auto& [voice, text] : {std::pair{"cmn", kZh}, std::pair{"en", kEn}}) {
    ProsodyFeatures low = Say(voice, 20, 160, 100, text), high = Say(voice, 80, 160, 100, text);
    ProsodyFeatures quiet = Say(voice, 50, 160, 40, text), loud = Say(voice, 50, 160, 160, text);
    ProsodyFeatures slow = Say(voice, 50, 110, 100, text), fast = Say(voice, 50, 240, 100, text);
    std::printf("%s: pitch %.0f→%.0f Hz (%.1f st); level %.1f→%.1f dBFS; rate %.2f→%.2f/s (%d→%d nuclei)\n", voice,
                low.pitch_median_hz, high.pitch_median_hz, St(high.pitch_median_hz, low.pitch_median_hz),
                quiet.level_mean_dbfs, loud.level_mean_dbfs, slow.syllable_rate, fast.syllable_rate, slow.syllables,
                fast.syllables);
    EXPECT_GT(St(high.pitch_median_hz, low.pitch_median_hz), 3) << voice;
    EXPECT_GT(loud.level_mean_dbfs - quiet.level_mean_dbfs, 6) << voice;
    EXPECT_GT(fast.syllable_rate, slow.syllable_rate * 1.3) << voice;
  }
}

TEST_F(EspeakTest, AnExcitedVoiceScoresAboveTheCallersBaseline) {
  CallerBaseline b;
  b.Observe(Say("cmn", 45, 150, 80, "你好，我想问一下我的快递到哪里了"));
  b.Observe(Say("cmn", 45, 150, 80, "订单号是一三八一二三四五六七八"));
  ASSERT_TRUE(b.calibrated());
  ProsodyScore calm = b.Score(Say("cmn", 45, 150, 80, kZh));
  ProsodyScore excited = b.Score(Say("cmn", 75, 210, 180, kZh));
  for (const auto& [name, sc] : {std::pair{"calm", calm}, std::pair{"excited", excited}}) {
    std::printf("espeak %s: arousal %.2f anger %.2f (Δpitch %.1f st, Δrange %.1f st, Δlevel %.1f dB, rate ×%.2f)\n",
                name, sc.arousal, sc.anger, sc.pitch_delta_st, sc.range_delta_st, sc.level_delta_db, sc.rate_ratio);
  }
  // Another sentence in the same voice still departs a little (its own
  // melody and rhythm): under 0.5, not at the 0.18 of the same signal.
  EXPECT_LT(calm.arousal, 0.5);
  EXPECT_GT(excited.arousal, calm.arousal + 0.3);
  EXPECT_GT(excited.anger, calm.anger + 0.3);
}

}  // namespace
}  // namespace kefu::audio
