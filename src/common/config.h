// Config: kefu's typed configuration. Loaded from one TOML file, then
// overridden by environment variables named KEFU_<SECTION>_<KEY> (upper case),
// e.g. KEFU_SERVER_PORT=9000 or KEFU_LLM_BASE_URL=http://127.0.0.1:8000/v1.
// Unknown sections/keys and wrongly typed values are errors naming the key,
// so a typo stops start-up instead of being silently ignored.
// docs/operations.md documents every key; defaults live here.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"

namespace kefu {

struct ServerConfig {
  std::string host = "0.0.0.0";
  int port = 8080;
  int io_threads = 2;                   // Asio I/O threads
  int worker_threads = 2;               // turn processing (dialogue, storage)
  int64_t max_body_bytes = 1 << 20;     // HTTP request body limit
  int64_t max_ws_message_bytes = 64 << 10;
  int request_timeout_ms = 30'000;      // reading one HTTP request
  int ws_idle_timeout_s = 300;          // WebSocket with no traffic (pings keep it alive)
  int ws_max_messages_per_s = 50;       // per-connection flood limit
  int shutdown_grace_ms = 10'000;       // finishing in-flight turns on SIGTERM
  // Open TCP connections (HTTP, SSE, WebSocket) accepted at once; more are
  // answered 503 and closed. 0 = derived from the descriptor limit
  // (RLIMIT_NOFILE minus 64 kept for the database, logs and outbound calls).
  int max_connections = 0;
  int max_connections_per_ip = 256;     // per client address; 0 = no per-address cap (e.g. behind a proxy)
  std::string static_dir;               // web apps; empty = <exe>/../web or ./web/*/dist
  // GET /metrics: empty = open (as before); set = the scraper must send
  // "Authorization: Bearer <metrics_token>" (else 401).
  std::string metrics_token;
};

struct StorageConfig {
  std::string data_dir = "./data";      // SQLite database and other state
  // Where the database is: "" = SQLite at data_dir/kefu.db (as before);
  // "sqlite:///path/kefu.db"; or "postgresql://user@host:port/db" (any libpq
  // URI; docs/operations.md, PostgreSQL).
  std::string url;
  int pool_size = 8;                    // PostgreSQL: connections in the pool
  // PostgreSQL: how long start-up waits for a server it cannot reach yet,
  // trying again from 100 ms backing off to 5 s; 0 = fail at once.
  int connect_timeout_s = 60;
  int busy_timeout_ms = 5'000;
  // Read-only SQLite connections beside the writer; 0 = reads share the
  // writer connection (faster on the 2-core machine we measure on: a reader
  // loses its page cache whenever the writer commits; docs/operations.md).
  int read_connections = 0;
  bool group_commit = true;             // writes waiting at one moment share one transaction
  int group_commit_max_batch = 64;      // at most this many writes per shared transaction
};

// Live state shared between nodes (src/bus, docs/operations.md "[bus]").
struct BusConfig {
  // "" = in-process (one node, the default); "redis://[[user]:password@]host[:port][/db]"
  // = Redis 7, shared by every node that names it. Validated at start.
  std::string url;
  std::string node_id;              // "" = the host name + a random suffix; unique per node
  std::string prefix = "kefu";      // Redis key and channel namespace (several deployments, one Redis)
  int64_t stream_maxlen = 100'000;  // durable events Redis keeps for nodes that were away
};

struct LlmConfig {
  std::string base_url;                 // empty = no LLM, grounded answers only
  std::string model;
  std::string api_key;
  int timeout_ms = 30'000;              // one whole request
  int connect_timeout_ms = 3'000;
  int max_retries = 2;                  // retries on 429/5xx/network errors
  int retry_backoff_ms = 200;           // doubled each retry
  int breaker_failures = 5;             // consecutive failures that open the circuit
  int breaker_cooldown_ms = 30'000;     // how long the circuit stays open
  double temperature = 0.3;
  int max_tokens = 512;
  int max_tool_rounds = 3;
};

struct KnowledgeConfig {
  std::string segmenter = "hybrid";     // "hybrid" | "jieba" | "jieba-plain" | "icu" | "bigram" (docs/knowledge.md)
  std::string jieba_dict = "/usr/lib/python3/dist-packages/jieba/dict.txt";
  int top_k = 5;
  double min_score = 0.0;               // below this a passage is not used
  // The trained question matcher (kefu kb train-matcher): "" = the shipped
  // models/matcher.kmodel when present, "-" = none; a named file that does
  // not load stops start-up.
  std::string matcher_model;
  // Weight of the entry classifier trained on the entries' own similar
  // questions in each passage's confidence (docs/knowledge.md "Entry
  // classifier"); 0 = none is trained.
  double classifier_weight = 0.3;
};

struct DialogueConfig {
  // Order tools answer only in conversations whose customer id was proven
  // with a signed customer token (POST /v1/conversations "customer_token") or
  // opened with the tenant's API key; false trusts the customer_id the client
  // sends (trusted channels only). `kefu serve --demo` uses false unless the
  // file or the environment sets it (Config::IsExplicit).
  bool require_verified_customer = true;
  double answer_threshold = 0.45;       // retrieval confidence needed to answer directly
  double clarify_threshold = 0.25;      // between this and answer_threshold: ask to clarify
  // With [llm]: the model reads the turns the rules are unsure of (intent and
  // the question restated to stand alone; dialogue/llm_understanding.h). The
  // rules, the trained matcher and the index stay the fallback.
  bool llm_understanding = false;
  int llm_understanding_timeout_ms = 2'000;  // a reading slower than this is not waited for
  // With [llm]: the model writes the answers (grounded on the same passages and
  // tools). false = answers come from the knowledge base and templates only.
  bool llm_answers = true;
  // Several nodes on one PostgreSQL (docs/operations.md, "Several nodes"): a
  // conversation's turns run on the node holding its lease. A dead node's
  // leases expire after lease_ttl_ms; every failover_interval_ms each node
  // looks for expired ones and answers what was left unanswered. A turn
  // whose lease another node holds waits up to lease_wait_ms, then gets 503
  // conversation_busy with Retry-After.
  int64_t lease_ttl_ms = 5'000;
  int64_t lease_wait_ms = 1'000;
  // An idle lease is released after this long: the conversation's next turn
  // on the same node needs no database round trip meanwhile.
  int64_t lease_linger_ms = 200;
  int64_t failover_interval_ms = 1'000;
};

// Message center (src/inbox, docs/inbox.md): outbound webhook delivery.
struct InboxConfig {
  int webhook_max_attempts = 10;            // then the delivery is a dead letter
  int webhook_initial_backoff_ms = 10'000;  // first retry delay, doubled per attempt (with jitter)
  int webhook_max_backoff_ms = 3'600'000;   // cap on one retry delay
  int webhook_timeout_ms = 10'000;          // one delivery attempt: connect + send + response
  int webhook_workers = 4;                  // deliveries attempted in parallel
  int webhook_poll_ms = 1'000;              // how often the dispatcher looks for due retries
  int customer_token_ttl_s = 86'400;        // default lifetime of a customer inbox token
  bool webhook_allow_private = false;       // endpoints on loopback/private/link-local addresses (on-prem targets)
};

// Human agents (src/agents, docs/agents.md).
struct AgentsConfig {
  int session_ttl_s = 43'200;          // agent login sessions
  int avg_handle_s = 180;              // assumed handling time per chat, for the customer's estimated wait
  int long_wait_alert_s = 180;         // a queued customer waiting longer alerts supervisors (once)
  int default_max_chats = 5;           // for accounts created without max_chats
  int pwhash_ops = 2;                  // argon2id opslimit (libsodium; 2 = INTERACTIVE)
  int pwhash_mem_kib = 65'536;         // argon2id memlimit in KiB (64 MiB = INTERACTIVE)
  // "auto": a conversation routed to a human goes straight to the least-loaded
  // online agent with the skill and room (else it waits and is assigned as
  // soon as one frees up); "manual": it waits in the queue until an agent accepts.
  std::string assignment = "auto";
  bool llm_assist = true;              // with [llm] configured: generated handoff summaries and suggested replies
  // Login throttling (docs/agents.md, "Login throttling"), checked before any
  // password is hashed; over a limit: 429 rate_limited + Retry-After.
  int login_ip_max_failures = 20;      // failed logins per client address ...
  int login_ip_window_s = 300;         // ... within this sliding window
  int login_account_max_failures = 5;  // consecutive failures of one tenant+username before it is locked
  int login_lockout_s = 30;            // first lockout; each further failure doubles it ...
  int login_lockout_max_s = 900;       // ... up to this; a success resets
  int login_max_tracked = 100'000;     // client addresses and accounts remembered (each); least recently used go
  int login_hash_threads = 2;          // password hashing/verification pool (argon2id, pwhash_mem_kib each)
  int login_hash_queue = 32;           // hashes waiting for it; beyond, 503 unavailable + Retry-After: 1
  // Comma-separated proxy addresses whose X-Forwarded-For names the client
  // (the right-most entry that is not one of them); "" = the peer address only.
  std::string trusted_proxies;
};

// Routing rules (src/routing, docs/routing.md).
struct RoutingConfig {
  std::string rules_dir;               // <tenant_id>.toml files; empty = the shipped defaults for every tenant
  int reload_interval_s = 5;           // how often changed rule files are re-read
};

// Per-turn understanding (src/nlu, docs/nlu.md): the model files the server
// loads at start-up. Empty = the shipped model ($KEFU_MODEL_DIR or models/);
// a model named here that does not load stops start-up.
struct NluConfig {
  std::string sentiment_model;          // e.g. one adapted to this deployment's own traffic (docs/nlu.md)
  std::string emotion_model;
  std::string intent_model;             // intents of every tenant without its own (kefu nlu train --task intent); "-" = none
  std::string tenant_intents_dir;       // <tenant_id>.kmodel files: a tenant's own intent model
  std::string tenant_sentiment_dir;     // <tenant_id>.kmodel files: a tenant's own (e.g. adapted) sentiment model
};

// [channels]: attachments (pictures) on customer messages (src/channels,
// docs/security.md "Uploads").
struct ChannelsConfig {
  int64_t max_image_bytes = 8 << 20;        // one picture as uploaded (decoded from base64); larger → 413
  int64_t max_image_pixels = 40'000'000;    // width × height from the header, checked before decoding
  int max_images_per_message = 4;
  // The HTTP body limit of POST /v1/conversations/{id}/messages only (the
  // other routes keep server.max_body_bytes): base64 adds a third.
  int64_t max_upload_body_bytes = 12 << 20;
  int thumbnail_px = 320;                   // longest side of the stored thumbnail
  std::string ocr = "tesseract";            // "tesseract" (embedded) | "none"
  std::string ocr_languages = "chi_sim+eng";
  std::string tessdata_dir;                 // "" = Debian's /usr/share/tesseract-ocr/5/tessdata
  bool barcodes = true;                     // QR codes and barcodes (zbar)
  std::string blob_dir;                     // "" = <storage.data_dir>/blobs
};

// [asr]: speech recognition (src/voice, docs/voice.md). "pocketsphinx" is
// embedded and English only; Chinese needs "openai": any server with an
// OpenAI-compatible POST /audio/transcriptions (whisper.cpp server, FunASR, vLLM).
struct AsrConfig {
  std::string engine = "pocketsphinx";  // "pocketsphinx" | "openai" | "none"
  std::string base_url;                 // openai: e.g. http://127.0.0.1:8090/v1
  std::string model;                    // openai: required
  std::string api_key;
  int timeout_ms = 30'000;              // one whole transcription, retries included
  int connect_timeout_ms = 3'000;
  int max_retries = 2;                  // on 429/5xx/network errors
  std::string language = "en";          // utterances' default language ("zh" needs openai)
  std::string model_dir;                // pocketsphinx: "" = /usr/share/pocketsphinx/model/en-us
  int decoders = 2;                     // pocketsphinx: utterances decoded at once (≈ 30 MB each)
  int max_seconds = 60;                 // longest utterance accepted
};

// [tts]: speech synthesis (src/voice, docs/voice.md). "espeak" is embedded
// (espeak-ng, robotic but small); "openai": any server with an
// OpenAI-compatible POST /audio/speech.
struct TtsConfig {
  std::string engine = "espeak";        // "espeak" | "openai" | "none"
  std::string base_url;                 // openai
  std::string model;                    // openai: required
  std::string api_key;
  int timeout_ms = 30'000;              // one sentence, retries included
  int connect_timeout_ms = 3'000;
  int max_retries = 2;
  std::string voice;                    // English (default) voice: "" = espeak "en", openai "alloy"
  std::string voice_zh;                 // Chinese voice: "" = espeak "cmn", openai the voice above
  std::string response_format = "wav";  // openai: "wav" | "pcm" (16-bit, pcm_sample_rate)
  int pcm_sample_rate = 24'000;
  int rate_wpm = 165;                   // espeak: words per minute, 80..450
};

// [voice]: the real-time voice channel, GET /v1/conversations/{id}/voice
// (docs/voice.md): [asr] hears the customer, [tts] speaks the replies.
struct VoiceConfig {
  bool enabled = true;                  // false: the endpoint answers 404
  std::string vad = "energy";           // "energy" (src/audio EnergyVad) | "webrtc"
  int max_utterance_ms = 30'000;        // longer speech is cut there (and is still a turn)
  int min_end_silence_ms = 600;         // silence that ends a turn (the endpointer waits longer after short bursts)
  int tts_sample_rate = 16'000;         // reply audio is sent as pcm16 mono at this rate
  int max_reply_audio_s = 60;           // a longer reply is spoken up to here (all of it is in the text)
  int workers = 4;                      // threads for recognition and synthesis (apart from the turn workers)
  int max_sessions = 64;                // open voice calls per node; more get 503
  bool streaming_asr = true;            // recognise while the customer speaks (partials; pocketsphinx: a decoder per talking caller)
};

struct LogConfig {
  std::string level = "info";           // trace|debug|info|warn|error
  bool json = true;                     // structured JSON lines on stderr
};

struct Config {
  ServerConfig server;
  StorageConfig storage;
  BusConfig bus;
  LlmConfig llm;
  KnowledgeConfig knowledge;
  DialogueConfig dialogue;
  AgentsConfig agents;
  RoutingConfig routing;
  InboxConfig inbox;
  NluConfig nlu;
  ChannelsConfig channels;
  AsrConfig asr;
  TtsConfig tts;
  VoiceConfig voice;
  LogConfig log;

  bool LlmEnabled() const { return !llm.base_url.empty(); }
  // "section.key" entries set by the TOML text or an environment override
  // (a default that was not written anywhere is not in it).
  std::set<std::string> explicit_keys;
  bool IsExplicit(const std::string& key) const { return explicit_keys.count(key) > 0; }

  // Parses TOML text (empty = all defaults), then applies `env` overrides
  // ("KEY=VALUE" entries; pass environ-derived entries, or {} in tests).
  static Result<Config> Parse(const std::string& toml_text, const std::vector<std::string>& env = {});
  // Reads `path` (empty = no file) and the process environment.
  static Result<Config> Load(const std::string& path);
};

}  // namespace kefu
