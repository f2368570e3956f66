// Pictures made in tests with libvips: plain canvases, rendered text (fonts-
// noto-cjk), an EAN-13 barcode, and pictures with EXIF GPS data.
#pragma once

#include <string>

namespace kefu::channels::testing {

// A w×h picture with a grey gradient, encoded as ".png", ".jpg" or ".webp".
std::string Canvas(int w, int h, const std::string& suffix);
// `text` (UTF-8, may hold Chinese) in black on white, `pt` points at 300 dpi
// in Noto Sans CJK SC, encoded as ".png" or ".jpg"; `margin` pixels around.
std::string TextPicture(const std::string& text, const std::string& suffix, int pt = 10, int margin = 40);
// An EAN-13 barcode of the 13 digits `digits` (check digit included), as PNG.
std::string Ean13Picture(const std::string& digits);
// A JPEG carrying EXIF with a GPS position (and camera make "KefuCam").
std::string JpegWithGps();
// True when the JPEG/PNG/WebP bytes carry any EXIF block with GPS data.
bool HasGps(const std::string& bytes);

}  // namespace kefu::channels::testing
