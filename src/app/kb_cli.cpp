#include "app/kb_cli.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "knowledge/eval.h"
#include "knowledge/matcher.h"
#include "text/segmenter.h"

namespace kefu::app {

namespace {

std::string DataDir(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("KEFU_DATA")) return env;
  return "../shared/data";
}

Status ReadFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return Status::Ok();
}

[[noreturn]] void Fail(const Status& s, int code = 1) {
  std::cerr << "error: " << s.ToString() << "\n";
  throw CLI::RuntimeError(code);
}

// The objects a kb command needs, built from the app's config and database.
struct KbSession {
  Config config;
  std::unique_ptr<storage::Database> db;
  std::unique_ptr<text::Segmenter> seg;
  std::unique_ptr<knowledge::KnowledgeBase> kb;
};

KbSession Open(const KbCliDeps& deps) {
  KbSession s;
  auto cfg = deps.load_config();
  if (!cfg.ok()) Fail(cfg.status());
  s.config = std::move(*cfg);
  auto db = deps.open_database(s.config);
  if (!db.ok()) Fail(db.status());
  s.db = std::move(*db);
  auto seg = text::CreateSegmenter(s.config.knowledge);
  if (!seg.ok()) Fail(seg.status());
  s.seg = std::move(*seg);
  knowledge::RankingOptions ranking;
  ranking.classifier_weight = s.config.knowledge.classifier_weight;
  auto kb = knowledge::KnowledgeBase::Create(*s.db, *s.seg, s.config.knowledge, SystemClock::Instance(), ranking);
  if (!kb.ok()) Fail(kb.status());
  s.kb = std::move(*kb);
  return s;
}

}  // namespace

int RunKbEval(const KbEvalOptions& o) {
  std::vector<std::string> kinds;
  if (o.segmenter == "all") kinds = {"hybrid", "jieba", "jieba-plain", "icu", "bigram"};
  else kinds = {o.segmenter};
  knowledge::FaqEvalOptions eo;
  eo.csv_path = DataDir(o.data_dir) + "/faq/baoxianzhidao.train.csv";
  eo.split = o.split;
  eo.max_entries = o.max_entries;
  eo.use_question_text = o.question_text;
  eo.index_all_replies = o.all_replies;
  eo.ranking = o.ranking;
  nlohmann::json results = nlohmann::json::array();
  std::printf("| segmenter | entries | queries | hit@1 | hit@5 | MRR | index ms | search µs mean | p50 | p99 | conf (top right) | conf (top wrong) | answered rate (conf >= answer threshold) | precision |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const std::string& kind : kinds) {
    KnowledgeConfig kc;
    kc.segmenter = kind;
    kc.jieba_dict = o.jieba_dict;
    auto seg = text::CreateSegmenter(kc);
    if (!seg.ok()) {
      std::fprintf(stderr, "error: %s\n", seg.status().ToString().c_str());
      return 1;
    }
    auto r = o.paraphrase_kb.empty() ? knowledge::EvaluateFaq(**seg, eo)
                                     : knowledge::EvaluateHeldOutQuestions(**seg, o.paraphrase_kb, o.ranking);
    if (!r.ok()) {
      std::fprintf(stderr, "error: %s\n", r.status().ToString().c_str());
      return 1;
    }
    std::printf("| %s | %d | %d | %.3f | %.3f | %.3f | %.0f | %.1f | %.1f | %.1f | %.2f | %.2f | %.2f | %.2f |\n",
                kind.c_str(), r->entries, r->queries, r->hit1, r->hit5, r->mrr, r->build_ms, r->search_us_mean,
                r->search_us_p50, r->search_us_p99, r->conf_hit_mean, r->conf_miss_mean, r->answer_rate,
                r->answer_precision);
    std::fflush(stdout);
    results.push_back({{"segmenter", kind}, {"split", o.paraphrase_kb.empty() ? o.split : o.paraphrase_kb}, {"entries", r->entries}, {"queries", r->queries},
                       {"hit1", r->hit1}, {"hit5", r->hit5}, {"mrr", r->mrr}, {"build_ms", r->build_ms},
                       {"search_us_mean", r->search_us_mean}, {"search_us_p50", r->search_us_p50},
                       {"search_us_p99", r->search_us_p99}, {"conf_hit_mean", r->conf_hit_mean},
                       {"conf_miss_mean", r->conf_miss_mean}, {"answer_rate", r->answer_rate},
                       {"answer_precision", r->answer_precision}, {"k1", o.ranking.k1}, {"b", o.ranking.b}});
  }
  if (!o.json_out.empty()) {
    std::ofstream out(o.json_out);
    out << results.dump(2) << "\n";
    if (!out) {
      std::fprintf(stderr, "error: cannot write %s\n", o.json_out.c_str());
      return 1;
    }
  }
  return 0;
}

void RegisterKbCommands(CLI::App& app, KbCliDeps deps) {
  auto shared = std::make_shared<KbCliDeps>(std::move(deps));
  CLI::App* kb = app.add_subcommand("kb", "Knowledge base: import, search, evaluate");
  kb->require_subcommand(1);

  struct ImportArgs {
    std::string tenant, format = "md", file;
  };
  auto ia = std::make_shared<ImportArgs>();
  CLI::App* imp = kb->add_subcommand("import", "Import a Markdown/CSV/JSON file into a tenant's knowledge base");
  imp->add_option("--tenant", ia->tenant, "tenant id")->required();
  imp->add_option("--format", ia->format, "md | csv | json")->check(CLI::IsMember({"md", "markdown", "csv", "json"}));
  imp->add_option("file", ia->file, "file to import")->required();
  imp->callback([shared, ia] {
    auto format = knowledge::ParseFormat(ia->format);
    if (!format.ok()) Fail(format.status());
    std::string content;
    Status st = ReadFile(ia->file, content);
    if (!st.ok()) Fail(st);
    KbSession s = Open(*shared);
    auto report = s.kb->Import(ia->tenant, *format, content, ia->file);
    if (!report.ok()) Fail(report.status());
    std::printf("imported %d, updated %d, unchanged %d, errors %zu\n", report->imported, report->updated,
                report->unchanged, report->errors.size());
    for (const auto& e : report->errors) std::printf("%s:%d: %s\n", ia->file.c_str(), e.line, e.reason.c_str());
    if (!report->errors.empty()) throw CLI::RuntimeError(2);
  });

  struct SearchArgs {
    std::string tenant, query, context;
    int top_k = 5;
  };
  auto sa = std::make_shared<SearchArgs>();
  CLI::App* search = kb->add_subcommand("search", "Search a tenant's knowledge base");
  search->add_option("--tenant", sa->tenant, "tenant id")->required();
  search->add_option("--top-k", sa->top_k, "passages to show")->check(CLI::Range(1, 100));
  search->add_option("--context", sa->context, "the conversation so far, for a follow-up ('冰箱呢')");
  search->add_option("query", sa->query, "question")->required();
  search->callback([shared, sa] {
    KbSession s = Open(*shared);
    Status st = s.kb->LoadAll();
    if (!st.ok()) Fail(st);
    auto hits = sa->context.empty() ? s.kb->Search(sa->tenant, sa->query, sa->top_k)
                                    : s.kb->SearchFollowUp(sa->tenant, sa->query, sa->context, sa->top_k);
    if (hits.empty()) std::printf("no passages\n");
    for (const auto& p : hits)
      std::printf("%-20s score %7.3f  confidence %.2f  classifier %5.2f  key word %s  %s\n", p.id.c_str(), p.score,
                  p.confidence, p.classified,
                  p.key_word_unknown ? "unknown" : p.key_word_covered ? "yes" : "no ", p.title.c_str());
  });

  auto eo = std::make_shared<KbEvalOptions>();
  CLI::App* eval = kb->add_subcommand("eval", "Retrieval quality on the insurance FAQ (hit@1, hit@5, MRR)");
  eval->add_option("--data", eo->data_dir, "datasets folder (default $KEFU_DATA or ../shared/data)");
  eval->add_option("--segmenter", eo->segmenter, "hybrid | jieba | jieba-plain | icu | bigram | all")
      ->check(CLI::IsMember({"hybrid", "jieba", "jieba-plain", "icu", "bigram", "all"}));
  eval->add_option("--jieba-dict", eo->jieba_dict, "jieba dict.txt");
  eval->add_option("--split", eo->split, "queried titles: dev | test | all")->check(CLI::IsMember({"dev", "test", "all"}));
  eval->add_option("--max-entries", eo->max_entries, "index only this many entries (demo-sized KB)");
  eval->add_flag("--question-text", eo->question_text, "query with title + question text");
  eval->add_flag("--all-replies", eo->all_replies, "index every reply, not only the accepted ones");
  eval->add_option("--k1", eo->ranking.k1, "BM25 k1");
  eval->add_option("--b", eo->ranking.b, "BM25 b");
  eval->add_option("--json", eo->json_out, "write results as JSON");
  eval->add_option("--paraphrases", eo->paraphrase_kb,
                   "evaluate held-out alternate questions of this Markdown KB instead (e.g. demo/shop/kb.md)");
  eval->callback([eo] {
    int rc = RunKbEval(*eo);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });

  // kb decision-rows: what a search shows for held-out KB questions and for
  // out-of-scope questions (knowledge::DecisionRows), one JSON line each.
  struct RowsArgs {
    std::string data_dir, out;
    std::vector<std::string> kbs;
  };
  auto ra = std::make_shared<RowsArgs>();
  CLI::App* rows = kb->add_subcommand("decision-rows", "Search figures for held-out KB questions and out-of-scope questions (JSON lines)");
  rows->add_option("--data", ra->data_dir, "datasets folder (default $KEFU_DATA or ../shared/data)");
  rows->add_option("--kb", ra->kbs, "Markdown knowledge files")->required();
  rows->add_option("--out", ra->out, "JSON lines file to write")->required();
  rows->callback([ra] {
    const std::string data = DataDir(ra->data_dir);
    KnowledgeConfig kc;
    auto seg = text::CreateSegmenter(kc);
    if (!seg.ok()) Fail(seg.status());
    KnowledgeConfig mc;
    mc.segmenter = "jieba-plain";
    auto mseg = text::CreateSegmenter(mc);
    if (!mseg.ok()) Fail(mseg.status());
    std::unique_ptr<knowledge::QuestionMatcher> matcher;
    const char* dir = std::getenv("KEFU_MODEL_DIR");
    auto m = knowledge::QuestionMatcher::Load(std::string(dir ? dir : "models") + "/matcher.kmodel", **mseg);
    if (m.ok()) matcher = std::move(*m);
    // Out of scope: CLINC150's out-of-scope queries (English) and SMP2019's
    // assistant commands (Chinese: weather, music, apps, flights ...).
    std::vector<std::string> oos;
    {
      std::ifstream in(data + "/intent/clinc150/train_val.json");
      nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
      for (const char* k : {"oos_train", "oos_val"})
        if (j.is_object() && j.contains(k))
          for (const auto& row : j[k]) oos.push_back(row[0].get<std::string>());
    }
    {
      // Pretty-printed JSON with bare NaN slot values (not JSON): each
      // `"text": "..."` line is read on its own (as nlu/datasets.cpp does).
      std::ifstream in(data + "/intent/smp2019_ecdt_nlu/train.json");
      std::string line;
      int n = 0;
      while (std::getline(in, line)) {
        const size_t key = line.find("\"text\":");
        if (key == std::string::npos) continue;
        std::string member = line.substr(key);
        while (!member.empty() && (member.back() == ',' || member.back() == '\r' || member.back() == ' ')) member.pop_back();
        auto j = nlohmann::json::parse("{" + member + "}", nullptr, false);
        if (!j.is_discarded() && j["text"].is_string() && n++ % 3 == 0) oos.push_back(j["text"].get<std::string>());
      }
    }
    auto r = knowledge::DecisionRows(**seg, matcher.get(), ra->kbs, oos, knowledge::RankingOptions{});
    if (!r.ok()) Fail(r.status());
    std::ofstream out(ra->out);
    for (const auto& x : *r)
      out << nlohmann::json{{"c1", x.c1}, {"c2", x.c2}, {"m1", x.m1}, {"en", x.english}, {"pos", x.positive},
                            {"right", x.right}, {"chars", x.chars}, {"q", x.query}, {"expected", x.expected},
                            {"got", x.got}, {"cands", [&] {
                              nlohmann::json a = nlohmann::json::array();
                              for (const auto& c : x.candidates)
                                a.push_back({c.id, c.confidence, c.match, c.classified, c.key_word_covered, c.key_word_unknown});
                              return a;
                            }()}}
                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
          << "\n";
    std::printf("%zu rows (%zu out of scope), matcher %s\n", r->size(), oos.size(), matcher ? "on" : "off");
  });

  // kb train-matcher: the question-pair matcher (knowledge/matcher.h) on afqmc, tested on lcqmc dev.
  auto mo = std::make_shared<knowledge::MatcherRunOptions>();
  mo->jieba_dict = KnowledgeConfig{}.jieba_dict;
  CLI::App* tm = kb->add_subcommand("train-matcher", "Train the question matcher on afqmc; evaluate on held-out afqmc and lcqmc");
  tm->add_option("--data", mo->data_dir, "datasets folder (default $KEFU_DATA or ../shared/data)");
  tm->add_option("--out", mo->out_path, "model file to write (e.g. models/matcher.kmodel)");
  tm->add_option("--json", mo->json_path, "results JSON (default: --out with .json appended)");
  tm->add_option("--jieba-dict", mo->jieba_dict, "jieba dict.txt");
  tm->add_option("--epochs", mo->train.epochs, "SGD passes")->check(CLI::Range(1, 100));
  tm->add_option("--lr", mo->train.learning_rate, "initial learning rate");
  tm->add_option("--l2", mo->train.l2, "L2 strength");
  tm->add_option("--hash-bits", mo->train.hash_bits, "sparse weights: 2^bits")->check(CLI::Range(8, 26));
  tm->add_option("--max-train", mo->max_train, "train on only this many pairs (quick runs)");
  tm->add_flag("--dev", mo->dev, "tuning: evaluate on a dev 10 % of afqmc instead of the held-out test 10 %");
  tm->callback([mo] {
    knowledge::MatcherRunOptions o = *mo;
    o.data_dir = DataDir(o.data_dir);
    if (o.json_path.empty() && !o.out_path.empty()) o.json_path = o.out_path + ".json";
    auto r = knowledge::RunMatcherTraining(o);
    if (!r.ok()) Fail(r.status());
    const nlohmann::json& j = *r;
    std::printf("| model | set | pairs | accuracy | AUC | log-loss |\n|---|---|---|---|---|---|\n");
    for (const char* model : {"matcher", "dense_only_baseline"})
      for (const char* set : {"afqmc_heldout", "lcqmc_dev"}) {
        const auto& m = j[model][set];
        std::printf("| %s | %s | %d | %.4f | %.4f | %.4f |\n", model, set, m["pairs"].get<int>(),
                    m["accuracy"].get<double>(), m["auc"].get<double>(), m["log_loss"].get<double>());
      }
    std::printf("%s\n", j.dump(2).c_str());
  });
}

}  // namespace kefu::app
