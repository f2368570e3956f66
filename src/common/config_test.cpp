#include "common/config.h"

#include <gtest/gtest.h>

namespace kefu {

TEST(Config, DefaultsAreValid) {
  auto c = Config::Parse("");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server.port, 8080);
  EXPECT_FALSE(c->LlmEnabled());
}

TEST(Config, ReadsTomlAndEnvironmentOverrides) {
  auto c = Config::Parse("[server]\nport = 9000\n[llm]\nbase_url = \"http://x/v1\"\nmodel = \"m\"\n",
                         {"KEFU_SERVER_PORT=9100", "KEFU_LLM_TEMPERATURE=0.5", "PATH=/bin"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server.port, 9100);
  EXPECT_DOUBLE_EQ(c->llm.temperature, 0.5);
  EXPECT_TRUE(c->LlmEnabled());
}

TEST(Config, RejectsUnknownKeyNamingIt) {
  auto c = Config::Parse("[server]\nprot = 1\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("server.prot"), std::string::npos);
  auto s = Config::Parse("[sever]\nport = 1\n");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("sever"), std::string::npos);
}

TEST(Config, RejectsWrongTypesAndRanges) {
  EXPECT_FALSE(Config::Parse("[server]\nport = \"x\"\n").ok());
  EXPECT_FALSE(Config::Parse("[server]\nport = 70000\n").ok());
  EXPECT_FALSE(Config::Parse("", {"KEFU_SERVER_PORT=abc"}).ok());
  EXPECT_FALSE(Config::Parse("[llm]\nbase_url = \"http://x\"\n").ok());  // model missing
  auto bad = Config::Parse("[server\nport=1");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line"), std::string::npos);
}

TEST(Config, NluModelPaths) {
  auto c = Config::Parse("[nlu]\nintent_model = \"-\"\nsentiment_model = \"/m/s.kmodel\"\n",
                         {"KEFU_NLU_EMOTION_MODEL=/m/e.kmodel"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->nlu.intent_model, "-");
  EXPECT_EQ(c->nlu.sentiment_model, "/m/s.kmodel");
  EXPECT_EQ(c->nlu.emotion_model, "/m/e.kmodel");
  EXPECT_TRUE(Config::Parse("").value().nlu.sentiment_model.empty());  // shipped models
  EXPECT_FALSE(Config::Parse("[nlu]\nsentiment = \"x\"\n").ok());
}

}  // namespace kefu
