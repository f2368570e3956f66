#include "common/utf8.h"

#include <gtest/gtest.h>

namespace kefu::utf8 {

TEST(Utf8, ValidatesWellFormedText) {
  EXPECT_TRUE(IsValid("hello 你好"));
  EXPECT_FALSE(IsValid("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValid("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValid("abc\xE4\xBD"));       // truncated
  EXPECT_EQ(FirstInvalid("ab\xFFzz"), 2u);
}

TEST(Utf8, TruncatesOnCodePointBoundary) {
  std::string s = "你好";  // 6 bytes
  EXPECT_EQ(TruncateBytes(s, 4), "你");
  EXPECT_EQ(TruncateBytes(s, 6), "你好");
}

TEST(Utf8, DecodeAppendRoundTrip) {
  std::string s = "a你😀";
  std::string out;
  for (char32_t cp : Decode(s)) Append(out, cp);
  EXPECT_EQ(out, s);
  EXPECT_EQ(Length(s), 3u);
}

TEST(Utf8, TrimAndBom) {
  EXPECT_EQ(Trim("\xE3\x80\x80 hi \n"), "hi");
  EXPECT_EQ(StripBom("\xEF\xBB\xBFx"), "x");
  EXPECT_EQ(Sanitize("a\xFF"), "a\xEF\xBF\xBD");
}

TEST(Utf8, AsciiLowerLeavesOtherBytesAlone) {
  EXPECT_EQ(AsciiLower("Where IS my iPhone 15？"), "where is my iphone 15？");
  EXPECT_EQ(AsciiLower("ÄÖ 退款 OK"), "ÄÖ 退款 ok");
  EXPECT_EQ(AsciiLower(""), "");
}

}  // namespace kefu::utf8
