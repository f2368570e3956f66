#include "app/ocr_eval.h"

#include <gtest/gtest.h>

#include <regex>

#include "app/ocr_screens.h"
#include "channels/image.h"

namespace kefu::app {
namespace {

TEST(OcrCer, CountsCharactersWithoutSpacesAndFoldsFullWidthForms) {
  EXPECT_EQ(OcrCharacters("订单号：SO 1\n已签收"),
            (std::vector<std::string>{"订", "单", "号", ":", "S", "O", "1", "已", "签", "收"}));
  EXPECT_EQ(OcrCharacters("ＳＯ１２（３）￥"), (std::vector<std::string>{"S", "O", "1", "2", "(", "3", ")", "¥"}));
  // Layout (spaces, line breaks) is not an error; a full-width colon read as ':' is not either.
  EXPECT_EQ(OcrCer("订单号：SO2026\n实付款：¥59.00", "订单号: SO2026 实付款:¥59.00").errors(), 0);
  // Case counts.
  EXPECT_EQ(OcrCer("SO1", "so1").substitutions, 2);
}

TEST(OcrCer, IsTheEditDistanceOverTheReferenceLength) {
  const auto misread = OcrCer("SO2026", "SO0202");  // the defect of issue 17
  EXPECT_EQ(misread.reference, 6);
  EXPECT_EQ(misread.errors(), 2);
  EXPECT_DOUBLE_EQ(misread.rate(), 2.0 / 6.0);
  const auto extra = OcrCer("运单号", "运单单号");
  EXPECT_EQ(extra.insertions, 1);
  EXPECT_EQ(extra.errors(), 1);
  const auto nothing = OcrCer("确定", "");
  EXPECT_EQ(nothing.deletions, 2);
  EXPECT_DOUBLE_EQ(nothing.rate(), 1.0);
  EXPECT_DOUBLE_EQ(OcrCer("", "").rate(), 0.0);
  EXPECT_EQ(OcrCer("支付失败", "支付成功").substitutions, 2);
}

TEST(OcrCer, KeyTokensMustBeReadExactly) {
  EXPECT_TRUE(HasExactToken("物流详情\n运单号：SF2610929479530\n运输中", "SF2610929479530"));
  EXPECT_TRUE(HasExactToken("运单号：ＳＦ２６１", "SF261"));       // full-width forms folded
  EXPECT_FALSE(HasExactToken("运单号：SF26109294795301", "SF2610929479530"));  // a longer number
  EXPECT_FALSE(HasExactToken("XSF2610929479530", "SF2610929479530"));
  EXPECT_FALSE(HasExactToken("SF 2610929479530", "SF2610929479530"));  // split by a space
  EXPECT_FALSE(HasExactToken("sf2610929479530", "SF2610929479530"));
  EXPECT_FALSE(HasExactToken("订单号：SO0202611010004", "SO202611010004"));
  EXPECT_TRUE(HasExactToken("Error code: PAY-5021.", "PAY-5021"));
  EXPECT_FALSE(HasExactToken("anything", ""));
}

TEST(OcrScreens, DocumentsAreSeededAndCarryTheirKeyToken) {
  for (ScreenKind kind : kAllScreenKinds) {
    const ScreenDoc a = MakeScreenDoc(kind, 7), b = MakeScreenDoc(kind, 7), c = MakeScreenDoc(kind, 8);
    EXPECT_EQ(a.Text(), b.Text()) << ScreenKindName(kind);
    EXPECT_NE(a.Text(), c.Text()) << ScreenKindName(kind);
    ASSERT_GE(a.lines.size(), 4u);
    EXPECT_NE(a.Text().find(a.key), std::string::npos) << a.Text();
    EXPECT_TRUE(HasExactToken(a.Text(), a.key)) << a.Text();
    const bool zh = std::string(ScreenKindName(kind)).ends_with("_zh");
    EXPECT_EQ(a.language, zh ? "zh" : "en");
  }
  const std::regex order_id("SO2026(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{4}");
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const ScreenDoc d = MakeScreenDoc(ScreenKind::kOrderZh, seed);
    EXPECT_EQ(d.key_kind, "order_id");
    EXPECT_TRUE(std::regex_match(d.key, order_id)) << d.key;
    const ScreenDoc w = MakeScreenDoc(ScreenKind::kWaybillEn, seed);
    EXPECT_EQ(w.key_kind, "waybill");
    EXPECT_GE(w.key.size(), 13u);
    EXPECT_EQ(MakeScreenDoc(ScreenKind::kErrorZh, seed).key_kind, "error_code");
  }
}

double MeanGrey(const std::string& bytes, int* w = nullptr) {
  auto g = channels::DecodeGray(bytes, channels::ImageLimits{});
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  if (!g.ok()) return -1;
  if (w) *w = g->width;
  double sum = 0;
  for (unsigned char p : g->pixels) sum += p;
  return sum / static_cast<double>(g->pixels.size());
}

TEST(OcrScreens, RendersTheLookAskedForTheSameWayEachTime) {
  const ScreenDoc doc = MakeScreenDoc(ScreenKind::kWaybillZh, 3);
  ScreenLook light;
  light.text_px = 16;
  auto png = RenderScreen(doc, light, 3);
  ASSERT_TRUE(png.ok()) << png.status().ToString();
  EXPECT_EQ(channels::SniffMime(*png), "image/png");
  auto again = RenderScreen(doc, light, 3);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*png, *again);  // deterministic

  int w16 = 0, w32 = 0;
  EXPECT_GT(MeanGrey(*png, &w16), 180);  // mostly light page
  ScreenLook big = light;
  big.text_px = 32;
  auto large = RenderScreen(doc, big, 3);
  ASSERT_TRUE(large.ok());
  MeanGrey(*large, &w32);
  EXPECT_GT(w32, w16 * 3 / 2);  // the text size scales the page

  ScreenLook dark = light;
  dark.page = Page::kDark;
  dark.jpeg_quality = 60;
  auto dk = RenderScreen(doc, dark, 3);
  ASSERT_TRUE(dk.ok());
  EXPECT_EQ(channels::SniffMime(*dk), "image/jpeg");
  EXPECT_LT(MeanGrey(*dk), 90);

  ScreenLook noisy = light;
  noisy.page = Page::kNoisy;
  auto n1 = RenderScreen(doc, noisy, 3), n2 = RenderScreen(doc, noisy, 4);
  ASSERT_TRUE(n1.ok() && n2.ok());
  EXPECT_NE(*n1, *png);
  EXPECT_NE(*n1, *n2);  // the seed draws the noise

  ScreenLook turned = light;
  turned.angle_deg = 3;
  auto rot = RenderScreen(doc, turned, 3);
  ASSERT_TRUE(rot.ok());
  int wr = 0;
  MeanGrey(*rot, &wr);
  EXPECT_GT(wr, w16);  // the turned page's bounding box is wider

  ScreenLook bad = light;
  bad.text_px = 1000;
  EXPECT_FALSE(RenderScreen(doc, bad, 3).ok());
  bad = light;
  bad.jpeg_quality = 101;
  EXPECT_FALSE(RenderScreen(doc, bad, 3).ok());
  EXPECT_FALSE(RenderScreen(ScreenDoc{}, light, 3).ok());
}

TEST(OcrEval, KnowsItsConditions) {
  const auto names = OcrConditionNames();
  EXPECT_GE(names.size(), 10u);
  EXPECT_NE(std::find(names.begin(), names.end(), "clean_16"), names.end());
  Config config;
  OcrEvalOptions o;
  o.only = {"no_such_condition"};
  EXPECT_FALSE(RunOcrEval(config, o).ok());
  o.only.clear();
  o.per_kind = 0;
  EXPECT_FALSE(RunOcrEval(config, o).ok());
  config.channels.ocr = "none";
  o.per_kind = 1;
  EXPECT_FALSE(RunOcrEval(config, o).ok());
}

}  // namespace
}  // namespace kefu::app
