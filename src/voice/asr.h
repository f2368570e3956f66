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
  // StartStream only. false: never wait for the engine's capacity — an engine
  // whose stream would have to wait, or would take what whole utterances need
  // (PocketsphinxAsr keeps one decoder for Transcribe), answers
  // ResourceExhausted at once and the caller recognises the utterance whole.
  // A live call sets it: a stream is held while the customer speaks, and a
  // worker blocked waiting for one could stall the workers that would end
  // the streams holding the engine.
  bool stream_may_wait = true;
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
  // True when StartStream decodes while audio arrives (partials, and less
  // work left at Finish); false when it only buffers (the default), which
  // a caller gains nothing from.
  virtual bool streams() const { return false; }
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

// A scripted streaming Asr for tests: each stream's Partial() is the first
// words of `text`, one more for every `ms_per_word` of audio fed; Finish()
// gives all of `text`. Transcribe answers `text` too. Records the audio of
// every stream and every Transcribe, counts streams open, finished and
// abandoned, and notices two feeds of one stream at once. Set the public
// fields before use; the rest is thread-safe.
class FakeStreamingAsr final : public Asr {
 public:
  Result<Transcript> Transcribe(const Pcm& pcm, const AsrOptions& options) override;
  Result<std::unique_ptr<AsrStream>> StartStream(const AsrOptions& options) override;
  bool streams() const override { return true; }
  std::string name() const override { return "fake-streaming"; }

  std::string text = "where is my parcel";
  int ms_per_word = 200;
  bool refuse_streams = false;  // StartStream: ResourceExhausted (the engine is busy)
  bool fail_feeds = false;      // Feed: Internal
  bool fail_finish = false;     // Finish: Internal

  struct Counts {
    int started = 0, open = 0, finished = 0, abandoned = 0, refused = 0, overlapping_feeds = 0;
  };
  Counts counts() const;
  std::vector<Pcm> streamed() const;     // each stream's audio (once destroyed), in the order they started
  std::vector<Pcm> transcribed() const;  // each Transcribe's audio
  std::vector<size_t> feed_sizes() const;  // samples of every Feed, all streams, in order
  std::vector<AsrOptions> stream_options() const;

 private:
  class Stream;
  mutable std::mutex mu_;
  Counts counts_;                         // GUARDED_BY(mu_)
  std::vector<Pcm> streamed_;             // GUARDED_BY(mu_)
  std::vector<Pcm> transcribed_;          // GUARDED_BY(mu_)
  std::vector<size_t> feed_sizes_;        // GUARDED_BY(mu_)
  std::vector<AsrOptions> stream_options_;  // GUARDED_BY(mu_)
};

}  // namespace kefu::voice
