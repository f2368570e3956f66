// Asr: the speech-recognition seam. An engine turns one utterance (16 kHz
// mono PCM) into text; engines that can also give partial hypotheses while
// audio arrives implement StartStream.
//
// Implementations: PocketsphinxAsr (embedded, English), OpenAiAsr (any
// OpenAI-compatible /audio/transcriptions server), FakeAsr (tests).
// Thread-safety: every implementation may be called from several threads at
// once (each documents how it bounds the work in flight).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "voice/audio.h"

namespace kefu::voice {

struct WordTiming {
  std::string word;
  double start_s = 0;
  double end_s = 0;
  double confidence = -1;  // 0..1 where the engine gives one, else -1
};

struct Transcript {
  std::string text;
  std::string language;           // as the engine reports it ("" = unknown)
  std::vector<WordTiming> words;  // empty when the engine gives no timings
};

struct AsrOptions {
  std::string language;  // BCP-47-ish: "en", "zh"; "" = the engine's configured default
};

// One utterance being recognised while it is spoken. Not thread-safe: one
// caller feeds it, in order. Destroying it without Finish() abandons it.
class AsrStream {
 public:
  virtual ~AsrStream() = default;
  // `pcm` must be 16 kHz mono; chunks of any length.
  virtual Status Feed(const Pcm& pcm) = 0;
  // The best hypothesis so far ("" when the engine gives no partials).
  virtual std::string Partial() = 0;
  virtual Result<Transcript> Finish() = 0;
};

class Asr {
 public:
  virtual ~Asr() = default;
  // `pcm` at kAsrSampleRate, mono. Errors: InvalidArgument (bad audio, an
  // unsupported language), DeadlineExceeded, Unavailable (a remote engine).
  virtual Result<Transcript> Transcribe(const Pcm& pcm, const AsrOptions& options) = 0;
  // Starts one streamed utterance. The default buffers the audio and calls
  // Transcribe at Finish (no partials), for engines that only take whole
  // utterances.
  virtual Result<std::unique_ptr<AsrStream>> StartStream(const AsrOptions& options);
  virtual std::string name() const = 0;
};

// Transcribe() for any rate: resamples to 16 kHz first.
Result<Transcript> TranscribeAnyRate(Asr& asr, const Pcm& pcm, const AsrOptions& options);

// A scripted Asr for tests of code that uses the seam: answers queued
// transcripts in order (or `fallback` when none is queued), records what it
// was given. Thread-safe.
class FakeAsr final : public Asr {
 public:
  void Enqueue(Result<Transcript> next);
  Result<Transcript> Transcribe(const Pcm& pcm, const AsrOptions& options) override;
  std::string name() const override { return "fake"; }
  std::vector<Pcm> calls() const;
  std::string fallback = "fake transcript";

 private:
  mutable std::mutex mu_;
  std::vector<Result<Transcript>> queue_;  // GUARDED_BY(mu_)
  std::vector<Pcm> calls_;                 // GUARDED_BY(mu_)
};

}  // namespace kefu::voice
