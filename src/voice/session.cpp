#include "voice/session.h"

#include <samplerate.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "audio/pcm.h"
#include "common/log.h"
#include "common/utf8.h"

namespace kefu::voice {

namespace {

constexpr int kFrameMs = 20;
constexpr int kFrameSamples = kAsrSampleRate * kFrameMs / 1000;  // 320
constexpr int kSamplesPerMs = kAsrSampleRate / 1000;
constexpr int kTailMs = 100;             // audio kept after the last speech of an utterance
constexpr int kMinPushToTalkMs = 300;    // less audio than this at EndOfTurn is no speech
constexpr double kMinPushToTalkDbfs = -55;

// libsamplerate with its state kept between messages, so that a stream cut
// into messages is resampled as one (Resample() would click at every cut).
class StreamResampler {
 public:
  static Result<std::unique_ptr<StreamResampler>> Create(int from_rate) {
    int err = 0;
    SRC_STATE* st = src_new(SRC_SINC_FASTEST, 1, &err);
    if (!st) return Internal(std::string("libsamplerate: ") + src_strerror(err));
    return std::unique_ptr<StreamResampler>(new StreamResampler(st, double(kAsrSampleRate) / from_rate));
  }
  ~StreamResampler() { src_delete(st_); }

  Status Push(std::span<const int16_t> in, std::vector<int16_t>& out) {
    in_.resize(in.size());
    src_short_to_float_array(in.data(), in_.data(), static_cast<int>(in.size()));
    out_.resize(static_cast<size_t>(std::ceil(double(in.size()) * ratio_)) + 64);
    SRC_DATA d{};
    d.data_in = in_.data();
    d.input_frames = static_cast<long>(in_.size());
    d.src_ratio = ratio_;
    d.end_of_input = 0;
    while (d.input_frames > 0) {
      d.data_out = out_.data();
      d.output_frames = static_cast<long>(out_.size());
      if (int err = src_process(st_, &d); err != 0) return Internal(std::string("libsamplerate: ") + src_strerror(err));
      const size_t at = out.size();
      out.resize(at + size_t(d.output_frames_gen));
      src_float_to_short_array(out_.data(), out.data() + at, static_cast<int>(d.output_frames_gen));
      if (d.input_frames_used == 0 && d.output_frames_gen == 0) break;
      d.data_in += d.input_frames_used;
      d.input_frames -= d.input_frames_used;
    }
    return Status::Ok();
  }

 private:
  StreamResampler(SRC_STATE* st, double ratio) : st_(st), ratio_(ratio) {}
  SRC_STATE* st_;
  double ratio_;
  std::vector<float> in_, out_;
};

bool ValidPcmRate(int r) { return r >= 8000 && r <= 48000; }
bool ValidOpusRate(int r) { return r == 8000 || r == 12000 || r == 16000 || r == 24000 || r == 48000; }

}  // namespace

// The open utterance's streamed recognition. The stream and the fields under
// "chain" are touched only by the session's ASR chain (one job at a time, in
// order); the rest under the session's lock. Whoever drops the last reference
// destroys the stream, which ends its utterance in the engine (and gives its
// decoder back) — always a worker, never under the session's lock.
struct UtteranceStream {
  // GUARDED_BY(Impl::mu)
  size_t posted = 0;         // samples of the utterance handed to feed jobs
  bool feed_queued = false;  // a feed job is waiting on the chain
  bool gave_up = false;      // refused or failed: the utterance is recognised whole at its end
  // chain only
  bool tried = false;  // StartStream was called
  std::unique_ptr<AsrStream> stream;
  size_t fed = 0;  // samples fed
  std::string last_partial;
  int64_t last_partial_ns = 0;
};

struct VoiceSession::Impl : std::enable_shared_from_this<VoiceSession::Impl> {
  Impl(Asr& a, Tts* t, std::unique_ptr<audio::Vad> v, SubmitFn sub, const Clock& c, VoiceSessionEvents ev,
       VoiceSessionSettings st, audio::Endpointer e, audio::BargeInPolicy b)
      : asr(a), tts(t), vad(std::move(v)), submit(std::move(sub)), clock(c), events(std::move(ev)),
        s(std::move(st)), ep(std::move(e)), barge(std::move(b)) {}

  // Work that must run outside the lock (events), collected under it.
  using Outbox = std::vector<std::function<void()>>;
  static void Flush(Outbox& out) {
    for (auto& f : out) f();
    out.clear();
  }

  // One worker job at a time per chain (utterances in order; replies in order).
  struct Chain {
    std::deque<std::function<void()>> tasks;
    bool running = false;
  };

  Asr& asr;
  Tts* tts;
  std::unique_ptr<audio::Vad> vad;  // GUARDED_BY(mu)
  SubmitFn submit;
  const Clock& clock;
  const VoiceSessionEvents events;
  const VoiceSessionSettings s;

  mutable std::mutex mu;
  bool closed = false;                       // GUARDED_BY(mu)
  audio::Endpointer ep;                      // GUARDED_BY(mu)
  audio::BargeInPolicy barge;                // GUARDED_BY(mu)
  audio::CallerBaseline baseline;            // GUARDED_BY(mu)
  std::unique_ptr<StreamResampler> resampler;        // input thread only
  std::unique_ptr<OpusStreamDecoder> opus;           // input thread only
  std::vector<int16_t> decoded;                      // input thread only
  std::vector<int16_t> frame;                        // GUARDED_BY(mu): samples of the frame being filled
  std::vector<int16_t> audio;                        // GUARDED_BY(mu): since audio_start_ms
  int64_t audio_start_ms = 0;                        // GUARDED_BY(mu)
  int64_t stream_ms = 0;                             // GUARDED_BY(mu)
  int64_t ep_base_ms = 0;                            // GUARDED_BY(mu): stream time of the endpointer's 0 (its last Reset)
  std::shared_ptr<UtteranceStream> utt_stream;       // GUARDED_BY(mu): the open utterance's, when streamed
  bool utt_open = false;                             // GUARDED_BY(mu)
  bool utt_in_playback = false;                      // GUARDED_BY(mu)
  int64_t utt_start_ms = 0;                          // GUARDED_BY(mu)
  int pending_utterances = 0;                        // GUARDED_BY(mu)
  bool ended_since_release = false;                  // GUARDED_BY(mu): an utterance ended since the last EndOfTurn
  bool client_playing = false;                       // GUARDED_BY(mu)
  int replies_in_progress = 0;                       // GUARDED_BY(mu)
  bool policy_playing = false;                       // GUARDED_BY(mu): what BargeInPolicy was told
  double reply_level_dbfs = audio::kSilenceDbfs;     // GUARDED_BY(mu): the loudest sentence of the reply
  uint64_t generation = 0;                           // GUARDED_BY(mu): a barge-in drops replies of older ones
  double allowance_s = 0;                            // GUARDED_BY(mu): audio-rate bucket
  int64_t allowance_at_ns = 0;                       // GUARDED_BY(mu)
  Chain asr_chain, tts_chain;                        // GUARDED_BY(mu)

  bool Playing() const { return client_playing || replies_in_progress > 0; }

  // Tells BargeInPolicy when playback starts and ends.
  void SyncPlayback() {
    const bool now = Playing();
    if (now == policy_playing) return;
    policy_playing = now;
    if (now) {
      barge.PlaybackStarted();
    } else {
      barge.PlaybackEnded();
      reply_level_dbfs = audio::kSilenceDbfs;
    }
  }

  // Queues `task` on `chain`; false when the executor refused it. Must be
  // called without mu held (the executor may run the task inline).
  bool PostUnlocked(Chain& chain, std::function<void()> task) {
    std::unique_lock lock(mu);
    chain.tasks.push_back(std::move(task));
    if (chain.running) return true;
    chain.running = true;
    lock.unlock();
    auto self = shared_from_this();
    bool ok = false;
    try {
      ok = submit([self, &chain] { self->RunChain(chain); });
    } catch (...) {
    }
    if (!ok) {
      std::deque<std::function<void()>> dropped;
      lock.lock();
      dropped.swap(chain.tasks);
      chain.running = false;
      lock.unlock();
    }
    return ok;
  }

  void RunChain(Chain& chain) {
    for (;;) {
      std::function<void()> task;
      std::deque<std::function<void()>> dropped;  // destroyed outside the lock (they may hold a stream)
      {
        std::lock_guard lock(mu);
        if (chain.tasks.empty() || closed) {
          dropped.swap(chain.tasks);
          chain.running = false;
          return;
        }
        task = std::move(chain.tasks.front());
        chain.tasks.pop_front();
      }
      try {
        task();
      } catch (const std::exception& e) {
        log::Error("voice_task_exception", {{"error", e.what()}});
      } catch (...) {
        log::Error("voice_task_exception", {});
      }
    }
  }

  void Emit(Outbox& out, std::function<void()> f) {
    if (f) out.push_back(std::move(f));
  }

  void BargeIn(Outbox& out) {
    ++generation;
    client_playing = false;  // the client stops at once; it says "started" again for the next reply
    SyncPlayback();
    if (events.barge_in) Emit(out, events.barge_in);
  }

  // Samples of the open utterance that are surely part of it whenever it
  // ends: up to its last speech so far and the tail kept after that.
  size_t FeedableSamples() const {
    const int64_t end_ms = std::min(stream_ms, ep_base_ms + ep.last_speech_end_ms() + kTailMs);
    if (end_ms <= audio_start_ms) return 0;
    return std::min(audio.size(), size_t(end_ms - audio_start_ms) * kSamplesPerMs);
  }

  // Lets go of a stream on a worker: ending it in the engine is a worker's
  // job (pocketsphinx runs its last search pass), not the I/O thread's.
  void Abandon(std::shared_ptr<UtteranceStream> st, Outbox& out) {
    if (!st) return;
    out.push_back([self = shared_from_this(), st = std::move(st)]() mutable {
      try {
        self->submit([st = std::move(st)] {});
      } catch (...) {
      }
    });
  }

  // Queues a feed of the open utterance's new audio: at once when it opens
  // (the engine's decoder is taken while the customer speaks), then every
  // stream_chunk_ms. One feed waits at a time: a slow worker takes a larger
  // chunk rather than a queue of copies. Under mu.
  void MaybeFeed(Outbox& out) {
    UtteranceStream* st = utt_stream.get();
    if (!utt_open || !st || st->gave_up || st->feed_queued) return;
    if (st->posted > 0 && FeedableSamples() < st->posted + size_t(s.stream_chunk_ms) * kSamplesPerMs) return;
    st->feed_queued = true;
    out.push_back([self = shared_from_this(), st = utt_stream]() mutable {
      self->PostUnlocked(self->asr_chain, [self, st = std::move(st)] { self->FeedJob(st); });
    });
  }

  // On a worker (the ASR chain): starts the stream on its first feed, feeds
  // what the utterance gained since, and emits a new partial.
  void FeedJob(const std::shared_ptr<UtteranceStream>& st) {
    Pcm chunk;
    bool in_playback = false;
    {
      std::lock_guard lock(mu);
      st->feed_queued = false;
      if (closed || st != utt_stream) return;  // it has ended: its recognition feeds the rest
      const size_t to = FeedableSamples();
      if (to > st->posted) chunk.samples.assign(audio.begin() + long(st->posted), audio.begin() + long(to));
      st->posted = std::max(st->posted, to);
      in_playback = utt_in_playback;
    }
    if (!st->tried) {
      st->tried = true;
      AsrOptions o = s.asr;
      o.stream_may_wait = false;  // a busy engine: recognised whole at the end, no worker blocked
      auto started = asr.StartStream(o);
      if (!started.ok()) return GiveUp(*st, started.status());
      st->stream = std::move(*started);
    }
    if (!st->stream) return;
    if (!chunk.samples.empty()) {
      if (Status fed = st->stream->Feed(chunk); !fed.ok()) return GiveUp(*st, fed);
      st->fed += chunk.samples.size();
    }
    MaybePartial(st, in_playback);
  }

  // On the chain: no stream for this utterance after all; it is recognised whole when it ends.
  void GiveUp(UtteranceStream& st, const Status& why) {
    if (why.code() == ErrorCode::kResourceExhausted) {
      log::Debug("voice_stream_refused", {{"error", why.ToString()}});
    } else {
      log::Warn("voice_stream_failed", {{"error", why.ToString()}});
    }
    st.stream.reset();  // its decoder back at once
    std::lock_guard lock(mu);
    st.gave_up = true;
  }

  // On the chain: emits the stream's hypothesis when it is new, not sooner
  // than partial_interval_ms after the last one, and the utterance still open.
  void MaybePartial(const std::shared_ptr<UtteranceStream>& st, bool in_playback) {
    if (!events.partial) return;
    const std::string text(utf8::Trim(st->stream->Partial()));
    if (text.empty() || text == st->last_partial) return;
    const int64_t now = clock.MonotonicNs();
    if (!st->last_partial.empty() && now - st->last_partial_ns < int64_t(s.partial_interval_ms) * 1'000'000) return;
    // Over a reply a backchannel (嗯, okay) neither stops it nor becomes a turn: nothing to show.
    if (in_playback && audio::IsBackchannel(text, s.barge_in.backchannels)) return;
    {
      std::lock_guard lock(mu);
      if (closed || st != utt_stream) return;  // it ended meanwhile: its final transcript comes next
    }
    st->last_partial = text;
    st->last_partial_ns = now;
    events.partial(text);
  }

  // On the chain: the utterance's transcript — its stream's, given the audio
  // it has not had yet; without a stream (or when it fails) the whole
  // utterance at once.
  Result<Transcript> Decode(const Pcm& pcm, UtteranceStream* st) {
    if (st && st->stream && st->fed <= pcm.samples.size()) {
      Pcm rest;
      rest.samples.assign(pcm.samples.begin() + long(st->fed), pcm.samples.end());
      Status fed = rest.samples.empty() ? Status::Ok() : st->stream->Feed(rest);
      Result<Transcript> t = fed.ok() ? st->stream->Finish() : Result<Transcript>(fed);
      st->stream.reset();
      if (t.ok()) return t;
      log::Warn("voice_stream_failed", {{"error", t.status().ToString()}});
    }
    if (st) st->stream.reset();
    return asr.Transcribe(pcm, s.asr);
  }

  // Cuts the utterance [utt_start_ms, end_ms] out of `audio` and queues its recognition.
  void FinishUtterance(int64_t start_ms, int64_t end_ms, bool in_playback, Outbox& out) {
    std::shared_ptr<UtteranceStream> st = std::move(utt_stream);  // null when not streamed
    end_ms = std::min(end_ms, stream_ms);
    start_ms = std::max(start_ms, audio_start_ms);
    Pcm pcm;
    pcm.sample_rate = kAsrSampleRate;
    if (end_ms > start_ms) {
      const size_t from = size_t(start_ms - audio_start_ms) * kSamplesPerMs;
      const size_t to = std::min(audio.size(), size_t(end_ms - audio_start_ms) * kSamplesPerMs);
      if (to > from) pcm.samples.assign(audio.begin() + long(from), audio.begin() + long(to));
    }
    audio.clear();
    audio_start_ms = stream_ms;
    utt_open = false;
    ended_since_release = true;
    if (pcm.samples.empty()) {
      if (events.no_speech) Emit(out, events.no_speech);
      return Abandon(std::move(st), out);
    }
    if (pending_utterances >= s.max_pending_utterances) {
      if (events.error)
        Emit(out, [e = events.error] { e(ResourceExhausted("still recognising the previous utterances; this one was dropped")); });
      return Abandon(std::move(st), out);
    }
    ++pending_utterances;
    auto self = shared_from_this();
    auto shared_pcm = std::make_shared<Pcm>(std::move(pcm));
    out.push_back([self, shared_pcm, st = std::move(st), start_ms, end_ms, in_playback]() mutable {
      const bool queued =
          self->PostUnlocked(self->asr_chain, [self, shared_pcm, st = std::move(st), start_ms, end_ms, in_playback] {
            self->Recognise(std::move(*shared_pcm), st.get(), start_ms, end_ms, in_playback);
          });
      if (!queued) {
        std::lock_guard lock(self->mu);
        --self->pending_utterances;
      }
    });
  }

  // On a worker.
  void Recognise(Pcm pcm, UtteranceStream* st, int64_t start_ms, int64_t end_ms, bool in_playback) {
    Utterance u;
    u.start_ms = start_ms;
    u.end_ms = end_ms;
    // Prosody first (≈ 1 ms per second of audio), then the recogniser.
    std::optional<audio::ProsodyFeatures> features;
    if (auto an = audio::ProsodyAnalyzer::Create(); an.ok()) {
      for (size_t i = 0; i + kFrameSamples <= pcm.samples.size(); i += kFrameSamples)
        if (!(*an)->Push(std::span<const int16_t>(pcm.samples.data() + i, kFrameSamples)).ok()) break;
      if (auto f = (*an)->Finish(); f.ok()) features = *f;
    }
    auto t = Decode(pcm, st);
    Outbox out;
    {
      std::lock_guard lock(mu);
      --pending_utterances;
      if (closed) return;
      if (!t.ok()) {
        if (events.error) Emit(out, [e = events.error, st = t.status()] { e(st); });
      } else if (utf8::Trim(t->text).empty()) {
        if (events.no_speech) Emit(out, events.no_speech);
      } else {
        const std::string text(utf8::Trim(t->text));
        bool backchannel = false;
        if (in_playback && Playing()) {
          // The transcript settles what the burst was (BargeInPolicy::OnPartial).
          const audio::BargeInAction a = barge.OnPartial(stream_ms, text);
          if (a == audio::BargeInAction::kDiscard) BargeIn(out);
          backchannel = audio::IsBackchannel(text, s.barge_in.backchannels);
        }
        if (backchannel) {
          log::Debug("voice_backchannel", {{"text", text}});
        } else {
          if (features) {
            u.prosody_ok = true;
            u.prosody = baseline.Observe(*features);
          }
          u.transcript = std::move(*t);
          u.transcript.text = text;
          u.audio = std::move(pcm);
          if (events.utterance)
            Emit(out, [e = events.utterance, uu = std::make_shared<Utterance>(std::move(u))]() mutable {
              e(std::move(*uu));
            });
        }
      }
    }
    Flush(out);
  }

  // One 20 ms frame at 16 kHz. Under mu.
  Status Frame(std::span<const int16_t> f, Outbox& out) {
    auto v = vad->Process(f);
    if (!v.ok()) return v.status();
    stream_ms += kFrameMs;
    audio.insert(audio.end(), f.begin(), f.end());
    if (!utt_open) {
      // Idle: keep what push-to-talk could still claim, at most one utterance's worth.
      const size_t cap = size_t(s.endpointer.max_utterance_ms) * kSamplesPerMs;
      if (audio.size() > cap + kAsrSampleRate) {
        const size_t drop = audio.size() - cap;
        audio.erase(audio.begin(), audio.begin() + long(drop));
        audio_start_ms += int64_t(drop / kSamplesPerMs);
      }
    }
    auto evs = ep.Push(v->speech, kFrameMs);
    if (!evs.ok()) return evs.status();
    for (const audio::EndpointEvent& e : *evs) {
      if (e.type == audio::EndpointEventType::kSpeechStart) {
        utt_open = true;
        utt_in_playback = Playing();
        utt_start_ms = std::max(audio_start_ms, ep_base_ms + e.start_ms - s.preroll_ms);
        const size_t drop = size_t(utt_start_ms - audio_start_ms) * kSamplesPerMs;
        audio.erase(audio.begin(), audio.begin() + long(std::min(drop, audio.size())));
        audio_start_ms = utt_start_ms;
        Abandon(std::move(utt_stream), out);  // none is left open; for safety
        if (s.streaming_asr && asr.streams()) utt_stream = std::make_shared<UtteranceStream>();
        if (events.speech_started) Emit(out, events.speech_started);
      } else if (e.type == audio::EndpointEventType::kEndOfTurn && utt_open) {
        FinishUtterance(utt_start_ms, ep_base_ms + e.end_ms + kTailMs, utt_in_playback, out);
      }
    }
    MaybeFeed(out);
    if (Playing()) {
      auto a = barge.OnFrame(
          {stream_ms, kFrameMs, v->speech, v->level_dbfs, s.echo_cancelled ? audio::kSilenceDbfs : reply_level_dbfs});
      if (a.ok() && *a == audio::BargeInAction::kDiscard) BargeIn(out);
    }
    return Status::Ok();
  }

  Status TakeAllowance(double seconds) {
    const int64_t now = clock.MonotonicNs();
    allowance_s = std::min(s.max_audio_rate, allowance_s + double(now - allowance_at_ns) / 1e9 * s.max_audio_rate);
    allowance_at_ns = now;
    if (seconds > allowance_s)
      return ResourceExhausted("audio arrives faster than " + std::to_string(int(s.max_audio_rate)) +
                               " seconds per second");
    allowance_s -= seconds;
    return Status::Ok();
  }

  Status PushPcm(std::span<const int16_t> samples) {
    Outbox out;
    Status st = Status::Ok();
    {
      std::lock_guard lock(mu);
      if (closed) return Status::Ok();
      size_t i = 0;
      while (i < samples.size()) {
        const size_t take = std::min(samples.size() - i, size_t(kFrameSamples) - frame.size());
        frame.insert(frame.end(), samples.begin() + long(i), samples.begin() + long(i + take));
        i += take;
        if (frame.size() == size_t(kFrameSamples)) {
          st = Frame(frame, out);
          frame.clear();
          if (!st.ok()) break;
        }
      }
    }
    Flush(out);
    return st;
  }

  // On a worker: one reply, sentence by sentence.
  void SpeakJob(int64_t reply_to, const std::string& text, uint64_t gen) {
    auto current = [&] {
      std::lock_guard lock(mu);
      return !closed && gen == generation;
    };
    TtsOptions opts = s.tts;
    if (opts.language.empty()) opts.language = GuessLanguage(text);
    double spoken_s = 0;
    std::vector<std::string> sentences = SplitSentences(text);
    for (size_t i = 0; i < sentences.size(); ++i) {
      if (!current()) return;
      auto pcm = tts->Synthesize(sentences[i], opts);
      if (!pcm.ok()) {
        if (events.error) events.error(pcm.status());
        return;
      }
      if (pcm->sample_rate != s.tts_sample_rate) {
        auto r = Resample(*pcm, s.tts_sample_rate);
        if (!r.ok()) {
          if (events.error) events.error(r.status());
          return;
        }
        pcm = std::move(r);
      }
      spoken_s += pcm->seconds();
      if (spoken_s > s.max_reply_audio_s) {
        log::Info("voice_reply_truncated", {{"reply_to", reply_to}, {"sentences_spoken", int64_t(i)}});
        return;
      }
      {
        std::lock_guard lock(mu);
        if (closed || gen != generation) return;
        reply_level_dbfs = std::max(reply_level_dbfs, RmsDbfs(*pcm));
      }
      if (events.audio_start) events.audio_start(reply_to, i, sentences[i], s.tts_sample_rate);
      const size_t per_chunk = std::max<size_t>(2, s.max_chunk_bytes / 2);
      for (size_t at = 0; at < pcm->samples.size(); at += per_chunk) {
        if (!current()) break;  // barge-in: the rest of the sentence is not sent
        const size_t n = std::min(per_chunk, pcm->samples.size() - at);
        std::string bytes(n * 2, '\0');
        for (size_t k = 0; k < n; ++k) {
          const auto v = static_cast<uint16_t>(pcm->samples[at + k]);
          bytes[2 * k] = static_cast<char>(v & 0xff);
          bytes[2 * k + 1] = static_cast<char>(v >> 8);
        }
        if (events.audio_chunk) events.audio_chunk(reply_to, i, std::move(bytes));
      }
      if (events.audio_end) events.audio_end(reply_to, i);
    }
  }
};

Result<std::shared_ptr<VoiceSession>> VoiceSession::Create(Asr& asr, Tts* tts, std::unique_ptr<audio::Vad> vad,
                                                            SubmitFn submit, const Clock& clock,
                                                            VoiceSessionEvents events, VoiceSessionSettings settings) {
  if (!vad) return InvalidArgument("voice session: no VAD");
  if (!submit) return InvalidArgument("voice session: no executor");
  if (settings.format == InputFormat::kPcm16 && !ValidPcmRate(settings.sample_rate))
    return InvalidArgument("sample_rate must be 8000..48000 for pcm16");
  if (settings.format == InputFormat::kOpus && !ValidOpusRate(settings.sample_rate))
    return InvalidArgument("sample_rate must be 8000, 12000, 16000, 24000 or 48000 for opus");
  if (settings.tts_sample_rate < 8000 || settings.tts_sample_rate > 48000)
    return InvalidArgument("tts_sample_rate must be 8000..48000");
  if (settings.max_pending_utterances < 1) return InvalidArgument("max_pending_utterances must be at least 1");
  if (settings.max_audio_rate <= 0) return InvalidArgument("max_audio_rate must be positive");
  if (settings.preroll_ms < 0 || settings.preroll_ms > 1000) return InvalidArgument("preroll_ms must be 0..1000");
  if (settings.stream_chunk_ms < kFrameMs || settings.stream_chunk_ms > 5000)
    return InvalidArgument("stream_chunk_ms must be 20..5000");
  if (settings.partial_interval_ms < 0 || settings.partial_interval_ms > 60'000)
    return InvalidArgument("partial_interval_ms must be 0..60000");
  KEFU_ASSIGN_OR_RETURN(audio::Endpointer ep, audio::Endpointer::Create(settings.endpointer));
  KEFU_ASSIGN_OR_RETURN(audio::BargeInPolicy barge, audio::BargeInPolicy::Create(settings.barge_in));
  if (!settings.speak) tts = nullptr;
  auto impl = std::make_shared<Impl>(asr, tts, std::move(vad), std::move(submit), clock, std::move(events),
                                     std::move(settings), std::move(ep), std::move(barge));
  if (impl->s.format == InputFormat::kOpus) {
    // Opus decodes straight to 16 kHz whatever rate it was encoded at.
    KEFU_ASSIGN_OR_RETURN(impl->opus, OpusStreamDecoder::Create(kAsrSampleRate));
  } else if (impl->s.sample_rate != kAsrSampleRate) {
    KEFU_ASSIGN_OR_RETURN(impl->resampler, StreamResampler::Create(impl->s.sample_rate));
  }
  impl->allowance_s = impl->s.max_audio_rate;
  impl->allowance_at_ns = clock.MonotonicNs();
  return std::shared_ptr<VoiceSession>(new VoiceSession(std::move(impl)));
}

VoiceSession::~VoiceSession() { Close(); }

Status VoiceSession::PushAudio(std::string_view bytes) {
  Impl& m = *impl_;
  double seconds = 0;
  if (m.s.format == InputFormat::kPcm16) {
    if (bytes.size() % 2 != 0) return InvalidArgument("pcm16 audio must have an even number of bytes");
    seconds = double(bytes.size() / 2) / m.s.sample_rate;
  } else {
    if (bytes.size() > kMaxOpusPacketBytes)
      return InvalidArgument("an Opus packet has at most " + std::to_string(kMaxOpusPacketBytes) + " bytes");
  }
  m.decoded.clear();
  if (m.s.format == InputFormat::kOpus) {
    Pcm out;
    out.sample_rate = kAsrSampleRate;
    KEFU_RETURN_IF_ERROR(m.opus->Decode(bytes, out));
    seconds = out.seconds();
    m.decoded = std::move(out.samples);
  } else {
    std::vector<int16_t> samples(bytes.size() / 2);
    for (size_t i = 0; i < samples.size(); ++i)
      samples[i] = static_cast<int16_t>(static_cast<uint16_t>(static_cast<uint8_t>(bytes[2 * i])) |
                                        static_cast<uint16_t>(static_cast<uint8_t>(bytes[2 * i + 1])) << 8);
    if (m.resampler) {
      KEFU_RETURN_IF_ERROR(m.resampler->Push(samples, m.decoded));
    } else {
      m.decoded = std::move(samples);
    }
  }
  {
    std::lock_guard lock(m.mu);
    KEFU_RETURN_IF_ERROR(m.TakeAllowance(seconds));
  }
  return m.PushPcm(m.decoded);
}

Status VoiceSession::PushPcm(std::span<const int16_t> samples) { return impl_->PushPcm(samples); }

void VoiceSession::EndOfTurn() {
  Impl& m = *impl_;
  Impl::Outbox out;
  {
    std::lock_guard lock(m.mu);
    if (m.closed) return;
    m.frame.clear();
    if (m.utt_open) {
      m.FinishUtterance(m.utt_start_ms, m.stream_ms, m.utt_in_playback, out);
    } else if (m.audio.size() >= size_t(kMinPushToTalkMs) * kSamplesPerMs &&
               audio::RmsDbfs(m.audio) > kMinPushToTalkDbfs) {
      // Push-to-talk speech the VAD did not open (quiet, short): the customer meant it.
      m.FinishUtterance(m.audio_start_ms, m.stream_ms, m.Playing(), out);
    } else {
      m.audio.clear();
      m.audio_start_ms = m.stream_ms;
      // Released after the silence had already ended the utterance: that was the turn.
      if (!m.ended_since_release && m.events.no_speech) m.Emit(out, m.events.no_speech);
    }
    m.ended_since_release = false;
    m.ep.Reset();
    m.ep_base_ms = m.stream_ms;
  }
  Impl::Flush(out);
}

void VoiceSession::SetPlayback(bool playing) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  m.client_playing = playing;
  m.SyncPlayback();
}

void VoiceSession::Speak(int64_t reply_to, std::string text) {
  Impl& m = *impl_;
  if (!m.tts || utf8::Trim(text).empty()) return;
  uint64_t gen;
  {
    std::lock_guard lock(m.mu);
    if (m.closed) return;
    gen = m.generation;
    ++m.replies_in_progress;
    m.SyncPlayback();
  }
  auto self = m.shared_from_this();
  auto done = [self] {
    std::lock_guard lock(self->mu);
    --self->replies_in_progress;
    self->SyncPlayback();
  };
  const bool queued = m.PostUnlocked(m.tts_chain, [self, reply_to, text = std::move(text), gen, done] {
    self->SpeakJob(reply_to, text, gen);
    done();
  });
  if (!queued) done();
}

void VoiceSession::Close() {
  Impl::Outbox out;
  {
    std::lock_guard lock(impl_->mu);
    impl_->closed = true;
    impl_->Abandon(std::move(impl_->utt_stream), out);
  }
  Impl::Flush(out);
}

int64_t VoiceSession::stream_ms() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stream_ms;
}

bool VoiceSession::speaking() const {
  std::lock_guard lock(impl_->mu);
  return impl_->Playing();
}

}  // namespace kefu::voice
