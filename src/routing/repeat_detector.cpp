#include "routing/repeat_detector.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/utf8.h"

namespace kefu::routing {

namespace {

// Paraphrase → canonical form. Matched greedily, longest key first.
constexpr std::array<std::pair<std::u32string_view, std::u32string_view>, 37> kSynonyms = {{
    {U"什么时候", U"何时"},   {U"啥时候", U"何时"},     {U"几时", U"何时"},       {U"多久", U"何时"},
    {U"多长时间", U"何时"},   {U"怎么还不", U"何时"},   {U"怎么还没", U"何时"},   {U"为什么还不", U"何时"},
    {U"为什么还没", U"何时"}, {U"还没有", U"何时"},     {U"还不", U"何时"},       {U"还没", U"何时"},
    {U"怎么样", U"如何"},     {U"怎样", U"如何"},       {U"怎么", U"如何"},       {U"咋", U"如何"},
    {U"如何才能", U"如何"},   {U"为什么", U"为何"},     {U"为啥", U"为何"},       {U"干嘛", U"为何"},
    {U"是不是", U"是否"},     {U"能不能", U"能否"},     {U"可不可以", U"能否"},   {U"可以", U"能"},
    {U"可否", U"能否"},       {U"有没有", U"有无"},     {U"寄出", U"发货"},       {U"发出", U"发货"},
    {U"送到", U"到货"},       {U"退钱", U"退款"},       {U"钱退", U"退款"},       {U"快递", U"物流"},
    {U"包裹", U"物流"},       {U"手机号码", U"手机号"}, {U"电话号码", U"手机号"}, {U"开通", U"开"},
    {U"关闭", U"关"},
}};

// Dropped wherever they occur (after synonyms had their chance).
constexpr std::array<std::u32string_view, 20> kFillers = {
    U"到底", U"究竟", U"请问", U"你好", U"您好", U"我想问", U"想问一下", U"一下", U"麻烦", U"亲",
    U"呢",   U"吗",   U"啊",   U"呀",   U"吧",   U"了",     U"的",       U"嘛",   U"哦",   U"哈",
};

// Normalised texts that are not questions.
constexpr std::array<std::u32string_view, 14> kAcknowledgements = {
    U"好", U"好好", U"嗯", U"嗯嗯", U"谢谢", U"多谢", U"ok", U"知道", U"收到", U"行", U"对", U"是", U"在吗", U"没有",
};

bool Keep(char32_t c) {
  return (c >= U'a' && c <= U'z') || (c >= U'0' && c <= U'9') || (c >= 0x3400 && c <= 0x9FFF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x2FFFF);
}

char32_t Fold(char32_t c) {
  if (c >= 0xFF01 && c <= 0xFF5E) c -= 0xFEE0;  // full-width ASCII
  if (c >= U'A' && c <= U'Z') c += 32;
  return c;
}

bool StartsWith(const std::u32string& s, size_t i, std::u32string_view p) {
  return s.size() - i >= p.size() && s[i] == p[0] && std::u32string_view(s).substr(i, p.size()) == p;
}

std::u32string NormalizeCp(std::string_view text) {
  std::string clean = utf8::Sanitize(text);
  std::u32string s;
  for (char32_t c : utf8::Decode(clean)) {
    c = Fold(c);
    if (Keep(c)) s.push_back(c);
  }
  static const std::vector<std::pair<std::u32string_view, std::u32string_view>> by_length = [] {
    std::vector<std::pair<std::u32string_view, std::u32string_view>> v(kSynonyms.begin(), kSynonyms.end());
    std::stable_sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.first.size() > b.first.size(); });
    return v;
  }();
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    bool matched = false;
    for (const auto& [from, to] : by_length)
      if (StartsWith(s, i, from)) {
        out.append(to);
        i += from.size();
        matched = true;
        break;
      }
    if (matched) continue;
    for (std::u32string_view f : kFillers)
      if (StartsWith(s, i, f)) {
        i += f.size();
        matched = true;
        break;
      }
    if (matched) continue;
    out.push_back(s[i++]);
  }
  return out;
}

// Character unigrams (0.5) and bigrams (1.0), sorted by key, each key once.
// Every value and every sum below is a small multiple of 0.25, exact in a
// double, so the cosine does not depend on the order of the additions.
using Vec = std::vector<std::pair<uint64_t, double>>;

Vec Features(const std::u32string& s) {
  Vec v;
  v.reserve(2 * s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    v.emplace_back((uint64_t{1} << 63) | s[i], 0.5);
    if (i + 1 < s.size()) v.emplace_back((uint64_t{s[i]} << 21) | s[i + 1], 1.0);
  }
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  size_t out = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (out > 0 && v[out - 1].first == v[i].first) {
      v[out - 1].second += v[i].second;
    } else {
      v[out++] = v[i];
    }
  }
  v.resize(out);
  return v;
}

double Cosine(const Vec& a, const Vec& b) {
  double dot = 0, na = 0, nb = 0;
  size_t j = 0;
  for (const auto& [k, x] : a) {
    na += x * x;
    while (j < b.size() && b[j].first < k) ++j;
    if (j < b.size() && b[j].first == k) dot += x * b[j].second;
  }
  for (const auto& [k, y] : b) nb += y * y;
  return na > 0 && nb > 0 ? dot / std::sqrt(na * nb) : 0.0;
}

// The customer says this is the question before, asked again.
bool AsksAgain(std::string_view text) {
  std::string t = utf8::Sanitize(text);
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view w : {"我问的是", "我問的是", "我是问", "我是問", "我是说", "我是說", "我就想知道", "我只想知道",
                             "我就问", "我就問", "再问一遍", "再問一遍", "我再问", "我再問", "我说的是", "我說的是",
                             "给我个准话", "給我個準話", "给个准话", "i asked", "i'm asking", "im asking",
                             "my question was", "my question is", "i just want to know", "i just wanna know",
                             "like i said", "as i said"})
    if (t.find(w) != std::string::npos) return true;
  return false;
}

// The features of an earlier question of the window, as Features(NormalizeCp(q)):
// every turn compares its question with each earlier one, so this thread
// keeps the last 64 (found by hash). The reference holds until the next call.
const Vec& StoredFeatures(const std::string& q) {
  struct Memo {
    uint64_t used = 0;  // 0 = empty
    size_t hash = 0;
    std::string text;
    Vec features;
  };
  thread_local std::array<Memo, 64> memo;
  thread_local uint64_t tick = 0;
  const size_t h = std::hash<std::string>{}(q);
  Memo* oldest = &memo[0];
  for (Memo& m : memo) {
    if (m.used && m.hash == h && m.text == q) {
      m.used = ++tick;
      return m.features;
    }
    if (m.used < oldest->used) oldest = &m;
  }
  oldest->used = ++tick;
  oldest->hash = h;
  oldest->text = q;
  oldest->features = Features(NormalizeCp(q));
  return oldest->features;
}

bool IsQuestion(const std::u32string& norm) {
  if (norm.empty()) return false;
  if (std::find(kAcknowledgements.begin(), kAcknowledgements.end(), std::u32string_view(norm)) !=
      kAcknowledgements.end())
    return false;
  return true;
}

}  // namespace

std::string RepeatDetector::Normalize(std::string_view text) {
  std::string out;
  for (char32_t c : NormalizeCp(text)) utf8::Append(out, c);
  return out;
}

double RepeatDetector::Similarity(std::string_view a, std::string_view b) const {
  return Cosine(Features(NormalizeCp(a)), Features(NormalizeCp(b)));
}

int RepeatDetector::Observe(nlohmann::json& state, std::string_view text, std::string_view need) const {
  if (!state.is_object()) state = nlohmann::json::object();
  if (!state.contains("questions") || !state["questions"].is_array()) state["questions"] = nlohmann::json::array();
  if (!state.contains("needs") || !state["needs"].is_array() || state["needs"].size() != state["questions"].size())
    state["needs"] = nlohmann::json::array();
  if (!state.contains("counts") || !state["counts"].is_array() || state["counts"].size() != state["questions"].size())
    state["counts"] = nlohmann::json::array();
  nlohmann::json& qs = state["questions"];
  nlohmann::json& needs = state["needs"];
  nlohmann::json& counts = state["counts"];
  const bool keyed = needs.size() == qs.size();
  const bool counted = counts.size() == qs.size();

  const std::u32string norm = NormalizeCp(text);
  if (!IsQuestion(norm)) return 0;
  const Vec f = Features(norm);
  int count = 1;
  for (size_t i = 0; i < qs.size(); ++i) {
    const auto& q = qs[i];
    bool same_need = keyed && !need.empty() && needs[i].is_string() && needs[i].get<std::string>() == need;
    if (same_need || (q.is_string() && Cosine(f, StoredFeatures(q.get_ref<const std::string&>())) >= settings_.threshold))
      ++count;
  }
  std::string kept_need(need);
  if (AsksAgain(text) && !qs.empty()) {
    const int before = counted && counts.back().is_number_integer() ? counts.back().get<int>() : 1;
    count = std::max(count, before + 1);
    if (keyed && needs.back().is_string() && !needs.back().get<std::string>().empty())
      kept_need = needs.back().get<std::string>();  // the same need as the question it repeats
  }
  if (!counted) counts = nlohmann::json::array();
  qs.push_back(utf8::Sanitize(text));
  needs.push_back(kept_need);
  while (counts.size() + 1 < qs.size()) counts.push_back(1);  // older state without counts
  counts.push_back(count);
  while (qs.size() > settings_.window) {
    qs.erase(qs.begin());
    needs.erase(needs.begin());
    counts.erase(counts.begin());
  }
  return count;
}

}  // namespace kefu::routing
