#include "knowledge/eval.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "knowledge/index.h"
#include "knowledge/parse.h"
#include "common/utf8.h"

namespace kefu::knowledge {

namespace {
uint64_t Fnv(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}
// The dialogue's default threshold for answering directly, so the reported
// answer rate/precision is what the responder would do.
const double kAnswerThreshold = DialogueConfig{}.answer_threshold;
double NowUs() {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Accumulates per-query outcomes into a FaqEvalResult.
class Tally {
 public:
  // `rank`: 1-based position of the right entry in `hits`, 0 when absent.
  void Add(int rank, const std::vector<Passage>& hits, double latency_us) {
    lat_.push_back(latency_us);
    res_.hit1 += rank == 1;
    res_.hit5 += rank >= 1 && rank <= 5;
    res_.mrr += rank ? 1.0 / rank : 0;
    if (hits.empty()) return;
    if (rank == 1) {
      conf_hit_ += hits[0].confidence;
      ++n_hit1_;
    } else {
      conf_miss_ += hits[0].confidence;
      ++n_miss_;
    }
    if (hits[0].confidence >= kAnswerThreshold) {
      res_.answer_rate += 1;
      res_.answer_precision += rank == 1;
    }
  }

  FaqEvalResult Finish(int entries) {
    FaqEvalResult res = res_;
    res.entries = entries;
    res.queries = static_cast<int>(lat_.size());
    if (res.queries > 0) {
      res.hit1 /= res.queries;
      res.hit5 /= res.queries;
      res.mrr /= res.queries;
      std::sort(lat_.begin(), lat_.end());
      double sum = 0;
      for (double l : lat_) sum += l;
      res.search_us_mean = sum / static_cast<double>(lat_.size());
      res.search_us_p50 = lat_[lat_.size() / 2];
      res.search_us_p99 = lat_[std::min(lat_.size() - 1, lat_.size() * 99 / 100)];
    }
    res.answer_precision = res.answer_rate > 0 ? res.answer_precision / res.answer_rate : 0;
    res.answer_rate = res.queries > 0 ? res.answer_rate / res.queries : 0;
    res.conf_hit_mean = n_hit1_ ? conf_hit_ / n_hit1_ : 0;
    res.conf_miss_mean = n_miss_ ? conf_miss_ / n_miss_ : 0;
    return res;
  }

 private:
  FaqEvalResult res_;
  std::vector<double> lat_;
  double conf_hit_ = 0, conf_miss_ = 0;
  int n_hit1_ = 0, n_miss_ = 0;
};
}  // namespace

Result<FaqEvalResult> EvaluateFaq(const text::Segmenter& seg, const FaqEvalOptions& options) {
  if (options.split != "dev" && options.split != "test" && options.split != "all")
    return InvalidArgument("split must be dev, test or all");
  std::ifstream in(options.csv_path, std::ios::binary);
  if (!in) return NotFound("FAQ data not found: " + options.csv_path);
  std::stringstream ss;
  ss << in.rdbuf();
  KEFU_ASSIGN_OR_RETURN(CsvRecords csv, ReadCsv(ss.str()));
  if (csv.rows.empty() || csv.rows[0].size() < 4 || csv.rows[0][0] != "title" || csv.rows[0][2] != "reply")
    return InvalidArgument(options.csv_path + ": expected header title,question,reply,is_best");

  struct Title {
    std::string question;
    std::vector<std::string> answer_ids;
  };
  std::map<std::string, Title> titles;  // title -> accepted answers
  std::vector<KbEntry> answers;
  for (size_t r = 1; r < csv.rows.size(); ++r) {
    const auto& row = csv.rows[r];
    if (row.size() < 4 || row[2].empty() || row[0].empty()) continue;
    const bool best = row[3] == "1";
    if (!best && !options.index_all_replies) continue;
    KbEntry e;
    e.id = "r" + std::to_string(r);
    e.body = row[2];
    Title& t = titles[row[0]];
    if (best) t.answer_ids.push_back(e.id);
    if (t.question.empty()) t.question = row[1];
    answers.push_back(std::move(e));
  }

  std::vector<const std::string*> order;  // titles in hash order
  for (const auto& [t, info] : titles)
    if (!info.answer_ids.empty()) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const std::string* a, const std::string* b) {
    uint64_t ha = Fnv(*a), hb = Fnv(*b);
    return ha != hb ? ha < hb : *a < *b;
  });
  std::vector<const std::string*> queries;
  std::set<std::string> keep_ids;
  if (options.max_entries > 0) {
    for (const std::string* t : order) {
      if (static_cast<int>(keep_ids.size()) >= options.max_entries) break;
      queries.push_back(t);
      for (const auto& id : titles[*t].answer_ids) keep_ids.insert(id);
    }
    std::erase_if(answers, [&](const KbEntry& e) { return !keep_ids.count(e.id); });  // accepted answers only
  } else {
    for (const std::string* t : order) {
      bool dev = Fnv(*t) % 2 == 0;
      if (options.split == "all" || (options.split == "dev") == dev) queries.push_back(t);
    }
  }

  const int entries = static_cast<int>(answers.size());
  double t0 = NowUs();
  std::vector<std::shared_ptr<const AnalyzedEntry>> docs;
  docs.reserve(answers.size());
  for (KbEntry& e : answers) docs.push_back(Analyze(std::move(e), seg, options.ranking));
  TenantIndex index(std::move(docs), {}, seg, options.ranking);
  const double build_ms = (NowUs() - t0) / 1000;

  Tally tally;
  for (const std::string* t : queries) {
    const Title& info = titles[*t];
    std::string q = *t;
    if (options.use_question_text && !info.question.empty()) q += " " + info.question;
    double s0 = NowUs();
    std::vector<Passage> hits = index.Search(q, 10, 0.0);
    double us = NowUs() - s0;
    int rank = 0;
    for (size_t i = 0; i < hits.size() && rank == 0; ++i)
      if (std::find(info.answer_ids.begin(), info.answer_ids.end(), hits[i].id) != info.answer_ids.end())
        rank = static_cast<int>(i) + 1;
    tally.Add(rank, hits, us);
  }
  FaqEvalResult res = tally.Finish(entries);
  res.build_ms = build_ms;
  return res;
}

Result<FaqEvalResult> EvaluateHeldOutQuestions(const text::Segmenter& seg, const std::string& path,
                                               const RankingOptions& words_ranking, size_t max_queries) {
  // One index per held-out question (leave-one-out): the words alone, without
  // the entry classifier, which would be retrained for each of them (decision-rows
  // measures it, on five folds).
  RankingOptions ranking = words_ranking;
  ranking.classifier_weight = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("knowledge file not found: " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  ParsedFile parsed = ParseMarkdown(ss.str());
  if (parsed.entries.empty()) return InvalidArgument(path + ": no entries");
  std::vector<std::shared_ptr<const AnalyzedEntry>> all;
  for (const auto& item : parsed.entries) all.push_back(Analyze(item.entry, seg, ranking));
  size_t total = 0;
  for (const auto& a : all) total += a->entry.questions.size();
  // Every `step`-th question (by its place in the file) when they are too many.
  const double step = max_queries > 0 && total > max_queries ? static_cast<double>(total) / max_queries : 1.0;
  double next = 0;
  size_t seen = 0;
  Tally tally;
  for (size_t i = 0; i < all.size(); ++i) {
    const KbEntry& e = all[i]->entry;
    for (size_t qi = 0; qi < e.questions.size(); ++qi, ++seen) {
      if (static_cast<double>(seen) < next) continue;
      next += step;
      KbEntry reduced = e;
      reduced.questions.erase(reduced.questions.begin() + static_cast<std::ptrdiff_t>(qi));
      std::vector<std::shared_ptr<const AnalyzedEntry>> docs = all;
      docs[i] = Analyze(std::move(reduced), seg, ranking);
      TenantIndex index(std::move(docs), parsed.synonyms, seg, ranking);
      double s0 = NowUs();
      std::vector<Passage> hits = index.Search(e.questions[qi], 10, 0.0);
      double us = NowUs() - s0;
      int rank = 0;
      for (size_t h = 0; h < hits.size() && rank == 0; ++h)
        if (hits[h].id == e.id) rank = static_cast<int>(h) + 1;
      tally.Add(rank, hits, us);
    }
  }
  return tally.Finish(static_cast<int>(all.size()));
}

Result<std::vector<DecisionRow>> DecisionRows(const text::Segmenter& seg, const QuestionMatcher* matcher,
                                              const std::vector<std::string>& paths,
                                              const std::vector<std::string>& out_of_scope,
                                              const RankingOptions& ranking) {
  std::vector<KbEntry> entries;
  std::vector<std::vector<std::string>> synonyms;
  for (const auto& path : paths) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return NotFound("knowledge file not found: " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    ParsedFile parsed = ParseMarkdown(ss.str());
    for (auto& item : parsed.entries) entries.push_back(item.entry);
    for (auto& g : parsed.synonyms) synonyms.push_back(g);
  }
  if (entries.empty()) return InvalidArgument("no entries");
  auto row_of = [&](const TenantIndex& index, const std::string& q, bool english) {
    DecisionRow r;
    r.query = q;
    r.english = english;
    r.chars = static_cast<int>(utf8::Length(utf8::Sanitize(q)));
    auto ps = index.Search(q, 5, 0.0, english ? "en" : "");
    if (!english) index.ScoreMatches(q, ps, 3);
    for (const auto& p : ps) r.candidates.push_back({p.id, p.confidence, p.match, p.classified, p.key_word_covered, p.key_word_unknown});
    // As the dialogue does: Chinese confidences blend in the matcher at 0.15.
    if (!english)
      for (auto& p : ps)
        if (p.match >= 0) p.confidence = 0.85 * p.confidence + 0.15 * p.match;
    std::stable_sort(ps.begin(), ps.end(), [](const auto& a, const auto& b) { return a.confidence > b.confidence; });
    if (!ps.empty()) {
      r.c1 = ps[0].confidence;
      r.m1 = ps[0].match;
      r.got = ps[0].id;
    }
    if (ps.size() > 1) r.c2 = ps[1].confidence;
    return r;
  };
  std::vector<DecisionRow> rows;
  constexpr int kFolds = 5;
  for (int fold = 0; fold < kFolds; ++fold) {
    std::vector<std::shared_ptr<const AnalyzedEntry>> docs;
    std::vector<std::pair<std::string, const KbEntry*>> held;
    for (const KbEntry& e : entries) {
      KbEntry reduced = e;
      reduced.questions.clear();
      for (const auto& q : e.questions) {
        if (static_cast<int>(Fnv(q) % kFolds) == fold) held.emplace_back(q, &e);
        else reduced.questions.push_back(q);
      }
      docs.push_back(Analyze(std::move(reduced), seg, ranking));
    }
    TenantIndex index(std::move(docs), synonyms, seg, ranking, matcher);
    for (const auto& [q, e] : held) {
      DecisionRow r = row_of(index, q, e->lang == "en");
      r.query = q;
      r.positive = true;
      r.expected = e->id;
      r.right = r.got == e->id;
      rows.push_back(std::move(r));
    }
  }
  std::vector<std::shared_ptr<const AnalyzedEntry>> docs;
  for (const KbEntry& e : entries) docs.push_back(Analyze(e, seg, ranking));
  TenantIndex full(std::move(docs), synonyms, seg, ranking, matcher);
  for (const auto& q : out_of_scope) {
    bool english = true;
    for (unsigned char c : q) english &= c < 0x80;
    DecisionRow r = row_of(full, q, english);
    r.query = q;
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace kefu::knowledge
