#include "voice/error_rate.h"

#include <gtest/gtest.h>

namespace kefu::voice {
namespace {

using V = std::vector<std::string>;

TEST(AlignTest, CountsEachKindOfError) {
  EXPECT_EQ(Align(V{"a", "b", "c"}, V{"a", "b", "c"}).errors(), 0);
  auto sub = Align(V{"a", "b", "c"}, V{"a", "x", "c"});
  EXPECT_EQ(sub.substitutions, 1);
  EXPECT_EQ(sub.errors(), 1);
  auto del = Align(V{"a", "b", "c"}, V{"a", "c"});
  EXPECT_EQ(del.deletions, 1);
  EXPECT_EQ(del.errors(), 1);
  auto ins = Align(V{"a", "c"}, V{"a", "b", "c", "d"});
  EXPECT_EQ(ins.insertions, 2);
  EXPECT_EQ(ins.errors(), 2);
  EXPECT_DOUBLE_EQ(ins.rate(), 1.0);
}

TEST(AlignTest, EmptySides) {
  EXPECT_EQ(Align(V{}, V{}).rate(), 0.0);
  auto all_del = Align(V{"a", "b"}, V{});
  EXPECT_EQ(all_del.deletions, 2);
  EXPECT_DOUBLE_EQ(all_del.rate(), 1.0);
  auto only_ins = Align(V{}, V{"x"});
  EXPECT_EQ(only_ins.insertions, 1);
  EXPECT_DOUBLE_EQ(only_ins.rate(), 1.0);
}

TEST(AlignTest, MinimumEditsOnAShiftedSentence) {
  // "where is my parcel" → "so where is parcel now": 1 insertion, 1 deletion, 1 insertion.
  auto c = Align(EnglishWords("where is my parcel"), EnglishWords("so where is parcel now"));
  EXPECT_EQ(c.errors(), 3);
  EXPECT_EQ(c.reference, 4);
  EXPECT_DOUBLE_EQ(c.rate(), 0.75);
  EditCounts total;
  total += c;
  total += Align(V{"x"}, V{"x"});
  EXPECT_EQ(total.reference, 5);
  EXPECT_EQ(total.errors(), 3);
}

TEST(WordsTest, EnglishIsLowerCasedWithoutPunctuation) {
  EXPECT_EQ(EnglishWords("Where's my parcel? Order #A-1024, 'please'."),
            (V{"where's", "my", "parcel", "order", "a", "1024", "please"}));
  EXPECT_EQ(EnglishWords("SO WE'RE GONNA"), (V{"so", "we're", "gonna"}));
  EXPECT_TRUE(EnglishWords(" ... ").empty());
}

TEST(WordsTest, ChineseCountsCharactersAndDropsPunctuation) {
  EXPECT_EQ(CerTokens("各位观众，晚上好！"), (V{"各", "位", "观", "众", "晚", "上", "好"}));
  EXPECT_EQ(CerTokens("订单 A1024 到了吗？"), (V{"订", "单", "a1024", "到", "了", "吗"}));
  auto c = Align(CerTokens("春节是团圆"), CerTokens("春节时团圆"));
  EXPECT_EQ(c.substitutions, 1);
  EXPECT_DOUBLE_EQ(c.rate(), 0.2);
  EXPECT_EQ(CerTokens(std::string("\xff\xfe")).size(), 2u);  // bad bytes are tokens, not a crash
}

}  // namespace
}  // namespace kefu::voice
