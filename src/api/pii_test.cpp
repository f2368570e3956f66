#include "api/pii.h"

#include <gtest/gtest.h>

#include "common/utf8.h"

namespace kefu::api::pii {
namespace {

using nlohmann::json;

TEST(Pii, Phones) {
  EXPECT_EQ(MaskPhone("13812345678"), "138****5678");
  EXPECT_EQ(MaskPhone("021-61234567"), "021*****4567");
  EXPECT_EQ(MaskPhone("+8613812345678"), "+86*******5678");
  EXPECT_EQ(MaskPhone("12345"), "***45");
  EXPECT_EQ(MaskPhone("12"), "**");
  EXPECT_EQ(MaskPhone(""), "");
}

TEST(Pii, ChineseAddresses) {
  EXPECT_EQ(MaskAddress("上海市浦东新区世纪大道100号"), "上海市浦东新区****");
  EXPECT_EQ(MaskAddress("浙江省杭州市滨江区新华路40号龙湖天街公寓23幢4单元2601室"), "浙江省杭州市滨江区****");
  EXPECT_EQ(MaskAddress("广西壮族自治区南宁市青秀区民族大道100号"), "广西壮族自治区南宁市青秀区****");
  EXPECT_EQ(MaskAddress("内蒙古自治区呼和浩特市赛罕区大学西街"), "内蒙古自治区呼和浩特市赛罕区****");
  // A residential compound ends like a district but is never kept.
  EXPECT_EQ(MaskAddress("北京市朝阳区望京花园小区3号楼"), "北京市朝阳区****");
  EXPECT_EQ(MaskAddress("北京市望京花园小区3号楼"), "北京市****");
  // After the district nothing more is kept, even a street that ends in 市.
  EXPECT_EQ(MaskAddress("上海市黄浦区南京东路市百一店"), "上海市黄浦区****");
  // Only divisions: nothing to hide.
  EXPECT_EQ(MaskAddress("上海市浦东新区"), "上海市浦东新区");
  // Without a division a quarter stays (at most 6 characters).
  EXPECT_EQ(MaskAddress("文三路90号东部软件园"), "文三****");
  EXPECT_EQ(MaskAddress("1600 Amphitheatre Parkway, Mountain View"), "1600 A****");
  EXPECT_EQ(MaskAddress("家"), "****");
  EXPECT_EQ(MaskAddress(""), "");
}

TEST(Pii, IdentityNumbers) {
  EXPECT_EQ(MaskIdNumber("310101199001011234"), "3101**********1234");
  EXPECT_EQ(MaskIdNumber("31010119900101123X"), "3101**********123X");
  EXPECT_EQ(MaskIdNumber("E12345678"), "E*******8");
  EXPECT_EQ(MaskIdNumber("123"), "***");
}

TEST(Pii, EmailsBirthdaysAndChannelIds) {
  EXPECT_EQ(MaskEmail("zhangwei88@example.com"), "z***@example.com");
  EXPECT_EQ(MaskEmail("a@example.com"), "***@example.com");
  EXPECT_EQ(MaskEmail("not-an-email"), "n***********");
  EXPECT_EQ(MaskBirthday("1990-05-12"), "1990-**-**");
  EXPECT_EQ(MaskBirthday("5月12日"), "*****");
  EXPECT_EQ(MaskIdentityValue("phone", "13812345601"), "138****5601");
  EXPECT_EQ(MaskIdentityValue("email", "lina_sh@example.com"), "l***@example.com");
  EXPECT_EQ(MaskIdentityValue("wechat_openid", "oWx000031415933"), "oWx********5933");
  EXPECT_EQ(MaskIdentityValue("app_user_id", "app-880001"), "app***0001");
  EXPECT_EQ(MaskIdentityValue("id_card", "310101199001011234"), "3101**********1234");
}

// Multi-byte characters are never cut: every result is valid UTF-8 with as
// many characters as the input (stars replace whole characters).
TEST(Pii, Utf8Safe) {
  for (const char* s : {"张伟", "张", "王小明先生", "😀😀😀😀😀😀😀😀😀", "ａｂｃｄｅｆｇｈｉｊ"}) {
    for (auto m : {MaskMiddle(s, 3, 4), MaskPhone(s), MaskIdNumber(s), MaskEmail(s), MaskAddress(s)}) {
      EXPECT_TRUE(utf8::IsValid(m)) << s << " -> " << m;
      EXPECT_NE(m, s) << s;
    }
    EXPECT_EQ(utf8::Length(MaskMiddle(s, 3, 4)), utf8::Length(s)) << s;
  }
  EXPECT_EQ(MaskMiddle("王小明先生", 1, 1), "王***生");
  EXPECT_EQ(MaskMiddle("😀😀😀😀😀😀😀😀😀", 3, 4), "😀😀😀**😀😀😀😀");
  EXPECT_EQ(MaskMiddle("张伟", 3, 4), "**");
  // Invalid input comes out valid (U+FFFD), never as a torn sequence.
  std::string torn = "138\xE5\xBC";
  EXPECT_TRUE(utf8::IsValid(MaskPhone(torn)));
  EXPECT_TRUE(utf8::IsValid(MaskAddress("上海市\xE6\xB5")));
}

TEST(Pii, MasksPersonalDataAnywhereInAPanel) {
  json panel = {
      {"customer", {{"id", "C0001"}, {"name", "张伟"}, {"phone", "13812345601"}, {"email", "zhangwei88@example.com"},
                    {"city", "杭州"}}},
      {"orders", json::array({{{"id", "SO1"}, {"address", "浙江省杭州市滨江区新华路40号"}, {"tracking_no", "SF1"}}})},
      {"profile",
       {{"demographics", {{"phone", "13812345601"}, {"email", nullptr}, {"birthday", "1990-05-12"}}},
        {"identities", json::array({{{"kind", "phone"}, {"value", "13812345601"}, {"customer_id", "C0001"}},
                                    {{"kind", "device_id"}, {"value", "dev-9f767c45"}}})},
        {"shipping_address", "上海市浦东新区世纪大道100号"},
        {"id_card", "310101199001011234"}}}};
  MaskPersonalData(panel);
  EXPECT_EQ(panel["customer"]["phone"], "138****5601");
  EXPECT_EQ(panel["customer"]["email"], "z***@example.com");
  EXPECT_EQ(panel["customer"]["name"], "张伟");
  EXPECT_EQ(panel["customer"]["city"], "杭州");
  EXPECT_EQ(panel["customer"]["id"], "C0001");
  EXPECT_EQ(panel["orders"][0]["address"], "浙江省杭州市滨江区****");
  EXPECT_EQ(panel["orders"][0]["tracking_no"], "SF1");
  EXPECT_EQ(panel["profile"]["demographics"]["phone"], "138****5601");
  EXPECT_TRUE(panel["profile"]["demographics"]["email"].is_null());
  EXPECT_EQ(panel["profile"]["demographics"]["birthday"], "1990-**-**");
  EXPECT_EQ(panel["profile"]["identities"][0]["value"], "138****5601");
  EXPECT_EQ(panel["profile"]["identities"][0]["customer_id"], "C0001");
  EXPECT_EQ(panel["profile"]["identities"][1]["value"], "dev*****7c45");
  EXPECT_EQ(panel["profile"]["shipping_address"], "上海市浦东新区****");
  EXPECT_EQ(panel["profile"]["id_card"], "3101**********1234");
  EXPECT_EQ(panel.dump().find("13812345601"), std::string::npos);
}

}  // namespace
}  // namespace kefu::api::pii
