#include "text/english.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <unordered_map>

namespace kefu::text {

bool IsLatinWord(std::string_view token) {
  return !token.empty() && std::all_of(token.begin(), token.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

namespace {

// Porter (1980), "An algorithm for suffix stripping", Program 14(3), as in his
// reference implementation: b[0..k] is the word, j the end of a stem under test.
class Porter {
 public:
  explicit Porter(std::string_view w) : b_(w), k_(static_cast<int>(w.size()) - 1) {}

  std::string Run() {
    if (k_ <= 1) return b_;
    Step1ab();
    if (k_ > 0) {
      Step1c();
      Step2();
      Step3();
      Step4();
      Step5();
    }
    return b_.substr(0, static_cast<size_t>(k_ + 1));
  }

 private:
  bool Cons(int i) const {
    switch (b_[static_cast<size_t>(i)]) {
      case 'a': case 'e': case 'i': case 'o': case 'u': return false;
      case 'y': return i == 0 ? true : !Cons(i - 1);
      default: return true;
    }
  }
  // The number of consonant-vowel sequences in b[0..j].
  int M() const {
    int n = 0, i = 0;
    for (;; ++i) {
      if (i > j_) return n;
      if (!Cons(i)) break;
    }
    ++i;
    for (;;) {
      for (;; ++i) {
        if (i > j_) return n;
        if (Cons(i)) break;
      }
      ++i;
      ++n;
      for (;; ++i) {
        if (i > j_) return n;
        if (!Cons(i)) break;
      }
      ++i;
    }
  }
  bool VowelInStem() const {
    for (int i = 0; i <= j_; ++i)
      if (!Cons(i)) return true;
    return false;
  }
  bool DoubleC(int j) const { return j >= 1 && b_[static_cast<size_t>(j)] == b_[static_cast<size_t>(j - 1)] && Cons(j); }
  // consonant-vowel-consonant ending at i, the last not w, x or y ("hop", not "snow").
  bool Cvc(int i) const {
    if (i < 2 || !Cons(i) || Cons(i - 1) || !Cons(i - 2)) return false;
    const char c = b_[static_cast<size_t>(i)];
    return c != 'w' && c != 'x' && c != 'y';
  }
  bool Ends(std::string_view s) {
    const int len = static_cast<int>(s.size());
    if (len > k_ + 1) return false;
    if (std::string_view(b_).substr(static_cast<size_t>(k_ + 1 - len), s.size()) != s) return false;
    j_ = k_ - len;
    return true;
  }
  void SetTo(std::string_view s) {
    b_.replace(static_cast<size_t>(j_ + 1), static_cast<size_t>(k_ - j_), s);
    k_ = j_ + static_cast<int>(s.size());
  }
  void R(std::string_view s) {
    if (M() > 0) SetTo(s);
  }

  void Step1ab() {
    if (b_[static_cast<size_t>(k_)] == 's') {
      if (Ends("sses")) k_ -= 2;
      else if (Ends("ies")) SetTo("i");
      else if (b_[static_cast<size_t>(k_ - 1)] != 's') --k_;
    }
    if (Ends("eed")) {
      if (M() > 0) --k_;
    } else if ((Ends("ed") || Ends("ing")) && VowelInStem()) {
      k_ = j_;
      if (Ends("at")) SetTo("ate");
      else if (Ends("bl")) SetTo("ble");
      else if (Ends("iz")) SetTo("ize");
      else if (DoubleC(k_)) {
        --k_;
        const char c = b_[static_cast<size_t>(k_)];
        if (c == 'l' || c == 's' || c == 'z') ++k_;
      } else if (j_ = k_, M() == 1 && Cvc(k_)) {
        SetTo("e");
      }
    }
    b_.resize(static_cast<size_t>(k_ + 1));
  }
  void Step1c() {
    if (Ends("y") && VowelInStem()) b_[static_cast<size_t>(k_)] = 'i';
  }
  void Step2() {
    if (k_ < 1) return;
    switch (b_[static_cast<size_t>(k_ - 1)]) {
      case 'a':
        if (Ends("ational")) R("ate");
        else if (Ends("tional")) R("tion");
        break;
      case 'c':
        if (Ends("enci")) R("ence");
        else if (Ends("anci")) R("ance");
        break;
      case 'e':
        if (Ends("izer")) R("ize");
        break;
      case 'l':
        if (Ends("bli")) R("ble");
        else if (Ends("alli")) R("al");
        else if (Ends("entli")) R("ent");
        else if (Ends("eli")) R("e");
        else if (Ends("ousli")) R("ous");
        break;
      case 'o':
        if (Ends("ization")) R("ize");
        else if (Ends("ation")) R("ate");
        else if (Ends("ator")) R("ate");
        break;
      case 's':
        if (Ends("alism")) R("al");
        else if (Ends("iveness")) R("ive");
        else if (Ends("fulness")) R("ful");
        else if (Ends("ousness")) R("ous");
        break;
      case 't':
        if (Ends("aliti")) R("al");
        else if (Ends("iviti")) R("ive");
        else if (Ends("biliti")) R("ble");
        break;
      case 'g':
        if (Ends("logi")) R("log");
        break;
      default: break;
    }
  }
  void Step3() {
    switch (b_[static_cast<size_t>(k_)]) {
      case 'e':
        if (Ends("icate")) R("ic");
        else if (Ends("ative")) R("");
        else if (Ends("alize")) R("al");
        break;
      case 'i':
        if (Ends("iciti")) R("ic");
        break;
      case 'l':
        if (Ends("ical")) R("ic");
        else if (Ends("ful")) R("");
        break;
      case 's':
        if (Ends("ness")) R("");
        break;
      default: break;
    }
  }
  void Step4() {
    if (k_ < 1) return;
    bool hit = false;
    switch (b_[static_cast<size_t>(k_ - 1)]) {
      case 'a': hit = Ends("al"); break;
      case 'c': hit = Ends("ance") || Ends("ence"); break;
      case 'e': hit = Ends("er"); break;
      case 'i': hit = Ends("ic"); break;
      case 'l': hit = Ends("able") || Ends("ible"); break;
      case 'n': hit = Ends("ant") || Ends("ement") || Ends("ment") || Ends("ent"); break;
      case 'o':
        if (Ends("ion") && j_ >= 0 && (b_[static_cast<size_t>(j_)] == 's' || b_[static_cast<size_t>(j_)] == 't')) hit = true;
        else hit = Ends("ou");
        break;
      case 's': hit = Ends("ism"); break;
      case 't': hit = Ends("ate") || Ends("iti"); break;
      case 'u': hit = Ends("ous"); break;
      case 'v': hit = Ends("ive"); break;
      case 'z': hit = Ends("ize"); break;
      default: break;
    }
    if (hit && M() > 1) k_ = j_;
  }
  void Step5() {
    j_ = k_;
    if (b_[static_cast<size_t>(k_)] == 'e') {
      j_ = k_ - 1;
      const int m = M();
      if (m > 1 || (m == 1 && !Cvc(k_ - 1))) --k_;
    }
    j_ = k_;
    if (b_[static_cast<size_t>(k_)] == 'l' && DoubleC(k_) && M() > 1) --k_;
  }

  std::string b_;
  int k_;
  int j_ = 0;
};

const std::unordered_map<std::string_view, std::vector<std::string>>& ChatTable() {
  // Contractions without the apostrophe become the tokens the segmenter makes
  // of the written form ("don't" → "don" "t"), so both spellings meet.
  static const auto* table = new std::unordered_map<std::string_view, std::vector<std::string>>{
      {"u", {"you"}},           {"ur", {"your"}},           {"yr", {"your"}},
      {"ya", {"you"}},          {"r", {"are"}},             {"pls", {"please"}},
      {"plz", {"please"}},      {"pkg", {"package"}},       {"pkgs", {"package"}},
      {"thx", {"thanks"}},      {"ty", {"thank", "you"}},   {"msg", {"message"}},
      {"acct", {"account"}},    {"addr", {"address"}},      {"qty", {"quantity"}},
      {"pw", {"password"}},     {"pwd", {"password"}},      {"abt", {"about"}},
      {"b4", {"before"}},       {"tmr", {"tomorrow"}},      {"tmrw", {"tomorrow"}},
      {"2day", {"today"}},      {"rn", {"right", "now"}},   {"asap", {"as", "soon", "as", "possible"}},
      {"bc", {"because"}},      {"cuz", {"because"}},       {"coz", {"because"}},
      {"wanna", {"want", "to"}}, {"gonna", {"going", "to"}}, {"gotta", {"have", "to"}},
      {"kinda", {"kind", "of"}}, {"thru", {"through"}},     {"tho", {"though"}},
      {"w", {"with"}},          {"sth", {"something"}},
      {"smth", {"something"}},  {"info", {"information"}},
      {"dont", {"don", "t"}},   {"cant", {"can", "t"}},     {"wont", {"won", "t"}},
      {"didnt", {"didn", "t"}}, {"doesnt", {"doesn", "t"}}, {"isnt", {"isn", "t"}},
      {"hasnt", {"hasn", "t"}}, {"havent", {"haven", "t"}}, {"wasnt", {"wasn", "t"}},
      {"arent", {"aren", "t"}}, {"werent", {"weren", "t"}}, {"couldnt", {"couldn", "t"}},
      {"shouldnt", {"shouldn", "t"}}, {"wouldnt", {"wouldn", "t"}}, {"aint", {"isn", "t"}},
      {"im", {"i", "m"}},       {"ive", {"i", "ve"}},
      {"youre", {"you", "re"}}, {"theyre", {"they", "re"}}, {"whats", {"what", "s"}},
      {"wheres", {"where", "s"}}, {"hows", {"how", "s"}},   {"whens", {"when", "s"}},
      {"thats", {"that", "s"}}, {"theres", {"there", "s"}}, {"its", {"it", "s"}},
      {"lemme", {"let", "me"}}, {"gimme", {"give", "me"}},
  };
  return *table;
}

constexpr std::array<std::string_view, 50> kFillers = {
    "guys", "stuff", "hey", "heya", "hiya", "yo", "lol", "lmao", "um", "umm", "uh", "hmm", "btw", "kinda", "sorta",
    "literally", "basically", "anyway", "anyways", "yeah", "yep", "yup", "ok", "okay", "pls", "plz", "thx", "hi",
    "hello", "really", "actually", "honestly", "seriously", "omg", "dude", "folks",
    // Hedges and intensifiers: no topic ("even though nothing's wrong", "shipped straight there").
    "though", "tho", "although", "even", "straight", "wanna", "gonna", "gotta", "maybe", "probably", "totally",
    "definitely", "pretty", "quite"};

// English service words and their Chinese in the entries' vocabulary.
constexpr std::pair<std::string_view, std::string_view> kCodeSwitch[] = {
    {"price protection", "价保"}, {"tracking number", "运单号"}, {"shipping fee", "运费"}, {"shipping cost", "运费"},
    {"delivery fee", "运费"}, {"out of stock", "缺货"}, {"in stock", "有货"}, {"customer service", "客服"},
    {"cash on delivery", "货到付款"}, {"pre order", "预售"}, {"gift card", "礼品卡"}, {"credit card", "信用卡"},
    {"refund", "退款"}, {"return", "退货"}, {"exchange", "换货"}, {"invoice", "发票"}, {"tracking", "物流"},
    {"track", "物流"}, {"logistics", "物流"}, {"shipping", "发货"}, {"ship", "发货"}, {"dispatch", "发货"},
    {"delivery", "配送"}, {"deliver", "配送"}, {"cancel", "取消"}, {"order", "订单"}, {"coupon", "优惠券"},
    {"voucher", "优惠券"}, {"discount", "优惠"}, {"promo", "活动"}, {"promotion", "活动"}, {"warranty", "保修"},
    {"repair", "维修"}, {"install", "安装"}, {"installation", "安装"}, {"warehouse", "仓库"}, {"courier", "快递"},
    {"express", "快递"}, {"parcel", "包裹"}, {"package", "包裹"}, {"address", "地址"}, {"payment", "付款"},
    {"pay", "付款"}, {"account", "账号"}, {"password", "密码"}, {"member", "会员"}, {"membership", "会员"},
    {"points", "积分"}, {"size", "尺码"}, {"colour", "颜色"}, {"color", "颜色"},
    {"restock", "补货"}, {"presale", "预售"}, {"deposit", "定金"}, {"installment", "分期"}, {"genuine", "正品"},
    {"authentic", "正品"}, {"fake", "假货"}, {"activate", "激活"}, {"unbox", "拆封"}, {"gift", "赠品"},
    {"receive", "收到"}, {"signed", "签收"}, {"damaged", "破损"}, {"broken", "坏了"}, {"missing", "少件"},
    {"checkout", "结算"}, {"cart", "购物车"}, {"balance", "余额"}, {"birthday", "生日"},
    {"expire", "过期"}, {"expiry", "过期"}, {"laptop", "笔记本电脑"}, {"money", "钱"}, {"approved", "通过"},
    {"proof", "凭证"}, {"receipt", "小票"}, {"fee", "费用"}};

}  // namespace

std::string CodeSwitchToChinese(std::string_view text) {
  bool han = false, latin = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    latin |= std::isalpha(c) != 0;
    // A Chinese character (U+3400..U+9FFF: lead byte E3..E9), not an emoji.
    han |= c >= 0xE3 && c <= 0xE9 && i + 2 < text.size() && !(c == 0xE3 && static_cast<unsigned char>(text[i + 1]) < 0x90);
  }
  if (!han || !latin) return std::string(text);
  // The Latin words of the text: [begin, end) byte ranges and their stems.
  struct Word {
    size_t begin, end;
    std::string stem;
  };
  std::vector<Word> words;
  for (size_t i = 0; i < text.size();) {
    if (!std::isalpha(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && (std::isalpha(static_cast<unsigned char>(text[j])) || text[j] == '-')) ++j;
    std::string w(text.substr(i, j - i));
    for (char& c : w) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!w.empty() && w.back() == '-') w.pop_back();
    std::replace(w.begin(), w.end(), '-', ' ');
    words.push_back({i, j, w.find(' ') == std::string::npos ? PorterStem(w) : w});
    i = j;
  }
  struct Phrase {
    std::vector<std::string> stems;
    std::string_view chinese;
  };
  static const std::vector<Phrase>* phrases = [] {
    auto* v = new std::vector<Phrase>;
    for (const auto& [en, zh] : kCodeSwitch) {
      Phrase p{{}, zh};
      size_t at = 0;
      while (at <= en.size()) {
        size_t sp = en.find(' ', at);
        if (sp == std::string_view::npos) sp = en.size();
        p.stems.push_back(PorterStem(en.substr(at, sp - at)));
        at = sp + 1;
      }
      v->push_back(std::move(p));
    }
    std::stable_sort(v->begin(), v->end(), [](const Phrase& a, const Phrase& b) { return a.stems.size() > b.stems.size(); });
    return v;
  }();
  std::string out;
  size_t copied = 0;
  for (size_t w = 0; w < words.size();) {
    const Phrase* hit = nullptr;
    for (const Phrase& p : *phrases) {
      if (w + p.stems.size() > words.size()) continue;
      bool all = true;
      for (size_t k = 0; k < p.stems.size() && all; ++k) all = words[w + k].stem == p.stems[k];
      if (all) {
        hit = &p;
        break;
      }
    }
    if (!hit) {
      ++w;
      continue;
    }
    out.append(text.substr(copied, words[w].begin - copied));
    out.append(hit->chinese);
    copied = words[w + hit->stems.size() - 1].end;
    w += hit->stems.size();
  }
  out.append(text.substr(copied));
  return out;
}

std::string PorterStem(std::string_view word) {
  if (word.size() <= 2 || !IsLatinWord(word)) return std::string(word);
  return Porter(word).Run();
}

const std::vector<std::string>* ChatEnglish(std::string_view token) {
  const auto& t = ChatTable();
  auto it = t.find(token);
  return it == t.end() ? nullptr : &it->second;
}

std::string ExpandChatEnglish(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  size_t i = 0;
  auto word_char = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  while (i < text.size()) {
    if (!word_char(text[i])) {
      out.push_back(text[i++]);
      continue;
    }
    size_t j = i;
    while (j < text.size() && word_char(text[j])) ++j;
    const std::string_view w = text.substr(i, j - i);
    // Not a piece of a longer token ("u" in "u2", "r" after an apostrophe).
    const bool alone = (i == 0 || text[i - 1] != '\'') && (j == text.size() || text[j] != '\'');
    const auto* chat = alone ? ChatEnglish(w) : nullptr;
    if (!chat) {
      out.append(w);
    } else if (chat->size() == 2 && ((*chat)[1] == "t" || (*chat)[1] == "m" || (*chat)[1] == "s" ||
                                     (*chat)[1] == "re" || (*chat)[1] == "ve")) {
      out.append((*chat)[0]).append("'").append((*chat)[1]);
    } else {
      for (size_t k = 0; k < chat->size(); ++k) out.append(k ? " " : "").append((*chat)[k]);
    }
    i = j;
  }
  return out;
}

bool IsEnglishFiller(std::string_view token) {
  return std::find(kFillers.begin(), kFillers.end(), token) != kFillers.end();
}

std::vector<std::string> EnglishSearchTerms(std::vector<std::string> tokens, bool drop_fillers) {
  bool latin = false;
  for (const auto& t : tokens) latin |= !t.empty() && t[0] >= 'a' && t[0] <= 'z';
  if (!latin) return tokens;
  std::vector<std::string> out;
  out.reserve(tokens.size() + 2);
  for (std::string& t : tokens) {
    if (!IsLatinWord(t)) {
      out.push_back(std::move(t));
      continue;
    }
    if (drop_fillers && IsEnglishFiller(t)) continue;
    if (const auto* chat = ChatEnglish(t)) {
      for (const auto& w : *chat) out.push_back(PorterStem(w));
      continue;
    }
    out.push_back(PorterStem(t));
  }
  return out;
}

}  // namespace kefu::text
