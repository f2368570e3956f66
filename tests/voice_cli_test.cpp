// kefu asr / kefu tts as an operator runs them: the real binary, the embedded
// engines, and the OpenAI-compatible engines configured by [asr]/[tts] and
// pointed at FakeAudioServer.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "support/fake_audio_server.h"
#include "voice/audio.h"

namespace kefu {
namespace {

namespace fs = std::filesystem;

int Shell(const std::string& cmd, std::string& out) {
  out.clear();
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return -1;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int rc = ::pclose(p);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

class VoiceCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kefu_voice_cli_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
  const std::string bin_ = KEFU_BIN_PATH;
};

TEST_F(VoiceCliTest, EmbeddedEnginesSpeakAndListen) {
  std::string out;
  const std::string wav = Path("reply.wav");
  ASSERT_EQ(Shell(bin_ + " tts 'Where is my parcel? It left the warehouse yesterday.' -o " + wav +
                      " --voice en-us+klatt2 --time",
                  out),
            0)
      << out;
  EXPECT_NE(out.find("2 sentences"), std::string::npos) << out;
  auto pcm = voice::ReadWavFile(wav);
  ASSERT_TRUE(pcm.ok()) << pcm.status().ToString();
  EXPECT_GT(pcm->seconds(), 2.0);
  EXPECT_GT(voice::RmsDbfs(*pcm), -35);
  ASSERT_EQ(Shell(bin_ + " asr " + wav, out), 0) << out;
  EXPECT_NE(out.find("where is my"), std::string::npos) << out;  // measured: "where is my daughter's all ..."

  const std::string zh = Path("zh.wav");
  ASSERT_EQ(Shell(bin_ + " tts '您好！您的订单已经发货。' -o " + zh, out), 0) << out;
  EXPECT_TRUE(voice::ReadWavFile(zh).ok());
  // Chinese recognition needs a server: a clear refusal, not a wrong transcript.
  EXPECT_EQ(Shell(bin_ + " asr --language zh " + zh, out), 1);
  EXPECT_NE(out.find("English only"), std::string::npos) << out;
}

TEST_F(VoiceCliTest, BadInputIsRefusedWithAMessage) {
  std::string out;
  std::ofstream(Path("notes.wav")) << "this is not audio";
  EXPECT_EQ(Shell(bin_ + " asr " + Path("notes.wav"), out), 1);
  EXPECT_NE(out.find("not a WAV"), std::string::npos) << out;
  EXPECT_EQ(Shell(bin_ + " asr " + Path("missing.wav"), out), 1);
  EXPECT_NE(out.find("cannot read"), std::string::npos) << out;
  std::ofstream(Path("bad.toml")) << "[asr]\nengine = \"openai\"\n";
  EXPECT_EQ(Shell(bin_ + " --config " + Path("bad.toml") + " asr " + Path("notes.wav"), out), 2);
  EXPECT_NE(out.find("asr.base_url"), std::string::npos) << out;
}

TEST_F(VoiceCliTest, OpenAiEnginesComeFromTheConfig) {
  testing::FakeAudioServer server;
  std::ofstream(Path("kefu.toml")) << "[asr]\nengine = \"openai\"\nbase_url = \"" << server.base_url()
                                   << "\"\nmodel = \"large-v3\"\nlanguage = \"zh\"\n"
                                   << "[tts]\nengine = \"openai\"\nbase_url = \"" << server.base_url()
                                   << "\"\nmodel = \"tts-1\"\nvoice = \"alloy\"\n";
  std::string out;
  const std::string wav = Path("speech.wav");
  ASSERT_EQ(Shell(bin_ + " --config " + Path("kefu.toml") + " tts '您好！订单已发货。' -o " + wav, out), 0) << out;
  auto pcm = voice::ReadWavFile(wav);
  ASSERT_TRUE(pcm.ok());
  // Two sentences of 3 and 6 code points at 50 ms each, and a 150 ms pause.
  EXPECT_NEAR(pcm->seconds(), 0.15 + 0.3 + 0.15, 0.01);
  ASSERT_EQ(Shell(bin_ + " --config " + Path("kefu.toml") + " asr " + wav, out), 0) << out;
  // The server resampled nothing: kefu sent 16 kHz WAV of the same length.
  EXPECT_NE(out.find("fake transcript of 0.60 s"), std::string::npos) << out;
  auto reqs = server.Requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[2].fields.at("language"), "zh");
  server.Enqueue(testing::FakeAudioReply::Error(400, "unsupported audio"));
  EXPECT_EQ(Shell(bin_ + " --config " + Path("kefu.toml") + " asr " + wav, out), 1);
  EXPECT_NE(out.find("HTTP 400: unsupported audio"), std::string::npos) << out;
}

}  // namespace
}  // namespace kefu
