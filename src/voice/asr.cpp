#include "voice/asr.h"

#include <atomic>
#include <sstream>
#include <utility>

namespace kefu::voice {

namespace {

// Buffers a whole utterance for engines without partial hypotheses.
class BufferedStream final : public AsrStream {
 public:
  BufferedStream(Asr& asr, AsrOptions options) : asr_(asr), options_(std::move(options)) {}

  Status Feed(const Pcm& pcm) override {
    if (pcm.sample_rate != kAsrSampleRate) return InvalidArgument("streamed audio must be 16 kHz");
    if (audio_.seconds() + pcm.seconds() > AudioLimits{}.max_seconds) {
      return PayloadTooLarge("streamed utterance is longer than " +
                             std::to_string(static_cast<int>(AudioLimits{}.max_seconds)) + " s");
    }
    audio_.samples.insert(audio_.samples.end(), pcm.samples.begin(), pcm.samples.end());
    return Status::Ok();
  }
  std::string Partial() override { return ""; }
  Result<Transcript> Finish() override { return asr_.Transcribe(audio_, options_); }

 private:
  Asr& asr_;
  AsrOptions options_;
  Pcm audio_;
};

}  // namespace

Result<std::unique_ptr<AsrStream>> Asr::StartStream(const AsrOptions& options) {
  return std::unique_ptr<AsrStream>(std::make_unique<BufferedStream>(*this, options));
}

Result<Transcript> TranscribeAnyRate(Asr& asr, const Pcm& pcm, const AsrOptions& options) {
  if (pcm.sample_rate == kAsrSampleRate) return asr.Transcribe(pcm, options);
  KEFU_ASSIGN_OR_RETURN(Pcm at16k, Resample(pcm, kAsrSampleRate));
  return asr.Transcribe(at16k, options);
}

void FakeAsr::Enqueue(Result<Transcript> next) {
  std::lock_guard lock(mu_);
  queue_.push_back(std::move(next));
}

Result<Transcript> FakeAsr::Transcribe(const Pcm& pcm, const AsrOptions& options) {
  std::lock_guard lock(mu_);
  calls_.push_back(pcm);
  if (pcm.sample_rate != kAsrSampleRate) return InvalidArgument("FakeAsr takes 16 kHz audio");
  if (queue_.empty()) {
    Transcript t;
    t.text = fallback;
    t.language = options.language;
    return t;
  }
  Result<Transcript> next = std::move(queue_.front());
  queue_.erase(queue_.begin());
  return next;
}

std::vector<Pcm> FakeAsr::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

// Keeps its own audio (one feeder at a time); hands it to the owner's record
// when it finishes or is destroyed.
class FakeStreamingAsr::Stream final : public AsrStream {
 public:
  Stream(FakeStreamingAsr& owner, size_t index) : owner_(owner), index_(index) { audio_.sample_rate = kAsrSampleRate; }
  ~Stream() override {
    std::lock_guard lock(owner_.mu_);
    --owner_.counts_.open;
    if (!finished_) ++owner_.counts_.abandoned;
    owner_.streamed_[index_] = std::move(audio_);
  }

  Status Feed(const Pcm& pcm) override {
    if (in_feed_.exchange(true)) {
      std::lock_guard lock(owner_.mu_);
      ++owner_.counts_.overlapping_feeds;
    }
    Status st = FeedAlone(pcm);
    in_feed_ = false;
    return st;
  }

  std::string Partial() override {
    std::istringstream words(owner_.text);
    const int64_t fed_ms = int64_t(audio_.samples.size()) * 1000 / kAsrSampleRate;
    int64_t n = owner_.ms_per_word > 0 ? fed_ms / owner_.ms_per_word : 0;
    std::string out, w;
    while (n-- > 0 && words >> w) out += (out.empty() ? "" : " ") + w;
    return out;
  }

  Result<Transcript> Finish() override {
    if (finished_) return FailedPrecondition("the utterance is finished");
    finished_ = true;
    std::lock_guard lock(owner_.mu_);
    ++owner_.counts_.finished;
    if (owner_.fail_finish) return Internal("fake stream failed to finish");
    Transcript t;
    t.text = owner_.text;
    return t;
  }

 private:
  Status FeedAlone(const Pcm& pcm) {
    if (finished_) return FailedPrecondition("the utterance is finished");
    if (pcm.sample_rate != kAsrSampleRate) return InvalidArgument("FakeStreamingAsr takes 16 kHz audio");
    {
      std::lock_guard lock(owner_.mu_);
      owner_.feed_sizes_.push_back(pcm.samples.size());
      if (owner_.fail_feeds) return Internal("fake stream failed to feed");
    }
    audio_.samples.insert(audio_.samples.end(), pcm.samples.begin(), pcm.samples.end());
    return Status::Ok();
  }

  FakeStreamingAsr& owner_;
  const size_t index_;
  Pcm audio_;
  bool finished_ = false;
  std::atomic<bool> in_feed_{false};
};

Result<Transcript> FakeStreamingAsr::Transcribe(const Pcm& pcm, const AsrOptions& options) {
  std::lock_guard lock(mu_);
  transcribed_.push_back(pcm);
  if (pcm.sample_rate != kAsrSampleRate) return InvalidArgument("FakeStreamingAsr takes 16 kHz audio");
  Transcript t;
  t.text = text;
  t.language = options.language;
  return t;
}

Result<std::unique_ptr<AsrStream>> FakeStreamingAsr::StartStream(const AsrOptions& options) {
  std::lock_guard lock(mu_);
  stream_options_.push_back(options);
  if (refuse_streams) {
    ++counts_.refused;
    return ResourceExhausted("every fake decoder is busy");
  }
  ++counts_.started;
  ++counts_.open;
  streamed_.emplace_back();
  return std::unique_ptr<AsrStream>(std::make_unique<Stream>(*this, streamed_.size() - 1));
}

FakeStreamingAsr::Counts FakeStreamingAsr::counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

std::vector<Pcm> FakeStreamingAsr::streamed() const {
  std::lock_guard lock(mu_);
  return streamed_;
}

std::vector<Pcm> FakeStreamingAsr::transcribed() const {
  std::lock_guard lock(mu_);
  return transcribed_;
}

std::vector<size_t> FakeStreamingAsr::feed_sizes() const {
  std::lock_guard lock(mu_);
  return feed_sizes_;
}

std::vector<AsrOptions> FakeStreamingAsr::stream_options() const {
  std::lock_guard lock(mu_);
  return stream_options_;
}

}  // namespace kefu::voice
