// BargeInPolicy: while the bot's reply is playing, decides from the caller's
// microphone frames (and, when they come, partial transcripts of what the
// caller says) whether to stop the playback, resume it, or drop the rest of
// the reply. Pure: no audio, no clock — the caller passes each frame's stream
// time (ms, the end of the frame), so FakeClock or frame counts drive it.
//
// Timing and energy decide first: a frame is caller speech when the VAD says
// so and its level is above the echo-adjusted threshold
//     max(min_level_dbfs, loudest playback − echo_return_loss_db + echo_margin_db)
// where "loudest playback" is the loudest frame the bot played in the last
// echo_tail_ms (the echo arrives late and rings on: room and network delay),
// so the bot's own voice leaking back into the microphone stays under it. An
// onset (the first such frame; its start is the onset time) becomes kStop when
//   - confirm_ms of caller speech has accumulated, or
//   - decision_ms has passed since the onset with at least
//     min_speech_fraction of it speech,
// so with the defaults speech that fills at least half of its frames is
// stopped at most 150 ms (stream time) after its onset, for 10, 20 and 30 ms
// frames (sparser speech: once confirm_ms has added up). An onset whose
// speech stops for more than max_gap_ms is dropped (a cough, a click). kStop
// means pause at the current position: the reply may go on.
//
// A partial transcript overrides: made only of backchannel words (嗯, 对, 好的,
// uh-huh, okay …; IsBackchannel) it
//   - before the stop: holds the playback (no stop for this burst);
//   - after the stop: kResume once the burst has been silent for
//     resume_after_silence_ms;
// any other words give kDiscard (stop and drop the rest of the reply: the
// caller has taken the turn), and so does a burst longer than
// backchannel_max_ms whatever its words, or a stop not resumed within
// resume_window_ms. Partials while no onset is pending are ignored (they would
// be the bot's own echo).
//
// One per voice session; ≈ 2 KiB plus the word list. Not
// thread-safe: frames and partials of one session come in order on one thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "audio/pcm.h"
#include "common/status.h"

namespace kefu::audio {

// Chinese and English backchannels (normalized: lower case, no spaces or punctuation).
std::vector<std::string> DefaultBackchannels();

// True when `text`, lower-cased and without spaces and punctuation (ASCII and
// CJK), is one or more of `words` back to back ("嗯嗯，好的。", "Uh-huh, okay").
// Empty text or text over 128 bytes → false.
bool IsBackchannel(std::string_view text, const std::vector<std::string>& words);

struct BargeInSettings {
  int confirm_ms = 120;
  int decision_ms = 150;
  double min_speech_fraction = 0.5;
  int max_gap_ms = 60;
  double echo_return_loss_db = 20;  // how much quieter the bot's voice comes back (more with AEC upstream)
  double echo_margin_db = 6;
  int echo_tail_ms = 300;  // how long a played frame counts for the echo threshold (≤ 1000)
  double min_level_dbfs = -50;
  int backchannel_max_ms = 800;
  int resume_after_silence_ms = 250;
  int resume_window_ms = 2000;
  std::vector<std::string> backchannels = DefaultBackchannels();
};

enum class BargeInAction {
  kNone,
  kStop,     // pause the playback where it is
  kResume,   // continue it from there
  kDiscard,  // stop (if not yet) and drop the rest of the reply; the caller has the turn
};
std::string_view BargeInActionName(BargeInAction a);

enum class BargeInState {
  kIdle,       // nothing playing
  kListening,  // playing, no caller speech
  kOnset,      // playing, caller speech being confirmed
  kHeld,       // playing, the burst's partial said backchannel
  kStopped,    // paused by kStop; may resume
};
std::string_view BargeInStateName(BargeInState s);

struct MicFrame {
  int64_t end_ms = 0;  // stream time at the end of the frame
  int frame_ms = 20;   // 10, 20 or 30
  bool vad_speech = false;
  double level_dbfs = kSilenceDbfs;           // the microphone frame's level
  double playback_level_dbfs = kSilenceDbfs;  // what the bot played during it
};

class BargeInPolicy {
 public:
  // InvalidArgument naming the setting when one is out of range.
  static Result<BargeInPolicy> Create(BargeInSettings settings = {});

  void PlaybackStarted();
  // The reply finished (or was dropped): nothing to interrupt any more.
  void PlaybackEnded();

  // InvalidArgument for a frame length other than 10/20/30 ms or a time
  // going backwards (nothing changes).
  Result<BargeInAction> OnFrame(const MicFrame& frame);
  BargeInAction OnPartial(int64_t now_ms, std::string_view text);

  BargeInState state() const { return state_; }
  int64_t onset_ms() const { return onset_ms_; }  // of the current or last burst
  // The echo-adjusted threshold after the frames seen so far (kStopped: min_level_dbfs).
  double ThresholdDbfs() const;

 private:
  explicit BargeInPolicy(BargeInSettings s) : s_(std::move(s)) {}
  void ToIdle();
  BargeInAction MaybeStop(int64_t now_ms);

  BargeInSettings s_;
  BargeInState state_ = BargeInState::kIdle;
  int64_t last_end_ms_ = INT64_MIN;
  int64_t onset_ms_ = 0, last_speech_end_ms_ = 0, stopped_ms_ = 0;
  int speech_ms_ = 0, gap_ms_ = 0;
  bool backchannel_heard_ = false;
  // Playback levels of the last echo_tail_ms, one slot per 10 ms of stream
  // time (the loudest frame covering it), a ring indexed by time.
  static constexpr int kTailSlots = 100;
  struct Slot {
    int64_t tick = -1;  // stream time / 10 ms
    double level = kSilenceDbfs;
  };
  std::array<Slot, kTailSlots> tail_{};
};

}  // namespace kefu::audio
