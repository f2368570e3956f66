#include "voice/pocketsphinx_asr.h"

#include <pocketsphinx.h>
#include <sphinxbase/err.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

namespace kefu::voice {

namespace {

constexpr double kFramesPerSecond = 100;  // pocketsphinx's default -frate

bool Supported(const AsrOptions& options) {
  return options.language.empty() || options.language == "en" || options.language.starts_with("en-");
}

Status UnsupportedLanguage(const AsrOptions& options) {
  return InvalidArgument("pocketsphinx recognises English only (asked for '" + options.language +
                         "'); Chinese needs [asr] engine = \"openai\" (docs/voice.md)");
}

// pocketsphinx marks alternative pronunciations "word(2)"; fillers are <s>,
// </s>, <sil> and [NOISE]-style tokens.
bool IsFiller(const std::string& w) {
  return w.empty() || w.front() == '<' || w.front() == '[' || w == "++NOISE++";
}

std::string BaseWord(std::string w) {
  if (auto p = w.find('('); p != std::string::npos && p > 0 && w.back() == ')') w.resize(p);
  return w;
}

Transcript Collect(ps_decoder_t* ps) {
  Transcript t;
  t.language = "en";
  int32 score = 0;
  if (const char* hyp = ps_get_hyp(ps, &score)) t.text = hyp;
  logmath_t* lmath = ps_get_logmath(ps);
  for (ps_seg_t* seg = ps_seg_iter(ps); seg; seg = ps_seg_next(seg)) {
    std::string w = ps_seg_word(seg);
    if (IsFiller(w)) continue;
    int sf = 0, ef = 0;
    ps_seg_frames(seg, &sf, &ef);
    int32 ascr = 0, lscr = 0, lback = 0;
    const int32 post = ps_seg_prob(seg, &ascr, &lscr, &lback);
    WordTiming wt;
    wt.word = BaseWord(std::move(w));
    wt.start_s = sf / kFramesPerSecond;
    wt.end_s = (ef + 1) / kFramesPerSecond;
    wt.confidence = std::clamp(logmath_exp(lmath, post), 0.0, 1.0);
    t.words.push_back(std::move(wt));
  }
  return t;
}

}  // namespace

// One utterance on a leased decoder; returns it to the pool when destroyed.
class PocketsphinxAsr::Stream final : public AsrStream {
 public:
  // `counted`: a stream's decoder (PocketsphinxAsr::streams_), not Transcribe's.
  Stream(PocketsphinxAsr& owner, ps_decoder_t* ps, bool counted) : owner_(owner), ps_(ps), counted_(counted) {}
  ~Stream() override {
    if (started_) ps_end_utt(ps_);
    owner_.Release(ps_, counted_);
  }

  Status Start() {
    if (ps_start_utt(ps_) < 0) return Internal("pocketsphinx cannot start an utterance");
    started_ = true;
    return Status::Ok();
  }

  Status Feed(const Pcm& pcm) override { return Process(pcm, false); }

  // full_utt: `pcm` is the whole utterance (cepstral mean normalisation over
  // all of it, rather than the running estimate a live stream uses).
  Status Process(const Pcm& pcm, bool full_utt) {
    if (!started_) return FailedPrecondition("the utterance is finished");
    if (pcm.sample_rate != kAsrSampleRate) return InvalidArgument("pocketsphinx takes 16 kHz audio");
    seconds_ += pcm.seconds();
    if (seconds_ > owner_.settings_.max_seconds) {
      return PayloadTooLarge("utterance is longer than " +
                             std::to_string(static_cast<int>(owner_.settings_.max_seconds)) + " s");
    }
    if (pcm.samples.empty()) return Status::Ok();
    if (ps_process_raw(ps_, pcm.samples.data(), pcm.samples.size(), FALSE, full_utt ? TRUE : FALSE) < 0) {
      return Internal("pocketsphinx failed to process audio");
    }
    return Status::Ok();
  }

  std::string Partial() override {
    int32 score = 0;
    const char* hyp = started_ ? ps_get_hyp(ps_, &score) : nullptr;
    return hyp ? hyp : "";
  }

  Result<Transcript> Finish() override {
    if (!started_) return FailedPrecondition("the utterance is finished");
    started_ = false;
    if (ps_end_utt(ps_) < 0) return Internal("pocketsphinx failed to finish the utterance");
    return Collect(ps_);
  }

 private:
  PocketsphinxAsr& owner_;
  ps_decoder_t* ps_;
  const bool counted_;
  bool started_ = false;
  double seconds_ = 0;
};

namespace {
// The model's three parts under its directory.
struct ModelFiles {
  std::filesystem::path hmm, lm, dict;
  static ModelFiles In(const std::filesystem::path& dir) {
    return {dir / "en-us", dir / "en-us.lm.bin", dir / "cmudict-en-us.dict"};
  }
};
}  // namespace

Result<std::unique_ptr<PocketsphinxAsr>> PocketsphinxAsr::Create(const PocketsphinxSettings& settings) {
  if (settings.decoders < 1 || settings.decoders > 16) return InvalidArgument("asr.decoders must be 1..16");
  if (settings.max_seconds <= 0 || settings.max_seconds > 3600) return InvalidArgument("bad utterance limit");
  const ModelFiles files = ModelFiles::In(settings.model_dir);
  for (const auto& p : {files.hmm, files.lm, files.dict}) {
    if (!std::filesystem::exists(p)) {
      return NotFound("pocketsphinx model file " + p.string() + " is missing (apt install pocketsphinx-en-us)");
    }
  }
  static std::once_flag quiet;
  std::call_once(quiet, [] { err_set_logfp(nullptr); });  // pocketsphinx logs a lot on stderr
  return std::unique_ptr<PocketsphinxAsr>(new PocketsphinxAsr(settings));
}

Result<ps_decoder_t*> PocketsphinxAsr::Load() const {
  const ModelFiles files = ModelFiles::In(settings_.model_dir);
  cmd_ln_t* config = cmd_ln_init(nullptr, ps_args(), TRUE, "-hmm", files.hmm.c_str(), "-lm", files.lm.c_str(), "-dict",
                                 files.dict.c_str(), "-logfn", "/dev/null", nullptr);
  if (!config) return Internal("pocketsphinx rejected its configuration");
  ps_decoder_t* ps = ps_init(config);
  cmd_ln_free_r(config);  // the decoder holds its own reference
  if (!ps) return Internal("pocketsphinx cannot load the model in " + settings_.model_dir);
  return ps;
}

PocketsphinxAsr::~PocketsphinxAsr() {
  for (ps_decoder_t* ps : all_) ps_free(ps);
}

Result<ps_decoder_t*> PocketsphinxAsr::Acquire() {
  std::unique_lock lock(mu_);
  if (free_.empty() && static_cast<int>(all_.size()) + loading_ < settings_.decoders) return LoadOne(lock);
  if (!freed_.wait_for(lock, std::chrono::milliseconds(settings_.wait_ms), [&] {
        return !free_.empty() || static_cast<int>(all_.size()) + loading_ < settings_.decoders;
      })) {
    return Unavailable("every pocketsphinx decoder stayed busy for " + std::to_string(settings_.wait_ms) + " ms");
  }
  if (free_.empty()) {  // a load failed: try it here
    lock.unlock();
    return Acquire();
  }
  ps_decoder_t* ps = free_.back();
  free_.pop_back();
  return ps;
}

// Room for one more: load it outside the lock (others may take a freed one meanwhile).
Result<ps_decoder_t*> PocketsphinxAsr::LoadOne(std::unique_lock<std::mutex>& lock) {
  ++loading_;
  lock.unlock();
  Result<ps_decoder_t*> ps = Load();
  lock.lock();
  --loading_;
  if (ps.ok()) all_.push_back(*ps);
  else freed_.notify_one();  // a waiter may try loading in turn
  return ps;
}

Result<ps_decoder_t*> PocketsphinxAsr::AcquireNoWait() {
  std::unique_lock lock(mu_);
  if (streams_ + 1 >= settings_.decoders)
    return ResourceExhausted("the last pocketsphinx decoder is kept for whole utterances");
  ps_decoder_t* ps = nullptr;
  if (!free_.empty()) {
    ps = free_.back();
    free_.pop_back();
  } else if (static_cast<int>(all_.size()) + loading_ < settings_.decoders) {
    ++streams_;  // reserved while loading, so that two callers cannot both pass the check above
    Result<ps_decoder_t*> loaded = LoadOne(lock);
    --streams_;
    if (!loaded.ok()) return loaded.status();
    ps = *loaded;
  } else {
    return ResourceExhausted("every pocketsphinx decoder is busy");
  }
  ++streams_;
  return ps;
}

void PocketsphinxAsr::Release(ps_decoder_t* ps, bool stream) {
  {
    std::lock_guard lock(mu_);
    free_.push_back(ps);
    if (stream) --streams_;
  }
  freed_.notify_one();
}

Result<std::unique_ptr<AsrStream>> PocketsphinxAsr::StartStream(const AsrOptions& options) {
  if (!Supported(options)) return UnsupportedLanguage(options);
  ps_decoder_t* ps = nullptr;
  if (options.stream_may_wait) {
    KEFU_ASSIGN_OR_RETURN(ps, Acquire());
    std::lock_guard lock(mu_);
    ++streams_;
  } else {
    KEFU_ASSIGN_OR_RETURN(ps, AcquireNoWait());
  }
  auto stream = std::make_unique<Stream>(*this, ps, true);
  KEFU_RETURN_IF_ERROR(stream->Start());
  return std::unique_ptr<AsrStream>(std::move(stream));
}

Result<Transcript> PocketsphinxAsr::Transcribe(const Pcm& pcm, const AsrOptions& options) {
  if (pcm.sample_rate != kAsrSampleRate) return InvalidArgument("pocketsphinx takes 16 kHz audio");
  if (pcm.seconds() > settings_.max_seconds) {
    return PayloadTooLarge("utterance is longer than " + std::to_string(static_cast<int>(settings_.max_seconds)) +
                           " s");
  }
  if (!Supported(options)) return UnsupportedLanguage(options);
  KEFU_ASSIGN_OR_RETURN(ps_decoder_t * ps, Acquire());
  Stream stream(*this, ps, false);
  KEFU_RETURN_IF_ERROR(stream.Start());
  KEFU_RETURN_IF_ERROR(stream.Process(pcm, true));
  return stream.Finish();
}

}  // namespace kefu::voice
