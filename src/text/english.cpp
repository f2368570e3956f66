#include "text/english.h"

#include <algorithm>
#include <array>
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

constexpr std::array<std::string_view, 36> kFillers = {
    "guys", "stuff", "hey", "heya", "hiya", "yo", "lol", "lmao", "um", "umm", "uh", "hmm", "btw", "kinda", "sorta",
    "literally", "basically", "anyway", "anyways", "yeah", "yep", "yup", "ok", "okay", "pls", "plz", "thx", "hi",
    "hello", "really", "actually", "honestly", "seriously", "omg", "dude", "folks"};

}  // namespace

std::string PorterStem(std::string_view word) {
  if (word.size() <= 2 || !IsLatinWord(word)) return std::string(word);
  return Porter(word).Run();
}

const std::vector<std::string>* ChatEnglish(std::string_view token) {
  const auto& t = ChatTable();
  auto it = t.find(token);
  return it == t.end() ? nullptr : &it->second;
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
