#include "knowledge/places.h"

#include <gtest/gtest.h>

namespace kefu::knowledge {
namespace {

std::vector<std::string> Regions(std::string_view text) {
  std::vector<std::string> out;
  for (const auto& m : FindPlaces(text)) out.push_back(m.region_zh);
  return out;
}

TEST(Places, CitiesStandForTheirRegion) {
  EXPECT_EQ(Regions("我在喀什 下单包不包邮"), std::vector<std::string>{"新疆"});
  EXPECT_EQ(Regions("can you send stuff to lhasa?"), std::vector<std::string>{"西藏"});
  EXPECT_EQ(Regions("寄到呼伦贝尔要几天"), std::vector<std::string>{"内蒙古"});
  EXPECT_EQ(Regions("i'm based in singapore"), std::vector<std::string>{"海外"});
  EXPECT_EQ(FindPlaces("台北能寄吗").at(0).region_en, "taiwan");
}

TEST(Places, NotInsideOtherWords) {
  EXPECT_TRUE(FindPlaces("thk you, where is my hkd refund").empty());  // Latin names are whole words
  EXPECT_TRUE(FindPlaces("在平台中下单 一定西瓜 阿里巴巴 白银首饰").empty());
  EXPECT_TRUE(FindPlaces("the parcel is in the usual place").empty());
}

}  // namespace
}  // namespace kefu::knowledge
