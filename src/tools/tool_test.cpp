#include "tools/tool.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

namespace kefu::tools {
namespace {

using nlohmann::json;

class EchoTool final : public Tool {
 public:
  std::string_view Name() const override { return "echo"; }
  std::string_view Description() const override { return "回显参数 / echoes its arguments"; }
  const json& Parameters() const override {
    static const json kSchema = json::parse(R"({
      "type": "object",
      "properties": {
        "text": {"type": "string", "minLength": 1, "maxLength": 4},
        "n": {"type": "integer", "minimum": 1, "maximum": 10},
        "mode": {"type": "string", "enum": ["a", "b"]},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
        "opt": {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}
      },
      "required": ["text"],
      "additionalProperties": false
    })");
    return kSchema;
  }
  Result<json> Invoke(const ToolContext& ctx, const json& args) const override {
    calls++;
    return json{{"args", args}, {"tenant", ctx.tenant_id}};
  }
  mutable std::atomic<int> calls{0};
};

Status Check(const ToolRegistry& r, const char* args) {
  auto res = r.Call({"t", "c", "conv"}, "echo", json::parse(args));
  return res.status();
}

TEST(ToolRegistry, ValidatesArgumentsAndNamesTheField) {
  ToolRegistry r;
  r.Register(std::make_unique<EchoTool>());
  EXPECT_TRUE(Check(r, R"({"text":"你好"})").ok());
  EXPECT_TRUE(Check(r, R"({"text":"abcd","n":10,"mode":"b","tags":["x"],"opt":{"x":1.5}})").ok());

  struct Case { const char* args; const char* field; };
  for (const Case& c : {Case{R"({})", "'text'"},
                        Case{R"({"text":5})", "'text'"},
                        Case{R"({"text":""})", "'text'"},
                        Case{R"({"text":"你好你好你"})", "'text'"},  // 5 code points > maxLength 4
                        Case{R"({"text":"a","n":1.5})", "'n'"},
                        Case{R"({"text":"a","n":0})", "'n'"},
                        Case{R"({"text":"a","n":11})", "'n'"},
                        Case{R"({"text":"a","mode":"c"})", "'mode'"},
                        Case{R"({"text":"a","tags":["x",1]})", "'tags[1]'"},
                        Case{R"({"text":"a","tags":["x","y","z"]})", "'tags'"},
                        Case{R"({"text":"a","opt":{}})", "'opt.x'"},
                        Case{R"({"text":"a","extra":1})", "'extra'"}}) {
    Status s = Check(r, c.args);
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << c.args;
    EXPECT_NE(s.message().find(c.field), std::string::npos) << c.args << " -> " << s.message();
  }
  // Integral floats count as integers.
  EXPECT_TRUE(Check(r, R"({"text":"a","n":3.0})").ok());
  // Arguments that are not an object at all.
  EXPECT_EQ(Check(r, R"([1])").code(), ErrorCode::kInvalidArgument);
}

TEST(ToolRegistry, FindListAndUnknownTool) {
  ToolRegistry r;
  auto echo = std::make_unique<EchoTool>();
  const EchoTool* raw = echo.get();
  r.Register(std::move(echo));
  EXPECT_EQ(r.Find("echo"), raw);
  EXPECT_EQ(r.Find("nope"), nullptr);
  ASSERT_EQ(r.List().size(), 1u);
  auto res = r.Call({"t", "c", ""}, "nope", json::object());
  EXPECT_EQ(res.status().code(), ErrorCode::kNotFound);
  // Invalid arguments never reach the tool.
  EXPECT_FALSE(r.Call({"t", "c", ""}, "echo", json::object()).ok());
  EXPECT_EQ(raw->calls.load(), 0);
  auto ok = r.Call({"t", "c", ""}, "echo", json{{"text", "hi"}});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)["tenant"], "t");
  EXPECT_EQ(raw->calls.load(), 1);
}

TEST(ToolRegistry, ConcurrentCalls) {
  ToolRegistry r;
  auto echo = std::make_unique<EchoTool>();
  const EchoTool* raw = echo.get();
  r.Register(std::move(echo));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) ok += r.Call({"t", "c", ""}, "echo", json{{"text", "x"}, {"n", 1 + i % 10}}).ok();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1600);
  EXPECT_EQ(raw->calls.load(), 1600);
}

}  // namespace
}  // namespace kefu::tools
