#include "knowledge/parse.h"

#include <gtest/gtest.h>

namespace kefu::knowledge {
namespace {

TEST(ParseMarkdown, EntriesMetadataCategoriesAndErrors) {
  const char* md =
      "# 发货\n"                                      // 1
      "说明文字（不是条目）\n"                        // 2
      "\n"                                            // 3
      "## 多久发货\n"                                 // 4
      "id: kb-ship-01\n"                              // 5
      "questions: 多久发货 | 什么时候发货 | 几天能发货\n"  // 6
      "\n"                                            // 7
      "付款后 **48 小时内**发货。\n"                  // 8
      "\n"                                            // 9
      "### 例外\n"                                    // 10
      "预售商品除外。\n"                              // 11
      "## 空条目\n"                                   // 12
      "id: kb-empty\n"                                // 13
      "\n"                                            // 14
      "# 退款\n"                                      // 15
      "## 怎么退款\n"                                 // 16
      "category：售后\n"                              // 17
      "在订单页点击申请退款。\n"                      // 18
      "## 无 id 的条目\n"                             // 19
      "\n"                                            // 20
      "正文。\n"                                      // 21
      "# 同义词\n"                                    // 22
      "- 退款, 退钱, 返款\n"                          // 23
      "- 发货，出库\n"                                // 24
      "- 孤单\n";                                     // 25
  ParsedFile f = ParseMarkdown(md);
  ASSERT_EQ(f.entries.size(), 3u);
  const KbEntry& a = f.entries[0].entry;
  EXPECT_EQ(f.entries[0].line, 4);
  EXPECT_EQ(a.id, "kb-ship-01");
  EXPECT_EQ(a.title, "多久发货");
  EXPECT_EQ(a.category, "发货");
  EXPECT_EQ(a.questions, (std::vector<std::string>{"多久发货", "什么时候发货", "几天能发货"}));
  EXPECT_EQ(a.body, "付款后 **48 小时内**发货。\n\n### 例外\n预售商品除外。");
  const KbEntry& b = f.entries[1].entry;
  EXPECT_EQ(b.category, "售后");  // metadata overrides the H1 category
  EXPECT_EQ(b.body, "在订单页点击申请退款。");
  const KbEntry& c = f.entries[2].entry;
  EXPECT_EQ(c.category, "退款");
  EXPECT_EQ(c.id, StableId("无 id 的条目"));
  EXPECT_EQ(c.id.substr(0, 3), "kb-");
  ASSERT_EQ(f.errors.size(), 2u);
  EXPECT_EQ(f.errors[0].line, 12);
  EXPECT_NE(f.errors[0].reason.find("empty body"), std::string::npos);
  EXPECT_EQ(f.errors[1].line, 25);
  EXPECT_TRUE(f.has_synonyms);
  EXPECT_EQ(f.synonyms, (std::vector<std::vector<std::string>>{{"退款", "退钱", "返款"}, {"发货", "出库"}}));
}

TEST(ParseMarkdown, DuplicateIdsAndFencedHeadings) {
  ParsedFile f = ParseMarkdown("## A\nid: x\n\n```\n# not a heading\n```\n## B\nid: x\n\nbody\n");
  ASSERT_EQ(f.entries.size(), 1u);
  EXPECT_NE(f.entries[0].entry.body.find("# not a heading"), std::string::npos);
  ASSERT_EQ(f.errors.size(), 1u);
  EXPECT_EQ(f.errors[0].line, 7);
}

TEST(ReadCsv, Rfc4180Quoting) {
  auto r = ReadCsv("a,b\r\n\"x, \"\"y\"\"\",\"multi\nline\"\nlast,\n");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->rows.size(), 3u);
  EXPECT_EQ(r->rows[1][0], "x, \"y\"");
  EXPECT_EQ(r->rows[1][1], "multi\nline");
  EXPECT_EQ(r->lines, (std::vector<int>{1, 2, 4}));
  EXPECT_EQ(r->rows[2], (std::vector<std::string>{"last", ""}));
  auto bad = ReadCsv("a\n\"open\n");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 2"), std::string::npos);
}

TEST(ParseCsv, RowsAndErrors) {
  ParsedFile f = ParseCsv(
      "title,body,questions\n"
      "运费多少,\"满 99 元包邮，\n否则 10 元\",运费|邮费多少\n"
      "没有正文,,\n"
      "字段太多,a,b,c\n"
      "退货,七天无理由,\n");
  ASSERT_EQ(f.entries.size(), 2u);
  EXPECT_EQ(f.entries[0].entry.body, "满 99 元包邮，\n否则 10 元");
  EXPECT_EQ(f.entries[0].entry.questions, (std::vector<std::string>{"运费", "邮费多少"}));
  EXPECT_EQ(f.entries[1].line, 6);
  ASSERT_EQ(f.errors.size(), 2u);
  EXPECT_EQ(f.errors[0].line, 4);
  EXPECT_EQ(f.errors[1].line, 5);
}

TEST(ParseCsv, BadHeaders) {
  ParsedFile f = ParseCsv("id,title,answer\n1,a,b\n");
  ASSERT_EQ(f.errors.size(), 1u);
  EXPECT_EQ(f.errors[0].line, 1);
  EXPECT_NE(f.errors[0].reason.find("answer"), std::string::npos);
  f = ParseCsv("id,title\n1,a\n");
  ASSERT_EQ(f.errors.size(), 1u);
  EXPECT_NE(f.errors[0].reason.find("body"), std::string::npos);
  EXPECT_TRUE(f.entries.empty());
}

TEST(ParseJson, ArrayAndObjectForms) {
  ParsedFile f = ParseJson(
      "[\n"
      "  {\"id\": \"a\", \"title\": \"T\", \"body\": \"B\", \"questions\": [\"q1\", \"q2\"]},\n"
      "  {\"title\": \"no body\"},\n"
      "  {\"title\": \"x\", \"body\": \"y\", \"questions\": 3}\n"
      "]");
  ASSERT_EQ(f.entries.size(), 1u);
  EXPECT_EQ(f.entries[0].line, 2);
  EXPECT_EQ(f.entries[0].entry.questions.size(), 2u);
  ASSERT_EQ(f.errors.size(), 2u);
  EXPECT_EQ(f.errors[0].line, 3);
  EXPECT_EQ(f.errors[1].line, 4);

  f = ParseJson("{\"entries\": [\n{\"title\": \"T\", \"body\": \"B\"},\n{\"title\": \"U\"}\n],\n"
                "\"synonyms\": [[\"退款\", \"退钱\"], [\"x\"]]}");
  ASSERT_EQ(f.entries.size(), 1u);
  EXPECT_TRUE(f.has_synonyms);
  EXPECT_EQ(f.synonyms.size(), 1u);
  ASSERT_EQ(f.errors.size(), 2u);
  EXPECT_EQ(f.errors[0].line, 0);  // the bad synonym group
  EXPECT_EQ(f.errors[1].line, 3);

  f = ParseJson("[{\"title\": \"a\",\n \"body\": }]");
  ASSERT_EQ(f.errors.size(), 1u);
  EXPECT_EQ(f.errors[0].line, 2);
}

}  // namespace
}  // namespace kefu::knowledge

namespace kefu::knowledge {

// Control characters (NUL above all) in a title, id, category or question,
// and NUL in a body, refuse the entry as "refused" (the import then stores
// nothing from the file); \n and \t are allowed.
TEST(ParseControlChars, RefusedInEveryFormat) {
  const std::string nul("\0", 1);
  ParsedFile md = ParseMarkdown("# 售后\n## 退货" + nul + "政策\n\n七天无理由。\n## 发票\n\n电子发票。\n");
  ASSERT_EQ(md.refused.size(), 1u);
  EXPECT_EQ(md.refused[0].line, 2);
  EXPECT_NE(md.refused[0].reason.find("title"), std::string::npos) << md.refused[0].reason;
  EXPECT_NE(md.refused[0].reason.find("U+0000"), std::string::npos) << md.refused[0].reason;
  EXPECT_NE(md.refused[0].reason.find("退货\\u0000政策"), std::string::npos) << md.refused[0].reason;
  EXPECT_EQ(md.entries.size(), 1u);  // the parser still reports the good one; Import refuses the file

  ParsedFile csv = ParseCsv("id,title,body\nk1,发票,电子发票\nk2,\"退\x01货\",七天\n");
  ASSERT_EQ(csv.refused.size(), 1u);
  EXPECT_EQ(csv.refused[0].line, 3);
  EXPECT_NE(csv.refused[0].reason.find("U+0001"), std::string::npos);

  ParsedFile js = ParseJson("[{\"title\": \"退货\\u0000政策\", \"body\": \"七天\"}]");
  ASSERT_EQ(js.refused.size(), 1u);
  ParsedFile c1 = ParseJson("[{\"title\": \"退货\\u0085\", \"body\": \"七天\"}]");  // C1 control
  ASSERT_EQ(c1.refused.size(), 1u);
  EXPECT_NE(c1.refused[0].reason.find("U+0085"), std::string::npos) << c1.refused[0].reason;
  ParsedFile q = ParseJson("[{\"title\": \"退货\", \"body\": \"七天\", \"questions\": [\"能退\\u0007吗\"]}]");
  ASSERT_EQ(q.refused.size(), 1u);
  EXPECT_NE(q.refused[0].reason.find("question"), std::string::npos);
  ParsedFile body = ParseJson("[{\"title\": \"退货\", \"body\": \"七\\u0000天\"}]");
  ASSERT_EQ(body.refused.size(), 1u);
  EXPECT_NE(body.refused[0].reason.find("body"), std::string::npos);

  // Tabs and newlines are fine (in a body other layout characters too).
  ParsedFile ok = ParseJson("[{\"title\": \"退货\\t政策\", \"body\": \"第一行\\n\\f第二行\"}]");
  EXPECT_TRUE(ok.refused.empty());
  EXPECT_EQ(ok.entries.size(), 1u);
}

TEST(ParseControlChars, FindControlChar) {
  EXPECT_EQ(FindControlChar("abc"), std::string_view::npos);
  EXPECT_EQ(FindControlChar("a\tb\nc"), std::string_view::npos);
  EXPECT_EQ(FindControlChar(std::string_view("ab\0c", 4)), 2u);
  EXPECT_EQ(FindControlChar("a\rb"), 1u);
  EXPECT_EQ(FindControlChar("a\x7f"), 1u);
  EXPECT_EQ(FindControlChar("退\xC2\x85"), 3u);
  EXPECT_EQ(FindControlChar("é"), std::string_view::npos);  // C3 A9: not a control
  EXPECT_EQ(FindControlChar("\xC2\xA0"), std::string_view::npos);  // NBSP
  EXPECT_EQ(FindControlChar("a\rb", /*nul_only=*/true), std::string_view::npos);
}

}  // namespace kefu::knowledge
