#include "voice/asr.h"

#include <gtest/gtest.h>

namespace kefu::voice {
namespace {

Pcm Samples(size_t n, int16_t v, int rate = kAsrSampleRate) {
  Pcm p;
  p.sample_rate = rate;
  p.samples.assign(n, v);
  return p;
}

TEST(FakeAsrTest, AnswersQueuedTranscriptsThenTheFallback) {
  FakeAsr asr;
  Transcript t;
  t.text = "where is my parcel";
  asr.Enqueue(t);
  asr.Enqueue(Unavailable("server down"));
  EXPECT_EQ(asr.Transcribe(Samples(160, 1), {})->text, "where is my parcel");
  EXPECT_EQ(asr.Transcribe(Samples(160, 1), {}).status().code(), ErrorCode::kUnavailable);
  AsrOptions zh;
  zh.language = "zh";
  auto f = asr.Transcribe(Samples(160, 1), zh);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->text, "fake transcript");
  EXPECT_EQ(f->language, "zh");
  EXPECT_EQ(asr.Transcribe(Samples(80, 1, 8000), {}).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(asr.calls().size(), 4u);
}

TEST(BufferedStreamTest, WholeUtteranceEnginesGetTheAudioAtFinish) {
  FakeAsr asr;
  auto stream = asr.StartStream({});
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE((*stream)->Feed(Samples(1600, 1)).ok());
  ASSERT_TRUE((*stream)->Feed(Samples(800, 2)).ok());
  EXPECT_EQ((*stream)->Partial(), "");
  EXPECT_TRUE(asr.calls().empty());  // nothing sent before the end
  EXPECT_EQ((*stream)->Feed(Samples(10, 3, 8000)).code(), ErrorCode::kInvalidArgument);
  auto t = (*stream)->Finish();
  ASSERT_TRUE(t.ok());
  const std::vector<Pcm> calls = asr.calls();
  ASSERT_EQ(calls.size(), 1u);
  const Pcm& sent = calls[0];
  ASSERT_EQ(sent.samples.size(), 2400u);
  EXPECT_EQ(sent.samples[1599], 1);
  EXPECT_EQ(sent.samples[1600], 2);
}

TEST(BufferedStreamTest, RefusesAnUtteranceOverTheLimit) {
  FakeAsr asr;
  auto stream = asr.StartStream({});
  ASSERT_TRUE(stream.ok());
  Status st;
  int fed = 0;
  while ((st = (*stream)->Feed(Samples(kAsrSampleRate * 10, 0))).ok() && fed < 100) ++fed;
  EXPECT_EQ(st.code(), ErrorCode::kPayloadTooLarge);
  EXPECT_EQ(fed, static_cast<int>(AudioLimits{}.max_seconds / 10));
}

TEST(TranscribeAnyRateTest, ResamplesTo16kHz) {
  FakeAsr asr;
  ASSERT_TRUE(TranscribeAnyRate(asr, Samples(44100, 100, 44100), {}).ok());
  ASSERT_EQ(asr.calls().size(), 1u);
  EXPECT_EQ(asr.calls()[0].sample_rate, kAsrSampleRate);
  EXPECT_NEAR(static_cast<double>(asr.calls()[0].samples.size()), 16000, 20);
}

}  // namespace
}  // namespace kefu::voice
