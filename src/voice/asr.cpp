#include "voice/asr.h"

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

}  // namespace kefu::voice
