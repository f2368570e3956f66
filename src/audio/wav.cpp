#include "audio/wav.h"

#include <samplerate.h>
#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "audio/pcm.h"

namespace kefu::audio {

Result<std::vector<int16_t>> ReadAudioFile16kMono(const std::string& path) {
  SF_INFO info{};
  std::unique_ptr<SNDFILE, int (*)(SNDFILE*)> f(sf_open(path.c_str(), SFM_READ, &info), sf_close);
  if (!f) return InvalidArgument("cannot read audio file " + path + ": " + sf_strerror(nullptr));
  if (info.frames <= 0 || info.channels <= 0 || info.samplerate <= 0) {
    return InvalidArgument("audio file " + path + " is empty");
  }
  if (info.channels > 8 || info.samplerate < 8000 || info.samplerate > 48000) {
    return InvalidArgument("audio file " + path + ": unsupported layout (" + std::to_string(info.channels) +
                           " channels, " + std::to_string(info.samplerate) + " Hz; 1–8 channels, 8–48 kHz)");
  }
  if (static_cast<double>(info.frames) / info.samplerate > kMaxFileSeconds) {
    return InvalidArgument("audio file " + path + " is longer than " + std::to_string(int(kMaxFileSeconds)) + " s");
  }
  // Read in blocks and average the channels as we go: memory is the mono
  // signal (≤ 600 s × 48 kHz floats), not the interleaved file.
  std::vector<float> mono;
  mono.reserve(static_cast<size_t>(info.frames));
  std::vector<float> block(4096 * static_cast<size_t>(info.channels));
  for (;;) {
    const sf_count_t got = sf_readf_float(f.get(), block.data(), 4096);
    if (got <= 0) break;
    for (sf_count_t i = 0; i < got; ++i) {
      float sum = 0;
      for (int c = 0; c < info.channels; ++c) sum += block[i * info.channels + c];
      mono.push_back(sum / info.channels);
    }
    if (mono.size() > static_cast<size_t>(info.frames)) break;  // a header that lied
  }
  if (mono.empty()) return InvalidArgument("audio file " + path + ": no samples could be read");
  if (info.samplerate != kSampleRateHz) {
    const double ratio = static_cast<double>(kSampleRateHz) / info.samplerate;
    std::vector<float> out(static_cast<size_t>(std::ceil(mono.size() * ratio)) + 16);
    SRC_DATA d{};
    d.data_in = mono.data();
    d.input_frames = static_cast<long>(mono.size());
    d.data_out = out.data();
    d.output_frames = static_cast<long>(out.size());
    d.src_ratio = ratio;
    if (const int rc = src_simple(&d, SRC_SINC_MEDIUM_QUALITY, 1); rc != 0) {
      return InvalidArgument("audio file " + path + ": resampling failed: " + src_strerror(rc));
    }
    out.resize(static_cast<size_t>(d.output_frames_gen));
    mono = std::move(out);
  }
  std::vector<int16_t> pcm(mono.size());
  for (size_t i = 0; i < mono.size(); ++i) {
    pcm[i] = static_cast<int16_t>(std::lround(std::clamp(mono[i] * 32767.0f, -32768.0f, 32767.0f)));
  }
  return pcm;
}

}  // namespace kefu::audio
