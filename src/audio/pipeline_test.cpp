// Frames → EnergyVad → Endpointer on real speech (../shared/data/speech, each
// file one sentence: one turn) and on espeak-ng reading a phone number digit
// by digit with word gaps of 300–700 ms (one turn with the adaptive rule,
// several with a fixed 600 ms silence). Skipped without the files / espeak-ng.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

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

class EspeakDigitsTest : public ::testing::TestWithParam<int> {
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

}  // namespace
}  // namespace kefu::audio
