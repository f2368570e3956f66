// VoiceSession: one customer's real-time voice call, without any transport.
// The WebSocket endpoint (api/voice_socket.cpp) feeds it the customer's
// audio and the conversation's replies and forwards what it emits; tests
// drive it with FakeVad / FakeAsr / FakeTts, an inline executor and a
// FakeClock.
//
//   audio in (pcm16 at 8–48 kHz, or Opus packets)
//     → 16 kHz (a streaming resampler / the Opus decoder)
//     → 20 ms frames → Vad → Endpointer (end of turn; or EndOfTurn() from
//       push-to-talk) → the utterance, on a worker: prosody against this
//       caller's baseline (arousal, anger) and Asr::Transcribe
//     → events.utterance (a final transcript) or events.no_speech
//   streaming (streaming_asr, an engine that streams): from the start of the
//     utterance its audio goes to an AsrStream on a worker every
//     stream_chunk_ms → events.partial (new hypotheses, at most one per
//     partial_interval_ms); at its end AsrStream::Finish replaces Transcribe
//     (only the last chunk is left to decode). A stream the engine refuses
//     (busy) or that fails: the utterance is recognised whole as above.
//   Speak(reply): SplitSentences → Tts per sentence, on a worker →
//     events.audio_start / audio_chunk… / audio_end per sentence, each
//     sentence as soon as it is synthesised
//   barge-in: while the reply plays (the client's playback state, or audio
//     being produced) the customer's frames go to BargeInPolicy; a
//     confirmed interruption (speech longer than a backchannel, or a
//     transcript that is not one: 嗯/对/好的/uh-huh are not) → events.barge_in,
//     and the rest of that reply's audio is not sent.
//
// Bounds: an utterance is at most endpointer.max_utterance_ms (cut there and
// still a turn), plus preroll; at most max_pending_utterances wait for the
// recogniser; one AsrStream at a time (the open utterance's: it holds an
// engine decoder while the customer speaks, and at most one chunk of audio
// waits for it); one reply speaks at most max_reply_audio_s; more than
// max_audio_rate seconds of audio per second of wall time is refused
// (ResourceExhausted: the caller closes the call).
//
// Threads: PushAudio / EndOfTurn / SetPlayback come from one thread at a
// time (the connection's I/O strand); they never block on ASR or TTS, which
// run through `submit` (a worker pool), one utterance and one reply at a time
// per session. Speak and Close may be called from any thread. Events are
// called from either, never while the session's lock is held, and must not
// block. Asr, Tts and the clock must outlive every job (the server's).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "audio/barge_in.h"
#include "audio/endpointer.h"
#include "audio/prosody.h"
#include "audio/vad.h"
#include "common/clock.h"
#include "common/status.h"
#include "voice/asr.h"
#include "voice/audio.h"
#include "voice/tts.h"

namespace kefu::voice {

enum class InputFormat { kPcm16, kOpus };

struct VoiceSessionSettings {
  InputFormat format = InputFormat::kPcm16;
  int sample_rate = kAsrSampleRate;  // of the input: pcm16 8000..48000; opus 8000/12000/16000/24000/48000
  bool speak = true;                 // false: replies are not synthesised (text only)
  audio::EndpointerSettings endpointer;
  audio::BargeInSettings barge_in;
  int preroll_ms = 200;          // audio kept before the detected start of speech
  // The client cancels the echo of its own speaker (browsers' getUserMedia
  // does by default): the reply's level is then not used to raise the
  // barge-in threshold (BargeInSettings echo_*).
  bool echo_cancelled = true;
  int max_pending_utterances = 2;
  AsrOptions asr;
  // Recognise while the customer speaks (engines whose Asr::streams()).
  bool streaming_asr = true;
  int stream_chunk_ms = 160;      // new audio handed to the stream at a time
  int partial_interval_ms = 300;  // at most one partial per this
  TtsOptions tts;
  int tts_sample_rate = 16000;   // reply audio is sent at this rate (pcm16 mono)
  size_t max_chunk_bytes = 32000;  // one binary message of reply audio (1 s at 16 kHz)
  double max_reply_audio_s = 60;   // later sentences of a longer reply are not spoken
  double max_audio_rate = 30;      // seconds of audio per second of wall time (burst as large)
};

// One finished customer utterance with words in it.
struct Utterance {
  Transcript transcript;
  Pcm audio;                    // 16 kHz, what was transcribed
  bool prosody_ok = false;      // false: no phonation to measure (prosody left at zero)
  audio::ProsodyScore prosody;  // against this caller's own baseline so far
  int64_t start_ms = 0;         // stream time of the audio
  int64_t end_ms = 0;
};

struct VoiceSessionEvents {
  std::function<void()> speech_started;
  // A new interim hypothesis of the open utterance (streaming only): it may
  // still change; the utterance's final transcript (events.utterance) is
  // what counts, and no partial of an utterance follows it.
  std::function<void(const std::string& text)> partial;
  std::function<void(Utterance&&)> utterance;
  std::function<void()> no_speech;
  // One sentence of a reply: start, its audio in chunks (pcm16 little endian
  // at tts_sample_rate), end. Sentences of a reply come in order.
  std::function<void(int64_t reply_to, size_t sentence, const std::string& text, int sample_rate)> audio_start;
  std::function<void(int64_t reply_to, size_t sentence, std::string&& pcm16le)> audio_chunk;
  std::function<void(int64_t reply_to, size_t sentence)> audio_end;
  std::function<void()> barge_in;
  // A failure of one utterance or reply (ASR/TTS engine, backlog); the call goes on.
  std::function<void(const Status&)> error;
};

// Runs a task on a worker; false when it was refused (shutting down).
using SubmitFn = std::function<bool(std::function<void()>)>;

class VoiceSession {
 public:
  // InvalidArgument naming the setting (format, sample rate, endpointer or
  // barge-in settings). `tts` may be null (no audio replies).
  static Result<std::shared_ptr<VoiceSession>> Create(Asr& asr, Tts* tts, std::unique_ptr<audio::Vad> vad,
                                                      SubmitFn submit, const Clock& clock, VoiceSessionEvents events,
                                                      VoiceSessionSettings settings);
  ~VoiceSession();

  // One binary message of the announced format. InvalidArgument for audio
  // that cannot be decoded (odd byte count, a bad Opus packet);
  // ResourceExhausted when audio arrives faster than max_audio_rate.
  Status PushAudio(std::string_view bytes);
  // 16 kHz samples (what PushAudio decodes to).
  Status PushPcm(std::span<const int16_t> samples);
  // The customer released push-to-talk: the speech so far is the turn.
  void EndOfTurn();
  // The client's speaker started / stopped playing reply audio.
  void SetPlayback(bool playing);
  // Speaks a reply (any thread). Replies are spoken one after the other.
  void Speak(int64_t reply_to, std::string text);
  // No more events; queued work does nothing; an open utterance's stream is
  // let go on a worker. Idempotent, any thread.
  void Close();

  // Stream time: milliseconds of audio taken so far.
  int64_t stream_ms() const;
  bool speaking() const;  // a reply is being synthesised or played (as far as the session knows)

 private:
  struct Impl;
  explicit VoiceSession(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;  // shared with the jobs on workers
};

}  // namespace kefu::voice
