#include "nlu/labeled_csv.h"

#include <gtest/gtest.h>

#include "nlu/text_features.h"

namespace kefu::nlu {
namespace {

TEST(LabeledCsv, ParsesQuotedFieldsAndAnyColumnOrder) {
  auto r = ParseLabeledCsv("\xEF\xBB\xBFlabel,text\nrefund,\"我要退款, 马上\"\n\nthanks,\"多行\n文本\"\"引号\"\"\"\n", "t.csv");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].text, "我要退款, 马上");
  EXPECT_EQ((*r)[0].label, "refund");
  EXPECT_EQ((*r)[0].line, 2);
  EXPECT_EQ((*r)[1].text, "多行\n文本\"引号\"");
  EXPECT_EQ((*r)[1].line, 4);
}

TEST(LabeledCsv, WrongHeaderNamesLineAndColumn) {
  auto r = ParseLabeledCsv("sentence,label\nhi,greeting\n", "t.csv");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line 1"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("'text'"), std::string::npos) << r.status().message();
}

TEST(LabeledCsv, MissingColumnNamesLine) {
  auto r = ParseLabeledCsv("text,label\n你好,greeting\n谢谢\n", "t.csv");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line 3"), std::string::npos) << r.status().message();
}

TEST(LabeledCsv, InvalidUtf8NamesLine) {
  auto r = ParseLabeledCsv("text,label\n好,a\nbad\xFF\xFE,b\n", "t.csv");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line 3"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("UTF-8"), std::string::npos);
}

TEST(LabeledCsv, UnterminatedQuoteAndEmptyFields) {
  EXPECT_FALSE(ParseLabeledCsv("text,label\n\"open,a\n", "t.csv").ok());
  auto empty_label = ParseLabeledCsv("text,label\n你好,\n", "t.csv");
  ASSERT_FALSE(empty_label.ok());
  EXPECT_NE(empty_label.status().message().find("line 2: empty label"), std::string::npos);
  EXPECT_FALSE(ParseLabeledCsv("text,label\n", "t.csv").ok());
  EXPECT_FALSE(ParseLabeledCsv("", "t.csv").ok());
}

TEST(TextLines, SkipsBlankLinesAndDropsBomAndCr) {
  auto r = ParseTextLines("\xEF\xBB\xBF第一条\r\n\n  \nsecond line\nlast", "pool.txt");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, (std::vector<std::string>{"第一条", "second line", "last"}));
}

TEST(TextLines, InvalidUtf8NamesLine) {
  auto r = ParseTextLines("ok\n\nbad \xC3\x28 text\n", "pool.txt");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("pool.txt: line 3: invalid UTF-8"), std::string::npos) << r.status().ToString();
}

TEST(TextFeatures, SplitsCjkFoldsWidthAndCutsPunctuationRuns) {
  EXPECT_EQ(Featurize("我要ＲＥＦＵＮＤ！！！！"), "我 要 refund ! !");
  EXPECT_EQ(Featurize("订单123456789没到"), "订 单 <num> 没 到");
  EXPECT_EQ(Featurize(""), "");
  EXPECT_EQ(Featurize("\xFF\xFE"), "");  // invalid UTF-8 is dropped, not a crash
  std::string huge(1 << 20, 'a');
  EXPECT_LE(Featurize(huge).size(), kMaxInputBytes);
  EXPECT_EQ(DetectLanguage("How do I get my money back?"), "en");
  EXPECT_EQ(DetectLanguage("我的iPhone坏了"), "zh");
}

}  // namespace
}  // namespace kefu::nlu
