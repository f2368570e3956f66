#include "text/spelling.h"

#include <cctype>

#include <unicode/translit.h>
#include <unicode/unistr.h>

#include <memory>
#include <mutex>
#include <shared_mutex>

#include "common/utf8.h"

namespace kefu::text {

namespace {

// ICU transliterators are not safe to share between threads: one per thread.
icu::Transliterator* ThreadTransliterator(const char* id) {
  thread_local std::unordered_map<std::string, std::unique_ptr<icu::Transliterator>> cache;
  auto it = cache.find(id);
  if (it != cache.end()) return it->second.get();
  UErrorCode err = U_ZERO_ERROR;
  std::unique_ptr<icu::Transliterator> t(
      icu::Transliterator::createInstance(icu::UnicodeString::fromUTF8(id), UTRANS_FORWARD, err));
  if (U_FAILURE(err)) t.reset();
  return cache.emplace(id, std::move(t)).first->second.get();
}

}  // namespace

namespace {

// The Han characters that Hant-Hans changes, found once by asking ICU about
// each of the 21k unified ideographs, so a simplified text (most of them)
// never pays for a transliteration.
const std::vector<bool>& TraditionalChars() {
  static const std::vector<bool> table = [] {
    std::vector<bool> t(0xA000 - 0x3400, false);
    icu::Transliterator* tr = ThreadTransliterator("Hant-Hans");
    if (!tr) return t;
    for (UChar32 c = 0x3400; c < 0xA000; ++c) {
      icu::UnicodeString u(c);
      tr->transliterate(u);
      t[static_cast<size_t>(c - 0x3400)] = !(u.length() == 1 && u.char32At(0) == c);
    }
    return t;
  }();
  return table;
}

bool HasTraditional(const std::vector<char32_t>& cps) {
  const auto& t = TraditionalChars();
  for (char32_t c : cps)
    if (c >= 0x3400 && c < 0xA000 && t[c - 0x3400]) return true;
  return false;
}

}  // namespace

std::string FoldSlang(std::string_view raw) {
  static constexpr std::pair<std::string_view, std::string_view> kSlang[] = {
      {"木有", "没有"}, {"神马", "什么"}, {"肿么", "怎么"}, {"酱紫", "这样子"}, {"介个", "这个"}, {"灰常", "非常"},
      // 帐 for 账 in money words (not 帐篷).
      {"帐户", "账户"}, {"帐号", "账号"}, {"到帐", "到账"}, {"进帐", "进账"}, {"入帐", "入账"}, {"帐单", "账单"},
      {"对帐", "对账"}, {"余额帐", "余额账"},
      // Money or a parcel not seen: not received ("退的钱一直没见着"); the money refunded.
      {"没见着", "没收到"}, {"退的钱", "退款"}, {"退回来的钱", "退款"},
      // A pinyin typo no speller of the tenant's words can mend (法 is a word of its own).
      {"没法货", "没发货"}, {"法货了", "发货了"},
      // Cantonese as Hong Kong customers write it (after Hant-Hans): "唔该 请问退款会退返去边度".
      {"唔该", "请"}, {"边度", "哪里"}, {"退返", "退回"}, {"冇", "没有"}, {"嘅", "的"}, {"乜嘢", "什么"}, {"咩", "什么"},
      {"点样", "怎么样"}, {"点解", "为什么"}, {"几时", "什么时候"}, {"系咪", "是不是"}, {"系唔系", "是不是"},
      {"唔系", "不是"}, {"唔使", "不用"}, {"唔得", "不行"}, {"唔到", "不到"}, {"咗未", "了没"}, {"咗", "了"}, {"佢", "他"}, {"睇", "看"},
      {"俾", "给"}, {"你哋", "你们"}, {"我哋", "我们"}, {"佢哋", "他们"}, {"出嚟", "出来"}, {"嚟", "来"},
      {"到未", "到没"}, {"今日", "今天"}, {"听日", "明天"}, {"琴日", "昨天"}, {"唔钟意", "不喜欢"},
      {"钟意", "喜欢"}, {"可唔可以", "可不可以"}, {"会唔会", "会不会"}, {"有冇", "有没有"}, {"啲嘢", "东西"},
      {"嘢", "东西"}, {"去到边", "到哪里"}, {"仲未", "还没"}, {"嗰个", "那个"}, {"嗰", "那"}, {"呢个", "这个"},
      {"恤衫", "衬衫"}, {"㗎", ""}, {"啲", "些"}};
  std::string text(raw);
  for (const auto& [from, to] : kSlang)
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
      text.replace(at, from.size(), to);
  // "满300减40", "每满200减30": a 满减 promotion, which the words alone do not
  // say (the amounts part 满 from 减): the term is added once.
  for (size_t at = text.find("满"); at != std::string::npos; at = text.find("满", at + 3)) {
    size_t i = at + 3;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == ' ')) ++i;
    if (i > at + 3 && text.compare(i, 3, "减") == 0 && text.find("满减") == std::string::npos) {
      text += " 满减";
      break;
    }
  }
  return text;
}

std::string FoldChinese(std::string_view raw) {
  std::string text = utf8::IsValid(raw) ? std::string(raw) : utf8::Sanitize(raw);
  bool ascii = true, wide = false;
  for (unsigned char c : text) ascii &= c < 0x80;
  if (ascii) return text;
  std::string out;
  out.reserve(text.size());
  std::vector<char32_t> cps = utf8::Decode(text);
  for (char32_t& c : cps) {
    if (c >= 0xFF01 && c <= 0xFF5E) c -= 0xFEE0;
    if (c == 0x3000) c = ' ';
    wide |= IsHan(c);
    utf8::Append(out, c);
  }
  if (!wide || !HasTraditional(cps)) return out;
  icu::Transliterator* t = ThreadTransliterator("Hant-Hans");
  if (!t) return out;
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(out);
  t->transliterate(u);
  std::string folded;
  u.toUTF8String(folded);
  return folded;
}

std::string PinyinOf(char32_t c) {
  if (!IsHan(c)) return "";
  thread_local std::unordered_map<char32_t, std::string> cache;  // per thread: no lock on the turn path
  if (auto it = cache.find(c); it != cache.end()) return it->second;
  // Then the process's readings: ICU's Han-Latin costs tens of microseconds a
  // character, and a server's many turn threads would each pay it for every
  // character they meet (a tenth of a turn's CPU in `kefu eval dialogue`).
  static std::shared_mutex shared_mu;
  static std::unordered_map<char32_t, std::string> shared;
  {
    std::shared_lock lock(shared_mu);
    if (auto it = shared.find(c); it != shared.end()) return cache.emplace(c, it->second).first->second;
  }
  std::string out;
  if (icu::Transliterator* t = ThreadTransliterator("Han-Latin; Latin-ASCII; Lower")) {
    icu::UnicodeString u(static_cast<UChar32>(c));
    t->transliterate(u);
    u.toUTF8String(out);
    std::string clean;
    for (char ch : out)
      if (ch >= 'a' && ch <= 'z') clean.push_back(ch);
    out = clean;
  }
  {
    std::unique_lock lock(shared_mu);
    shared.emplace(c, out);
  }
  cache.emplace(c, out);
  return out;
}

namespace {

// A syllable as customers type it. Exact toneless pinyin only: the fuzzy
// rules of input methods (z/zh, -n/-ng) rewrote product names (大疆 → 大件)
// and were dropped. 券 is read juàn as often as quàn (优惠卷).
std::string Fuzzy(char32_t c, std::string p) {
  if (c == U'券') return "juan";
  return p;
}

// "tui kuan" for a span of Han characters, "" when one has no reading.
std::string Sound(const std::vector<char32_t>& cps, size_t from, size_t len) {
  std::string key;
  for (size_t i = from; i < from + len; ++i) {
    std::string p = Fuzzy(cps[i], PinyinOf(cps[i]));
    if (p.empty()) return "";
    if (!key.empty()) key.push_back(' ');
    key += p;
  }
  return key;
}

std::string Span(const std::vector<char32_t>& cps, size_t from, size_t len) {
  std::string s;
  for (size_t i = from; i < from + len; ++i) utf8::Append(s, cps[i]);
  return s;
}

}  // namespace

SpellingCorrector::SpellingCorrector(const std::vector<std::string>& vocabulary, const Segmenter* general)
    : general_(general) {
  for (const std::string& w : vocabulary) {
    if (!utf8::IsValid(w)) continue;
    std::vector<char32_t> cps = utf8::Decode(w);
    if (cps.size() < 2 || cps.size() > 4) continue;
    bool han = true;
    for (char32_t c : cps) han &= IsHan(c);
    if (!han || !vocab_.insert(w).second) continue;
    std::string key = Sound(cps, 0, cps.size());
    if (!key.empty()) by_sound_[key].push_back(w);
  }
}

// Grammatical characters: a customer's 的/了/吗 is never a typo of a content
// word's character ("还没发货的那单" must not become "发货地").
bool IsFunctionChar(char32_t c) {
  for (char32_t f : U"的地得了着过吗呢吧啊呀嘛么那这哪个是在有和与就都也还不没别未")
    if (f && c == f) return true;
  return false;
}

bool SpellingCorrector::Known(const std::string& w) const {
  return vocab_.count(w) > 0 || (general_ && general_->IsWord(w));
}

std::string SpellingCorrector::Correct(std::string_view raw, std::vector<Fix>* fixes) const {
  std::string text = utf8::IsValid(raw) ? std::string(raw) : utf8::Sanitize(raw);
  if (by_sound_.empty()) return text;
  std::vector<char32_t> cps = utf8::Decode(text);
  // Syllables once per character, not once per window.
  std::vector<std::string> syl(cps.size());
  for (size_t k = 0; k < cps.size(); ++k)
    if (IsHan(cps[k])) syl[k] = Fuzzy(cps[k], PinyinOf(cps[k]));
  auto sound = [&](size_t from, size_t len) {
    std::string key;
    for (size_t k = from; k < from + len; ++k) {
      if (syl[k].empty()) return std::string();
      if (!key.empty()) key.push_back(' ');
      key += syl[k];
    }
    return key;
  };
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  bool changed = false;
  while (i < cps.size()) {
    bool done = false;
    if (IsHan(cps[i])) {
      for (size_t len = 4; len >= 2 && !done; --len) {
        if (i + len > cps.size()) continue;
        bool han = true;
        for (size_t k = i; k < i + len; ++k) han &= IsHan(cps[k]);
        if (!han) continue;
        std::string span = Span(cps, i, len);
        if (Known(span)) {
          if (vocab_.count(span)) {  // a tenant word: keep it whole
            out += span;
            i += len;
            done = true;
          }
          continue;
        }
        auto it = by_sound_.find(sound(i, len));
        if (it == by_sound_.end()) continue;
        // The same sound and at least one character in common, and exactly one candidate.
        const std::string* pick = nullptr;
        int picks = 0;
        for (const std::string& w : it->second) {
          std::vector<char32_t> wc = utf8::Decode(w);
          int same = 0;
          bool function_char = false;  // 发货的 is not a misspelt 发货地
          for (size_t k = 0; k < len; ++k) {
            same += wc[k] == cps[i + k];
            if (wc[k] != cps[i + k]) function_char |= IsFunctionChar(cps[i + k]);
          }
          if (same >= 1 && same < static_cast<int>(len) && !function_char) {
            pick = &w;
            ++picks;
          }
        }
        if (picks != 1) continue;
        // The span's last character starts a real word with what follows
        // ("有活动": 活动 is a word, so 有活 is no typo of 有货).
        bool overlaps_word = false;
        for (size_t wl = 2; wl <= 4 && !overlaps_word && i + len - 1 + wl <= cps.size(); ++wl)
          overlaps_word = Known(Span(cps, i + len - 1, wl));
        // Nor when its first character ends a real word with what precedes
        // ("耳机到哪": 耳机 is a word, so 机到 is no typo of 寄到), unless that
        // word's own first character ends a word before it ("机器人物留": 人 is
        // 机器人's, so 人物 is no reading and 物留 is a typo of 物流).
        for (size_t wl = 2; wl <= 4 && !overlaps_word && i + 1 >= wl; ++wl) {
          const size_t start = i + 1 - wl;
          if (!Known(Span(cps, start, wl))) continue;
          bool taken = false;
          for (size_t k = 2; k <= 4 && !taken && start + 1 >= k; ++k) taken = Known(Span(cps, start + 1 - k, k));
          overlaps_word = !taken;
        }
        if (overlaps_word) continue;
        if (fixes) fixes->push_back({span, *pick});
        out += *pick;
        i += len;
        done = changed = true;
      }
    }
    if (!done) {
      utf8::Append(out, cps[i]);
      ++i;
    }
  }
  return changed ? out : text;
}

}  // namespace kefu::text
