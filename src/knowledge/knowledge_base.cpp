#include "knowledge/knowledge_base.h"

#include <cstdio>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "api/tenant_rows.h"
#include "common/json.h"
#include "common/utf8.h"
#include "knowledge/index.h"
#include "knowledge/parse.h"

namespace kefu::knowledge {

namespace {

std::string QuestionsJson(const std::vector<std::string>& qs) { return nlohmann::json(qs).dump(); }

std::vector<std::string> QuestionsFromJson(const std::string& s) {
  std::vector<std::string> out;
  auto j = ParseJsonOrDiscarded(s);
  if (j.is_array())
    for (const auto& v : j)
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

// Merges groups sharing their first term (the kb_synonyms key) and drops duplicates.
std::vector<std::vector<std::string>> CanonicalGroups(const std::vector<std::vector<std::string>>& groups) {
  std::vector<std::vector<std::string>> out;
  std::map<std::string, size_t> by_key;
  for (const auto& g : groups) {
    std::vector<std::string> clean;
    for (const auto& t : g) {
      std::string term(utf8::Trim(t));
      if (!term.empty() && std::find(clean.begin(), clean.end(), term) == clean.end()) clean.push_back(term);
    }
    if (clean.size() < 2) continue;
    auto [it, fresh] = by_key.emplace(clean[0], out.size());
    if (fresh) {
      out.push_back(std::move(clean));
    } else {
      auto& dst = out[it->second];
      for (auto& t : clean)
        if (std::find(dst.begin(), dst.end(), t) == dst.end()) dst.push_back(t);
    }
  }
  return out;
}

}  // namespace

Result<Format> ParseFormat(std::string_view name) {
  if (name == "md" || name == "markdown") return Format::kMarkdown;
  if (name == "csv") return Format::kCsv;
  if (name == "json") return Format::kJson;
  return InvalidArgument("unknown knowledge-base format '" + std::string(name) + "' (md|csv|json)");
}

std::string StableId(std::string_view title) {
  title = utf8::Trim(title);
  uint64_t h = 1469598103934665603ull;  // FNV-1a 64
  for (unsigned char c : title) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "kb-%012llx", static_cast<unsigned long long>(h & 0xFFFFFFFFFFFFull));
  return buf;
}

KnowledgeBase::KnowledgeBase(storage::Database& db, const text::Segmenter& seg, const KnowledgeConfig& cfg,
                             const Clock& clock, const RankingOptions& ranking)
    : db_(db), seg_(seg), cfg_(cfg), clock_(clock), ranking_(ranking) {}

KnowledgeBase::~KnowledgeBase() = default;

Result<std::unique_ptr<KnowledgeBase>> KnowledgeBase::Create(storage::Database& db, const text::Segmenter& seg,
                                                             const KnowledgeConfig& cfg, const Clock& clock,
                                                             const RankingOptions& ranking) {
  if (ranking.k1 < 0 || ranking.b < 0 || ranking.b > 1) return InvalidArgument("ranking: need k1 >= 0 and 0 <= b <= 1");
  return std::unique_ptr<KnowledgeBase>(new KnowledgeBase(db, seg, cfg, clock, ranking));
}

std::shared_ptr<const TenantIndex> KnowledgeBase::Snapshot(const std::string& tenant) const {
  std::shared_lock lock(mu_);
  auto it = tenants_.find(tenant);
  return it == tenants_.end() ? nullptr : it->second;
}

void KnowledgeBase::Publish(const std::string& tenant, std::shared_ptr<const TenantIndex> index) {
  std::unique_lock lock(mu_);
  tenants_[tenant] = std::move(index);
}

Status KnowledgeBase::LoadAll() {
  std::lock_guard write(write_mu_);
  std::map<std::string, std::vector<std::shared_ptr<const AnalyzedEntry>>> entries;
  std::map<std::string, std::vector<std::vector<std::string>>> synonyms;
  {
    auto s = db_.Lock();
    auto& st = s.Prepare(
        "SELECT tenant_id, id, title, body, category, questions_json, source, updated_ms, lang FROM kb_entries");
    while (true) {
      KEFU_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      KbEntry e{st.Text(1), st.Text(2), st.Text(3), st.Text(4), QuestionsFromJson(st.Text(5)), st.Text(6), st.Int(7),
                st.Text(8)};
      entries[st.Text(0)].push_back(Analyze(std::move(e), seg_, ranking_));
    }
    auto& sy = s.Prepare("SELECT tenant_id, synonyms_json FROM kb_synonyms ORDER BY tenant_id, term");
    while (true) {
      KEFU_ASSIGN_OR_RETURN(bool row, sy.Step());
      if (!row) break;
      synonyms[sy.Text(0)].push_back(QuestionsFromJson(sy.Text(1)));
    }
  }
  std::unordered_map<std::string, std::shared_ptr<const TenantIndex>> fresh;
  std::set<std::string> tenants;
  for (auto& [t, _] : entries) tenants.insert(t);
  for (auto& [t, _] : synonyms) tenants.insert(t);
  for (const std::string& t : tenants)
    fresh[t] = std::make_shared<TenantIndex>(std::move(entries[t]), std::move(synonyms[t]), seg_, ranking_, matcher_);
  std::unique_lock lock(mu_);
  tenants_ = std::move(fresh);
  return Status::Ok();
}

Status KnowledgeBase::Apply(const std::string& tenant, std::vector<KbEntry> upserts,
                            const std::vector<std::string>& removals,
                            const std::vector<std::vector<std::string>>* synonyms, ImportReport* report) {
  std::lock_guard write(write_mu_);
  const int64_t now = clock_.NowMs();
  std::vector<std::vector<std::string>> groups;
  if (synonyms) groups = CanonicalGroups(*synonyms);
  std::vector<KbEntry> changed;
  {
    auto s = db_.Lock();
    {
      KEFU_ASSIGN_OR_RETURN(bool exists, api::tenant_rows::Exists(s, tenant));
      if (!exists) return FailedPrecondition("tenant '" + tenant + "' does not exist");
    }
    auto tx = s.Begin();
    KEFU_RETURN_IF_ERROR(tx.status());
    for (KbEntry& e : upserts) {
      e.updated_ms = now;
      auto& sel = s.Prepare(
          "SELECT title, body, category, questions_json, lang FROM kb_entries WHERE tenant_id = ? AND id = ?");
      sel.Bind(1, tenant).Bind(2, e.id);
      KEFU_ASSIGN_OR_RETURN(bool exists, sel.Step());
      const std::string qjson = QuestionsJson(e.questions);
      bool same = exists && sel.Text(0) == e.title && sel.Text(1) == e.body && sel.Text(2) == e.category &&
                  sel.Text(3) == qjson && sel.Text(4) == e.lang;
      sel.Reset();
      if (same) {
        if (report) ++report->unchanged;
        continue;
      }
      auto& ins = s.Prepare(
          "INSERT INTO kb_entries(tenant_id, id, title, body, category, questions_json, source, updated_ms, lang)"
          " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(tenant_id, id) DO UPDATE SET title = excluded.title, "
          "body = excluded.body, category = excluded.category, questions_json = excluded.questions_json, "
          "source = excluded.source, updated_ms = excluded.updated_ms, lang = excluded.lang");
      ins.Bind(1, tenant).Bind(2, e.id).Bind(3, e.title).Bind(4, e.body).Bind(5, e.category).Bind(6, qjson);
      ins.Bind(7, e.source).Bind(8, now).Bind(9, e.lang);
      KEFU_RETURN_IF_ERROR(ins.Run());
      if (report) ++(exists ? report->updated : report->imported);
      changed.push_back(std::move(e));
    }
    for (const std::string& id : removals) {
      auto& del = s.Prepare("DELETE FROM kb_entries WHERE tenant_id = ? AND id = ?");
      del.Bind(1, tenant).Bind(2, id);
      KEFU_RETURN_IF_ERROR(del.Run());
      if (s.Changes() == 0) return NotFound("knowledge entry '" + id + "' does not exist");
    }
    if (synonyms) {
      auto& del = s.Prepare("DELETE FROM kb_synonyms WHERE tenant_id = ?");
      del.Bind(1, tenant);
      KEFU_RETURN_IF_ERROR(del.Run());
      for (const auto& g : groups) {
        auto& ins = s.Prepare("INSERT INTO kb_synonyms(tenant_id, term, synonyms_json) VALUES(?, ?, ?)");
        ins.Bind(1, tenant).Bind(2, g[0]).Bind(3, nlohmann::json(g).dump());
        KEFU_RETURN_IF_ERROR(ins.Run());
      }
    }
    KEFU_RETURN_IF_ERROR(tx.Commit());
  }
  if (changed.empty() && removals.empty() && !synonyms) return Status::Ok();

  // Rebuild the tenant's index from the previous one's analysed entries plus the changes.
  auto old = Snapshot(tenant);
  std::unordered_map<std::string, std::shared_ptr<const AnalyzedEntry>> docs;
  std::vector<std::vector<std::string>> syn;
  if (old) {
    for (const auto& d : old->entries()) docs[d->entry.id] = d;
    syn = old->synonyms();
  }
  for (KbEntry& e : changed) {
    std::string id = e.id;
    docs[id] = Analyze(std::move(e), seg_, ranking_);
  }
  for (const std::string& id : removals) docs.erase(id);
  if (synonyms) syn = std::move(groups);
  std::vector<std::shared_ptr<const AnalyzedEntry>> list;
  list.reserve(docs.size());
  for (auto& [_, d] : docs) list.push_back(std::move(d));
  Publish(tenant, std::make_shared<TenantIndex>(std::move(list), std::move(syn), seg_, ranking_, matcher_));
  return Status::Ok();
}

Result<ImportReport> KnowledgeBase::Import(const std::string& tenant, Format format, std::string_view content,
                                           const std::string& source) {
  ImportReport report;
  size_t bad = utf8::FirstInvalid(content);
  if (bad != std::string_view::npos) {
    int line = 1 + static_cast<int>(std::count(content.begin(), content.begin() + static_cast<std::ptrdiff_t>(bad), '\n'));
    report.errors.push_back({line, "invalid UTF-8 (convert the file to UTF-8)"});
    return report;
  }
  ParsedFile parsed = ParseFile(format, content);
  if (!parsed.refused.empty()) {
    // All or nothing: a file with a control character in a title (a NUL can
    // cut the title short wherever it is shown or logged) is refused whole.
    const ImportError& first = parsed.refused.front();
    std::string more = parsed.refused.size() > 1
                           ? " (and " + std::to_string(parsed.refused.size() - 1) + " more entries)"
                           : std::string();
    return InvalidArgument("entry at line " + std::to_string(first.line) + ": " + first.reason + more +
                           "; nothing was imported from this file");
  }
  report.errors = std::move(parsed.errors);
  std::vector<KbEntry> entries;
  entries.reserve(parsed.entries.size());
  for (auto& item : parsed.entries) {
    item.entry.source = source;
    entries.push_back(std::move(item.entry));
  }
  KEFU_RETURN_IF_ERROR(Apply(tenant, std::move(entries), {}, parsed.has_synonyms ? &parsed.synonyms : nullptr, &report));
  return report;
}

Status KnowledgeBase::Upsert(const std::string& tenant, KbEntry entry) {
  entry.title = std::string(utf8::Trim(entry.title));
  entry.body = std::string(utf8::Trim(entry.body));
  if (entry.title.empty()) return InvalidArgument("knowledge entry needs a title");
  if (entry.body.empty()) return InvalidArgument("knowledge entry needs a body");
  if (!utf8::IsValid(entry.title) || !utf8::IsValid(entry.body) || !utf8::IsValid(entry.id))
    return InvalidArgument("knowledge entry is not valid UTF-8");
  if (std::string problem = ControlCharProblem(entry); !problem.empty())
    return InvalidArgument("knowledge entry: " + problem);
  if (entry.id.empty()) entry.id = StableId(entry.title);
  std::vector<KbEntry> one;
  one.push_back(std::move(entry));
  return Apply(tenant, std::move(one), {}, nullptr, nullptr);
}

Status KnowledgeBase::Remove(const std::string& tenant, const std::string& id) {
  return Apply(tenant, {}, {id}, nullptr, nullptr);
}

Status KnowledgeBase::SetSynonyms(const std::string& tenant, const std::vector<std::vector<std::string>>& groups) {
  return Apply(tenant, {}, {}, &groups, nullptr);
}

std::vector<Passage> KnowledgeBase::Search(const std::string& tenant, std::string_view query, int top_k,
                                           std::string_view lang) const {
  auto index = Snapshot(tenant);
  if (!index) return {};
  return index->Search(query, top_k, cfg_.min_score, lang);
}

std::vector<Passage> KnowledgeBase::SearchFollowUp(const std::string& tenant, std::string_view query,
                                                   std::string_view context, int top_k, std::string_view lang) const {
  auto index = Snapshot(tenant);
  if (!index) return {};
  return index->Search(query, top_k, cfg_.min_score, lang, context);
}

void KnowledgeBase::ScoreMatches(const std::string& tenant, std::string_view query, std::vector<Passage>& passages,
                                 size_t top) const {
  auto index = Snapshot(tenant);
  if (index) index->ScoreMatches(query, passages, top);
}

std::string KnowledgeBase::Understandable(const std::string& tenant, std::string_view text) const {
  auto index = Snapshot(tenant);
  return index ? index->Understandable(text) : text::FoldChinese(text);
}

Result<KbEntry> KnowledgeBase::Get(const std::string& tenant, const std::string& id) const {
  auto index = Snapshot(tenant);
  const AnalyzedEntry* e = index ? index->Find(id) : nullptr;
  if (!e) return NotFound("knowledge entry '" + id + "' does not exist");
  return e->entry;
}

size_t KnowledgeBase::Size(const std::string& tenant) const {
  auto index = Snapshot(tenant);
  return index ? index->size() : 0;
}

std::vector<std::vector<std::string>> KnowledgeBase::Synonyms(const std::string& tenant) const {
  auto index = Snapshot(tenant);
  return index ? index->synonyms() : std::vector<std::vector<std::string>>{};
}

}  // namespace kefu::knowledge
