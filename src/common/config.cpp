#include "common/config.h"

#include <arpa/inet.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <toml++/toml.h>

extern char** environ;

namespace kefu {
namespace {

// One settable field: how to set it from TOML and from an environment string.
struct Field {
  std::function<Status(const toml::node&)> from_toml;
  std::function<Status(const std::string&)> from_env;
};

using Section = std::map<std::string, Field>;

template <typename T>
Field MakeField(const std::string& key, T* target) {
  Field f;
  if constexpr (std::is_same_v<T, std::string>) {
    f.from_toml = [key, target](const toml::node& n) -> Status {
      if (auto v = n.value<std::string>()) { *target = *v; return Status::Ok(); }
      return InvalidArgument("config key '" + key + "' must be a string");
    };
    f.from_env = [target](const std::string& s) -> Status { *target = s; return Status::Ok(); };
  } else if constexpr (std::is_same_v<T, bool>) {
    f.from_toml = [key, target](const toml::node& n) -> Status {
      if (auto v = n.value<bool>()) { *target = *v; return Status::Ok(); }
      return InvalidArgument("config key '" + key + "' must be true or false");
    };
    f.from_env = [key, target](const std::string& s) -> Status {
      if (s == "true" || s == "1") { *target = true; return Status::Ok(); }
      if (s == "false" || s == "0") { *target = false; return Status::Ok(); }
      return InvalidArgument("environment override for '" + key + "' must be true or false");
    };
  } else if constexpr (std::is_floating_point_v<T>) {
    f.from_toml = [key, target](const toml::node& n) -> Status {
      if (auto v = n.value<double>()) { *target = *v; return Status::Ok(); }
      return InvalidArgument("config key '" + key + "' must be a number");
    };
    f.from_env = [key, target](const std::string& s) -> Status {
      char* end = nullptr;
      double v = std::strtod(s.c_str(), &end);
      if (s.empty() || *end) return InvalidArgument("environment override for '" + key + "' must be a number");
      *target = v;
      return Status::Ok();
    };
  } else {
    f.from_toml = [key, target](const toml::node& n) -> Status {
      if (n.is_integer()) { *target = static_cast<T>(*n.value<int64_t>()); return Status::Ok(); }
      return InvalidArgument("config key '" + key + "' must be an integer");
    };
    f.from_env = [key, target](const std::string& s) -> Status {
      char* end = nullptr;
      long long v = std::strtoll(s.c_str(), &end, 10);
      if (s.empty() || *end) return InvalidArgument("environment override for '" + key + "' must be an integer");
      *target = static_cast<T>(v);
      return Status::Ok();
    };
  }
  return f;
}

std::map<std::string, Section> Describe(Config& c) {
  std::map<std::string, Section> d;
#define F(section, field) d[#section][#field] = MakeField(std::string(#section) + "." #field, &c.section.field)
  F(server, host); F(server, port); F(server, io_threads); F(server, worker_threads);
  F(server, max_body_bytes); F(server, max_ws_message_bytes); F(server, request_timeout_ms);
  F(server, ws_idle_timeout_s); F(server, ws_max_messages_per_s); F(server, shutdown_grace_ms);
  F(server, max_connections); F(server, max_connections_per_ip);
  F(server, static_dir); F(server, metrics_token);
  F(storage, data_dir); F(storage, url); F(storage, pool_size); F(storage, connect_timeout_s); F(storage, busy_timeout_ms); F(storage, read_connections); F(storage, group_commit);
  F(storage, group_commit_max_batch);
  F(bus, url); F(bus, node_id); F(bus, prefix); F(bus, stream_maxlen);
  F(llm, base_url); F(llm, model); F(llm, api_key); F(llm, timeout_ms); F(llm, connect_timeout_ms);
  F(llm, max_retries); F(llm, retry_backoff_ms); F(llm, breaker_failures); F(llm, breaker_cooldown_ms);
  F(llm, temperature); F(llm, max_tokens); F(llm, max_tool_rounds);
  F(knowledge, segmenter); F(knowledge, jieba_dict); F(knowledge, top_k); F(knowledge, min_score);
  F(knowledge, matcher_model); F(knowledge, classifier_weight);
  F(dialogue, answer_threshold); F(dialogue, clarify_threshold); F(dialogue, require_verified_customer);
  F(dialogue, llm_understanding); F(dialogue, llm_understanding_timeout_ms); F(dialogue, llm_answers);
  F(dialogue, lease_ttl_ms); F(dialogue, lease_wait_ms); F(dialogue, lease_linger_ms); F(dialogue, failover_interval_ms);
  F(agents, session_ttl_s); F(agents, avg_handle_s); F(agents, long_wait_alert_s); F(agents, default_max_chats);
  F(agents, pwhash_ops); F(agents, pwhash_mem_kib); F(agents, assignment); F(agents, llm_assist);
  F(agents, login_ip_max_failures); F(agents, login_ip_window_s); F(agents, login_account_max_failures);
  F(agents, login_lockout_s); F(agents, login_lockout_max_s); F(agents, login_max_tracked);
  F(agents, login_hash_threads); F(agents, login_hash_queue); F(agents, trusted_proxies);
  F(routing, rules_dir); F(routing, reload_interval_s);
  F(inbox, webhook_max_attempts); F(inbox, webhook_initial_backoff_ms); F(inbox, webhook_max_backoff_ms);
  F(inbox, webhook_timeout_ms); F(inbox, webhook_workers); F(inbox, webhook_poll_ms); F(inbox, customer_token_ttl_s);
  F(inbox, webhook_allow_private);
  F(nlu, sentiment_model); F(nlu, emotion_model); F(nlu, intent_model); F(nlu, tenant_intents_dir); F(nlu, tenant_sentiment_dir);
  F(channels, max_image_bytes); F(channels, max_image_pixels); F(channels, max_images_per_message);
  F(channels, max_upload_body_bytes); F(channels, thumbnail_px); F(channels, ocr); F(channels, ocr_languages);
  F(channels, tessdata_dir); F(channels, barcodes); F(channels, blob_dir);
  F(asr, engine); F(asr, base_url); F(asr, model); F(asr, api_key); F(asr, timeout_ms); F(asr, connect_timeout_ms);
  F(asr, max_retries); F(asr, language); F(asr, model_dir); F(asr, decoders); F(asr, max_seconds);
  F(tts, engine); F(tts, base_url); F(tts, model); F(tts, api_key); F(tts, timeout_ms); F(tts, connect_timeout_ms);
  F(tts, max_retries); F(tts, voice); F(tts, voice_zh); F(tts, response_format); F(tts, pcm_sample_rate);
  F(tts, rate_wpm);
  F(voice, enabled); F(voice, vad); F(voice, max_utterance_ms); F(voice, min_end_silence_ms);
  F(voice, tts_sample_rate); F(voice, max_reply_audio_s); F(voice, workers); F(voice, max_sessions);
  F(voice, streaming_asr);
  F(log, level); F(log, json);
#undef F
  return d;
}

std::string Upper(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

// The first entry of a comma-separated list that is not an IPv4/IPv6
// address, "" when all are.
std::string FirstNonAddress(const std::string& list) {
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    if (b == std::string::npos) continue;
    item = item.substr(b, e - b + 1);
    unsigned char buf[sizeof(in6_addr)];
    if (inet_pton(AF_INET, item.c_str(), buf) != 1 && inet_pton(AF_INET6, item.c_str(), buf) != 1) return item;
  }
  return "";
}

// One remote voice engine's connection keys ([asr] or [tts] with engine "openai").
Status ValidateRemote(const std::string& section, const std::string& engine, const std::string& base_url,
                      const std::string& model, int timeout_ms, int connect_timeout_ms, int max_retries) {
  if (engine == "openai") {
    if (base_url.rfind("http://", 0) != 0 && base_url.rfind("https://", 0) != 0)
      return InvalidArgument(section + ".base_url must start with http:// or https:// when " + section +
                             ".engine is \"openai\"");
    if (model.empty()) return InvalidArgument(section + ".model is required when " + section + ".engine is \"openai\"");
  }
  if (timeout_ms < 100 || timeout_ms > 600'000) return InvalidArgument(section + ".timeout_ms must be 100..600000");
  if (connect_timeout_ms < 10 || connect_timeout_ms > 60'000)
    return InvalidArgument(section + ".connect_timeout_ms must be 10..60000");
  if (max_retries < 0 || max_retries > 10) return InvalidArgument(section + ".max_retries must be 0..10");
  return Status::Ok();
}

Status ValidateVoice(const AsrConfig& a, const TtsConfig& t) {
  if (a.engine != "pocketsphinx" && a.engine != "openai" && a.engine != "none")
    return InvalidArgument("asr.engine must be \"pocketsphinx\", \"openai\" or \"none\"");
  KEFU_RETURN_IF_ERROR(
      ValidateRemote("asr", a.engine, a.base_url, a.model, a.timeout_ms, a.connect_timeout_ms, a.max_retries));
  if (a.engine == "pocketsphinx" && !a.language.empty() && a.language != "en" && a.language.rfind("en-", 0) != 0)
    return InvalidArgument("asr.language \"" + a.language +
                           "\" needs asr.engine = \"openai\" (pocketsphinx recognises English only)");
  if (a.decoders < 1 || a.decoders > 16) return InvalidArgument("asr.decoders must be 1..16");
  if (a.max_seconds < 1 || a.max_seconds > 3600) return InvalidArgument("asr.max_seconds must be 1..3600");
  if (t.engine != "espeak" && t.engine != "openai" && t.engine != "none")
    return InvalidArgument("tts.engine must be \"espeak\", \"openai\" or \"none\"");
  KEFU_RETURN_IF_ERROR(
      ValidateRemote("tts", t.engine, t.base_url, t.model, t.timeout_ms, t.connect_timeout_ms, t.max_retries));
  if (t.response_format != "wav" && t.response_format != "pcm")
    return InvalidArgument("tts.response_format must be \"wav\" or \"pcm\"");
  if (t.pcm_sample_rate < 8000 || t.pcm_sample_rate > 48000)
    return InvalidArgument("tts.pcm_sample_rate must be 8000..48000");
  if (t.rate_wpm < 80 || t.rate_wpm > 450) return InvalidArgument("tts.rate_wpm must be 80..450");
  return Status::Ok();
}

Status ValidateVoiceChannel(const VoiceConfig& v, const AsrConfig& a) {
  if (v.vad != "energy" && v.vad != "webrtc") return InvalidArgument("voice.vad must be \"energy\" or \"webrtc\"");
  if (v.max_utterance_ms < 1000 || v.max_utterance_ms > a.max_seconds * 1000)
    return InvalidArgument("voice.max_utterance_ms must be 1000..asr.max_seconds*1000");
  if (v.min_end_silence_ms < 200 || v.min_end_silence_ms > 1500)
    return InvalidArgument("voice.min_end_silence_ms must be 200..1500");
  if (v.tts_sample_rate < 8000 || v.tts_sample_rate > 48000)
    return InvalidArgument("voice.tts_sample_rate must be 8000..48000");
  if (v.max_reply_audio_s < 1 || v.max_reply_audio_s > 600) return InvalidArgument("voice.max_reply_audio_s must be 1..600");
  if (v.workers < 1 || v.workers > 64) return InvalidArgument("voice.workers must be 1..64");
  if (v.max_sessions < 1 || v.max_sessions > 100000) return InvalidArgument("voice.max_sessions must be 1..100000");
  return Status::Ok();
}

Status Validate(const Config& c) {
  if (c.server.port < 0 || c.server.port > 65535) return InvalidArgument("server.port must be 0..65535");
  if (c.server.io_threads < 1 || c.server.io_threads > 256) return InvalidArgument("server.io_threads must be 1..256");
  if (c.server.worker_threads < 1 || c.server.worker_threads > 256)
    return InvalidArgument("server.worker_threads must be 1..256");
  if (c.server.max_body_bytes < 1024) return InvalidArgument("server.max_body_bytes must be at least 1024");
  if (c.server.max_ws_message_bytes < 256) return InvalidArgument("server.max_ws_message_bytes must be at least 256");
  if (c.server.ws_max_messages_per_s < 1) return InvalidArgument("server.ws_max_messages_per_s must be positive");
  if (c.server.max_connections < 0) return InvalidArgument("server.max_connections must be 0 (auto) or positive");
  if (c.server.max_connections_per_ip < 0)
    return InvalidArgument("server.max_connections_per_ip must be 0 (no cap) or positive");
  if (c.storage.data_dir.empty()) return InvalidArgument("storage.data_dir must not be empty");
  if (c.channels.max_image_bytes < 1024) return InvalidArgument("channels.max_image_bytes must be at least 1024");
  if (c.channels.max_image_pixels < 1024) return InvalidArgument("channels.max_image_pixels must be at least 1024");
  if (c.channels.max_images_per_message < 1 || c.channels.max_images_per_message > 16)
    return InvalidArgument("channels.max_images_per_message must be 1..16");
  if (c.channels.thumbnail_px < 16 || c.channels.thumbnail_px > 2048)
    return InvalidArgument("channels.thumbnail_px must be 16..2048");
  if (c.channels.ocr != "tesseract" && c.channels.ocr != "none")
    return InvalidArgument("channels.ocr must be \"tesseract\" or \"none\"");
  if (!c.storage.url.empty()) {
    const auto& u = c.storage.url;
    const bool known = u.rfind("sqlite://", 0) == 0 || u.rfind("postgresql://", 0) == 0 || u.rfind("postgres://", 0) == 0;
    if (!known || u == "sqlite://")
      return InvalidArgument("storage.url must be sqlite:///path/kefu.db or postgresql://user@host:port/db (got '" +
                             u.substr(0, u.find("://")) + "://...')");
  }
  if (c.storage.pool_size < 1 || c.storage.pool_size > 256) return InvalidArgument("storage.pool_size must be 1..256");
  if (c.storage.connect_timeout_s < 0 || c.storage.connect_timeout_s > 86'400)
    return InvalidArgument("storage.connect_timeout_s must be 0..86400");
  if (c.storage.read_connections < 0 || c.storage.read_connections > 64)
    return InvalidArgument("storage.read_connections must be 0..64");
  if (c.storage.group_commit_max_batch < 1 || c.storage.group_commit_max_batch > 10'000)
    return InvalidArgument("storage.group_commit_max_batch must be 1..10000");
  // The URL's form is checked here; bus::OpenEventBus checks the rest (host,
  // port, database) when the server starts.
  if (!c.bus.url.empty() && c.bus.url.rfind("redis://", 0) != 0)
    return InvalidArgument("bus.url must be redis://host:port (or empty for in-process; got '" +
                           (c.bus.url.find("://") == std::string::npos ? std::string("no scheme")
                                                                       : c.bus.url.substr(0, c.bus.url.find("://")) + "://...") +
                           "')");
  if (!c.bus.node_id.empty()) {
    bool ok = c.bus.node_id.size() <= 64;
    for (char ch : c.bus.node_id)
      ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-');
    if (!ok) return InvalidArgument("bus.node_id must be 1..64 characters of A-Z a-z 0-9 . _ -");
  }
  if (c.bus.prefix.empty() || c.bus.prefix.size() > 64 ||
      c.bus.prefix.find_first_of(" \t\r\n") != std::string::npos)
    return InvalidArgument("bus.prefix must be 1..64 characters without spaces");
  if (c.bus.stream_maxlen < 1000 || c.bus.stream_maxlen > 100'000'000)
    return InvalidArgument("bus.stream_maxlen must be 1000..100000000");
  if (c.knowledge.segmenter != "hybrid" && c.knowledge.segmenter != "jieba" && c.knowledge.segmenter != "jieba-plain" &&
      c.knowledge.segmenter != "icu" && c.knowledge.segmenter != "bigram")
    return InvalidArgument("knowledge.segmenter must be one of hybrid, jieba, jieba-plain, icu, bigram");
  if (c.knowledge.top_k < 1 || c.knowledge.top_k > 100) return InvalidArgument("knowledge.top_k must be 1..100");
  if (!(c.knowledge.classifier_weight >= 0 && c.knowledge.classifier_weight <= 1))
    return InvalidArgument("knowledge.classifier_weight must be 0..1");
  if (!c.llm.base_url.empty() && c.llm.base_url.rfind("http://", 0) != 0 && c.llm.base_url.rfind("https://", 0) != 0)
    return InvalidArgument("llm.base_url must start with http:// or https://");
  if (!c.llm.base_url.empty() && c.llm.model.empty()) return InvalidArgument("llm.model is required when llm.base_url is set");
  if (c.llm.timeout_ms < 100) return InvalidArgument("llm.timeout_ms must be at least 100");
  if (c.llm.max_retries < 0 || c.llm.max_retries > 10) return InvalidArgument("llm.max_retries must be 0..10");
  static const char* kLevels[] = {"trace", "debug", "info", "warn", "error"};
  bool level_ok = false;
  for (auto* l : kLevels) level_ok |= c.log.level == l;
  if (!level_ok) return InvalidArgument("log.level must be one of trace, debug, info, warn, error");
  if (c.dialogue.llm_understanding_timeout_ms < 50 || c.dialogue.llm_understanding_timeout_ms > 60'000)
    return InvalidArgument("dialogue.llm_understanding_timeout_ms must be 50..60000");
  if (c.dialogue.lease_ttl_ms < 1'000 || c.dialogue.lease_ttl_ms > 600'000)
    return InvalidArgument("dialogue.lease_ttl_ms must be 1000..600000");
  if (c.dialogue.lease_wait_ms < 0 || c.dialogue.lease_wait_ms > 60'000)
    return InvalidArgument("dialogue.lease_wait_ms must be 0..60000");
  if (c.dialogue.lease_linger_ms < 0 || c.dialogue.lease_linger_ms > 10'000)
    return InvalidArgument("dialogue.lease_linger_ms must be 0..10000");
  if (c.dialogue.failover_interval_ms < 100 || c.dialogue.failover_interval_ms > 600'000)
    return InvalidArgument("dialogue.failover_interval_ms must be 100..600000");
  if (c.dialogue.clarify_threshold > c.dialogue.answer_threshold)
    return InvalidArgument("dialogue.clarify_threshold must not exceed dialogue.answer_threshold");
  if (c.agents.session_ttl_s < 60) return InvalidArgument("agents.session_ttl_s must be at least 60");
  if (c.agents.avg_handle_s < 1) return InvalidArgument("agents.avg_handle_s must be positive");
  if (c.agents.long_wait_alert_s < 1) return InvalidArgument("agents.long_wait_alert_s must be positive");
  if (c.agents.default_max_chats < 1 || c.agents.default_max_chats > 1000)
    return InvalidArgument("agents.default_max_chats must be 1..1000");
  if (c.agents.assignment != "auto" && c.agents.assignment != "manual")
    return InvalidArgument("agents.assignment must be auto or manual");
  if (c.agents.pwhash_ops < 1 || c.agents.pwhash_ops > 10) return InvalidArgument("agents.pwhash_ops must be 1..10");
  if (c.agents.pwhash_mem_kib < 8 || c.agents.pwhash_mem_kib > 1'048'576)
    return InvalidArgument("agents.pwhash_mem_kib must be 8..1048576");
  if (c.agents.login_ip_max_failures < 1 || c.agents.login_ip_max_failures > 1'000'000)
    return InvalidArgument("agents.login_ip_max_failures must be 1..1000000");
  if (c.agents.login_ip_window_s < 1 || c.agents.login_ip_window_s > 86'400)
    return InvalidArgument("agents.login_ip_window_s must be 1..86400");
  if (c.agents.login_account_max_failures < 1 || c.agents.login_account_max_failures > 1000)
    return InvalidArgument("agents.login_account_max_failures must be 1..1000");
  if (c.agents.login_lockout_s < 1 || c.agents.login_lockout_s > 86'400)
    return InvalidArgument("agents.login_lockout_s must be 1..86400");
  if (c.agents.login_lockout_max_s < c.agents.login_lockout_s || c.agents.login_lockout_max_s > 86'400)
    return InvalidArgument("agents.login_lockout_max_s must be agents.login_lockout_s..86400");
  if (c.agents.login_max_tracked < 100 || c.agents.login_max_tracked > 10'000'000)
    return InvalidArgument("agents.login_max_tracked must be 100..10000000");
  if (c.agents.login_hash_threads < 1 || c.agents.login_hash_threads > 64)
    return InvalidArgument("agents.login_hash_threads must be 1..64");
  if (c.agents.login_hash_queue < 1 || c.agents.login_hash_queue > 10'000)
    return InvalidArgument("agents.login_hash_queue must be 1..10000");
  if (std::string bad = FirstNonAddress(c.agents.trusted_proxies); !bad.empty())
    return InvalidArgument("agents.trusted_proxies: '" + bad + "' is not an IP address (comma-separated addresses)");
  if (c.routing.reload_interval_s < 1) return InvalidArgument("routing.reload_interval_s must be positive");
  if (c.inbox.webhook_max_attempts < 1 || c.inbox.webhook_max_attempts > 100)
    return InvalidArgument("inbox.webhook_max_attempts must be 1..100");
  if (c.inbox.webhook_initial_backoff_ms < 1 || c.inbox.webhook_max_backoff_ms < c.inbox.webhook_initial_backoff_ms)
    return InvalidArgument("inbox.webhook_initial_backoff_ms must be positive and at most inbox.webhook_max_backoff_ms");
  if (c.inbox.webhook_timeout_ms < 100) return InvalidArgument("inbox.webhook_timeout_ms must be at least 100");
  if (c.inbox.webhook_workers < 1 || c.inbox.webhook_workers > 64)
    return InvalidArgument("inbox.webhook_workers must be 1..64");
  if (c.inbox.webhook_poll_ms < 10) return InvalidArgument("inbox.webhook_poll_ms must be at least 10");
  if (c.inbox.customer_token_ttl_s < 60) return InvalidArgument("inbox.customer_token_ttl_s must be at least 60");
  KEFU_RETURN_IF_ERROR(ValidateVoice(c.asr, c.tts));
  KEFU_RETURN_IF_ERROR(ValidateVoiceChannel(c.voice, c.asr));
  return Status::Ok();
}

}  // namespace

Result<Config> Config::Parse(const std::string& toml_text, const std::vector<std::string>& env) {
  Config c;
  auto desc = Describe(c);
  if (!toml_text.empty()) {
    toml::table tbl;
    try {
      tbl = toml::parse(toml_text);
    } catch (const toml::parse_error& e) {
      std::ostringstream os;
      os << "config: " << e.description() << " at line " << e.source().begin.line;
      return InvalidArgument(os.str());
    }
    for (auto&& [sk, sv] : tbl) {
      std::string section(sk.str());
      auto sit = desc.find(section);
      if (sit == desc.end()) return InvalidArgument("config: unknown section '" + section + "'");
      auto* st = sv.as_table();
      if (!st) return InvalidArgument("config: '" + section + "' must be a table");
      for (auto&& [kk, kv] : *st) {
        std::string key(kk.str());
        auto fit = sit->second.find(key);
        if (fit == sit->second.end())
          return InvalidArgument("config: unknown key '" + section + "." + key + "'");
        KEFU_RETURN_IF_ERROR(fit->second.from_toml(kv));
        c.explicit_keys.insert(section + "." + key);
      }
    }
  }
  for (const auto& kv : env) {
    if (kv.rfind("KEFU_", 0) != 0) continue;
    auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    std::string name = kv.substr(0, eq), value = kv.substr(eq + 1);
    for (auto& [section, fields] : desc) {
      for (auto& [key, field] : fields) {
        if (name == "KEFU_" + Upper(section) + "_" + Upper(key)) {
          KEFU_RETURN_IF_ERROR(field.from_env(value));
          c.explicit_keys.insert(section + "." + key);
        }
      }
    }
  }
  KEFU_RETURN_IF_ERROR(Validate(c));
  return c;
}

Result<Config> Config::Load(const std::string& path) {
  std::string text;
  if (!path.empty()) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return NotFound("config: cannot read " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
  return Parse(text, env);
}

}  // namespace kefu
