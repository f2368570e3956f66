#include "voice/session.h"

#include <gtest/gtest.h>

#include <cmath>
#include <deque>
#include <string>
#include <vector>

#include "audio/vad_fake.h"
#include "common/thread_pool.h"

namespace kefu::voice {
namespace {

// Runs submitted tasks when the test says so (a worker pool held still).
class ManualExecutor {
 public:
  SubmitFn Fn() {
    return [this](std::function<void()> t) {
      if (refuse) return false;
      tasks_.push_back(std::move(t));
      return true;
    };
  }
  size_t pending() const { return tasks_.size(); }
  void RunAll() {
    while (!tasks_.empty()) {
      auto t = std::move(tasks_.front());
      tasks_.pop_front();
      t();
    }
  }
  bool refuse = false;

 private:
  std::deque<std::function<void()>> tasks_;
};

SubmitFn Inline() {
  return [](std::function<void()> t) {
    t();
    return true;
  };
}

// What the session emitted, in order, as short strings.
struct Recorder {
  std::vector<std::string> log;
  std::vector<Utterance> utterances;
  std::vector<std::string> chunks;
  std::vector<size_t> tts_calls_at_audio_start;
  std::vector<int64_t> partial_at_ms;  // clock time of each partial
  FakeTts* tts = nullptr;
  const FakeClock* clock = nullptr;

  VoiceSessionEvents Events() {
    VoiceSessionEvents e;
    e.speech_started = [this] { log.push_back("speech_started"); };
    e.partial = [this](const std::string& text) {
      log.push_back("partial:" + text);
      if (clock) partial_at_ms.push_back(clock->NowMs());
    };
    e.utterance = [this](Utterance&& u) {
      log.push_back("utterance:" + u.transcript.text);
      utterances.push_back(std::move(u));
    };
    e.no_speech = [this] { log.push_back("no_speech"); };
    e.audio_start = [this](int64_t reply, size_t i, const std::string& text, int rate) {
      log.push_back("audio_start:" + std::to_string(reply) + ":" + std::to_string(i) + ":" + text + "@" +
                    std::to_string(rate));
      if (tts) tts_calls_at_audio_start.push_back(tts->texts().size());
    };
    e.audio_chunk = [this](int64_t, size_t, std::string&& b) { chunks.push_back(std::move(b)); };
    e.audio_end = [this](int64_t reply, size_t i) {
      log.push_back("audio_end:" + std::to_string(reply) + ":" + std::to_string(i));
    };
    e.barge_in = [this] { log.push_back("barge_in"); };
    e.error = [this](const Status& s) { log.push_back("error:" + std::string(ErrorCodeName(s.code()))); };
    return e;
  }
  int Count(const std::string& prefix) const {
    int n = 0;
    for (auto& l : log) n += l.rfind(prefix, 0) == 0;
    return n;
  }
};

// `ms` of a 200 Hz tone (what FakeVad calls speech or not is its script's business).
std::vector<int16_t> Tone(int ms, double amplitude = 3000, int rate = 16000) {
  std::vector<int16_t> v(size_t(ms) * rate / 1000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = int16_t(amplitude * std::sin(2 * M_PI * 200 * double(i) / rate));
  return v;
}

std::string Bytes(const std::vector<int16_t>& s) {
  std::string b(s.size() * 2, '\0');
  for (size_t i = 0; i < s.size(); ++i) {
    b[2 * i] = char(uint16_t(s[i]) & 0xff);
    b[2 * i + 1] = char(uint16_t(s[i]) >> 8);
  }
  return b;
}

// Script: `lead` silent frames, `speech` speech frames, then silence.
std::string Script(int lead, int speech) { return std::string(size_t(lead), '.') + std::string(size_t(speech), 's') + "."; }

class VoiceSessionTest : public ::testing::Test {
 protected:
  std::shared_ptr<VoiceSession> Make(std::string script, SubmitFn submit, VoiceSessionSettings s = {},
                                     double level = -20) {
    return MakeWith(asr_, std::move(script), std::move(submit), std::move(s), level);
  }
  std::shared_ptr<VoiceSession> MakeWith(Asr& asr, std::string script, SubmitFn submit, VoiceSessionSettings s = {},
                                         double level = -20) {
    rec_.tts = &tts_;
    rec_.clock = &clock_;
    auto vs = VoiceSession::Create(asr, &tts_, std::make_unique<audio::FakeVad>(std::move(script), level),
                                   std::move(submit), clock_, rec_.Events(), std::move(s));
    EXPECT_TRUE(vs.ok()) << vs.status().ToString();
    return vs.ok() ? *vs : nullptr;
  }
  // Pushes `ms` of audio in 20 ms messages.
  void Feed(VoiceSession& vs, int ms) {
    auto tone = Tone(20);
    for (int t = 0; t < ms; t += 20) ASSERT_TRUE(vs.PushAudio(Bytes(tone)).ok());
  }
  // The same in real time: the clock advances 20 ms per message.
  void FeedLive(VoiceSession& vs, int ms) {
    auto tone = Tone(20);
    for (int t = 0; t < ms; t += 20) {
      clock_.AdvanceMs(20);
      ASSERT_TRUE(vs.PushAudio(Bytes(tone)).ok());
    }
  }
  std::vector<std::string> Partials() const {
    std::vector<std::string> out;
    for (auto& l : rec_.log)
      if (l.rfind("partial:", 0) == 0) out.push_back(l.substr(8));
    return out;
  }

  FakeAsr asr_;
  FakeTts tts_;
  FakeClock clock_;
  Recorder rec_;
};

TEST_F(VoiceSessionTest, SpeechThenSilenceIsOneUtteranceWithItsAudio) {
  Transcript t;
  t.text = "  where is my parcel ";
  asr_.Enqueue(t);
  auto vs = Make(Script(10, 50), Inline());
  Feed(*vs, 200);  // 10 silent frames
  EXPECT_TRUE(rec_.log.empty());
  Feed(*vs, 1000);  // 1 s of speech
  ASSERT_EQ(rec_.log.size(), 1u);
  EXPECT_EQ(rec_.log[0], "speech_started");
  Feed(*vs, 2000);  // the endpointer's end-of-turn silence passes
  ASSERT_EQ(rec_.log.size(), 2u) << ::testing::PrintToString(rec_.log);
  EXPECT_EQ(rec_.log[1], "utterance:where is my parcel");
  ASSERT_EQ(asr_.calls().size(), 1u);
  // The speech, the pre-roll before it (200 ms, of which the 60 ms opening run is part) and a 100 ms tail.
  const double secs = asr_.calls()[0].seconds();
  EXPECT_GE(secs, 1.0);
  EXPECT_LE(secs, 1.0 + 0.2 + 0.1 + 0.05);
  EXPECT_EQ(asr_.calls()[0].sample_rate, 16000);
  ASSERT_EQ(rec_.utterances.size(), 1u);
  EXPECT_EQ(rec_.utterances[0].audio.samples.size(), asr_.calls()[0].samples.size());
  EXPECT_TRUE(rec_.utterances[0].prosody_ok);       // a steady tone has pitch …
  EXPECT_FALSE(rec_.utterances[0].prosody.calibrated);  // … but one utterance is no baseline yet
  EXPECT_GE(rec_.utterances[0].start_ms, 0);
  EXPECT_GT(rec_.utterances[0].end_ms, rec_.utterances[0].start_ms);
}

TEST_F(VoiceSessionTest, EmptyTranscriptIsNoSpeech) {
  asr_.Enqueue(Transcript{});
  auto vs = Make(Script(0, 30), Inline());
  Feed(*vs, 3000);
  EXPECT_EQ(rec_.log, (std::vector<std::string>{"speech_started", "no_speech"}));
}

TEST_F(VoiceSessionTest, AsrFailureIsAnErrorAndTheCallGoesOn) {
  asr_.Enqueue(Unavailable("engine down"));
  Transcript t;
  t.text = "hello";
  asr_.Enqueue(t);
  auto vs = Make(Script(0, 30) + std::string(80, '.') + Script(0, 30), Inline());
  Feed(*vs, 5000);
  EXPECT_EQ(rec_.log, (std::vector<std::string>{"speech_started", "error:unavailable", "speech_started",
                                                "utterance:hello"}));
}

TEST_F(VoiceSessionTest, PushToTalkEndsTheTurnAtOnce) {
  Transcript t;
  t.text = "refund";
  asr_.Enqueue(t);
  auto vs = Make(std::string(1000, 's'), Inline());
  Feed(*vs, 800);
  ASSERT_EQ(rec_.log, std::vector<std::string>{"speech_started"});
  vs->EndOfTurn();
  EXPECT_EQ(rec_.log, (std::vector<std::string>{"speech_started", "utterance:refund"}));
  // Nothing to end: no speech.
  vs->EndOfTurn();
  EXPECT_EQ(rec_.log.back(), "no_speech");
}

TEST_F(VoiceSessionTest, ReleasingAfterTheSilenceEndedTheTurnIsNotNoSpeech) {
  auto vs = Make(Script(0, 30), Inline());
  Feed(*vs, 2000);  // the endpointer ended the utterance …
  ASSERT_EQ(rec_.Count("utterance:"), 1);
  vs->EndOfTurn();  // … before the button came up
  EXPECT_EQ(rec_.Count("no_speech"), 0);
  vs->EndOfTurn();  // a second press with nothing said is
  EXPECT_EQ(rec_.Count("no_speech"), 1);
}

TEST_F(VoiceSessionTest, PushToTalkTakesAudioTheVadCalledSilence) {
  Transcript t;
  t.text = "quiet words";
  asr_.Enqueue(t);
  auto vs = Make(".", Inline());  // the VAD never hears speech
  Feed(*vs, 600);
  vs->EndOfTurn();
  EXPECT_EQ(rec_.log, std::vector<std::string>{"utterance:quiet words"});
  ASSERT_EQ(asr_.calls().size(), 1u);
  EXPECT_NEAR(asr_.calls()[0].seconds(), 0.6, 0.021);
}

TEST_F(VoiceSessionTest, LongSpeechIsCutAtTheMaximumUtterance) {
  VoiceSessionSettings s;
  s.endpointer.max_utterance_ms = 2000;
  auto vs = Make(std::string(10000, 's'), Inline(), s);
  Feed(*vs, 5000);
  EXPECT_EQ(rec_.Count("utterance:"), 2);
  for (const Pcm& p : asr_.calls()) EXPECT_LE(p.seconds(), 2.0 + 0.2 + 0.1 + 0.05);
}

TEST_F(VoiceSessionTest, RecognitionRunsOnTheExecutorAndTheBacklogIsBounded) {
  ManualExecutor ex;
  VoiceSessionSettings s;
  s.max_pending_utterances = 2;
  std::string script;
  for (int i = 0; i < 3; ++i) script += std::string(30, 's') + std::string(80, '.');
  auto vs = Make(script, ex.Fn(), s);
  Feed(*vs, 3 * 110 * 20);
  // Three utterances ended; none recognised yet (nothing ran on the I/O thread); the third was refused.
  EXPECT_EQ(asr_.calls().size(), 0u);
  EXPECT_EQ(rec_.Count("error:resource_exhausted"), 1);
  EXPECT_EQ(ex.pending(), 1u);  // one job runs the session's queue in order
  ex.RunAll();
  EXPECT_EQ(asr_.calls().size(), 2u);
  EXPECT_EQ(rec_.Count("utterance:"), 2);
}

TEST_F(VoiceSessionTest, RepliesAreSpokenSentenceBySentenceFirstBeforeTheRest) {
  VoiceSessionSettings s;
  s.tts_sample_rate = 16000;
  auto vs = Make(".", Inline(), s);
  vs->Speak(7, "Your parcel left yesterday. It arrives tomorrow! Anything else?");
  EXPECT_EQ(rec_.Count("audio_start:"), 3);
  EXPECT_EQ(rec_.log[0], "audio_start:7:0:Your parcel left yesterday.@16000");
  EXPECT_EQ(rec_.log[1], "audio_end:7:0");
  EXPECT_EQ(rec_.log[2], "audio_start:7:1:It arrives tomorrow!@16000");
  EXPECT_EQ(rec_.log[5], "audio_end:7:2");
  // Sentence i went out when only i+1 sentences had been synthesised.
  EXPECT_EQ(rec_.tts_calls_at_audio_start, (std::vector<size_t>{1, 2, 3}));
  // FakeTts: 60 ms per character at 16 kHz, sent as pcm16 in chunks of at most max_chunk_bytes.
  size_t bytes = 0;
  for (auto& c : rec_.chunks) {
    EXPECT_LE(c.size(), s.max_chunk_bytes);
    EXPECT_EQ(c.size() % 2, 0u);
    bytes += c.size();
  }
  const size_t chars = std::string("Your parcel left yesterday.It arrives tomorrow!Anything else?").size();
  EXPECT_EQ(bytes, chars * 60 * 16 * 2);
}

TEST_F(VoiceSessionTest, ReplyAudioIsResampledToTheAnnouncedRate) {
  VoiceSessionSettings s;
  s.tts_sample_rate = 24000;
  auto vs = Make(".", Inline(), s);
  vs->Speak(1, "Hello.");
  ASSERT_EQ(rec_.log.front(), "audio_start:1:0:Hello.@24000");
  size_t bytes = 0;
  for (auto& c : rec_.chunks) bytes += c.size();
  EXPECT_NEAR(double(bytes) / 2 / 24000, 6 * 0.060, 0.01);
}

TEST_F(VoiceSessionTest, TtsFailureStopsTheReplyWithAnError) {
  tts_.EnqueueError(Unavailable("tts down"));
  auto vs = Make(".", Inline());
  vs->Speak(3, "One. Two.");
  EXPECT_EQ(rec_.log, std::vector<std::string>{"error:unavailable"});
}

TEST_F(VoiceSessionTest, ALongReplyIsSpokenUpToTheBound) {
  VoiceSessionSettings s;
  s.max_reply_audio_s = 2.0;  // FakeTts: 60 ms a character → a 20-character sentence is 1.2 s
  auto vs = Make(".", Inline(), s);
  vs->Speak(3, "Twenty characters!!. Twenty characters!!. Twenty characters!!.");
  EXPECT_EQ(rec_.Count("audio_end:"), 1);
}

TEST_F(VoiceSessionTest, SpeakingWhileTheCustomerTalksOverItIsABargeIn) {
  ManualExecutor ex;
  auto vs = Make(Script(25, 60), ex.Fn());
  vs->Speak(9, "First sentence. Second sentence. Third one.");
  vs->SetPlayback(true);
  EXPECT_TRUE(vs->speaking());
  Feed(*vs, 500);  // silence while the reply plays
  EXPECT_EQ(rec_.Count("barge_in"), 0);
  Feed(*vs, 1200);  // the customer talks over it for longer than a backchannel
  EXPECT_EQ(rec_.Count("barge_in"), 1);
  // The reply queued before the barge-in sends nothing.
  ex.RunAll();
  EXPECT_EQ(rec_.Count("audio_start:"), 0);
  // The customer's words are still a turn.
  Feed(*vs, 2000);
  ex.RunAll();
  EXPECT_EQ(rec_.Count("utterance:"), 1);
}

// A Tts that runs a hook before synthesising sentence `at` (what the customer does meanwhile).
class HookTts final : public Tts {
 public:
  Result<Pcm> Synthesize(std::string_view text, const TtsOptions& o) override {
    if (calls_++ == at && hook) hook();
    return inner.Synthesize(text, o);
  }
  std::string name() const override { return "hook"; }
  FakeTts inner;
  std::function<void()> hook;
  int at = 1;

 private:
  int calls_ = 0;
};

TEST_F(VoiceSessionTest, BargeInStopsTheRestOfAReplyMidway) {
  HookTts tts;
  auto made = VoiceSession::Create(asr_, &tts, std::make_unique<audio::FakeVad>(std::string(500, 's')), Inline(),
                                   clock_, rec_.Events(), {});
  ASSERT_TRUE(made.ok());
  VoiceSession& vs = **made;
  tts.hook = [&] {  // while the second sentence is synthesised, the customer talks over the first
    vs.SetPlayback(true);
    Feed(vs, 1200);
  };
  vs.Speak(4, "One sentence here. Another one here. And a third.");
  EXPECT_EQ(rec_.Count("barge_in"), 1) << ::testing::PrintToString(rec_.log);
  EXPECT_EQ(rec_.Count("audio_start:"), 1);  // only the first sentence went out
  EXPECT_EQ(rec_.Count("audio_end:"), 1);
  EXPECT_EQ(tts.inner.texts().size(), 2u);  // and the third was never synthesised
}

TEST_F(VoiceSessionTest, ABackchannelDoesNotStopTheReply) {
  Transcript t;
  t.text = "uh-huh";
  asr_.Enqueue(t);
  auto vs = Make(Script(10, 15), Inline());  // 300 ms of speech
  vs->SetPlayback(true);
  Feed(*vs, 3000);
  EXPECT_EQ(rec_.Count("barge_in"), 0) << ::testing::PrintToString(rec_.log);
  EXPECT_EQ(rec_.Count("utterance:"), 0);  // not a turn either
  EXPECT_EQ(asr_.calls().size(), 1u);
}

TEST_F(VoiceSessionTest, ChineseBackchannelDoesNotStopTheReply) {
  Transcript t;
  t.text = "嗯嗯，好的";
  asr_.Enqueue(t);
  auto vs = Make(Script(10, 20), Inline());
  vs->SetPlayback(true);
  Feed(*vs, 3000);
  EXPECT_EQ(rec_.Count("barge_in"), 0) << ::testing::PrintToString(rec_.log);
}

TEST_F(VoiceSessionTest, AShortInterruptionThatIsNotABackchannelIsABargeIn) {
  Transcript t;
  t.text = "stop";
  asr_.Enqueue(t);
  auto vs = Make(Script(10, 15), Inline());
  vs->SetPlayback(true);
  Feed(*vs, 3000);
  EXPECT_EQ(rec_.Count("barge_in"), 1) << ::testing::PrintToString(rec_.log);
  EXPECT_EQ(rec_.Count("utterance:stop"), 1);
}

TEST_F(VoiceSessionTest, SpeechWithoutPlaybackIsNoBargeIn) {
  auto vs = Make(Script(10, 100), Inline());
  Feed(*vs, 4000);
  EXPECT_EQ(rec_.Count("barge_in"), 0);
  EXPECT_EQ(rec_.Count("utterance:"), 1);
}

TEST_F(VoiceSessionTest, InputIsResampledTo16kHzAsOneStream) {
  VoiceSessionSettings s;
  s.sample_rate = 48000;
  auto vs = Make(".", Inline(), s);
  auto tone = Tone(20, 3000, 48000);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(vs->PushAudio(Bytes(tone)).ok());
  // 1 s in; the resampler holds back a few ms of filter delay.
  EXPECT_GE(vs->stream_ms(), 960);
  EXPECT_LE(vs->stream_ms(), 1000);
}

TEST_F(VoiceSessionTest, BadAudioAndSettingsAreRefused) {
  auto vs = Make(".", Inline());
  EXPECT_EQ(vs->PushAudio("abc").code(), ErrorCode::kInvalidArgument);
  VoiceSessionSettings s;
  s.sample_rate = 7999;
  EXPECT_FALSE(VoiceSession::Create(asr_, &tts_, std::make_unique<audio::FakeVad>("."), Inline(), clock_, {}, s).ok());
  s.sample_rate = 44100;
  s.format = InputFormat::kOpus;
  EXPECT_FALSE(VoiceSession::Create(asr_, &tts_, std::make_unique<audio::FakeVad>("."), Inline(), clock_, {}, s).ok());
  s.sample_rate = 48000;
  auto opus = VoiceSession::Create(asr_, &tts_, std::make_unique<audio::FakeVad>("."), Inline(), clock_, {}, s);
  ASSERT_TRUE(opus.ok());
  EXPECT_EQ((*opus)->PushAudio("\xff\xff\xff").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ((*opus)->PushAudio(std::string(2000, 'x')).code(), ErrorCode::kInvalidArgument);
  s = {};
  s.endpointer.max_utterance_ms = -1;
  EXPECT_FALSE(VoiceSession::Create(asr_, &tts_, std::make_unique<audio::FakeVad>("."), Inline(), clock_, {}, s).ok());
}

TEST_F(VoiceSessionTest, AudioFasterThanTheRateLimitIsRefused) {
  auto vs = Make(".", Inline());
  auto two_s = Bytes(Tone(2000));
  // 30 s may come at once (a recording) …
  for (int i = 0; i < 15; ++i) ASSERT_TRUE(vs->PushAudio(two_s).ok()) << i;
  // … not more within the same second of wall time.
  EXPECT_EQ(vs->PushAudio(two_s).code(), ErrorCode::kResourceExhausted);
  clock_.AdvanceMs(100);  // 3 s of allowance back
  EXPECT_TRUE(vs->PushAudio(two_s).ok());
}

TEST_F(VoiceSessionTest, NoTtsMeansNoAudio) {
  VoiceSessionSettings s;
  s.speak = false;
  auto vs = Make(".", Inline(), s);
  vs->Speak(1, "Hello there.");
  EXPECT_TRUE(rec_.log.empty());
  EXPECT_TRUE(tts_.texts().empty());
}

TEST_F(VoiceSessionTest, ClosedSessionEmitsNothing) {
  ManualExecutor ex;
  auto vs = Make(std::string(30, 's') + ".", ex.Fn());
  Feed(*vs, 2000);
  vs->Speak(1, "Hello.");
  vs->Close();
  ex.RunAll();
  EXPECT_EQ(rec_.Count("utterance:"), 0);
  EXPECT_EQ(rec_.Count("audio_start:"), 0);
}


// ---- Streaming recognition (FakeStreamingAsr) ----

// Index of the first log line starting with `prefix` (log size when none).
size_t IndexOf(const std::vector<std::string>& log, const std::string& prefix) {
  for (size_t i = 0; i < log.size(); ++i)
    if (log[i].rfind(prefix, 0) == 0) return i;
  return log.size();
}

TEST_F(VoiceSessionTest, AStreamedUtteranceGivesGrowingPartialsThenItsFinalTranscript) {
  FakeStreamingAsr asr;  // "where is my parcel", a word per 200 ms fed
  auto vs = MakeWith(asr, Script(10, 50), Inline());
  FeedLive(*vs, 200);
  FeedLive(*vs, 1000);  // 1 s of speech, in real time
  const std::vector<std::string> during = Partials();
  FeedLive(*vs, 2000);  // the endpointer's silence ends it
  ASSERT_EQ(rec_.Count("utterance:"), 1) << ::testing::PrintToString(rec_.log);
  // Partials came while the customer spoke, each one new and longer than the last, all before the transcript.
  ASSERT_GE(during.size(), 2u) << ::testing::PrintToString(rec_.log);
  EXPECT_EQ(Partials(), during);  // none after the speech ended
  EXPECT_EQ(during[0], "where");
  for (size_t i = 1; i < during.size(); ++i) {
    EXPECT_NE(during[i], during[i - 1]);
    EXPECT_EQ(during[i].rfind(during[i - 1], 0), 0u) << during[i];
  }
  EXPECT_LT(IndexOf(rec_.log, "partial:"), IndexOf(rec_.log, "utterance:"));
  EXPECT_EQ(rec_.log.back(), "utterance:where is my parcel");
  // The final transcript is the stream's (Finish), not a second, whole decode …
  EXPECT_TRUE(asr.transcribed().empty());
  const auto c = asr.counts();
  EXPECT_EQ(c.started, 1);
  EXPECT_EQ(c.finished, 1);
  EXPECT_EQ(c.open, 0);
  EXPECT_EQ(c.abandoned, 0);
  // … of exactly the audio the utterance keeps (pre-roll and tail included), in several chunks.
  ASSERT_EQ(asr.streamed().size(), 1u);
  ASSERT_EQ(rec_.utterances.size(), 1u);
  EXPECT_EQ(asr.streamed()[0].samples, rec_.utterances[0].audio.samples);
  EXPECT_GE(rec_.utterances[0].audio.seconds(), 1.0);
  EXPECT_GE(asr.feed_sizes().size(), 4u);
  // A live call's stream never waits for the engine.
  ASSERT_EQ(asr.stream_options().size(), 1u);
  EXPECT_FALSE(asr.stream_options()[0].stream_may_wait);
}

TEST_F(VoiceSessionTest, PartialsAreRateLimitedAndNeverRepeated) {
  FakeStreamingAsr asr;
  asr.text.clear();
  for (int i = 0; i < 100; ++i) asr.text += "w" + std::to_string(i) + " ";
  asr.ms_per_word = 20;  // a new hypothesis with every frame
  auto vs = MakeWith(asr, std::string(200, 's'), Inline());
  FeedLive(*vs, 2000);
  const auto partials = Partials();
  ASSERT_GE(partials.size(), 3u) << ::testing::PrintToString(rec_.log);
  EXPECT_LE(partials.size(), 2000u / 300 + 1);
  ASSERT_EQ(rec_.partial_at_ms.size(), partials.size());
  for (size_t i = 1; i < rec_.partial_at_ms.size(); ++i)
    EXPECT_GE(rec_.partial_at_ms[i] - rec_.partial_at_ms[i - 1], 300) << i;

  // A hypothesis that does not change is sent once, however often the stream is fed.
  FakeStreamingAsr slow;
  slow.ms_per_word = 5000;  // "where" after 5 s of audio, then nothing new
  rec_ = Recorder{};
  auto vs2 = MakeWith(slow, std::string(500, 's'), Inline());
  FeedLive(*vs2, 8000);
  EXPECT_EQ(Partials(), std::vector<std::string>{"where"});
  EXPECT_GE(slow.feed_sizes().size(), 10u);
}

TEST_F(VoiceSessionTest, WithoutRateLimitEveryNewHypothesisIsSent) {
  // The counterpart of the test above: the limit, not the feeding, is what holds partials back.
  FakeStreamingAsr asr;
  asr.text.clear();
  for (int i = 0; i < 100; ++i) asr.text += "w" + std::to_string(i) + " ";
  asr.ms_per_word = 20;
  VoiceSessionSettings s;
  s.partial_interval_ms = 0;
  auto vs = MakeWith(asr, std::string(200, 's'), Inline(), s);
  FeedLive(*vs, 2000);
  EXPECT_GE(Partials().size(), 2000u / 160 - 1);
}

TEST_F(VoiceSessionTest, PushToTalkStreamsAndFinishesAtTheRelease) {
  FakeStreamingAsr asr;
  auto vs = MakeWith(asr, std::string(1000, 's'), Inline());
  FeedLive(*vs, 1000);
  EXPECT_GE(Partials().size(), 1u);
  vs->EndOfTurn();
  EXPECT_EQ(rec_.log.back(), "utterance:where is my parcel");
  ASSERT_EQ(asr.streamed().size(), 1u);
  ASSERT_EQ(rec_.utterances.size(), 1u);
  EXPECT_EQ(asr.streamed()[0].samples, rec_.utterances[0].audio.samples);
  EXPECT_TRUE(asr.transcribed().empty());
}

TEST_F(VoiceSessionTest, ARefusedStreamFallsBackToTheWholeUtterance) {
  FakeStreamingAsr asr;
  asr.refuse_streams = true;  // every decoder busy
  auto vs = MakeWith(asr, Script(10, 50), Inline());
  FeedLive(*vs, 3200);
  EXPECT_EQ(rec_.log, (std::vector<std::string>{"speech_started", "utterance:where is my parcel"}));
  EXPECT_EQ(asr.counts().refused, 1);  // tried once, not with every chunk
  ASSERT_EQ(asr.transcribed().size(), 1u);
  ASSERT_EQ(rec_.utterances.size(), 1u);
  EXPECT_EQ(asr.transcribed()[0].samples, rec_.utterances[0].audio.samples);
}

TEST_F(VoiceSessionTest, AFailingStreamIsLetGoAndTheUtteranceRecognisedWhole) {
  FakeStreamingAsr asr;
  asr.fail_feeds = true;
  auto vs = MakeWith(asr, Script(10, 50), Inline());
  FeedLive(*vs, 3200);
  EXPECT_EQ(rec_.Count("utterance:where is my parcel"), 1);
  EXPECT_EQ(asr.counts().abandoned, 1);
  EXPECT_EQ(asr.counts().open, 0);
  EXPECT_EQ(asr.feed_sizes().size(), 1u);  // no feeding after the failure
  EXPECT_EQ(asr.transcribed().size(), 1u);

  FakeStreamingAsr bad_finish;
  bad_finish.fail_finish = true;
  rec_ = Recorder{};
  auto vs2 = MakeWith(bad_finish, Script(10, 50), Inline());
  FeedLive(*vs2, 3200);
  EXPECT_EQ(rec_.Count("utterance:where is my parcel"), 1);
  EXPECT_EQ(bad_finish.transcribed().size(), 1u);
  EXPECT_EQ(bad_finish.counts().open, 0);
}

TEST_F(VoiceSessionTest, StreamingOffOrAnEngineThatDoesNotStreamMeansNoStream) {
  FakeStreamingAsr asr;
  VoiceSessionSettings s;
  s.streaming_asr = false;
  auto vs = MakeWith(asr, Script(10, 50), Inline(), s);
  FeedLive(*vs, 3200);
  EXPECT_EQ(rec_.log, (std::vector<std::string>{"speech_started", "utterance:where is my parcel"}));
  EXPECT_EQ(asr.counts().started + asr.counts().refused, 0);
  EXPECT_EQ(asr.transcribed().size(), 1u);
  // FakeAsr only buffers (Asr::streams() is false): nothing gained by streaming to it.
  rec_ = Recorder{};
  auto vs2 = Make(Script(10, 50), Inline());
  FeedLive(*vs2, 3200);
  EXPECT_EQ(rec_.Count("partial:"), 0);
  EXPECT_EQ(asr_.calls().size(), 1u);
}

TEST_F(VoiceSessionTest, ABackchannelOverTheReplyShowsNoPartialAndReleasesItsStream) {
  FakeStreamingAsr asr;
  asr.text = "okay";
  asr.ms_per_word = 100;
  auto vs = MakeWith(asr, Script(10, 15), Inline());  // 300 ms of speech
  vs->SetPlayback(true);
  FeedLive(*vs, 3000);
  EXPECT_EQ(rec_.Count("partial:"), 0) << ::testing::PrintToString(rec_.log);
  EXPECT_EQ(rec_.Count("utterance:"), 0);
  EXPECT_EQ(rec_.Count("barge_in"), 0);
  EXPECT_EQ(asr.counts().started, 1);
  EXPECT_EQ(asr.counts().open, 0);
}

TEST_F(VoiceSessionTest, CloseMidUtteranceAbandonsTheStreamOnAWorker) {
  ManualExecutor ex;
  FakeStreamingAsr asr;
  auto vs = MakeWith(asr, std::string(1000, 's'), ex.Fn());
  FeedLive(*vs, 400);
  EXPECT_EQ(asr.counts().started, 0);  // nothing runs on the I/O thread, not even StartStream
  ex.RunAll();
  EXPECT_EQ(asr.counts().started, 1);
  EXPECT_EQ(Partials().size(), 1u);
  FeedLive(*vs, 400);  // more feeds queued
  vs->Close();
  EXPECT_EQ(asr.counts().open, 1);  // still held by the queued work: released by a worker, not here
  ex.RunAll();
  const auto c = asr.counts();
  EXPECT_EQ(c.open, 0);
  EXPECT_EQ(c.abandoned, 1);
  EXPECT_EQ(c.finished, 0);
  EXPECT_EQ(Partials().size(), 1u);  // nothing after Close
  EXPECT_EQ(rec_.Count("utterance:"), 0);
}

TEST_F(VoiceSessionTest, AnUtteranceDroppedByTheBacklogLeavesNoStreamOpen) {
  ManualExecutor ex;
  FakeStreamingAsr asr;
  VoiceSessionSettings s;
  s.max_pending_utterances = 1;
  std::string script;
  for (int i = 0; i < 3; ++i) script += std::string(30, 's') + std::string(80, '.');
  auto vs = MakeWith(asr, script, ex.Fn(), s);
  FeedLive(*vs, 3 * 110 * 20);
  EXPECT_EQ(rec_.Count("error:resource_exhausted"), 2);
  ex.RunAll();
  EXPECT_EQ(rec_.Count("utterance:"), 1);
  EXPECT_EQ(asr.counts().open, 0);
}

TEST_F(VoiceSessionTest, StreamsOnARealPoolFeedOneChunkAtATimeAndCloseCleanly) {
  FakeStreamingAsr asr;
  ThreadPool pool(4, "voice_test");
  SubmitFn submit = [&pool](std::function<void()> t) { return pool.Submit(std::move(t)); };
  std::string script;
  for (int i = 0; i < 6; ++i) script += std::string(40, 's') + std::string(60, '.');
  script += std::string(1000, 's');  // the last utterance is still open at Close
  auto vs = MakeWith(asr, script, submit);
  FeedLive(*vs, 6 * 100 * 20 + 600);
  vs->Close();
  vs.reset();
  pool.Shutdown();
  const auto c = asr.counts();
  EXPECT_EQ(c.overlapping_feeds, 0);
  EXPECT_EQ(c.open, 0);
  EXPECT_EQ(c.started, c.finished + c.abandoned);
}

TEST_F(VoiceSessionTest, PushToTalkThenSilenceEndedTurnsKeepTheirAudio) {
  // After a release the endpointer's clock restarts; the next utterance's times must still be the stream's.
  auto vs = Make(std::string(40, 's') + std::string(20, '.') + std::string(50, 's') + ".", Inline());
  Feed(*vs, 800);
  vs->EndOfTurn();
  ASSERT_EQ(rec_.Count("utterance:"), 1);
  Feed(*vs, 3000);
  ASSERT_EQ(rec_.Count("utterance:"), 2) << ::testing::PrintToString(rec_.log);
  ASSERT_EQ(asr_.calls().size(), 2u);
  EXPECT_GE(asr_.calls()[1].seconds(), 1.0);
  EXPECT_LE(asr_.calls()[1].seconds(), 1.0 + 0.2 + 0.1 + 0.05);
}

}  // namespace
}  // namespace kefu::voice
