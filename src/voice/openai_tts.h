// OpenAiTts: speech synthesis by any server speaking OpenAI's
// POST {base_url}/audio/speech: a JSON body {model, input, voice,
// response_format}; the reply is the audio itself: a WAV (response_format
// "wav"), or raw 16-bit little-endian mono PCM ("pcm", at pcm_sample_rate:
// 24 000 Hz for OpenAI). Replies are decoded with the WAV limits, so a
// misbehaving server cannot hand us unbounded audio.
//
// Time, retries and errors: OpenAiHttp (openai_http.h). Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "voice/openai_http.h"
#include "voice/tts.h"

namespace kefu::voice {

struct OpenAiTtsSettings {
  HttpSettings http;
  std::string model;                    // required, e.g. "tts-1", "kokoro"
  std::string voice = "alloy";          // default voice
  std::string voice_zh;                 // voice for language "zh" ("" = voice)
  std::string response_format = "wav";  // "wav" | "pcm"
  int pcm_sample_rate = 24000;          // with "pcm"
  double max_seconds = 120;             // one reply's audio
};

class OpenAiTts final : public Tts {
 public:
  static Result<std::unique_ptr<OpenAiTts>> Create(const OpenAiTtsSettings& settings, const Clock& clock);
  Result<Pcm> Synthesize(std::string_view text, const TtsOptions& options) override;
  std::string name() const override { return "openai"; }

 private:
  OpenAiTts(OpenAiTtsSettings s, std::unique_ptr<OpenAiHttp> http) : settings_(std::move(s)), http_(std::move(http)) {}
  const OpenAiTtsSettings settings_;
  std::unique_ptr<OpenAiHttp> http_;
};

}  // namespace kefu::voice
