#include "voice/openai_asr.h"

#include <random>

#include "common/json.h"

namespace kefu::voice {

namespace {

constexpr size_t kMaxTranscriptBytes = 1 << 20;

std::string RandomBoundary() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string b = "----kefu-";
  for (int i = 0; i < 24; ++i) b += kHex[rng() % 16];
  return b;
}

bool ValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (int k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

}  // namespace

MultipartBody BuildMultipart(const std::vector<MultipartPart>& parts) {
  MultipartBody m;
  for (;;) {  // a boundary that occurs in no part
    m.boundary = RandomBoundary();
    bool clash = false;
    for (const auto& p : parts) clash |= p.value.find(m.boundary) != std::string::npos;
    if (!clash) break;
  }
  for (const auto& p : parts) {
    m.body += "--" + m.boundary + "\r\nContent-Disposition: form-data; name=\"" + p.name + "\"";
    if (!p.filename.empty()) m.body += "; filename=\"" + p.filename + "\"\r\nContent-Type: " + p.content_type;
    m.body += "\r\n\r\n";
    m.body += p.value;
    m.body += "\r\n";
  }
  m.body += "--" + m.boundary + "--\r\n";
  return m;
}

Result<Transcript> ParseTranscription(const std::string& content_type, const std::string& body) {
  if (body.size() > kMaxTranscriptBytes) return Unavailable("asr server sent a transcript over 1 MiB");
  Transcript t;
  if (content_type.find("json") == std::string::npos && !body.starts_with("{")) {
    if (!ValidUtf8(body)) return Unavailable("asr server sent a transcript that is not UTF-8");
    t.text = body;
    while (!t.text.empty() && (t.text.back() == '\n' || t.text.back() == '\r' || t.text.back() == ' '))
      t.text.pop_back();
    return t;
  }
  nlohmann::json j = ParseJsonOrDiscarded(body);
  if (j.is_discarded() || !j.is_object()) return Unavailable("asr server reply is not a JSON object");
  if (!j.contains("text") || !j["text"].is_string()) return Unavailable("asr server reply has no \"text\"");
  t.text = j["text"].get<std::string>();
  while (!t.text.empty() && t.text.front() == ' ') t.text.erase(0, 1);  // whisper puts a leading space
  if (j.contains("language") && j["language"].is_string()) t.language = j["language"].get<std::string>();
  auto add_word = [&](const nlohmann::json& w, const char* key) {
    if (!w.is_object() || !w.contains(key) || !w[key].is_string()) return;
    WordTiming wt;
    wt.word = w[key].get<std::string>();
    if (w.contains("start") && w["start"].is_number()) wt.start_s = w["start"].get<double>();
    if (w.contains("end") && w["end"].is_number()) wt.end_s = w["end"].get<double>();
    if (w.contains("probability") && w["probability"].is_number()) wt.confidence = w["probability"].get<double>();
    t.words.push_back(std::move(wt));
  };
  if (j.contains("words") && j["words"].is_array()) {
    for (const auto& w : j["words"]) add_word(w, "word");
  } else if (j.contains("segments") && j["segments"].is_array()) {
    for (const auto& s : j["segments"]) add_word(s, "text");  // segment-level timings only
  }
  if (t.words.size() > 100'000) return Unavailable("asr server reply has too many words");
  return t;
}

Result<std::unique_ptr<OpenAiAsr>> OpenAiAsr::Create(const OpenAiAsrSettings& settings, const Clock& clock) {
  if (settings.model.empty()) return InvalidArgument("asr.model must be set for engine \"openai\"");
  HttpSettings http = settings.http;
  http.max_response_bytes = std::min<int64_t>(http.max_response_bytes, 2 << 20);
  KEFU_ASSIGN_OR_RETURN(auto client, OpenAiHttp::Create(http, "asr", "/audio/transcriptions", clock));
  return std::unique_ptr<OpenAiAsr>(new OpenAiAsr(settings, std::move(client)));
}

Result<Transcript> OpenAiAsr::Transcribe(const Pcm& pcm, const AsrOptions& options) {
  if (pcm.sample_rate != kAsrSampleRate) return InvalidArgument("asr takes 16 kHz audio");
  if (pcm.seconds() > settings_.max_seconds) {
    return PayloadTooLarge("utterance is longer than " + std::to_string(static_cast<int>(settings_.max_seconds)) +
                           " s");
  }
  KEFU_ASSIGN_OR_RETURN(std::string wav, EncodeWav(pcm));
  const std::string language = options.language.empty() ? settings_.language : options.language;
  std::vector<MultipartPart> parts = {{"file", std::move(wav), "audio.wav", "audio/wav"},
                                      {"model", settings_.model, "", ""},
                                      {"response_format", "json", "", ""}};
  if (!language.empty()) parts.push_back({"language", language.substr(0, language.find('-')), "", ""});
  const MultipartBody body = BuildMultipart(parts);
  KEFU_ASSIGN_OR_RETURN(HttpReply reply, http_->Post(body.content_type(), body.body));
  KEFU_ASSIGN_OR_RETURN(Transcript t, ParseTranscription(reply.content_type, reply.body));
  if (t.language.empty()) t.language = language;
  return t;
}

}  // namespace kefu::voice
