#include "voice/audio.h"

#include <gtest/gtest.h>
#include <opus/opus.h>

#include <cmath>
#include <cstring>
#include <random>

namespace kefu::voice {
namespace {

Pcm Sine(double hz, double seconds, int rate, double amplitude = 0.5) {
  Pcm p;
  p.sample_rate = rate;
  const size_t n = static_cast<size_t>(seconds * rate);
  for (size_t i = 0; i < n; ++i) {
    p.samples.push_back(static_cast<int16_t>(amplitude * 32767 * std::sin(2 * M_PI * hz * i / rate)));
  }
  return p;
}

// Estimated frequency from the rising zero crossings.
double Frequency(const Pcm& p, size_t skip = 0) {
  int crossings = 0;
  for (size_t i = skip + 1; i < p.samples.size(); ++i) crossings += p.samples[i - 1] < 0 && p.samples[i] >= 0;
  return crossings / (static_cast<double>(p.samples.size() - skip) / p.sample_rate);
}

void Put16(std::string& s, uint16_t v) {
  s.append({char(v & 0xff), char(v >> 8)});
}
void Put32(std::string& s, uint32_t v) {
  Put16(s, v & 0xffff);
  Put16(s, v >> 16);
}

// A WAV written by hand (not by libsndfile), so decoding is checked against
// an independent writer. format 1 = integer PCM, 3 = IEEE float.
std::string HandWav(int format, int channels, int rate, int bits, const std::string& data) {
  std::string s = "RIFF";
  Put32(s, static_cast<uint32_t>(36 + data.size()));
  s += "WAVEfmt ";
  Put32(s, 16);
  Put16(s, static_cast<uint16_t>(format));
  Put16(s, static_cast<uint16_t>(channels));
  Put32(s, static_cast<uint32_t>(rate));
  Put32(s, static_cast<uint32_t>(rate * channels * bits / 8));
  Put16(s, static_cast<uint16_t>(channels * bits / 8));
  Put16(s, static_cast<uint16_t>(bits));
  s += "data";
  Put32(s, static_cast<uint32_t>(data.size()));
  return s + data;
}

TEST(WavTest, EncodeThenDecodeKeepsEverySample) {
  Pcm in = Sine(440, 0.25, 16000);
  auto wav = EncodeWav(in);
  ASSERT_TRUE(wav.ok()) << wav.status().ToString();
  EXPECT_EQ(wav->substr(0, 4), "RIFF");
  EXPECT_EQ(wav->size(), 44 + in.samples.size() * 2);
  auto out = DecodeWav(*wav);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->sample_rate, 16000);
  EXPECT_EQ(out->samples, in.samples);
}

TEST(WavTest, StereoIsMixedDownToMono) {
  std::string data;
  for (int i = 0; i < 100; ++i) {
    Put16(data, static_cast<uint16_t>(int16_t(1000)));
    Put16(data, static_cast<uint16_t>(int16_t(-3000)));
  }
  auto pcm = DecodeWav(HandWav(1, 2, 44100, 16, data));
  ASSERT_TRUE(pcm.ok()) << pcm.status().ToString();
  EXPECT_EQ(pcm->sample_rate, 44100);
  ASSERT_EQ(pcm->samples.size(), 100u);
  EXPECT_EQ(pcm->samples[0], -1000);
}

TEST(WavTest, FloatSamplesAreScaledTo16Bit) {
  std::string data;
  for (float f : {0.5f, -0.25f}) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    Put32(data, bits);
  }
  auto pcm = DecodeWav(HandWav(3, 1, 16000, 32, data));
  ASSERT_TRUE(pcm.ok()) << pcm.status().ToString();
  ASSERT_EQ(pcm->samples.size(), 2u);
  EXPECT_NEAR(pcm->samples[0], 16384, 2);
  EXPECT_NEAR(pcm->samples[1], -8192, 2);
}

TEST(WavTest, RefusesWhatIsNotAWav) {
  auto r = DecodeWav("ID3\x03 this is an mp3");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("not a WAV"), std::string::npos);
  EXPECT_FALSE(DecodeWav("").ok());
  EXPECT_FALSE(DecodeWav("RIFF\x10\0\0\0WAVEjunkjunkjunk").ok());
}

TEST(WavTest, RefusesUnsupportedEncodingRateAndChannels) {
  std::string data(64, '\0');
  auto adpcm = DecodeWav(HandWav(0x55 /* MP3 in RIFF */, 1, 16000, 16, data));
  EXPECT_FALSE(adpcm.ok());
  auto slow = DecodeWav(HandWav(1, 1, 4000, 16, data));
  ASSERT_FALSE(slow.ok());
  EXPECT_NE(slow.status().message().find("4000 Hz"), std::string::npos);
  AudioLimits two;
  two.max_channels = 2;
  auto many = DecodeWav(HandWav(1, 4, 16000, 16, data), two);
  ASSERT_FALSE(many.ok());
  EXPECT_NE(many.status().message().find("4 channels"), std::string::npos);
}

TEST(WavTest, EnforcesSizeAndDurationLimits) {
  auto wav = EncodeWav(Sine(440, 2.0, 16000));
  ASSERT_TRUE(wav.ok());
  AudioLimits small;
  small.max_bytes = 1000;
  EXPECT_EQ(DecodeWav(*wav, small).status().code(), ErrorCode::kPayloadTooLarge);
  AudioLimits brief;
  brief.max_seconds = 1.5;
  auto r = DecodeWav(*wav, brief);
  EXPECT_EQ(r.status().code(), ErrorCode::kPayloadTooLarge);
  EXPECT_NE(r.status().message().find("longer than"), std::string::npos);
}

TEST(WavTest, CorruptedHeadersNeverCrash) {
  auto wav = EncodeWav(Sine(300, 0.05, 16000));
  ASSERT_TRUE(wav.ok());
  std::mt19937 rng(7);
  int decoded = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string bad = *wav;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) bad[8 + rng() % 40] = static_cast<char>(rng());  // header bytes
    if (rng() % 3 == 0) bad.resize(rng() % bad.size());
    auto r = DecodeWav(bad);
    if (r.ok()) {
      ++decoded;
      EXPECT_LE(r->seconds(), AudioLimits{}.max_seconds);
    } else {
      EXPECT_FALSE(r.status().message().empty());
    }
  }
  EXPECT_LT(decoded, 2000);  // the mutations did reach the checks
}

TEST(WavTest, FilesRoundTripAndMissingFilesAreNotFound) {
  const std::string path = ::testing::TempDir() + "/voice_audio_test.wav";
  Pcm in = Sine(200, 0.1, 22050);
  ASSERT_TRUE(WriteWavFile(path, in).ok());
  auto out = ReadWavFile(path);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->samples, in.samples);
  EXPECT_EQ(out->sample_rate, 22050);
  EXPECT_EQ(ReadWavFile(path + ".missing").status().code(), ErrorCode::kNotFound);
}

TEST(ResampleTest, KeepsDurationAndPitch) {
  Pcm in = Sine(1000, 1.0, 44100);
  auto out = Resample(in, 16000);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->sample_rate, 16000);
  EXPECT_NEAR(static_cast<double>(out->samples.size()), 16000, 20);
  EXPECT_NEAR(Frequency(*out), 1000, 10);
  EXPECT_NEAR(RmsDbfs(*out), RmsDbfs(in), 0.5);
  EXPECT_FALSE(Resample(in, 100).ok());
}

TEST(ResampleTest, RemovesWhatTheNewRateCannotCarry) {
  Pcm in = Sine(11000, 0.5, 48000);  // above 8 kHz, the Nyquist frequency of 16 kHz
  auto out = Resample(in, 16000);
  ASSERT_TRUE(out.ok());
  EXPECT_LT(RmsDbfs(*out), RmsDbfs(in) - 30);  // filtered, not aliased to 5 kHz
}

std::vector<std::string> EncodeOpus(const Pcm& pcm, int frame_ms) {
  int err = 0;
  OpusEncoder* enc = opus_encoder_create(pcm.sample_rate, 1, OPUS_APPLICATION_VOIP, &err);
  EXPECT_EQ(err, OPUS_OK);
  std::vector<std::string> packets;
  const size_t frame = static_cast<size_t>(pcm.sample_rate * frame_ms / 1000);
  for (size_t at = 0; at + frame <= pcm.samples.size(); at += frame) {
    unsigned char buf[1500];
    int n = opus_encode(enc, pcm.samples.data() + at, static_cast<int>(frame), buf, sizeof buf);
    EXPECT_GT(n, 0);
    packets.emplace_back(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  }
  opus_encoder_destroy(enc);
  return packets;
}

class OpusTest : public ::testing::TestWithParam<int> {};

TEST_P(OpusTest, DecodesAStreamAt16kHz) {
  const int input_rate = GetParam();
  Pcm in = Sine(440, 1.0, input_rate, 0.3);
  auto packets = EncodeOpus(in, 20);
  ASSERT_EQ(packets.size(), 50u);
  auto dec = OpusStreamDecoder::Create(16000);
  ASSERT_TRUE(dec.ok());
  Pcm out;
  out.sample_rate = 16000;
  for (const auto& p : packets) ASSERT_TRUE((*dec)->Decode(p, out).ok());
  EXPECT_EQ(out.samples.size(), 16000u);
  EXPECT_NEAR(Frequency(out, 1600), 440, 8);
  EXPECT_NEAR(RmsDbfs(out), RmsDbfs(in), 3);
}

INSTANTIATE_TEST_SUITE_P(Rates, OpusTest, ::testing::Values(16000, 48000));

TEST(OpusDecoderTest, RefusesGarbageAndOversizedPackets) {
  auto dec = OpusStreamDecoder::Create(16000);
  ASSERT_TRUE(dec.ok());
  Pcm out;
  out.sample_rate = 16000;
  EXPECT_FALSE((*dec)->Decode(std::string(1501, 'x'), out).ok());
  // TOC code 3 (arbitrary frame count) asking for 63 frames of 60 ms: over 120 ms.
  std::string too_long = {char(0xFB), char(0x3F)};
  too_long += std::string(100, '\0');
  EXPECT_FALSE((*dec)->Decode(too_long, out).ok());
  EXPECT_FALSE((*dec)->Decode(std::string("\xff", 1), out).ok());
  EXPECT_TRUE(out.samples.empty());
  Pcm other;
  other.sample_rate = 48000;
  EXPECT_FALSE((*dec)->Decode(std::string(), other).ok());
  EXPECT_FALSE(OpusStreamDecoder::Create(44100).ok());
}

TEST(OpusDecoderTest, AnEmptyPacketConcealsALostOne) {
  auto dec = OpusStreamDecoder::Create(16000);
  ASSERT_TRUE(dec.ok());
  auto packets = EncodeOpus(Sine(300, 0.2, 16000), 20);
  Pcm out;
  out.sample_rate = 16000;
  ASSERT_TRUE((*dec)->Decode(packets[0], out).ok());
  ASSERT_TRUE((*dec)->Decode({}, out).ok());
  EXPECT_EQ(out.samples.size(), 640u);  // two 20 ms frames
}

}  // namespace
}  // namespace kefu::voice
