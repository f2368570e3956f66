// What a picture says: the seams that read text out of pixels.
//   OcrEngine    — printed text (embedded default: tesseract chi_sim+eng from
//                  Debian, TesseractOcr); FakeOcr for tests.
//   CodeScanner  — QR codes and barcodes (zbar, ZbarScanner); FakeCodeScanner.
// Both take an upright grey picture (image.h, GrayImage) and are CPU-bound
// (tesseract: a few hundred milliseconds for a phone screenshot on one core):
// call them on worker threads. Implementations are thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "channels/image.h"
#include "common/status.h"

namespace kefu::channels {

class OcrEngine {
 public:
  virtual ~OcrEngine() = default;
  // The text in the picture, lines separated by '\n' ("" when none).
  virtual Result<std::string> Recognize(const GrayImage& image) = 0;
};

struct Code {
  std::string symbology;  // "QR-Code", "EAN-13", "CODE-128", ...
  std::string data;
};

class CodeScanner {
 public:
  virtual ~CodeScanner() = default;
  virtual Result<std::vector<Code>> Scan(const GrayImage& image) = 0;
};

struct TesseractSettings {
  std::string languages = "chi_sim+eng";
  std::string tessdata_dir;  // "" = $TESSDATA_PREFIX, else Debian's /usr/share/tesseract-ocr/5/tessdata
  // Load the models in Create (else on the first picture: a server that
  // never sees one never pays the ~0.5 s and the memory).
  bool preload = false;
};

// Keeps initialised tesseract instances in a pool (one per concurrent call;
// loading chi_sim takes about half a second), each used by one thread at a time.
class TesseractOcr final : public OcrEngine {
 public:
  // Fails when a language's <lang>.traineddata is missing (or, with
  // preload, cannot be loaded): a wrong setting stops start-up.
  static Result<std::unique_ptr<TesseractOcr>> Create(TesseractSettings settings);
  ~TesseractOcr() override;
  Result<std::string> Recognize(const GrayImage& image) override;

 private:
  struct Api;
  explicit TesseractOcr(TesseractSettings s);
  Result<std::unique_ptr<Api>> Take();
  void Give(std::unique_ptr<Api> api);
  TesseractSettings settings_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Api>> idle_;  // GUARDED_BY(mu_)
};

class ZbarScanner final : public CodeScanner {
 public:
  Result<std::vector<Code>> Scan(const GrayImage& image) override;
};

// Test doubles: return what they were given, count calls.
class FakeOcr final : public OcrEngine {
 public:
  explicit FakeOcr(std::string text = "") : text_(std::move(text)) {}
  Result<std::string> Recognize(const GrayImage&) override {
    ++calls;
    if (!fail.ok()) return fail;
    return text_;
  }
  int calls = 0;
  Status fail;

 private:
  std::string text_;
};

class FakeCodeScanner final : public CodeScanner {
 public:
  explicit FakeCodeScanner(std::vector<Code> codes = {}) : codes_(std::move(codes)) {}
  Result<std::vector<Code>> Scan(const GrayImage&) override { return codes_; }

 private:
  std::vector<Code> codes_;
};

// How TesseractOcr prepares a grey picture before reading it (public for
// tests and kefu eval ocr). Tesseract's LSTM reads characters best about
// 30–36 pixels high; screenshots arrive with anything from 10-pixel text (a
// shrunk screenshot) to 45 (a 3× phone screen), and in dark mode.
struct OcrPreparation {
  bool inverted = false;  // light text on a dark page (dark mode), turned dark on light
  int text_height = 0;    // characters' height: 80th percentile of the ink's components, px (0 = no ink)
  double deskew_deg = 0;  // the page was turned back by this much (0 = upright enough)
  double scale = 1;       // the resampling applied
};
// The picture dark-on-light, turned upright when a few degrees off, and
// small text (characters under kOcrSmallText px) or very large text (over
// 2 × kOcrTextHeight) resampled so that its characters are about
// kOcrTextHeight pixels high (by at most 4× up or 2× down, and to at most
// kOcrMaxPixels). A character's height is the 80th percentile of the heights
// of the ink's connected components. `how` (optional) says what was done.
inline constexpr int kOcrTextHeight = 30;
inline constexpr int kOcrSmallText = 16;
inline constexpr int64_t kOcrMaxPixels = 16'000'000;
GrayImage PrepareForOcr(const GrayImage& image, OcrPreparation* how = nullptr);

// One character of an id-like run (letters, digits, '-') as tesseract read
// it: its box's left and right edge and its confidence (0–100).
struct OcrSymbol {
  char c = 0;
  int left = 0, right = 0;
  float confidence = 0;
};
// The run without the characters read twice: the LSTM sometimes emits two
// characters for one glyph (the O of "SO2026…" as "O0" at small sizes), the
// second squeezed into its neighbours' boxes. A symbol is such a ghost when
// it is narrower than 70 % of the run's median symbol, overlaps its
// neighbours by more than half its width, and has the run's lowest
// confidence. TesseractOcr applies it to runs of at least 8 characters with
// at least 6 digits (order, waybill and phone numbers).
std::string DropGhostSymbols(const std::vector<OcrSymbol>& run);

// Tidies OCR output: drops the spaces tesseract puts between Chinese
// characters, trims lines, drops empty ones.
std::string NormalizeOcrText(std::string_view raw);

}  // namespace kefu::channels
