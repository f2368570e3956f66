#include "audio/endpointer.h"

#include <algorithm>
#include <string>

#include "audio/pcm.h"

namespace kefu::audio {

std::string_view EndpointStateName(EndpointState s) {
  switch (s) {
    case EndpointState::kIdle:
      return "idle";
    case EndpointState::kSpeech:
      return "speech";
    case EndpointState::kTrailingSilence:
      return "trailing_silence";
  }
  return "?";
}

std::string_view EndpointEventName(EndpointEventType t) {
  switch (t) {
    case EndpointEventType::kSpeechStart:
      return "speech_start";
    case EndpointEventType::kPause:
      return "pause";
    case EndpointEventType::kEndOfTurn:
      return "end_of_turn";
    case EndpointEventType::kNoInput:
      return "no_input";
  }
  return "?";
}

Result<Endpointer> Endpointer::Create(EndpointerSettings s) {
  struct Field {
    const char* name;
    int value, lo, hi;
  };
  for (const Field& f :
       {Field{"start_speech_ms", s.start_speech_ms, 10, 1000}, Field{"start_gap_ms", s.start_gap_ms, 0, 1000},
        Field{"pause_ms", s.pause_ms, 50, 10'000}, Field{"segment_gap_ms", s.segment_gap_ms, 10, 10'000},
        Field{"short_segment_ms", s.short_segment_ms, 0, 10'000},
        Field{"min_end_silence_ms", s.min_end_silence_ms, 100, 10'000},
        Field{"after_short_end_silence_ms", s.after_short_end_silence_ms, 100, 10'000},
        Field{"burst_end_silence_ms", s.burst_end_silence_ms, 100, 10'000},
        Field{"burst_segments", s.burst_segments, 1, 100},
        Field{"max_end_silence_ms", s.max_end_silence_ms, 100, 10'000},
        Field{"max_utterance_ms", s.max_utterance_ms, 1000, 600'000},
        Field{"no_input_timeout_ms", s.no_input_timeout_ms, 1000, 600'000}}) {
    if (f.value < f.lo || f.value > f.hi) {
      return InvalidArgument(std::string("endpointer.") + f.name + " = " + std::to_string(f.value) + " outside [" +
                             std::to_string(f.lo) + ", " + std::to_string(f.hi) + "]");
    }
  }
  if (!(s.min_end_silence_ms <= s.after_short_end_silence_ms &&
        s.after_short_end_silence_ms <= s.burst_end_silence_ms && s.burst_end_silence_ms <= s.max_end_silence_ms)) {
    return InvalidArgument(
        "endpointer: need min_end_silence_ms <= after_short_end_silence_ms <= burst_end_silence_ms <= "
        "max_end_silence_ms");
  }
  return Endpointer(s);
}

void Endpointer::Listen(ListenOptions options) {
  no_input_armed_ = true;
  listen_since_ms_ = now_ms_;
  expect_digits_ = options.expect_digits;
}

void Endpointer::Reset() {
  const EndpointerSettings s = s_;
  *this = Endpointer(s);
}

int Endpointer::RequiredSilenceMs() const {
  int required = s_.min_end_silence_ms;
  if (state_ != EndpointState::kIdle) {
    const bool current_short = last_speech_end_ms_ - seg_start_ms_ <= s_.short_segment_ms;
    const int run = current_short ? short_run_ + 1 : 0;
    if (run >= s_.burst_segments) {
      required = s_.burst_end_silence_ms;
    } else if (run >= 1) {
      required = s_.after_short_end_silence_ms;
    }
  }
  if (expect_digits_) required = std::max(required, s_.burst_end_silence_ms);
  return std::min(required, s_.max_end_silence_ms);
}

void Endpointer::EndUtterance(EndReason reason, int required, std::vector<EndpointEvent>& out) {
  EndpointEvent e{EndpointEventType::kEndOfTurn, now_ms_, utt_start_ms_, last_speech_end_ms_, reason, required};
  out.push_back(e);
  state_ = EndpointState::kIdle;
  run_start_ms_ = -1;
  run_speech_ms_ = run_gap_ms_ = 0;
  silence_ms_ = 0;
  pause_sent_ = false;
  short_run_ = 0;
  expect_digits_ = false;
  no_input_armed_ = false;  // the bot's turn now; Listen again when it has spoken
}

Result<std::vector<EndpointEvent>> Endpointer::Push(bool speech, int frame_ms) {
  if (!ValidFrameMs(frame_ms)) {
    return InvalidArgument("endpointer frame of " + std::to_string(frame_ms) + " ms; expected 10, 20 or 30");
  }
  std::vector<EndpointEvent> out;
  const int64_t frame_start = now_ms_;
  now_ms_ += frame_ms;

  // The run of speech frames that opens (idle) or resumes (trailing) speech.
  auto advance_run = [&]() -> bool {
    if (speech) {
      if (run_start_ms_ < 0) run_start_ms_ = frame_start;
      run_speech_ms_ += frame_ms;
      run_gap_ms_ = 0;
    } else if (run_start_ms_ >= 0) {
      run_gap_ms_ += frame_ms;
      if (run_gap_ms_ > s_.start_gap_ms) run_start_ms_ = -1, run_speech_ms_ = run_gap_ms_ = 0;
    }
    return run_start_ms_ >= 0 && run_speech_ms_ >= s_.start_speech_ms;
  };

  switch (state_) {
    case EndpointState::kIdle:
      if (advance_run()) {
        state_ = EndpointState::kSpeech;
        utt_start_ms_ = seg_start_ms_ = run_start_ms_;
        last_speech_end_ms_ = now_ms_;
        silence_ms_ = 0;
        pause_sent_ = false;
        short_run_ = 0;
        run_start_ms_ = -1;
        run_speech_ms_ = run_gap_ms_ = 0;
        no_input_armed_ = false;
        out.push_back({EndpointEventType::kSpeechStart, now_ms_, utt_start_ms_});
      } else if (no_input_armed_ && run_start_ms_ < 0 && now_ms_ - listen_since_ms_ >= s_.no_input_timeout_ms) {
        no_input_armed_ = false;
        out.push_back({EndpointEventType::kNoInput, now_ms_});
      }
      break;

    case EndpointState::kSpeech:
      if (speech) {
        last_speech_end_ms_ = now_ms_;
        break;
      }
      state_ = EndpointState::kTrailingSilence;
      silence_ms_ = 0;
      run_start_ms_ = -1;
      run_speech_ms_ = run_gap_ms_ = 0;
      [[fallthrough]];

    case EndpointState::kTrailingSilence:
      if (advance_run()) {
        // Speech again: if the silence split two segments, close the one before.
        if (run_start_ms_ - last_speech_end_ms_ >= s_.segment_gap_ms) {
          const bool was_short = last_speech_end_ms_ - seg_start_ms_ <= s_.short_segment_ms;
          short_run_ = was_short ? short_run_ + 1 : 0;
          seg_start_ms_ = run_start_ms_;
        }
        state_ = EndpointState::kSpeech;
        last_speech_end_ms_ = now_ms_;
        silence_ms_ = 0;
        pause_sent_ = false;
        run_start_ms_ = -1;
        run_speech_ms_ = run_gap_ms_ = 0;
        break;
      }
      silence_ms_ = static_cast<int>(now_ms_ - last_speech_end_ms_);
      if (!pause_sent_ && silence_ms_ >= s_.pause_ms) {
        pause_sent_ = true;
        out.push_back({EndpointEventType::kPause, now_ms_, utt_start_ms_, last_speech_end_ms_});
      }
      if (const int required = RequiredSilenceMs(); silence_ms_ >= required) {
        EndUtterance(EndReason::kSilence, required, out);
        return out;
      }
      break;
  }
  if (state_ != EndpointState::kIdle && now_ms_ - utt_start_ms_ >= s_.max_utterance_ms) {
    if (state_ == EndpointState::kSpeech) last_speech_end_ms_ = now_ms_;
    EndUtterance(EndReason::kMaxLength, 0, out);
  }
  return out;
}

}  // namespace kefu::audio
