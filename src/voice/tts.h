// Tts: the speech-synthesis seam, and the sentence splitting that lets a
// reply be spoken while it is still being written (the first sentence is
// synthesised as soon as it is complete).
//
// Implementations: EspeakTts (embedded espeak-ng, voices "en" and "cmn"),
// OpenAiTts (any OpenAI-compatible /audio/speech server), FakeTts (tests).
// Thread-safety: every implementation may be called from several threads.
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "voice/audio.h"

namespace kefu::voice {

struct TtsOptions {
  std::string voice;     // engine-specific ("en", "cmn", "alloy"); "" = from language, else the configured one
  std::string language;  // "en" | "zh" | "" (the configured default)
};

inline constexpr size_t kMaxTtsInputBytes = 4096;  // one Synthesize() call

// What every engine's Synthesize() refuses: InvalidArgument for a text over
// kMaxTtsInputBytes or with nothing but white space.
Status CheckTtsText(std::string_view text);

class Tts {
 public:
  virtual ~Tts() = default;
  // Mono PCM at the engine's rate. Errors: InvalidArgument (empty or too long
  // text, unknown voice), DeadlineExceeded / Unavailable (a remote engine).
  virtual Result<Pcm> Synthesize(std::string_view text, const TtsOptions& options) = 0;
  virtual std::string name() const = 0;
};

// Splits text written a piece at a time (an LLM reply as it streams) into
// sentences: after 。！？；!?; and …, after '.' followed by a space or the
// end, and at line breaks; closing quotes and brackets stay with their
// sentence. A sentence longer than max_bytes is cut at its last comma or
// space (or at max_bytes, never inside a UTF-8 sequence). Whitespace-only
// sentences are dropped. Not thread-safe.
class SentenceSplitter {
 public:
  explicit SentenceSplitter(size_t max_bytes = 300) : max_bytes_(max_bytes < 16 ? 16 : max_bytes) {}
  // Adds text; returns the sentences it completed.
  std::vector<std::string> Append(std::string_view text);
  // The rest, at the end of the reply (a final unterminated piece included).
  std::vector<std::string> Finish();

 private:
  std::vector<std::string> Drain(bool at_end);
  size_t max_bytes_;
  std::string pending_;
};

std::vector<std::string> SplitSentences(std::string_view text, size_t max_bytes = 300);

// "zh" when the text holds a CJK ideograph, else "en": picks the voice of a
// reply whose language nobody stated.
std::string GuessLanguage(std::string_view text);

// Synthesises `text` sentence by sentence, handing each sentence's audio to
// `on_audio` as soon as it is ready (return false to stop early). The first
// failure stops it and is returned.
using SentenceAudioFn = std::function<bool(size_t index, const std::string& sentence, Pcm&& audio)>;
Status SpeakSentences(Tts& tts, std::string_view text, const TtsOptions& options, const SentenceAudioFn& on_audio);

// A Tts for tests of code that uses the seam. It does not speak: it returns
// a 440 Hz tone of `ms_per_char` per code point at 16 kHz (so durations
// follow the text), or the queued errors first. Records the texts. Thread-safe.
class FakeTts final : public Tts {
 public:
  Result<Pcm> Synthesize(std::string_view text, const TtsOptions& options) override;
  std::string name() const override { return "fake"; }
  void EnqueueError(Status error);
  std::vector<std::string> texts() const;
  int ms_per_char = 60;

 private:
  mutable std::mutex mu_;
  std::vector<Status> errors_;      // GUARDED_BY(mu_)
  std::vector<std::string> texts_;  // GUARDED_BY(mu_)
};

}  // namespace kefu::voice
