#include "app/ocr_eval.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "app/ocr_screens.h"
#include "channels/blob_store.h"
#include "channels/intake.h"
#include "channels/reader.h"
#include "common/metrics.h"
#include "common/utf8.h"

namespace kefu::app {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

char32_t Fold(char32_t c) {
  if (c >= 0xFF01 && c <= 0xFF5E) return c - 0xFF01 + 0x21;  // full-width ASCII forms
  if (c == 0x3000) return U' ';
  if (c == 0xFFE5) return 0xA5;  // ￥ → ¥
  return c;
}

bool IsSpace(char32_t c) { return c == U' ' || c == U'\t' || c == U'\n' || c == U'\r' || c == 0xA0 || c == 0x3000; }
bool IsAlnum(char32_t c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

struct Condition {
  std::string name, description;
  ScreenLook look;
  std::string group;  // "clean" (light page, PNG, upright, 16–40 px) or what differs from it
};

std::vector<Condition> Conditions() {
  auto look = [](int px, Page page = Page::kLight, int q = 0, double angle = 0) {
    ScreenLook l;
    l.text_px = px;
    l.page = page;
    l.jpeg_quality = q;
    l.angle_deg = angle;
    return l;
  };
  return {
      {"clean_16", "light page, PNG, upright, 16 px text", look(16), "clean"},
      {"clean_20", "light page, PNG, upright, 20 px text", look(20), "clean"},
      {"clean_28", "light page, PNG, upright, 28 px text", look(28), "clean"},
      {"clean_40", "light page, PNG, upright, 40 px text (a 3× phone screenshot)", look(40), "clean"},
      {"small_12", "light page, PNG, upright, 12 px text (a shrunk screenshot)", look(12), "size"},
      {"dark", "dark mode page, PNG, 24 px", look(24, Page::kDark), "page"},
      {"coloured", "pastel page under a saturated header bar, PNG, 24 px", look(24, Page::kColoured), "page"},
      {"noisy", "light page with Gaussian noise (σ 14), PNG, 24 px", look(24, Page::kNoisy), "page"},
      {"jpeg_q75", "light page, JPEG quality 75, 24 px", look(24, Page::kLight, 75), "jpeg"},
      {"jpeg_q40", "light page, JPEG quality 40, 24 px", look(24, Page::kLight, 40), "jpeg"},
      {"rotated_+2.5", "light page turned 2.5°, PNG, 24 px", look(24, Page::kLight, 0, 2.5), "rotation"},
      {"rotated_-3", "light page turned −3°, JPEG quality 75, 24 px", look(24, Page::kLight, 75, -3.0), "rotation"},
  };
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  // Nearest rank: the smallest value with at least p of the values at or below it.
  const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

json Counts(const voice::EditCounts& c) {
  return {{"reference_chars", c.reference},
          {"substitutions", c.substitutions},
          {"deletions", c.deletions},
          {"insertions", c.insertions},
          {"errors", c.errors()},
          {"cer", c.rate()}};
}

struct Tally {
  voice::EditCounts counts;
  int pictures = 0, keys = 0, keys_exact = 0;
  std::vector<double> read_ms, intake_ms;

  void Add(const voice::EditCounts& c, bool key_exact, double read, double intake) {
    counts += c;
    ++pictures;
    ++keys;
    keys_exact += key_exact ? 1 : 0;
    read_ms.push_back(read);
    intake_ms.push_back(intake);
  }
  json Json() const {
    return {{"pictures", pictures},
            {"counts", Counts(counts)},
            {"key_exact", keys_exact},
            {"keys", keys},
            {"key_exact_rate", keys ? double(keys_exact) / keys : 0.0},
            {"ocr_ms_p50", Percentile(read_ms, 0.5)},
            {"ocr_ms_p95", Percentile(read_ms, 0.95)},
            {"intake_ms_p50", Percentile(intake_ms, 0.5)},
            {"intake_ms_p95", Percentile(intake_ms, 0.95)}};
  }
};

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

std::vector<std::string> OcrCharacters(std::string_view text) {
  std::vector<std::string> out;
  const std::string clean = utf8::IsValid(text) ? std::string(text) : utf8::Sanitize(text);
  for (char32_t c : utf8::Decode(clean)) {
    c = Fold(c);
    if (IsSpace(c)) continue;
    std::string s;
    utf8::Append(s, c);
    out.push_back(std::move(s));
  }
  return out;
}

voice::EditCounts OcrCer(std::string_view reference, std::string_view hypothesis) {
  return voice::Align(OcrCharacters(reference), OcrCharacters(hypothesis));
}

bool HasExactToken(std::string_view text, std::string_view token) {
  if (token.empty()) return false;
  std::string folded;
  for (char32_t c : utf8::Decode(utf8::IsValid(text) ? std::string(text) : utf8::Sanitize(text)))
    utf8::Append(folded, Fold(c));
  for (size_t at = folded.find(token); at != std::string::npos; at = folded.find(token, at + 1)) {
    const bool before = at > 0 && IsAlnum(static_cast<unsigned char>(folded[at - 1]));
    const size_t end = at + token.size();
    const bool after = end < folded.size() && IsAlnum(static_cast<unsigned char>(folded[end]));
    if (!before && !after) return true;
  }
  return false;
}

std::vector<std::string> OcrConditionNames() {
  std::vector<std::string> names;
  for (const auto& c : Conditions()) names.push_back(c.name);
  return names;
}

Result<json> RunOcrEval(const Config& config, const OcrEvalOptions& options) {
  if (options.per_kind < 1 || options.per_kind > 100) return InvalidArgument("--per-kind must be 1–100");
  const auto& cc = config.channels;
  if (cc.ocr != "tesseract") return InvalidArgument("[channels] ocr is \"" + cc.ocr + "\": nothing to evaluate");
  std::vector<Condition> conditions;
  for (const auto& c : Conditions()) {
    if (options.only.empty() || std::find(options.only.begin(), options.only.end(), c.name) != options.only.end())
      conditions.push_back(c);
  }
  if (conditions.empty()) return InvalidArgument("--only names no condition (see kefu eval ocr --help)");

  channels::TesseractSettings ts;
  ts.languages = cc.ocr_languages;
  ts.tessdata_dir = cc.tessdata_dir;
  ts.preload = true;  // the first picture's latency is not the model loading
  KEFU_ASSIGN_OR_RETURN(auto ocr, channels::TesseractOcr::Create(ts));
  std::unique_ptr<channels::CodeScanner> codes;
  if (cc.barcodes) codes = std::make_unique<channels::ZbarScanner>();
  channels::MemoryBlobStore blobs;
  metrics::Registry registry;
  channels::IntakeSettings is;
  is.limits.max_bytes = cc.max_image_bytes;
  is.limits.max_pixels = cc.max_image_pixels;
  is.limits.thumbnail_px = cc.thumbnail_px;
  channels::PictureIntake intake(blobs, ocr.get(), codes.get(), registry, is);

  if (!options.save_dir.empty()) fs::create_directories(options.save_dir);
  json report = {{"machine", Machine()},
                 {"ocr_languages", cc.ocr_languages},
                 {"seed", options.seed},
                 {"per_kind", options.per_kind},
                 {"what",
                  "generated screenshots (libvips/pango, Noto Sans CJK SC) of order pages, waybill pages and error "
                  "dialogs in Chinese and English; not photos of phone screens"}};
  Tally overall, clean;
  std::map<std::string, Tally> by_kind;
  json out_conditions = json::array();
  for (const auto& cond : conditions) {
    Tally t;
    json items = json::array();
    for (ScreenKind kind : kAllScreenKinds) {
      for (int i = 0; i < options.per_kind; ++i) {
        // The same documents in every condition: only the look differs.
        const uint64_t doc_seed = options.seed * 1000 + static_cast<uint64_t>(i);
        const ScreenDoc doc = MakeScreenDoc(kind, doc_seed);
        KEFU_ASSIGN_OR_RETURN(std::string bytes, RenderScreen(doc, cond.look, doc_seed));
        const std::string id = cond.name + "/" + ScreenKindName(kind) + "_" + std::to_string(i);
        const auto t0 = std::chrono::steady_clock::now();
        auto taken = intake.Take("eval", "c_eval", {{bytes, "", ""}});
        const double intake_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (!taken.ok()) return Status(taken.status().code(), id + ": " + taken.status().message());
        std::string hyp;
        for (const auto& p : taken->parts) {
          if (p.kind == dialogue::PartKind::kTranscript && p.source == "ocr") hyp = p.text;
        }
        for (const auto& a : taken->attachments) {  // keep the store small
          (void)blobs.Delete("eval", a.blob_key);
          if (!a.thumb_key.empty()) (void)blobs.Delete("eval", a.thumb_key);
        }
        const std::string ref = doc.Text();
        const voice::EditCounts c = OcrCer(ref, hyp);
        const bool key = HasExactToken(hyp, doc.key);
        const double read_ms = taken->read_seconds * 1000;
        t.Add(c, key, read_ms, intake_ms);
        overall.Add(c, key, read_ms, intake_ms);
        by_kind[ScreenKindName(kind)].Add(c, key, read_ms, intake_ms);
        if (cond.group == "clean") clean.Add(c, key, read_ms, intake_ms);
        items.push_back({{"id", id},
                         {"kind", ScreenKindName(kind)},
                         {"key", doc.key},
                         {"key_kind", doc.key_kind},
                         {"key_exact", key},
                         {"errors", c.errors()},
                         {"chars", c.reference},
                         {"cer", c.rate()},
                         {"ocr_ms", read_ms},
                         {"bytes", bytes.size()},
                         {"reference", ref},
                         {"hypothesis", hyp}});
        if (!options.save_dir.empty()) {
          std::string file = id;
          std::replace(file.begin(), file.end(), '/', '_');
          const fs::path base = fs::path(options.save_dir) / file;
          std::ofstream(base.string() + (cond.look.jpeg_quality > 0 ? ".jpg" : ".png"), std::ios::binary) << bytes;
          std::ofstream(base.string() + ".txt") << ref << "\n";
        }
      }
    }
    json cj = t.Json();
    cj["condition"] = cond.name;
    cj["description"] = cond.description;
    cj["group"] = cond.group;
    cj["text_px"] = cond.look.text_px;
    cj["items"] = std::move(items);
    out_conditions.push_back(std::move(cj));
  }
  report["conditions"] = std::move(out_conditions);
  report["overall"] = overall.Json();
  if (clean.pictures > 0) report["clean"] = clean.Json();
  json kinds = json::object();
  for (const auto& [k, t] : by_kind) kinds[k] = t.Json();
  report["by_kind"] = std::move(kinds);
  return report;
}

std::string OcrEvalMarkdown(const json& r) {
  std::ostringstream md;
  char buf[512];
  md << "# kefu eval ocr\n\n";
  const json& m = r["machine"];
  md << "OCR: tesseract `" << r["ocr_languages"].get<std::string>() << "` through the server's picture intake "
     << "(sniff, decode, clean, OCR, codes). Seed " << r["seed"].get<uint64_t>() << ", "
     << r["per_kind"].get<int>() << " document(s) of each of 6 kinds per condition, the same documents in every "
     << "condition. " << r["what"].get<std::string>() << ". Machine: " << m.value("cpu", std::string("?")) << ", "
     << m.value("hardware_threads", 0) << " hardware threads, load average " << m.value("load_average_1m_at_start", 0.0)
     << " at start (shared; timings are noisy).\n\n";
  auto row = [&](const std::string& name, const std::string& what, const json& t) {
    const json& c = t["counts"];
    std::snprintf(buf, sizeof buf, "| %s | %s | %d | %d | %d | %d | %d | **%.2f %%** | %d/%d | %.0f | %.0f |\n",
                  name.c_str(), what.c_str(), t["pictures"].get<int>(), c["reference_chars"].get<int>(),
                  c["substitutions"].get<int>(), c["deletions"].get<int>(), c["insertions"].get<int>(),
                  100 * c["cer"].get<double>(), t["key_exact"].get<int>(), t["keys"].get<int>(),
                  t["ocr_ms_p50"].get<double>(), t["ocr_ms_p95"].get<double>());
    md << buf;
  };
  const char* head =
      "| condition | what | pictures | chars | S | D | I | CER | key token exact | OCR ms p50 | OCR ms p95 |\n"
      "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  md << "## Per condition\n\n" << head;
  for (const auto& c : r["conditions"]) row(c["condition"], c["description"], c);
  if (r.contains("clean")) row("**clean** (all clean_*)", "light page, PNG, upright, 16–40 px", r["clean"]);
  row("**overall**", "every condition", r["overall"]);
  md << "\nCER: character edits (substitutions S, deletions D, insertions I) over the reference's characters, white "
        "space not counted, full-width forms folded. Key token: the order number, waybill number or error code "
        "read exactly (same case, no space inside, not run into other letters or digits). OCR ms: OCR and code "
        "scanning of one picture (the intake's read time); the whole intake (decode, clean, thumbnail, read) took "
        "p50 "
     << static_cast<int>(r["overall"]["intake_ms_p50"].get<double>()) << " ms, p95 "
     << static_cast<int>(r["overall"]["intake_ms_p95"].get<double>()) << " ms.\n\n";
  md << "## Per kind of screenshot (all conditions)\n\n" << head;
  for (const auto& [k, t] : r["by_kind"].items()) row(k, "", t);
  md << "\n";
  for (const auto& c : r["conditions"]) {
    int wrong = 0;
    for (const auto& it : c["items"]) wrong += it["errors"].get<int>() > 0 || !it["key_exact"].get<bool>();
    md << "<details><summary>" << c["condition"].get<std::string>() << ": " << wrong
       << " picture(s) with errors</summary>\n\n";
    for (const auto& it : c["items"]) {
      if (it["errors"].get<int>() == 0 && it["key_exact"].get<bool>()) continue;
      std::string hyp = it["hypothesis"].get<std::string>(), ref = it["reference"].get<std::string>();
      std::replace(hyp.begin(), hyp.end(), '\n', '|');
      std::replace(ref.begin(), ref.end(), '\n', '|');
      md << "- `" << it["id"].get<std::string>() << "` (" << it["errors"].get<int>() << "/" << it["chars"].get<int>()
         << ", key " << it["key"].get<std::string>() << (it["key_exact"].get<bool>() ? " read" : " **missed**")
         << ")  \n  ref: " << ref << "  \n  hyp: " << hyp << "\n";
    }
    md << "\n</details>\n\n";
  }
  return md.str();
}

void RegisterOcrEval(CLI::App& eval, std::function<Result<Config>()> load_config) {
  struct Args {
    OcrEvalOptions options;
    std::string json_out = "ocr_report.json", md_out = "ocr_report.md", config;
  };
  auto a = std::make_shared<Args>();
  auto* o = eval.add_subcommand("ocr",
                                "CER and key-token accuracy of the picture OCR on generated screenshots (order "
                                "pages, waybills, error dialogs; sizes, pages, JPEG, rotation), OCR latency "
                                "p50/p95 (JSON + Markdown)");
  o->add_option("--config", a->config, "configuration whose [channels] OCR to evaluate (default: the defaults)");
  o->add_option("--seed", a->options.seed, "seed of the generated documents (default 17)");
  o->add_option("--per-kind", a->options.per_kind, "documents of each of the 6 kinds per condition (default 2)")
      ->check(CLI::Range(1, 100));
  std::string names;
  for (const auto& n : OcrConditionNames()) names += (names.empty() ? "" : " ") + n;
  o->add_option("--only", a->options.only, "conditions to run: " + names)->delimiter(',');
  o->add_option("--save", a->options.save_dir, "also write every picture and its reference text to this folder");
  o->add_option("--json", a->json_out, "JSON report path");
  o->add_option("--md", a->md_out, "Markdown report path");
  o->callback([a, load_config] {
    auto config = a->config.empty() ? load_config() : Config::Load(a->config);
    if (!config.ok()) {
      std::fprintf(stderr, "kefu: invalid configuration: %s\n", config.status().message().c_str());
      std::exit(2);
    }
    auto r = RunOcrEval(*config, a->options);
    if (!r.ok()) {
      std::fprintf(stderr, "kefu eval ocr: %s\n", r.status().ToString().c_str());
      std::exit(1);
    }
    const std::string md = OcrEvalMarkdown(*r);
    std::ofstream(a->json_out) << r->dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    std::ofstream(a->md_out) << md;
    std::cout << md;
    std::exit(0);
  });
}

}  // namespace kefu::app
