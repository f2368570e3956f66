// kefu_audio_bench: CPU cost of the real-time audio path (audio/) per second
// of 16 kHz audio — the VADs, the endpointer, the barge-in policy and the
// prosody analysis — over 10 s of synthetic speech-like signal in 20 ms
// frames. The "audio_x" counter is seconds of audio processed per CPU second
// (1000× = 1 ms of CPU per second of audio). Figures: docs/audio.md.
#include <benchmark/benchmark.h>

#include <vector>

#include "audio/barge_in.h"
#include "audio/endpointer.h"
#include "audio/prosody.h"
#include "audio/testing_signals.h"
#include "audio/vad.h"

namespace {

using namespace kefu::audio;

constexpr double kSeconds = 10;
constexpr size_t kFrame = 320;  // 20 ms

const std::vector<int16_t>& Audio() {
  static const std::vector<int16_t> pcm = [] {
    signals::SpeechLike p;
    p.seconds = kSeconds;
    auto x = signals::MakeSpeechLike(p).samples;
    signals::MixInto(x, signals::WhiteNoise(kSeconds, -50));
    return signals::ToPcm(x);
  }();
  return pcm;
}

void Count(benchmark::State& state) {
  state.counters["audio_x"] = benchmark::Counter(kSeconds, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_EnergyVad(benchmark::State& state) {
  const auto& pcm = Audio();
  EnergyVad vad;
  for (auto _ : state) {
    vad.Reset();
    for (size_t off = 0; off + kFrame <= pcm.size(); off += kFrame) {
      benchmark::DoNotOptimize(vad.Process(std::span<const int16_t>(pcm).subspan(off, kFrame)));
    }
  }
  Count(state);
}
BENCHMARK(BM_EnergyVad)->Unit(benchmark::kMillisecond);

void BM_WebRtcVad(benchmark::State& state) {
  const auto& pcm = Audio();
  auto vad = CreateWebRtcVad();
  if (!vad.ok()) {
    state.SkipWithError(vad.status().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    for (size_t off = 0; off + kFrame <= pcm.size(); off += kFrame) {
      benchmark::DoNotOptimize((*vad)->Process(std::span<const int16_t>(pcm).subspan(off, kFrame)));
    }
  }
  Count(state);
}
BENCHMARK(BM_WebRtcVad)->Unit(benchmark::kMillisecond);

void BM_EndpointerAndBargeIn(benchmark::State& state) {
  const auto& pcm = Audio();
  EnergyVad vad;
  std::vector<VadResult> decisions;
  for (size_t off = 0; off + kFrame <= pcm.size(); off += kFrame) {
    decisions.push_back(*vad.Process(std::span<const int16_t>(pcm).subspan(off, kFrame)));
  }
  for (auto _ : state) {
    auto ep = Endpointer::Create().value();
    auto bi = BargeInPolicy::Create().value();
    bi.PlaybackStarted();
    int64_t t = 0;
    for (const VadResult& d : decisions) {
      t += 20;
      benchmark::DoNotOptimize(ep.Push(d.speech, 20));
      benchmark::DoNotOptimize(bi.OnFrame({t, 20, d.speech, d.level_dbfs, -20}));
    }
  }
  Count(state);
}
BENCHMARK(BM_EndpointerAndBargeIn)->Unit(benchmark::kMillisecond);

void BM_Prosody(benchmark::State& state) {
  const auto& pcm = Audio();
  auto analyzer = ProsodyAnalyzer::Create().value();
  for (auto _ : state) {
    for (size_t off = 0; off + kFrame <= pcm.size(); off += kFrame) {
      benchmark::DoNotOptimize(analyzer->Push(std::span<const int16_t>(pcm).subspan(off, kFrame)));
    }
    benchmark::DoNotOptimize(analyzer->Finish());
  }
  Count(state);
}
BENCHMARK(BM_Prosody)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
