#include "knowledge/index.h"

#include <mutex>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cmath>
#include <optional>

#include "knowledge/places.h"
#include "knowledge/thesaurus.h"
#include "text/english.h"

namespace kefu::knowledge {

namespace {

// The last few answers of one thread, for a pure function of its key: a turn
// reads the same text several times (the repeat detector's need key, the
// bot's searches, the matcher), and customers ask the same few questions.
// Looked up by hash, then by the whole key; the least recently used entry is
// replaced. Per thread, so no lock on the turn path; an index's generation in
// the key keeps a rebuilt index from seeing its predecessor's answers.
template <class Entry, size_t N>
class RecentMemo {
 public:
  // The entry with hash `h` (either of its two) that `same` accepts, or null.
  template <class Same>
  Entry* Find(size_t h, Same same) {
    for (Slot& s : slots_)
      if (s.used && (s.hash == h || s.hash2 == h) && same(s.entry)) {
        s.used = ++tick_;
        return &s.entry;
      }
    return nullptr;
  }
  // A slot for a new entry with hash `h` (and `h2`, another key it answers
  // to): the least recently used one.
  Entry& Replace(size_t h, size_t h2) {
    Slot* oldest = &slots_[0];
    for (Slot& s : slots_)
      if (s.used < oldest->used) oldest = &s;
    oldest->used = ++tick_;
    oldest->hash = h;
    oldest->hash2 = h2;
    return oldest->entry;
  }

 private:
  struct Slot {
    uint64_t used = 0;  // 0 = empty
    size_t hash = 0, hash2 = 0;
    Entry entry;
  };
  std::array<Slot, N> slots_{};
  uint64_t tick_ = 0;
};

size_t HashOf(uint64_t generation, std::string_view text) {
  return std::hash<std::string_view>{}(text) ^ (generation * 0x9E3779B97F4A7C15ull);
}

// A synonym term in a normalised query: Chinese anywhere; a Latin term as
// whole words, with a regular inflection ("expired", "cracks"), so "take
// back" is not found in "mistake" nor "cod" in "code".
bool MentionsTerm(std::string_view text, std::string_view term) {
  if (term.empty()) return false;
  if (static_cast<unsigned char>(term[0]) >= 0x80) return text.find(term) != std::string_view::npos;
  auto letter = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; };
  for (size_t at = text.find(term); at != std::string_view::npos; at = text.find(term, at + 1)) {
    if (at > 0 && letter(text[at - 1])) continue;
    size_t end = at + term.size();
    size_t run = end;
    while (run < text.size() && letter(text[run])) ++run;
    const std::string_view rest = text.substr(end, run - end);
    if (rest.empty() || rest == "s" || rest == "es" || rest == "d" || rest == "ed" || rest == "ing" || rest == "ly")
      return true;
  }
  return false;
}

// Words of saying, thinking, feeling and telling a story that customers wrap
// a question in ("感觉腰有点大", "死活用不上", "懒得一个个点", "quick question",
// "what does it mean"): they never name what the question is about, so they are
// no key word, and one the knowledge base lacks weighs like a particle.
// (Verbs and nouns in general are topics: 招人, 移机, 清洗 are what a question
// the knowledge base cannot answer is about; measured on 3,800 turns.)
bool IsDiscourseWord(std::string_view w) {
  static constexpr std::string_view kWords[] = {
      // Thinking, seeming, knowing, saying.
      "感觉", "觉得", "好像", "貌似", "似乎", "估计", "以为", "认为", "发现", "知道", "听说", "记得", "看到", "看见",
      "告诉", "问下", "问问", "想问", "请教", "咨询", "说明", "意思", "道理", "情况", "事情", "一下子",
      // Wanting and bothering.
      "想要", "需要", "希望", "打算", "准备", "懒得", "死活", "根本", "压根", "实在", "老是", "总是", "结果",
      "拿来", "用来", "弄好", "搞定", "麻烦",
      // When it happened.
      "现在", "当时", "上次", "这次", "那次", "刚才", "刚刚", "之前", "以前", "后来", "最近", "前几天", "前两天",
      "今天", "昨天", "前天", "平时", "一直", "马上", "到时候", "一般",
      // Doing in general: what for, taking out, being sure, equalling.
      "干嘛", "想开", "拿出", "确定", "等于", "找不着", "找不到", "对了", "顺便", "另外",
      // Giving up, asking for speed or ability ("算了 我要退货", "能不能快点").
      "算了", "不能", "快点", "赶紧", "抓紧",
      // English.
      "what", "whats", "those", "these", "that", "this", "mean", "quick", "actual", "actually", "realli", "really",
      "just", "pleas", "please", "happi", "happy", "thank", "thanks", "hello", "hey", "wonder", "wondering",
      "question", "anyway", "basic", "basically", "guess", "think", "know", "tell", "told", "said", "say",
      // English: besides, instead, maybe... (as the search stems them, and not).
      "besides", "besid", "altogether", "altogeth", "instead", "else", "otherwise", "otherwis", "rather", "somehow",
      "maybe", "mayb", "perhaps", "perhap", "probably", "probabl", "seriously", "seriousli", "honestly", "honestli",
      "literally", "literalli", "exactly", "exactli", "kinda", "gonna", "wanna", "gotta",
      // English: comparison and time words, negated auxiliaries as the search cuts them, vague nouns.
      "than", "then", "own", "haven", "hasn", "didn", "doesn", "isn", "wasn", "aren", "wouldn", "couldn",
      "something", "someth", "anything", "anyth", "thing", "stuff", "already", "alreadi", "still", "even",
      "ever", "now", "guy", "guys", "lol", "pls", "plz", "start", "begin",
      // English: the people a customer shops for or lives with ("my sister lives in Macau"), as stemmed too.
      "sister", "brother", "mom", "mum", "dad", "mother", "father", "parent", "parents", "wife", "husband", "friend",
      "friends", "son", "daughter", "kid", "kids", "girlfriend", "boyfriend", "gf", "bf", "grandma", "grandpa",
      "famili", "family", "live", "lives", "cousin", "aunt", "uncl", "uncle", "roommat", "roommate",
      // ... and in Chinese.
      "我妈", "我爸", "妈妈", "爸爸", "老公", "老婆", "表姐", "表妹", "表哥", "表弟", "姐姐", "妹妹", "哥哥", "弟弟",
      "朋友", "同事", "室友", "孩子", "儿子", "女儿", "爷爷", "奶奶", "外婆", "姥姥", "家里人", "亲戚"};
  return std::find(std::begin(kWords), std::end(kWords), w) != std::end(kWords);
}

}  // namespace

std::shared_ptr<const AnalyzedEntry> Analyze(KbEntry entry, const text::Segmenter& seg, const RankingOptions& opts) {
  auto a = std::make_shared<AnalyzedEntry>();
  std::unordered_map<std::string, float> tf;
  auto add = [&](std::string_view text, double w) {
    for (std::string& t : text::EnglishSearchTerms(seg.Tokenize(text))) {
      tf[std::move(t)] += static_cast<float>(w);
      a->length += static_cast<float>(w);
    }
  };
  add(entry.title, opts.title_weight);
  for (const std::string& q : entry.questions) add(q, opts.question_weight);
  add(entry.body, opts.body_weight);
  a->tf.assign(tf.begin(), tf.end());
  a->entry = std::move(entry);
  return a;
}

TenantIndex::TenantIndex(std::vector<std::shared_ptr<const AnalyzedEntry>> entries,
                         std::vector<std::vector<std::string>> synonyms, const text::Segmenter& seg,
                         const RankingOptions& opts, const QuestionMatcher* matcher)
    : seg_(seg), opts_(opts), docs_(std::move(entries)), synonyms_(std::move(synonyms)), matcher_(matcher) {
  static std::atomic<uint64_t> generations{0};
  generation_ = ++generations;
  std::sort(docs_.begin(), docs_.end(), [](const auto& a, const auto& b) { return a->entry.id < b->entry.id; });
  double total = 0;
  for (uint32_t d = 0; d < docs_.size(); ++d) {
    by_id_[docs_[d]->entry.id] = d;
    total += docs_[d]->length;
    for (const auto& [term, f] : docs_[d]->tf) terms_[term].postings.push_back({d, f});
  }
  const double n = static_cast<double>(docs_.size());
  avgdl_ = docs_.empty() ? 1.0f : static_cast<float>(std::max(1.0, total / n));
  norm_.resize(docs_.size());
  for (size_t d = 0; d < docs_.size(); ++d)
    norm_[d] = static_cast<float>(opts_.k1 * (1 - opts_.b + opts_.b * docs_[d]->length / avgdl_));
  for (auto& [term, t] : terms_) {
    double df = static_cast<double>(t.postings.size());
    t.idf = static_cast<float>(std::log(1 + (n - df + 0.5) / (df + 0.5)));
  }
  unknown_idf_ = static_cast<float>(std::log(1 + (n + 0.5) / 0.5));
  // The tenant's groups, then the built-in English and Chinese thesauri.
  std::vector<const std::vector<std::string>*> groups;
  for (const auto& g : synonyms_) groups.push_back(&g);
  for (const auto& g : EnglishThesaurus()) groups.push_back(&g);
  for (const auto& g : ChineseThesaurus()) groups.push_back(&g);
  for (const auto* group : groups) {
    std::vector<SynonymMember> members;
    for (const std::string& term : *group) {
      SynonymMember m{text::Normalize(term), text::EnglishSearchTerms(seg_.Tokenize(term))};
      if (m.tokens.empty()) continue;
      members.push_back(std::move(m));
    }
    syn_groups_.push_back(std::move(members));
  }
  // The tenant's words for the spelling corrector: dictionary words of its
  // titles and questions, and every synonym term. (Spans that merely recur
  // across entries were tried too: they admitted non-words such as 冰修.)
  std::vector<std::string> vocab;
  for (const auto& d : docs_) {
    std::unordered_map<std::string, bool> mine;
    auto take = [&](const std::string& text) {
      for (std::string& t : seg_.Tokenize(text)) mine.emplace(std::move(t), true);
    };
    take(d->entry.title);
    for (const auto& q : d->entry.questions) take(q);
    for (auto& [t, _] : mine)
      if (seg_.IsWord(t)) vocab.push_back(t);
  }
  for (const auto& g : synonyms_)
    for (const auto& term : g) vocab.push_back(text::Normalize(term));
  // And the built-in shop words: 顺丰 is no dictionary word, and a customer's
  // 顺风 among the similar questions must not turn every 顺丰 into it.
  for (const auto& g : ChineseThesaurus())
    for (const auto& term : g) vocab.push_back(term);
  speller_ = std::make_unique<text::SpellingCorrector>(vocab, &seg_);
  question_terms_.resize(docs_.size());
  for (size_t d = 0; d < docs_.size(); ++d) {
    auto terms_of = [&](const std::string& text) {
      QuestionTerms qt;
      for (const std::string& t : text::EnglishSearchTerms(seg_.Tokenize(text))) {
        auto it = terms_.find(t);
        if (it != terms_.end()) qt.terms.push_back(&it->second);
      }
      std::sort(qt.terms.begin(), qt.terms.end());
      qt.terms.erase(std::unique(qt.terms.begin(), qt.terms.end()), qt.terms.end());
      for (const void* t : qt.terms) qt.mass += static_cast<const Term*>(t)->idf;
      return qt;
    };
    question_terms_[d].push_back(terms_of(docs_[d]->entry.title));
    for (const auto& q : docs_[d]->entry.questions) question_terms_[d].push_back(terms_of(q));
  }
  TrainClassifier();
  if (matcher_) {
    prepared_.resize(docs_.size());
    for (size_t d = 0; d < docs_.size(); ++d) {
      prepared_[d].push_back(matcher_->Prepare(docs_[d]->entry.title));
      for (const auto& q : docs_[d]->entry.questions) prepared_[d].push_back(matcher_->Prepare(q));
    }
  }
}

namespace {
// Training is deterministic: the same questions, labels and options give the
// same model. An index rebuilt over unchanged questions (a tenant's KB
// re-imported unchanged, another tenant with the same KB, test servers that
// each load the demo shop) reuses the last few models trained instead of
// training again (about a second of CPU for the demo's 4,700 questions).
std::shared_ptr<const nlu::LinearModel> TrainedClassifier(const std::vector<std::string>& texts,
                                                          const std::vector<int>& labels, int classes,
                                                          const nlu::LinearOptions& o) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over everything training reads
  auto mix = [&](std::string_view bytes) {
    for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;  // separator
  };
  for (const auto& t : texts) mix(t);
  for (int l : labels) mix(std::string_view(reinterpret_cast<const char*>(&l), sizeof l));
  mix(std::to_string(classes));
  mix(o.ToJson().dump());
  mix(o.quantize ? "q" : "f");
  struct Trained {
    uint64_t key;
    size_t n;
    std::shared_ptr<const nlu::LinearModel> model;
  };
  static std::mutex mu;
  static std::vector<Trained> recent;  // most recent last
  {
    std::lock_guard<std::mutex> lock(mu);
    for (auto it = recent.begin(); it != recent.end(); ++it) {
      if (it->key == h && it->n == texts.size()) {
        Trained hit = *it;
        recent.erase(it);
        recent.push_back(hit);
        return hit.model;
      }
    }
  }
  auto m = nlu::LinearModel::Train(texts, labels, classes, o);
  if (!m.ok()) return nullptr;
  auto model = std::make_shared<const nlu::LinearModel>(std::move(*m));
  std::lock_guard<std::mutex> lock(mu);
  if (recent.size() >= 4) recent.erase(recent.begin());
  recent.push_back({h, texts.size(), model});
  return model;
}
}  // namespace

void TenantIndex::TrainClassifier() {
  if (opts_.classifier_weight <= 0) return;
  std::vector<std::string> langs;
  for (const auto& d : docs_)
    if (std::find(langs.begin(), langs.end(), d->entry.lang) == langs.end()) langs.push_back(d->entry.lang);
  for (const std::string& lang : langs) {
    LanguageClassifier c;
    c.lang = lang;
    std::vector<std::string> texts;
    std::vector<int> labels;
    for (uint32_t d = 0; d < docs_.size(); ++d) {
      if (docs_[d]->entry.lang != lang) continue;
      const int label = static_cast<int>(c.docs.size());
      c.docs.push_back(d);
      texts.push_back(Understandable(docs_[d]->entry.title));
      labels.push_back(label);
      for (const auto& q : docs_[d]->entry.questions) {
        texts.push_back(Understandable(q));
        labels.push_back(label);
      }
    }
    if (c.docs.size() < 2) continue;
    // Measured with `kefu kb decision-rows` (docs/knowledge.md, "Entry classifier").
    nlu::LinearOptions o;
    o.word_ngrams = 2;  // character 1..2-grams of Chinese, word 1..2-grams of English
    o.minn = 3;         // and 3..5-grams inside English words ("refunds" ~ "refund")
    o.maxn = 5;
    o.bits = 20;
    o.min_count = 1;
    o.epoch = 5;
    o.quantize = false;  // in memory only, rebuilt at every start (a third of its training time)
    c.model = TrainedClassifier(texts, labels, static_cast<int>(c.docs.size()), o);
    if (!c.model) continue;
    classifiers_.push_back(std::move(c));
  }
}

std::vector<float> TenantIndex::Classify(std::string_view understood) const {
  if (classifiers_.empty()) return {};
  std::vector<float> out(docs_.size(), 0.0f);
  bool any = false;
  for (const LanguageClassifier& c : classifiers_) {
    std::vector<float> p = c.model->Probabilities(understood);
    if (p.size() != c.docs.size()) continue;
    any = true;
    for (size_t i = 0; i < p.size(); ++i) out[c.docs[i]] = p[i];
  }
  if (!any) out.clear();
  return out;
}

// max over the doc's title and questions of Σ idf(shared) / Σ idf(union), over
// unique terms; the query's terms no entry has count in its mass (as in the
// confidence's coverage) and are never shared.
double TenantIndex::QuestionSimilarity(uint32_t doc, const std::vector<const void*>& query_terms,
                                       double query_mass) const {
  double best = 0;
  for (const QuestionTerms& qt : question_terms_[doc]) {
    double shared = 0;
    size_t i = 0, j = 0;
    while (i < query_terms.size() && j < qt.terms.size()) {
      if (query_terms[i] < qt.terms[j]) {
        ++i;
      } else if (qt.terms[j] < query_terms[i]) {
        ++j;
      } else {
        shared += static_cast<const Term*>(qt.terms[j])->idf;
        ++i;
        ++j;
      }
    }
    const double uni = query_mass + qt.mass - shared;
    if (uni > 0) best = std::max(best, shared / uni);
  }
  return best;
}

std::string TenantIndex::Understandable(std::string_view query, std::vector<text::SpellingCorrector::Fix>* fixes) const {
  // One turn reads the same text several times (the bot, its searches, the
  // repeat detector): remember this thread's recent answers for this index.
  // (Reading is idempotent: the text it gave back reads as itself, so an
  // answer is found by its output as well as by its input.)
  struct Memo {
    uint64_t generation = 0;
    std::string in, out;
  };
  thread_local RecentMemo<Memo, 32> memo;
  const size_t h = HashOf(generation_, query);
  if (!fixes) {
    const auto same = [&](const Memo& m) { return m.generation == generation_ && (m.in == query || m.out == query); };
    if (const Memo* m = memo.Find(h, same)) return m->out;
  }
  std::string folded = text::CodeSwitchToChinese(text::FoldSlang(text::FoldChinese(query)));
  std::string out = speller_ ? speller_->Correct(folded, fixes) : folded;
  if (!fixes) {
    memo.Replace(h, HashOf(generation_, out)) = {generation_, std::string(query), out};
  }
  return out;
}

const AnalyzedEntry* TenantIndex::Find(const std::string& id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : docs_[it->second].get();
}

std::vector<Passage> TenantIndex::Search(std::string_view raw_query, int top_k, double min_score,
                                         std::string_view lang, std::string_view context) const {
  // A turn asks the same question twice (the repeat detector, then the bot),
  // and customers ask the same few: this thread's recent searches for this
  // index are remembered.
  struct Memo {
    uint64_t generation = 0;
    std::string query, lang, context;
    int top_k = 0;
    double min_score = 0;
    std::vector<Passage> out;
  };
  thread_local RecentMemo<Memo, 32> memo;
  const size_t h = HashOf(generation_, raw_query);
  const auto same = [&](const Memo& m) {
    return m.generation == generation_ && m.top_k == top_k && m.min_score == min_score && m.lang == lang &&
           m.query == raw_query && m.context == context;
  };
  if (const Memo* m = memo.Find(h, same)) return m->out;
  std::vector<Passage> out = SearchUncached(raw_query, top_k, min_score, lang, context);
  memo.Replace(h, h) = {generation_, std::string(raw_query), std::string(lang), std::string(context), top_k, min_score, out};
  return out;
}

std::vector<Passage> TenantIndex::SearchUncached(std::string_view raw_query, int top_k, double min_score,
                                                 std::string_view lang, std::string_view context) const {
  std::vector<Passage> out;
  if (docs_.empty() || top_k <= 0) return out;
  const std::string understood = Understandable(raw_query);
  const std::string_view query = understood;
  // English: chat spellings, inflections and filler words brought to the
  // entries' forms (text/english.h).
  std::vector<std::string> tokens = text::EnglishSearchTerms(seg_.Tokenize(query), /*drop_fillers=*/true);
  if (tokens.empty()) return out;

  // Query terms: the user's own (unique), then synonym expansions. `covers` says which of
  // the user's terms a query term stands for (for the coverage part of the confidence).
  struct QTerm {
    std::string text;
    double weight;
    std::vector<uint32_t> covers;
    const Term* term;
  };
  std::vector<QTerm> q;
  std::unordered_map<std::string, uint32_t> pos;
  auto add = [&](const std::string& t, double w, std::vector<uint32_t> covers) {
    auto [it, fresh] = pos.emplace(t, static_cast<uint32_t>(q.size()));
    if (fresh) {
      auto ti = terms_.find(t);
      q.push_back({t, w, std::move(covers), ti == terms_.end() ? nullptr : &ti->second});
    } else {
      QTerm& e = q[it->second];
      e.weight = std::max(e.weight, w);
      for (uint32_t c : covers)
        if (std::find(e.covers.begin(), e.covers.end(), c) == e.covers.end()) e.covers.push_back(c);
    }
  };
  for (const std::string& t : tokens) add(t, 1.0, {static_cast<uint32_t>(pos.count(t) ? pos[t] : q.size())});
  const size_t n_user = q.size();
  // Synonyms match on the normalised text (token sequences differ between segmenters and
  // contexts); a matched member adds the tokens of the group's other members.
  if (!syn_groups_.empty()) {
    const std::string norm = text::Normalize(query);
    for (const auto& group : syn_groups_) {
      for (size_t m = 0; m < group.size(); ++m) {
        if (!MentionsTerm(norm, group[m].normalized)) continue;
        std::vector<uint32_t> covers;
        for (const std::string& t : group[m].tokens) {
          auto it = pos.find(t);
          if (it != pos.end() && it->second < n_user) covers.push_back(it->second);
        }
        for (size_t other = 0; other < group.size(); ++other) {
          if (other == m) continue;
          for (const std::string& t : group[other].tokens) add(t, opts_.synonym_weight, covers);
        }
      }
    }
  }

  // A place the entries name by its region: the region's words stand for it
  // (喀什 → 新疆, "lhasa" → tibet, 新加坡 → 海外; knowledge/places.h).
  for (const PlaceMention& m : FindPlaces(text::Normalize(query))) {
    std::vector<uint32_t> covers;
    for (const std::string& t : text::EnglishSearchTerms(seg_.Tokenize(m.place))) {
      auto it = pos.find(t);
      if (it != pos.end() && it->second < n_user) covers.push_back(it->second);
    }
    for (const std::string* region : {&m.region_zh, &m.region_en})
      for (const std::string& t : text::EnglishSearchTerms(seg_.Tokenize(*region)))
        add(t, opts_.synonym_weight, covers);
  }

  // The follow-up's context: its words rank, at context_weight, and cover nothing.
  std::vector<uint32_t> context_terms;  // positions in q of the context's words
  if (!context.empty()) {
    for (const std::string& t : text::EnglishSearchTerms(seg_.Tokenize(Understandable(context)), true)) {
      add(t, opts_.context_weight, {});
      uint32_t at = pos[t];
      if (std::find(context_terms.begin(), context_terms.end(), at) == context_terms.end() && q[at].term)
        context_terms.push_back(at);
    }
  }
  double context_idf = 0;
  for (uint32_t c : context_terms) context_idf += q[c].term->idf;

  // BM25 accumulation over the postings of the query terms.
  const double k1p1 = opts_.k1 + 1;
  std::vector<float> score(docs_.size(), 0.0f);
  std::vector<uint32_t> touched;
  for (const QTerm& qt : q) {
    if (qt.term == nullptr) continue;
    const double w = qt.weight * qt.term->idf;
    for (const Posting& p : qt.term->postings) {
      if (score[p.doc] == 0.0f) touched.push_back(p.doc);
      score[p.doc] += static_cast<float>(w * p.tf * k1p1 / (p.tf + norm_[p.doc]));
    }
  }
  if (lang != "*")
    touched.erase(std::remove_if(touched.begin(), touched.end(),
                                 [&](uint32_t d) { return docs_[d]->entry.lang != lang; }),
                  touched.end());
  if (touched.empty()) return out;
  // Counted after the language filter: the candidates are what is left of it.
  const size_t k = std::min<size_t>(static_cast<size_t>(top_k), touched.size());
  auto better = [&](uint32_t a, uint32_t b) { return score[a] != score[b] ? score[a] > score[b] : a < b; };
  // One extra candidate gives the margin of the last returned passage.
  size_t k_margin = std::min(k + 1, touched.size());
  std::partial_sort(touched.begin(), touched.begin() + static_cast<std::ptrdiff_t>(k_margin), touched.end(), better);
  // The entry classifier's favourite joins the candidates when the words alone
  // rank it lower (it must share a word with the query).
  std::vector<float> classified;
  if (context.empty() && !classifiers_.empty()) {
    classified = Classify(query);
    if (classified.size() == docs_.size()) {
      uint32_t fav = 0;
      for (uint32_t d = 1; d < classified.size(); ++d)
        if ((lang == "*" || docs_[d]->entry.lang == lang) &&
            (classified[d] > classified[fav] || (lang != "*" && docs_[fav]->entry.lang != lang)))
          fav = d;
      auto at = std::find(touched.begin(), touched.end(), fav);
      const auto end_k = touched.begin() + static_cast<std::ptrdiff_t>(k);
      if (at != touched.end() && at >= end_k && (lang == "*" || docs_[fav]->entry.lang == lang)) {
        std::rotate(end_k - 1, at, at + 1);  // fav takes place k-1, the rest move down one
      }
    } else {
      classified.clear();
    }
  }

  // Confidence ingredients (docs/knowledge.md):
  //   self  = BM25 of the query against a document that is exactly the query, as a title;
  //   cover = share of the query's idf mass (user terms) that the passage contains.
  double idf_total = 0, self = 0;
  const double qlen = opts_.title_weight * static_cast<double>(tokens.size());
  const double self_norm = opts_.k1 * (1 - opts_.b + opts_.b * qlen / avgdl_);
  std::vector<double> user_idf(n_user);
  for (size_t i = 0; i < n_user; ++i) {
    // A term no entry contains weighs like a term in one entry; a single character the KB
    // does not know is most often a particle (啊, 呢, 吧), so it weighs less.
    // An unknown character bigram that is no dictionary word is an accident of
    // the hybrid segmenter ("们空" in "你们空调"), not a concept: it weighs 0.1.
    double unknown_weight = q[i].text.size() <= 3 || IsDiscourseWord(q[i].text) ? 0.3 : 1.0;
    if (!q[i].term && unknown_weight == 1.0 && q[i].text.size() == 6 &&
        static_cast<unsigned char>(q[i].text[0]) >= 0xE0 && !seg_.IsWord(q[i].text))
      unknown_weight = 0.1;
    user_idf[i] = q[i].term ? q[i].term->idf : unknown_idf_ * unknown_weight;
    idf_total += user_idf[i];
    double tf = opts_.title_weight;
    self += user_idf[i] * tf * k1p1 / (tf + self_norm);
  }
  // The query's most specific word: the highest idf among its content words
  // — dictionary words of two or more characters that are no function word
  // (那个 and 昨天 are no topic; nor is a character pair across two words,
  // 们仓 in 你们仓库), or Latin words —, among all its terms when it has none.
  // A Han word counts only as the dictionary cuts the query: 开机设置 has 开机
  // and 设置, not 机设, though a rare dictionary entry spells that too.
  const std::vector<std::string> cut = seg_.Words(query);
  auto as_cut = [&](const std::string& w) {
    return cut.empty() || std::find(cut.begin(), cut.end(), w) != cut.end();
  };
  size_t key_term = 0;
  bool content = false;  // the query has a content word (else its key names no topic)
  {
    for (size_t i = 0; i < n_user; ++i) {
      const std::string& w = q[i].text;
      const bool latin = !w.empty() && static_cast<unsigned char>(w[0]) < 0x80;
      const bool c = !IsDiscourseWord(w) &&
                     (latin ? w.size() >= 2 && !std::isdigit(static_cast<unsigned char>(w[0]))
                            : w.size() >= 6 && seg_.IsWord(w) && !seg_.IsFunctionWord(w) && as_cut(w));
      if ((c && !content) || (c == content && user_idf[i] > user_idf[key_term])) key_term = i;
      content |= c;
    }
  }
  std::vector<const void*> query_terms;  // the user's known terms, sorted (for QuestionSimilarity)
  double query_mass = 0;
  std::vector<double> similarity;         // per passage in `out`
  std::vector<char> covered(n_user);
  for (size_t r = 0; r < k; ++r) {
    uint32_t d = touched[r];
    if (score[d] < min_score) break;
    const AnalyzedEntry& e = *docs_[d];
    std::fill(covered.begin(), covered.end(), 0);
    for (const QTerm& qt : q) {
      if (qt.term == nullptr) continue;
      // Postings are in doc order (built by ascending doc number).
      auto it = std::lower_bound(qt.term->postings.begin(), qt.term->postings.end(), d,
                                 [](const Posting& p, uint32_t doc) { return p.doc < doc; });
      bool in_doc = it != qt.term->postings.end() && it->doc == d;
      if (in_doc)
        for (uint32_t c : qt.covers) covered[c] = 1;
    }
    double cov = 0;
    for (size_t i = 0; i < n_user; ++i) cov += covered[i] ? user_idf[i] : 0;
    cov = idf_total > 0 ? cov / idf_total : 0;
    const size_t key = key_term;
    // Without a content word ("就上次那个"), nothing names what is asked: no
    // key word is there to be covered.
    const bool key_covered = n_user == 0 || (covered[key] && content);
    bool key_unknown = false;
    if (n_user > 0 && !q[key].term) {
      const std::string& w = q[key].text;
      const bool latin = static_cast<unsigned char>(w[0]) < 0x80;
      key_unknown = latin ? w.size() >= 3 && std::all_of(w.begin(), w.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); })
                          : w.size() >= 6 && seg_.IsWord(w) && as_cut(w);
    }
    // A follow-up: an entry must contain some of the follow-up's own words; the
    // share of the context it contains scales the confidence (0.6 .. 1).
    double topic = 1;
    if (!context_terms.empty()) {
      if (cov == 0) continue;
      double in_doc = 0;
      for (uint32_t c : context_terms) {
        const auto& postings = q[c].term->postings;
        auto it = std::lower_bound(postings.begin(), postings.end(), d,
                                   [](const Posting& p, uint32_t doc) { return p.doc < doc; });
        if (it != postings.end() && it->doc == d) in_doc += q[c].term->idf;
      }
      topic = 0.6 + 0.4 * (context_idf > 0 ? in_doc / context_idf : 0);
    }
    double s = score[d];
    double rel = self > 0 ? std::min(1.0, s / self) : 0;
    double next = r + 1 < k_margin ? score[touched[r + 1]] : 0;
    double margin = s > 0 ? (s - next) / s : 0;
    // (A follow-up's score is mostly its context's: how close it comes to the
    // follow-up alone, `rel`, says nothing there.)
    double conf = context_terms.empty() ? cov * (0.5 + 0.5 * rel) * (0.8 + 0.2 * margin)
                                        : cov * topic * (0.8 + 0.2 * margin);
    Passage p;
    p.id = e.entry.id;
    p.title = e.entry.title;
    p.text = e.entry.body;
    p.category = e.entry.category;
    p.lang = e.entry.lang;
    p.score = s;
    if (opts_.question_similarity_weight > 0 && !question_terms_.empty()) {
      if (query_mass == 0) {
        for (size_t i = 0; i < n_user; ++i) {
          query_mass += user_idf[i];
          if (q[i].term) query_terms.push_back(q[i].term);
        }
        std::sort(query_terms.begin(), query_terms.end());
      }
      similarity.push_back(QuestionSimilarity(d, query_terms, query_mass));
    }
    p.confidence = std::clamp(conf, 0.0, 1.0);
    p.key_word_covered = key_covered;
    p.key_word_unknown = key_unknown;
    if (n_user > 0) p.key_word = q[key].text;
    if (!classified.empty()) p.classified = classified[d];
    out.push_back(std::move(p));
  }
  // Relative to the candidate with the closest single question: that one keeps
  // its confidence, the others lose up to question_similarity_weight of theirs.
  if (!similarity.empty() && similarity.size() == out.size()) {
    const double top = *std::max_element(similarity.begin(), similarity.end());
    const double w = opts_.question_similarity_weight;
    if (top > 0)
      for (size_t i = 0; i < out.size(); ++i) out[i].confidence *= 1 - w + w * similarity[i] / top;
  }
  if (opts_.classifier_weight > 0 && !classified.empty()) {
    const double w = opts_.classifier_weight;
    for (Passage& p : out) p.confidence = (1 - w) * p.confidence + w * p.classified;
  }
  return out;
}

void TenantIndex::ScoreMatches(std::string_view raw_query, std::vector<Passage>& passages, size_t top) const {
  if (!matcher_) return;
  // A query's match with an entry depends on nothing else: this thread's
  // recent queries keep the matches they computed.
  struct Memo {
    uint64_t generation = 0;
    std::string query;
    std::vector<std::pair<uint32_t, double>> matches;  // (doc, match)
  };
  thread_local RecentMemo<Memo, 16> memo;
  const size_t h = HashOf(generation_, raw_query);
  Memo* known = memo.Find(h, [&](const Memo& m) { return m.generation == generation_ && m.query == raw_query; });
  if (!known) {
    known = &memo.Replace(h, h);
    known->generation = generation_;
    known->query.assign(raw_query);
    known->matches.clear();
  }
  // The matcher reads the three title/questions of each entry closest to the
  // query by words (question_terms_), not all of them (~16 per entry in the demo).
  std::string understood;
  std::vector<const void*> query_terms;
  double query_mass = 0;
  bool read = false;
  std::optional<QuestionMatcher::Prepared> query_prepared;
  for (size_t r = 0; r < passages.size() && r < top; ++r) {
    auto it = by_id_.find(passages[r].id);
    if (it == by_id_.end() || it->second >= prepared_.size()) continue;
    const uint32_t d = it->second;
    const auto seen = std::find_if(known->matches.begin(), known->matches.end(),
                                   [d](const std::pair<uint32_t, double>& m) { return m.first == d; });
    if (seen != known->matches.end()) {
      passages[r].match = seen->second;
      continue;
    }
    if (!read) {
      read = true;
      understood = Understandable(raw_query);
      for (const std::string& t : seg_.Tokenize(understood)) {
        auto term = terms_.find(t);
        if (term != terms_.end()) query_terms.push_back(&term->second);
      }
      std::sort(query_terms.begin(), query_terms.end());
      query_terms.erase(std::unique(query_terms.begin(), query_terms.end()), query_terms.end());
      for (const void* t : query_terms) query_mass += static_cast<const Term*>(t)->idf;
    }
    std::vector<std::pair<double, size_t>> closest;  // (-similarity, question index)
    for (size_t k = 0; k < question_terms_[d].size() && k < prepared_[d].size(); ++k) {
      const QuestionTerms& qt = question_terms_[d][k];
      double shared = 0;
      for (size_t i = 0, j = 0; i < query_terms.size() && j < qt.terms.size();) {
        if (query_terms[i] < qt.terms[j]) ++i;
        else if (qt.terms[j] < query_terms[i]) ++j;
        else shared += static_cast<const Term*>(qt.terms[j++])->idf, ++i;
      }
      const double uni = query_mass + qt.mass - shared;
      closest.emplace_back(uni > 0 ? -shared / uni : 0, k);
    }
    const size_t n = std::min<size_t>(3, closest.size());
    std::partial_sort(closest.begin(), closest.begin() + static_cast<std::ptrdiff_t>(n), closest.end());
    if (!query_prepared) query_prepared.emplace(matcher_->Prepare(understood));
    double best = 0;
    for (size_t c = 0; c < n; ++c) best = std::max(best, matcher_->Score(*query_prepared, prepared_[d][closest[c].second]));
    passages[r].match = best;
    known->matches.emplace_back(d, best);
  }
}

}  // namespace kefu::knowledge
