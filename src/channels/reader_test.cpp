#include "channels/reader.h"

#include <gtest/gtest.h>

#include <chrono>

#include "channels/test_images.h"

namespace kefu::channels {
namespace {

TEST(NormalizeOcrText, DropsSpacesBetweenChineseKeepsThemBetweenWords) {
  EXPECT_EQ(NormalizeOcrText("订 单 号 ： SO202611010001\n\n  hello  world \n"), "订单号：SO202611010001\nhello world");
  EXPECT_EQ(NormalizeOcrText(""), "");
  EXPECT_EQ(NormalizeOcrText("\xff\xfe bad"), "\xEF\xBF\xBD\xEF\xBF\xBD bad");
}

GrayImage GrayOf(const std::string& picture) {
  auto g = DecodeGray(picture, ImageLimits{});
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return g.ok() ? *g : GrayImage{};
}

// The embedded engine on a picture rendered here with known text.
TEST(TesseractOcr, ReadsChineseAndAnOrderNumber) {
  auto ocr = TesseractOcr::Create({});
  if (!ocr.ok()) GTEST_SKIP() << ocr.status().message();
  const GrayImage g = GrayOf(testing::TextPicture("订单号：SO202611010001\n物流单号：SF2610929479530", ".png"));
  const auto t0 = std::chrono::steady_clock::now();
  auto text = (*ocr)->Recognize(g);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_NE(text->find("SO202611010001"), std::string::npos) << *text;
  EXPECT_NE(text->find("SF2610929479530"), std::string::npos) << *text;
  EXPECT_NE(text->find("订单号"), std::string::npos) << *text;
  std::printf("[ ocr ] %dx%d picture read in %.0f ms (first call: loads chi_sim+eng): %s\n", g.width, g.height, ms,
              text->c_str());
  // The second call reuses the loaded engine.
  const auto t1 = std::chrono::steady_clock::now();
  auto again = (*ocr)->Recognize(g);
  const double ms2 = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *text);
  std::printf("[ ocr ] again in %.0f ms\n", ms2);
}

TEST(TesseractOcr, ReadsAnEnglishErrorMessageFromAJpeg) {
  auto ocr = TesseractOcr::Create({});
  if (!ocr.ok()) GTEST_SKIP() << ocr.status().message();
  auto text = (*ocr)->Recognize(GrayOf(testing::TextPicture("Payment failed: error code 1002", ".jpg")));
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("Payment failed"), std::string::npos) << *text;
  EXPECT_NE(text->find("1002"), std::string::npos) << *text;
}

TEST(TesseractOcr, ABlankPictureHasNoText) {
  auto ocr = TesseractOcr::Create({});
  if (!ocr.ok()) GTEST_SKIP() << ocr.status().message();
  GrayImage blank{200, 100, std::string(200 * 100, char(255))};
  auto text = (*ocr)->Recognize(blank);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "");
  EXPECT_FALSE((*ocr)->Recognize(GrayImage{10, 10, "short"}).ok());
}

TEST(TesseractOcr, AMissingLanguageStopsCreation) {
  TesseractSettings s;
  s.languages = "chi_sim+klingon";
  auto ocr = TesseractOcr::Create(s);
  ASSERT_FALSE(ocr.ok());
  EXPECT_NE(ocr.status().message().find("klingon.traineddata"), std::string::npos);
}

TEST(ZbarScanner, ReadsAnEan13Barcode) {
  ZbarScanner zbar;
  auto codes = zbar.Scan(GrayOf(testing::Ean13Picture("5901234123457")));
  ASSERT_TRUE(codes.ok());
  ASSERT_EQ(codes->size(), 1u);
  EXPECT_EQ((*codes)[0].data, "5901234123457");
  EXPECT_EQ((*codes)[0].symbology, "EAN-13");
  auto none = zbar.Scan(GrayImage{50, 50, std::string(2500, char(255))});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace kefu::channels
