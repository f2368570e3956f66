#include "app/server_app.h"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "agents/desk.h"
#include "agents/routes.h"
#include "api/api.h"
#include "api/tenants.h"
#include "app/schema.h"
#include "app/voice_cli.h"
#include "bus/event_bus.h"
#include "channels/blob_store.h"
#include "channels/intake.h"
#include "channels/reader.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/thread_pool.h"
#include "datahub/routes.h"
#include "demo/demo_shop.h"
#include "dialogue/conversation_service.h"
#include "dialogue/grounded_responder.h"
#include "dialogue/intent_rules.h"
#include "dialogue/llm_responder.h"
#include "dialogue/need_key.h"
#include "http/server.h"
#include "inbox/customer_tokens.h"
#include "inbox/message_center.h"
#include "inbox/routes.h"
#include "inbox/webhooks.h"
#include "knowledge/knowledge_base.h"
#include "knowledge/matcher.h"
#include "llm/openai_client.h"
#include "nlu/analyzer.h"
#include "routing/rule_store.h"
#include "text/segmenter.h"
#include "tools/commerce_store.h"
#include "tools/commerce_tools.h"

namespace kefu::app {

namespace fs = std::filesystem;

struct ServerApp::Impl {
  Config config;
  ServeOptions options;
  const Clock& clock = SystemClock::Instance();
  metrics::Registry metrics;
  // Live state shared with the other nodes ([bus]; in-process by default).
  // Declared early: destroyed after everything that publishes or subscribes.
  std::unique_ptr<bus::EventBus> bus;
  std::unique_ptr<storage::Database> db;
  std::unique_ptr<text::Segmenter> segmenter;
  std::unique_ptr<knowledge::KnowledgeBase> kb;
  std::unique_ptr<text::Segmenter> matcher_segmenter;  // jieba exact mode, for the question matcher
  std::unique_ptr<knowledge::QuestionMatcher> matcher;
  std::unique_ptr<tools::CommerceStore> commerce;
  tools::ToolRegistry tools;
  std::unique_ptr<api::TenantDirectory> tenants;
  std::unique_ptr<dialogue::ConversationStore> store;
  dialogue::ConversationHub hub;
  std::unique_ptr<dialogue::TurnInterpreter> interpreter;  // before `grounded`, which points at it
  std::unique_ptr<dialogue::GroundedResponder> grounded;
  std::unique_ptr<llm::OpenAiClient> llm_client;
  std::unique_ptr<dialogue::LlmResponder> llm_responder;
  std::unique_ptr<nlu::Analyzer> analyzer;
  std::unique_ptr<routing::RuleStore> rules;  // agents: per-tenant routing rules
  // Pictures on customer messages (src/channels): before `workers`, whose
  // tasks use them, so that they are destroyed after the pool is.
  std::unique_ptr<channels::BlobStore> blobs;
  std::unique_ptr<channels::OcrEngine> ocr;
  std::unique_ptr<channels::CodeScanner> codes;
  std::unique_ptr<channels::PictureIntake> pictures;
  // The voice channel (issue 17): engines from [asr]/[tts] and their own
  // workers (recognition blocks for about half the utterance's length); the
  // pool is joined in Stop() before anything its jobs use goes away.
  std::unique_ptr<voice::Asr> asr;
  std::unique_ptr<voice::Tts> tts;
  std::unique_ptr<ThreadPool> voice_workers;
  api::VoiceDeps voice;
  std::unique_ptr<ThreadPool> workers;
  // Several nodes (PostgreSQL): conversation leases; before `service`, which uses them.
  std::unique_ptr<dialogue::LeaseStore> lease_store;
  std::unique_ptr<dialogue::Leases> leases;
  std::unique_ptr<dialogue::ConversationService> service;
  std::unique_ptr<http::Server> server;
  std::unique_ptr<api::ApiRoutes> routes;
  // Human agents (issue 4): accounts, the desk (the service's TurnGate), routes.
  std::unique_ptr<agents::AccountStore> accounts;
  std::unique_ptr<agents::WsAgentFeed> agent_feed;    // the desk's frames to the workspace WebSockets
  std::unique_ptr<agents::SqlDeskStore> desk_store;  // human service in the database
  std::unique_ptr<agents::Desk> desk;
  std::unique_ptr<agents::AgentRoutes> agent_routes;
  // Message center (issue 5, src/inbox): inbox, customer tokens, webhooks.
  std::unique_ptr<inbox::Webhooks> webhooks;
  std::unique_ptr<inbox::MessageCenter> inbox;
  std::unique_ptr<inbox::CustomerTokens> customer_tokens;
  std::unique_ptr<inbox::InboxRoutes> inbox_routes;
  // Data hub (issue 5, src/datahub): ingestion, identities, 360° profiles.
  std::unique_ptr<datahub::IdentityService> identity;
  std::unique_ptr<datahub::IngestService> ingest;
  std::unique_ptr<datahub::ProfileService> profiles;
  std::unique_ptr<datahub::WebhookVerifier> ingest_webhooks;
  std::unique_ptr<datahub::DatahubRoutes> datahub_routes;
  bool stopped = false;
};

namespace {

// A built web app web/<app>/dist: next to the binary's source tree, else ./web; "" if not built.
std::string FindWebAppDir(const std::string& app) {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> candidates;
  if (!ec) {
    for (fs::path p = exe.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path())
      candidates.push_back(p / "web" / app / "dist");
  }
  candidates.push_back(fs::current_path() / "web" / app / "dist");
  for (const auto& c : candidates)
    if (fs::exists(c / "index.html", ec)) return c.string();
  return {};
}

// The chat widget: configured dir, else web/widget/dist.
std::string FindStaticDir(const std::string& configured) {
  if (!configured.empty()) return configured;
  return FindWebAppDir("widget");
}

nlohmann::json WidgetConfigFor(const api::Tenant& t) {
  nlohmann::json cfg = {{"name", t.name},
                        {"greeting", "您好，请问有什么可以帮您？"},
                        {"quick_questions", nlohmann::json::array()}};
  const auto& shop = demo::DemoShopInfo();
  if (t.id == shop.tenant_id) {
    cfg["name"] = shop.name;
    cfg["assistant_name"] = shop.assistant_name;
    cfg["greeting"] = shop.greeting;
    cfg["quick_questions"] = shop.quick_questions;
    cfg["service_hours"] = shop.service_hours_text;
    cfg["hotline"] = shop.hotline;
    nlohmann::json customers = nlohmann::json::array();
    for (const auto& c : shop.demo_customers) customers.push_back({{"id", c.id}, {"name", c.name}});
    cfg["demo_customers"] = customers;
  }
  return cfg;
}

}  // namespace

Result<std::unique_ptr<storage::Database>> OpenDatabase(const Config& config) {
  std::error_code ec;
  fs::create_directories(config.storage.data_dir, ec);
  if (ec) return Unavailable("cannot create data dir " + config.storage.data_dir + ": " + ec.message());
  const std::string db_path = config.storage.url.empty()
                                  ? (fs::path(config.storage.data_dir) / "kefu.db").string()
                                  : config.storage.url;
  storage::DatabaseOptions options;
  options.pool_size = config.storage.pool_size;
  options.connect_timeout_ms = config.storage.connect_timeout_s * 1000;
  options.busy_timeout_ms = config.storage.busy_timeout_ms;
  options.read_connections = config.storage.read_connections;
  options.group_commit = config.storage.group_commit;
  options.group_commit_max_batch = config.storage.group_commit_max_batch;
  return storage::OpenWithSchema(db_path, Schema(), options);
}

void ApplyDemoDefaults(Config& config) {
  if (!config.IsExplicit("dialogue.require_verified_customer")) config.dialogue.require_verified_customer = false;
}

ServerApp::ServerApp(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ServerApp::~ServerApp() { Stop(); }

Result<std::unique_ptr<ServerApp>> ServerApp::Create(const Config& config, const ServeOptions& options) {
  auto impl = std::make_unique<Impl>();
  Impl& a = *impl;
  a.config = config;
  a.options = options;

  // The bus first: a bad [bus] url stops start-up before anything else is
  // opened. An unreachable Redis does not (it is retried; /healthz says so).
  {
    bus::BusOptions bo;
    bo.url = config.bus.url;
    bo.node_id = config.bus.node_id;
    bo.prefix = config.bus.prefix;
    bo.stream_maxlen = config.bus.stream_maxlen;
    KEFU_ASSIGN_OR_RETURN(a.bus, bus::OpenEventBus(bo));
    // Several nodes: conversation events cross to the other nodes' streams.
    if (a.bus->Distributed()) a.hub.AttachBus(a.bus.get());
  }
  KEFU_ASSIGN_OR_RETURN(a.db, OpenDatabase(config));
  if (!config.dialogue.require_verified_customer) {
    // Anyone who knows a customer id could read that customer's orders through the public widget key.
    log::Warn("unverified_customers_trusted",
              {{"setting", "dialogue.require_verified_customer = false"},
               {"risk", "order tools answer any visitor who claims a customer_id: orders, addresses and tracking "
                        "numbers of real customers are readable by anyone with the public widget key"},
               {"hint", "set [dialogue] require_verified_customer = true unless every channel authenticates its "
                        "customers; the shop's backend mints customer tokens (docs/api.md, Customer identity)"},
               {"demo", options.demo}});
  }

  KEFU_ASSIGN_OR_RETURN(a.segmenter, text::CreateSegmenter(config.knowledge));
  knowledge::RankingOptions ranking;
  ranking.classifier_weight = config.knowledge.classifier_weight;
  KEFU_ASSIGN_OR_RETURN(a.kb, knowledge::KnowledgeBase::Create(*a.db, *a.segmenter, config.knowledge, a.clock, ranking));
  {
    // The trained question matcher scores every passage the KB finds.
    std::string path = config.knowledge.matcher_model;
    const bool named = !path.empty() && path != "-";
    if (path.empty()) path = nlu::DefaultModelDir() + "/matcher.kmodel";
    if (path != "-" && (named || std::filesystem::exists(path))) {
      KnowledgeConfig kc = config.knowledge;
      kc.segmenter = "jieba-plain";
      KEFU_ASSIGN_OR_RETURN(a.matcher_segmenter, text::CreateSegmenter(kc));
      auto m = knowledge::QuestionMatcher::Load(path, *a.matcher_segmenter);
      if (!m.ok()) return Status(m.status().code(), "knowledge.matcher_model " + path + ": " + m.status().message());
      a.matcher = std::move(*m);
      a.kb->SetMatcher(a.matcher.get());
      log::Info("question_matcher_loaded", {{"path", path}});
    }
  }
  KEFU_RETURN_IF_ERROR(a.kb->LoadAll());
  a.commerce = std::make_unique<tools::CommerceStore>(*a.db, a.clock);
  tools::CommerceToolsOptions topts;
  topts.clock = &a.clock;
  if (options.demo) topts.service_hours = demo::DemoShopInfo().service_hours;
  tools::RegisterCommerceTools(a.tools, *a.commerce, topts);
  a.tenants = std::make_unique<api::TenantDirectory>(*a.db, a.clock);

  if (options.demo) {
    KEFU_RETURN_IF_ERROR(demo::LoadDemoTenant(*a.db, *a.commerce, *a.kb, a.clock));
    const auto& shop = demo::DemoShopInfo();
    KEFU_RETURN_IF_ERROR(a.tenants->AddApiKey(shop.tenant_id, shop.api_key, "demo"));
  }

  a.store = std::make_unique<dialogue::ConversationStore>(*a.db, a.clock);
  dialogue::GroundedSettings gs;
  gs.answer_threshold = config.dialogue.answer_threshold;
  gs.clarify_threshold = config.dialogue.clarify_threshold;
  gs.top_k = config.knowledge.top_k;
  if (config.LlmEnabled()) {
    KEFU_ASSIGN_OR_RETURN(a.llm_client, llm::OpenAiClient::Create(config.llm, a.metrics, a.clock));
    if (config.dialogue.llm_understanding) {
      dialogue::LlmInterpreterSettings is;
      is.timeout_ms = config.dialogue.llm_understanding_timeout_ms;
      a.interpreter = std::make_unique<dialogue::LlmTurnInterpreter>(*a.llm_client, is);
    }
  } else if (config.dialogue.llm_understanding) {
    log::Warn("llm_understanding_without_llm", {{"detail", "[dialogue] llm_understanding needs [llm] base_url; ignored"}});
  }
  a.grounded = std::make_unique<dialogue::GroundedResponder>(*a.kb, a.tools, gs, a.interpreter.get());
  dialogue::Responder* responder = a.grounded.get();
  if (config.LlmEnabled() && config.dialogue.llm_answers) {
    dialogue::LlmResponderSettings ls;
    ls.max_tool_rounds = config.llm.max_tool_rounds;
    ls.temperature = config.llm.temperature;
    ls.max_tokens = config.llm.max_tokens;
    a.llm_responder = std::make_unique<dialogue::LlmResponder>(*a.llm_client, *a.grounded, *a.kb, a.tools, ls);
    responder = a.llm_responder.get();
  }
  nlu::AnalyzerSettings nlu_settings;
  nlu_settings.sentiment_model = config.nlu.sentiment_model;
  nlu_settings.emotion_model = config.nlu.emotion_model;
  nlu_settings.intent_model = config.nlu.intent_model;
  // Tenants' own models: <dir>/<tenant_id>.kmodel.
  auto tenant_models = [](const std::string& key, const std::string& dir,
                          std::map<std::string, std::string>& into) -> Status {
    if (dir.empty()) return Status::Ok();
    std::error_code ec;
    for (const auto& f : fs::directory_iterator(dir, ec)) {
      if (f.path().extension() == ".kmodel") into[f.path().stem().string()] = f.path().string();
    }
    if (ec) return Unavailable("[nlu] " + key + " " + dir + ": " + ec.message());
    return Status::Ok();
  };
  KEFU_RETURN_IF_ERROR(
      tenant_models("tenant_intents_dir", config.nlu.tenant_intents_dir, nlu_settings.tenant_intent_models));
  KEFU_RETURN_IF_ERROR(
      tenant_models("tenant_sentiment_dir", config.nlu.tenant_sentiment_dir, nlu_settings.tenant_sentiment_models));
  auto analyzer = nlu::Analyzer::Create(nlu_settings);
  const bool nlu_configured = !config.nlu.sentiment_model.empty() || !config.nlu.emotion_model.empty() ||
                              !config.nlu.intent_model.empty() || !config.nlu.tenant_intents_dir.empty() ||
                              !config.nlu.tenant_sentiment_dir.empty();
  if (analyzer.ok()) {
    a.analyzer = std::move(*analyzer);
    if (!nlu_settings.tenant_intent_models.empty() || !nlu_settings.tenant_sentiment_models.empty()) {
      nlohmann::json intents = nlohmann::json::array(), sentiment = nlohmann::json::array();
      for (const auto& [tenant, path] : nlu_settings.tenant_intent_models) intents.push_back(tenant);
      for (const auto& [tenant, path] : nlu_settings.tenant_sentiment_models) sentiment.push_back(tenant);
      log::Info("tenant_models_loaded", {{"intent", intents}, {"sentiment", sentiment}});
    }
  } else if (nlu_configured) {
    // A model the operator named must load: serving without the analysis it
    // was chosen for would be a silent downgrade.
    return Status(analyzer.status().code(), "[nlu] models: " + analyzer.status().message());
  } else {
    log::Warn("nlu_models_not_loaded", {{"error", analyzer.status().ToString()},
                                        {"hint", "turns are answered without sentiment/emotion/intent analysis"}});
  }
  // Routing rules (agents): <rules_dir>/<tenant>.toml, else the shipped defaults.
  a.rules = std::make_unique<routing::RuleStore>();
  if (!config.routing.rules_dir.empty()) {
    std::error_code ec;
    for (const auto& f : fs::directory_iterator(config.routing.rules_dir, ec))
      if (f.path().extension() == ".toml") (void)a.rules->Load(f.path().stem().string(), f.path().string());
    if (ec) log::Warn("routing_rules_dir_unreadable", {{"dir", config.routing.rules_dir}, {"error", ec.message()}});
  }
  a.workers = std::make_unique<ThreadPool>(config.server.worker_threads, "turn");
  dialogue::ServiceSettings service_settings;
  service_settings.require_verified_customer = config.dialogue.require_verified_customer;
  a.service = std::make_unique<dialogue::ConversationService>(*a.store, *responder, *a.workers, a.hub, a.metrics,
                                                              a.clock, service_settings, a.analyzer.get(),
                                                              a.rules.get());
  if (a.db->engine() == storage::Engine::kPostgres) {
    // Nodes that share the database may share its conversations: a
    // conversation's turns run on the node holding its lease (one node
    // alone holds them all, at the cost of two short writes per busy spell).
    a.lease_store = std::make_unique<dialogue::SqlLeaseStore>(*a.db);
    dialogue::LeaseSettings ls;
    ls.owner = a.bus->NodeId() + "." + crypto::RandomHex(4);  // a restarted node is a new owner
    ls.ttl_ms = config.dialogue.lease_ttl_ms;
    ls.wait_ms = config.dialogue.lease_wait_ms;
    ls.linger_ms = config.dialogue.lease_linger_ms;
    a.leases = std::make_unique<dialogue::Leases>(*a.lease_store, a.clock, ls);
    a.service->SetLeases(a.leases.get());
  }
  // Repeats by meaning (dialogue/need_key.h).
  a.service->SetNeedKey([kb = a.kb.get(), min = config.dialogue.clarify_threshold, top_k = config.knowledge.top_k](
                            const std::string& tenant, const std::string& text) {
    return dialogue::NeedKey(*kb, tenant, text, min, top_k);
  });
  // Human agents: accounts, demo accounts, the desk as the turn gate.
  {
    agents::AccountSettings as;
    as.pwhash.ops = static_cast<unsigned long long>(config.agents.pwhash_ops);
    as.pwhash.mem_bytes = static_cast<size_t>(config.agents.pwhash_mem_kib) * 1024;
    as.session_ttl_ms = config.agents.session_ttl_s * 1000LL;
    as.default_max_chats = config.agents.default_max_chats;
    a.accounts = std::make_unique<agents::AccountStore>(*a.db, a.clock, as);
    if (options.demo) KEFU_RETURN_IF_ERROR(agents::EnsureDemoAccounts(*a.accounts, demo::DemoShopInfo().tenant_id));
    agents::DeskSettings ds;
    ds.avg_handle_ms = config.agents.avg_handle_s * 1000LL;
    ds.long_wait_alert_ms = config.agents.long_wait_alert_s * 1000LL;
    ds.reload_interval_ms = config.routing.reload_interval_s * 1000LL;
    ds.rules_dir = config.routing.rules_dir;
    ds.auto_assign = config.agents.assignment == "auto";
    ds.llm_assist = config.agents.llm_assist;
    a.agent_feed = std::make_unique<agents::WsAgentFeed>(a.metrics);
    a.desk_store = std::make_unique<agents::SqlDeskStore>(*a.db);
    agents::DeskDeps dd{*a.desk_store, *a.store, a.hub, *a.accounts, *a.kb, a.clock, a.metrics, a.rules.get(), a.llm_client.get()};
    dd.bus = a.bus.get();  // several nodes: presence, queues and customer messages across nodes
    dd.notifier = a.agent_feed.get();
    KEFU_ASSIGN_OR_RETURN(a.desk, agents::Desk::Create(dd, ds));
    a.service->SetGate(a.desk.get());
  }

  // Pictures (issue 17): blob store under the data dir, OCR, codes.
  {
    const auto& cc = config.channels;
    const std::string blob_dir = cc.blob_dir.empty() ? (fs::path(config.storage.data_dir) / "blobs").string()
                                                     : cc.blob_dir;
    KEFU_ASSIGN_OR_RETURN(auto blobs, channels::FsBlobStore::Create(blob_dir));
    a.blobs = std::move(blobs);
    if (cc.ocr == "tesseract") {
      channels::TesseractSettings ts;
      ts.languages = cc.ocr_languages;
      ts.tessdata_dir = cc.tessdata_dir;
      KEFU_ASSIGN_OR_RETURN(auto ocr, channels::TesseractOcr::Create(ts));
      a.ocr = std::move(ocr);
    }
    if (cc.barcodes) a.codes = std::make_unique<channels::ZbarScanner>();
    channels::IntakeSettings is;
    is.limits.max_bytes = cc.max_image_bytes;
    is.limits.max_pixels = cc.max_image_pixels;
    is.limits.thumbnail_px = cc.thumbnail_px;
    a.pictures = std::make_unique<channels::PictureIntake>(*a.blobs, a.ocr.get(), a.codes.get(), a.metrics, is);
  }

  http::ServerSettings hs = http::ServerSettings::FromConfig(config.server);
  // Only a message POST may carry pictures, hence a body over max_body_bytes.
  hs.max_upload_body_bytes = config.channels.max_upload_body_bytes;
  hs.is_upload_path = [](std::string_view method, std::string_view path) {
    constexpr std::string_view kPrefix = "/v1/conversations/", kSuffix = "/messages";
    return method == "POST" && path.size() > kPrefix.size() + kSuffix.size() && path.substr(0, kPrefix.size()) == kPrefix &&
           path.substr(path.size() - kSuffix.size()) == kSuffix;
  };
  a.server = std::make_unique<http::Server>(hs, a.metrics);
  // Data hub: ingestion, identity resolution (also for new conversations) and profiles.
  a.identity = std::make_unique<datahub::IdentityService>(*a.db, a.clock);
  a.ingest = std::make_unique<datahub::IngestService>(*a.db, *a.identity, a.clock);
  a.profiles = std::make_unique<datahub::ProfileService>(*a.db, *a.identity, a.clock);
  // Integration: "我的订单" and order ownership cover every record of a merged customer.
  a.commerce->SetCustomerCluster([identity = a.identity.get()](const std::string& tenant, const std::string& id) {
    return identity->ClusterIds(tenant, id);
  });
  // Integration: the agent workspace's customer panel carries the 360° profile.
  a.desk->SetProfileProvider([profiles = a.profiles.get()](const std::string& tenant, const std::string& customer_id) {
    return profiles->Get(tenant, customer_id);
  });
  a.ingest_webhooks = std::make_unique<datahub::WebhookVerifier>(*a.db, a.clock);
  // Signed customer tokens (message center): the app's inbox and verified conversations.
  a.customer_tokens = std::make_unique<inbox::CustomerTokens>(*a.db, a.clock);
  // The voice channel: without a recogniser the endpoint answers 503.
  if (config.voice.enabled && config.asr.engine != "none") {
    KEFU_ASSIGN_OR_RETURN(a.asr, MakeAsr(config.asr));
    if (config.tts.engine != "none") {
      KEFU_ASSIGN_OR_RETURN(a.tts, MakeTts(config.tts));
    }
    a.voice_workers = std::make_unique<ThreadPool>(config.voice.workers, "voice");
    a.voice.asr = a.asr.get();
    a.voice.tts = a.tts.get();
    a.voice.workers = a.voice_workers.get();
    a.voice.blobs = a.blobs.get();
    a.voice.clock = &a.clock;
    a.voice.config = config.voice;
    a.voice.asr_language = config.asr.language;
  }
  api::ApiDeps deps{a.config, *a.service, *a.store, a.hub, *a.kb, a.tools, *a.tenants, a.metrics, *a.workers};
  if (a.voice_workers) deps.voice = &a.voice;
  deps.storage = a.db.get();  // GET /healthz reports storage failures
  deps.bus = a.bus.get();     // ... and the bus's
  deps.pictures = a.pictures.get();
  deps.verify_customer_token = [tokens = a.customer_tokens.get()](const std::string& token)
      -> Result<std::pair<std::string, std::string>> {
    KEFU_ASSIGN_OR_RETURN(inbox::CustomerIdentity who, tokens->Verify(token));
    return std::make_pair(who.tenant_id, who.customer_id);
  };
  deps.resolve_identity = [identity = a.identity.get()](const std::string& tenant, const std::string& kind,
                                                        const std::string& value) {
    return identity->ResolveOrCreate(tenant, kind, value);
  };
  a.routes = api::RegisterRoutes(*a.server, deps, WidgetConfigFor);
  a.agent_routes = agents::RegisterAgentRoutes(*a.server, *a.desk, *a.agent_feed, *a.accounts, *a.tenants, a.metrics,
                                               agents::LoginSettingsFrom(config.agents), 2,
                                               a.blobs.get());  // human agents (and customers' pictures)
  // Message center (issue 5): the dispatcher starts with the server.
  a.webhooks = std::make_unique<inbox::Webhooks>(*a.db, a.clock, a.metrics,
                                                 inbox::WebhookSettings::FromConfig(config.inbox));
  a.inbox = std::make_unique<inbox::MessageCenter>(*a.db, a.clock, a.metrics, a.webhooks.get());
  // Integration: a new inbox message is pushed to the open conversation streams of every record
  // of the customer's merged cluster (WS {"type":"inbox","message":{...}}, SSE event "inbox").
  a.inbox->SetListener([hub = &a.hub, identity = a.identity.get()](const inbox::InboxMessage& m) {
    nlohmann::json payload = m.ToJson();
    auto ids = identity->ClusterIds(m.tenant_id, m.customer_id);  // NotFound: no customer record
    if (!ids.ok() || ids->empty()) return hub->PublishToCustomer(m.tenant_id, m.customer_id, "inbox", payload);
    for (const auto& id : *ids) hub->PublishToCustomer(m.tenant_id, id, "inbox", payload);
  });
  a.inbox_routes = inbox::RegisterInboxRoutes(
      *a.server, inbox::RouteDeps{*a.tenants, *a.inbox, *a.webhooks, *a.customer_tokens,
                                  config.inbox.customer_token_ttl_s});
  a.datahub_routes = datahub::RegisterDatahubRoutes(  // data hub
      *a.server, {*a.tenants, *a.ingest, *a.identity, *a.profiles, *a.ingest_webhooks, *a.workers});
  std::string static_dir = FindStaticDir(config.server.static_dir);
  // Agent workspace (issue 4): web/agent/dist at /agent with SPA fallback, so /agent/login and
  // /agent/supervisor load the app. Mounted before "/", whose 404 would otherwise answer first.
  std::string agent_dir = FindWebAppDir("agent");
  if (!agent_dir.empty()) a.server->Static("/agent", agent_dir, /*spa_fallback=*/true);
  else log::Warn("no_agent_workspace", {{"hint", "run scripts/web.sh to build web/agent/dist"}});
  // No SPA fallback: unknown paths (and every unknown /v1 route) are 404.
  if (!static_dir.empty()) a.server->Static("/", static_dir, /*spa_fallback=*/false);
  else log::Warn("no_web_assets", {{"hint", "run scripts/web.sh to build web/widget/dist"}});

  log::Info("configured", {{"data_dir", config.storage.data_dir},
                           {"llm", config.LlmEnabled() ? config.llm.base_url : "off"},
                           {"bus", a.bus->Health().engine},
                           {"node_id", a.bus->NodeId()},
                           {"segmenter", std::string(a.segmenter->Name())},
                           {"static_dir", static_dir},
                           {"agent_dir", agent_dir}});
  return std::unique_ptr<ServerApp>(new ServerApp(std::move(impl)));
}

Status ServerApp::Start() {
  Impl& a = *impl_;
  if (a.bus->Distributed()) {
    // Give Redis a moment to answer; serve anyway if it does not (the bus
    // reconnects with backoff and /healthz reports it meanwhile).
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!a.bus->Health().ok && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    bus::BusHealth h = a.bus->Health();
    if (h.ok) log::Info("bus_connected", {{"engine", h.engine}, {"node_id", h.node_id}});
    else log::Warn("bus_unavailable", {{"error", h.error}, {"hint", "serving anyway; retrying in the background"}});
  }
  if (a.leases) a.leases->Start();
  a.service->RecoverUnanswered();
  if (a.leases) a.service->StartFailover(a.config.dialogue.failover_interval_ms);
  a.desk->Start();  // human agents: long-wait alerts, board frames, rule reload
  KEFU_RETURN_IF_ERROR(a.server->Start());
  a.webhooks->Start();  // message center: deliver pending webhooks (also those left by a previous run)
  log::Info("listening", {{"host", a.config.server.host}, {"port", a.server->port()}});
  if (!a.options.port_file.empty()) {
    // Write atomically so a watcher never reads a half-written number.
    std::string tmp = a.options.port_file + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << a.server->port() << "\n";
      if (!out) return Unavailable("cannot write port file " + tmp);
    }
    std::error_code ec;
    fs::rename(tmp, a.options.port_file, ec);
    if (ec) return Unavailable("cannot write port file " + a.options.port_file + ": " + ec.message());
  }
  return Status::Ok();
}

int ServerApp::port() const { return impl_->server->port(); }

storage::Database& ServerApp::DatabaseForTesting() { return *impl_->db; }

bus::EventBus& ServerApp::BusForTesting() { return *impl_->bus; }

std::vector<std::string> ServerApp::Routes() const { return impl_->server->Routes(); }

void ServerApp::Stop() {
  Impl& a = *impl_;
  if (a.stopped) return;
  a.stopped = true;
  log::Info("shutting_down", {{"in_flight_turns", a.service ? a.service->InFlight() : 0}});
  bool drained = a.service ? a.service->Drain(a.config.server.shutdown_grace_ms) : true;
  if (a.leases) a.leases->ReleaseIdle(/*all=*/true);  // other nodes need not wait for them to expire
  if (a.server) a.server->Stop();
  if (a.voice_workers) a.voice_workers->Shutdown();  // calls are closed: their jobs end
  if (a.webhooks) a.webhooks->Stop();  // message center: unfinished deliveries stay pending
  if (a.workers) a.workers->Shutdown();
  // Events published by the last turns reach Redis before the bus closes
  // (not worth waiting for while Redis is unreachable).
  if (a.bus && a.bus->Distributed() && a.bus->Health().ok && !a.bus->WaitIdle(std::chrono::seconds(2)))
    log::Warn("bus_not_flushed", {{"pending", a.bus->Health().pending}});
  log::Info("stopped", {{"drained", drained}});
}

void ServerApp::RunUntilSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  int sig = 0;
  sigwait(&set, &sig);
  log::Info("signal", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  Stop();
}

}  // namespace kefu::app
