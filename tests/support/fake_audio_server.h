// FakeAudioServer: a protocol-faithful OpenAI-compatible audio server for
// tests (the sibling of FakeOpenAiServer, which serves chat completions). It
// listens on 127.0.0.1 with an ephemeral port and records every request.
//
// POST .../audio/transcriptions: parses the multipart/form-data body for
// real (boundary from Content-Type, per-part headers, Content-Disposition
// name/filename), requires `file` (a RIFF/WAVE file) and `model` (else 400
// like OpenAI), and answers {"text": ...} — the next scripted reply, or
// "fake transcript of <seconds> s" from the WAV's own header — as JSON, or
// text/plain for response_format=text.
// POST .../audio/speech: requires JSON {model, input, voice} and answers a
// real 24 kHz 16-bit mono WAV (response_format "wav", the default) or raw
// little-endian PCM ("pcm"): a 330 Hz tone of 50 ms per code point of input.
// Scripted replies can instead be HTTP errors, slow (delay before the
// headers) or cut connections.
//
// Threads: one accept thread plus one per connection; public methods are
// thread-safe; the destructor stops and joins everything.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace kefu::testing {

struct FakeAudioReply {
  enum class Kind { kOk, kError, kDrop };
  Kind kind = Kind::kOk;
  std::string text;           // transcriptions: the transcript ("" = the default)
  int status = 200;           // kError
  std::string error_message;  // kError
  int delay_ms = 0;           // before the response headers

  static FakeAudioReply Transcript(std::string text) { return {Kind::kOk, std::move(text), 200, "", 0}; }
  static FakeAudioReply Error(int status, std::string message) {
    return {Kind::kError, "", status, std::move(message), 0};
  }
  static FakeAudioReply Drop() { return {Kind::kDrop, "", 200, "", 0}; }
  static FakeAudioReply Ok() { return {}; }
  FakeAudioReply& Delay(int ms) {
    delay_ms = ms;
    return *this;
  }
};

struct AudioRequest {
  std::string method, target, content_type, authorization, body;
  std::map<std::string, std::string> fields;     // multipart fields (file included), or JSON string members
  std::map<std::string, std::string> filenames;  // multipart part name → filename
};

class FakeAudioServer {
 public:
  FakeAudioServer();
  ~FakeAudioServer();
  FakeAudioServer(const FakeAudioServer&) = delete;
  FakeAudioServer& operator=(const FakeAudioServer&) = delete;

  int port() const { return port_; }
  std::string base_url() const;  // "http://127.0.0.1:<port>/v1"
  void Enqueue(FakeAudioReply reply);
  std::vector<AudioRequest> Requests() const;

  static constexpr int kSpeechRate = 24000;
  static constexpr int kMsPerChar = 50;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace kefu::testing
