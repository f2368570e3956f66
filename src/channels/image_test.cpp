#include "channels/image.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include "channels/test_images.h"

namespace kefu::channels {
namespace {

using testing::Canvas;

std::string CodeOf(const Status& s) { return UploadErrorOf(s).code; }

TEST(Sniff, ByContentNotByName) {
  EXPECT_EQ(SniffMime(Canvas(8, 8, ".png")), "image/png");
  EXPECT_EQ(SniffMime(Canvas(8, 8, ".jpg")), "image/jpeg");
  EXPECT_EQ(SniffMime(Canvas(8, 8, ".webp")), "image/webp");
  EXPECT_EQ(SniffMime("<html><script>alert(1)</script></html>"), "text/html");
}

TEST(ProcessImage, AcceptsPngJpegWebpAndMakesAThumbnail) {
  for (const char* suffix : {".png", ".jpg", ".webp"}) {
    auto img = ProcessImage(Canvas(800, 600, suffix), ImageLimits{});
    ASSERT_TRUE(img.ok()) << suffix << ": " << img.status().ToString();
    EXPECT_EQ(img->width, 800);
    EXPECT_EQ(img->height, 600);
    EXPECT_EQ(img->sniffed, img->mime) << suffix;
    EXPECT_EQ(SniffMime(img->bytes), img->mime);
    ASSERT_FALSE(img->thumbnail.empty());
    EXPECT_EQ(SniffMime(img->thumbnail), "image/jpeg");
    auto thumb = ProcessImage(img->thumbnail, ImageLimits{});
    ASSERT_TRUE(thumb.ok());
    EXPECT_EQ(thumb->width, 320);
    EXPECT_EQ(thumb->height, 240);
    EXPECT_EQ(img->gray.pixels.size(), 800u * 600u);
  }
}

TEST(ProcessImage, HeicWhenTheEncoderIsThere) {
  // Debian's libheif may lack an HEVC encoder; decoding is what we need.
  std::string heic;
  try {
    heic = Canvas(64, 48, ".heic");
  } catch (...) {
    GTEST_SKIP() << "no HEIC encoder in this libheif (decoding is still wired: vips_heifload_buffer)";
  }
  auto img = ProcessImage(heic, ImageLimits{});
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  EXPECT_EQ(img->mime, "image/jpeg");  // browsers do not show HEIC
  EXPECT_EQ(img->width, 64);
}

TEST(ProcessImage, TheDeclaredTypeIsNotTrustedWrongTypesAreRefused) {
  for (const std::string& bytes : {std::string("GIF89a\x01\x00\x01\x00\x00\x00\x00;", 14),
                                   std::string("%PDF-1.4\n1 0 obj\n<<>>\nendobj\n"),
                                   std::string("<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>"),
                                   std::string("just some text, named photo.jpg")}) {
    auto img = ProcessImage(bytes, ImageLimits{});
    ASSERT_FALSE(img.ok());
    EXPECT_EQ(CodeOf(img.status()), "unsupported_media_type") << img.status().message();
    EXPECT_EQ(UploadErrorOf(img.status()).http_status, 415);
  }
}

TEST(ProcessImage, TooManyBytes) {
  ImageLimits l;
  l.max_bytes = 100;
  const std::string png = Canvas(400, 400, ".png");
  ASSERT_GT(png.size(), 100u);
  auto img = ProcessImage(png, l);
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(CodeOf(img.status()), "image_too_large");
  EXPECT_EQ(UploadErrorOf(img.status()).http_status, 413);
}

// A JPEG whose frame header claims 60000×60000 pixels: a decompression bomb.
std::string JpegBomb() {
  std::string j = Canvas(16, 16, ".jpg");
  for (size_t i = 2; i + 9 < j.size(); ++i) {
    if (static_cast<unsigned char>(j[i]) == 0xFF &&
        (static_cast<unsigned char>(j[i + 1]) == 0xC0 || static_cast<unsigned char>(j[i + 1]) == 0xC2)) {
      j[i + 5] = char(0xEA), j[i + 6] = char(0x60);  // height 60000
      j[i + 7] = char(0xEA), j[i + 8] = char(0x60);  // width 60000
      return j;
    }
  }
  return j;
}

// A PNG whose IHDR claims 100000×100000 (CRC fixed so it parses).
std::string PngBomb() {
  std::string p = Canvas(16, 16, ".png");
  // IHDR data starts at 16: width, height big-endian; CRC over type+data at 29.
  auto put32 = [&](size_t at, uint32_t v) {
    p[at] = char(v >> 24), p[at + 1] = char(v >> 16), p[at + 2] = char(v >> 8), p[at + 3] = char(v);
  };
  put32(16, 100000);
  put32(20, 100000);
  put32(29, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(p.data() + 12), 17)));
  return p;
}

TEST(ProcessImage, DecompressionBombsAreRefusedBeforeDecoding) {
  for (const std::string& bomb : {JpegBomb(), PngBomb()}) {
    ASSERT_LT(bomb.size(), 2000u);
    auto img = ProcessImage(bomb, ImageLimits{});
    ASSERT_FALSE(img.ok());
    EXPECT_EQ(CodeOf(img.status()), "image_too_many_pixels") << img.status().message();
  }
  ImageLimits small;
  small.max_pixels = 100 * 100;
  auto img = ProcessImage(Canvas(200, 200, ".png"), small);
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(CodeOf(img.status()), "image_too_many_pixels");
}

TEST(ProcessImage, TruncatedAndCorruptPicturesAreRefused) {
  for (const char* suffix : {".png", ".jpg", ".webp"}) {
    const std::string whole = Canvas(300, 200, suffix);
    auto cut = ProcessImage(whole.substr(0, whole.size() / 2), ImageLimits{});
    ASSERT_FALSE(cut.ok()) << suffix;
    EXPECT_EQ(CodeOf(cut.status()), "image_corrupt") << suffix << ": " << cut.status().message();
    std::string garbled = whole;
    for (size_t i = garbled.size() / 3; i < garbled.size() - 8; i += 7) garbled[i] = char(garbled[i] ^ 0x5A);
    // Garbled data either fails as corrupt or (JPEG's decoder conceals damage)
    // decodes to a picture that is re-encoded clean; it never gets through as is.
    auto bad = ProcessImage(garbled, ImageLimits{});
    if (bad.ok()) {
      EXPECT_EQ(SniffMime(bad->bytes), bad->mime) << suffix;
      EXPECT_NE(bad->bytes, garbled) << suffix;
    } else {
      EXPECT_EQ(CodeOf(bad.status()), "image_corrupt") << suffix << ": " << bad.status().message();
    }
  }
  auto empty = ProcessImage("", ImageLimits{});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(CodeOf(empty.status()), "image_corrupt");
  // Only the signature of a PNG, nothing after.
  auto sig = ProcessImage(std::string("\x89PNG\r\n\x1a\n", 8), ImageLimits{});
  ASSERT_FALSE(sig.ok());
}

TEST(ProcessImage, StripsExifAndGps) {
  const std::string with_gps = testing::JpegWithGps();
  ASSERT_TRUE(testing::HasGps(with_gps)) << "the test picture must carry GPS to begin with";
  ASSERT_NE(with_gps.find("KefuCam"), std::string::npos);
  auto img = ProcessImage(with_gps, ImageLimits{});
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  EXPECT_FALSE(testing::HasGps(img->bytes));
  EXPECT_EQ(img->bytes.find("Exif"), std::string::npos);
  EXPECT_EQ(img->bytes.find("KefuCam"), std::string::npos);
  EXPECT_EQ(img->thumbnail.find("Exif"), std::string::npos);
}

TEST(UploadError, SplitsTheCode) {
  auto e = UploadErrorOf(UploadFailure("image_corrupt", "bad"));
  EXPECT_EQ(e.http_status, 400);
  EXPECT_EQ(e.code, "image_corrupt");
  EXPECT_EQ(e.message, "bad");
  EXPECT_EQ(UploadErrorOf(InvalidArgument("x")).code, "invalid_argument");
}

}  // namespace
}  // namespace kefu::channels
