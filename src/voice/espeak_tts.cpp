#include "voice/espeak_tts.h"

#include <espeak-ng/speak_lib.h>

#include <mutex>

namespace kefu::voice {

namespace {

// espeak-ng's process-wide state: the library, its voice and its callback.
std::mutex& EngineMutex() {
  static std::mutex mu;
  return mu;
}
int g_rate = 0;          // GUARDED_BY(EngineMutex()); 0 = not initialised
std::string g_data_dir;  // GUARDED_BY(EngineMutex()); the path it was initialised with

struct Collector {
  std::vector<int16_t>* out;
  size_t max_samples;
  bool overflow = false;
};

int OnSynth(short* wav, int n, espeak_EVENT* events) {
  if (!events) return 0;
  auto* c = static_cast<Collector*>(events->user_data);
  if (!c || !wav || n <= 0) return 0;
  if (c->out->size() + static_cast<size_t>(n) > c->max_samples) {
    c->overflow = true;
    return 1;  // abort the synthesis
  }
  c->out->insert(c->out->end(), wav, wav + n);
  return 0;
}

bool KnownVoiceName(const std::string& v) {
  if (v.empty() || v.size() > 40) return false;
  for (char c : v) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '+' || c == '/')) return false;
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<EspeakTts>> EspeakTts::Create(const EspeakSettings& settings) {
  if (settings.rate_wpm < espeakRATE_MINIMUM || settings.rate_wpm > espeakRATE_MAXIMUM) {
    return InvalidArgument("tts.rate_wpm must be 80..450");
  }
  if (settings.max_seconds <= 0 || settings.max_seconds > 600) return InvalidArgument("bad synthesis limit");
  if (!KnownVoiceName(settings.voice)) return InvalidArgument("tts.voice '" + settings.voice + "' is not a voice name");
  if (!KnownVoiceName(settings.voice_zh)) {
    return InvalidArgument("tts.voice_zh '" + settings.voice_zh + "' is not a voice name");
  }
  std::lock_guard lock(EngineMutex());
  if (g_rate == 0) {
    const int rate =
        espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, settings.data_dir.empty() ? nullptr : settings.data_dir.c_str(),
                          espeakINITIALIZE_DONT_EXIT);
    if (rate <= 0) {
      return Unavailable("espeak-ng cannot start (data in " +
                         (settings.data_dir.empty() ? std::string("its default path") : settings.data_dir) +
                         "; apt install espeak-ng-data)");
    }
    espeak_SetSynthCallback(OnSynth);
    g_rate = rate;
    g_data_dir = settings.data_dir;
  } else if (settings.data_dir != g_data_dir) {
    return FailedPrecondition("espeak-ng is already running with another data_dir (it is process-wide)");
  }
  for (const std::string& v : {settings.voice, settings.voice_zh}) {
    if (espeak_SetVoiceByName(v.c_str()) != EE_OK) {
      return InvalidArgument("espeak-ng has no voice '" + v + "' (try en, en-us+klatt2 or cmn)");
    }
  }
  return std::unique_ptr<EspeakTts>(new EspeakTts(settings, g_rate));
}

Result<Pcm> EspeakTts::Synthesize(std::string_view text, const TtsOptions& options) {
  KEFU_RETURN_IF_ERROR(CheckTtsText(text));
  std::string voice = options.voice;
  if (voice.empty()) {
    if (options.language == "zh" || options.language.starts_with("zh-"))
      voice = settings_.voice_zh;
    else if (options.language.empty() || options.language == "en" || options.language.starts_with("en-"))
      voice = settings_.voice;
    else
      return InvalidArgument("espeak: no voice configured for language '" + options.language + "'");
  }
  if (!KnownVoiceName(voice)) return InvalidArgument("'" + voice + "' is not a voice name");
  const std::string input(text);  // NUL-terminated copy
  Pcm pcm;
  pcm.sample_rate = sample_rate_;
  Collector c{&pcm.samples, static_cast<size_t>(settings_.max_seconds * sample_rate_)};
  std::lock_guard lock(EngineMutex());
  if (espeak_SetVoiceByName(voice.c_str()) != EE_OK) {
    return InvalidArgument("espeak-ng has no voice '" + voice + "' (try en or cmn)");
  }
  espeak_SetParameter(espeakRATE, settings_.rate_wpm, 0);
  const espeak_ERROR err =
      espeak_Synth(input.c_str(), input.size() + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, nullptr, &c);
  if (c.overflow) {
    return PayloadTooLarge("speech would be longer than " + std::to_string(static_cast<int>(settings_.max_seconds)) +
                           " s");
  }
  if (err != EE_OK) return Internal("espeak-ng failed to synthesise (error " + std::to_string(err) + ")");
  return pcm;
}

}  // namespace kefu::voice
