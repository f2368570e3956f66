#include "voice/tts.h"

#include <cmath>
#include <utility>

namespace kefu::voice {

Status CheckTtsText(std::string_view text) {
  if (text.size() > kMaxTtsInputBytes)
    return InvalidArgument("text is " + std::to_string(text.size()) + " bytes; one synthesis takes at most " +
                           std::to_string(kMaxTtsInputBytes));
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
    return InvalidArgument("nothing to say: the text is empty");
  return Status();
}

namespace {

bool StartsWith(std::string_view s, size_t i, std::string_view what) {
  return s.substr(i, what.size()) == what;
}

// Multi-byte terminators (UTF-8): 。！？；… and full-width ．
constexpr std::string_view kWideEnds[] = {"。", "！", "？", "；", "…", "．"};
// What may follow a terminator and still belong to its sentence.
constexpr std::string_view kClosers[] = {"”", "’", "」", "』", "）", "】", "》", "\"", "'", ")", "]"};

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Length of the terminator at s[i] (0 when there is none). `at_end`: no
// more text will follow, so a final '.' ends a sentence.
size_t TerminatorAt(std::string_view s, size_t i, bool at_end) {
  const char c = s[i];
  if (c == '!' || c == '?' || c == ';' || c == '\n') return 1;
  if (c == '.') {
    if (i + 1 < s.size()) {
      if (IsSpace(s[i + 1])) return 1;
      for (std::string_view c : kClosers) {
        if (StartsWith(s, i + 1, c)) return 1;  // "(Yes.)", "“OK.”"
      }
      return 0;  // "3.5", "example.com"
    }
    return at_end ? 1 : 0;  // "3." may become "3.5": wait for the next piece
  }
  for (std::string_view w : kWideEnds) {
    if (StartsWith(s, i, w)) return w.size();
  }
  return 0;
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && IsSpace(s[b])) ++b;
  while (e > b && IsSpace(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

// The start of the UTF-8 sequence holding byte i.
size_t CharStart(std::string_view s, size_t i) {
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return i;
}

}  // namespace

std::vector<std::string> SentenceSplitter::Drain(bool at_end) {
  std::vector<std::string> out;
  auto emit = [&](size_t end) {
    std::string sentence = Trim(std::string_view(pending_).substr(0, end));
    pending_.erase(0, end);
    if (!sentence.empty()) out.push_back(std::move(sentence));
  };
  size_t i = 0;
  while (i < pending_.size()) {
    const size_t term = TerminatorAt(pending_, i, at_end);
    if (term > 0) {
      size_t end = i + term;
      // Repeated terminators ("?!", "……") and closing quotes stay together.
      for (bool more = true; more && end < pending_.size();) {
        more = false;
        if (size_t t = TerminatorAt(pending_, end, at_end); t > 0 && pending_[end] != '\n') {
          end += t;
          more = true;
          continue;
        }
        for (std::string_view c : kClosers) {
          if (StartsWith(pending_, end, c)) {
            end += c.size();
            more = true;
            break;
          }
        }
      }
      if (end == pending_.size() && !at_end && pending_[end - 1] != '\n') {
        // A closer or another terminator may still arrive: wait, unless too long.
        if (pending_.size() <= max_bytes_) break;
      }
      emit(end);
      i = 0;
      continue;
    }
    if (i + 1 > max_bytes_) {  // too long without a terminator: cut at a comma or a space
      size_t cut = std::string_view::npos;
      for (size_t k = i; k > max_bytes_ / 3; --k) {
        if (pending_[k] == ',' || IsSpace(pending_[k])) {
          cut = k + 1;
          break;
        }
        if (StartsWith(pending_, k, "，") || StartsWith(pending_, k, "、")) {
          cut = k + 3;
          break;
        }
      }
      if (cut == std::string_view::npos || cut > pending_.size()) cut = CharStart(pending_, i);
      if (cut == 0) cut = i + 1;
      emit(cut);
      i = 0;
      continue;
    }
    ++i;
  }
  return out;
}

std::vector<std::string> SentenceSplitter::Append(std::string_view text) {
  pending_.append(text);
  return Drain(false);
}

std::vector<std::string> SentenceSplitter::Finish() {
  std::vector<std::string> rest = Drain(true);
  if (std::string tail = Trim(pending_); !tail.empty()) rest.push_back(std::move(tail));
  pending_.clear();
  return rest;
}

std::vector<std::string> SplitSentences(std::string_view text, size_t max_bytes) {
  SentenceSplitter splitter(max_bytes);
  std::vector<std::string> out = splitter.Append(text);
  std::vector<std::string> rest = splitter.Finish();
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

std::string GuessLanguage(std::string_view text) {
  for (size_t i = 0; i + 2 < text.size(); ++i) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    if ((b0 & 0xF0) != 0xE0) continue;
    const char32_t cp = ((b0 & 0x0F) << 12) | ((static_cast<unsigned char>(text[i + 1]) & 0x3F) << 6) |
                        (static_cast<unsigned char>(text[i + 2]) & 0x3F);
    if ((cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF)) return "zh";
  }
  return "en";
}

Status SpeakSentences(Tts& tts, std::string_view text, const TtsOptions& options, const SentenceAudioFn& on_audio) {
  const std::vector<std::string> sentences = SplitSentences(text);
  if (sentences.empty()) return InvalidArgument("nothing to say: the text is empty");
  for (size_t i = 0; i < sentences.size(); ++i) {
    KEFU_ASSIGN_OR_RETURN(Pcm audio, tts.Synthesize(sentences[i], options));
    if (!on_audio(i, sentences[i], std::move(audio))) break;
  }
  return Status::Ok();
}

Result<Pcm> FakeTts::Synthesize(std::string_view text, const TtsOptions& options) {
  std::lock_guard lock(mu_);
  texts_.emplace_back(text);
  if (!errors_.empty()) {
    Status e = errors_.front();
    errors_.erase(errors_.begin());
    return e;
  }
  KEFU_RETURN_IF_ERROR(CheckTtsText(text));
  size_t chars = 0;
  for (char c : text) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  Pcm p;
  p.sample_rate = kAsrSampleRate;
  const size_t n = chars * static_cast<size_t>(ms_per_char) * kAsrSampleRate / 1000;
  p.samples.resize(n);
  for (size_t i = 0; i < n; ++i)
    p.samples[i] = static_cast<int16_t>(8000 * std::sin(2 * M_PI * 440.0 * i / kAsrSampleRate));
  return p;
}

void FakeTts::EnqueueError(Status error) {
  std::lock_guard lock(mu_);
  errors_.push_back(std::move(error));
}

std::vector<std::string> FakeTts::texts() const {
  std::lock_guard lock(mu_);
  return texts_;
}

}  // namespace kefu::voice
