// Frames → EnergyVad → Endpointer on real speech (../shared/data/speech, each
// file one sentence: one turn) and on espeak-ng reading a phone number digit
// by digit with word gaps of 300–700 ms (one turn with the adaptive rule,
// several with a fixed 600 ms silence); frames → EnergyVad → BargeInPolicy on
// a caller (espeak-ng) talking over the bot's reply (espeak-ng) whose echo
// comes back late. Skipped without the files / espeak-ng.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "audio/barge_in.h"
#include "audio/endpointer.h"
#include "audio/vad.h"
#include "audio/wav.h"

namespace kefu::audio {
namespace {

struct Turns {
  std::vector<EndpointEvent> ends;
  int starts = 0;
  int max_pause_ms = 0;  // the longest VAD silence between speech inside a turn
};

// 1 s of silence, the recording, 3 s of silence, in 20 ms frames.
Turns Segment(const std::vector<int16_t>& pcm, EndpointerSettings settings = {}) {
  std::vector<int16_t> x(16'000, 0);
  x.insert(x.end(), pcm.begin(), pcm.end());
  x.resize(x.size() + 48'000, 0);
  EnergyVad vad;
  Endpointer ep = Endpointer::Create(settings).value();
  Turns t;
  int silence = 0;
  bool in_turn = false;
  for (size_t off = 0; off + 320 <= x.size(); off += 320) {
    auto v = vad.Process(std::span<const int16_t>(x).subspan(off, 320));
    EXPECT_TRUE(v.ok());
    auto events = ep.Push(v->speech, 20);
    EXPECT_TRUE(events.ok());
    if (v->speech && in_turn) t.max_pause_ms = std::max(t.max_pause_ms, silence);  // a pause that speech ended
    silence = v->speech ? 0 : silence + 20;
    for (const EndpointEvent& e : *events) {
      if (e.type == EndpointEventType::kSpeechStart) ++t.starts, in_turn = true;
      if (e.type == EndpointEventType::kEndOfTurn) t.ends.push_back(e), in_turn = false;
    }
  }
  return t;
}

TEST(PipelineTest, EachRecordedSentenceIsOneTurn) {
  const char* src = std::getenv("KEFU_SOURCE_DIR");
  const auto dir = std::filesystem::path(src ? src : ".") / ".." / "shared" / "data" / "speech";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << dir << " is absent";
  int files = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir)) {
    if (f.path().extension() != ".wav") continue;
    auto pcm = ReadAudioFile16kMono(f.path().string());
    ASSERT_TRUE(pcm.ok()) << pcm.status().ToString();
    Turns t = Segment(*pcm);
    EXPECT_EQ(t.starts, 1) << f.path();
    ASSERT_EQ(t.ends.size(), 1u) << f.path();
    const int64_t audio_end = 1000 + static_cast<int64_t>(pcm->size()) / 16;
    EXPECT_GE(t.ends[0].start_ms, 1000 - 20) << f.path();
    EXPECT_LE(t.ends[0].end_ms, audio_end + 100) << f.path();
    EXPECT_GE(t.ends[0].end_ms, audio_end - 1000) << f.path();
    EXPECT_EQ(t.ends[0].reason, EndReason::kSilence);
    ++files;
  }
  if (files == 0) GTEST_SKIP() << "no .wav under " << dir;
}

class EspeakPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("command -v espeak-ng >/dev/null 2>&1") != 0) GTEST_SKIP() << "espeak-ng is not installed";
  }
  std::vector<int16_t> Say(const std::string& voice, const std::string& text, int gap_10ms) {
    const auto wav = std::filesystem::temp_directory_path() /
                     ("kefu_digits_" + std::to_string(::getpid()) + "_" + voice + std::to_string(gap_10ms) + ".wav");
    const std::string cmd =
        "espeak-ng -v " + voice + " -g " + std::to_string(gap_10ms) + " -w " + wav.string() + " '" + text + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    auto pcm = ReadAudioFile16kMono(wav.string());
    std::filesystem::remove(wav);
    EXPECT_TRUE(pcm.ok());
    return pcm.ok() ? *pcm : std::vector<int16_t>{};
  }
};

class EspeakDigitsTest : public EspeakPipelineTest, public ::testing::WithParamInterface<int> {};

TEST_P(EspeakDigitsTest, APhoneNumberReadDigitByDigitIsOneTurn) {
  const int gap = GetParam();  // espeak-ng -g: extra pause between words, in 10 ms at the default speed
  for (const auto& [voice, text] : {std::pair{"cmn", "一 三 八 一 二 三 四 五 六 七 八"},
                                    std::pair{"en", "one three eight one two three four five six seven eight"}}) {
    const auto pcm = Say(voice, text, gap);
    Turns adaptive = Segment(pcm);
    EndpointerSettings fixed;
    fixed.after_short_end_silence_ms = fixed.burst_end_silence_ms = fixed.min_end_silence_ms;
    Turns plain = Segment(pcm, fixed);
    std::printf("%s -g %d: longest pause %d ms; adaptive %zu turn(s), fixed 600 ms %zu\n", voice, gap,
                adaptive.max_pause_ms, adaptive.ends.size(), plain.ends.size());
    EXPECT_EQ(adaptive.ends.size(), 1u) << voice << " -g " << gap;
    if (adaptive.max_pause_ms >= 600) EXPECT_GT(plain.ends.size(), 1u) << voice << " -g " << gap;
  }
}

INSTANTIATE_TEST_SUITE_P(Gaps, EspeakDigitsTest, ::testing::Values(20, 45, 70));

double Rms(std::span<const int16_t> x) {
  return RmsDbfs(x);
}

TEST_F(EspeakPipelineTest, ACallerTalkingOverTheBotStopsItWithin200Ms) {
  const std::vector<int16_t> bot = Say("cmn", "您好，您的订单已经发货了，预计明天下午送达，请问还有什么可以帮您", 0);
  std::vector<int16_t> caller = Say("en+f3", "wait, I need to change the address", 0);
  ASSERT_GT(bot.size(), 16'000u * 4);
  constexpr size_t kCallerAt = 24'000;                                      // 1.5 s into the reply
  constexpr size_t kEchoDelay = 1'920;                                      // 120 ms
  constexpr double kEchoGain = 0.0794;                                      // −22 dB
  const double caller_gain = std::pow(10.0, (-20.0 - Rms(caller)) / 20.0);  // caller ≈ −20 dBFS RMS overall
  std::vector<int16_t> mic(bot.size(), 0);
  std::vector<int16_t> caller_alone(bot.size(), 0);
  uint32_t rng = 12345;
  for (size_t i = 0; i < mic.size(); ++i) {
    double v = i >= kEchoDelay ? bot[i - kEchoDelay] * kEchoGain : 0.0;
    if (i >= kCallerAt && i - kCallerAt < caller.size()) {
      caller_alone[i] = static_cast<int16_t>(caller[i - kCallerAt] * caller_gain);
      v += caller_alone[i];
    }
    rng = rng * 1664525u + 1013904223u;
    v += (static_cast<int>(rng >> 16) % 65 - 32);  // ≈ −60 dBFS hiss
    mic[i] = static_cast<int16_t>(std::clamp(v, -32768.0, 32767.0));
  }
  // The caller's onset: the first 10 ms of the caller alone above −45 dBFS.
  int64_t onset_ms = -1;
  for (size_t off = kCallerAt; off + 160 <= caller_alone.size() && onset_ms < 0; off += 160) {
    if (Rms(std::span<const int16_t>(caller_alone).subspan(off, 160)) > -45) onset_ms = static_cast<int64_t>(off) / 16;
  }
  ASSERT_GT(onset_ms, 0);
  EnergyVad vad;
  auto policy = BargeInPolicy::Create().value();
  policy.PlaybackStarted();
  std::vector<std::pair<int64_t, BargeInAction>> actions;
  for (size_t off = 0; off + 320 <= mic.size(); off += 320) {
    auto frame = std::span<const int16_t>(mic).subspan(off, 320);
    auto v = vad.Process(frame);
    ASSERT_TRUE(v.ok());
    const int64_t end = static_cast<int64_t>(off + 320) / 16;
    auto a = policy.OnFrame({end, 20, v->speech, v->level_dbfs, Rms(std::span<const int16_t>(bot).subspan(off, 320))});
    ASSERT_TRUE(a.ok());
    if (*a != BargeInAction::kNone) actions.emplace_back(end, *a);
  }
  ASSERT_FALSE(actions.empty());
  std::printf("caller onset %lld ms; first action %s at %lld ms (+%lld ms)\n", static_cast<long long>(onset_ms),
              std::string(BargeInActionName(actions[0].second)).c_str(), static_cast<long long>(actions[0].first),
              static_cast<long long>(actions[0].first - onset_ms));
  EXPECT_EQ(actions[0].second, BargeInAction::kStop);
  EXPECT_GE(actions[0].first, onset_ms) << "the echo alone stopped the bot";
  EXPECT_LE(actions[0].first - onset_ms, 200);
}

}  // namespace
}  // namespace kefu::audio
