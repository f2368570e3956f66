#include "dialogue/grounded_responder.h"

#include "dialogue/order_mention.h"
#include "dialogue/third_party.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <sstream>

#include "common/utf8.h"
#include "dialogue/intent_rules.h"
#include "dialogue/templates.h"
#include "text/spelling.h"

namespace kefu::dialogue {

using nlohmann::json;

struct GroundedResponder::Draft {
  std::string text;
  json meta = json::object();
  json context;
  json citations = json::array();
  json tools = json::array();
  json suggestions = json::array();
  bool handoff = false;
  bool english = false;  // the customer wrote in English: reply in English
  std::string raw_text;  // the customer's words before the speller's reading
  // A language model's reading of the turn (dialogue/llm_understanding.h).
  std::string rewrite;        // the question restated to stand alone
  bool unclear = false;       // too vague: ask rather than guess
  bool out_of_scope = false;  // nothing the shop answers: only a confident entry may answer
  bool policy_question = false;  // not about one of the customer's orders, even if it names goods
  // The knowledge base's passages for this turn, matcher blended (GroundedResponder::Ranked).
  struct RankedPassages {
    std::vector<knowledge::Passage> passages;
    std::string searched;
  };
  mutable std::optional<RankedPassages> ranked;
};

namespace {

constexpr const char* kUnknownReply =
    "抱歉，这个问题我暂时没有找到准确的答案。您可以换个说法再问我，或者回复“转人工”，由人工客服为您处理。";

// How long a message is: Chinese characters and Latin words (runs of letters/digits).
struct Size {
  int han = 0, words = 0;
};
Size SizeOf(std::string_view text) {
  Size n;
  bool in_word = false;
  for (char32_t c : utf8::Decode(utf8::IsValid(text) ? std::string(text) : utf8::Sanitize(text))) {
    bool latin = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if ((c >= 0x3400 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF)) ++n.han;
    if (latin && !in_word) ++n.words;
    in_word = latin;
  }
  return n;
}

// Too little to act on: at most five Chinese characters or two English
// words, or nothing but punctuation and emoji ("有问题", "急", "help", "？？？").
// True when lower-cased `query` names one of the `groups` (each a thing's names,
// "" for none) under any of its names and lower-cased `entry` names it under none.
template <size_t N, size_t M>
bool AsksOfOneTheEntryNeverNames(const std::string& query, const std::string& entry,
                                 const std::array<std::array<std::string_view, N>, M>& groups) {
  for (const auto& names : groups) {
    bool asked = false, named = false;
    for (std::string_view n : names) {
      if (n.empty()) continue;
      asked |= query.find(n) != std::string::npos;
      named |= entry.find(n) != std::string::npos;
    }
    if (asked && !named) return true;
  }
  return false;
}

// Shopping festivals by their names: an entry about 双十一 does not answer
// "双十二有活动吗" or "年货节什么时候开始". True when `query` names a festival
// that `entry` (title and answer) names under none of its names.
bool OtherFestival(std::string_view query, const std::string& entry) {
  static constexpr std::array<std::array<std::string_view, 5>, 16> kFestivals = {{
      {"双十二", "双12", "12.12", "double 12", ""},
      {"双十一", "双11", "11.11", "singles day", "double 11"},
      {"618", "六一八", "年中大促", "", ""},
      {"年货节", "", "", "", ""},
      {"圣诞", "christmas", "xmas", "", ""},
      {"黑五", "黑色星期五", "black friday", "cyber monday", ""},
      {"女神节", "三八节", "38节", "妇女节", "women's day"},
      {"周年庆", "anniversary", "", "", ""},
      {"情人节", "valentine", "", "", ""},
      {"七夕", "", "", "", ""},
      {"春节", "过年", "chinese new year", "lunar new year", ""},
      {"国庆", "golden week", "", "", ""},
      {"中秋", "mid-autumn", "", "", ""},
      {"开学季", "back to school", "", "", ""},
      {"99大促", "99划算", "", "", ""},
      {"520", "", "", "", ""},
  }};
  return AsksOfOneTheEntryNeverNames(utf8::AsciiLower(query), utf8::AsciiLower(entry), kFestivals);
}

// A discount for a group of people ("学生买东西有折扣吗", "is there a discount for
// teachers?", "老年人买有没有优惠"): an entry about new customers' or members'
// offers does not answer it unless it speaks of that group. True when `query`
// asks about a group's discount that `entry` (title and answer) never names.
bool OtherGroupsDiscount(std::string_view query, const std::string& entry) {
  static constexpr std::array<std::array<std::string_view, 4>, 9> kGroups = {{
      {"学生", "student", "", ""},
      {"老师", "教师", "teacher", ""},
      {"老人", "老年人", "senior", "elderly"},
      {"军人", "军属", "military", "veteran"},
      {"医生", "护士", "医护", "nurse"},
      {"残疾人", "disabled", "", ""},
      {"公务员", "", "", ""},
      {"孕妇", "宝妈", "", ""},
      {"员工", "employee", "staff discount", ""},
  }};
  const std::string q = utf8::AsciiLower(query), e = utf8::AsciiLower(entry);
  bool discount = false;
  for (std::string_view w : {"优惠", "折扣", "打折", "便宜", "减免", "特价", "discount", "deal", "offer"})
    discount |= q.find(w) != std::string::npos;
  return discount && AsksOfOneTheEntryNeverNames(q, e, kGroups);
}

bool Vague(std::string_view text) {
  const Size n = SizeOf(text);
  return n.han == 0 ? n.words <= 2 : n.han <= 5 && n.words == 0;
}

// Nothing but filler: no word that says what it is about ("帮我看看", "那个东西怎么弄",
// "在吗 有个事问下", "I have a problem", "东西不对"). Asked first, it gets a
// question back rather than a guess from the knowledge base.
bool ContentFree(std::string_view raw) {
  std::string t(raw);
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static constexpr std::string_view kFiller[] = {
      // Longest first where one contains another (想问个 before 问, 事情 before 事).
      "收到了", "收到", "但是", "事儿", "关于我的订单", "关于订单", "那玩意儿", "那玩意", "你懂的", "在线等", "想咨询", "咨询", "宝贝", "上回", "打扰",
      "有个事", "想问个", "问一下", "问下", "请问", "帮我", "帮忙", "麻烦", "看一下", "看看", "看下", "一下", "那个",
      "这个", "事情", "回事", "就是", "上次", "昨天", "前天", "之前", "一直", "还是", "解决", "情况", "买的", "买了",
      "东西", "怎么办", "怎么弄", "怎么处理", "怎么", "咋办", "咋整", "咋弄", "咋", "处理", "问题", "在吗", "在不在",
      "你好", "您好", "你们", "不对劲", "不对", "还没", "还不", "有点", "要", "想", "急", "弄", "搞", "办", "有", "个", "事",
      "我", "你", "您", "的", "了", "吗", "呢", "啊", "吧", "呀", "嘛", "么", "是", "这", "那", "下", "亲", "在",
      "买", "问", "出", "说", "没", "就", "嗯", "哦", "呃", "额",
      "regarding an order", "regarding my order", "about an order", "with an order", "w/ an order", "need a hand",
      "a hand", "uh", "hmm", "quick one", "order",
      "doesn't work", "doesnt work", "does not work", "not working", "won't work", "wont work", "isn't working",
      "isnt working", "help", "please", "problem", "issue", "question", "something", "wrong", "need", "have", "with", "there",
      "hello", "hi", "hey", "the", "an", "a", "i", "my", "is", "it", "can", "you", "me", "got", "thing", "things",
      "about", "bought", "ordered", "purchase", "item", "stuff", "some", "this", "that", "one", "problems", "issues",
      "questions", "quick", "just", "so", "um", "ok", "okay", "'s", "’s", "broken", "regarding"};
  for (std::string_view f : kFiller) {
    const bool latin = static_cast<unsigned char>(f[0]) < 0x80;
    for (size_t at = t.find(f); at != std::string::npos; at = t.find(f, at)) {
      // English filler only as whole words.
      if (latin && ((at > 0 && std::isalpha(static_cast<unsigned char>(t[at - 1]))) ||
                    (at + f.size() < t.size() && std::isalpha(static_cast<unsigned char>(t[at + f.size()]))))) {
        at += f.size();
        continue;
      }
      t.replace(at, f.size(), " ");
    }
  }
  const Size n = SizeOf(t);
  return n.han == 0 && n.words == 0;
}

// A short follow-up: at most eight Chinese characters ("那羽绒服那个呢"), or six English words
// ("the one with the laptop").
bool ShortFollowUp(std::string_view text) {
  const Size n = SizeOf(text);
  return n.han == 0 ? n.words <= 6 : n.han <= 8 && n.words <= 1;
}

// The question-like clauses of a long message, each joined with the clause
// before it (at most four, last first): split at sentence and clause
// punctuation; a clause is question-like when it has a question mark or a
// question word.
// A follow-up that leaves out what it is about: "冰箱呢", "那花呗付的呢",
// "如果是信用卡呢", "要是拆封了呢", "what about exchanges?", "and for phones?".
bool IsElliptical(std::string_view raw) {
  std::string t(utf8::Trim(raw));
  for (auto& ch : t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  while (!t.empty() && (t.back() == '?' || t.back() == '!' || t.back() == ' ' || t.back() == '.')) t.pop_back();
  for (std::string_view tail : {"？", "！", "。", "🤔"})
    while (t.size() >= tail.size() && t.compare(t.size() - tail.size(), tail.size(), tail) == 0)
      t.resize(t.size() - tail.size());
  if (t.size() >= 3 && t.compare(t.size() - 3, 3, "呢") == 0) return true;
  for (std::string_view lead : {"那如果", "如果是", "要是", "那要是", "那", "what about", "how about", "and for",
                                "and if", "what if"})
    if (t.rfind(lead, 0) == 0 && t.find("呢") != std::string::npos) return true;
  for (std::string_view lead : {"what about", "how about", "and for", "and what about", "same for"})
    if (t.rfind(lead, 0) == 0) return true;
  return false;
}

// "那接下来怎么处理", "那这种一般怎么处理", "那现在咋办", "so what do i do now": what
// to do about what the customer has just said. The topic is the previous
// message; the follow-up adds only "what now".
bool AsksWhatNow(std::string_view raw) {
  const std::string t = utf8::AsciiLower(utf8::Trim(raw));
  if (utf8::Length(t) > 18) return false;
  for (std::string_view w : {"怎么办", "咋办", "怎么处理", "如何处理", "咋处理", "怎么弄", "咋弄", "怎么解决", "咋整",
                             "该怎么做", "怎么搞", "怎麼辦", "怎麼處理", "what should i do", "what do i do", "what now",
                             "what can i do", "what happens now", "what's next", "next step"})
    if (t.find(w) != std::string::npos) return true;
  return false;
}

std::vector<std::string> QuestionClauses(std::string_view raw) {
  const std::string text = utf8::IsValid(raw) ? std::string(raw) : utf8::Sanitize(raw);
  std::vector<std::string> clauses;
  std::string cur;
  auto flush = [&] {
    if (utf8::Length(cur) >= 2) clauses.push_back(cur);
    cur.clear();
  };
  const std::vector<char32_t> cps = utf8::Decode(text);
  auto cjk = [](char32_t c) { return c >= 0x2E80; };
  for (size_t i = 0; i < cps.size(); ++i) {
    const char32_t c = cps[i];
    const bool question_mark = c == U'？' || c == U'?';
    if (question_mark) utf8::Append(cur, c);
    // A space between Chinese words ends a clause the way a comma does
    // ("上周买的面霜 用了两天脸上就发红 这种情况怎么处理").
    const bool chinese_space = (c == U' ' || c == 0x3000) && i > 0 && i + 1 < cps.size() && cjk(cps[i - 1]) &&
                               cjk(cps[i + 1]);
    if (question_mark || chinese_space || c == U'。' || c == U'！' || c == U'!' || c == U'，' || c == U',' ||
        c == U'；' || c == U';' || c == U'\n' || c == U'.' || c == U'…') {
      flush();
      continue;
    }
    utf8::Append(cur, c);
  }
  flush();
  // What follows "想问一下", "请问", "I was wondering" is the question itself,
  // however the customer punctuates it: it is a clause of its own too.
  std::vector<std::string> asked;
  {
    std::string lower = text;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    size_t best = std::string::npos, best_len = 0;
    for (std::string_view m : {"想问一下", "想问下", "问一下", "问下", "请问", "我想知道", "想了解一下", "想咨询",
                               "咨询一下", "i was wondering", "i want to know", "my question is", "quick question"}) {
      const size_t at = lower.rfind(m);
      if (at != std::string::npos && (best == std::string::npos || at > best)) {
        best = at;
        best_len = m.size();
      }
    }
    if (best != std::string::npos) {
      std::string rest = text.substr(best + best_len);
      while (!rest.empty() && (rest[0] == ' ' || rest[0] == ',' || rest[0] == ':')) rest.erase(0, 1);
      for (std::string_view lead : {"，", "：", "就是", "啊", "哈", "下"})
        if (rest.compare(0, lead.size(), lead) == 0) rest.erase(0, lead.size());
      if (utf8::Length(rest) >= 4) asked.push_back(std::string(utf8::TruncateBytes(rest, 150)));
    }
  }
  auto questionlike = [](const std::string& c) {
    std::string l = c;
    for (auto& ch : l) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    for (std::string_view w : {"？", "?", "吗", "呢", "吧", "怎么", "如何", "什么", "啥", "多久", "多少", "几", "哪",
                               "能不能", "可不可以", "是不是", "有没有", "要不要", "还能", "能否", "可以", "不能", "谁",
                               "how", "what", "when", "where", "which", "can ", "could", "do you", "is it", "will"})
      if (l.find(w) != std::string::npos) return true;
    return false;
  };
  std::vector<std::string> out = asked;
  for (size_t i = clauses.size(); i-- > 0 && out.size() < 4 + asked.size();) {
    if (!questionlike(clauses[i])) continue;
    out.push_back(i > 0 ? clauses[i - 1] + " " + clauses[i] : clauses[i]);
  }
  return out;
}

// "不是这个，是上一单", "no, the other order", "不是iPhone 是washing machine那单".
struct Correction {
  bool is = false;
  bool previous = false;  // "上一单", "previous order": the one before it in the list
  std::string rest;       // what follows the last 是 after a 不是 ("洗衣机那单"), "" if nothing
};
Correction ReadCorrection(const std::string& raw) {
  Correction c;
  std::string t = raw;
  for (auto& ch : t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (std::string_view w : {"不是这", "不是那", "不对", "搞错", "弄错", "另一单", "另外一单", "另一个订单", "上一单",
                             "前一单", "换一单", "the other", "another order", "not this", "not that", "wrong order",
                             "previous order", "other one",
                             // "另外那单呢", "那另一台呢": the other of the orders under discussion.
                             "另外那", "另外一台", "另外一件", "另外一个", "另一台", "另一件", "另一双", "另一个",
                             "另一部", "另一笔"})
    if (t.find(w) != std::string::npos) c.is = true;
  for (std::string_view w : {"上一单", "前一单", "previous order"})
    if (t.find(w) != std::string::npos) c.previous = true;
  if (t.find("不是") != std::string::npos) {
    c.is = true;
    // The part after a 是 that is not 不是, up to the next 不是: "我说的是洗衣机不是耳机" → 洗衣机.
    for (size_t at = t.find("是"); at != std::string::npos; at = t.find("是", at + 3)) {
      if (at >= 3 && t.compare(at - 3, 3, "不") == 0) continue;
      std::string rest = t.substr(at + 3);
      if (size_t stop = rest.find("不是"); stop != std::string::npos) rest.resize(stop);
      if (!rest.empty()) c.rest = rest;
    }
  }
  return c;
}

// How things usually go ("下单后多久发货", "一般几天到", "how long does shipping take").
bool AsksPolicy(std::string_view raw) {
  std::string t(raw);
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view w : {"多久", "几天", "一般", "通常", "下单后", "付款后", "how long", "usually", "normally"})
    if (t.find(w) != std::string::npos) return true;
  return false;
}

// Where the parcel is or when it comes ("今天能到吗", "怎么还在杭州", "物流不动了",
// "when will it get here"), not money or a service ("退款多久到账", "能帮我搬上楼吗").
bool AsksWhereOrWhen(std::string_view raw) {
  std::string t(raw);
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view w : {"退款", "钱", "到账", "退回", "退到", "优惠", "帮", "refund", "money", "help"})
    if (t.find(w) != std::string::npos) return false;
  for (std::string_view w : {"到哪", "在哪了", "在哪儿了", "能到", "哪天到", "哪天能", "哪天送", "几号到", "几号能", "啥时候到", "什么时候到", "啥时候能", "什么时候能",
                             "什么时候发", "啥时候发", "哪天发", "几号发", "几时发", "几点", "发不发", "到底发", "还发不",
                             "今天", "明天", "还在", "不动", "没动", "没更新", "分拣", "where", "when will", "today",
                             "tomorrow", "arriv", "deliver", "get here", "moving", "stuck", "这么久", "这么慢", "太慢",
                             "so long", "taking long", "still waiting", "still not here", "not here yet", "still no sign",
                             "still nothing", "哪天签收", "哪天收到", "什么时候签收", "啥时候签收", "哪天退的", "哪天发的",
                             "卡在哪", "卡哪了", "现在在哪", "在哪儿呢", "在哪呢", "在哪里呢", "哪个城市", "什么城市",
                             // Impatience with the order under discussion ("都好几天了 你们这什么效率").
                             "好几天", "几天了", "多少天了", "一天了", "一周了", "一个星期了", "什么效率", "啥效率", "这效率",
                             "在干嘛",
                             "怎么还没", "咋还没", "forever", "ages", "days now", "a week now"})
    if (t.find(w) != std::string::npos) return true;
  return false;
}

// Impatience about the order just discussed, money included: "都二十多天了
// 还在退款中？", "还要等多久啊 我都等了一个月了", "still nothing?".
bool AsksHowMuchLonger(std::string_view raw) {
  std::string t(raw);
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view w : {"还在退款", "退款中", "要等多久", "还要等", "等了", "多久能好", "多久才", "还没退", "还不退",
                             "卡在哪", "卡哪了", "到底卡", "哪天退的", "什么时候退的",
                             "还没到账", "还没好", "多久啊", "still nothing", "how much longer", "still not", "still waiting",
                             "still no"})
    if (t.find(w) != std::string::npos) return true;
  return false;
}

// How to do something ("怎么查订单", "咋查快递", "如何改地址", "can I change it?"),
// not why something has not happened ("怎么还没发", "咋一直不动", "怎么回事").
bool AsksHowTo(std::string_view raw) {
  std::string t(raw);
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view w : {"how do i", "how can i", "how to", "can i ", "could i", "is it possible", "where can i",
                             "where do i"})
    if (t.find(w) != std::string::npos) return true;
  for (std::string_view how : {"怎么", "咋", "如何", "怎样"}) {
    for (size_t at = t.find(how); at != std::string::npos; at = t.find(how, at + 1)) {
      std::string_view rest = std::string_view(t).substr(at + how.size());
      bool why = false;
      for (std::string_view w : {"还", "一直", "没", "不", "回事", "了", "样", "会", "这么", "又"})
        why |= rest.substr(0, w.size()) == w;
      if (!why) return true;
    }
  }
  return false;
}

// A service the customer wants for goods they have (exchange, return, invoice,
// installation, repair), not where an order is or where the money went.
// A fault in goods that arrived ("开不了机", "now it won't turn on"): the
// warranty answers, not the parcel's record.
bool ReportsFault(std::string_view raw) {
  std::string t(raw);
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view w : {"坏了", "开不了机", "不开机", "开不开机", "无法开机", "黑屏", "充不进电", "不充电", "故障",
                             "won't turn on", "wont turn on", "doesn't turn on", "not turning on", "won't switch on",
                             "stopped working", "is broken", "it broke", "won't charge", "not charging",
                             "dead on arrival"})
    if (t.find(w) != std::string::npos) return true;
  return false;
}

bool AsksForAfterSales(std::string_view raw) {
  std::string t(raw);
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view w : {"退款", "到账", "钱", "refund"})
    if (t.find(w) != std::string::npos) return false;
  for (std::string_view w : {"能换", "想换", "换大", "换小", "换个", "换一", "换货", "可以换", "能退", "想退", "退货", "退掉",
                             "发票", "安装", "来装", "装吗", "维修", "报修", "保修", "swap", "exchange", "return it",
                             "send it back", "invoice", "install", "repair", "warranty"})
    if (t.find(w) != std::string::npos) return true;
  return ReportsFault(t);
}

// The text without a greeting or thanks at its start or end, and without the
// "请问"/"quick question" that introduce the question ("" when nothing is left).
std::string WithoutPleasantries(std::string_view raw) {
  std::string t(utf8::Trim(raw));
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  static constexpr std::string_view kLead[] = {"您好", "你好", "亲", "在吗", "打扰一下", "打扰了", "请问一下", "请问", "问一下",
                                               "hello", "hi there", "hi", "hey", "quick question", "excuse me"};
  static constexpr std::string_view kTail[] = {"谢谢您", "谢谢你", "谢谢啦", "谢谢", "多谢", "感谢", "thank you", "thanks",
                                               "thx", "please"};
  auto is_sep = [](std::string_view rest) {
    for (std::string_view sep : {"，", "。", "！", "？", ",", ".", "!", "?", " ", "~", "～", "😊", "🙏", "😀", "啊", "呀"})
      if (rest.substr(0, sep.size()) == sep) return sep.size();
    return size_t{0};
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t n; (n = is_sep(t)) > 0;) t.erase(0, n), changed = true;
    const std::string l = lower(t);
    for (std::string_view w : kLead)
      if (l.rfind(w, 0) == 0 && (l.size() == w.size() || static_cast<unsigned char>(w[0]) >= 0x80 ||
                                 !std::isalpha(static_cast<unsigned char>(l[w.size()])))) {
        t.erase(0, w.size());
        changed = true;
        break;
      }
  }
  for (bool changed = true; changed;) {
    changed = false;
    while (!t.empty()) {
      // Trailing separators (one UTF-8 character at a time).
      size_t start = t.size() - 1;
      while (start > 0 && (static_cast<unsigned char>(t[start]) & 0xC0) == 0x80) --start;
      if (is_sep(std::string_view(t).substr(start)) == t.size() - start) {
        t.erase(start);
        changed = true;
      } else {
        break;
      }
    }
    const std::string l = lower(t);
    for (std::string_view w : kTail)
      if (l.size() > w.size() && l.compare(l.size() - w.size(), w.size(), w) == 0) {
        t.erase(t.size() - w.size());
        changed = true;
        break;
      }
  }
  return t;
}

// Which carrier or tracking number ("发的哪家快递", "单号多少", "which courier").
bool AsksWhichParcel(std::string_view raw) {
  std::string t(raw);
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view w : {"快递", "物流", "单号", "运单", "courier", "carrier", "tracking"})
    if (t.find(w) != std::string::npos) return true;
  return false;
}

// "为什么订单被取消了", "意思是今天能到吗", "why did it come in two boxes", "can
// someone else pay": asks why something happens or whether it may, not where one
// parcel is.
bool AsksWhyOrWhether(std::string_view raw) {
  std::string t(raw);
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view w : {"为什么", "为啥", "怎么会", "意思", "能不能", "可不可以", "可以吗", "能吗", "是不是",
                             "why", "can someone", "can my", "can i", "is it", "does it", "do you", "is the rest",
                             "separately", "what does", "how much", "if my", "如果", "要是", "多少钱"})
    if (t.find(w) != std::string::npos) return true;
  return false;
}

// "快递员电话给我一个", "what's the courier's phone number": the courier
// carrying this parcel, whose number its tracking record has.
bool AsksForCourier(std::string_view raw) {
  std::string t(raw);
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // (Not one who cannot be reached: "快递员电话打不通" is the knowledge base's.)
  for (std::string_view unreachable : {"打不通", "不接", "没人接", "关机", "占线", "not answering", "no answer",
                                       "doesn't pick up", "won't pick up", "unreachable", "can't reach", "cannot reach"})
    if (t.find(unreachable) != std::string::npos) return false;
  for (std::string_view who : {"快递员", "快递小哥", "派件员", "配送员", "送货员", "派送员", "快递师傅", "派件的",
                               "courier", "driver", "delivery guy", "delivery man", "delivery person"})
    if (t.find(who) != std::string::npos)
      for (std::string_view what : {"电话", "手机", "号码", "联系方式", "phone", "number", "contact"})
        if (t.find(what) != std::string::npos) return true;
  return false;
}

// "我想开一家加盟店", "你们招代理吗", "wholesale price?": a business proposal to the
// shop, not a customer's question about buying. Returns the word that says so
// (lower case) when `entry` (an entry's title and answer) does not speak of
// it, "" otherwise.
std::string BusinessProposal(std::string_view raw, std::string_view entry) {
  auto lower = [](std::string_view in) {
    std::string out(in);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  const std::string t = lower(raw), e = lower(entry);
  for (std::string_view w : {"加盟", "代理", "招商加盟", "批发", "分销", "入驻", "供货商", "franchise", "reseller",
                             "wholesale", "distributor", "dropship"})
    if (t.find(w) != std::string::npos && e.find(w) == std::string::npos) return std::string(w);
  return "";
}

// `entry` speaks of `asked`: at least half of its pairs of Chinese characters
// (particles aside) and its Latin words of three letters or more are in it.
bool SpeaksOf(const std::string& entry, const std::string& asked) {
  const std::vector<char32_t> cps = utf8::Decode(asked);
  auto han = [](char32_t c) {
    if (c < 0x3400 || c > 0x9FFF) return false;
    for (char32_t p : U"吗呢吧啊呀了的不么嘛哦")
      if (c == p) return false;
    return true;
  };
  int total = 0, found = 0;
  for (size_t i = 0; i + 1 < cps.size(); ++i) {
    if (!han(cps[i]) || !han(cps[i + 1])) continue;
    std::string pair;
    utf8::Append(pair, cps[i]);
    utf8::Append(pair, cps[i + 1]);
    ++total;
    found += entry.find(pair) != std::string::npos;
  }
  std::string lower = entry;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (size_t i = 0; i < asked.size();) {
    if (!std::isalpha(static_cast<unsigned char>(asked[i]))) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < asked.size() && std::isalpha(static_cast<unsigned char>(asked[j]))) ++j;
    if (j - i >= 3) {
      ++total;
      found += lower.find(asked.substr(i, j - i)) != std::string::npos;
    }
    i = j;
  }
  // Nothing to compare (a single character: "含不含铅"): the character itself.
  if (total == 0) {
    for (char32_t c : cps)
      if (han(c)) {
        std::string one;
        utf8::Append(one, c);
        ++total;
        found += entry.find(one) != std::string::npos;
      }
  }
  return total > 0 && found * 2 >= total;
}

// The one order of `orders` whose carrier `text` names ("顺丰寄的那台"); "" when
// no carrier is named or it does not tell one order apart.
std::string OrderByCarrier(const std::string& text, const json& orders) {
  static constexpr std::pair<std::string_view, std::string_view> kCarriers[] = {
      {"顺丰", "顺丰"}, {"sf", "顺丰"},   {"京东", "京东"}, {"jd", "京东"},   {"中通", "中通"}, {"zto", "中通"},
      {"圆通", "圆通"}, {"yto", "圆通"},  {"韵达", "韵达"}, {"yunda", "韵达"}, {"申通", "申通"}, {"sto", "申通"},
      {"邮政", "邮政"}, {"ems", "邮政"},  {"德邦", "德邦"}};
  std::string t = text;
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view named;
  for (const auto& [said, carrier] : kCarriers) {
    const size_t at = t.find(said);
    if (at == std::string::npos) continue;
    // Latin names as whole words ("sf", not "sofa").
    if (static_cast<unsigned char>(said[0]) < 0x80 &&
        ((at > 0 && std::isalpha(static_cast<unsigned char>(t[at - 1]))) ||
         (at + said.size() < t.size() && std::isalpha(static_cast<unsigned char>(t[at + said.size()])))))
      continue;
    named = carrier;
    break;
  }
  if (named.empty()) return std::string();
  std::string found;
  for (const auto& o : orders) {
    if (!o.is_object() || !o.contains("carrier") || !o["carrier"].is_string()) continue;
    if (o["carrier"].get<std::string>().find(named) == std::string::npos) continue;
    if (!found.empty()) return std::string();  // two orders by that carrier
    found = o.value("order_id", "");
  }
  return found;
}

// What the order under discussion holds ("what's in that one again?", "那单里面都有啥").
bool AsksWhatItHolds(std::string_view raw) {
  std::string t(raw);
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view w : {"what's in", "whats in", "what is in", "what was in", "what did i order in", "what's inside",
                             "里面有什么", "里面有啥", "里面都有", "里头有啥", "买的啥来着", "买的什么来着", "都买了啥",
                             "都买了什么", "包含什么", "有哪些东西"})
    if (t.find(w) != std::string::npos) return true;
  return false;
}

bool IsOrderAction(Action a) {
  return a == Action::kTrackLogistics || a == Action::kOrderStatus || a == Action::kListOrders;
}

bool ArrivalQuestion(const std::string& t) {
  for (const char* w : {"什么时候到", "何时到", "几时到", "多久到", "多久能到", "几天到", "什么时候能到", "when will"})
    if (t.find(w) != std::string::npos) return true;
  return false;
}

std::string LastCustomerText(const TurnRequest& turn) {
  for (auto it = turn.history.rbegin(); it != turn.history.rend(); ++it)
    if (it->role == "customer") return it->text;
  return {};
}

}  // namespace

GroundedResponder::GroundedResponder(const knowledge::KnowledgeBase& kb, const tools::ToolRegistry& tools,
                                     GroundedSettings settings, TurnInterpreter* interpreter)
    : kb_(kb), tools_(tools), settings_(settings), interpreter_(interpreter) {}

json GroundedResponder::CallTool(const TurnRequest& turn, const std::string& name, const json& args, Draft& d) const {
  tools::ToolContext ctx{turn.conversation.tenant_id, turn.conversation.customer_id, turn.conversation.id};
  ctx.customer_verified = CustomerVerified(turn.context);
  auto r = tools_.Call(ctx, name, args);
  json rec = {{"name", name}, {"arguments", args}, {"ok", r.ok()}};
  if (!r.ok()) rec["error"] = std::string(ErrorCodeName(r.status().code()));
  d.tools.push_back(rec);
  if (!r.ok()) return json{{"__error", std::string(ErrorCodeName(r.status().code()))}, {"message", r.status().message()}};
  return *r;
}

std::vector<knowledge::Passage> GroundedResponder::Retrieve(const TurnRequest& turn, int top_k,
                                                           std::string_view rewrite, std::string* searched) const {
  std::string used = turn.message.text;
  const std::string& tenant = turn.conversation.tenant_id;
  // Entries in the customer's language first: a Chinese question is answered
  // from Chinese entries, an English one from English entries when the tenant
  // has them (the others stay as a fallback).
  const std::string lang = CustomerLanguage(turn.message.text) == "en" ? "en" : "";
  auto search = [&](const std::string& query) {
    auto ps = kb_.Search(tenant, query, top_k, lang);
    if (ps.empty() || ps.front().confidence < settings_.clarify_threshold) {
      auto any = kb_.Search(tenant, query, top_k, "*");  // a tenant without entries in that language
      if (!any.empty() && (ps.empty() || any.front().confidence > ps.front().confidence)) ps = std::move(any);
    }
    return ps;
  };
  auto passages = search(turn.message.text);
  // A long message with the question buried in it ("我去年买过……想问下你们空调是包
  // 安装的吧？要不要另外出钱？"): the whole text covers too many words for any
  // entry, so its question-like clauses are searched too, each with the clause
  // before it, and the most confident reading wins.
  if (utf8::Length(turn.message.text) > 30) {
    for (const std::string& clause : QuestionClauses(turn.message.text)) {
      auto ps = search(clause);
      if (!ps.empty() && (passages.empty() || ps.front().confidence > passages.front().confidence)) {
        passages = std::move(ps);
        used = clause;
      }
    }
  }
  // Greetings and thanks around the question ("您好，请问积分怎么使用呢？谢谢",
  // "hello!! quick question 😊 ..."): the question alone is searched too.
  if (std::string bare = WithoutPleasantries(turn.message.text); !bare.empty() && bare != turn.message.text) {
    auto ps = search(bare);
    if (!ps.empty() && (passages.empty() || ps.front().confidence > passages.front().confidence)) {
      passages = std::move(ps);
      used = bare;
    }
  }
  if (!rewrite.empty() && rewrite != turn.message.text) {
    // The model's standalone restatement ("那退货呢？" → "怎么退货") is searched
    // too; the more confident reading wins.
    auto restated = search(kb_.Understandable(tenant, rewrite));
    if (!restated.empty() && (passages.empty() || restated.front().confidence > passages.front().confidence)) {
      passages = std::move(restated);
      used = std::string(rewrite);
    }
  }
  // A short follow-up ("冰箱呢", "那换货呢？", "运费呢") leans on the topic so far:
  // the entry answered last and the previous question rank the entries, the
  // follow-up's own words decide the confidence (KnowledgeBase::SearchFollowUp).
  const size_t len = utf8::Length(turn.message.text);
  double best = passages.empty() ? 0 : passages.front().confidence;
  // "冰箱呢", "那花呗付的呢", "如果是信用卡呢", "what about exchanges?": the
  // previous question with one thing changed. Right after a knowledge answer
  // the follow-up reading wins when it finds an entry at all, however well
  // the words alone match another one (冰箱呢 after 空调保修几年 is about the
  // warranty, not about installing fridges).
  const bool elliptical = len <= 14 && turn.context.is_object() && turn.context.contains("last_kb_id") &&
                          IsElliptical(turn.message.text);
  if (elliptical) best = 0;
  if ((len <= 10 || elliptical) && best < settings_.answer_threshold) {
    std::string context = LastCustomerText(turn);
    const std::string last_kb = turn.context.is_object() ? turn.context.value("last_kb_id", "") : "";
    // The entry answered last says what the topic was in the shop's words; the
    // customer's own wording of it only adds noise ("退回去的话邮费是我出还是你们出").
    if (!last_kb.empty())
      if (auto e = kb_.Get(tenant, last_kb); e.ok()) context = e->title;
    // "冰箱呢" after "空调包安装吗": the goods are the one thing changed, so the
    // topic is the rest ("安装"), not the air conditioner an entry on returning
    // large appliances names as often as the fridge.
    if (const std::string named = GoodsWords(turn.message.text); !named.empty()) {
      const std::string before = GoodsWords(context);
      for (size_t at = 0; at < before.size();) {
        const size_t plus = std::min(before.find('+', at), before.size());
        const std::string goods = before.substr(at, plus - at);
        if (("+" + named + "+").find("+" + goods + "+") == std::string::npos)
          for (size_t p = context.find(goods); p != std::string::npos; p = context.find(goods, p)) context.erase(p, goods.size());
        at = plus + 1;
      }
    }
    if (!context.empty()) {
      auto follow = kb_.SearchFollowUp(tenant, turn.message.text, context, top_k, lang);
      if (follow.empty() || follow.front().confidence < settings_.clarify_threshold) {
        auto any = kb_.SearchFollowUp(tenant, turn.message.text, context, top_k, "*");
        if (!any.empty() && (follow.empty() || any.front().confidence > follow.front().confidence))
          follow = std::move(any);
      }
      if (!follow.empty() && follow.front().confidence > best &&
          (!elliptical || follow.front().confidence >= settings_.clarify_threshold ||
           passages.empty() || passages.front().confidence < settings_.clarify_threshold)) {
        passages = std::move(follow);
        used = turn.message.text;
      }
    }
  }
  if (AsksWhatNow(turn.message.text) &&
      (passages.empty() || passages.front().confidence < settings_.answer_threshold)) {
    if (const std::string before = LastCustomerText(turn); !before.empty()) {
      // What the previous message was about, asked again: an entry that
      // answers it confidently answers "what now" too.
      for (const std::string& reading : {before, before + " " + turn.message.text}) {
        auto ps = search(reading);
        if (!ps.empty() && ps.front().confidence >= settings_.answer_threshold &&
            (passages.empty() || ps.front().confidence > passages.front().confidence)) {
          passages = std::move(ps);
          used = reading;
        }
      }
    }
  }
  if (searched) *searched = std::move(used);
  return passages;
}

void GroundedResponder::BlendMatches(const TurnRequest& turn, const std::string& searched, bool english,
                                     std::vector<knowledge::Passage>& passages) const {
  // Meaning as well as words: blend in the trained matcher's probability
  // (Chinese questions only: it was trained on Chinese pairs).
  const double w = english ? 0.0 : settings_.matcher_weight;
  if (w > 0) kb_.ScoreMatches(turn.conversation.tenant_id, searched, passages, 3);
  for (auto& p : passages)
    if (p.match >= 0 && w > 0) p.confidence = (1 - w) * p.confidence + w * p.match;
  // Decide by confidence (coverage of the question), not raw BM25 order.
  std::stable_sort(passages.begin(), passages.end(),
                   [](const auto& a, const auto& b) { return a.confidence > b.confidence; });
}

const std::vector<knowledge::Passage>& GroundedResponder::Ranked(const TurnRequest& turn, const Draft& d) const {
  // Once per turn: the checks before the answer and the answer read the same
  // search, and the matcher is the costly part.
  if (!d.ranked) {
    d.ranked.emplace();
    d.ranked->passages = Retrieve(turn, settings_.top_k, d.rewrite, &d.ranked->searched);
    BlendMatches(turn, d.ranked->searched, d.english, d.ranked->passages);
  }
  return d.ranked->passages;
}

double GroundedResponder::KnowledgeConfidence(const TurnRequest& turn, const Draft& d) const {
  const auto& passages = Ranked(turn, d);
  return passages.empty() ? 0.0 : passages.front().confidence;
}

void GroundedResponder::AnswerFromKnowledge(const TurnRequest& turn, Draft& d) const {
  std::string searched;
  std::vector<knowledge::Passage> passages;
  if (d.out_of_scope) {
    // The model read it as nothing the shop answers: only an entry the words
    // confirm on their own may answer; no tentative answers or choices.
    passages = Retrieve(turn, settings_.top_k, d.rewrite, &searched);
    while (!passages.empty() && passages.back().confidence < settings_.answer_threshold) passages.pop_back();
    BlendMatches(turn, searched, d.english, passages);
  } else {
    passages = Ranked(turn, d);
    searched = d.ranked->searched;
  }
  // A festival the top entry does not name is not what it answers: no entry
  // is sure enough then, and none is offered (the KB has no such event).
  if (!passages.empty() && OtherFestival(turn.message.text, passages.front().title + "\n" + passages.front().text)) {
    d.meta["other_festival"] = true;
    passages.clear();
  }
  if (!passages.empty() &&
      OtherGroupsDiscount(turn.message.text, passages.front().title + "\n" + passages.front().text)) {
    d.meta["group_discount"] = true;
    passages.clear();
  }
  // A question about what goods can do or contain ("扫地机器人能爬过两厘米的门槛吗")
  // that the top entry does not speak of: the shop's data does not say, and an
  // entry about the same goods' warranty is no answer.
  if (!d.english) {
    if (const std::string asked = ProductFactPredicate(turn.message.text); !asked.empty()) {
      if (passages.empty() || !SpeaksOf(passages.front().title + "\n" + passages.front().text, asked)) {
        d.meta["product_fact"] = asked;
        passages.clear();
      }
    }
  }
  // A business proposal ("我想开一家加盟店", "你们招代理吗", "do you take resellers")
  // that the top entry does not speak of: no customer policy answers it, so the
  // entry is at most offered, never answered from (加盟店 is not 自提).
  if (!passages.empty()) {
    if (const std::string proposal =
            BusinessProposal(turn.message.text, passages.front().title + "\n" + passages.front().text);
        !proposal.empty()) {
      d.meta["business_proposal"] = proposal;
      auto& top = passages.front();
      top.confidence = std::min(top.confidence, settings_.answer_threshold * 0.99);
      top.key_word_covered = false;
      top.key_word_unknown = true;
      top.classified = 0;
      top.match = -1;
    }
  }
  double conf = passages.empty() ? 0.0 : passages.front().confidence;
  d.meta["confidence"] = conf;
  if (!passages.empty()) {
    // What the decision below read (decision traces, `kefu eval dialogue --turns`).
    const auto& p = passages.front();
    d.meta["kb_top"] = {{"id", p.id},
                        {"confidence", p.confidence},
                        {"match", p.match},
                        {"classified", p.classified},
                        {"key_word_covered", p.key_word_covered},
                        {"key_word_unknown", p.key_word_unknown},
                        {"key_word", p.key_word},
                        {"second", passages.size() > 1 ? passages[1].confidence : 0.0},
                        {"clause", searched != turn.message.text}};
  }
  if (conf >= settings_.answer_threshold) {
    const auto& p = passages.front();
    d.text = templates::KnowledgeAnswer(p.title, p.text);
    d.citations.push_back({{"id", p.id}, {"title", p.title}, {"score", p.score}});
    d.context["last_kb_id"] = p.id;
    d.context.erase("pending_choices");
    // Related questions as suggestions.
    for (size_t i = 1; i < passages.size() && d.suggestions.size() < 3; ++i)
      if (passages[i].confidence >= settings_.clarify_threshold) d.suggestions.push_back(passages[i].title);
    return;
  }
  size_t candidates = 0;
  for (const auto& p : passages) candidates += p.confidence >= settings_.clarify_threshold;
  // A guess (one plausible entry, below the answer threshold) must contain the
  // question's most specific word, or the matcher must vouch for it; otherwise
  // the entry is offered as a choice ("学生有优惠吗" is not about birthday gifts).
  // (Not for a clause found in a long message: its neighbour clause is context there.)
  // A key word that names goods ("how do i get an invoice for my iphone") is
  // what a policy question is about, not a topic the knowledge base lacks.
  const bool key_is_goods = !passages.empty() && passages.front().key_word_unknown &&
                            !passages.front().key_word_covered && NamesGoods(passages.front().key_word);
  const bool guess_ok = !passages.empty() &&
                        (passages.front().key_word_covered || passages.front().match >= settings_.guess_min_match ||
                         (passages.front().classified >= settings_.guess_min_classified &&
                          (!passages.front().key_word_unknown || key_is_goods)) ||
                         passages.front().classified >= settings_.guess_sure_classified ||
                         searched != turn.message.text);
  const bool clear_lead = candidates > 1 && conf >= settings_.lead_guess_confidence &&
                          conf - passages[1].confidence >= settings_.lead_guess_margin;
  if ((candidates == 1 || clear_lead) && !d.unclear && guess_ok) {
    // One plausible entry only: answer it, saying what we understood.
    const auto& p = passages.front();
    d.text = (d.english ? "Did you mean \"" + p.title + "\"?\n"
                                                           : "您是想了解「" + p.title + "」吗？\n") +
             templates::KnowledgeAnswer(p.title, p.text);
    d.citations.push_back({{"id", p.id}, {"title", p.title}, {"score", p.score}});
    d.context["last_kb_id"] = p.id;
    d.context.erase("pending_choices");
    d.meta["tentative"] = true;
    return;
  }
  if (candidates == 1 && !d.unclear) {
    // One weak entry that lacks the question's key word: say so honestly and
    // offer it ("您是不是想问…？") instead of answering from it.
    const auto& p = passages.front();
    d.text = d.english ? "Sorry, I don't have a reliable answer to that. Did you perhaps mean \"" + p.title +
                             "\"? Reply 1 for that, or \"human agent\" to talk to a person."
                       : "抱歉，这个问题我暂时没有找到准确的答案。您是不是想问「" + p.title +
                             "」？是的话回复 1；也可以回复“转人工”，由人工客服为您处理。";
    d.meta["unknown"] = true;
    d.meta["offered"] = p.id;
    d.context["pending_choices"] = json::array({{{"kind", "kb"}, {"id", p.id}, {"title", p.title}}});
    d.suggestions.push_back(p.title);
    d.suggestions.push_back(d.english ? "human agent" : "转人工");
    return;
  }
  if (conf >= settings_.clarify_threshold && !d.unclear) {
    json choices = json::array();
    std::vector<std::string> titles;
    for (const auto& p : passages) {
      if (p.confidence < settings_.clarify_threshold || titles.size() >= 3) break;
      choices.push_back({{"kind", "kb"}, {"id", p.id}, {"title", p.title}});
      titles.push_back(p.title);
      d.suggestions.push_back(p.title);
    }
    d.context["pending_choices"] = choices;
    // The question's key word is one the knowledge base never mentions ("学生有优惠吗",
    // "whats the phone number for SF express"): none of these entries answers it,
    // so say that first and only offer them.
    const auto& top = passages.front();
    if (top.key_word_unknown && !top.key_word_covered && !key_is_goods && searched == turn.message.text) {
      d.text = d.english ? templates::UnknownWithChoicesEnglish(titles) : templates::UnknownWithChoices(titles);
      d.meta["unknown"] = true;
      d.suggestions.push_back(d.english ? "human agent" : "转人工");
      return;
    }
    d.text = d.english ? templates::ClarifyEnglish(titles) : templates::Clarify(titles);
    d.meta["clarify"] = true;
    return;
  }
  const bool en = d.english;
  if (Vague(turn.message.text) || d.unclear) return AskWhatAbout(d);
  d.text = en ? "Sorry, I couldn't find a reliable answer to that. You can rephrase it, or reply \"human agent\" "
                "to talk to a person."
              : kUnknownReply;
  d.meta["unknown"] = true;
  d.suggestions.push_back(en ? "human agent" : "转人工");
  d.context.erase("pending_choices");
}

// A first message with nothing said yet ("在吗 问个事儿", "东西收到了 但是"), with
// no topic so far to read it with: asks what it is about. True when it did.
bool GroundedResponder::AskedIfContentFree(const TurnRequest& turn, Draft& d) const {
  if (!ContentFree(turn.message.text) || d.context.contains("last_kb_id") || d.context.contains("last_order_id") ||
      d.context.contains("pending_choices"))
    return false;
  d.meta["content_free"] = true;
  AskWhatAbout(d);
  return true;
}

// The order tools refused: the customer id was not verified (see tools/tool.h).
// "有问题", "帮我看看", "？？？", "help": nothing to look up yet; ask what it is about.
void GroundedResponder::AskWhatAbout(Draft& d) const {
  const bool en = d.english;
  d.text = en ? "Sure, I'm here to help. What is it about: an order or delivery, a return or refund, an invoice, "
                "payment, or something else? A few words or your order number is enough."
              : "请问您具体想咨询什么呢？比如订单物流、退换货、退款、发票或支付，简单说一下情况或发订单号给我就行。";
  d.meta["clarify"] = true;
  d.suggestions = en ? std::vector<std::string>{"Where is my order?", "How do I return an item?", "Human agent"}
                     : std::vector<std::string>{"我的订单到哪了", "怎么退货", "转人工"};
  d.context.erase("pending_choices");
}

void GroundedResponder::AskToSignIn(Draft& d) const {
  d.text = "为了保护您的隐私，查询订单需要先确认您的身份：请在 App 或网站登录后再打开客服，"
           "或转人工由客服为您核实。";
  d.meta["unverified_customer"] = true;
  d.suggestions.push_back("转人工");
}

void GroundedResponder::AnswerOrder(const TurnRequest& turn, int action_int, std::optional<std::string> order_id,
                                    Draft& d) const {
  auto action = static_cast<Action>(action_int);
  if (action == Action::kListOrders) {
    json r = CallTool(turn, "list_orders", json::object(), d);
    if (r.value("__error", "") == "permission_denied") return AskToSignIn(d);
    if (r.contains("__error") || r.value("orders", json::array()).empty()) {
      d.text = "没有查询到您名下的订单。如果您是用其他手机号下的单，请告诉我订单号（以 SO 开头）。";
      d.context["pending_action"] = "order_status";
      return;
    }
    d.text = templates::OrderList(r);
    json choices = json::array();
    for (auto& o : r["orders"]) choices.push_back({{"kind", "order"}, {"id", o.value("order_id", "")}});
    d.context["pending_choices"] = choices;
    d.context["pending_action"] = "order_status";
    return;
  }
  const std::string tool = action == Action::kTrackLogistics ? "track_logistics" : "get_order";
  json args = json::object();
  if (order_id) args["order_id"] = *order_id;
  json r = CallTool(turn, tool, args, d);
  if (r.contains("__error")) {
    const std::string err = r["__error"];
    if (err == "permission_denied") return AskToSignIn(d);
    if (order_id) {
      d.text = "没有查到订单 " + *order_id + "，请核对订单号是否正确（订单号以 SO 开头，可在“我的订单”中查看）。";
    } else {
      d.text = "请问您要查询哪个订单呢？请告诉我订单号（以 SO 开头，可在“我的订单”中查看）。";
    }
    d.meta["missing_slot"] = "order_id";
    d.context["pending_action"] = std::string(ActionName(action));
    d.suggestions.push_back("转人工");
    return;
  }
  std::string resolved = r.value("order_id", order_id.value_or(""));
  d.context["last_order_id"] = resolved;
  d.context.erase("pending_action");
  d.context.erase("pending_choices");
  d.meta["order_id"] = resolved;
  const bool asks_arrival = ArrivalQuestion(turn.message.text);
  if (d.english)
    d.text = action == Action::kTrackLogistics ? templates::LogisticsEnglish(r) : templates::OrderStatusEnglish(r);
  else if (action == Action::kTrackLogistics && asks_arrival && d.meta.value("resolved_from_context", false))
    d.text = templates::ArrivalTime(r);
  else
    d.text = action == Action::kTrackLogistics ? templates::Logistics(r) : templates::OrderStatus(r);
  if (action == Action::kTrackLogistics) d.suggestions.push_back("查看订单详情");
  else d.suggestions.push_back("物流到哪了");
}

void GroundedResponder::AnswerProducts(const TurnRequest& turn, const std::string& raw_query,
                                       std::optional<double> max_price, Draft& d) const {
  // English goods words in Chinese too: the catalogue's names are Chinese.
  std::string query = raw_query;
  for (std::string_view zh : ChineseGoodsNamed(raw_query))
    if (query.find(zh) == std::string::npos) query += " " + std::string(zh);
  json args = {{"keyword", std::string(utf8::TruncateBytes(query, 150))}};
  if (max_price) args["max_price"] = *max_price;
  json r = CallTool(turn, "search_products", args, d);
  auto products = r.value("products", json::array());
  if (!r.contains("__error") && products.empty()) {
    // "三千以内的手机": no item name says 手机; the names of that kind of goods do (iPhone, Mate, Redmi).
    for (std::string_view name : KindNames(raw_query)) {
      json a = args;
      a["keyword"] = std::string(name);
      json more = CallTool(turn, "search_products", a, d);
      for (auto& p : more.value("products", json::array()))
        if (products.size() < 5 &&
            std::none_of(products.begin(), products.end(), [&](const json& x) { return x.value("id", "") == p.value("id", ""); }))
          products.push_back(p);
    }
    if (!products.empty()) r = {{"count", products.size()}, {"match", "kind"}, {"products", products}};
  }
  if (r.contains("__error") || products.empty()) {
    // Nothing of the kind in the catalogue: the knowledge base may answer
    // ("有没有小样卖", "积分有没有expiry date"); where it knows nothing either,
    // say there are no such goods rather than "I don't know" ("想给我爸买个剃须刀
    // 你们有吗").
    AnswerFromKnowledge(turn, d);
    const std::string wanted(utf8::Trim(raw_query));
    // A list of unrelated entries to choose from, or "what is it about?", is
    // no answer to "你们有卖猫粮吗" either.
    const bool no_answer = d.meta.value("unknown", false) || (d.meta.value("clarify", false) && d.citations.empty());
    if (r.contains("__error") || wanted.empty() || !no_answer || d.meta.contains("offered") ||
        d.meta.contains("product_fact"))
      return;
    d.meta.erase("clarify");
    d.meta["unknown"] = true;
    d.context.erase("pending_choices");
    d.suggestions = json::array();
    // The customer's words are quoted when they are a name, not a sentence.
    const bool name = utf8::Length(wanted) <= (d.english ? 30 : 8);
    d.text = d.english ? (name ? "Sorry, I couldn't find anything matching \"" + wanted + "\" in our shop."
                               : std::string("Sorry, I couldn't find that in our shop.")) +
                             " You can try another product name or brand, or reply \"human agent\" to ask a person."
                       : (name ? "抱歉，没有找到与“" + wanted + "”相关的在售商品。" : std::string("抱歉，本店暂时没有找到您要的商品。")) +
                             "您可以换个商品名称或品牌再试试，也可以回复“转人工”咨询。";
    d.meta["no_products"] = true;
    return;
  }
  d.text = d.english ? templates::ProductsEnglish(r) : templates::Products(query, r);
  d.context["last_products"] = json::array();
  for (auto& p : products) d.context["last_products"].push_back(p.value("id", ""));
}

// What a reply answers, to tell when the bot would give the same answer
// again: the order and tool it looked up, or the entry it answered from
// (translations count as their entry). "" for anything else (a choice, a
// clarifying question, don't know, thanks).
static std::string AnswerKey(const json& tools, const json& citations, bool tentative) {
  for (const auto& t : tools) {
    const std::string name = t.value("name", "");
    if ((name == "track_logistics" || name == "get_order") && t.value("ok", false) && t.contains("arguments") &&
        t["arguments"].is_object())
      return "order:" + t["arguments"].value("order_id", "") + ":" + name;
  }
  if (!tentative && citations.is_array() && !citations.empty()) {
    std::string id = citations[0].value("id", "");
    if (auto dot = id.rfind('.'); dot != std::string::npos && id.size() - dot <= 4) id.resize(dot);
    return "kb:" + id;
  }
  return std::string();
}

void GroundedResponder::SameAnswerAgain(const TurnRequest& turn, Draft& d) const {
  // The same answer for the third time in a row (the same order looked up the
  // same way, the same entry): the customer keeps asking because it does not
  // help them, however they word it ("我的牛仔裤呢" → "裤子现在到哪儿了" → "我问的是
  // 牛仔裤现在在哪个位置"). A person takes over instead of a third copy.
  if (d.handoff) {
    d.context.erase("answer_streak");
    return;
  }
  const std::string key = AnswerKey(d.tools, d.citations, d.meta.value("tentative", false));
  if (key.empty()) return;  // nothing answered: the streak stands
  int count = 1;
  if (const auto it = d.context.find("answer_streak"); it != d.context.end() && it->is_object() &&
                                                        it->value("key", "") == key)
    count = it->value("count", 0) + 1;
  if (count >= 3) {
    d.context.erase("answer_streak");
    d.citations = json::array();
    d.suggestions = json::array();
    d.meta["same_answer_again"] = key;
    d.meta["intent"] = "human";
    HandOff(turn, d);
    return;
  }
  d.context["answer_streak"] = {{"key", key}, {"count", count}};
}

bool GroundedResponder::AnswerAboutAThirdParty(const TurnRequest& turn, Draft& d) const {
  // The company as the customer named it: the speller knows the knowledge
  // base's words, not every carrier's and brand's (顺丰 was read as 顺风).
  ThirdParty other = AboutAThirdParty(turn.message.text);
  if (!other.is && !d.raw_text.empty()) other = AboutAThirdParty(text::FoldChinese(d.raw_text));
  if (!other.is) return false;
  // Another company's hotline or policy, goods bought elsewhere: the
  // knowledge base speaks for this shop only.
  d.text = d.english ? "Sorry, I can only answer for our own shop, so I don't have reliable information about " +
                           other.who +
                           ". For questions about our orders, returns or service, just ask; or reply \"human "
                           "agent\" to talk to a person."
                     : "抱歉，我只能解答本店的问题，关于“" + other.who +
                           "”的信息我没有准确的答案，建议直接咨询对方。本店的订单、售后等问题随时问我，也可以回复“转人工”。";
  d.meta["unknown"] = true;
  d.meta["third_party"] = other.who;
  d.suggestions.push_back(d.english ? "human agent" : "转人工");
  d.context.erase("pending_choices");
  return true;
}

void GroundedResponder::HandOff(const TurnRequest& turn, Draft& d) const {
  json r = CallTool(turn, "request_human", {{"reason", std::string(utf8::TruncateBytes(turn.message.text, 500))}}, d);
  d.handoff = true;
  d.text = templates::Handoff(r);
}

TurnReply GroundedResponder::Respond(const TurnRequest& raw_turn, const DeltaFn& on_delta) {
  // Read the turn as the knowledge base does: traditional characters folded,
  // homophone typos corrected against the tenant's words ("快第到哪了").
  // Everything but the meta (the turn's analysis and routing trace, which
  // the responder does not read and which cost more to copy than the rest).
  const Message& raw = raw_turn.message;
  Message understood;
  understood.id = raw.id;
  understood.conversation_id = raw.conversation_id;
  understood.seq = raw.seq;
  understood.role = raw.role;
  understood.client_msg_id = raw.client_msg_id;
  understood.reply_to = raw.reply_to;
  understood.created_ms = raw.created_ms;
  understood.text = kb_.Understandable(raw_turn.conversation.tenant_id, raw.text);
  const TurnRequest turn{raw_turn.conversation, understood, raw_turn.history, raw_turn.context};
  Draft d;
  d.raw_text = raw.text;
  if (turn.message.text != raw_turn.message.text) d.meta["understood_as"] = turn.message.text;
  d.english = CustomerLanguage(turn.message.text) == "en";
  bool about_orders = false;  // set below, declared before the jumps to `done`
  std::optional<bool> has_orders;  // whether the customer has orders, once their list was read
  bool back_reference = false;
  bool continues_order = false;
  d.context = turn.context.is_object() ? turn.context : json::object();
  TurnReading reading = ReadTurn(turn.message.text);
  Action action = reading.action;
  std::optional<std::string> order_id = reading.order_id;
  // The text order mentions are looked for in: the customer's own words
  // (traditional folded, no typo correction: the speller knows the knowledge
  // base, not the catalogue, and would turn 冰袖 into a word of its own).
  std::string mention_text = text::FoldChinese(raw_turn.message.text);

  // 0. Where the rules are unsure, a language model may read the turn.
  const bool rules_sure = reading.strong || reading.choice || order_id || action == Action::kHuman ||
                          action == Action::kGreeting || action == Action::kThanks || action == Action::kGoodbye;
  if (interpreter_ && !rules_sure) {
    std::vector<PriorMessage> prior;
    for (const auto& m : turn.history)
      if (m.role == "customer" || m.role == "bot" || m.role == "agent") prior.push_back({m.role, m.text});
    if (auto r = interpreter_->Interpret(raw_turn.message.text, prior)) {
      d.meta["llm_reading"] = {{"intent", std::string(IntentName(r->intent))}, {"query", r->query},
                               {"product", r->product}};
      d.rewrite = r->query;
      if (!r->product.empty()) mention_text += " " + r->product;
      using I = Interpretation::Intent;
      switch (r->intent) {
        case I::kHuman: action = Action::kHuman; break;
        case I::kOrderStatus: action = Action::kOrderStatus; break;
        case I::kTrackLogistics: action = Action::kTrackLogistics; break;
        case I::kListOrders: action = Action::kListOrders; break;
        case I::kProducts:
          action = Action::kProductSearch;
          if (reading.product_query.empty()) reading.product_query = !r->product.empty() ? r->product : r->query;
          break;
        case I::kFaq:
          if (!IsOrderAction(action)) action = Action::kNone;
          d.policy_question = true;
          break;
        case I::kUnclear: d.unclear = true; break;
        case I::kOutOfScope:
          d.out_of_scope = true;
          d.policy_question = true;  // not about an order either
          action = Action::kNone;
          break;
        case I::kSmalltalk: break;
      }
    }
  }

  // "派送的师傅死活不接电话", "the delivery guy won't answer my calls": how to
  // reach the courier (or what else to do), not where the parcel is.
  if (!order_id && !reading.choice && action != Action::kHuman && CourierUnreachable(raw_turn.message.text)) {
    if (IsOrderAction(action)) action = Action::kNone;
    d.policy_question = true;
  }

  // 1. The customer picks one of the options offered in the previous turn.
  if (reading.choice && d.context.contains("pending_choices")) {
    auto choices = d.context["pending_choices"];
    size_t idx = static_cast<size_t>(*reading.choice) - 1;
    if (choices.is_array() && idx < choices.size()) {
      auto c = choices[idx];
      d.context.erase("pending_choices");
      if (c.value("kind", "") == "kb") {
        auto entry = kb_.Get(turn.conversation.tenant_id, c.value("id", ""));
        if (entry.ok()) {
          d.text = templates::KnowledgeAnswer(entry->title, entry->body);
          d.citations.push_back({{"id", entry->id}, {"title", entry->title}});
          d.context["last_kb_id"] = entry->id;
          d.meta["intent"] = "faq";
          d.meta["confidence"] = 1.0;
          goto done;
        }
      } else if (c.value("kind", "") == "order") {
        std::string pending = d.context.value("pending_action", "order_status");
        action = pending == "track_logistics" ? Action::kTrackLogistics : Action::kOrderStatus;
        order_id = c.value("id", "");
      }
    }
  }

  // 2. Slot filling: we asked for an order number and got one.
  if (order_id && !IsOrderAction(action) && d.context.contains("pending_action")) {
    std::string pending = d.context.value("pending_action", "");
    action = pending == "track_logistics" ? Action::kTrackLogistics : Action::kOrderStatus;
  }
  // 2b. The customer names one of their orders by product or state ("洗衣机到哪儿了",
  // "还没发货的那单"): look at their orders (the lookup is recorded only when it decides).
  // In a conversation already about orders ("the laptop one", "笔记本呢"), naming
  // a product of the customer's orders is enough.
  about_orders = d.context.contains("last_order_id") ||
                            (d.context.contains("pending_choices") && d.context["pending_choices"].is_array() &&
                             !d.context["pending_choices"].empty() &&
                             d.context["pending_choices"][0].value("kind", "") == "order");
  // "那它什么时候到？" refers to the order under discussion (step 3) unless a
  // product is named ("冰袖那单呢").
  back_reference = reading.refers_back && d.context.contains("last_order_id");
  // Right after an order's answer, a progress question that names no goods
  // ("今天能deliver吗", "那几天能到石家庄", "怎么还在杭州分拣") is about that order,
  // unless it asks how things usually go.
  {
    const std::string last_intent = d.context.value("last_intent", "");
    continues_order = !order_id && !reading.choice && !d.policy_question && d.context.contains("last_order_id") &&
                      (last_intent == "track_logistics" || last_intent == "order_status") &&
                      (action == Action::kNone || action == Action::kTrackLogistics ||
                       action == Action::kOrderStatus) &&
                      (AsksWhereOrWhen(turn.message.text) ||
                       (last_intent == "order_status" && AsksHowMuchLonger(turn.message.text)) ||
                       // "这单发的哪家快递": this order's parcel.
                       // ... or right after it: "发的是哪家快递", "单号给我".
                       ((reading.refers_back || ShortFollowUp(turn.message.text)) &&
                        AsksWhichParcel(turn.message.text)) ||
                       AsksForCourier(turn.message.text) || AsksWhatItHolds(turn.message.text)) &&
                      !AsksHowThingsUsuallyGo(turn.message.text);
  }
  if (!order_id && !reading.choice && !turn.conversation.customer_id.empty() &&
      ((IsOrderAction(action) && action != Action::kListOrders) ||
       (action == Action::kNone && !d.policy_question &&
        // "多久发货", "退款一般几天到账": how things usually go, no order of theirs
        // named: not worth reading their orders.
        ((HasOrderPredicate(turn.message.text) &&
          (!(AsksPolicy(turn.message.text) && !NamesOwnOrder(turn.message.text)) ||
           NamesGoodsOrBrand(mention_text))) ||
         about_orders)))) {
    tools::ToolContext ctx{turn.conversation.tenant_id, turn.conversation.customer_id, turn.conversation.id};
    ctx.customer_verified = CustomerVerified(turn.context);
    auto listed = tools_.Call(ctx, "list_orders", {{"limit", 20}});
    if (listed.ok()) has_orders = !listed->value("orders", json::array()).empty();
    // A correction ("不是这个，是上一单", "no, the other order", "不是iPhone 是洗衣机那单"):
    // the order under discussion is not meant, nor what follows 不是.
    const std::string last_order = d.context.value("last_order_id", "");
    const Correction correction = about_orders ? ReadCorrection(mention_text) : Correction{};
    auto moving_status = [](const std::string& st) {
      return st == "shipped" || st == "in_transit" || st == "out_for_delivery";
    };
    bool last_moving = false;
    std::string last_status;
    if (correction.is && listed.ok()) {
      json kept = json::array();
      for (const auto& o : listed->value("orders", json::array()))
        if (o.value("order_id", "") != last_order) {
          kept.push_back(o);
        } else {
          last_status = o.value("status", "");
          last_moving = moving_status(last_status);
        }
      (*listed)["orders"] = std::move(kept);
      if (!correction.rest.empty()) mention_text = correction.rest;
    }
    if (listed.ok()) {
      OrderMention m;
      // Right after "which order?", the orders offered come first: "已经发出来的那个",
      // "还没付款的那个" choose among them, not among all the customer's orders.
      if (!correction.is && d.context.contains("pending_choices") && d.context["pending_choices"].is_array()) {
        json offered = json::array();
        for (const auto& o : listed->value("orders", json::array()))
          for (const auto& c : d.context["pending_choices"])
            if (c.is_object() && c.value("kind", "") == "order" && c.value("id", "") == o.value("order_id", ""))
              offered.push_back(o);
        if (offered.size() >= 2) {
          OrderMention among = FindOrderMention(mention_text, offered);
          if (among.candidates.size() == 1 && (among.by_product || among.by_state)) m = std::move(among);
          // "顺丰寄的那台", "the one coming by JD": the carrier tells them apart.
          if (m.candidates.empty()) {
            if (std::string by = OrderByCarrier(mention_text, offered); !by.empty()) {
              m.candidates = {by};
              m.by_product = true;
            }
          }
        }
      }
      if (m.candidates.empty()) m = FindOrderMention(mention_text, listed->value("orders", json::array()));
      if (correction.is && m.candidates.empty()) {
        // "the other one": the customer's other live order, or the one listed after it ("上一单").
        std::vector<std::string> live;
        for (const auto& o : listed->value("orders", json::array())) {
          const std::string st = o.value("status", "");
          if (st == "paid" || st == "shipped" || st == "in_transit" || st == "out_for_delivery") live.push_back(o.value("order_id", ""));
        }
        // Of several, the one in the same phase as the order corrected (both on their way, or not yet shipped).
        if (live.size() > 1) {
          std::vector<std::string> same;
          for (const auto& o : listed->value("orders", json::array()))
            if (std::find(live.begin(), live.end(), o.value("order_id", "")) != live.end() &&
                moving_status(o.value("status", "")) == last_moving)
              same.push_back(o.value("order_id", ""));
          if (same.size() == 1) live = same;
        }
        // Else the one other order in the same state ("牛仔裤的退款到哪一步了" … "另外那单呢": the other refund).
        if (live.size() != 1 && !last_status.empty()) {
          std::vector<std::string> same_status;
          for (const auto& o : listed->value("orders", json::array()))
            if (o.value("status", "") == last_status) same_status.push_back(o.value("order_id", ""));
          if (same_status.size() == 1) live = same_status;
        }
        if (live.size() == 1) m.candidates = live;
        else if (correction.previous && !listed->value("orders", json::array()).empty())
          m.candidates = {(*listed)["orders"][0].value("order_id", "")};
        m.by_state = !m.candidates.empty();
      }

      // "我的包裹呢", "where's my parcel" from a customer with several parcels on
      // their way and nothing naming one: ask which, rather than show the newest.
      // ("我那两个包裹咋样了", "any update on my deliveries?": their own parcels, though no
      // word of tracking was strong enough to decide it.)
      const bool own_parcels = action == Action::kNone && !d.policy_question &&
                               (NamesOwnOrder(turn.message.text) || AsksWhereOrWhen(turn.message.text)) &&
                               AsksAboutParcel(turn.message.text) &&
                               !AsksPolicy(turn.message.text) && !AsksHowTo(turn.message.text);
      bool several_live = false;
      if (m.candidates.empty() && !correction.is && !back_reference &&
          ((IsOrderAction(action) && action != Action::kListOrders) || own_parcels)) {
        std::vector<std::string> fitting;
        for (const auto& o : listed->value("orders", json::array())) {
          const std::string st = o.value("status", "");
          if (moving_status(st) || (action != Action::kTrackLogistics && st == "paid"))
            fitting.push_back(o.value("order_id", ""));
        }
        if (fitting.size() >= 2) {
          m.candidates = std::move(fitting);
          several_live = true;
          if (own_parcels) action = Action::kTrackLogistics;
        }
      }
      // "卡在武汉的那个包裹", "还在西安转的那个洗衣机": of several parcels, the one last
      // scanned at the place named (its latest event's location).
      if (m.candidates.size() >= 2 && m.candidates.size() <= 6 && !correction.is) {
        if (const std::vector<std::string> places = PlacesNamed(mention_text, /*where_it_is=*/true); !places.empty()) {
          std::vector<std::string> there;
          for (const std::string& id : m.candidates) {
            auto tracked = tools_.Call(ctx, "track_logistics", {{"order_id", id}});
            if (!tracked.ok() || !tracked->contains("latest_event") || !(*tracked)["latest_event"].is_object())
              continue;
            const std::string where = (*tracked)["latest_event"].value("location", "");
            for (const std::string& p : places)
              if (where.find(p) != std::string::npos) {
                there.push_back(id);
                break;
              }
          }
          if (there.size() == 1) {
            m.candidates = std::move(there);
            m.by_product = true;  // named as surely as by its goods
            several_live = false;
            d.meta["order_from_place"] = true;
          }
        }
      }
      // The order under discussion is meant (step 3) unless goods are named.
      if (continues_order && !m.by_product && !correction.is) {
        m.candidates.clear();
        several_live = false;
      }
      // A policy question ("退款多久到账") names no product: only a product decides it is about an order.
      bool decides = !m.candidates.empty() && (m.by_product || (IsOrderAction(action) && !back_reference));
      // "戴森付完款多久能发" from a customer whose Dyson is paid and not shipped:
      // how long for that order, not the shop's usual time; asked of goods the
      // customer has no live order of ("iPhone一般几天发货"), it is the policy's.
      if (decides && action == Action::kNone && AsksPolicy(turn.message.text) &&
          !NamesOwnOrder(turn.message.text)) {
        bool live = false;
        for (const auto& o : listed->value("orders", json::array()))
          if (std::find(m.candidates.begin(), m.candidates.end(), o.value("order_id", "")) != m.candidates.end()) {
            const std::string st = o.value("status", "");
            // (A refund under way is live too: "散粉退款还要多久".)
            live |= st == "paid" || st == "refunding" || moving_status(st);
          }
        if (!m.by_product || !live || AsksHowThingsUsuallyGo(turn.message.text)) decides = false;
      }
      // "我的订单什么时候发货": their own order, narrowed by the state asked about.
      if (!decides && m.by_state && NamesOwnOrder(turn.message.text)) decides = true;
      // "寄出了吗？单号多少" with exactly one order on its way: that one.
      // ("下单后多久能发货" asks the shop's policy, not about that parcel.)
      if (m.only_live) decides = !back_reference && AsksAboutParcel(turn.message.text) && !AsksPolicy(turn.message.text);
      // A correction names the order meant (the tool follows that order's state below).
      if (correction.is && !m.candidates.empty()) decides = true;
      // Goods named, but a policy question ("冰箱收到了 有师傅来装吗", "牛仔裤有点小
      // 能换大一码吗"): the knowledge base answers when it is sure.
      // In a conversation about orders, a short reply naming goods ("the laptop
      // one", "外套呢") picks the order.
      const bool picks_order = about_orders && ShortFollowUp(turn.message.text);
      if (decides && !IsOrderAction(action) && !picks_order && !AsksAboutProgress(turn.message.text)) {
        if (KnowledgeConfidence(turn, d) >= settings_.answer_threshold) decides = false;
      }
      // Goods named to ask for an after-sales service ("牛仔裤收到了 有点小 能换大一码吗",
      // "手机收到了 想开个发票", "the lipstick shade is wrong, can I swap it?"): the
      // policy answers, not the order's status.
      // ("got my order but the shade is wrong, can I swap it?": even with "my order".)
      if (decides && !correction.is && AsksForAfterSales(turn.message.text) && !AsksWhereOrWhen(turn.message.text) &&
          (!IsOrderAction(action) ||
           (!reading.order_id && (AsksHowTo(turn.message.text) || ReportsFault(turn.message.text))))) {
        decides = false;
        if (IsOrderAction(action)) action = Action::kNone;
      }
      if (decides && m.candidates.size() == 1) {
        order_id = m.candidates.front();
        d.meta["order_from_mention"] = m.by_product ? "product" : m.only_live ? "only_live" : "state";
        std::string status;
        for (const auto& o : listed->value("orders", json::array()))
          if (o.value("order_id", "") == *order_id) status = o.value("status", "");
        // Nothing to track before it ships: the order's own state answers "发货了吗";
        // a parcel on its way is tracked.
        const bool moving = status == "shipped" || status == "in_transit" || status == "out_for_delivery" ||
                            status == "delivered";
        // "发货了吗" asks about shipping, which the order's own status answers.
        const std::string& t = turn.message.text;
        const bool asks_shipping = (t.find("发货") != std::string::npos || t.find("发了") != std::string::npos ||
                                    t.find("发出") != std::string::npos) &&
                                   t.find("到") == std::string::npos && t.find("送") == std::string::npos;
        if (!moving || asks_shipping) action = Action::kOrderStatus;
        else if (action == Action::kNone || action == Action::kListOrders)
          action = (m.state == "paid" || m.state == "refunding" || m.state == "cancelled") ? Action::kOrderStatus
                                                                                          : Action::kTrackLogistics;
      } else if (decides && m.candidates.size() > 1 &&
                 // (Not among delivered orders: "显示签收了但没收到" gets the policy answer.)
                 (m.by_product || (m.by_state && m.state != "delivered") || several_live ||
                  (IsOrderAction(action) && (m.state == "in_transit" || m.state == "paid")))) {
        // Several orders fit equally (two parcels on the way, two named products): ask which.
        // Several orders match equally: ask which, listing just those.
        json choices = json::array();
        std::string text = d.english ? "Several of your orders match. Which one do you mean? Reply with its number:\n"
                                     : "您有多笔相符的订单，请问是哪一笔？回复序号即可：\n";
        int i = 0;
        for (const auto& o : listed->value("orders", json::array())) {
          std::string id = o.value("order_id", "");
          if (std::find(m.candidates.begin(), m.candidates.end(), id) == m.candidates.end()) continue;
          choices.push_back({{"kind", "order"}, {"id", id}});
          text += std::to_string(++i) + ". " + id +
                  (d.english ? " (" + templates::StatusEnglish(o.value("status", "")) + ") "
                             : "（" + o.value("status_label", "") + "）") +
                  o.value("item_summary", "") + "\n";
        }
        d.text = text;
        d.meta["clarify"] = true;
        d.meta["intent"] = std::string(ActionName(action == Action::kNone ? Action::kOrderStatus : action));
        d.context["pending_choices"] = choices;
        d.context["pending_action"] = action == Action::kTrackLogistics || m.state == "in_transit"
                                          ? "track_logistics" : "order_status";
        goto done;
      }
    }
  }

  // 3. References to the order under discussion ("那它什么时候到？").
  // (The same tool as that answer: an order not shipped yet has no parcel to track.)
  if (continues_order && !order_id && action == Action::kNone)
    action = (d.context.value("last_intent", "") == "order_status" && !ArrivalQuestion(turn.message.text) &&
              !AsksAboutParcel(turn.message.text) && !AsksForCourier(turn.message.text)) ||
                     AsksWhatItHolds(turn.message.text)
                 ? Action::kOrderStatus
                 : Action::kTrackLogistics;
  if (!order_id && IsOrderAction(action) && action != Action::kListOrders && d.context.contains("last_order_id") &&
      (reading.refers_back || !reading.strong)) {
    order_id = d.context.value("last_order_id", "");
    d.meta["resolved_from_context"] = true;
  }

  d.meta["intent"] = std::string(ActionName(action));
  switch (action) {
    case Action::kHuman:
      HandOff(turn, d);
      break;
    case Action::kTrackLogistics:
    case Action::kOrderStatus:
    case Action::kListOrders: {
      // Nor is "why did my order come in two boxes?", "can my mom pay for my
      // order?" from a visitor whose orders we cannot see: a question about
      // how orders go, which the knowledge base answers when it is sure.
      bool visitor_asks_why = false;
      // A visitor whose orders we cannot see, telling what happened ("订单状态写已发货
      // 可快递公司那边查这个号说不存在"): an entry that surely answers the situation
      // helps more than asking for an order number; a bare "我的快递到哪了" still asks.
      const bool tells_what_happened = action != Action::kListOrders && utf8::Length(turn.message.text) >= 10 &&
                                       !ContentFree(turn.message.text);
      if (!order_id && reading.strong && (AsksWhyOrWhether(turn.message.text) || tells_what_happened)) {
        visitor_asks_why = turn.conversation.customer_id.empty();
        if (!visitor_asks_why && has_orders) {
          visitor_asks_why = !*has_orders;  // read above (step 2b): not read twice
        } else if (!visitor_asks_why) {
          tools::ToolContext ctx{turn.conversation.tenant_id, turn.conversation.customer_id, turn.conversation.id};
          ctx.customer_verified = CustomerVerified(turn.context);
          auto listed = tools_.Call(ctx, "list_orders", {{"limit", 1}});
          visitor_asks_why = listed.ok() && listed->value("orders", json::array()).empty();
        }
      }
      // "东西收到了 但是", "收到了 但是": something about goods received, not yet what.
      if (!reading.strong && !order_id && AskedIfContentFree(turn, d)) break;
      if ((!reading.strong || AsksHowTo(turn.message.text) || visitor_asks_why) && !order_id) {
        // "快递费多少" is a question for the knowledge base, not about an order;
        // so is "怎么查订单", "can I get an invoice for my order?" (how to do something).
        // A how-to question from someone we cannot look orders up for ("咋查快递 不会弄"
        // in a conversation without a customer) is the knowledge base's even when
        // it is only fairly sure: asking for an order number answers nothing.
        const double needed = AsksHowTo(turn.message.text) && turn.conversation.customer_id.empty()
                                  ? settings_.clarify_threshold
                                  : settings_.answer_threshold;
        const double known = KnowledgeConfidence(turn, d);
        d.meta["kb_confidence"] = known;  // what the decision read (decision traces)
        if (known >= needed) {
          d.meta["intent"] = "faq";
          AnswerFromKnowledge(turn, d);
          break;
        }
      }
      AnswerOrder(turn, static_cast<int>(action), order_id, d);
      break;
    }
    case Action::kProductSearch: {
      // "兰州有没有华为的售后网点": another company's service, not goods.
      if (AnswerAboutAThirdParty(turn, d)) break;
      // "支持花呗分期吗，有没有手续费" asks about policy, not products.
      // ("do you sell running shoes", "推荐一款扫地机器人": the catalogue first, and
      // the knowledge base when it has nothing.)
      // "电饭煲内胆有没有涂层": what goods are made of, not which goods there are.
      if ((!reading.strong && KnowledgeConfidence(turn, d) >= settings_.answer_threshold) ||
          (!d.english && !ProductSpecAsked(turn.message.text).empty())) {
        d.meta["intent"] = "faq";
        AnswerFromKnowledge(turn, d);
      } else {
        AnswerProducts(turn, reading.product_query, reading.max_price, d);
      }
      break;
    }
    case Action::kGreeting:
      d.text = d.english
                   ? "Hello! I'm the shop's assistant: I can track your orders and parcels and answer questions about "
                     "returns, refunds, invoices and payment. How can I help?"
                   : templates::Greeting();
      break;
    case Action::kThanks:
      d.text = d.english ? "You're welcome! Anything else, just ask."
                                                            : "不客气，很高兴能帮到您！还有其他问题随时找我。";
      break;
    case Action::kGoodbye:
      d.text = d.english ? "Thanks for contacting us, have a nice day!"
                                                            : "好的，感谢您的咨询，祝您生活愉快，再见！";
      break;
    case Action::kNone:
      if (AskedIfContentFree(turn, d)) break;
      if (AnswerAboutAThirdParty(turn, d)) break;
      AnswerFromKnowledge(turn, d);
      break;
  }

done:
  SameAnswerAgain(turn, d);
  if (on_delta) on_delta(d.text);
  TurnReply reply;
  reply.text = std::move(d.text);
  reply.meta = std::move(d.meta);
  reply.meta["source"] = "grounded";
  reply.meta["citations"] = std::move(d.citations);
  reply.meta["tools"] = std::move(d.tools);
  reply.meta["suggestions"] = std::move(d.suggestions);
  reply.meta["handoff"] = d.handoff;
  d.context["last_intent"] = reply.meta.value("intent", "faq");
  reply.context = std::move(d.context);
  return reply;
}

}  // namespace kefu::dialogue
