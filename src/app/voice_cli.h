// kefu asr FILE.wav: prints the transcript of a recording with the configured
// [asr] engine; kefu tts TEXT -o FILE.wav: speaks a text with the configured
// [tts] engine, sentence by sentence; kefu eval voice: WER/CER and latency of
// the embedded engines (app/voice_eval.h). Also the one place that turns
// [asr]/[tts] into engines (MakeAsr/MakeTts), for the CLI and the server.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>

#include "common/config.h"
#include "common/status.h"
#include "voice/asr.h"
#include "voice/tts.h"

namespace kefu::app {

// The engine [asr] names; FailedPrecondition for engine = "none".
Result<std::unique_ptr<voice::Asr>> MakeAsr(const AsrConfig& config);
Result<std::unique_ptr<voice::Tts>> MakeTts(const TtsConfig& config);

void RegisterVoiceCommands(CLI::App& cli, std::function<Result<Config>()> load_config);

}  // namespace kefu::app
