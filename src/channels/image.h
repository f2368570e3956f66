// Pictures at the edge: everything a customer's upload goes through before
// anything else sees it. The declared type is never trusted: the bytes are
// sniffed (libmagic) and only JPEG, PNG, WebP and HEIC/HEIF are decoded, each
// by its own libvips loader (never libvips' generic or ImageMagick loaders).
// The size in bytes is checked first, the pixel count from the header next —
// a decompression bomb (a small file declaring a huge canvas) is refused
// before a single pixel is decoded —, then the picture is decoded in full
// (truncated or corrupt files fail here), turned upright (EXIF orientation)
// and re-encoded without any metadata (EXIF with GPS position, XMP, IPTC,
// ICC), HEIC as JPEG; a JPEG thumbnail and a grey copy for OCR come with it.
//
// Failures are values whose message starts with a stable error code
// (UploadError splits it): image_too_large (413), image_too_many_pixels (413),
// unsupported_media_type (415), image_corrupt (400).
//
// Thread-safe; CPU-bound (tens of milliseconds for a phone screenshot): call
// on a worker thread, never an I/O thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace kefu::channels {

struct ImageLimits {
  int64_t max_bytes = 8 << 20;
  int64_t max_pixels = 40'000'000;
  int thumbnail_px = 320;  // longest side of the thumbnail; 0 = none
};

// A 8-bit grey picture (one byte per pixel, rows of `width` bytes).
struct GrayImage {
  int width = 0;
  int height = 0;
  std::string pixels;
};

struct CleanImage {
  std::string bytes;      // re-encoded, metadata stripped
  std::string mime;       // image/jpeg | image/png | image/webp
  int width = 0;
  int height = 0;
  std::string thumbnail;  // JPEG, "" when none
  GrayImage gray;         // for OCR and code scanning (upright)
  std::string sniffed;    // what libmagic said the upload was
};

// libmagic's MIME type of `bytes` ("image/png", "text/plain", ...).
std::string SniffMime(std::string_view bytes);

// Validates and cleans one uploaded picture (above).
Result<CleanImage> ProcessImage(std::string_view bytes, const ImageLimits& limits);

// Decodes any picture ProcessImage accepts to grey pixels without the
// checks' re-encoding (kefu ocr FILE); same limits.
Result<GrayImage> DecodeGray(std::string_view bytes, const ImageLimits& limits);

// A failure of ProcessImage (or of parsing an upload) as the API answers it.
struct UploadError {
  int http_status = 400;
  std::string code;     // image_corrupt, unsupported_media_type, ...
  std::string message;
};
// Splits "<code>: <message>"; other statuses map by their ErrorCode.
UploadError UploadErrorOf(const Status& s);

// The Status for an upload problem with its code (image_corrupt, ...).
Status UploadFailure(std::string_view code, std::string_view message);

}  // namespace kefu::channels
