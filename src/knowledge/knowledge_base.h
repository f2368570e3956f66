// KnowledgeBase: a tenant's FAQ / help articles, persisted in SQLite (kb_entries,
// kb_synonyms) and served from an in-memory BM25 index per tenant.
//
// Ownership: the KnowledgeBase references (does not own) the Database, the Segmenter and
// the Clock; all three must outlive it.
// Threads: every method is thread-safe. Writers (Import/Upsert/Remove/SetSynonyms/LoadAll)
// are serialised among themselves; each builds a new immutable index for the tenant and
// swaps it in, so Search never waits for an import (it only copies a shared_ptr).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "common/status.h"
#include "storage/database.h"
#include "text/segmenter.h"

namespace kefu::knowledge {

struct KbEntry {
  std::string id, title, body, category;
  std::vector<std::string> questions;  // alternate phrasings of the title
  std::string source;                  // file or API the entry came from
  int64_t updated_ms = 0;
  // Language of the entry ("en", "zh"...); "" = the tenant's main language
  // (Chinese). A translation of entry X has the id "X.<lang>" by convention,
  // so answers in any language cite the same underlying entry.
  std::string lang;
};

struct Passage {
  std::string id, title, text, category;
  std::string lang;       // the entry's language ("" = the tenant's main one)
  double score = 0;       // raw BM25
  double confidence = 0;  // 0..1, see docs/knowledge.md
  double match = -1;      // P(same meaning) of the query and the entry's closest question (matcher.h); -1 = no matcher
  // The query's most specific word (highest idf; a word no entry has counts
  // too) is in this passage: "学生有优惠吗" → a birthday-gift entry has 优惠, not 学生.
  bool key_word_covered = true;
  // That word is a real word (a dictionary word of two or more characters, or
  // an English word of three or more letters) that no entry of the tenant
  // contains: the question is likely about something the knowledge base does
  // not cover ("军人有优惠吗", "小米的售后电话").
  bool key_word_unknown = false;
  // That word as the search read it (English words stemmed: "iphon").
  std::string key_word;
  // The entry classifier's probability for this entry (TenantIndex::Classify); -1 = none.
  double classified = -1;
};

struct ImportError {
  int line = 0;  // 1-based line in the imported file (0 = not attributable to a line)
  std::string reason;
};

struct ImportReport {
  int imported = 0, updated = 0, unchanged = 0;
  std::vector<ImportError> errors;
};

enum class Format { kMarkdown, kCsv, kJson };
// "md"/"markdown", "csv", "json".
Result<Format> ParseFormat(std::string_view name);

// BM25 parameters (defaults tuned on the insurance FAQ dev split, docs/knowledge.md).
struct RankingOptions {
  double k1 = 1.2;
  double b = 0.75;
  double title_weight = 2.0;     // per token of the title
  double question_weight = 2.0;  // per token of each alternate question
  double body_weight = 1.0;
  double synonym_weight = 0.8;   // query-expansion terms relative to the user's own
  double context_weight = 0.5;   // a follow-up's context terms (SearchFollowUp) relative to its own
  // Confidence × (1 − w + w · the best idf-weighted Jaccard similarity of the
  // query to one of the entry's title and questions): an entry with one
  // question close to the query beats one that merely repeats the query's
  // words across many questions (docs/knowledge.md, "Question similarity").
  double question_similarity_weight = 0.3;
  // Confidence = (1 − w) · confidence + w · the entry classifier's probability
  // (a classifier trained on the entries' own titles and similar questions,
  // docs/knowledge.md "Entry classifier"); 0 = off (and none is trained). Not for follow-ups.
  double classifier_weight = 0.3;
};

class TenantIndex;
class QuestionMatcher;

class KnowledgeBase {
 public:
  static Result<std::unique_ptr<KnowledgeBase>> Create(storage::Database& db, const text::Segmenter& seg,
                                                       const KnowledgeConfig& cfg, const Clock& clock,
                                                       const RankingOptions& ranking = {});
  ~KnowledgeBase();

  // A trained question matcher (knowledge/matcher.h) for ScoreMatches
  // (Passage::match). Set before LoadAll; it must outlive the KB.
  void SetMatcher(const QuestionMatcher* matcher) { matcher_ = matcher; }

  // (Re)builds the in-memory indexes of every tenant from the database.
  Status LoadAll();

  // Parses `content` and writes its good entries in one transaction (bad ones are listed
  // in the report with their line and nothing of them is written). Entries are upserted by
  // id; a file with synonyms (JSON "synonyms", Markdown "# 同义词") replaces the tenant's
  // synonym groups. Errors: the tenant does not exist (failed_precondition), storage failures.
  Result<ImportReport> Import(const std::string& tenant, Format format, std::string_view content,
                              const std::string& source);
  // Inserts or replaces one entry (empty id = derived from the title).
  Status Upsert(const std::string& tenant, KbEntry entry);
  Status Remove(const std::string& tenant, const std::string& id);
  // Replaces the tenant's synonym groups (each group: terms that mean the same).
  Status SetSynonyms(const std::string& tenant, const std::vector<std::vector<std::string>>& groups);

  // Best `top_k` passages for `query`, highest score first; never blocks on writers.
  // `lang`: "*" = entries of every language; "en", ... = only that language; "" = the main one.
  std::vector<Passage> Search(const std::string& tenant, std::string_view query, int top_k,
                              std::string_view lang = "*") const;
  // A follow-up ("冰箱呢", "那换货呢？", "运费呢") searched with the conversation's
  // topic: the words of `context` (the question answered before) help rank
  // entries at RankingOptions::context_weight, but the confidence is the
  // coverage of the follow-up's own words only (docs/knowledge.md).
  std::vector<Passage> SearchFollowUp(const std::string& tenant, std::string_view query, std::string_view context,
                                      int top_k, std::string_view lang = "*") const;
  // Fills Passage::match (the question matcher's probability) for the first
  // `top` passages of a search for `query`; nothing without a matcher.
  void ScoreMatches(const std::string& tenant, std::string_view query, std::vector<Passage>& passages,
                    size_t top = 3) const;
  Result<KbEntry> Get(const std::string& tenant, const std::string& id) const;
  // `text` as the tenant's index reads it: traditional characters folded,
  // homophone typos corrected against the tenant's words ("退宽" → "退款").
  std::string Understandable(const std::string& tenant, std::string_view text) const;
  size_t Size(const std::string& tenant) const;
  std::vector<std::vector<std::string>> Synonyms(const std::string& tenant) const;

 private:
  KnowledgeBase(storage::Database& db, const text::Segmenter& seg, const KnowledgeConfig& cfg, const Clock& clock,
                const RankingOptions& ranking);
  std::shared_ptr<const TenantIndex> Snapshot(const std::string& tenant) const;
  void Publish(const std::string& tenant, std::shared_ptr<const TenantIndex> index);
  // Writes entries (and optionally synonyms) in one transaction, then swaps in a new index.
  Status Apply(const std::string& tenant, std::vector<KbEntry> upserts, const std::vector<std::string>& removals,
               const std::vector<std::vector<std::string>>* synonyms, ImportReport* report);

  storage::Database& db_;
  const text::Segmenter& seg_;
  KnowledgeConfig cfg_;
  const Clock& clock_;
  RankingOptions ranking_;
  const QuestionMatcher* matcher_ = nullptr;

  std::mutex write_mu_;  // serialises writers, held across the transaction and the rebuild
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const TenantIndex>> tenants_;  // GUARDED_BY(mu_)
};

// Stable id for an entry without one: "kb-" + 12 hex digits of a hash of the trimmed title.
std::string StableId(std::string_view title);

}  // namespace kefu::knowledge
