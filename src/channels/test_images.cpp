#include "channels/test_images.h"

#include <libexif/exif-data.h>
#include <vips/vips.h>

#include <cstring>
#include <stdexcept>

namespace kefu::channels::testing {
namespace {

std::string Save(VipsImage* img, const std::string& suffix) {
  void* buf = nullptr;
  size_t len = 0;
  int rc = vips_image_write_to_buffer(img, suffix.c_str(), &buf, &len, nullptr);
  g_object_unref(img);
  if (rc != 0) throw std::runtime_error(std::string("vips save: ") + vips_error_buffer());
  std::string out(static_cast<const char*>(buf), len);
  g_free(buf);
  return out;
}

void Init() {
  static bool done = [] { return vips_init("kefu-test") == 0; }();
  (void)done;
}

}  // namespace

std::string Canvas(int w, int h, const std::string& suffix) {
  Init();
  VipsImage* g = nullptr;
  if (vips_grey(&g, w, h, nullptr) != 0) throw std::runtime_error("vips_grey");
  VipsImage* u = nullptr;
  vips_linear1(g, &u, 255.0, 0.0, "uchar", TRUE, nullptr);
  g_object_unref(g);
  return Save(u, suffix);
}

std::string TextPicture(const std::string& text, const std::string& suffix, int pt, int margin) {
  Init();
  VipsImage* t = nullptr;
  const std::string font = "Noto Sans CJK SC " + std::to_string(pt);
  if (vips_text(&t, text.c_str(), "font", font.c_str(), "dpi", 300, nullptr) != 0)
    throw std::runtime_error(std::string("vips_text: ") + vips_error_buffer());
  VipsImage* inv = nullptr;
  vips_invert(t, &inv, nullptr);  // black text on white
  g_object_unref(t);
  VipsImage* framed = nullptr;
  const int w = vips_image_get_width(inv) + 2 * margin, h = vips_image_get_height(inv) + 2 * margin;
  VipsArrayDouble* white = vips_array_double_newv(1, 255.0);
  vips_embed(inv, &framed, margin, margin, w, h, "extend", VIPS_EXTEND_BACKGROUND, "background", white, nullptr);
  vips_area_unref(VIPS_AREA(white));
  g_object_unref(inv);
  return Save(framed, suffix);
}

std::string Ean13Picture(const std::string& d) {
  Init();
  static const char* kL[] = {"0001101", "0011001", "0010011", "0111101", "0100011",
                             "0110001", "0101111", "0111011", "0110111", "0001011"};
  static const char* kG[] = {"0100111", "0110011", "0011011", "0100001", "0011101",
                             "0111001", "0000101", "0010001", "0001001", "0010111"};
  static const char* kR[] = {"1110010", "1100110", "1101100", "1000010", "1011100",
                             "1001110", "1010000", "1000100", "1001000", "1110100"};
  static const char* kParity[] = {"LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG",
                                  "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL"};
  std::string bits = "101";
  const char* parity = kParity[d[0] - '0'];
  for (int i = 1; i <= 6; ++i) bits += (parity[i - 1] == 'L' ? kL : kG)[d[i] - '0'];
  bits += "01010";
  for (int i = 7; i <= 12; ++i) bits += kR[d[i] - '0'];
  bits += "101";
  const int module = 4, quiet = 15 * module, height = 200;
  const int w = static_cast<int>(bits.size()) * module + 2 * quiet;
  std::string px(size_t(w) * height, char(255));
  for (int y = 20; y < height - 20; ++y)
    for (size_t b = 0; b < bits.size(); ++b)
      if (bits[b] == '1')
        for (int m = 0; m < module; ++m) px[size_t(y) * w + quiet + b * module + m] = 0;
  VipsImage* img = vips_image_new_from_memory_copy(px.data(), px.size(), w, height, 1, VIPS_FORMAT_UCHAR);
  return Save(img, ".png");
}

std::string JpegWithGps() {
  Init();
  ExifData* ed = exif_data_new();
  exif_data_set_byte_order(ed, EXIF_BYTE_ORDER_INTEL);
  exif_data_fix(ed);
  auto add = [&](ExifIfd ifd, ExifTag tag, ExifFormat fmt, unsigned long components) {
    ExifEntry* e = exif_entry_new();
    exif_content_add_entry(ed->ifd[ifd], e);
    e->tag = tag;
    e->format = fmt;
    e->components = components;
    e->size = exif_format_get_size(fmt) * components;
    e->data = static_cast<unsigned char*>(calloc(1, e->size));
    exif_entry_unref(e);
    return e;
  };
  ExifEntry* make = add(EXIF_IFD_0, EXIF_TAG_MAKE, EXIF_FORMAT_ASCII, 8);
  std::memcpy(make->data, "KefuCam", 8);
  ExifEntry* ref = add(EXIF_IFD_GPS, static_cast<ExifTag>(EXIF_TAG_GPS_LATITUDE_REF), EXIF_FORMAT_ASCII, 2);
  std::memcpy(ref->data, "N", 2);
  ExifEntry* lat = add(EXIF_IFD_GPS, static_cast<ExifTag>(EXIF_TAG_GPS_LATITUDE), EXIF_FORMAT_RATIONAL, 3);
  const ExifRational r[3] = {{31, 1}, {13, 1}, {4512, 100}};
  for (int i = 0; i < 3; ++i) exif_set_rational(lat->data + 8 * i, EXIF_BYTE_ORDER_INTEL, r[i]);
  unsigned char* buf = nullptr;
  unsigned int len = 0;
  exif_data_save_data(ed, &buf, &len);
  exif_data_unref(ed);

  VipsImage* g = nullptr;
  vips_grey(&g, 64, 48, nullptr);
  VipsImage* u = nullptr;
  vips_linear1(g, &u, 255.0, 0.0, "uchar", TRUE, nullptr);
  g_object_unref(g);
  VipsImage* c = nullptr;
  vips_copy(u, &c, nullptr);
  g_object_unref(u);
  // libvips writes "exif-data" into the JPEG's APP1 (it wants the
  // "Exif\0\0" header, which exif_data_save_data includes).
  vips_image_set_blob_copy(c, "exif-data", buf, len);
  free(buf);
  void* out = nullptr;
  size_t out_len = 0;
  if (vips_jpegsave_buffer(c, &out, &out_len, nullptr) != 0) throw std::runtime_error("jpegsave");
  g_object_unref(c);
  std::string s(static_cast<const char*>(out), out_len);
  g_free(out);
  return s;
}

bool HasGps(const std::string& bytes) {
  ExifData* ed = exif_data_new_from_data(reinterpret_cast<const unsigned char*>(bytes.data()),
                                         static_cast<unsigned int>(bytes.size()));
  if (!ed) return false;
  const bool gps = ed->ifd[EXIF_IFD_GPS] && ed->ifd[EXIF_IFD_GPS]->count > 0;
  exif_data_unref(ed);
  return gps;
}

}  // namespace kefu::channels::testing
