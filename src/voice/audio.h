// Audio basics for the voice engines: a 16-bit PCM buffer, WAV in and out
// (libsndfile, from memory or files), resampling (libsamplerate) and an Opus
// packet decoder (libopus).
//
// Every decoder is bounded by AudioLimits: the encoded size, the duration, the
// sample rate and the channel count are checked before samples are decoded,
// so a hostile header cannot make us allocate or spin. Bad input is an
// InvalidArgument (or PayloadTooLarge) naming what was wrong; nothing throws.
//
// Thread-safety: the free functions are reentrant. An OpusDecoder holds the
// state of one stream: one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

struct OpusDecoder;

namespace kefu::voice {

// Mono 16-bit linear PCM. The ASR engines take 16 kHz (kAsrSampleRate);
// espeak-ng produces 22 050 Hz.
struct Pcm {
  int sample_rate = 16000;
  std::vector<int16_t> samples;

  double seconds() const { return sample_rate > 0 ? static_cast<double>(samples.size()) / sample_rate : 0.0; }
};

inline constexpr int kAsrSampleRate = 16000;

struct AudioLimits {
  int64_t max_bytes = 32 << 20;  // encoded input (a WAV file or body)
  double max_seconds = 300;      // decoded duration
  int min_sample_rate = 8000;
  int max_sample_rate = 192000;
  int max_channels = 8;  // several channels are mixed down to mono
};

// WAV (RIFF or WAVE_FORMAT_EXTENSIBLE) with 8/16/24/32-bit integer, 32/64-bit
// float, µ-law or A-law samples; any other container or encoding is refused.
// Several channels are averaged into one.
Result<Pcm> DecodeWav(std::string_view bytes, const AudioLimits& limits = {});
Result<Pcm> ReadWavFile(const std::string& path, const AudioLimits& limits = {});

// A 16-bit mono RIFF WAV.
Result<std::string> EncodeWav(const Pcm& pcm);
Status WriteWavFile(const std::string& path, const Pcm& pcm);

// `pcm` at `rate` Hz (band-limited sinc resampling; a copy when the rate is
// already `rate`). rate must be 8000..192000.
Result<Pcm> Resample(const Pcm& pcm, int rate);

// Root-mean-square level in dBFS (-inf for silence or no samples).
double RmsDbfs(const Pcm& pcm);

// Decodes one Opus stream, packet by packet (RFC 6716; the packets of the
// future WebSocket audio API). Opus carries its own bandwidth: 16 kHz and
// 48 kHz encoded streams both decode at `output_rate` (8000, 12000, 16000,
// 24000 or 48000). Packets are limited to 1500 bytes and 120 ms, mono.
class OpusStreamDecoder {
 public:
  static Result<std::unique_ptr<OpusStreamDecoder>> Create(int output_rate = kAsrSampleRate);
  ~OpusStreamDecoder();
  OpusStreamDecoder(const OpusStreamDecoder&) = delete;
  OpusStreamDecoder& operator=(const OpusStreamDecoder&) = delete;

  // Appends the packet's samples to `out` (whose rate must be output_rate()).
  // An empty packet stands for a lost one (packet loss concealment).
  Status Decode(std::string_view packet, Pcm& out);
  int output_rate() const { return rate_; }

 private:
  OpusStreamDecoder(::OpusDecoder* dec, int rate) : dec_(dec), rate_(rate) {}
  ::OpusDecoder* dec_;
  int rate_;
  int last_frame_ = 0;  // samples of the last decoded packet (the length concealment uses)
};

inline constexpr size_t kMaxOpusPacketBytes = 1500;

}  // namespace kefu::voice
