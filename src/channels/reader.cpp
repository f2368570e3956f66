#include "channels/reader.h"

#include <leptonica/allheaders.h>
#include <omp.h>
#include <tesseract/baseapi.h>
#include <zbar.h>

#include <algorithm>
#include <array>
#include <cmath>
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

namespace {

struct PixFree {
  void operator()(PIX* p) const { pixDestroy(&p); }
};
using PixPtr = std::unique_ptr<PIX, PixFree>;
struct BoxaFree {
  void operator()(BOXA* b) const { boxaDestroy(&b); }
};

PixPtr ToPix(const GrayImage& g) {
  PixPtr pix(pixCreate(g.width, g.height, 8));
  if (!pix) return nullptr;
  l_uint32* data = pixGetData(pix.get());
  const int wpl = pixGetWpl(pix.get());
  for (int y = 0; y < g.height; ++y) {
    l_uint32* line = data + size_t(y) * wpl;
    const auto* row = reinterpret_cast<const uint8_t*>(g.pixels.data()) + size_t(y) * g.width;
    for (int x = 0; x < g.width; ++x) l_setDataByte(line, x, row[x]);
  }
  return pix;
}

GrayImage FromPix(PIX* pix) {
  GrayImage g;
  g.width = pixGetWidth(pix);
  g.height = pixGetHeight(pix);
  g.pixels.resize(size_t(g.width) * g.height);
  const l_uint32* data = pixGetData(pix);
  const int wpl = pixGetWpl(pix);
  for (int y = 0; y < g.height; ++y) {
    const l_uint32* line = data + size_t(y) * wpl;
    for (int x = 0; x < g.width; ++x)
      g.pixels[size_t(y) * g.width + x] = static_cast<char>(l_getDataByte(const_cast<l_uint32*>(line), x));
  }
  return g;
}

// Otsu's threshold of a 256-bin histogram.
int Otsu(const std::array<int64_t, 256>& hist) {
  int64_t total = 0;
  double sum = 0;
  for (int i = 0; i < 256; ++i) total += hist[i], sum += double(i) * hist[i];
  double sum_b = 0, best = -1;
  int64_t w_b = 0;
  int threshold = 128;
  for (int t = 0; t < 256; ++t) {
    w_b += hist[t];
    if (w_b == 0) continue;
    const int64_t w_f = total - w_b;
    if (w_f == 0) break;
    sum_b += double(t) * hist[t];
    const double m_b = sum_b / w_b, m_f = (sum - sum_b) / w_f;
    const double between = double(w_b) * double(w_f) * (m_b - m_f) * (m_b - m_f);
    if (between > best) best = between, threshold = t;
  }
  return threshold;
}

bool IdChar(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-'; }

// A run of letters, digits and '-' that reads like an order, waybill or
// phone number: at least 8 characters, at least 6 of them digits.
bool IdLike(std::string_view run) {
  if (run.size() < 8 || run.size() > 40) return false;
  int digits = 0;
  for (char c : run) {
    if (!IdChar(c)) return false;
    digits += c >= '0' && c <= '9';
  }
  return digits >= 6;
}

// The first reading's id-like runs of letters, digits and '-' (a run never
// spans two words), each as read and as corrected (DropGhostSymbols).
std::vector<std::pair<std::string, std::string>> IdRunFixes(tesseract::TessBaseAPI& api) {
  std::vector<std::pair<std::string, std::string>> fixes;
  std::unique_ptr<tesseract::ResultIterator> it(api.GetIterator());
  if (!it) return fixes;
  std::vector<OcrSymbol> run;
  auto close = [&] {
    std::string text;
    for (const auto& s : run) text += s.c;
    if (IdLike(text)) {
      std::string fixed = DropGhostSymbols(run);
      if (fixed != text && IdLike(fixed)) fixes.emplace_back(std::move(text), std::move(fixed));
    }
    run.clear();
  };
  constexpr auto kSym = tesseract::RIL_SYMBOL;
  do {
    if (it->IsAtBeginningOf(tesseract::RIL_WORD)) close();
    std::unique_ptr<char[]> sym(it->GetUTF8Text(kSym));
    const std::string_view text = sym ? std::string_view(sym.get()) : std::string_view();
    int l, t, r, b;
    if (text.size() == 1 && IdChar(text[0]) && it->BoundingBox(kSym, &l, &t, &r, &b)) {
      run.push_back({text[0], l, r, it->Confidence(kSym)});
    } else {
      close();
    }
  } while (it->Next(kSym));
  close();
  return fixes;
}

}  // namespace

std::string DropGhostSymbols(const std::vector<OcrSymbol>& run) {
  std::string out;
  if (run.size() < 3) {
    for (const auto& s : run) out += s.c;
    return out;
  }
  std::vector<int> widths;
  for (const auto& s : run) widths.push_back(s.right - s.left);
  std::nth_element(widths.begin(), widths.begin() + widths.size() / 2, widths.end());
  const int median = widths[widths.size() / 2];
  for (size_t i = 0; i < run.size(); ++i) {
    const OcrSymbol& s = run[i];
    const int w = s.right - s.left;
    int overlap = 0;
    if (i > 0) overlap += std::max(0, run[i - 1].right - s.left);
    if (i + 1 < run.size()) overlap += std::max(0, s.right - run[i + 1].left);
    bool least = true;
    for (size_t j = 0; j < run.size(); ++j) least = least && (j == i || run[j].confidence > s.confidence);
    const bool ghost = w > 0 && w * 10 < median * 7 && overlap * 2 > w && least;
    if (!ghost) out += s.c;
  }
  return out;
}

GrayImage PrepareForOcr(const GrayImage& image, OcrPreparation* how) {
  OcrPreparation info;
  GrayImage out = image;
  if (image.width <= 0 || image.height <= 0 || image.pixels.size() != size_t(image.width) * size_t(image.height)) {
    if (how) *how = info;
    return out;
  }
  // The page's colour is the commonest grey (16-level bins): a dark page is
  // dark mode, whose light text is turned dark on light.
  std::array<int64_t, 256> hist{};
  for (char c : image.pixels) ++hist[static_cast<uint8_t>(c)];
  std::array<int64_t, 16> bins{};
  for (int i = 0; i < 256; ++i) bins[i / 16] += hist[i];
  const int page = int(std::max_element(bins.begin(), bins.end()) - bins.begin()) * 16 + 8;
  if (page < 100) {
    info.inverted = true;
    for (char& c : out.pixels) c = static_cast<char>(255 - static_cast<uint8_t>(c));
    std::reverse(hist.begin(), hist.end());
  }
  // The text's height: the median height of the ink's connected components
  // that look like characters or their parts (not rules, bars or specks).
  PixPtr pix = ToPix(out);
  if (!pix) {
    if (how) *how = info;
    return out;
  }
  const int threshold = Otsu(hist);
  PixPtr bin(pixThresholdToBinary(pix.get(), threshold));
  std::vector<int> heights;
  if (bin) {
    std::unique_ptr<BOXA, BoxaFree> boxes(pixConnCompBB(bin.get(), 8));
    const int n = boxes ? boxaGetCount(boxes.get()) : 0;
    for (int i = 0; i < n; ++i) {
      l_int32 x, y, w, h;
      if (boxaGetBoxGeometry(boxes.get(), i, &x, &y, &w, &h) != 0) continue;
      if (h < 3 || h * 10 > image.height * 9 || w > 3 * h + 2) continue;  // specks, borders, rules, bars
      heights.push_back(h);
    }
  }
  // A page turned by a few degrees (a photo, a tilted crop) is turned back:
  // tesseract's lines are straight.
  if (bin) {
    l_float32 angle = 0, confidence = 0;
    if (pixFindSkew(bin.get(), &angle, &confidence) == 0 && confidence >= 1.5f && std::abs(angle) >= 0.4f) {
      // Given the size, leptonica enlarges the page to keep its corners.
      PixPtr turned(pixRotate(pix.get(), angle * 3.14159265f / 180, L_ROTATE_AREA_MAP, L_BRING_IN_WHITE,
                              pixGetWidth(pix.get()), pixGetHeight(pix.get())));
      if (turned && pixGetDepth(turned.get()) == 8) {
        pix = std::move(turned);
        out = FromPix(pix.get());
        info.deskew_deg = angle;
      }
    }
  }
  if (heights.size() >= 5) {
    // The 80th percentile: whole characters (digits, letters, most Chinese
    // characters are one component at small sizes) rather than the dots and
    // radicals a large Chinese character falls apart into.
    const size_t at = heights.size() * 4 / 5;
    std::nth_element(heights.begin(), heights.begin() + at, heights.end());
    info.text_height = heights[at];
    double scale = std::clamp(double(kOcrTextHeight) / info.text_height, 0.5, 4.0);
    const double pixels = double(pixGetWidth(pix.get())) * pixGetHeight(pix.get());
    scale = std::min(scale, std::sqrt(double(kOcrMaxPixels) / pixels));
    // Only small text (about 20 px or smaller) gains from enlarging, and only
    // very large text from shrinking: on kefu eval ocr's pictures, enlarging
    // all 20-px text read it worse (CER 0.87 % → 1.75 %), 16-px text far
    // better (4.31 % → 1.80 %). A huge page with small text (the pixel cap
    // leaves no room to enlarge it) is left as it is, never shrunk.
    const bool small = info.text_height < kOcrSmallText && scale > 1.05;
    if (small || info.text_height > 2 * kOcrTextHeight) {
      // Linear interpolation (no sharpening), area averaging to shrink by
      // more than 0.7 (leptonica's own rule).
      const auto f = static_cast<l_float32>(scale);
      PixPtr scaled(scale >= 0.7 ? pixScaleGrayLI(pix.get(), f, f) : pixScaleAreaMap(pix.get(), f, f));
      if (scaled && pixGetDepth(scaled.get()) == 8) {
        out = FromPix(scaled.get());
        info.scale = scale;
      }
    }
  }
  if (how) *how = info;
  return out;
}

Result<std::string> TesseractOcr::Recognize(const GrayImage& original) {
  if (original.width <= 0 || original.height <= 0 ||
      original.pixels.size() != size_t(original.width) * size_t(original.height))
    return InvalidArgument("ocr: bad grey image");
  // Debian's libtesseract is built with OpenMP and runs several threads per
  // text line; next to the server's own workers (and other processes) on the
  // same cores they mostly wait on each other: a picture took 6× longer on a
  // busy 2-core machine. One thread per picture: OpenMP regions on this
  // thread run inactive.
  omp_set_max_active_levels(0);
  const GrayImage image = PrepareForOcr(original);
  KEFU_ASSIGN_OR_RETURN(auto a, Take());
  a->api.SetImage(reinterpret_cast<const unsigned char*>(image.pixels.data()), image.width, image.height, 1,
                  image.width);
  a->api.SetSourceResolution(300);
  char* text = a->api.GetUTF8Text();
  std::string raw = text ? text : "";
  delete[] text;
  // Order and waybill numbers are what a reply needs exactly: ghosts out.
  size_t from = 0;
  for (const auto& [read, fixed] : IdRunFixes(a->api)) {
    const size_t at = raw.find(read, from);
    if (at == std::string::npos) continue;
    raw.replace(at, read.size(), fixed);
    from = at + fixed.size();
  }
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
