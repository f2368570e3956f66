// The Endpointer on explicit frame sequences: written as runs of speech ('S')
// and silence ('_') in ms, pushed in 10, 20 or 30 ms frames, with the events'
// stream times checked — a sentence, clicks, a short answer, a pause inside an
// utterance, a caller reading a phone number digit by digit (and the same
// sequence cut into pieces once the adaptive rule is switched off), the
// expect-digits hint, the maximum utterance, no input, and bad input.
#include "audio/endpointer.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace kefu::audio {
namespace {

struct Span {
  bool speech;
  int ms;
};
Span S(int ms) {
  return {true, ms};
}
Span Q(int ms) {
  return {false, ms};
}  // quiet

// Pushes the runs in frames of frame_ms (each run's length must be a multiple
// of it) and returns the events as "type@at" (+ "[start,end]" for the end of
// a turn, "[start]" for a start).
std::vector<std::string> Feed(Endpointer& ep, const std::vector<Span>& runs, int frame_ms) {
  std::vector<std::string> out;
  for (const Span& r : runs) {
    EXPECT_EQ(r.ms % frame_ms, 0) << r.ms << " ms in " << frame_ms << " ms frames";
    for (int t = 0; t < r.ms; t += frame_ms) {
      auto ev = ep.Push(r.speech, frame_ms);
      EXPECT_TRUE(ev.ok()) << ev.status().ToString();
      if (!ev.ok()) return out;
      for (const EndpointEvent& e : *ev) {
        std::string s = std::string(EndpointEventName(e.type)) + "@" + std::to_string(e.at_ms);
        if (e.type == EndpointEventType::kSpeechStart) s += "[" + std::to_string(e.start_ms) + "]";
        if (e.type == EndpointEventType::kEndOfTurn) {
          s += "[" + std::to_string(e.start_ms) + "," + std::to_string(e.end_ms) + "]";
          if (e.reason == EndReason::kMaxLength) s += " max_length";
        }
        out.push_back(s);
      }
    }
  }
  return out;
}

Endpointer Make(EndpointerSettings s = {}) {
  auto ep = Endpointer::Create(s);
  EXPECT_TRUE(ep.ok()) << ep.status().ToString();
  return std::move(ep).value();
}

using Events = std::vector<std::string>;

TEST(EndpointerTest, ASentenceStartsAndEndsAfterTheMinimumSilence) {
  // Runs in multiples of 30 ms so that every frame size lands on the same times.
  for (int f : {10, 30}) {
    Endpointer ep = Make();
    EXPECT_EQ(Feed(ep, {Q(300), S(1500), Q(1200)}, f),
              (Events{"speech_start@360[300]", "pause@" + std::to_string(1800 + (250 + f - 1) / f * f),
                      "end_of_turn@2400[300,1800]"}))
        << f;
    EXPECT_EQ(ep.state(), EndpointState::kIdle);
  }
  Endpointer ep = Make();
  EXPECT_EQ(Feed(ep, {Q(300), S(1500), Q(1200)}, 20),
            (Events{"speech_start@360[300]", "pause@2060", "end_of_turn@2400[300,1800]"}));
}

TEST(EndpointerTest, ClicksDoNotOpenAnUtterance) {
  Endpointer ep = Make();
  std::vector<Span> runs;
  for (int i = 0; i < 20; ++i) runs.push_back(S(20)), runs.push_back(Q(200));
  // 40 ms of speech, 40 ms gap, 40 ms of speech: the gap restarts the run.
  runs.push_back(S(40)), runs.push_back(Q(40)), runs.push_back(S(40)), runs.push_back(Q(400));
  EXPECT_EQ(Feed(ep, runs, 20), Events{});
  EXPECT_EQ(ep.state(), EndpointState::kIdle);
  // A one-frame gap inside the opening run is tolerated.
  EXPECT_EQ(Feed(ep, {S(40), Q(20), S(20), Q(1000)}, 20).front(), "speech_start@5000[4920]");
}

TEST(EndpointerTest, AShortAnswerWaitsALittleLonger) {
  Endpointer ep = Make();
  // 好的 (400 ms): one short segment → 900 ms.
  EXPECT_EQ(Feed(ep, {Q(200), S(400), Q(1200)}, 20),
            (Events{"speech_start@260[200]", "pause@860", "end_of_turn@1500[200,600]"}));
}

TEST(EndpointerTest, APauseInsideAnUtteranceGivesAPartialPointNotAnEnd) {
  Endpointer ep = Make();
  EXPECT_EQ(Feed(ep, {S(1200), Q(500), S(1500), Q(600)}, 20),
            (Events{"speech_start@60[0]", "pause@1460", "pause@3460", "end_of_turn@3800[0,3200]"}));
}

// A caller reads 138 1234 5678 digit by digit: each digit 300 ms, pauses of
// 300–700 ms between them. One turn, ended only after the last digit.
std::vector<Span> PhoneNumber() {
  const int pauses[] = {420, 660, 300, 540, 690, 480, 360, 600, 510, 690};
  std::vector<Span> runs{Q(300)};
  for (int i = 0; i < 11; ++i) {
    runs.push_back(S(300));
    if (i < 10) runs.push_back(Q(pauses[i]));
  }
  runs.push_back(Q(1800));
  return runs;
}

TEST(EndpointerTest, DigitByDigitIsOneTurn) {
  for (int f : {10, 30}) {
    Endpointer ep = Make();
    Events ev = Feed(ep, PhoneNumber(), f);
    // Speech: 300 + 11×300 + Σpauses (5250) = 8850 ms; then the burst rule's 1300 ms.
    Events turns;
    for (const auto& e : ev)
      if (e.rfind("pause@", 0) != 0) turns.push_back(e);
    const int end = 8850 + (1300 + f - 1) / f * f;
    EXPECT_EQ(turns, (Events{"speech_start@360[300]", "end_of_turn@" + std::to_string(end) + "[300,8850]"})) << f;
  }
}

TEST(EndpointerTest, WithoutTheAdaptiveRuleTheSameNumberIsCutUp) {
  // The test above can fail: with one fixed 600 ms silence the number becomes
  // five turns (the pauses of 660, 690, 600 and 690 ms each end one).
  EndpointerSettings fixed;
  fixed.after_short_end_silence_ms = fixed.burst_end_silence_ms = fixed.min_end_silence_ms;
  Endpointer ep = Make(fixed);
  int ends = 0;
  for (const auto& e : Feed(ep, PhoneNumber(), 30)) ends += e.rfind("end_of_turn", 0) == 0;
  EXPECT_EQ(ends, 5);
}

TEST(EndpointerTest, TheRequiredSilenceFollowsTheSegments) {
  Endpointer ep = Make();
  EXPECT_EQ(ep.RequiredSilenceMs(), 600);
  Feed(ep, {S(300)}, 20);
  EXPECT_EQ(ep.RequiredSilenceMs(), 900);  // one short segment
  Feed(ep, {Q(400), S(300)}, 20);
  EXPECT_EQ(ep.RequiredSilenceMs(), 1300);  // two in a row
  Feed(ep, {Q(400), S(1200)}, 20);
  EXPECT_EQ(ep.RequiredSilenceMs(), 600);  // then a sentence: back to the minimum
  // A 100 ms dip (under segment_gap_ms) does not split a segment.
  Endpointer ep2 = Make();
  Feed(ep2, {S(500), Q(100), S(500)}, 20);
  EXPECT_EQ(ep2.RequiredSilenceMs(), 600);
}

TEST(EndpointerTest, ExpectDigitsWaitsFromTheFirstSegment) {
  Endpointer ep = Make();
  ep.Listen({.expect_digits = true});
  // A first group read as one 1.2 s segment, a 1 s pause, then the rest.
  EXPECT_EQ(Feed(ep, {S(1200), Q(1020), S(1200), Q(1500)}, 20),
            (Events{"speech_start@60[0]", "pause@1460", "pause@3680", "end_of_turn@4720[0,3420]"}));
  // The hint lasts one turn (the silence goes on to 4920).
  EXPECT_EQ(Feed(ep, {S(1200), Q(600)}, 20).back(), "end_of_turn@6720[4920,6120]");
}

TEST(EndpointerTest, TheMaximumUtteranceEndsEvenInSpeech) {
  EndpointerSettings s;
  s.max_utterance_ms = 5000;
  Endpointer ep = Make(s);
  EXPECT_EQ(Feed(ep, {S(6000), Q(1200)}, 20),
            (Events{"speech_start@60[0]", "end_of_turn@5000[0,5000] max_length", "speech_start@5060[5000]",
                    "pause@6260", "end_of_turn@6600[5000,6000]"}));
}

TEST(EndpointerTest, NoInputOncePerListen) {
  Endpointer ep = Make();
  EXPECT_EQ(Feed(ep, {Q(20'000)}, 20), Events{});  // not listening yet
  ep.Listen();
  EXPECT_EQ(Feed(ep, {Q(20'000)}, 20), Events{"no_input@28000"});
  ep.Listen();
  // 600 ms of speech is one short segment: 900 ms of silence ends it.
  EXPECT_EQ(Feed(ep, {Q(7980), S(600), Q(1000)}, 20),
            (Events{"speech_start@48040[47980]", "pause@48840", "end_of_turn@49480[47980,48580]"}));
  // After a turn the timer is off until the next Listen.
  EXPECT_EQ(Feed(ep, {Q(9000)}, 20), Events{});
  ep.Listen();
  EXPECT_EQ(Feed(ep, {Q(9000)}, 30), Events{"no_input@66590"});  // 58580 + 267 frames
}

TEST(EndpointerTest, RefusesBadFramesAndSettings) {
  Endpointer ep = Make();
  for (int ms : {0, -10, 5, 15, 40, 1000}) {
    auto r = ep.Push(true, ms);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(ep.now_ms(), 0);
  EndpointerSettings s;
  s.min_end_silence_ms = 2000;
  auto bad = Endpointer::Create(s);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("min_end_silence_ms <= after_short_end_silence_ms"), std::string::npos);
  s = {};
  s.max_utterance_ms = 0;
  EXPECT_NE(Endpointer::Create(s).status().message().find("endpointer.max_utterance_ms"), std::string::npos);
}

TEST(EndpointerTest, ResetStartsOver) {
  Endpointer ep = Make();
  Feed(ep, {S(500)}, 20);
  ep.Reset();
  EXPECT_EQ(ep.state(), EndpointState::kIdle);
  EXPECT_EQ(ep.now_ms(), 0);
  EXPECT_EQ(Feed(ep, {S(60)}, 20), Events{"speech_start@60[0]"});
}

}  // namespace
}  // namespace kefu::audio
