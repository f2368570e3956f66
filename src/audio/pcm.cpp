#include "audio/pcm.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace kefu::audio {

bool ValidFrameMs(int ms) {
  return ms == 10 || ms == 20 || ms == 30;
}

Status CheckFrame(std::span<const int16_t> frame) {
  const size_t n = frame.size();
  if (n == 160 || n == 320 || n == 480) return Status::Ok();
  return InvalidArgument("audio frame of " + std::to_string(n) +
                         " samples; expected 160, 320 or 480 (10/20/30 ms of 16 kHz mono 16-bit PCM)");
}

double RmsDbfs(std::span<const int16_t> samples) {
  if (samples.empty()) return kSilenceDbfs;
  double sum = 0;
  for (int16_t s : samples) sum += static_cast<double>(s) * s;
  const double ms = sum / static_cast<double>(samples.size()) / (32768.0 * 32768.0);
  if (ms <= 1e-10) return kSilenceDbfs;
  return std::max(kSilenceDbfs, 10.0 * std::log10(ms));
}

}  // namespace kefu::audio
