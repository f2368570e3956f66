#include "common/json.h"

#include <gtest/gtest.h>

#include <string>

namespace kefu {
namespace {

std::string Nested(int depth, std::string_view inner = "1") {
  std::string s = "{\"customer_id\":";
  for (int i = 1; i < depth; ++i) s += '[';
  s += inner;
  for (int i = 1; i < depth; ++i) s += ']';
  s += '}';
  return s;
}

TEST(Json, DepthCountsBracketsOutsideStringsOnly) {
  EXPECT_EQ(JsonNestingDepth("1"), 0);
  EXPECT_EQ(JsonNestingDepth("{\"a\":[1,{\"b\":2}]}"), 3);
  EXPECT_EQ(JsonNestingDepth("[\"[[[[{{{{\"]"), 1);
  EXPECT_EQ(JsonNestingDepth(R"(["\"[[[[", "\\", [2]])"), 2);  // escaped quote and backslash
  EXPECT_EQ(JsonNestingDepth("[][][][]"), 1);
  EXPECT_EQ(JsonNestingDepth("]]]][[", 64), 2);  // malformed: still a bounded number
}

TEST(Json, ExactlyTheLimitParsesOneMoreIsRefused) {
  auto ok = ParseJson(Nested(kMaxJsonDepth));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  nlohmann::json copy = *ok;  // copying is recursive: fine at the limit
  EXPECT_EQ(copy, *ok);
  auto deep = ParseJson(Nested(kMaxJsonDepth + 1));
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(deep.status().message().find("nested deeper than 64"), std::string::npos);
}

// The audit's crash: a value 140,000 levels deep inside an object (280 KB).
// Parsing succeeded, then the first copy of the value overflowed the stack.
TEST(Json, AuditBodyIsRefusedWithoutBuildingIt) {
  std::string body = Nested(140'000);
  EXPECT_GT(body.size(), 279'000u);
  auto r = ParseJson(body);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(ParseJsonOrDiscarded(body).is_discarded());
  // The scan stops as soon as the limit is passed.
  EXPECT_EQ(JsonNestingDepth(body, 10), 11);
}

TEST(Json, MalformedTextIsAnErrorNamingThePosition) {
  auto r = ParseJson("{\"a\": }");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("not valid JSON"), std::string::npos);
  EXPECT_TRUE(ParseJsonOrDiscarded("{").is_discarded());
  EXPECT_EQ(ParseJsonOrDiscarded("{\"a\":1}")["a"], 1);
}

TEST(Json, LimitIsAParameter) {
  EXPECT_TRUE(ParseJson("[[1]]", 2).ok());
  EXPECT_FALSE(ParseJson("[[[1]]]", 2).ok());
}

}  // namespace
}  // namespace kefu
