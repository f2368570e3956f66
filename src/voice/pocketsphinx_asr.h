// PocketsphinxAsr: embedded English speech recognition (CMU pocketsphinx 5
// with Debian's en-us acoustic model, language model and dictionary in
// /usr/share/pocketsphinx/model/en-us). There is no embedded Chinese model:
// Chinese needs an OpenAI-compatible server (OpenAiAsr).
//
// A pocketsphinx decoder holds one utterance at a time, so the engine keeps a
// pool of `decoders` decoders (each loads the model, ≈ 30 MB): a call takes a
// free one, or waits for one (at most `wait_ms`, then Unavailable). A stream
// holds its decoder until it finishes or is destroyed; one started with
// `stream_may_wait = false` (a live call's) never waits and never takes the
// last decoder that no stream holds (ResourceExhausted instead), so that
// whole-utterance calls blocked waiting for a decoder always wait on one that
// a running Transcribe gives back — with 1 decoder such streams are always
// refused. Decoders are loaded
// when first needed (≈ 0.5 s of CPU each), not at start: a server that never
// hears a voice never pays for them, and Create checks only that the model's
// files are there (a damaged model fails the first call, Internal).
//
// pocketsphinx adapts to the audio as it goes (its live cepstral mean and
// noise estimate carry over from one utterance to the next on a decoder), so
// the same audio can come out slightly differently depending on which
// decoder of the pool takes it and what that decoder heard before (measured:
// "but what kind of business" or "what kind of business"). Calls from one
// thread in the same order are reproducible.
//
// Thread-safe: Transcribe and StartStream may be called from any number of
// threads; a stream is used by one thread at a time and must not outlive the
// engine.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "voice/asr.h"

struct ps_decoder_s;

namespace kefu::voice {

struct PocketsphinxSettings {
  std::string model_dir = "/usr/share/pocketsphinx/model/en-us";  // holds en-us/, en-us.lm.bin, cmudict-en-us.dict
  int decoders = 2;                                               // 1..16
  int wait_ms = 30'000;                                           // waiting for a free decoder
  double max_seconds = 300;                                       // one utterance
};

class PocketsphinxAsr final : public Asr {
 public:
  static Result<std::unique_ptr<PocketsphinxAsr>> Create(const PocketsphinxSettings& settings);
  ~PocketsphinxAsr() override;

  Result<Transcript> Transcribe(const Pcm& pcm, const AsrOptions& options) override;
  Result<std::unique_ptr<AsrStream>> StartStream(const AsrOptions& options) override;
  bool streams() const override { return true; }
  std::string name() const override { return "pocketsphinx"; }

 private:
  class Stream;
  friend class Stream;
  explicit PocketsphinxAsr(PocketsphinxSettings settings) : settings_(std::move(settings)) {}
  Result<ps_decoder_s*> Acquire();
  // A decoder for a stream that may not wait: ResourceExhausted when none is
  // free or loadable, or when it would leave no decoder outside streams.
  Result<ps_decoder_s*> AcquireNoWait();
  Result<ps_decoder_s*> LoadOne(std::unique_lock<std::mutex>& lock);
  void Release(ps_decoder_s* decoder, bool stream);

  Result<ps_decoder_s*> Load() const;

  const PocketsphinxSettings settings_;
  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<ps_decoder_s*> all_;   // GUARDED_BY(mu_); owned, freed by the destructor
  std::vector<ps_decoder_s*> free_;  // GUARDED_BY(mu_)
  int loading_ = 0;                  // GUARDED_BY(mu_): decoders being loaded
  int streams_ = 0;                  // GUARDED_BY(mu_): decoders held by streams
};

}  // namespace kefu::voice
