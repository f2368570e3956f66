#include "channels/reader.h"

#include <tesseract/baseapi.h>
#include <zbar.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "common/utf8.h"

namespace kefu::channels {

struct TesseractOcr::Api {
  tesseract::TessBaseAPI api;
};

TesseractOcr::TesseractOcr(TesseractSettings s) : settings_(std::move(s)) {}

Result<std::unique_ptr<TesseractOcr>> TesseractOcr::Create(TesseractSettings settings) {
  if (settings.tessdata_dir.empty()) {
    const char* env = std::getenv("TESSDATA_PREFIX");
    settings.tessdata_dir = env && *env ? env : "/usr/share/tesseract-ocr/5/tessdata";
  }
  std::string langs = settings.languages;
  if (langs.empty()) return InvalidArgument("channels.ocr_languages must not be empty");
  size_t start = 0;
  while (start <= langs.size()) {
    size_t end = langs.find('+', start);
    if (end == std::string::npos) end = langs.size();
    const std::string lang = langs.substr(start, end - start);
    std::error_code ec;
    if (lang.empty() || !std::filesystem::exists(settings.tessdata_dir + "/" + lang + ".traineddata", ec))
      return InvalidArgument("channels.ocr_languages: no " + settings.tessdata_dir + "/" + lang +
                             ".traineddata (Debian: apt install tesseract-ocr-" +
                             (lang == "chi_sim" ? std::string("chi-sim") : lang) + ", scripts/deps.sh)");
    start = end + 1;
  }
  const bool preload = settings.preload;
  std::unique_ptr<TesseractOcr> ocr(new TesseractOcr(std::move(settings)));
  if (preload) {
    KEFU_ASSIGN_OR_RETURN(auto api, ocr->Take());
    ocr->Give(std::move(api));
  }
  return ocr;
}

TesseractOcr::~TesseractOcr() {
  std::lock_guard lock(mu_);
  for (auto& a : idle_) a->api.End();
}

Result<std::unique_ptr<TesseractOcr::Api>> TesseractOcr::Take() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto a = std::move(idle_.back());
      idle_.pop_back();
      return a;
    }
  }
  auto a = std::make_unique<Api>();
  const char* dir = settings_.tessdata_dir.empty() ? nullptr : settings_.tessdata_dir.c_str();
  if (a->api.Init(dir, settings_.languages.c_str(), tesseract::OEM_LSTM_ONLY) != 0)
    return Unavailable("tesseract cannot load languages '" + settings_.languages +
                       "' (install tesseract-ocr-chi-sim and tesseract-ocr-eng, or set channels.tessdata_dir)");
  a->api.SetVariable("debug_file", "/dev/null");
  a->api.SetPageSegMode(tesseract::PSM_AUTO);
  return a;
}

void TesseractOcr::Give(std::unique_ptr<Api> api) {
  api->api.Clear();
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(api));
}

Result<std::string> TesseractOcr::Recognize(const GrayImage& image) {
  if (image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != size_t(image.width) * size_t(image.height))
    return InvalidArgument("ocr: bad grey image");
  KEFU_ASSIGN_OR_RETURN(auto a, Take());
  a->api.SetImage(reinterpret_cast<const unsigned char*>(image.pixels.data()), image.width, image.height, 1,
                  image.width);
  a->api.SetSourceResolution(300);
  char* text = a->api.GetUTF8Text();
  std::string raw = text ? text : "";
  delete[] text;
  Give(std::move(a));
  return NormalizeOcrText(raw);
}

Result<std::vector<Code>> ZbarScanner::Scan(const GrayImage& image) {
  if (image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != size_t(image.width) * size_t(image.height))
    return InvalidArgument("zbar: bad grey image");
  zbar::ImageScanner scanner;
  scanner.set_config(zbar::ZBAR_NONE, zbar::ZBAR_CFG_ENABLE, 1);
  zbar::Image zimg(static_cast<unsigned>(image.width), static_cast<unsigned>(image.height), "Y800",
                   image.pixels.data(), image.pixels.size());
  std::vector<Code> out;
  if (scanner.scan(zimg) < 0) return out;
  for (auto s = zimg.symbol_begin(); s != zimg.symbol_end(); ++s) {
    Code c{s->get_type_name(), s->get_data()};
    if (!c.data.empty() && utf8::IsValid(c.data)) out.push_back(std::move(c));
  }
  zimg.set_data(nullptr, 0);  // the pixels are ours
  return out;
}

namespace {

// CJK ideographs, CJK punctuation and full-width forms: no spaces between them.
bool IsCjk(char32_t c) {
  return (c >= 0x3000 && c <= 0x303F) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFF00 && c <= 0xFFEF);
}

std::string NormalizeLine(std::string_view line) {
  const std::string clean = utf8::Sanitize(line);
  std::vector<char32_t> u = utf8::Decode(clean);
  std::vector<char32_t> out;
  for (size_t i = 0; i < u.size(); ++i) {
    char32_t c = u[i];
    if (c == U' ' || c == U'\t') {
      // Spaces between two CJK characters (or a CJK one and a digit/Latin
      // letter tesseract split off) are an artefact of chi_sim.
      size_t j = i;
      while (j < u.size() && (u[j] == U' ' || u[j] == U'\t')) ++j;
      const bool cjk_before = !out.empty() && IsCjk(out.back());
      const bool cjk_after = j < u.size() && IsCjk(u[j]);
      if (!out.empty() && j < u.size() && !(cjk_before || cjk_after)) out.push_back(U' ');
      i = j - 1;
      continue;
    }
    out.push_back(c);
  }
  std::string s;
  for (char32_t c : out) utf8::Append(s, c);
  return std::string(utf8::Trim(s));
}

}  // namespace

std::string NormalizeOcrText(std::string_view raw) {
  std::string result;
  size_t start = 0;
  while (start <= raw.size()) {
    size_t end = raw.find('\n', start);
    if (end == std::string_view::npos) end = raw.size();
    std::string line = NormalizeLine(raw.substr(start, end - start));
    if (!line.empty()) {
      if (!result.empty()) result += '\n';
      result += line;
    }
    start = end + 1;
  }
  return result;
}

}  // namespace kefu::channels
