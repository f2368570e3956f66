#include "app/voice_eval.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "app/voice_cli.h"
#include "nlu/datasets.h"
#include "voice/error_rate.h"

namespace kefu::app {

namespace fs = std::filesystem;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

namespace {

double SecondsSince(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

// Realistic English customer-service requests for the TTS → ASR round trip.
const std::vector<std::string> kRoundTripSentences = {
    "Where is my parcel?",
    "I would like a refund for my order.",
    "Can I change my delivery address?",
    "My order number is four five six seven.",
    "The package arrived damaged.",
    "I want to cancel my order.",
    "How long does shipping take?",
    "Can I speak to a human agent?",
    "I was charged twice for the same order.",
    "Please send me a new invoice.",
    "When will my refund arrive?",
    "The tracking number does not work.",
    "I need to return these shoes.",
    "Do you ship to Canada?",
    "My password reset email never came.",
};

// Replies as the bot writes them, for the time to first audio.
const std::vector<std::pair<std::string, std::string>> kReplies = {
    {"en", "Thanks for waiting. Your parcel left our warehouse yesterday. It should arrive on Friday."},
    {"en",
     "I am sorry the package arrived damaged. I have started a refund of twenty nine dollars. You will see it "
     "within five days."},
    {"zh", "您好！您的订单已经发货。预计明天下午送达。"},
    {"zh", "非常抱歉给您带来不便。退款已经提交，三到五个工作日到账。还有什么可以帮您？"},
};

struct Item {
  std::string id, wav, language, reference;
};

// Tab-separated with a header naming the columns: wenet_test uses
// file/language/transcript, SpeechColab ID/AUDIO/DURATION/TEXT.
Result<std::vector<Item>> ReadMetadata(const fs::path& tsv, const std::string& default_language) {
  std::ifstream in(tsv);
  if (!in) return NotFound("cannot read " + tsv.string());
  std::string line;
  std::getline(in, line);
  auto split = [](const std::string& l) {
    std::vector<std::string> cols;
    std::stringstream ss(l);
    std::string c;
    while (std::getline(ss, c, '\t')) cols.push_back(c);
    return cols;
  };
  const auto header = split(line);
  auto col = [&](std::initializer_list<const char*> names) {
    for (size_t i = 0; i < header.size(); ++i) {
      for (const char* n : names) {
        if (header[i] == n) return static_cast<int>(i);
      }
    }
    return -1;
  };
  const int file = col({"file", "AUDIO"}), text = col({"transcript", "TEXT"}), lang = col({"language"}),
            id = col({"ID"});
  if (file < 0 || text < 0) return InvalidArgument(tsv.string() + ": no file/AUDIO and transcript/TEXT columns");
  std::vector<Item> items;
  while (std::getline(in, line) && items.size() < 10'000) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto cols = split(line);
    if (static_cast<int>(cols.size()) <= std::max(file, text)) continue;
    Item it;
    it.wav = (tsv.parent_path() / cols[file]).string();
    it.id = id >= 0 ? cols[id] : fs::path(cols[file]).stem().string();
    it.language = lang >= 0 && static_cast<int>(cols.size()) > lang ? cols[lang] : default_language;
    it.reference = cols[text];
    items.push_back(std::move(it));
  }
  return items;
}

std::vector<std::string> Tokens(const std::string& text, const std::string& language) {
  return language == "zh" ? voice::CerTokens(text) : voice::EnglishWords(text);
}

std::string Join(const std::vector<std::string>& tokens) {
  std::string s;
  for (const auto& t : tokens) s += (s.empty() ? "" : " ") + t;
  return s;
}

json Counts(const voice::EditCounts& c) {
  return {{"reference_tokens", c.reference},
          {"substitutions", c.substitutions},
          {"deletions", c.deletions},
          {"insertions", c.insertions},
          {"errors", c.errors()},
          {"rate", c.rate()}};
}

struct SetResult {
  voice::EditCounts counts;
  double audio_s = 0, asr_s = 0;
  double finish_s = 0;  // streamed: from the last chunk to the transcript, summed
  json utterances = json::array();
  std::vector<std::string> ref_trn, hyp_trn;
};

// Transcribes each (audio, reference) pair; fills `r`. The first engine
// error stops the set.
Status Score(voice::Asr& asr, voice::Asr& streamed, const std::string& language, const std::string& id,
             const voice::Pcm& pcm, const std::string& reference, SetResult& r) {
  voice::AsrOptions o;
  o.language = language;
  const auto t0 = SteadyClock::now();
  auto t = voice::TranscribeAnyRate(asr, pcm, o);
  const double s = SecondsSince(t0);
  if (!t.ok()) return Status(t.status().code(), id + ": " + t.status().message());
  const auto ref = Tokens(reference, language), hyp = Tokens(t->text, language);
  const voice::EditCounts c = voice::Align(ref, hyp);
  // The same audio streamed in 100 ms chunks, as a live client sends it: what
  // a customer waits for is the time from their last chunk to the transcript.
  KEFU_ASSIGN_OR_RETURN(auto at16k, voice::Resample(pcm, voice::kAsrSampleRate));
  // On a second engine: pocketsphinx adapts to what it heard, so streaming
  // on the first would change the whole-utterance figures that follow.
  KEFU_ASSIGN_OR_RETURN(auto stream, streamed.StartStream(o));
  const size_t chunk = voice::kAsrSampleRate / 10;
  for (size_t at = 0; at < at16k.samples.size(); at += chunk) {
    voice::Pcm part;
    part.samples.assign(at16k.samples.begin() + at, at16k.samples.begin() + std::min(at16k.samples.size(), at + chunk));
    KEFU_RETURN_IF_ERROR(stream->Feed(part));
  }
  const auto f0 = SteadyClock::now();
  KEFU_RETURN_IF_ERROR(stream->Finish().status());
  r.finish_s += SecondsSince(f0);
  r.counts += c;
  r.audio_s += pcm.seconds();
  r.asr_s += s;
  r.utterances.push_back({{"id", id},
                          {"reference", reference},
                          {"hypothesis", t->text},
                          {"errors", c.errors()},
                          {"tokens", c.reference},
                          {"audio_s", pcm.seconds()},
                          {"asr_s", s}});
  // sclite's trn format: tokens, then the utterance id in parentheses.
  r.ref_trn.push_back(Join(ref) + " (" + id + ")");
  r.hyp_trn.push_back(Join(hyp) + " (" + id + ")");
  return Status::Ok();
}

json SetJson(const std::string& name, const std::string& language, const std::string& source, const SetResult& r) {
  return {{"set", name},
          {"language", language},
          {"metric", language == "zh" ? "CER" : "WER"},
          {"source", source},
          {"utterances", r.utterances.size()},
          {"counts", Counts(r.counts)},
          {"audio_s", r.audio_s},
          {"asr_s", r.asr_s},
          {"asr_rtf", r.audio_s > 0 ? r.asr_s / r.audio_s : 0.0},
          {"stream_finish_ms_mean", r.utterances.empty() ? 0.0 : 1000 * r.finish_s / r.utterances.size()},
          {"items", r.utterances}};
}

void WriteTrn(const std::string& dir, const std::string& name, const SetResult& r) {
  if (dir.empty()) return;
  fs::create_directories(dir);
  std::ofstream ref(fs::path(dir) / (name + ".ref.trn")), hyp(fs::path(dir) / (name + ".hyp.trn"));
  for (const auto& l : r.ref_trn) ref << l << "\n";
  for (const auto& l : r.hyp_trn) hyp << l << "\n";
}

json Machine() {
  json m = {{"hardware_threads", std::thread::hardware_concurrency()}};
  std::ifstream cpu("/proc/cpuinfo");
  for (std::string line; std::getline(cpu, line);) {
    if (line.rfind("model name", 0) == 0) {
      m["cpu"] = line.substr(line.find(':') + 2);
      break;
    }
  }
  double load[3];
  if (getloadavg(load, 3) == 3) m["load_average_1m_at_start"] = load[0];
  return m;
}

}  // namespace

Result<json> RunVoiceEval(const Config& config, const VoiceEvalOptions& options) {
  const std::string data = options.data_dir.empty() ? nlu::FindDataDir() : options.data_dir;
  json report = {{"machine", Machine()}, {"asr_engine", config.asr.engine}, {"tts_engine", config.tts.engine}};
  KEFU_ASSIGN_OR_RETURN(auto asr, MakeAsr(config.asr));
  KEFU_ASSIGN_OR_RETURN(auto streamed, MakeAsr(config.asr));
  const bool chinese_asr = config.asr.engine == "openai";
  json sets = json::array(), skipped = json::array();

  // Recorded speech.
  const fs::path speech = data.empty() ? fs::path() : fs::path(data) / "speech";
  struct Source {
    std::string name;
    fs::path tsv;
    std::string language;  // default when the file has no language column
  };
  const std::vector<Source> sources = {
      {"wenet_test", speech / "wenet_test" / "metadata.tsv", ""},
      {"speechcolab_MINI_EN", speech / "speechcolab_mini" / "MINI_EN" / "metadata.tsv", "en"},
      {"speechcolab_MINI_ZH", speech / "speechcolab_mini" / "MINI_ZH" / "metadata.tsv", "zh"}};
  if (data.empty() || !fs::exists(speech)) {
    skipped.push_back(
        {{"set", "recorded speech"}, {"reason", "../shared/data/speech not found (set KEFU_DATA or --data)"}});
  }
  for (const auto& src : sources) {
    if (data.empty() || !fs::exists(src.tsv)) continue;
    KEFU_ASSIGN_OR_RETURN(auto items, ReadMetadata(src.tsv, src.language));
    for (const std::string language : {"en", "zh"}) {
      std::vector<Item> mine;
      for (const auto& it : items) {
        if (it.language == language) mine.push_back(it);
      }
      if (mine.empty()) continue;
      const std::string name = src.name + (src.language.empty() ? "_" + language : "");
      if (language == "zh" && !chinese_asr) {
        skipped.push_back({{"set", name},
                           {"utterances", mine.size()},
                           {"reason", "no embedded Chinese ASR: CER needs [asr] engine = \"openai\" (docs/voice.md)"}});
        continue;
      }
      SetResult r;
      for (const auto& it : mine) {
        voice::AudioLimits limits;
        limits.max_seconds = config.asr.max_seconds;
        KEFU_ASSIGN_OR_RETURN(auto pcm, voice::ReadWavFile(it.wav, limits));
        KEFU_RETURN_IF_ERROR(Score(*asr, *streamed, language, it.id, pcm, it.reference, r));
      }
      WriteTrn(options.trn_dir, name, r);
      sets.push_back(SetJson(name, language, src.tsv.string(), r));
    }
  }

  // TTS: time to first audio of whole replies, sentence by sentence.
  auto tts = MakeTts(config.tts);
  json replies = json::array();
  if (tts.ok()) {
    for (const auto& [language, text] : kReplies) {
      voice::TtsOptions o;
      o.language = language;
      const auto t0 = SteadyClock::now();
      double first = -1, audio_s = 0;
      size_t n = 0;
      KEFU_RETURN_IF_ERROR(voice::SpeakSentences(**tts, text, o, [&](size_t, const std::string&, voice::Pcm&& a) {
        if (first < 0) first = SecondsSince(t0);
        audio_s += a.seconds();
        ++n;
        return true;
      }));
      const double all = SecondsSince(t0);
      replies.push_back({{"language", language},
                         {"text", text},
                         {"sentences", n},
                         {"first_audio_ms", first * 1000},
                         {"all_audio_ms", all * 1000},
                         {"audio_s", audio_s},
                         {"tts_rtf", audio_s > 0 ? all / audio_s : 0.0}});
    }
  } else {
    skipped.push_back({{"set", "tts"}, {"reason", tts.status().message()}});
  }

  // Round trip: the [tts] engine speaks, the [asr] engine listens (English).
  json round_trips = json::array();
  if (options.round_trip && tts.ok()) {
    std::vector<std::string> voices = {config.tts.voice};  // "" = the engine's default
    if (config.tts.engine == "espeak") {
      if (voices[0].empty()) voices[0] = "en";
      if (voices[0] != "en-us+klatt2") voices.push_back("en-us+klatt2");
    }
    for (const auto& v : voices) {
      SetResult r;
      voice::TtsOptions o;
      o.language = "en";
      o.voice = v;
      double tts_s = 0;
      for (size_t i = 0; i < kRoundTripSentences.size(); ++i) {
        const auto t0 = SteadyClock::now();
        KEFU_ASSIGN_OR_RETURN(auto pcm, (*tts)->Synthesize(kRoundTripSentences[i], o));
        tts_s += SecondsSince(t0);
        KEFU_RETURN_IF_ERROR(
            Score(*asr, *streamed, "en", "rt" + std::to_string(i + 1), pcm, kRoundTripSentences[i], r));
      }
      const std::string name = "roundtrip_" + config.tts.engine + "_" + (v.empty() ? "default" : v);
      std::string safe = name;
      for (auto& c : safe) {
        if (c == '+') c = '_';
      }
      WriteTrn(options.trn_dir, safe, r);
      json s =
          SetJson(name, "en",
                  "kefu eval voice: " + std::to_string(kRoundTripSentences.size()) + " customer-service sentences, " +
                      config.tts.engine + " voice " + (v.empty() ? "default" : v),
                  r);
      s["tts_s"] = tts_s;
      round_trips.push_back(std::move(s));
    }
  }
  report["recorded"] = sets;
  report["round_trip"] = round_trips;
  report["tts_replies"] = replies;
  report["skipped"] = skipped;
  return report;
}

std::string VoiceEvalMarkdown(const json& r) {
  std::ostringstream md;
  char buf[512];
  md << "# kefu eval voice\n\n";
  const json& m = r["machine"];
  md << "ASR engine: `" << r["asr_engine"].get<std::string>() << "`, TTS engine: `"
     << r["tts_engine"].get<std::string>() << "`. Machine: " << m.value("cpu", std::string("?")) << ", "
     << m.value("hardware_threads", 0) << " hardware threads, load average " << m.value("load_average_1m_at_start", 0.0)
     << " at start (shared; timings are noisy).\n\n";
  auto table = [&](const char* title, const json& sets) {
    if (sets.empty()) return;
    md << "## " << title
       << "\n\n| set | metric | utterances | tokens | S | D | I | error rate | audio s | ASR s | RTF | streamed: "
          "last chunk → text, ms |\n"
       << "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& s : sets) {
      const json& c = s["counts"];
      std::snprintf(
          buf, sizeof buf, "| %s | %s | %zu | %d | %d | %d | %d | **%.1f %%** | %.1f | %.1f | %.2f | %.0f |\n",
          s["set"].get<std::string>().c_str(), s["metric"].get<std::string>().c_str(), s["utterances"].get<size_t>(),
          c["reference_tokens"].get<int>(), c["substitutions"].get<int>(), c["deletions"].get<int>(),
          c["insertions"].get<int>(), 100 * c["rate"].get<double>(), s["audio_s"].get<double>(),
          s["asr_s"].get<double>(), s["asr_rtf"].get<double>(), s["stream_finish_ms_mean"].get<double>());
      md << buf;
    }
    md << "\n";
    for (const auto& s : sets) {
      md << "<details><summary>" << s["set"].get<std::string>() << ": each utterance</summary>\n\n";
      for (const auto& u : s["items"]) {
        md << "- `" << u["id"].get<std::string>() << "` (" << u["errors"].get<int>() << "/" << u["tokens"].get<int>()
           << ") ref: " << u["reference"].get<std::string>() << "  \n  hyp: " << u["hypothesis"].get<std::string>()
           << "\n";
      }
      md << "\n</details>\n\n";
    }
  };
  table("Recorded speech (../shared/data/speech)", r["recorded"]);
  table("Round trip: TTS → ASR (English customer-service sentences)", r["round_trip"]);
  if (!r["tts_replies"].empty()) {
    md << "## TTS latency (sentence by sentence)\n\n| language | sentences | first audio ms | all audio ms | audio s | "
          "synthesis RTF |\n|---|---:|---:|---:|---:|---:|\n";
    for (const auto& x : r["tts_replies"]) {
      std::snprintf(buf, sizeof buf, "| %s | %zu | %.1f | %.1f | %.1f | %.4f |\n",
                    x["language"].get<std::string>().c_str(), x["sentences"].get<size_t>(),
                    x["first_audio_ms"].get<double>(), x["all_audio_ms"].get<double>(), x["audio_s"].get<double>(),
                    x["tts_rtf"].get<double>());
      md << buf;
    }
    md << "\n";
  }
  if (!r["skipped"].empty()) {
    md << "## Not measured\n\n";
    for (const auto& s : r["skipped"]) {
      md << "- " << s["set"].get<std::string>() << ": " << s["reason"].get<std::string>() << "\n";
    }
    md << "\n";
  }
  return md.str();
}

void RegisterVoiceEval(CLI::App& eval, std::function<Result<Config>()> load_config) {
  struct Args {
    VoiceEvalOptions options;
    std::string json_out = "voice_report.json", md_out = "voice_report.md", config;
    bool no_round_trip = false;
  };
  auto a = std::make_shared<Args>();
  auto* v = eval.add_subcommand("voice",
                                "WER/CER of the [asr] engine on ../shared/data/speech, a TTS → ASR round trip on "
                                "customer-service sentences, ASR real-time factor and TTS time to first audio "
                                "(JSON + Markdown)");
  v->add_option("--data", a->options.data_dir, "dataset directory (default $KEFU_DATA or ../shared/data)");
  v->add_option("--config", a->config, "configuration whose [asr]/[tts] to evaluate (default: the embedded engines)");
  v->add_option("--json", a->json_out, "JSON report path");
  v->add_option("--md", a->md_out, "Markdown report path");
  v->add_option("--trn-dir", a->options.trn_dir, "also write sclite reference/hypothesis .trn files here");
  v->add_flag("--no-round-trip", a->no_round_trip, "skip the TTS → ASR round trip");
  v->callback([a, load_config] {
    auto config = a->config.empty() ? load_config() : Config::Load(a->config);
    if (!config.ok()) {
      std::fprintf(stderr, "kefu: invalid configuration: %s\n", config.status().message().c_str());
      std::exit(2);
    }
    a->options.round_trip = !a->no_round_trip;
    auto r = RunVoiceEval(*config, a->options);
    if (!r.ok()) {
      std::fprintf(stderr, "kefu eval voice: %s\n", r.status().ToString().c_str());
      std::exit(1);
    }
    const std::string md = VoiceEvalMarkdown(*r);
    std::ofstream(a->json_out) << r->dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    std::ofstream(a->md_out) << md;
    std::cout << md;
    std::exit(0);
  });
}

}  // namespace kefu::app
