// OpenAiAsr: speech recognition by any server speaking OpenAI's
// POST {base_url}/audio/transcriptions (whisper.cpp server, FunASR's
// OpenAI-compatible server, vLLM, hosted APIs): a multipart/form-data body
// with `file` (the utterance as 16 kHz 16-bit WAV), `model`, `language` and
// `response_format=json`; the reply {"text": ...} (with `words` or
// `segments` timings when the server adds them, as verbose_json does).
// This is the engine for Chinese: there is no embedded Chinese ASR.
//
// Time, retries and errors: OpenAiHttp (openai_http.h). Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "voice/asr.h"
#include "voice/openai_http.h"

namespace kefu::voice {

struct OpenAiAsrSettings {
  HttpSettings http;
  std::string model;         // required, e.g. "whisper-1", "large-v3"
  std::string language;      // default when the caller gives none ("" = the server detects it)
  double max_seconds = 300;  // one utterance
};

class OpenAiAsr final : public Asr {
 public:
  static Result<std::unique_ptr<OpenAiAsr>> Create(const OpenAiAsrSettings& settings, const Clock& clock);
  Result<Transcript> Transcribe(const Pcm& pcm, const AsrOptions& options) override;
  std::string name() const override { return "openai"; }

 private:
  OpenAiAsr(OpenAiAsrSettings s, std::unique_ptr<OpenAiHttp> http) : settings_(std::move(s)), http_(std::move(http)) {}
  const OpenAiAsrSettings settings_;
  std::unique_ptr<OpenAiHttp> http_;
};

// The multipart/form-data body (RFC 7578) and its boundary; exposed for tests.
struct MultipartPart {
  std::string name;
  std::string value;
  std::string filename;      // "" = a plain field
  std::string content_type;  // with filename
};
struct MultipartBody {
  std::string boundary;
  std::string body;
  std::string content_type() const { return "multipart/form-data; boundary=" + boundary; }
};
MultipartBody BuildMultipart(const std::vector<MultipartPart>& parts);

// Parses a transcription reply: JSON {"text"} (+ "language", "words" or
// "segments"), or plain text when the server sent text/plain.
Result<Transcript> ParseTranscription(const std::string& content_type, const std::string& body);

}  // namespace kefu::voice
