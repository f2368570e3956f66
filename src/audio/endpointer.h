// Endpointer: decides where a caller's turn starts and ends from per-frame
// VAD decisions (audio/vad.h). Pure: no audio, no clock, no I/O — time is the
// stream's own, the sum of the frames' durations since Create/Reset, so the
// same frames always give the same events.
//
// States: kIdle → (start_speech_ms of speech) → kSpeech ⇄ kTrailingSilence
// → end of turn → kIdle. While idle and listening, no input for
// no_input_timeout_ms gives kNoInput (once per Listen).
//
// The silence that ends a turn adapts to what the caller has said so far:
//   - after a long segment (a sentence):                 min_end_silence_ms
//   - after one short segment (好的, 是, a first digit):  after_short_end_silence_ms
//   - after burst_segments or more short segments in a row (reading out a
//     phone or order number digit by digit, pauses of 300–700 ms), or when
//     Listen was told to expect digits:                  burst_end_silence_ms
//   never more than max_end_silence_ms. A segment is speech between two
//   silences of at least segment_gap_ms; it is short if at most short_segment_ms.
// An utterance longer than max_utterance_ms ends (kMaxLength) even in speech.
//
// One per audio stream; a few dozen bytes of state, no allocation per frame
// besides the returned events. Not thread-safe.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kefu::audio {

struct EndpointerSettings {
  int start_speech_ms = 60;    // speech (gaps up to start_gap_ms allowed) that opens an utterance
  int start_gap_ms = 30;       // a non-speech gap longer than this during the opening run restarts it
  int pause_ms = 250;          // silence inside an utterance worth a partial result (kPause)
  int segment_gap_ms = 150;    // silence that separates two segments
  int short_segment_ms = 800;  // a segment at most this long is "short"
  int min_end_silence_ms = 600;
  int after_short_end_silence_ms = 900;
  int burst_end_silence_ms = 1300;
  int burst_segments = 2;
  int max_end_silence_ms = 1500;
  int max_utterance_ms = 30'000;
  int no_input_timeout_ms = 8'000;
};

enum class EndpointState { kIdle, kSpeech, kTrailingSilence };
std::string_view EndpointStateName(EndpointState s);

enum class EndpointEventType {
  kSpeechStart,  // an utterance began at start_ms (backdated to its first speech frame)
  kPause,        // pause_ms of silence inside the utterance: a good point for a partial transcript
  kEndOfTurn,    // the utterance [start_ms, end_ms] is over (reason)
  kNoInput,      // no speech for no_input_timeout_ms since Listen
};
std::string_view EndpointEventName(EndpointEventType t);

enum class EndReason { kSilence, kMaxLength };

struct EndpointEvent {
  EndpointEventType type;
  int64_t at_ms = 0;     // stream time at which it was decided (end of the frame)
  int64_t start_ms = 0;  // kSpeechStart, kEndOfTurn: the utterance's first speech
  int64_t end_ms = 0;    // kEndOfTurn: the end of its last speech
  EndReason reason = EndReason::kSilence;
  int required_silence_ms = 0;  // kEndOfTurn by silence: the silence the rule asked for
};

struct ListenOptions {
  bool expect_digits = false;  // the bot just asked for a number: wait burst_end_silence_ms from the start
};

class Endpointer {
 public:
  // InvalidArgument naming the setting when one is out of range or the end
  // silences are not ordered min ≤ after_short ≤ burst ≤ max.
  static Result<Endpointer> Create(EndpointerSettings settings = {});

  // Feeds one frame's VAD decision; frame_ms must be 10, 20 or 30
  // (InvalidArgument otherwise, and nothing changes). Returns what happened
  // at the end of this frame, in order (at most two events). Keep the Result
  // in a variable before iterating: `for (auto& e : Push(...).value())`
  // dangles (Result::value()&& hands out a reference into the temporary).
  Result<std::vector<EndpointEvent>> Push(bool speech, int frame_ms);

  // Starts (re)waiting for the caller: arms the no-input timer from now and
  // sets the hint for the next utterance. An utterance in progress goes on.
  void Listen(ListenOptions options = {});
  // Forgets everything; time starts again at 0 and the no-input timer is off.
  void Reset();

  EndpointState state() const { return state_; }
  int64_t now_ms() const { return now_ms_; }
  // The end of the current (or last) utterance's latest speech: a
  // kEndOfTurn's end_ms is never earlier than this was before it.
  int64_t last_speech_end_ms() const { return last_speech_end_ms_; }
  // The silence that would end the current utterance now (for tests, logs).
  int RequiredSilenceMs() const;

 private:
  explicit Endpointer(EndpointerSettings s) : s_(s) {}
  void EndUtterance(EndReason reason, int required, std::vector<EndpointEvent>& out);

  EndpointerSettings s_;
  EndpointState state_ = EndpointState::kIdle;
  int64_t now_ms_ = 0;
  // Listening / no-input.
  bool no_input_armed_ = false;
  int64_t listen_since_ms_ = 0;
  bool expect_digits_ = false;
  // The opening run (idle) or the resuming run (trailing silence).
  int64_t run_start_ms_ = -1;
  int run_speech_ms_ = 0, run_gap_ms_ = 0;
  // The utterance.
  int64_t utt_start_ms_ = 0, seg_start_ms_ = 0, last_speech_end_ms_ = 0;
  int silence_ms_ = 0;
  bool pause_sent_ = false;
  int short_run_ = 0;  // closed short segments in a row just before the current one
};

}  // namespace kefu::audio
