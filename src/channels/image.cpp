#include "channels/image.h"

#include <magic.h>
#include <vips/vips.h>

#include <memory>
#include <mutex>

namespace kefu::channels {
namespace {

// libvips is initialised once per process. Only the four loaders below are
// ever called by name; "untrusted" operations (ImageMagick, PDF, ...) are
// blocked anyway; no operation cache (nothing of one customer's picture stays
// in memory); one thread per pipeline (the caller is already a worker).
bool InitVips() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] {
    ok = vips_init("kefu") == 0;
    if (!ok) return;
    vips_block_untrusted_set(TRUE);
    // libvips' own warnings ("not enough data", "error in tile") would go to
    // stderr; the failure itself comes back through vips_error_buffer.
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING, [](const gchar*, GLogLevelFlags, const gchar*, gpointer) {},
                      nullptr);
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_concurrency_set(1);
  });
  return ok;
}

struct Unref {
  void operator()(VipsImage* i) const {
    if (i) g_object_unref(i);
  }
};
using Img = std::unique_ptr<VipsImage, Unref>;

std::string VipsError() {
  const char* e = vips_error_buffer();
  std::string msg = e ? e : "";
  vips_error_clear();
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (msg.size() > 200) msg.resize(200);
  return msg;
}

Status Corrupt(const std::string& what) {
  return UploadFailure("image_corrupt", "the picture could not be read (" + what + ")");
}

// The types we decode, by libmagic's name.
enum class Kind { kJpeg, kPng, kWebp, kHeif, kOther };

Kind KindOf(const std::string& mime) {
  if (mime == "image/jpeg") return Kind::kJpeg;
  if (mime == "image/png") return Kind::kPng;
  if (mime == "image/webp") return Kind::kWebp;
  if (mime == "image/heic" || mime == "image/heif" || mime == "image/heic-sequence" || mime == "image/heif-sequence")
    return Kind::kHeif;
  return Kind::kOther;
}

// Opens the header only (libvips loads lazily): no pixel is decoded yet.
Result<Img> OpenHeader(std::string_view bytes, Kind kind) {
  void* buf = const_cast<char*>(bytes.data());
  VipsImage* out = nullptr;
  int rc = -1;
  switch (kind) {
    case Kind::kJpeg: rc = vips_jpegload_buffer(buf, bytes.size(), &out, "fail_on", VIPS_FAIL_ON_TRUNCATED, nullptr); break;
    case Kind::kPng: rc = vips_pngload_buffer(buf, bytes.size(), &out, "fail_on", VIPS_FAIL_ON_TRUNCATED, nullptr); break;
    case Kind::kWebp: rc = vips_webpload_buffer(buf, bytes.size(), &out, "fail_on", VIPS_FAIL_ON_TRUNCATED, nullptr); break;
    case Kind::kHeif: rc = vips_heifload_buffer(buf, bytes.size(), &out, "fail_on", VIPS_FAIL_ON_TRUNCATED, nullptr); break;
    case Kind::kOther: break;
  }
  if (rc != 0 || !out) {
    if (out) g_object_unref(out);
    return Corrupt(VipsError());
  }
  return Img(out);
}

// Sniffs, checks bytes and header dimensions, decodes fully into memory
// (upright). `sniffed` gets libmagic's type.
Result<Img> DecodeChecked(std::string_view bytes, const ImageLimits& limits, std::string& sniffed) {
  if (!InitVips()) return Internal("libvips failed to initialise");
  if (bytes.empty()) return UploadFailure("image_corrupt", "the picture is empty");
  if (static_cast<int64_t>(bytes.size()) > limits.max_bytes)
    return UploadFailure("image_too_large", "the picture is " + std::to_string(bytes.size()) +
                                                " bytes; at most " + std::to_string(limits.max_bytes) + " are accepted");
  sniffed = SniffMime(bytes);
  const Kind kind = KindOf(sniffed);
  if (kind == Kind::kOther)
    return UploadFailure("unsupported_media_type",
                         "pictures must be JPEG, PNG, WebP or HEIC; this is " + (sniffed.empty() ? "unknown" : sniffed));
  KEFU_ASSIGN_OR_RETURN(Img head, OpenHeader(bytes, kind));
  const int64_t w = vips_image_get_width(head.get()), h = vips_image_get_height(head.get());
  if (w <= 0 || h <= 0) return Corrupt("no size");
  if (w * h > limits.max_pixels)
    return UploadFailure("image_too_many_pixels", "the picture is " + std::to_string(w) + "×" + std::to_string(h) +
                                                      " pixels; at most " + std::to_string(limits.max_pixels) +
                                                      " pixels are accepted");
  VipsImage* up = nullptr;
  if (vips_autorot(head.get(), &up, nullptr) != 0) return Corrupt(VipsError());
  Img upright(up);
  // Decodes every pixel now: a truncated or corrupt file fails here.
  VipsImage* mem = vips_image_copy_memory(upright.get());
  if (!mem) return Corrupt(VipsError());
  return Img(mem);
}

// The picture without alpha (on white) in 8-bit sRGB or grey.
Result<Img> Flat(VipsImage* in) {
  Img cur;
  g_object_ref(in);
  cur.reset(in);
  if (vips_image_hasalpha(cur.get())) {
    VipsArrayDouble* white = vips_array_double_newv(1, 255.0);
    VipsImage* f = nullptr;
    int rc = vips_flatten(cur.get(), &f, "background", white, nullptr);
    vips_area_unref(VIPS_AREA(white));
    if (rc != 0) return Corrupt(VipsError());
    cur.reset(f);
  }
  if (vips_image_get_format(cur.get()) != VIPS_FORMAT_UCHAR) {
    VipsImage* c = nullptr;
    if (vips_cast_uchar(cur.get(), &c, nullptr) != 0) return Corrupt(VipsError());
    cur.reset(c);
  }
  return cur;
}

Result<GrayImage> ToGray(VipsImage* in) {
  KEFU_ASSIGN_OR_RETURN(Img flat, Flat(in));
  VipsImage* g = nullptr;
  if (vips_colourspace(flat.get(), &g, VIPS_INTERPRETATION_B_W, nullptr) != 0) return Corrupt(VipsError());
  Img grey(g);
  if (vips_image_get_bands(grey.get()) != 1) {
    VipsImage* b = nullptr;
    if (vips_extract_band(grey.get(), &b, 0, nullptr) != 0) return Corrupt(VipsError());
    grey.reset(b);
  }
  if (vips_image_get_format(grey.get()) != VIPS_FORMAT_UCHAR) {
    VipsImage* c = nullptr;
    if (vips_cast_uchar(grey.get(), &c, nullptr) != 0) return Corrupt(VipsError());
    grey.reset(c);
  }
  size_t size = 0;
  void* px = vips_image_write_to_memory(grey.get(), &size);
  if (!px) return Corrupt(VipsError());
  GrayImage out;
  out.width = vips_image_get_width(grey.get());
  out.height = vips_image_get_height(grey.get());
  out.pixels.assign(static_cast<const char*>(px), size);
  g_free(px);
  if (out.pixels.size() != size_t(out.width) * size_t(out.height)) return Corrupt("unexpected grey layout");
  return out;
}

Result<std::string> SaveBuffer(VipsImage* in, std::string_view mime) {
  void* buf = nullptr;
  size_t len = 0;
  int rc;
  if (mime == "image/png") {
    rc = vips_pngsave_buffer(in, &buf, &len, "strip", TRUE, nullptr);
  } else if (mime == "image/webp") {
    rc = vips_webpsave_buffer(in, &buf, &len, "strip", TRUE, "Q", 90, nullptr);
  } else {
    rc = vips_jpegsave_buffer(in, &buf, &len, "strip", TRUE, "Q", 90, nullptr);
  }
  if (rc != 0) return Corrupt(VipsError());
  std::string out(static_cast<const char*>(buf), len);
  g_free(buf);
  return out;
}

}  // namespace

std::string SniffMime(std::string_view bytes) {
  // One libmagic handle per thread (magic_t is not thread-safe; loading
  // the database costs a few milliseconds once).
  struct Handle {
    magic_t m = nullptr;
    Handle() {
      m = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_TAR |
                     MAGIC_NO_CHECK_ELF);
      if (m && magic_load(m, nullptr) != 0) {
        magic_close(m);
        m = nullptr;
      }
    }
    ~Handle() {
      if (m) magic_close(m);
    }
  };
  thread_local Handle h;
  if (!h.m || bytes.empty()) return "";
  const char* t = magic_buffer(h.m, bytes.data(), bytes.size());
  return t ? std::string(t) : std::string();
}

Result<CleanImage> ProcessImage(std::string_view bytes, const ImageLimits& limits) {
  CleanImage out;
  KEFU_ASSIGN_OR_RETURN(Img img, DecodeChecked(bytes, limits, out.sniffed));
  const Kind kind = KindOf(out.sniffed);
  // PNG and WebP keep their format (screenshots stay lossless); JPEG stays
  // JPEG; HEIC becomes JPEG (browsers do not show HEIC).
  out.mime = kind == Kind::kPng ? "image/png" : kind == Kind::kWebp ? "image/webp" : "image/jpeg";
  Img enc;
  if (out.mime == "image/jpeg") {
    KEFU_ASSIGN_OR_RETURN(enc, Flat(img.get()));
  } else {
    g_object_ref(img.get());
    enc.reset(img.get());
  }
  KEFU_ASSIGN_OR_RETURN(out.bytes, SaveBuffer(enc.get(), out.mime));
  out.width = vips_image_get_width(img.get());
  out.height = vips_image_get_height(img.get());
  if (limits.thumbnail_px > 0) {
    VipsImage* t = nullptr;
    if (vips_thumbnail_image(img.get(), &t, limits.thumbnail_px, "height", limits.thumbnail_px, "size",
                             VIPS_SIZE_DOWN, nullptr) != 0)
      return Corrupt(VipsError());
    Img thumb(t);
    KEFU_ASSIGN_OR_RETURN(Img flat, Flat(thumb.get()));
    KEFU_ASSIGN_OR_RETURN(out.thumbnail, SaveBuffer(flat.get(), "image/jpeg"));
  }
  KEFU_ASSIGN_OR_RETURN(out.gray, ToGray(img.get()));
  return out;
}

Result<GrayImage> DecodeGray(std::string_view bytes, const ImageLimits& limits) {
  std::string sniffed;
  KEFU_ASSIGN_OR_RETURN(Img img, DecodeChecked(bytes, limits, sniffed));
  return ToGray(img.get());
}

Status UploadFailure(std::string_view code, std::string_view message) {
  const ErrorCode ec = code == "image_too_large" || code == "image_too_many_pixels" ? ErrorCode::kPayloadTooLarge
                                                                                   : ErrorCode::kInvalidArgument;
  return Status(ec, std::string(code) + ": " + std::string(message));
}

UploadError UploadErrorOf(const Status& s) {
  static const char* kCodes[][2] = {{"image_too_large", "413"},       {"image_too_many_pixels", "413"},
                                    {"unsupported_media_type", "415"}, {"image_corrupt", "400"},
                                    {"invalid_content", "400"},        {"too_many_images", "413"}};
  for (const auto& c : kCodes) {
    const std::string prefix = std::string(c[0]) + ": ";
    if (s.message().rfind(prefix, 0) == 0) return {std::stoi(c[1]), c[0], s.message().substr(prefix.size())};
  }
  switch (s.code()) {
    case ErrorCode::kInvalidArgument: return {400, "invalid_argument", s.message()};
    case ErrorCode::kPayloadTooLarge: return {413, "payload_too_large", s.message()};
    case ErrorCode::kUnavailable: return {503, "unavailable", s.message()};
    default: return {500, "internal", s.message()};
  }
}

}  // namespace kefu::channels
