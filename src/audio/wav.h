// Reading a sound file (any format libsndfile reads: WAV, FLAC, Ogg, …) into
// 16 kHz mono 16-bit PCM: channels are averaged, other rates resampled with
// libsamplerate. For tools, tests and fixtures; live audio arrives as frames.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace kefu::audio {

inline constexpr double kMaxFileSeconds = 600;  // longer files are refused

// NotFound / InvalidArgument (not audio, empty, too long) with the path named.
Result<std::vector<int16_t>> ReadAudioFile16kMono(const std::string& path);

}  // namespace kefu::audio
