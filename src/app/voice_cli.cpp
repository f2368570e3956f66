#include "app/voice_cli.h"

#include <chrono>
#include <cstdio>

#include "app/voice_eval.h"
#include "common/clock.h"
#include "voice/espeak_tts.h"
#include "voice/openai_asr.h"
#include "voice/openai_tts.h"
#include "voice/pocketsphinx_asr.h"

namespace kefu::app {

namespace {

using SteadyClock = std::chrono::steady_clock;

double MsSince(SteadyClock::time_point t0) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
}

[[noreturn]] void ConfigFailure(const Status& s) {
  std::fprintf(stderr, "kefu: invalid configuration: %s\n", s.message().c_str());
  std::exit(2);
}

struct AsrArgs {
  std::string file, language;
  bool words = false, timing = false;
};

int RunAsr(const Config& config, const AsrArgs& a) {
  voice::AudioLimits limits;
  limits.max_seconds = config.asr.max_seconds;
  auto pcm = voice::ReadWavFile(a.file, limits);
  if (!pcm.ok()) {
    std::fprintf(stderr, "kefu asr: %s\n", pcm.status().message().c_str());
    return 1;
  }
  auto asr = MakeAsr(config.asr);
  if (!asr.ok()) {
    std::fprintf(stderr, "kefu asr: %s\n", asr.status().message().c_str());
    return 2;
  }
  voice::AsrOptions options;
  options.language = a.language.empty() ? config.asr.language : a.language;
  const auto t0 = SteadyClock::now();
  auto t = voice::TranscribeAnyRate(**asr, *pcm, options);
  const double ms = MsSince(t0);
  if (!t.ok()) {
    std::fprintf(stderr, "kefu asr: %s: %s\n", a.file.c_str(), t.status().ToString().c_str());
    return 1;
  }
  std::printf("%s\n", t->text.c_str());
  if (a.words) {
    for (const auto& w : t->words) {
      std::printf("%7.2f %7.2f %5.2f %s\n", w.start_s, w.end_s, w.confidence, w.word.c_str());
    }
  }
  if (a.timing) {
    std::fprintf(stderr, "%s: %.2f s of audio (%d Hz), %s, %.0f ms, real-time factor %.2f\n", a.file.c_str(),
                 pcm->seconds(), pcm->sample_rate, (*asr)->name().c_str(), ms,
                 pcm->seconds() > 0 ? ms / 1000 / pcm->seconds() : 0.0);
  }
  return 0;
}

struct TtsArgs {
  std::string text, out, language, voice;
  bool timing = false;
};

int RunTts(const Config& config, const TtsArgs& a) {
  auto tts = MakeTts(config.tts);
  if (!tts.ok()) {
    std::fprintf(stderr, "kefu tts: %s\n", tts.status().message().c_str());
    return 2;
  }
  voice::TtsOptions options;
  options.language = a.language.empty() ? voice::GuessLanguage(a.text) : a.language;
  options.voice = a.voice;
  voice::Pcm all;
  all.sample_rate = 0;
  const auto t0 = SteadyClock::now();
  double first_ms = -1;
  size_t sentences = 0;
  Status st = voice::SpeakSentences(**tts, a.text, options, [&](size_t i, const std::string& s, voice::Pcm&& pcm) {
    if (first_ms < 0) first_ms = MsSince(t0);
    if (all.sample_rate == 0) all.sample_rate = pcm.sample_rate;
    if (pcm.sample_rate != all.sample_rate) {
      auto same = voice::Resample(pcm, all.sample_rate);
      if (same.ok()) pcm = std::move(*same);
    }
    if (i > 0) all.samples.insert(all.samples.end(), static_cast<size_t>(all.sample_rate * 0.15), 0);  // a pause
    all.samples.insert(all.samples.end(), pcm.samples.begin(), pcm.samples.end());
    ++sentences;
    if (a.timing) std::fprintf(stderr, "sentence %zu ready at %.0f ms: %s\n", i + 1, MsSince(t0), s.c_str());
    return true;
  });
  if (!st.ok()) {
    std::fprintf(stderr, "kefu tts: %s\n", st.ToString().c_str());
    return 1;
  }
  if (Status w = voice::WriteWavFile(a.out, all); !w.ok()) {
    std::fprintf(stderr, "kefu tts: %s\n", w.message().c_str());
    return 1;
  }
  if (a.timing) {
    std::fprintf(stderr, "%s: %zu sentences, %.2f s of speech at %d Hz, first audio after %.0f ms, all after %.0f ms\n",
                 a.out.c_str(), sentences, all.seconds(), all.sample_rate, first_ms, MsSince(t0));
  }
  return 0;
}

// The remote engine's connection settings of an [asr] or [tts] section.
template <typename Section>
voice::HttpSettings HttpFrom(const Section& c) {
  voice::HttpSettings h;
  h.base_url = c.base_url;
  h.api_key = c.api_key;
  h.timeout_ms = c.timeout_ms;
  h.connect_timeout_ms = c.connect_timeout_ms;
  h.max_retries = c.max_retries;
  return h;
}

}  // namespace

Result<std::unique_ptr<voice::Asr>> MakeAsr(const AsrConfig& c) {
  if (c.engine == "pocketsphinx") {
    voice::PocketsphinxSettings s;
    if (!c.model_dir.empty()) s.model_dir = c.model_dir;
    s.decoders = c.decoders;
    s.max_seconds = c.max_seconds;
    KEFU_ASSIGN_OR_RETURN(auto asr, voice::PocketsphinxAsr::Create(s));
    return std::unique_ptr<voice::Asr>(std::move(asr));
  }
  if (c.engine == "openai") {
    voice::OpenAiAsrSettings s;
    s.http = HttpFrom(c);
    s.model = c.model;
    s.language = c.language;
    s.max_seconds = c.max_seconds;
    KEFU_ASSIGN_OR_RETURN(auto asr, voice::OpenAiAsr::Create(s, SystemClock::Instance()));
    return std::unique_ptr<voice::Asr>(std::move(asr));
  }
  return FailedPrecondition("speech recognition is off (asr.engine = \"" + c.engine + "\")");
}

Result<std::unique_ptr<voice::Tts>> MakeTts(const TtsConfig& c) {
  if (c.engine == "espeak") {
    voice::EspeakSettings s;
    if (!c.voice.empty()) s.voice = c.voice;
    if (!c.voice_zh.empty()) s.voice_zh = c.voice_zh;
    s.rate_wpm = c.rate_wpm;
    KEFU_ASSIGN_OR_RETURN(auto tts, voice::EspeakTts::Create(s));
    return std::unique_ptr<voice::Tts>(std::move(tts));
  }
  if (c.engine == "openai") {
    voice::OpenAiTtsSettings s;
    s.http = HttpFrom(c);
    s.model = c.model;
    if (!c.voice.empty()) s.voice = c.voice;
    s.voice_zh = c.voice_zh;
    s.response_format = c.response_format;
    s.pcm_sample_rate = c.pcm_sample_rate;
    KEFU_ASSIGN_OR_RETURN(auto tts, voice::OpenAiTts::Create(s, SystemClock::Instance()));
    return std::unique_ptr<voice::Tts>(std::move(tts));
  }
  return FailedPrecondition("speech synthesis is off (tts.engine = \"" + c.engine + "\")");
}

void RegisterVoiceCommands(CLI::App& cli, std::function<Result<Config>()> load_config) {
  auto* asr = cli.add_subcommand("asr", "Print the transcript of a WAV recording ([asr] engine; docs/voice.md)");
  auto aa = std::make_shared<AsrArgs>();
  asr->add_option("file", aa->file, "WAV file (any rate, mono or several channels)")->required();
  asr->add_option("--language", aa->language, "en or zh (default [asr] language)");
  asr->add_flag("--words", aa->words, "Also print each word's start, end and confidence");
  asr->add_flag("--time", aa->timing, "Print the audio length, recognition time and real-time factor on stderr");
  asr->callback([load_config, aa] {
    auto config = load_config();
    if (!config.ok()) ConfigFailure(config.status());
    std::exit(RunAsr(*config, *aa));
  });

  auto* tts = cli.add_subcommand("tts", "Speak a text into a WAV file ([tts] engine; docs/voice.md)");
  auto ta = std::make_shared<TtsArgs>();
  tts->add_option("text", ta->text, "What to say (UTF-8; several sentences are spoken one by one)")->required();
  tts->add_option("-o,--output", ta->out, "WAV file to write")->required();
  tts->add_option("--language", ta->language, "en or zh (default: zh when the text has Chinese characters)");
  tts->add_option("--voice", ta->voice, "Engine voice, e.g. en, cmn, en-us+klatt2 (espeak) or alloy (openai)");
  tts->add_flag("--time", ta->timing, "Print when each sentence's audio was ready on stderr");
  tts->callback([load_config, ta] {
    auto config = load_config();
    if (!config.ok()) ConfigFailure(config.status());
    std::exit(RunTts(*config, *ta));
  });

  // kefu eval voice, beside the other evaluations (registered before this).
  CLI::App* eval = nullptr;
  try {
    eval = cli.get_subcommand("eval");
  } catch (const CLI::OptionNotFound&) {
  }
  if (eval) RegisterVoiceEval(*eval, load_config);
}

}  // namespace kefu::app
