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

TEST(Config, AgentLoginLimitsParseAndAnInvalidOneNamesItsKey) {
  auto d = Config::Parse("");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->agents.login_ip_max_failures, 20);
  EXPECT_EQ(d->agents.login_ip_window_s, 300);
  EXPECT_EQ(d->agents.login_account_max_failures, 5);
  EXPECT_EQ(d->agents.login_lockout_s, 30);
  EXPECT_EQ(d->agents.login_lockout_max_s, 900);
  EXPECT_EQ(d->agents.login_max_tracked, 100'000);
  EXPECT_EQ(d->agents.login_hash_threads, 2);
  EXPECT_EQ(d->agents.login_hash_queue, 32);
  EXPECT_TRUE(d->agents.trusted_proxies.empty());

  auto c = Config::Parse(
      "[agents]\nlogin_ip_max_failures = 50\nlogin_lockout_s = 10\nlogin_lockout_max_s = 60\n"
      "trusted_proxies = \"10.0.0.1, ::1\"\n",
      {"KEFU_AGENTS_LOGIN_HASH_QUEUE=8", "KEFU_AGENTS_LOGIN_HASH_THREADS=1"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->agents.login_ip_max_failures, 50);
  EXPECT_EQ(c->agents.login_lockout_s, 10);
  EXPECT_EQ(c->agents.login_lockout_max_s, 60);
  EXPECT_EQ(c->agents.login_hash_queue, 8);
  EXPECT_EQ(c->agents.login_hash_threads, 1);
  EXPECT_EQ(c->agents.trusted_proxies, "10.0.0.1, ::1");

  for (const char* bad : {"login_ip_max_failures = 0", "login_ip_window_s = 0", "login_account_max_failures = 0",
                          "login_lockout_s = 0", "login_lockout_max_s = 10", "login_max_tracked = 5",
                          "login_hash_threads = 0", "login_hash_queue = 0", "trusted_proxies = \"10.0.0.1, proxy\"",
                          "login_hash_queue = \"x\""}) {
    auto r = Config::Parse(std::string("[agents]\n") + bad + "\n");
    ASSERT_FALSE(r.ok()) << bad;
    std::string key = std::string(bad).substr(0, std::string(bad).find(' '));
    EXPECT_NE(r.status().message().find("agents." + key), std::string::npos) << r.status().message();
  }
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

// Verified customers by default; which keys were written anywhere (the demo
// default must not override them); the metrics token.
TEST(Config, SecureDefaultsAndExplicitKeys) {
  auto d = Config::Parse("");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->dialogue.require_verified_customer);
  EXPECT_TRUE(d->server.metrics_token.empty());
  EXPECT_TRUE(d->explicit_keys.empty());
  auto c = Config::Parse("[dialogue]\nrequire_verified_customer = false\n[server]\nport = 9000\n",
                         {"KEFU_SERVER_METRICS_TOKEN=t0ken", "OTHER=1"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->dialogue.require_verified_customer);
  EXPECT_EQ(c->server.metrics_token, "t0ken");
  EXPECT_TRUE(c->IsExplicit("dialogue.require_verified_customer"));
  EXPECT_TRUE(c->IsExplicit("server.port"));
  EXPECT_TRUE(c->IsExplicit("server.metrics_token"));
  EXPECT_FALSE(c->IsExplicit("server.host"));
}

// [bus]: in-process by default; a Redis URL from the file or KEFU_BUS_URL;
// anything else stops start-up naming the key.
TEST(Config, BusUrlDefaultsToInProcessAndIsValidated) {
  auto d = Config::Parse("");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->bus.url.empty());
  EXPECT_EQ(d->bus.prefix, "kefu");
  auto f = Config::Parse("[bus]\nurl = \"redis://10.0.0.7:6379\"\nnode_id = \"web-1\"\n");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->bus.url, "redis://10.0.0.7:6379");
  EXPECT_EQ(f->bus.node_id, "web-1");
  auto e = Config::Parse("", {"KEFU_BUS_URL=redis://127.0.0.1:6380"});
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->bus.url, "redis://127.0.0.1:6380");
  for (const char* bad : {"KEFU_BUS_URL=http://127.0.0.1:6379", "KEFU_BUS_URL=127.0.0.1:6379",
                          "KEFU_BUS_NODE_ID=has space", "KEFU_BUS_PREFIX=", "KEFU_BUS_STREAM_MAXLEN=5"}) {
    auto b = Config::Parse("", {bad});
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_NE(b.status().message().find("bus."), std::string::npos) << b.status().message();
  }
}

TEST(Config, VoiceSectionsDefaultToTheEmbeddedEnginesAndNameBadKeys) {
  auto d = Config::Parse("");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->asr.engine, "pocketsphinx");
  EXPECT_EQ(d->tts.engine, "espeak");
  auto remote = Config::Parse("[asr]\nengine = \"openai\"\nmodel = \"large-v3\"\nlanguage = \"zh\"\n",
                              {"KEFU_ASR_BASE_URL=http://127.0.0.1:8090/v1", "KEFU_TTS_RATE_WPM=140"});
  ASSERT_TRUE(remote.ok()) << remote.status().ToString();
  EXPECT_EQ(remote->asr.base_url, "http://127.0.0.1:8090/v1");
  EXPECT_EQ(remote->tts.rate_wpm, 140);
  auto no_url = Config::Parse("[asr]\nengine = \"openai\"\nmodel = \"m\"\n");
  ASSERT_FALSE(no_url.ok());
  EXPECT_NE(no_url.status().message().find("asr.base_url"), std::string::npos);
  auto no_model = Config::Parse("[tts]\nengine = \"openai\"\nbase_url = \"http://x/v1\"\n");
  ASSERT_FALSE(no_model.ok());
  EXPECT_NE(no_model.status().message().find("tts.model"), std::string::npos);
  auto zh = Config::Parse("[asr]\nlanguage = \"zh\"\n");
  ASSERT_FALSE(zh.ok());
  EXPECT_NE(zh.status().message().find("asr.language"), std::string::npos);
  EXPECT_FALSE(Config::Parse("[tts]\nengine = \"festival\"\n").ok());
  EXPECT_FALSE(Config::Parse("[tts]\nresponse_format = \"mp3\"\n").ok());
  EXPECT_FALSE(Config::Parse("[asr]\ndecoders = 0\n").ok());
  EXPECT_FALSE(Config::Parse("[asr]\nvoice = \"en\"\n").ok());  // a tts key in the wrong section
}

TEST(Config, StreamingRecognitionIsOnByDefaultAndCanBeTurnedOff) {
  EXPECT_TRUE(Config{}.voice.streaming_asr);
  auto off = Config::Parse("[voice]\nstreaming_asr = false\n");
  ASSERT_TRUE(off.ok()) << off.status().ToString();
  EXPECT_FALSE(off->voice.streaming_asr);
  auto env = Config::Parse("", {"KEFU_VOICE_STREAMING_ASR=false"});
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  EXPECT_FALSE(env->voice.streaming_asr);
  EXPECT_FALSE(Config::Parse("[voice]\nstreaming_asr = \"yes\"\n").ok());
}

}  // namespace kefu
