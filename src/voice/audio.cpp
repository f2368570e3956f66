#include "voice/audio.h"

#include <opus/opus.h>
#include <samplerate.h>
#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

namespace kefu::voice {

namespace {

// A read-only or growable byte buffer behind libsndfile's virtual I/O.
struct Memory {
  std::string_view in;
  std::string* out = nullptr;
  sf_count_t pos = 0;

  sf_count_t size() const { return out ? static_cast<sf_count_t>(out->size()) : static_cast<sf_count_t>(in.size()); }
  const char* data() const { return out ? out->data() : in.data(); }
};

sf_count_t MemLength(void* user) {
  return static_cast<Memory*>(user)->size();
}

sf_count_t MemSeek(sf_count_t offset, int whence, void* user) {
  auto* m = static_cast<Memory*>(user);
  sf_count_t base = whence == SEEK_CUR ? m->pos : whence == SEEK_END ? m->size() : 0;
  sf_count_t to = base + offset;
  if (to < 0) return -1;
  m->pos = to;
  return to;
}

sf_count_t MemRead(void* ptr, sf_count_t count, void* user) {
  auto* m = static_cast<Memory*>(user);
  if (count <= 0 || m->pos >= m->size()) return 0;
  sf_count_t n = std::min(count, m->size() - m->pos);
  std::memcpy(ptr, m->data() + m->pos, static_cast<size_t>(n));
  m->pos += n;
  return n;
}

sf_count_t MemWrite(const void* ptr, sf_count_t count, void* user) {
  auto* m = static_cast<Memory*>(user);
  if (!m->out || count < 0) return 0;
  const size_t end = static_cast<size_t>(m->pos + count);
  if (end > m->out->size()) m->out->resize(end);
  std::memcpy(m->out->data() + m->pos, ptr, static_cast<size_t>(count));
  m->pos += count;
  return count;
}

sf_count_t MemTell(void* user) {
  return static_cast<Memory*>(user)->pos;
}

SF_VIRTUAL_IO kMemIo = {MemLength, MemSeek, MemRead, MemWrite, MemTell};

struct SndfileCloser {
  void operator()(SNDFILE* f) const { sf_close(f); }
};
using SndfilePtr = std::unique_ptr<SNDFILE, SndfileCloser>;

bool SupportedSubtype(int subtype) {
  switch (subtype) {
    case SF_FORMAT_PCM_S8:
    case SF_FORMAT_PCM_U8:
    case SF_FORMAT_PCM_16:
    case SF_FORMAT_PCM_24:
    case SF_FORMAT_PCM_32:
    case SF_FORMAT_FLOAT:
    case SF_FORMAT_DOUBLE:
    case SF_FORMAT_ULAW:
    case SF_FORMAT_ALAW:
      return true;
    default:
      return false;
  }
}

}  // namespace

Result<Pcm> DecodeWav(std::string_view bytes, const AudioLimits& limits) {
  if (static_cast<int64_t>(bytes.size()) > limits.max_bytes) {
    return PayloadTooLarge("audio is " + std::to_string(bytes.size()) + " bytes, over the limit of " +
                           std::to_string(limits.max_bytes));
  }
  if (bytes.size() < 12 || (bytes.substr(0, 4) != "RIFF" && bytes.substr(0, 4) != "RF64") ||
      bytes.substr(8, 4) != "WAVE") {
    return InvalidArgument("audio is not a WAV file (no RIFF/WAVE header)");
  }
  Memory mem{bytes};
  SF_INFO info{};
  SndfilePtr f(sf_open_virtual(&kMemIo, SFM_READ, &info, &mem));
  if (!f) return InvalidArgument(std::string("audio is not a readable WAV file: ") + sf_strerror(nullptr));
  const int major = info.format & SF_FORMAT_TYPEMASK, subtype = info.format & SF_FORMAT_SUBMASK;
  if (major != SF_FORMAT_WAV && major != SF_FORMAT_WAVEX && major != SF_FORMAT_RF64) {
    return InvalidArgument("audio container is not WAV");
  }
  if (!SupportedSubtype(subtype)) {
    return InvalidArgument("WAV sample encoding is not supported (use 8/16/24/32-bit PCM, float, mu-law or A-law)");
  }
  if (info.samplerate < limits.min_sample_rate || info.samplerate > limits.max_sample_rate) {
    return InvalidArgument("WAV sample rate " + std::to_string(info.samplerate) + " Hz is outside " +
                           std::to_string(limits.min_sample_rate) + ".." + std::to_string(limits.max_sample_rate));
  }
  if (info.channels < 1 || info.channels > limits.max_channels) {
    return InvalidArgument("WAV has " + std::to_string(info.channels) + " channels (at most " +
                           std::to_string(limits.max_channels) + ")");
  }
  if (info.frames < 0 || static_cast<double>(info.frames) / info.samplerate > limits.max_seconds) {
    return PayloadTooLarge("audio is longer than " + std::to_string(static_cast<int>(limits.max_seconds)) + " s");
  }
  // Read in blocks: the header's frame count only bounds the output.
  const size_t channels = static_cast<size_t>(info.channels);
  constexpr sf_count_t kBlock = 4096;
  std::vector<float> block(static_cast<size_t>(kBlock) * channels);  // normalised to [-1, 1]
  Pcm pcm;
  pcm.sample_rate = info.samplerate;
  pcm.samples.reserve(static_cast<size_t>(std::min<sf_count_t>(info.frames, static_cast<sf_count_t>(bytes.size()))));
  for (;;) {
    const sf_count_t got = sf_readf_float(f.get(), block.data(), kBlock);
    if (got < 0) return InvalidArgument("WAV samples cannot be read");
    if (got == 0) break;
    for (size_t i = 0; i < static_cast<size_t>(got); ++i) {
      float sum = 0;
      for (size_t c = 0; c < channels; ++c) sum += block[i * channels + c];
      if (!std::isfinite(sum)) sum = 0;  // a NaN or infinite float sample
      const float v = std::clamp(std::nearbyint(sum / static_cast<float>(channels) * 32768.0f), -32768.0f, 32767.0f);
      pcm.samples.push_back(static_cast<int16_t>(v));
    }
    if (static_cast<sf_count_t>(pcm.samples.size()) >= info.frames) break;
  }
  return pcm;
}

Result<Pcm> ReadWavFile(const std::string& path, const AudioLimits& limits) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return NotFound("cannot read " + path + ": " + ec.message());
  if (static_cast<int64_t>(size) > limits.max_bytes) {
    return PayloadTooLarge(path + " is " + std::to_string(size) + " bytes, over the limit of " +
                           std::to_string(limits.max_bytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto pcm = DecodeWav(bytes, limits);
  if (!pcm.ok()) return Status(pcm.status().code(), path + ": " + pcm.status().message());
  return pcm;
}

Result<std::string> EncodeWav(const Pcm& pcm) {
  if (pcm.sample_rate < 1000 || pcm.sample_rate > 384000) return InvalidArgument("bad sample rate for WAV");
  std::string out;
  Memory mem{{}, &out};
  SF_INFO info{};
  info.samplerate = pcm.sample_rate;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SndfilePtr f(sf_open_virtual(&kMemIo, SFM_WRITE, &info, &mem));
  if (!f) return Internal(std::string("cannot start a WAV: ") + sf_strerror(nullptr));
  const sf_count_t n = static_cast<sf_count_t>(pcm.samples.size());
  if (sf_write_short(f.get(), pcm.samples.data(), n) != n) return Internal("cannot write WAV samples");
  f.reset();  // finishes the header
  return out;
}

Status WriteWavFile(const std::string& path, const Pcm& pcm) {
  KEFU_ASSIGN_OR_RETURN(std::string bytes, EncodeWav(pcm));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Unavailable("cannot write " + path);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) return Unavailable("cannot write " + path);
  return Status::Ok();
}

Result<Pcm> Resample(const Pcm& pcm, int rate) {
  if (rate < 8000 || rate > 192000) return InvalidArgument("resampling target must be 8000..192000 Hz");
  if (pcm.sample_rate < 1000 || pcm.sample_rate > 384000) return InvalidArgument("bad source sample rate");
  if (pcm.sample_rate == rate || pcm.samples.empty()) {
    Pcm same = pcm;
    same.sample_rate = rate;
    return same;
  }
  const double ratio = static_cast<double>(rate) / pcm.sample_rate;
  std::vector<float> in(pcm.samples.size());
  src_short_to_float_array(pcm.samples.data(), in.data(), static_cast<int>(in.size()));
  const size_t out_frames = static_cast<size_t>(std::ceil(in.size() * ratio)) + 16;
  std::vector<float> out(out_frames);
  SRC_DATA d{};
  d.data_in = in.data();
  d.input_frames = static_cast<long>(in.size());
  d.data_out = out.data();
  d.output_frames = static_cast<long>(out.size());
  d.src_ratio = ratio;
  // Medium quality: transparent for speech, ~3x cheaper than the best.
  if (int err = src_simple(&d, SRC_SINC_MEDIUM_QUALITY, 1); err != 0) {
    return Internal(std::string("resampling failed: ") + src_strerror(err));
  }
  Pcm r;
  r.sample_rate = rate;
  r.samples.resize(static_cast<size_t>(d.output_frames_gen));
  src_float_to_short_array(out.data(), r.samples.data(), static_cast<int>(r.samples.size()));
  return r;
}

double RmsDbfs(const Pcm& pcm) {
  if (pcm.samples.empty()) return -std::numeric_limits<double>::infinity();
  double sum = 0;
  for (int16_t s : pcm.samples) sum += static_cast<double>(s) * s;
  const double rms = std::sqrt(sum / pcm.samples.size()) / 32768.0;
  return rms > 0 ? 20 * std::log10(rms) : -std::numeric_limits<double>::infinity();
}

Result<std::unique_ptr<OpusStreamDecoder>> OpusStreamDecoder::Create(int output_rate) {
  if (output_rate != 8000 && output_rate != 12000 && output_rate != 16000 && output_rate != 24000 &&
      output_rate != 48000) {
    return InvalidArgument("Opus output rate must be 8000, 12000, 16000, 24000 or 48000 Hz");
  }
  int err = 0;
  ::OpusDecoder* dec = opus_decoder_create(output_rate, 1, &err);
  if (err != OPUS_OK || !dec) return Internal(std::string("cannot create an Opus decoder: ") + opus_strerror(err));
  return std::unique_ptr<OpusStreamDecoder>(new OpusStreamDecoder(dec, output_rate));
}

OpusStreamDecoder::~OpusStreamDecoder() {
  opus_decoder_destroy(dec_);
}

Status OpusStreamDecoder::Decode(std::string_view packet, Pcm& out) {
  if (out.sample_rate != rate_) return InvalidArgument("Opus output buffer has another sample rate");
  if (packet.size() > kMaxOpusPacketBytes) {
    return InvalidArgument("Opus packet is " + std::to_string(packet.size()) + " bytes (at most " +
                           std::to_string(kMaxOpusPacketBytes) + ")");
  }
  const int max_frame = rate_ * 120 / 1000;  // the longest Opus packet: 120 ms
  const auto* data = reinterpret_cast<const unsigned char*>(packet.data());
  if (!packet.empty()) {
    const int n = opus_packet_get_nb_samples(data, static_cast<opus_int32>(packet.size()), rate_);
    if (n < 0) return InvalidArgument(std::string("not an Opus packet: ") + opus_strerror(n));
    if (n > max_frame) return InvalidArgument("Opus packet is longer than 120 ms");
    if (opus_packet_get_nb_channels(data) != 1 && opus_packet_get_nb_channels(data) != 2) {
      return InvalidArgument("Opus packet has a bad channel count");
    }
  }
  const size_t at = out.samples.size();
  const int frame = packet.empty() ? (last_frame_ > 0 ? last_frame_ : rate_ / 50) : max_frame;
  out.samples.resize(at + static_cast<size_t>(frame));
  const int n = opus_decode(dec_, packet.empty() ? nullptr : data, static_cast<opus_int32>(packet.size()),
                            out.samples.data() + at, frame, 0);
  if (n < 0) {
    out.samples.resize(at);
    return InvalidArgument(std::string("Opus packet cannot be decoded: ") + opus_strerror(n));
  }
  out.samples.resize(at + static_cast<size_t>(n));
  last_frame_ = n;
  return Status::Ok();
}

}  // namespace kefu::voice
