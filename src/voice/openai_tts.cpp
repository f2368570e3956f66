#include "voice/openai_tts.h"

#include <cstring>

#include "common/json.h"

namespace kefu::voice {

Result<std::unique_ptr<OpenAiTts>> OpenAiTts::Create(const OpenAiTtsSettings& settings, const Clock& clock) {
  if (settings.model.empty()) return InvalidArgument("tts.model must be set for engine \"openai\"");
  if (settings.voice.empty()) return InvalidArgument("tts.voice must be set for engine \"openai\"");
  if (settings.response_format != "wav" && settings.response_format != "pcm") {
    return InvalidArgument("tts.response_format must be \"wav\" or \"pcm\"");
  }
  if (settings.pcm_sample_rate < 8000 || settings.pcm_sample_rate > 48000) {
    return InvalidArgument("tts.pcm_sample_rate must be 8000..48000");
  }
  HttpSettings http = settings.http;
  // 16-bit samples of max_seconds at 48 kHz, and a header.
  http.max_response_bytes = static_cast<int64_t>(settings.max_seconds * 48000 * 2) + 4096;
  KEFU_ASSIGN_OR_RETURN(auto client, OpenAiHttp::Create(http, "tts", "/audio/speech", clock));
  return std::unique_ptr<OpenAiTts>(new OpenAiTts(settings, std::move(client)));
}

Result<Pcm> OpenAiTts::Synthesize(std::string_view text, const TtsOptions& options) {
  KEFU_RETURN_IF_ERROR(CheckTtsText(text));
  std::string voice = options.voice;
  if (voice.empty()) {
    const bool zh = options.language == "zh" || options.language.starts_with("zh-");
    voice = zh && !settings_.voice_zh.empty() ? settings_.voice_zh : settings_.voice;
  }
  nlohmann::json req = {{"model", settings_.model},
                        {"input", std::string(text)},
                        {"voice", voice},
                        {"response_format", settings_.response_format}};
  KEFU_ASSIGN_OR_RETURN(
      HttpReply reply,
      http_->Post("application/json", req.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
  if (reply.content_type.find("json") != std::string::npos) {
    return Unavailable("tts server answered JSON instead of audio: " + reply.body.substr(0, 200));
  }
  AudioLimits limits;
  limits.max_seconds = settings_.max_seconds;
  limits.max_bytes = static_cast<int64_t>(reply.body.size()) + 1;
  if (settings_.response_format == "wav") {
    auto pcm = DecodeWav(reply.body, limits);
    if (!pcm.ok()) return Unavailable("tts server sent audio that cannot be used: " + pcm.status().message());
    return pcm;
  }
  if (reply.body.size() % 2 != 0) return Unavailable("tts server sent raw PCM with an odd number of bytes");
  Pcm pcm;
  pcm.sample_rate = settings_.pcm_sample_rate;
  pcm.samples.resize(reply.body.size() / 2);
  for (size_t i = 0; i < pcm.samples.size(); ++i) {  // little-endian whatever the host
    const auto lo = static_cast<unsigned char>(reply.body[2 * i]),
               hi = static_cast<unsigned char>(reply.body[2 * i + 1]);
    pcm.samples[i] = static_cast<int16_t>(static_cast<uint16_t>(lo | (hi << 8)));
  }
  if (pcm.seconds() > settings_.max_seconds) return Unavailable("tts server sent more audio than allowed");
  return pcm;
}

}  // namespace kefu::voice
