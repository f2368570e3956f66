// OpenAiAsr and OpenAiTts against FakeAudioServer (tests/support): real
// HTTP on loopback, real multipart and WAV bodies, injected errors, slow and
// cut responses.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

#include "common/clock.h"
#include "support/fake_audio_server.h"
#include "voice/openai_asr.h"
#include "voice/openai_tts.h"

namespace kefu::voice {
namespace {

using kefu::testing::FakeAudioReply;
using kefu::testing::FakeAudioServer;
using SteadyClock = std::chrono::steady_clock;

Pcm Tone(double seconds) {
  Pcm p;
  for (size_t i = 0; i < static_cast<size_t>(seconds * 16000); ++i) {
    p.samples.push_back(static_cast<int16_t>(5000 * std::sin(i * 0.1)));
  }
  return p;
}

HttpSettings Http(const FakeAudioServer& server) {
  HttpSettings h;
  h.base_url = server.base_url();
  h.api_key = "sk-test";
  h.timeout_ms = 5000;
  h.retry_backoff_ms = 10;
  return h;
}

std::unique_ptr<OpenAiAsr> MakeAsr(const FakeAudioServer& server, HttpSettings http = {}) {
  OpenAiAsrSettings s;
  s.http = http.base_url.empty() ? Http(server) : http;
  s.model = "whisper-large-v3";
  s.language = "zh";
  auto made = OpenAiAsr::Create(s, SystemClock::Instance());
  EXPECT_TRUE(made.ok()) << made.status().ToString();
  return made.ok() ? std::move(*made) : nullptr;
}

std::unique_ptr<OpenAiTts> MakeTts(const FakeAudioServer& server, const std::string& format = "wav") {
  OpenAiTtsSettings s;
  s.http = Http(server);
  s.model = "tts-1";
  s.voice = "alloy";
  s.voice_zh = "zh-female";
  s.response_format = format;
  s.pcm_sample_rate = FakeAudioServer::kSpeechRate;
  auto made = OpenAiTts::Create(s, SystemClock::Instance());
  EXPECT_TRUE(made.ok()) << made.status().ToString();
  return made.ok() ? std::move(*made) : nullptr;
}

TEST(OpenAiAsrTest, PostsTheUtteranceAsMultipartAndReadsTheText) {
  FakeAudioServer server;
  auto asr = MakeAsr(server);
  const Pcm audio = Tone(1.0);
  auto t = asr->Transcribe(audio, {});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->text, "fake transcript of 1.00 s");
  EXPECT_EQ(t->language, "zh");
  auto reqs = server.Requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target, "/v1/audio/transcriptions");
  EXPECT_EQ(reqs[0].authorization, "Bearer sk-test");
  EXPECT_EQ(reqs[0].fields.at("model"), "whisper-large-v3");
  EXPECT_EQ(reqs[0].fields.at("language"), "zh");
  EXPECT_EQ(reqs[0].fields.at("response_format"), "json");
  EXPECT_EQ(reqs[0].filenames.at("file"), "audio.wav");
  auto sent = DecodeWav(reqs[0].fields.at("file"));  // the very samples, as a WAV
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  EXPECT_EQ(sent->samples, audio.samples);
  EXPECT_EQ(sent->sample_rate, 16000);

  AsrOptions en;
  en.language = "en-US";
  server.Enqueue(FakeAudioReply::Transcript("where is my parcel"));
  t = asr->Transcribe(audio, en);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->text, "where is my parcel");
  EXPECT_EQ(server.Requests()[1].fields.at("language"), "en");
}

TEST(OpenAiAsrTest, RetriesServerErrorsButNotBadRequests) {
  FakeAudioServer server;
  auto asr = MakeAsr(server);
  server.Enqueue(FakeAudioReply::Error(503, "loading model"));
  server.Enqueue(FakeAudioReply::Error(500, "oops"));
  auto t = asr->Transcribe(Tone(0.5), {});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(server.Requests().size(), 3u);

  server.Enqueue(FakeAudioReply::Error(400, "audio too short"));
  t = asr->Transcribe(Tone(0.5), {});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("HTTP 400: audio too short"), std::string::npos) << t.status().message();
  EXPECT_EQ(server.Requests().size(), 4u);

  for (int i = 0; i < 3; ++i) server.Enqueue(FakeAudioReply::Error(502, "bad gateway"));
  t = asr->Transcribe(Tone(0.5), {});
  EXPECT_EQ(t.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(t.status().message().find("bad gateway"), std::string::npos);
  EXPECT_EQ(server.Requests().size(), 7u);  // the first try and max_retries = 2
}

TEST(OpenAiAsrTest, ASlowServerTimesOutWithinTheBudget) {
  FakeAudioServer server;
  HttpSettings h = Http(server);
  h.timeout_ms = 300;
  auto asr = MakeAsr(server, h);
  server.Enqueue(FakeAudioReply::Transcript("late").Delay(3000));
  const auto t0 = SteadyClock::now();
  auto t = asr->Transcribe(Tone(0.5), {});
  const double s = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_NE(t.status().message().find("300 ms"), std::string::npos) << t.status().message();
  EXPECT_LT(s, 1.5);
}

TEST(OpenAiAsrTest, CutResponsesAndDeadServersAreUnavailable) {
  FakeAudioServer server;
  HttpSettings h = Http(server);
  h.max_retries = 0;
  auto asr = MakeAsr(server, h);
  server.Enqueue(FakeAudioReply::Drop());
  auto t = asr->Transcribe(Tone(0.2), {});
  EXPECT_EQ(t.status().code(), ErrorCode::kUnavailable) << t.status().ToString();

  int dead_port = 0;
  {
    FakeAudioServer gone;
    dead_port = gone.port();
  }
  h.base_url = "http://127.0.0.1:" + std::to_string(dead_port) + "/v1";
  auto dead = MakeAsr(server, h);
  t = dead->Transcribe(Tone(0.2), {});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(t.status().message().find("connecting to asr server"), std::string::npos) << t.status().message();
}

TEST(OpenAiAsrTest, TheBreakerStopsCallingAFailingServer) {
  FakeAudioServer server;
  HttpSettings h = Http(server);
  h.max_retries = 0;
  h.breaker_failures = 2;
  h.breaker_cooldown_ms = 60'000;
  auto asr = MakeAsr(server, h);
  server.Enqueue(FakeAudioReply::Error(500, "a"));
  server.Enqueue(FakeAudioReply::Error(500, "b"));
  EXPECT_FALSE(asr->Transcribe(Tone(0.2), {}).ok());
  EXPECT_FALSE(asr->Transcribe(Tone(0.2), {}).ok());
  auto t = asr->Transcribe(Tone(0.2), {});
  EXPECT_NE(t.status().message().find("circuit breaker"), std::string::npos) << t.status().ToString();
  EXPECT_EQ(server.Requests().size(), 2u);
}

TEST(OpenAiAsrTest, RefusesBadSettingsAndAudio) {
  FakeAudioServer server;
  OpenAiAsrSettings s;
  s.http.base_url = "ftp://x";
  s.model = "m";
  EXPECT_FALSE(OpenAiAsr::Create(s, SystemClock::Instance()).ok());
  s.http.base_url = server.base_url();
  s.model = "";
  EXPECT_FALSE(OpenAiAsr::Create(s, SystemClock::Instance()).ok());
  auto asr = MakeAsr(server);
  Pcm at8k;
  at8k.sample_rate = 8000;
  EXPECT_EQ(asr->Transcribe(at8k, {}).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(asr->Transcribe(Tone(301), {}).status().code(), ErrorCode::kPayloadTooLarge);
  EXPECT_TRUE(server.Requests().empty());
}

TEST(TranscriptionParseTest, ReadsJsonVerboseJsonAndText) {
  auto t = ParseTranscription("application/json",
                              R"({"text":" hi there","language":"en","words":[{"word":"hi","start":0.1,"end":0.3,)"
                              R"("probability":0.9},{"word":"there","start":0.3,"end":0.7}]})");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->text, "hi there");
  ASSERT_EQ(t->words.size(), 2u);
  EXPECT_DOUBLE_EQ(t->words[0].confidence, 0.9);
  EXPECT_DOUBLE_EQ(t->words[1].end_s, 0.7);
  EXPECT_DOUBLE_EQ(t->words[1].confidence, -1);
  auto plain = ParseTranscription("text/plain", "你好\n");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->text, "你好");
  EXPECT_FALSE(ParseTranscription("application/json", "{\"txt\":1}").ok());
  EXPECT_FALSE(ParseTranscription("application/json", "[1,2").ok());
  EXPECT_FALSE(ParseTranscription("text/plain", std::string("\xff\xfe", 2)).ok());
}

TEST(MultipartTest, BinaryContentSurvivesAndTheBoundaryIsFresh) {
  const std::string tricky = std::string("\r\n--\0\xff", 6) + "--";
  auto a = BuildMultipart({{"file", tricky, "a.wav", "audio/wav"}, {"model", "m", "", ""}});
  auto b = BuildMultipart({{"model", "m", "", ""}});
  EXPECT_NE(a.boundary, b.boundary);
  EXPECT_NE(a.body.find(tricky), std::string::npos);
  EXPECT_TRUE(a.body.ends_with("--" + a.boundary + "--\r\n"));
  EXPECT_EQ(a.content_type(), "multipart/form-data; boundary=" + a.boundary);
}

TEST(OpenAiTtsTest, ReturnsTheServersWav) {
  FakeAudioServer server;
  auto tts = MakeTts(server);
  auto pcm = tts->Synthesize("Hello there", {});  // 11 code points
  ASSERT_TRUE(pcm.ok()) << pcm.status().ToString();
  EXPECT_EQ(pcm->sample_rate, 24000);
  EXPECT_NEAR(pcm->seconds(), 11 * 0.05, 1e-6);
  EXPECT_GT(RmsDbfs(*pcm), -20);
  auto req = server.Requests().at(0);
  EXPECT_EQ(req.target, "/v1/audio/speech");
  EXPECT_EQ(req.fields.at("model"), "tts-1");
  EXPECT_EQ(req.fields.at("input"), "Hello there");
  EXPECT_EQ(req.fields.at("voice"), "alloy");
  EXPECT_EQ(req.fields.at("response_format"), "wav");
  TtsOptions zh;
  zh.language = "zh";
  ASSERT_TRUE(tts->Synthesize("您好", zh).ok());
  EXPECT_EQ(server.Requests().at(1).fields.at("voice"), "zh-female");
}

TEST(OpenAiTtsTest, ReadsRawPcm) {
  FakeAudioServer server;
  auto tts = MakeTts(server, "pcm");
  auto pcm = tts->Synthesize("您好！", {});  // 3 code points
  ASSERT_TRUE(pcm.ok()) << pcm.status().ToString();
  EXPECT_EQ(pcm->sample_rate, 24000);
  EXPECT_EQ(pcm->samples.size(), 3u * 50 * 24);
  EXPECT_EQ(server.Requests().at(0).fields.at("response_format"), "pcm");
}

TEST(OpenAiTtsTest, ErrorsAreClear) {
  FakeAudioServer server;
  auto tts = MakeTts(server);
  server.Enqueue(FakeAudioReply::Error(400, "voice 'alloy' not found"));
  auto r = tts->Synthesize("hi", {});
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("tts server returned HTTP 400: voice 'alloy' not found"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(tts->Synthesize("  ", {}).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(tts->Synthesize(std::string(5000, 'a'), {}).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(server.Requests().size(), 1u);
  OpenAiTtsSettings s;
  s.http.base_url = server.base_url();
  s.model = "tts-1";
  s.response_format = "mp3";
  EXPECT_FALSE(OpenAiTts::Create(s, SystemClock::Instance()).ok());
}

TEST(OpenAiTtsTest, SpeaksAReplySentenceBySentence) {
  FakeAudioServer server;
  auto tts = MakeTts(server);
  std::vector<double> seconds;
  ASSERT_TRUE(SpeakSentences(*tts, "您好！订单已发货。Anything else?", {}, [&](size_t, const std::string&, Pcm&& a) {
                seconds.push_back(a.seconds());
                return true;
              }).ok());
  ASSERT_EQ(seconds.size(), 3u);
  EXPECT_NEAR(seconds[0], 3 * 0.05, 1e-6);
  EXPECT_NEAR(seconds[1], 6 * 0.05, 1e-6);
  EXPECT_EQ(server.Requests().size(), 3u);
  EXPECT_EQ(server.Requests()[2].fields.at("input"), "Anything else?");
}

}  // namespace
}  // namespace kefu::voice
