// kefu_audio_scan: runs the audio/ path over sound files the way a voice
// session would — 20 ms frames → VAD → Endpointer; each turn's frames →
// ProsodyAnalyzer → CallerBaseline — and prints the events, each turn's
// prosody and score, and the CPU time per second of audio. For trying the
// module on recordings and for the timing in docs/audio.md.
//
//   kefu_audio_scan [--vad energy|webrtc] [--frame-ms 20] [--expect-digits] FILE...
//
// The files are one caller, in order (the baseline carries over); each file is
// followed by 2 s of silence so its last turn ends.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "audio/endpointer.h"
#include "audio/prosody.h"
#include "audio/vad.h"
#include "audio/wav.h"

namespace {

using namespace kefu::audio;

double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"kefu audio scan: VAD, endpointing and prosody over sound files"};
  std::string vad_kind = "energy";
  int frame_ms = 20;
  bool expect_digits = false;
  std::vector<std::string> files;
  cli.add_option("--vad", vad_kind, "energy or webrtc")->check(CLI::IsMember({"energy", "webrtc"}));
  cli.add_option("--frame-ms", frame_ms, "10, 20 or 30")->check(CLI::IsMember({10, 20, 30}));
  cli.add_flag("--expect-digits", expect_digits, "Listen as if the bot had asked for a number");
  cli.add_option("files", files, "sound files (any rate libsndfile reads, 8–48 kHz)")->required();
  CLI11_PARSE(cli, argc, argv);

  std::unique_ptr<Vad> vad;
  if (vad_kind == "webrtc") {
    auto v = CreateWebRtcVad();
    if (!v.ok()) return std::fprintf(stderr, "%s\n", v.status().ToString().c_str()), 1;
    vad = std::move(v).value();
  } else {
    vad = std::make_unique<EnergyVad>();
  }
  auto ep = Endpointer::Create().value();
  auto prosody = ProsodyAnalyzer::Create().value();
  CallerBaseline baseline;
  double audio_s = 0, cpu_s = 0;
  for (const std::string& file : files) {
    auto pcm = ReadAudioFile16kMono(file);
    if (!pcm.ok()) return std::fprintf(stderr, "%s\n", pcm.status().ToString().c_str()), 1;
    pcm->resize(pcm->size() + 32'000, 0);
    std::printf("== %s (%.2f s)\n", file.c_str(), (pcm->size() - 32'000) / 16'000.0);
    ep.Reset();
    ep.Listen({.expect_digits = expect_digits});
    vad->Reset();
    bool in_turn = false;
    std::vector<int16_t> preroll;  // the frames before kSpeechStart that belong to the turn
    const size_t n = static_cast<size_t>(frame_ms) * kSamplesPerMs;
    const double cpu0 = CpuSeconds();
    for (size_t off = 0; off + n <= pcm->size(); off += n) {
      auto frame = std::span<const int16_t>(*pcm).subspan(off, n);
      auto v = vad->Process(frame);
      if (!v.ok()) return std::fprintf(stderr, "%s\n", v.status().ToString().c_str()), 1;
      if (in_turn) (void)prosody->Push(frame);
      const auto events = ep.Push(v->speech, frame_ms);  // kept: iterating Push(...).value() would dangle
      if (!events.ok()) return std::fprintf(stderr, "%s\n", events.status().ToString().c_str()), 1;
      for (const EndpointEvent& e : *events) {
        std::printf("%7.2f s  %-12s", e.at_ms / 1000.0, std::string(EndpointEventName(e.type)).c_str());
        if (e.type == EndpointEventType::kSpeechStart) {
          std::printf(" from %.2f s", e.start_ms / 1000.0);
          in_turn = true;
          // Hand the prosody analyzer the turn's frames from its start.
          for (size_t o = static_cast<size_t>(e.start_ms) * kSamplesPerMs; o + n <= off + n; o += n) {
            (void)prosody->Push(std::span<const int16_t>(*pcm).subspan(o, n));
          }
        }
        if (e.type == EndpointEventType::kEndOfTurn) {
          std::printf(" [%.2f, %.2f] s, %s, needed %d ms of silence", e.start_ms / 1000.0, e.end_ms / 1000.0,
                      e.reason == EndReason::kSilence ? "silence" : "max length", e.required_silence_ms);
          in_turn = false;
          auto f = prosody->Finish();
          if (f.ok()) {
            const ProsodyScore sc = baseline.Observe(*f);
            std::printf(
                "\n           pitch %.0f Hz (range %.1f st), level %.1f dBFS (peak %.1f), %.1f syllables/s, voiced "
                "%.2f "
                "s\n           %s arousal %.2f anger %.2f",
                f->pitch_median_hz, f->pitch_range_st, f->level_mean_dbfs, f->level_peak_dbfs, f->syllable_rate,
                f->voiced_s, sc.calibrated ? "score:" : "calibrating:", sc.arousal, sc.anger);
          }
        }
        std::printf("\n");
      }
    }
    cpu_s += CpuSeconds() - cpu0;
    audio_s += pcm->size() / 16'000.0;
  }
  std::printf("CPU %.2f ms per second of audio (%s VAD + endpointer + prosody, %.1f s of audio)\n",
              1000.0 * cpu_s / audio_s, vad_kind.c_str(), audio_s);
  return 0;
}
