// The VADs on synthetic signals with known truth (silence, white noise at
// several SNRs, a steady tone, a speech-like glottal-pulse signal) in 10, 20
// and 30 ms frames, on real speech from ../shared/data/speech when present,
// and their refusal of malformed frames.
#include "audio/vad.h"

#include <gtest/gtest.h>
#include <sndfile.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "audio/testing_signals.h"
#include "audio/vad_fake.h"
#include "audio/wav.h"

namespace kefu::audio {
namespace {

using signals::MakeSpeechLike;
using signals::SpeechLike;
using signals::ToPcm;

std::vector<bool> Classify(Vad& vad, const std::vector<int16_t>& pcm, int frame_ms) {
  std::vector<bool> out;
  const size_t n = static_cast<size_t>(frame_ms) * kSamplesPerMs;
  for (size_t off = 0; off + n <= pcm.size(); off += n) {
    auto r = vad.Process(std::span<const int16_t>(pcm).subspan(off, n));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    out.push_back(r.ok() && r->speech);
  }
  return out;
}

// Per-frame truth from per-hop truth: a frame is speech if any of its hops is.
std::vector<bool> FrameTruth(const std::vector<bool>& hops, int frame_ms) {
  const size_t k = static_cast<size_t>(frame_ms / 10);
  std::vector<bool> out;
  for (size_t i = 0; i + k <= hops.size(); i += k) {
    bool any = false;
    for (size_t j = i; j < i + k; ++j) any = any || hops[j];
    out.push_back(any);
  }
  return out;
}

struct Score {
  double recall = 0;       // speech frames called speech
  double false_alarm = 0;  // non-speech frames (at least `guard_ms` from any speech) called speech
};

Score Compare(const std::vector<bool>& got, const std::vector<bool>& truth, int frame_ms, size_t skip_frames,
              int guard_ms = 150) {
  const size_t guard = static_cast<size_t>(guard_ms / frame_ms);
  size_t sp = 0, sp_hit = 0, ns = 0, ns_hit = 0;
  for (size_t i = skip_frames; i < std::min(got.size(), truth.size()); ++i) {
    if (truth[i]) {
      ++sp;
      sp_hit += got[i];
      continue;
    }
    bool near = false;
    for (size_t j = (i > guard ? i - guard : 0); j <= std::min(truth.size() - 1, i + guard); ++j)
      near = near || truth[j];
    if (near) continue;
    ++ns;
    ns_hit += got[i];
  }
  return {sp ? double(sp_hit) / sp : 1.0, ns ? double(ns_hit) / ns : 0.0};
}

// 1 s of lead-in, `speech_s` of speech-like signal, 1 s of tail, in noise of
// `noise_dbfs` (none if <= -100); the speech's level is noise + snr.
signals::Signal SpeechInNoise(double noise_dbfs, double snr_db, double speech_s = 4, uint32_t seed = 3) {
  SpeechLike p;
  p.seconds = speech_s;
  p.level_dbfs = noise_dbfs <= -100 ? -20 : noise_dbfs + snr_db;
  p.seed = seed;
  signals::Signal speech = MakeSpeechLike(p);
  signals::Signal s;
  s.samples = signals::Silence(1);
  signals::Append(s.samples, speech.samples);
  signals::Append(s.samples, signals::Silence(1));
  if (noise_dbfs > -100) signals::MixInto(s.samples, signals::WhiteNoise(speech_s + 2, noise_dbfs, seed + 100));
  s.speech_hops.assign(100, false);
  s.speech_hops.insert(s.speech_hops.end(), speech.speech_hops.begin(), speech.speech_hops.end());
  s.speech_hops.insert(s.speech_hops.end(), 100, false);
  return s;
}

TEST(VadTest, RefusesMalformedFrames) {
  EnergyVad energy;
  auto webrtc = CreateWebRtcVad();
  ASSERT_TRUE(webrtc.ok()) << webrtc.status().ToString();
  FakeVad fake("s");
  std::vector<int16_t> buf(1000, 0);
  for (size_t n : {0, 1, 159, 161, 240, 481, 960}) {
    for (Vad* v : std::initializer_list<Vad*>{&energy, webrtc->get(), &fake}) {
      auto r = v->Process(std::span<const int16_t>(buf).first(n));
      ASSERT_FALSE(r.ok()) << n;
      EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(r.status().message().find(std::to_string(n) + " samples"), std::string::npos);
    }
  }
  EXPECT_EQ(CreateWebRtcVad({.likelihood = 4}).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CreateWebRtcVad({.likelihood = -1}).status().code(), ErrorCode::kInvalidArgument);
}

TEST(VadTest, FakeVadReplaysItsScript) {
  FakeVad fake("..ss.");
  std::vector<int16_t> frame(320, 0);
  std::string got;
  for (int i = 0; i < 7; ++i) got += fake.Process(frame)->speech ? 's' : '.';
  EXPECT_EQ(got, "..ss...");
}

TEST(VadTest, SilenceAndQuietNoiseAreNotSpeech) {
  for (int frame_ms : {10, 20, 30}) {
    EnergyVad vad;
    auto zeros = Classify(vad, ToPcm(signals::Silence(2)), frame_ms);
    EXPECT_EQ(std::count(zeros.begin(), zeros.end(), true), 0) << frame_ms;
    auto hiss = Classify(vad, ToPcm(signals::WhiteNoise(3, -70)), frame_ms);
    EXPECT_EQ(std::count(hiss.begin(), hiss.end(), true), 0) << frame_ms;
  }
}

TEST(VadTest, LoudWhiteNoiseIsNotSpeech) {
  // Broadband noise is flat: rejected from the first frame, whatever its level.
  for (double level : {-50.0, -35.0, -20.0}) {
    EnergyVad vad;
    auto got = Classify(vad, ToPcm(signals::WhiteNoise(4, level, 9)), 20);
    const double fa = double(std::count(got.begin(), got.end(), true)) / got.size();
    EXPECT_LT(fa, 0.02) << level << " dBFS";
  }
}

TEST(VadTest, SteadyToneIsAbsorbedIntoTheFloor) {
  // A steady 1 kHz tone starting from silence reads as speech at first (it is
  // not flat) but is stationary: within 3 s the floor has risen to it.
  EnergyVad vad;
  std::vector<double> x = signals::Silence(0.5);
  signals::Append(x, signals::Tone(8, 1000, -25));
  auto got = Classify(vad, ToPcm(x), 20);
  ASSERT_EQ(got.size(), 425u);
  EXPECT_TRUE(got[30]) << "a tone's onset reads as activity";
  const size_t tail_from = 25 + 150;  // 3 s into the tone
  EXPECT_EQ(std::count(got.begin() + tail_from, got.end(), true), 0);
}

TEST(VadTest, CleanSpeechLikeSignalIsFoundInEveryFrameSize) {
  for (int frame_ms : {10, 20, 30}) {
    EnergyVad vad;
    signals::Signal s = SpeechInNoise(-200, 0);
    auto got = Classify(vad, ToPcm(s.samples), frame_ms);
    Score sc = Compare(got, FrameTruth(s.speech_hops, frame_ms), frame_ms, 0);
    EXPECT_GT(sc.recall, 0.95) << frame_ms;
    EXPECT_LT(sc.false_alarm, 0.01) << frame_ms;
  }
}

TEST(VadTest, SpeechInWhiteNoiseAtSeveralSnrs) {
  struct Case {
    double snr, min_recall, max_fa;
  };
  // Measured figures are printed (docs/audio.md); the bounds sit a little under
  // them. Whole quiet syllables (local SNR under 5 dB) are missed at 10 dB and
  // below: the energy VAD trades recall in noise for no false alarms.
  for (const Case& c : {Case{20, 0.95, 0.02}, Case{10, 0.55, 0.02}, Case{5, 0.35, 0.02}, Case{0, 0.0, 0.02}}) {
    EnergyVad vad;
    auto webrtc = CreateWebRtcVad();
    ASSERT_TRUE(webrtc.ok());
    signals::Signal s = SpeechInNoise(-45, c.snr, 4, 11);
    auto pcm = ToPcm(s.samples);
    auto truth = FrameTruth(s.speech_hops, 20);
    Score e = Compare(Classify(vad, pcm, 20), truth, 20, 25);
    Score w = Compare(Classify(**webrtc, pcm, 20), truth, 20, 25);
    std::printf("SNR %4.0f dB: energy recall %.3f false alarm %.3f | webrtc recall %.3f false alarm %.3f\n", c.snr,
                e.recall, e.false_alarm, w.recall, w.false_alarm);
    EXPECT_GE(e.recall, c.min_recall) << c.snr;
    EXPECT_LE(e.false_alarm, c.max_fa) << c.snr;
  }
}

TEST(VadTest, WebRtcVadFindsSpeechAndIgnoresSilence) {
  auto vad = CreateWebRtcVad();
  ASSERT_TRUE(vad.ok());
  signals::Signal s = SpeechInNoise(-200, 0);
  auto got = Classify(**vad, ToPcm(s.samples), 30);
  Score sc = Compare(got, FrameTruth(s.speech_hops, 30), 30, 0);
  EXPECT_GT(sc.recall, 0.9);
  EXPECT_LT(sc.false_alarm, 0.05);
}

TEST(VadTest, ResetForgetsTheNoiseFloor) {
  EnergyVad vad;
  Classify(vad, ToPcm(signals::Tone(6, 500, -30)), 20);
  EXPECT_GT(vad.last_hop().floor_dbfs, -40);
  vad.Reset();
  std::vector<int16_t> frame(320, 0);
  ASSERT_TRUE(vad.Process(frame).ok());
  EXPECT_LT(vad.last_hop().floor_dbfs, -60);
}

std::filesystem::path SpeechDir() {
  const char* src = std::getenv("KEFU_SOURCE_DIR");
  return std::filesystem::path(src ? src : ".") / ".." / "shared" / "data" / "speech";
}

TEST(VadTest, RealSpeechFiles) {
  const auto dir = SpeechDir();
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << dir << " is absent";
  int files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.path().extension() != ".wav") continue;
    auto pcm = ReadAudioFile16kMono(e.path().string());
    ASSERT_TRUE(pcm.ok()) << pcm.status().ToString();
    // 1 s of quiet room noise around the recording.
    auto pad = ToPcm(signals::WhiteNoise(1, -65, 5));
    std::vector<int16_t> x = pad;
    x.insert(x.end(), pcm->begin(), pcm->end());
    x.insert(x.end(), pad.begin(), pad.end());
    EnergyVad energy;
    auto webrtc = CreateWebRtcVad();
    ASSERT_TRUE(webrtc.ok());
    auto ge = Classify(energy, x, 20), gw = Classify(**webrtc, x, 20);
    const size_t lead = 50, body = pcm->size() / 320;
    auto frac = [&](const std::vector<bool>& g, size_t from, size_t n) {
      return double(std::count(g.begin() + from, g.begin() + from + n, true)) / n;
    };
    std::printf("%s (%.1f s): energy %.2f of frames speech, %.2f in padding | webrtc %.2f, %.2f\n",
                e.path().filename().c_str(), pcm->size() / 16000.0, frac(ge, lead, body),
                (frac(ge, 0, lead) + frac(ge, lead + body + 5, 45)) / 2, frac(gw, lead, body),
                (frac(gw, 0, lead) + frac(gw, lead + body + 5, 45)) / 2);
    EXPECT_GT(frac(ge, lead, body), 0.4) << e.path();
    EXPECT_LT(frac(ge, 0, lead), 0.02) << e.path();
    EXPECT_LT(frac(ge, lead + body + 5, 45), 0.05) << e.path();
    ++files;
  }
  if (files == 0) GTEST_SKIP() << "no .wav under " << dir;
}

TEST(WavTest, RefusesWhatIsNotAudio) {
  auto r = ReadAudioFile16kMono("/nonexistent/x.wav");
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("/nonexistent/x.wav"), std::string::npos);
  const auto text = std::filesystem::temp_directory_path() / ("kefu_wav_" + std::to_string(::getpid()) + ".wav");
  std::FILE* f = std::fopen(text.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("RIFF? no, just text pretending to be a sound file\n", f);
  std::fclose(f);
  EXPECT_EQ(ReadAudioFile16kMono(text.string()).status().code(), ErrorCode::kInvalidArgument);
  std::filesystem::remove(text);
}

// Writes `seconds` of a 1 kHz tone at `rate` Hz with `channels` channels.
std::filesystem::path WriteTone(int rate, int channels, double seconds) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("kefu_tone_" + std::to_string(::getpid()) + "_" + std::to_string(rate) + ".wav");
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  EXPECT_NE(f, nullptr) << sf_strerror(nullptr);
  const auto frames = static_cast<size_t>(seconds * rate);
  std::vector<float> x(frames * channels);
  for (size_t i = 0; i < frames; ++i)
    for (int c = 0; c < channels; ++c) x[i * channels + c] = 0.5f * std::sin(2 * M_PI * 1000.0 * i / rate);
  sf_writef_float(f, x.data(), static_cast<sf_count_t>(frames));
  sf_close(f);
  return path;
}

TEST(WavTest, ResamplesAndMixesDown) {
  const auto path = WriteTone(44'100, 2, 1.5);
  auto pcm = ReadAudioFile16kMono(path.string());
  std::filesystem::remove(path);
  ASSERT_TRUE(pcm.ok()) << pcm.status().ToString();
  EXPECT_NEAR(static_cast<double>(pcm->size()), 24'000, 2);
  // Still a 1 kHz tone at −9 dBFS RMS (0.5 peak): 2000 zero crossings per second.
  int crossings = 0;
  for (size_t i = 1; i < 16'000; ++i) crossings += ((*pcm)[i - 1] < 0) != ((*pcm)[i] < 0);
  EXPECT_NEAR(crossings, 2000, 4);
  EXPECT_NEAR(RmsDbfs(std::span<const int16_t>(*pcm).subspan(1000, 16'000)), -9.03, 0.1);
}

TEST(WavTest, RefusesRatesItWillNotResample) {
  const auto path = WriteTone(96'000, 1, 0.1);
  auto pcm = ReadAudioFile16kMono(path.string());
  std::filesystem::remove(path);
  EXPECT_EQ(pcm.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(pcm.status().message().find("96000 Hz"), std::string::npos);
}

}  // namespace
}  // namespace kefu::audio
