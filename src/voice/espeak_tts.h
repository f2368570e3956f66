// EspeakTts: embedded speech synthesis with espeak-ng (libespeak-ng), voices
// "en" (English) and "cmn" (Mandarin), 22 050 Hz mono. Robotic but
// intelligible, small and fast; a natural voice needs OpenAiTts.
//
// espeak-ng keeps all of its state in process globals (one voice, one
// callback, one synthesis at a time), so every EspeakTts in the process
// shares one mutex: Synthesize calls are serialised, whichever thread and
// instance makes them. Long replies are therefore better spoken sentence by
// sentence (SpeakSentences), so no caller holds the engine for long.
#pragma once

#include <memory>
#include <string>

#include "voice/tts.h"

namespace kefu::voice {

struct EspeakSettings {
  std::string data_dir;          // "" = espeak-ng's built-in path (Debian's espeak-ng-data)
  std::string voice = "en";      // English and default voice (e.g. "en-us+klatt2")
  std::string voice_zh = "cmn";  // voice for language "zh"
  int rate_wpm = 165;            // 80..450 words per minute
  double max_seconds = 120;      // one synthesis is cut off (an error) beyond this
};

class EspeakTts final : public Tts {
 public:
  // Initialises espeak-ng once per process and checks the voice loads.
  static Result<std::unique_ptr<EspeakTts>> Create(const EspeakSettings& settings);

  // options.voice, else voice_zh for language "zh", else the configured
  // voice. Plain text (no SSML).
  Result<Pcm> Synthesize(std::string_view text, const TtsOptions& options) override;
  std::string name() const override { return "espeak"; }
  int sample_rate() const { return sample_rate_; }

 private:
  EspeakTts(EspeakSettings s, int rate) : settings_(std::move(s)), sample_rate_(rate) {}
  const EspeakSettings settings_;
  const int sample_rate_;
};

}  // namespace kefu::voice
