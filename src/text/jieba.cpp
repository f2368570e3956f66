#include "text/jieba.h"

#include <unordered_set>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>

#include "common/utf8.h"

namespace kefu::text {

namespace {
// Byte offsets of each code point of valid UTF-8 `s`, plus s.size() at the end.
std::vector<uint32_t> CpOffsets(std::string_view s) {
  std::vector<uint32_t> off;
  off.reserve(s.size() / 2 + 1);
  for (size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) off.push_back(static_cast<uint32_t>(i));
  off.push_back(static_cast<uint32_t>(s.size()));
  return off;
}
}  // namespace

JiebaSegmenter::~JiebaSegmenter() = default;

Result<std::unique_ptr<JiebaSegmenter>> JiebaSegmenter::Load(const std::string& path, const JiebaOptions& options) {
  // A server builds several segmenters (knowledge, matcher, features) from one
  // dictionary: it is parsed once per process and file version (a third of a
  // second for jieba's 350,000 words), and each segmenter gets its own copy
  // of the parsed tables (milliseconds; AddWord changes a copy only).
  struct Parsed {
    std::string path;
    std::uintmax_t size;
    std::filesystem::file_time_type mtime;
    std::shared_ptr<const JiebaSegmenter> dict;
  };
  static std::mutex mu;
  static std::vector<Parsed> parsed;  // a handful of paths at most
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  const auto mtime = ec ? std::filesystem::file_time_type{} : std::filesystem::last_write_time(path, ec);
  if (!ec) {
    std::lock_guard<std::mutex> lock(mu);
    for (const Parsed& p : parsed) {
      if (p.path == path && p.size == size && p.mtime == mtime) {
        std::unique_ptr<JiebaSegmenter> s(new JiebaSegmenter(*p.dict));
        s->options_ = options;
        return s;
      }
    }
  }
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return NotFound("jieba dictionary not found: " + path);
  std::string text;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  std::fclose(f);
  KEFU_ASSIGN_OR_RETURN(auto s, FromText(text, options));
  if (!ec) {
    std::lock_guard<std::mutex> lock(mu);
    if (parsed.size() >= 4) parsed.erase(parsed.begin());
    parsed.push_back({path, size, mtime, std::shared_ptr<const JiebaSegmenter>(new JiebaSegmenter(*s))});
  }
  return s;
}

Result<std::unique_ptr<JiebaSegmenter>> JiebaSegmenter::FromText(std::string_view text, const JiebaOptions& options) {
  std::unique_ptr<JiebaSegmenter> s(new JiebaSegmenter(options));
  KEFU_RETURN_IF_ERROR(s->Parse(text));
  return s;
}

namespace {

// jieba's (ICTCLAS) tags of words that carry no topic: pronouns (r), numerals
// and measure words (m, q, mq), adverbs (d, ad), conjunctions
// (c), prepositions (p), particles (u, y, e, o), direction and place words
// (f, s), set phrases (l) and their morpheme forms. Not time words (t): the
// dictionary tags 过期 and 下个月 so, and those are topics.
bool IsFunctionTag(std::string_view tag) {
  static constexpr std::string_view kTags[] = {"r",  "rr", "rz", "rg", "m",  "mq", "mg", "q",  "d", "dg",
                                               "df", "ad", "c",  "p",  "u",  "ud", "ug", "uj", "ul", "uv", "uz",
                                               "y",  "e",  "o",  "f",  "s",  "l",  "k",  "h"};
  return std::find(std::begin(kTags), std::end(kTags), tag) != std::end(kTags);
}

}  // namespace

Status JiebaSegmenter::Parse(std::string_view text) {
  size_t lines = 0;
  for (char c : text) lines += c == '\n';
  size_t cap = 1024;
  while (cap < lines * 3) cap <<= 1;  // words + prefixes stay under ~2/3 load
  slots_.assign(cap, Slot{});
  arena_.reserve(text.size());
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_no == 1) line = utf8::StripBom(line);
    if (line.empty()) continue;
    size_t sp = line.find(' ');
    std::string_view word = line.substr(0, sp);
    int64_t freq = 1;
    std::string_view tag;
    if (sp != std::string_view::npos) {
      freq = 0;
      size_t i = sp + 1;
      for (; i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i) freq = freq * 10 + (line[i] - '0');
      if (i < line.size() && line[i] == ' ') tag = line.substr(i + 1);
    }
    if (!tag.empty() && IsFunctionTag(tag)) function_words_.push_back(std::hash<std::string_view>{}(word));
    if (freq <= 0 || word.empty()) continue;
    bool plain = true;  // fast path: no ASCII upper case and no full-width forms to fold
    for (unsigned char c : word) plain &= !(c >= 'A' && c <= 'Z') && c != 0xEF;
    if (!utf8::IsValid(word))
      return InvalidArgument("jieba dictionary line " + std::to_string(line_no) + ": invalid UTF-8");
    if (plain) {
      Insert(word, freq);
    } else {
      Insert(Normalize(word), freq);
    }
  }
  if (words_ == 0) return InvalidArgument("jieba dictionary is empty");
  std::sort(function_words_.begin(), function_words_.end());
  function_words_.erase(std::unique(function_words_.begin(), function_words_.end()), function_words_.end());
  log_total_ = std::log(total_);
  return Status::Ok();
}

bool JiebaSegmenter::IsFunctionWord(std::string_view word) const {
  return std::binary_search(function_words_.begin(), function_words_.end(), std::hash<std::string_view>{}(word));
}

int64_t JiebaSegmenter::Find(std::string_view w) const {
  size_t mask = slots_.size() - 1;
  size_t h = std::hash<std::string_view>{}(w) & mask;
  while (true) {
    const Slot& s = slots_[h];
    if (s.off == UINT32_MAX) return -1;
    if (s.len == w.size() && std::string_view(arena_.data() + s.off, s.len) == w) return s.freq;
    h = (h + 1) & mask;
  }
}

void JiebaSegmenter::Grow() {
  std::vector<Slot> old;
  old.swap(slots_);
  slots_.assign(old.size() * 2, Slot{});
  size_t mask = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.off == UINT32_MAX) continue;
    size_t h = std::hash<std::string_view>{}(std::string_view(arena_.data() + s.off, s.len)) & mask;
    while (slots_[h].off != UINT32_MAX) h = (h + 1) & mask;
    slots_[h] = s;
  }
}

void JiebaSegmenter::Insert(std::string_view word, int64_t freq) {
  if (word.empty()) return;
  if ((used_ + word.size()) * 3 > slots_.size() * 2) Grow();
  uint32_t off = static_cast<uint32_t>(arena_.size());
  arena_.append(word);
  std::string_view stored(arena_.data() + off, word.size());
  size_t mask = slots_.size() - 1;
  for (size_t end = 1; end <= stored.size(); ++end) {
    if (end < stored.size() && (static_cast<unsigned char>(stored[end]) & 0xC0) == 0x80) continue;
    std::string_view prefix = stored.substr(0, end);
    bool full = end == stored.size();
    size_t h = std::hash<std::string_view>{}(prefix) & mask;
    while (true) {
      Slot& s = slots_[h];
      if (s.off == UINT32_MAX) {
        s.off = off;
        s.len = static_cast<uint32_t>(prefix.size());
        s.freq = full ? freq : 0;
        ++used_;
        if (full) { ++words_; total_ += static_cast<double>(freq); }
        break;
      }
      if (s.len == prefix.size() && std::string_view(arena_.data() + s.off, s.len) == prefix) {
        if (full) {
          if (s.freq == 0) ++words_;
          total_ += static_cast<double>(freq - s.freq);
          s.freq = freq;
        }
        break;
      }
      h = (h + 1) & mask;
    }
  }
}

void JiebaSegmenter::AddWord(std::string_view raw, int64_t freq) {
  std::string word;
  ForEachRun(Normalize(raw), [&](RunKind, std::string_view run) { word.append(run); });
  if (word.empty()) return;
  if (freq <= 0) {
    // suggest_freq: enough to beat the product of the pieces it is cut into today.
    double p = 1;
    for (const std::string& piece : CutHan(word)) {
      int64_t f = std::max<int64_t>(Find(piece), 1);
      p *= static_cast<double>(f) / total_;
    }
    freq = std::max<int64_t>(static_cast<int64_t>(p * total_) + 1, std::max<int64_t>(Find(word), 1));
  }
  Insert(word, freq);
  log_total_ = std::log(total_);
}

void JiebaSegmenter::CutHanInto(std::string_view run, std::vector<std::string>& out, bool search) const {
  std::vector<uint32_t> off = CpOffsets(run);
  const size_t n = off.size() - 1;
  if (n == 0) return;
  auto sub = [&](size_t a, size_t b) { return run.substr(off[a], off[b] - off[a]); };  // chars [a, b)
  // route[i] = (best log prob of run[i..n), end of the first word)
  std::vector<double> best(n + 1, 0.0);
  std::vector<uint32_t> next(n + 1, 0);
  for (size_t i = n; i-- > 0;) {
    double bp = -1e300;
    uint32_t bx = static_cast<uint32_t>(i + 1);
    for (size_t j = i + 1; j <= n; ++j) {
      int64_t f = Find(sub(i, j));
      if (f < 0) break;
      if (f == 0 && j != i + 1) continue;
      double lp = std::log(static_cast<double>(std::max<int64_t>(f, 1))) - log_total_ + best[j];
      if (lp > bp || (lp == bp && j > bx)) { bp = lp; bx = static_cast<uint32_t>(j); }
    }
    if (bp == -1e300) bp = -log_total_ + best[i + 1];  // char not in the dictionary at all
    best[i] = bp;
    next[i] = bx;
  }
  size_t x = 0;
  size_t buf_start = 0, buf_len = 0;  // pending run of single characters
  const double rare_freq = options_.bigram_max_char_prob * total_;
  auto Rare = [&](std::string_view ch) { return static_cast<double>(Find(ch)) < rare_freq; };
  auto flush = [&]() {
    if (buf_len == 0) return;
    if (buf_len > 1 && Find(sub(buf_start, buf_start + buf_len)) > 0) {
      out.emplace_back(sub(buf_start, buf_start + buf_len));
    } else {
      for (size_t k = 0; k < buf_len; ++k) {
        out.emplace_back(sub(buf_start + k, buf_start + k + 1));
        if (options_.unknown_bigrams && k + 1 < buf_len && Rare(sub(buf_start + k, buf_start + k + 1)) &&
            Rare(sub(buf_start + k + 1, buf_start + k + 2)))
          out.emplace_back(sub(buf_start + k, buf_start + k + 2));
      }
    }
    buf_len = 0;
  };
  while (x < n) {
    size_t y = next[x];
    if (y == x + 1) {
      if (buf_len == 0) buf_start = x;
      ++buf_len;
    } else {
      flush();
      if (search) {
        size_t len = y - x;
        for (size_t g : {size_t{2}, size_t{3}}) {
          if (len <= g) continue;
          for (size_t k = x; k + g <= y; ++k)
            if (Find(sub(k, k + g)) > 0) out.emplace_back(sub(k, k + g));
        }
      }
      out.emplace_back(sub(x, y));
    }
    x = y;
  }
  flush();
}

std::vector<std::string> JiebaSegmenter::CutHan(std::string_view han_run) const {
  std::vector<std::string> out;
  CutHanInto(han_run, out, false);
  return out;
}

namespace {

// English words as search terms: function words dropped ("what's the weather
// like" must not match an entry on "the" and "like"), a plural -s removed so
// "refunds" finds "refund". Other scripts and numbers pass unchanged.
std::string EnglishTerm(std::string_view run) {
  static const std::unordered_set<std::string_view> kStop = {
      "a", "an", "the", "is", "are", "was", "were", "be", "been", "am", "do", "does", "did", "i", "me", "my",
      "you", "your", "we", "our", "us", "it", "its", "it's", "to", "of", "in", "on", "at", "for", "with", "and",
      "or", "but", "if", "so", "this", "that", "there", "what", "what's", "how", "can", "could", "will", "would",
      "should", "please", "hi", "hello", "any", "some", "just", "about", "like", "get", "got", "have", "has",
      "had", "from", "by", "as", "up", "out", "s", "t", "don", "not", "no", "yes", "ok", "im", "i'm"};
  std::string w(run);
  bool letters = !w.empty();
  for (char c : w) letters &= (c >= 'a' && c <= 'z') || c == '\'';
  if (!letters) return w;
  if (kStop.count(w)) return "";
  if (w.size() > 4 && w.back() == 's' && w[w.size() - 2] != 's' && w[w.size() - 2] != 'u') w.pop_back();
  return w;
}

// Sentence-final particles (呢, 吗, 吧, 啊 ...): no search terms, and no
// character bigram spans them ("那换货呢" gives no 货呢), so a chatty follow-up
// is not a question about words no entry has.
bool IsParticle(std::string_view ch) {
  static const std::unordered_set<std::string_view> kParticles = {"呢", "吗", "吧", "啊", "呀", "哦", "嘛", "啦", "哈",
                                                                   "呗", "哇", "噢", "咯", "喔", "嘞", "么"};
  return kParticles.count(ch) > 0;
}

}  // namespace

std::vector<std::string> JiebaSegmenter::Words(std::string_view text) const {
  std::vector<std::string> out;
  ForEachRun(Normalize(text), [&](RunKind kind, std::string_view run) {
    if (kind == RunKind::kHan) CutHanInto(run, out, /*search=*/false);
  });
  return out;
}

std::vector<std::string> JiebaSegmenter::Tokenize(std::string_view text) const {
  std::vector<std::string> out;
  std::string norm = Normalize(text);
  ForEachRun(norm, [&](RunKind kind, std::string_view run) {
    if (kind == RunKind::kHan) {
      const size_t first = out.size();
      CutHanInto(run, out, options_.search_mode);
      if (options_.char_bigrams || options_.char_unigrams) {
        // (hybrid) particles go, as words and as characters.
        out.erase(std::remove_if(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
                                 [](const std::string& w) { return IsParticle(w); }),
                  out.end());
        std::vector<uint32_t> off = CpOffsets(run);
        auto ch = [&](size_t k) { return run.substr(off[k], off[k + 1] - off[k]); };
        // A leading 那 ("那退货呢？", "那运费呢") only says "what about".
        const bool lead_na = off.size() > 2 && ch(0) == "那";
        if (lead_na)
          out.erase(std::remove(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(), std::string("那")),
                    out.end());
        for (size_t k = lead_na ? 1 : 0; k + 1 < off.size(); ++k) {
          if (IsParticle(ch(k))) continue;
          if (options_.char_unigrams) out.emplace_back(ch(k));
          if (options_.char_bigrams && k + 2 < off.size() && !IsParticle(ch(k + 1)))
            out.emplace_back(run.substr(off[k], off[k + 2] - off[k]));
        }
      }
    } else if (std::string w = EnglishTerm(run); !w.empty()) {
      out.push_back(std::move(w));
    }
  });
  return out;
}

}  // namespace kefu::text
