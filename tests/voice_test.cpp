// The voice channel through the whole server (issue 17): a real WebSocket on
// port 0, the demo tenant, real SQLite. Most tests run the engines against
// the protocol-faithful fake OpenAI audio server (scripted transcripts,
// synthesised tones); one runs the embedded engines end to end (espeak-ng
// speaks a question, pocketsphinx hears it, the bot's reply is spoken back).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "channels/content_parts.h"
#include "http/testing.h"
#include "support/fake_audio_server.h"
#include "support/test_server.h"
#include "voice/audio.h"
#include "voice/espeak_tts.h"

namespace kefu {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;
using http::testing::Fetch;
using http::testing::Headers;
using http::testing::WsClient;

const Headers kWidget = {{"X-Kefu-Widget-Key", "demo"}, {"Content-Type", "application/json"}};

std::string Bytes(const std::vector<int16_t>& s) {
  std::string b(s.size() * 2, '\0');
  for (size_t i = 0; i < s.size(); ++i) {
    b[2 * i] = char(uint16_t(s[i]) & 0xff);
    b[2 * i + 1] = char(uint16_t(s[i]) >> 8);
  }
  return b;
}

// A vowel-like sound (a 150 Hz pulse train through its harmonics, slowly
// varying), loud enough for the energy VAD: "speech" to the server's VAD.
std::vector<int16_t> Voiced(int ms, int rate = 16000, double amplitude = 6000) {
  std::vector<int16_t> v(size_t(ms) * rate / 1000);
  for (size_t i = 0; i < v.size(); ++i) {
    const double t = double(i) / rate;
    const double f0 = 150 + 20 * std::sin(2 * M_PI * 3 * t);
    double x = 0;
    for (int h = 1; h <= 12; ++h) x += std::sin(2 * M_PI * f0 * h * t) / h * (h == 3 || h == 5 ? 2.0 : 1.0);
    v[i] = int16_t(std::clamp(amplitude * x / 3, -32000.0, 32000.0));
  }
  return v;
}

// Quiet noise (≈ -60 dBFS): "silence" with a floor, as a real microphone gives.
std::vector<int16_t> Quiet(int ms, int rate = 16000) {
  std::mt19937 rng(7);
  std::normal_distribution<double> n(0, 30);
  std::vector<int16_t> v(size_t(ms) * rate / 1000);
  for (auto& s : v) s = int16_t(n(rng));
  return v;
}

// Sends `samples` as binary frames of 20 ms.
void SendAudio(WsClient& ws, const std::vector<int16_t>& samples, int rate = 16000) {
  const size_t per = size_t(rate) / 50;
  for (size_t i = 0; i < samples.size(); i += per) {
    std::vector<int16_t> f(samples.begin() + long(i), samples.begin() + long(std::min(samples.size(), i + per)));
    ASSERT_TRUE(ws.SendBinary(Bytes(f)).ok());
  }
}

// What a call received, in order: text frames parsed, binary frames counted.
struct Received {
  std::vector<json> frames;
  size_t audio_bytes = 0;
  int binary_frames = 0;
  bool HasType(const std::string& t) const {
    for (auto& f : frames)
      if (f.value("type", "") == t) return true;
    return false;
  }
  json First(const std::string& t) const {
    for (auto& f : frames)
      if (f.value("type", "") == t) return f;
    return nullptr;
  }
};

// Reads frames until `done` says so (or `timeout` passes between two frames).
template <typename Done>
Received ReadUntil(WsClient& ws, Done done, milliseconds timeout = milliseconds(20'000)) {
  Received r;
  while (true) {
    auto f = ws.ReceiveFrame(timeout);
    if (!f.ok()) break;
    if (f->binary) {
      r.audio_bytes += f->data.size();
      ++r.binary_frames;
      r.frames.push_back({{"type", "<binary>"}, {"bytes", f->data.size()}});
    } else {
      r.frames.push_back(json::parse(f->data, nullptr, false));
    }
    if (done(r)) break;
  }
  return r;
}

// The fake audio server's scripted replies are one queue for both engines:
// before scripting a transcript, let the reply being spoken finish (its
// sentences are synthesised one after the other; a second without a frame
// means none is left).
void DrainSpeech(WsClient& ws) {
  while (ws.ReceiveFrame(milliseconds(1000)).ok()) {}
}

std::string Types(const Received& r) {
  std::string s;
  for (auto& f : r.frames) s += f.value("type", "?") + " ";
  return s;
}

class VoiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fake_ = new testing::FakeAudioServer();
    dir_ = testing::FreshTestDir("voice_test");
    Config cfg = testing::TestConfig(dir_, "warn");
    cfg.asr.engine = "openai";
    cfg.asr.base_url = fake_->base_url();
    cfg.asr.model = "whisper-test";
    cfg.tts.engine = "openai";
    cfg.tts.base_url = fake_->base_url();
    cfg.tts.model = "tts-test";
    cfg.voice.max_sessions = 8;
    auto a = testing::StartServer(cfg);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    app_ = std::move(*a);
    port_ = app_->port();
  }
  static void TearDownTestSuite() {
    app_.reset();
    delete fake_;
    fake_ = nullptr;
    fs::remove_all(dir_);
  }

  static json Call(const std::string& method, const std::string& target, const json& body, int expect) {
    auto r = Fetch(port_, method, target, body.is_null() ? "" : body.dump(), kWidget, milliseconds(30'000));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
    EXPECT_EQ(r->status, expect) << method << " " << target << " -> " << r->body.substr(0, 500);
    return json::parse(r->body, nullptr, false);
  }
  static std::string NewConversation(const std::string& customer = "C0001") {
    return Call("POST", "/v1/conversations", {{"customer_id", customer}, {"channel", "voice"}}, 201).value("id", "");
  }
  static std::unique_ptr<WsClient> Connect(const std::string& cid, const std::string& key = "demo") {
    auto ws = WsClient::Connect(port_, "/v1/conversations/" + cid + "/voice?widget_key=" + key);
    EXPECT_TRUE(ws.ok()) << ws.status().ToString();
    return ws.ok() ? std::move(*ws) : nullptr;
  }
  // Connects and starts a call; returns the socket after "ready".
  static std::unique_ptr<WsClient> StartCall(const std::string& cid, json start = nullptr) {
    auto ws = Connect(cid);
    if (!ws) return nullptr;
    if (start.is_null()) start = {{"type", "start"}, {"format", "pcm16"}, {"sample_rate", 16000}, {"tts", true}};
    EXPECT_TRUE(ws->Send(start.dump()).ok());
    auto ready = ws->Receive();
    EXPECT_TRUE(ready.ok()) << ready.status().ToString();
    if (!ready.ok()) return nullptr;
    json r = json::parse(*ready);
    EXPECT_EQ(r["type"], "ready") << *ready;
    return ws;
  }

  static inline testing::FakeAudioServer* fake_ = nullptr;
  static inline fs::path dir_;
  static inline std::unique_ptr<app::ServerApp> app_;
  static inline int port_ = 0;
};

bool AudioEnded(const Received& r) {
  // The last sentence of the first spoken reply has ended and nothing is pending.
  int starts = 0, ends = 0;
  for (auto& f : r.frames) {
    starts += f.value("type", "") == "audio_start";
    ends += f.value("type", "") == "audio_end";
  }
  return starts > 0 && starts == ends && r.frames.back().value("type", "") == "audio_end";
}

TEST_F(VoiceTest, ASpokenQuestionIsATurnAndTheReplyIsSpokenBack) {
  const std::string cid = NewConversation();
  fake_->Enqueue(testing::FakeAudioReply::Transcript("where is my order"));
  auto ws = Connect(cid);
  ASSERT_TRUE(ws);
  ASSERT_TRUE(ws->Send(R"({"type":"start","format":"pcm16","sample_rate":16000,"tts":true})").ok());
  json ready = json::parse(*ws->Receive());
  EXPECT_EQ(ready["type"], "ready");
  EXPECT_EQ(ready["sample_rate"], 16000);
  EXPECT_EQ(ready["tts_format"], "pcm16");
  EXPECT_EQ(ready["tts_sample_rate"], 16000);
  EXPECT_EQ(ready["asr"], "openai");
  EXPECT_EQ(ready["tts"], "openai");

  // 0.3 s of quiet, 1.2 s of voice, 1.5 s of quiet: the endpointer ends the turn.
  SendAudio(*ws, Quiet(300));
  SendAudio(*ws, Voiced(1200));
  SendAudio(*ws, Quiet(1500));
  Received r = ReadUntil(*ws, AudioEnded);
  ASSERT_TRUE(AudioEnded(r)) << Types(r);
  EXPECT_TRUE(r.HasType("speech_started")) << Types(r);

  // The transcript, stored as the customer's message: text, audio part, transcript part.
  json t = r.First("transcript");
  ASSERT_FALSE(t.is_null()) << Types(r);
  EXPECT_EQ(t["text"], "where is my order");
  const json& msg = t["message"];
  EXPECT_EQ(msg["role"], "customer");
  EXPECT_EQ(msg["text"], "where is my order");
  ASSERT_EQ(msg["parts"].size(), 2u) << msg.dump();
  EXPECT_EQ(msg["parts"][0]["type"], "audio");
  EXPECT_EQ(msg["parts"][0]["mime"], "audio/wav");
  EXPECT_GE(msg["parts"][0]["duration_ms"].get<int>(), 1200);
  EXPECT_LE(msg["parts"][0]["duration_ms"].get<int>(), 1600);
  EXPECT_EQ(msg["parts"][1]["type"], "transcript");
  EXPECT_EQ(msg["parts"][1]["source"], "asr");

  // The bot's reply arrives as a message, then its audio sentence by sentence.
  json reply;
  for (auto& f : r.frames)
    if (f.value("type", "") == "message" && f["message"]["role"] == "bot") reply = f["message"];
  ASSERT_FALSE(reply.is_null()) << Types(r);
  json start = r.First("audio_start");
  EXPECT_EQ(start["reply_to"], reply["id"]);
  EXPECT_EQ(start["sentence"], 0);
  EXPECT_EQ(start["sample_rate"], 16000);
  EXPECT_FALSE(start["text"].get<std::string>().empty());
  EXPECT_NE(reply["text"].get<std::string>().find(start["text"].get<std::string>()), std::string::npos);
  // Order: transcript → reply message → audio_start → binary → audio_end.
  size_t i_t = 0, i_m = 0, i_s = 0, i_b = 0;
  for (size_t i = 0; i < r.frames.size(); ++i) {
    const std::string type = r.frames[i].value("type", "");
    if (type == "transcript" && !i_t) i_t = i + 1;
    if (type == "message" && r.frames[i]["message"]["role"] == "bot" && !i_m) i_m = i + 1;
    if (type == "audio_start" && !i_s) i_s = i + 1;
    if (type == "<binary>" && !i_b) i_b = i + 1;
  }
  EXPECT_LT(i_t, i_m);
  EXPECT_LT(i_m, i_s);
  EXPECT_LT(i_s, i_b);
  // The fake TTS speaks 50 ms per character at 24 kHz; the server sends it at 16 kHz.
  EXPECT_GT(r.audio_bytes, size_t(16000 * 2 * 0.5));

  // The recogniser got the utterance as a 16 kHz WAV (speech + pre-roll + tail).
  bool transcribed = false;
  for (const auto& req : fake_->Requests()) {
    if (req.target.find("transcriptions") == std::string::npos) continue;
    transcribed = true;
    EXPECT_EQ(req.fields.at("model"), "whisper-test");
    auto pcm = voice::DecodeWav(req.fields.at("file"));
    ASSERT_TRUE(pcm.ok());
    EXPECT_EQ(pcm->sample_rate, 16000);
    EXPECT_GE(pcm->seconds(), 1.2);
    EXPECT_LE(pcm->seconds(), 1.6);
  }
  EXPECT_TRUE(transcribed);

  // The recording is kept as the message's attachment.
  auto a = Fetch(port_, "GET",
                 "/v1/conversations/" + cid + "/attachments/" + msg["parts"][0]["attachment_id"].get<std::string>(), "",
                 kWidget);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->status, 200);
  auto wav = voice::DecodeWav(a->body);
  ASSERT_TRUE(wav.ok()) << wav.status().ToString();
  EXPECT_NEAR(wav->seconds() * 1000, msg["parts"][0]["duration_ms"].get<double>(), 2);

  // The conversation's history has the spoken message with its parts.
  json list = Call("GET", "/v1/conversations/" + cid + "/messages", nullptr, 200);
  ASSERT_GE(list["messages"].size(), 2u);
  EXPECT_EQ(list["messages"][0]["text"], "where is my order");
  EXPECT_EQ(list["messages"][0]["parts"][0]["type"], "audio");
  DrainSpeech(*ws);
}

TEST_F(VoiceTest, PushToTalkEndsTheTurnAndSilenceIsNoSpeech) {
  const std::string cid = NewConversation();
  auto ws = StartCall(cid, {{"type", "start"}, {"format", "pcm16"}, {"sample_rate", 48000}, {"tts", false}});
  ASSERT_TRUE(ws);
  // Silence, then the button is released: no speech, no recognition.
  const size_t before = fake_->Requests().size();
  SendAudio(*ws, std::vector<int16_t>(48000 / 2, 0), 48000);
  ASSERT_TRUE(ws->Send(R"({"type":"end_of_turn"})").ok());
  Received r = ReadUntil(*ws, [](const Received& x) { return x.HasType("no_speech"); });
  EXPECT_TRUE(r.HasType("no_speech")) << Types(r);
  EXPECT_EQ(fake_->Requests().size(), before);

  // 48 kHz speech, released before the endpointer would end it: a turn at once.
  fake_->Enqueue(testing::FakeAudioReply::Transcript("I want a refund"));
  SendAudio(*ws, Voiced(900, 48000), 48000);
  ASSERT_TRUE(ws->Send(R"({"type":"end_of_turn"})").ok());
  r = ReadUntil(*ws, [](const Received& x) {
    for (auto& f : x.frames)
      if (f.value("type", "") == "message" && f["message"]["role"] != "customer") return true;
    return false;
  });
  ASSERT_TRUE(r.HasType("transcript")) << Types(r);
  EXPECT_EQ(r.First("transcript")["text"], "I want a refund");
  // tts:false: text only.
  EXPECT_FALSE(r.HasType("audio_start"));
  EXPECT_EQ(r.binary_frames, 0);
  EXPECT_FALSE(ReadUntil(*ws, [](const Received&) { return true; }, milliseconds(500)).HasType("audio_start"));
}

TEST_F(VoiceTest, TalkingOverTheReplyIsABargeIn) {
  const std::string cid = NewConversation();
  auto ws = StartCall(cid);
  ASSERT_TRUE(ws);
  // A typed question on the voice socket gets a spoken answer.
  ASSERT_TRUE(ws->Send(R"({"type":"text","text":"how long does shipping take","client_msg_id":"t1"})").ok());
  Received r = ReadUntil(*ws, AudioEnded);
  ASSERT_TRUE(r.HasType("ack")) << Types(r);
  ASSERT_TRUE(r.HasType("audio_start")) << Types(r);
  DrainSpeech(*ws);
  // The client plays it; the customer talks over it for more than a backchannel.
  ASSERT_TRUE(ws->Send(R"({"type":"playback","state":"started"})").ok());
  fake_->Enqueue(testing::FakeAudioReply::Transcript("no wait I mean returns"));
  SendAudio(*ws, Quiet(200));
  SendAudio(*ws, Voiced(1500));
  r = ReadUntil(*ws, [](const Received& x) { return x.HasType("barge_in"); });
  EXPECT_TRUE(r.HasType("barge_in")) << Types(r);
  SendAudio(*ws, Quiet(1500));
  r = ReadUntil(*ws, [](const Received& x) { return x.HasType("transcript"); });
  ASSERT_TRUE(r.HasType("transcript")) << Types(r);
  EXPECT_EQ(r.First("transcript")["text"], "no wait I mean returns");
  DrainSpeech(*ws);
}

TEST_F(VoiceTest, ABadFirstFrameIsAnErrorAndCloses1008) {
  const std::string cid = NewConversation();
  for (const std::string& first : {std::string(R"({"type":"hello"})"), std::string("not json"),
                                  std::string(R"({"type":"start","format":"mp3","sample_rate":16000})"),
                                  std::string(R"({"type":"start","format":"pcm16","sample_rate":96000})"),
                                  std::string(R"({"type":"start","format":"opus","sample_rate":44100})"),
                                  std::string(R"({"type":"start","format":"pcm16","sample_rate":16000,"tts":"yes"})")}) {
    auto ws = Connect(cid);
    ASSERT_TRUE(ws);
    ASSERT_TRUE(ws->Send(first).ok());
    auto m = ws->Receive();
    ASSERT_TRUE(m.ok()) << first;
    json e = json::parse(*m);
    EXPECT_EQ(e["type"], "error") << first;
    EXPECT_EQ(e["code"], "invalid_argument") << first;
    EXPECT_FALSE(ws->Receive().ok());
    EXPECT_EQ(ws->close_code(), 1008) << first;
  }
  // Audio before start: the same.
  auto ws = Connect(cid);
  ASSERT_TRUE(ws);
  ASSERT_TRUE(ws->SendBinary(Bytes(Quiet(20))).ok());
  json e = json::parse(*ws->Receive());
  EXPECT_EQ(e["code"], "invalid_argument");
  EXPECT_FALSE(ws->Receive().ok());
  EXPECT_EQ(ws->close_code(), 1008);
}

TEST_F(VoiceTest, OversizedFramesAndAudioFloodsAreRefused) {
  const std::string cid = NewConversation();
  auto ws = StartCall(cid);
  ASSERT_TRUE(ws);
  // An odd byte count is not pcm16: an error, the call goes on.
  ASSERT_TRUE(ws->SendBinary("abc").ok());
  EXPECT_EQ(json::parse(*ws->Receive())["code"], "invalid_argument");
  ASSERT_TRUE(ws->Send(R"({"type":"ping"})").ok());
  EXPECT_EQ(json::parse(*ws->Receive())["type"], "pong");
  // More than 64 KiB in one frame: payload_too_large, then 1009.
  ASSERT_TRUE(ws->SendBinary(std::string(70 * 1024, '\0')).ok());
  json e = json::parse(*ws->Receive());
  EXPECT_EQ(e["code"], "payload_too_large");
  EXPECT_FALSE(ws->Receive().ok());
  EXPECT_EQ(ws->close_code(), 1009);

  // More than 30 s of audio within a second: rate_limited, then 1008.
  ws = StartCall(cid);
  ASSERT_TRUE(ws);
  const std::string two_s(64000, '\0');  // 2 s of 16 kHz silence in one frame
  for (int i = 0; i < 20 && !ws->closed(); ++i) (void)ws->SendBinary(two_s);
  Received r = ReadUntil(*ws, [](const Received&) { return false; }, milliseconds(3000));
  bool limited = false;
  for (auto& f : r.frames) limited |= f.value("code", "") == "rate_limited";
  EXPECT_TRUE(limited) << Types(r);
  EXPECT_EQ(ws->close_code(), 1008);
}

TEST_F(VoiceTest, AuthenticatedLikeTheTextSocket) {
  const std::string cid = NewConversation();
  auto bad_key = WsClient::Connect(port_, "/v1/conversations/" + cid + "/voice?widget_key=nope");
  ASSERT_FALSE(bad_key.ok());
  EXPECT_NE(bad_key.status().message().find("HTTP 401"), std::string::npos) << bad_key.status().message();
  auto unknown = WsClient::Connect(port_, "/v1/conversations/c_nope/voice?widget_key=demo");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("HTTP 404"), std::string::npos) << unknown.status().message();
}

std::string Wav(const std::vector<int16_t>& samples, int rate) {
  voice::Pcm p;
  p.sample_rate = rate;
  p.samples = samples;
  return *voice::EncodeWav(p);
}

// The REST path: OpenAI's input_audio part on POST .../messages is transcribed and answered like a spoken turn.
TEST_F(VoiceTest, AnInputAudioPartOnTheMessageRouteIsTranscribed) {
  const std::string cid = NewConversation();
  fake_->Enqueue(testing::FakeAudioReply::Transcript("cancel my order"));
  json body = {{"client_msg_id", "audio-1"},
               {"content", json::array({{{"type", "input_audio"},
                                         {"input_audio", {{"data", channels::Base64Encode(Wav(Voiced(800, 22050), 22050))},
                                                          {"format", "wav"}}}}})}};
  json r = Call("POST", "/v1/conversations/" + cid + "/messages", body, 200);
  EXPECT_EQ(r["message"]["text"], "cancel my order");
  ASSERT_EQ(r["message"]["parts"].size(), 2u) << r.dump();
  EXPECT_EQ(r["message"]["parts"][0]["type"], "audio");
  EXPECT_NEAR(r["message"]["parts"][0]["duration_ms"].get<double>(), 800, 25);
  EXPECT_EQ(r["message"]["parts"][1]["source"], "asr");
  EXPECT_FALSE(r["reply"].is_null());
  // Typed words and audio together: the text stays what was typed, the transcript joins the turn.
  fake_->Enqueue(testing::FakeAudioReply::Transcript("the blue one"));
  body = {{"client_msg_id", "audio-2"},
          {"content", json::array({{{"type", "text"}, {"text", "I meant this:"}},
                                   {{"type", "input_audio"},
                                    {"input_audio", {{"data", channels::Base64Encode(Wav(Voiced(500), 16000))}, {"format", "wav"}}}}})}};
  r = Call("POST", "/v1/conversations/" + cid + "/messages", body, 200);
  EXPECT_EQ(r["message"]["text"], "I meant this:");
  ASSERT_EQ(r["message"]["parts"].size(), 3u) << r.dump();
  EXPECT_EQ(r["message"]["parts"][2]["text"], "the blue one");
  // Not a WAV: 400; mp3: 415.
  body = {{"client_msg_id", "audio-3"},
          {"content", json::array({{{"type", "input_audio"}, {"input_audio", {{"data", channels::Base64Encode("not a wav file")}, {"format", "wav"}}}}})}};
  EXPECT_EQ(Call("POST", "/v1/conversations/" + cid + "/messages", body, 400)["error"]["code"], "invalid_argument");
  body["content"][0]["input_audio"]["format"] = "mp3";
  EXPECT_EQ(Call("POST", "/v1/conversations/" + cid + "/messages", body, 415)["error"]["code"], "unsupported_media_type");
}

// A server without speech recognition (the test default) refuses calls with 503.
TEST(VoiceOffTest, NoRecogniserMeans503) {
  const fs::path dir = testing::FreshTestDir("voice_off_test");
  auto a = testing::StartServer(testing::TestConfig(dir, "warn"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  const int port = (*a)->port();
  auto c = Fetch(port, "POST", "/v1/conversations", json{{"customer_id", "C0001"}}.dump(), kWidget);
  ASSERT_TRUE(c.ok());
  const std::string cid = json::parse(c->body)["id"];
  auto ws = WsClient::Connect(port, "/v1/conversations/" + cid + "/voice?widget_key=demo");
  ASSERT_FALSE(ws.ok());
  EXPECT_NE(ws.status().message().find("HTTP 503"), std::string::npos) << ws.status().message();
  // … and audio parts with 415.
  json body = {{"client_msg_id", "a1"},
               {"content", json::array({{{"type", "input_audio"},
                                         {"input_audio", {{"data", channels::Base64Encode(Wav(Voiced(300), 16000))}, {"format", "wav"}}}}})}};
  auto m = Fetch(port, "POST", "/v1/conversations/" + cid + "/messages", body.dump(), kWidget);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->status, 415) << m->body;
  a->reset();
  fs::remove_all(dir);
}

// A voice call of demo customer C0001 on the server at `port`: the socket
// after the server's "ready" frame (stored in `ready`).
Result<std::unique_ptr<WsClient>> OpenEmbeddedCall(int port, bool tts, json* ready) {
  auto c = Fetch(port, "POST", "/v1/conversations", json{{"customer_id", "C0001"}, {"channel", "voice"}}.dump(), kWidget);
  if (!c.ok()) return c.status();
  const std::string cid = json::parse(c->body, nullptr, false).value("id", "");
  auto ws = WsClient::Connect(port, "/v1/conversations/" + cid + "/voice?widget_key=demo");
  if (!ws.ok()) return ws.status();
  const json start = {{"type", "start"}, {"format", "pcm16"}, {"sample_rate", 16000}, {"tts", tts}};
  KEFU_RETURN_IF_ERROR((*ws)->Send(start.dump()));
  auto first = (*ws)->Receive();
  if (!first.ok()) return first.status();
  *ready = json::parse(*first, nullptr, false);
  return ws;
}

// The embedded engines end to end: espeak-ng says a question, the server's
// VAD and endpointer find it, pocketsphinx transcribes it, the demo bot
// answers and espeak-ng speaks the answer back.
TEST(VoiceEmbeddedTest, EspeakSpeechToPocketsphinxAndBack) {
  if (!fs::exists("/usr/share/pocketsphinx/model/en-us")) GTEST_SKIP() << "pocketsphinx-en-us is not installed";
  voice::EspeakSettings es;
  es.rate_wpm = 140;
  auto tts = voice::EspeakTts::Create(es);
  ASSERT_TRUE(tts.ok()) << tts.status().ToString();
  auto said = (*tts)->Synthesize("Where is my parcel?", {"en-us+klatt2", "en"});
  ASSERT_TRUE(said.ok()) << said.status().ToString();
  auto at16 = voice::Resample(*said, 16000);
  ASSERT_TRUE(at16.ok());

  const fs::path dir = testing::FreshTestDir("voice_embedded_test");
  Config cfg = testing::TestConfig(dir, "warn");
  cfg.asr.engine = "pocketsphinx";
  cfg.asr.decoders = 1;
  cfg.tts.engine = "espeak";
  auto a = testing::StartServer(cfg);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  json ready;
  auto ws = OpenEmbeddedCall((*a)->port(), /*tts=*/true, &ready);
  ASSERT_TRUE(ws.ok()) << ws.status().ToString();
  EXPECT_EQ(ready["asr"], "pocketsphinx");
  EXPECT_EQ(ready["tts"], "espeak");

  SendAudio(**ws, Quiet(500));
  std::vector<int16_t> speech = at16->samples;
  for (auto& s : speech) s = int16_t(std::clamp(int(s) * 2, -32000, 32000));  // a close microphone
  SendAudio(**ws, speech);
  SendAudio(**ws, Quiet(2000));
  Received r = ReadUntil(**ws, AudioEnded, milliseconds(30'000));
  ASSERT_TRUE(r.HasType("transcript")) << Types(r);
  const std::string heard = r.First("transcript")["text"];
  EXPECT_FALSE(heard.empty());
  std::printf("espeak said \"Where is my parcel?\"; pocketsphinx heard \"%s\"\n", heard.c_str());
  ASSERT_TRUE(AudioEnded(r)) << Types(r);
  json start = r.First("audio_start");
  EXPECT_EQ(start["sample_rate"], 16000);
  // The reply's audio is speech, not silence.
  EXPECT_GT(r.audio_bytes, size_t(16000 * 2));
  a->reset();
  fs::remove_all(dir);
}

// Streaming recognition with the embedded engine: a customer speaking for a
// few seconds in real time sees partial transcripts before the final one.
// (A partial needs a worker to decode a chunk while the speech lasts; on an
// overloaded machine the first may come late, but ≈ 4 s of speech leaves
// room for several.)
TEST(VoiceEmbeddedTest, PartialTranscriptsComeWhileTheCustomerSpeaks) {
  if (!fs::exists("/usr/share/pocketsphinx/model/en-us")) GTEST_SKIP() << "pocketsphinx-en-us is not installed";
  voice::EspeakSettings es;
  es.rate_wpm = 140;
  auto tts = voice::EspeakTts::Create(es);
  ASSERT_TRUE(tts.ok()) << tts.status().ToString();
  auto said = (*tts)->Synthesize("I ordered a pair of shoes last week and the parcel has not arrived yet.",
                                 {"en-us+klatt2", "en"});
  ASSERT_TRUE(said.ok()) << said.status().ToString();
  auto at16 = voice::Resample(*said, 16000);
  ASSERT_TRUE(at16.ok());

  const fs::path dir = testing::FreshTestDir("voice_partials_test");
  Config cfg = testing::TestConfig(dir, "warn");
  cfg.asr.engine = "pocketsphinx";
  cfg.asr.decoders = 2;  // a live stream leaves one decoder to whole utterances
  cfg.tts.engine = "none";
  auto a = testing::StartServer(cfg);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  json ready;
  auto ws = OpenEmbeddedCall((*a)->port(), /*tts=*/false, &ready);
  ASSERT_TRUE(ws.ok()) << ws.status().ToString();
  EXPECT_EQ(ready["asr"], "pocketsphinx");

  std::vector<int16_t> audio = Quiet(500);
  for (int16_t s : at16->samples) audio.push_back(int16_t(std::clamp(int(s) * 2, -32000, 32000)));
  const std::vector<int16_t> after = Quiet(2000);
  audio.insert(audio.end(), after.begin(), after.end());
  auto next = std::chrono::steady_clock::now();
  for (size_t i = 0; i < audio.size(); i += 320) {  // 20 ms frames in real time, like a microphone
    std::vector<int16_t> f(audio.begin() + long(i), audio.begin() + long(std::min(audio.size(), i + 320)));
    ASSERT_TRUE((*ws)->SendBinary(Bytes(f)).ok());
    next += milliseconds(20);
    std::this_thread::sleep_until(next);
  }
  Received r = ReadUntil(**ws, [](const Received& got) { return got.HasType("transcript"); }, milliseconds(30'000));
  ASSERT_TRUE(r.HasType("transcript")) << Types(r);
  Received later = ReadUntil(**ws, [](const Received&) { return false; }, milliseconds(1500));
  r.frames.insert(r.frames.end(), later.frames.begin(), later.frames.end());
  size_t first_partial = r.frames.size(), transcript = r.frames.size();
  int partials = 0;
  for (size_t i = 0; i < r.frames.size(); ++i) {
    const std::string type = r.frames[i].value("type", "");
    if (type == "partial") {
      ++partials;
      first_partial = std::min(first_partial, i);
      EXPECT_FALSE(r.frames[i].value("text", "").empty());
      EXPECT_EQ(transcript, r.frames.size()) << "a partial after the transcript: " << Types(r);
    }
    if (type == "transcript") transcript = std::min(transcript, i);
  }
  EXPECT_GE(partials, 1) << Types(r);
  EXPECT_LT(first_partial, transcript) << Types(r);
  std::printf("%d partials, then the transcript \"%s\"\n", partials,
              r.First("transcript").value("text", "").c_str());
  a->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kefu
