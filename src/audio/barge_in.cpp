#include "audio/barge_in.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace kefu::audio {
namespace {

constexpr size_t kMaxBackchannelBytes = 128;

// Lower-cases ASCII and drops ASCII spaces/punctuation and the common CJK
// punctuation (U+3000–U+303F, U+FF00–U+FF0F, U+FF1A–U+FF20, …, ～).
std::string Normalize(std::string_view text) {
  static constexpr std::string_view kCjkPunct[] = {"，", "。", "！", "？", "、", "；", "：", "…",  "～", "“",
                                                   "”",  "‘",  "’",  "（", "）", "　", "《", "》", "·",  "—"};
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (std::isalnum(c)) out.push_back(static_cast<char>(std::tolower(c)));
      ++i;
      continue;
    }
    bool skipped = false;
    for (std::string_view p : kCjkPunct) {
      if (text.substr(i, p.size()) == p) {
        i += p.size();
        skipped = true;
        break;
      }
    }
    if (!skipped) out.push_back(text[i++]);
  }
  return out;
}

}  // namespace

std::vector<std::string> DefaultBackchannels() {
  return {// zh
          "嗯", "恩", "嗯哼", "哦", "噢", "喔", "啊", "呃", "额", "对", "对的", "是", "是的", "是啊", "好", "好的",
          "好嘞", "行", "可以", "明白", "明白了", "知道了", "了解", "没错", "没问题", "嗯呢",
          // en
          "uhhuh", "mhm", "mm", "mmhmm", "hmm", "hm", "uh", "um", "ok", "okay", "yeah", "yes", "yep", "yup", "right",
          "sure", "isee", "gotit", "alright", "allright"};
}

bool IsBackchannel(std::string_view text, const std::vector<std::string>& words) {
  if (text.empty() || text.size() > kMaxBackchannelBytes) return false;
  const std::string t = Normalize(text);
  if (t.empty()) return false;
  // ok[i]: t[0, i) splits into words.
  std::vector<bool> ok(t.size() + 1, false);
  ok[0] = true;
  for (size_t i = 0; i < t.size(); ++i) {
    if (!ok[i]) continue;
    for (const std::string& w : words) {
      if (!w.empty() && t.compare(i, w.size(), w) == 0) ok[i + w.size()] = true;
    }
  }
  return ok[t.size()];
}

std::string_view BargeInActionName(BargeInAction a) {
  switch (a) {
    case BargeInAction::kNone:
      return "none";
    case BargeInAction::kStop:
      return "stop";
    case BargeInAction::kResume:
      return "resume";
    case BargeInAction::kDiscard:
      return "discard";
  }
  return "?";
}

std::string_view BargeInStateName(BargeInState s) {
  switch (s) {
    case BargeInState::kIdle:
      return "idle";
    case BargeInState::kListening:
      return "listening";
    case BargeInState::kOnset:
      return "onset";
    case BargeInState::kHeld:
      return "held";
    case BargeInState::kStopped:
      return "stopped";
  }
  return "?";
}

Result<BargeInPolicy> BargeInPolicy::Create(BargeInSettings s) {
  auto out_of = [](const char* name, double v, double lo, double hi) -> Status {
    if (v >= lo && v <= hi) return Status::Ok();
    return InvalidArgument(std::string("barge_in.") + name + " = " + std::to_string(v) + " outside [" +
                           std::to_string(lo) + ", " + std::to_string(hi) + "]");
  };
  KEFU_RETURN_IF_ERROR(out_of("confirm_ms", s.confirm_ms, 10, 2000));
  KEFU_RETURN_IF_ERROR(out_of("decision_ms", s.decision_ms, 10, 2000));
  KEFU_RETURN_IF_ERROR(out_of("min_speech_fraction", s.min_speech_fraction, 0.1, 1));
  KEFU_RETURN_IF_ERROR(out_of("max_gap_ms", s.max_gap_ms, 0, 1000));
  KEFU_RETURN_IF_ERROR(out_of("echo_return_loss_db", s.echo_return_loss_db, 0, 80));
  KEFU_RETURN_IF_ERROR(out_of("echo_margin_db", s.echo_margin_db, 0, 40));
  KEFU_RETURN_IF_ERROR(out_of("echo_tail_ms", s.echo_tail_ms, 0, 10 * (kTailSlots - 4)));
  KEFU_RETURN_IF_ERROR(out_of("min_level_dbfs", s.min_level_dbfs, -100, 0));
  KEFU_RETURN_IF_ERROR(out_of("backchannel_max_ms", s.backchannel_max_ms, 100, 5000));
  KEFU_RETURN_IF_ERROR(out_of("resume_after_silence_ms", s.resume_after_silence_ms, 0, 5000));
  KEFU_RETURN_IF_ERROR(out_of("resume_window_ms", s.resume_window_ms, 100, 30'000));
  if (s.backchannels.size() > 1000) return InvalidArgument("barge_in.backchannels: more than 1000 words");
  return BargeInPolicy(std::move(s));
}

double BargeInPolicy::ThresholdDbfs() const {
  if (state_ == BargeInState::kStopped) return s_.min_level_dbfs;  // nothing is playing
  double loudest = kSilenceDbfs;
  if (last_end_ms_ != INT64_MIN) {
    const int64_t now_tick = (last_end_ms_ - 1) / 10;
    for (const Slot& slot : tail_) {
      if (slot.tick >= 0 && slot.tick <= now_tick && (now_tick - slot.tick) * 10 < s_.echo_tail_ms + 10) {
        loudest = std::max(loudest, slot.level);
      }
    }
  }
  return std::max(s_.min_level_dbfs, loudest - s_.echo_return_loss_db + s_.echo_margin_db);
}

void BargeInPolicy::PlaybackStarted() {
  ToIdle();
  state_ = BargeInState::kListening;
}

void BargeInPolicy::PlaybackEnded() {
  ToIdle();
}

void BargeInPolicy::ToIdle() {
  state_ = BargeInState::kIdle;
  speech_ms_ = gap_ms_ = 0;
  backchannel_heard_ = false;
}

BargeInAction BargeInPolicy::MaybeStop(int64_t now_ms) {
  const int64_t elapsed = now_ms - onset_ms_;
  if (speech_ms_ < s_.confirm_ms &&
      !(elapsed >= s_.decision_ms && speech_ms_ >= s_.min_speech_fraction * static_cast<double>(elapsed))) {
    return BargeInAction::kNone;
  }
  state_ = BargeInState::kStopped;
  stopped_ms_ = now_ms;
  return BargeInAction::kStop;
}

Result<BargeInAction> BargeInPolicy::OnFrame(const MicFrame& f) {
  if (!ValidFrameMs(f.frame_ms)) {
    return InvalidArgument("barge-in frame of " + std::to_string(f.frame_ms) + " ms; expected 10, 20 or 30");
  }
  if (last_end_ms_ != INT64_MIN && f.end_ms < last_end_ms_ + f.frame_ms) {
    return InvalidArgument("barge-in frame ending at " + std::to_string(f.end_ms) + " ms overlaps the previous one (" +
                           std::to_string(last_end_ms_) + " ms)");
  }
  last_end_ms_ = f.end_ms;
  for (int64_t t = f.end_ms - f.frame_ms; t < f.end_ms; t += 10) {
    const int64_t tick = t >= 0 ? t / 10 : 0;
    Slot& slot = tail_[static_cast<size_t>(tick % kTailSlots)];
    slot = {tick, f.playback_level_dbfs};
  }
  // While paused nothing is playing: any VAD speech above the floor is the caller.
  const bool caller = f.vad_speech && f.level_dbfs >= ThresholdDbfs();
  if (caller) {
    last_speech_end_ms_ = f.end_ms;
  }

  switch (state_) {
    case BargeInState::kIdle:
      return BargeInAction::kNone;

    case BargeInState::kListening:
      if (!caller) return BargeInAction::kNone;
      state_ = BargeInState::kOnset;
      onset_ms_ = f.end_ms - f.frame_ms;
      speech_ms_ = f.frame_ms;
      gap_ms_ = 0;
      backchannel_heard_ = false;
      return MaybeStop(f.end_ms);

    case BargeInState::kOnset:
      if (caller) {
        speech_ms_ += f.frame_ms;
        gap_ms_ = 0;
      } else if ((gap_ms_ += f.frame_ms) > s_.max_gap_ms) {
        state_ = BargeInState::kListening;
        return BargeInAction::kNone;
      }
      return MaybeStop(f.end_ms);

    case BargeInState::kHeld:
      if (last_speech_end_ms_ - onset_ms_ > s_.backchannel_max_ms) {
        ToIdle();
        return BargeInAction::kDiscard;
      }
      if (f.end_ms - last_speech_end_ms_ >= s_.resume_after_silence_ms) state_ = BargeInState::kListening;
      return BargeInAction::kNone;

    case BargeInState::kStopped:
      if (last_speech_end_ms_ - onset_ms_ > s_.backchannel_max_ms || f.end_ms - stopped_ms_ > s_.resume_window_ms) {
        ToIdle();
        return BargeInAction::kDiscard;
      }
      if (backchannel_heard_ && f.end_ms - last_speech_end_ms_ >= s_.resume_after_silence_ms) {
        state_ = BargeInState::kListening;
        backchannel_heard_ = false;
        return BargeInAction::kResume;
      }
      return BargeInAction::kNone;
  }
  return BargeInAction::kNone;
}

BargeInAction BargeInPolicy::OnPartial(int64_t now_ms, std::string_view text) {
  if (state_ != BargeInState::kOnset && state_ != BargeInState::kHeld && state_ != BargeInState::kStopped) {
    return BargeInAction::kNone;
  }
  if (Normalize(text.substr(0, kMaxBackchannelBytes + 1)).empty()) return BargeInAction::kNone;
  if (!IsBackchannel(text, s_.backchannels)) {
    ToIdle();
    return BargeInAction::kDiscard;
  }
  if (state_ == BargeInState::kOnset) {
    state_ = BargeInState::kHeld;
    return BargeInAction::kNone;
  }
  if (state_ == BargeInState::kStopped) {
    backchannel_heard_ = true;
    if (now_ms - last_speech_end_ms_ >= s_.resume_after_silence_ms) {
      state_ = BargeInState::kListening;
      backchannel_heard_ = false;
      return BargeInAction::kResume;
    }
  }
  return BargeInAction::kNone;
}

}  // namespace kefu::audio
