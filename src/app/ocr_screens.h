// Generated screenshots with known text for `kefu eval ocr` and the picture
// benchmark (bench/picture_bench.cpp): what customers send a shop — an order
// page, a courier's waybill page, an error dialog — in Chinese and English,
// rendered with libvips/pango in Noto Sans CJK SC (fonts-noto-cjk) at a chosen
// text size, on a light, dark, coloured or noisy page, optionally turned by a
// small angle and saved as PNG or as a JPEG of a chosen quality.
//
// Everything is a pure function of its arguments and the seed (own PRNG
// arithmetic, no std distributions, whose results differ between standard
// libraries): the same seed gives the same documents and the same bytes on
// the same libvips/pango/fonts. They are generated pictures, not phone photos:
// crisp, upright up to the given angle, with one font family.
//
// Thread-safe (libvips is initialised once); CPU work of tens of milliseconds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace kefu::app {

enum class ScreenKind { kOrderZh, kOrderEn, kWaybillZh, kWaybillEn, kErrorZh, kErrorEn };
inline constexpr ScreenKind kAllScreenKinds[] = {ScreenKind::kOrderZh,   ScreenKind::kOrderEn, ScreenKind::kWaybillZh,
                                                 ScreenKind::kWaybillEn, ScreenKind::kErrorZh, ScreenKind::kErrorEn};
const char* ScreenKindName(ScreenKind k);  // "order_zh", ...

// The words of one screenshot. `lines[0]` is the page title (drawn in the
// header bar); `key` is the one token a reply depends on: the order number,
// the waybill number or the error code, exactly as it appears in `lines`.
struct ScreenDoc {
  ScreenKind kind = ScreenKind::kOrderZh;
  std::string language;  // "zh" | "en"
  std::vector<std::string> lines;
  std::string key;
  std::string key_kind;  // "order_id" | "waybill" | "error_code"

  // The lines joined with '\n': the reference text of the picture.
  std::string Text() const;
};

// A document of `kind` with seeded contents: order numbers in the demo shop's
// format (SO + yyyymmdd + 4 digits), waybills of Chinese couriers (SF…,
// JDVA…, YT…, 7…, EMS), names, masked and full phone numbers, addresses,
// products, prices, dates, statuses, error codes.
ScreenDoc MakeScreenDoc(ScreenKind kind, uint64_t seed);

// The demo shop's order page of `order_id` (status and item as given): the
// screenshot a customer of the demo sends (bench/picture_bench.cpp).
ScreenDoc OrderPage(const std::string& order_id, const std::string& status, const std::string& item,
                    const std::string& price);

enum class Page { kLight, kDark, kColoured, kNoisy };
const char* PageName(Page p);

struct ScreenLook {
  int text_px = 24;          // body text size in pixels (title 1.25×)
  Page page = Page::kLight;
  int jpeg_quality = 0;      // 0 = PNG (lossless), else JPEG at this quality (1–100)
  double angle_deg = 0;      // turned counter-clockwise by this much (background fills the corners)
  double noise_sigma = 14;   // Page::kNoisy only: Gaussian noise per pixel (0–255 scale)
};

// The picture of `doc` as it would be uploaded (PNG or JPEG bytes). `seed`
// picks the palette variant and the noise. Fails only when libvips or pango
// cannot render (e.g. no fonts).
Result<std::string> RenderScreen(const ScreenDoc& doc, const ScreenLook& look, uint64_t seed);

}  // namespace kefu::app
