#include "dialogue/human_request.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

#include "common/utf8.h"
#include "text/spelling.h"

namespace kefu::dialogue {

namespace {

// Traditional → simplified for the characters of the lexicons below.
constexpr std::pair<char32_t, char32_t> kTraditional[] = {
    {U'轉', U'转'}, {U'經', U'经'}, {U'騙', U'骗'}, {U'訴', U'诉'}, {U'錢', U'钱'}, {U'據', U'据'}, {U'帶', U'带'},
    {U'讓', U'让'}, {U'們', U'们'}, {U'個', U'个'}, {U'來', U'来'}, {U'說', U'说'}, {U'話', U'话'}, {U'麼', U'么'},
    {U'沒', U'没'}, {U'嗎', U'吗'}, {U'圾', U'圾'}, {U'黑', U'黑'}, {U'評', U'评'}, {U'媽', U'妈'}, {U'導', U'导'},
    {U'負', U'负'}, {U'責', U'责'}, {U'務', U'务'}, {U'接', U'接'}, {U'處', U'处'}, {U'理', U'理'}, {U'詐', U'诈'},
    {U'報', U'报'}, {U'警', U'警'}, {U'機', U'机'}, {U'器', U'器'}, {U'聽', U'听'}, {U'懂', U'懂'}, {U'問', U'问'},
    {U'題', U'题'}, {U'還', U'还'}, {U'發', U'发'}, {U'貨', U'货'}, {U'爛', U'烂'}, {U'壞', U'坏'}, {U'氣', U'气'},
    {U'員', U'员'}, {U'線', U'线'}, {U'對', U'对'}, {U'應', U'应'}, {U'無', U'无'}, {U'語', U'语'}, {U'舉', U'举'},
    {U'協', U'协'}, {U'會', U'会'}, {U'訟', U'讼'}, {U'識', U'识'}, {U'誰', U'谁'}, {U'時', U'时'}, {U'幾', U'几'},
    {U'點', U'点'}, {U'週', U'周'}, {U'閉', U'闭'},
};

bool IsCjk(char32_t c) {
  return (c >= 0x3400 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF);
}

template <typename Words>
const std::string_view* FindAny(const std::string& text, const Words& words) {
  for (const auto& w : words)
    if (text.find(w) != std::string::npos) return &w;
  return nullptr;
}

// Asking for a person, in the ways customers write it.
constexpr std::string_view kHumanWords[] = {
    // Calls for the service staff by other names, and for a call back.
    // (Not 小二 alone: "小二 包邮不" addresses the service and asks a question.)
    "找个小二", "找小二", "叫小二", "叫个小二", "小二来", "小二出来", "小姐姐来", "客服小姐姐", "客服小哥", "工作人员", "换客服", "换个客服", "不跟机器", "不和机器",
    "不要跟机器", "打电话给我", "给我打电话", "给我打个电话", "电话联系我", "回个电话", "回电话给我", "来个电话",
    "找能解决", "转人工", "人工客服", "人工服务", "找人工", "接人工", "要人工", "转接人工", "人工坐席", "给我滚",
    "叫人来", "真人", "真的客服", "真正的客服", "机器回的", "活人", "找个人", "来个人", "换个人", "叫个人", "有人吗", "有没有人", "人呢", "人在吗", "叫经理",
    "找经理", "叫你们经理", "找你们经理", "你们经理", "叫主管", "找主管", "你们主管", "叫领导", "找领导", "你们领导",
    "负责人", "找客服", "客服呢", "转客服", "人工", "不要机器人", "别用机器人", "跟人说", "和人说", "跟人聊",
    "找个客服", "你是机器人吗", "是不是机器人", "跟机器人", "和机器人", "机器人听不懂", "别自动回复", "不要自动回复",
    "我要人", "谁负责", "真仁", "人公客服", "转人公", "小二呢", "店长", "管事的", "出来说话", "老板出来",
    "不想跟机器", "不想和机器", "跟机器说", "和机器说", "直接找人", "能找人吗", "找个真的",
    // Transfers, people who can talk, no more AI or robot replies, staff gone home.
    "转接客服", "转接一下", "能不能转接", "可以转接", "帮我转接", "转接给", "接通人工", "接个人工", "能说话的人",
    "说人话的", "不想跟ai", "不要ai", "不跟ai", "你是ai", "是不是ai", "别用ai", "机器人回复", "一直是机器人",
    "老是机器人", "都是机器人", "别让机器人", "不想跟机器人", "客服是不是下班", "客服下班了", "人都下班",
    // A specialist to follow it up, someone who can decide, no more canned replies.
    "专员", "专人", "做主", "自动回复", "模板话", "模板回复", "套话",
    // A call back asked for in other words ("能让客服打个电话给我吗").
    "打个电话给我", "打个电话过来", "回个电话给我", "给我回电", "回电给我", "打电话过来",
    // A service person asked for by name ("能不能叫个客服跟我说话").
    "叫个客服", "叫客服", "来个客服", "客服跟我说", "跟客服说话"};

// Pinyin initials or pinyin for 人工 / 转人工 / 人工客服, as a whole message ("rg", "zrg").
bool HumanByPinyin(const std::string& t) {
  std::string letters;
  for (char c : t) {
    if (std::isalpha(static_cast<unsigned char>(c))) letters += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    else if (c != ' ' && c != '!' && c != '?' && c != '.' && c != ',') return false;
  }
  for (std::string_view w : {"rg", "zrg", "rgkf", "zrgkf", "rengong", "zhuanrengong", "rengongkefu", "zhuanrengongkefu",
                             "kf"})
    // Once or repeated ("kf kf kf").
    if (!letters.empty() && letters.size() % w.size() == 0) {
      bool all = true;
      for (size_t i = 0; i < letters.size() && all; i += w.size()) all = letters.compare(i, w.size(), w) == 0;
      if (all) return true;
    }
  return false;
}

// "人工客服几点上班" asks about the service, not for it.
constexpr std::string_view kAboutService[] = {"几点上班", "几点下班",   "上班时间",     "工作时间", "服务时间",
                                              "几点开始", "几点到几点", "什么时候上班", "电话多少", "电话是多少",
                                              "热线",     "客服电话",   "人工费",       "人工成本", "人工电话"};

constexpr std::string_view kHumanEnglish[] = {"customer service staff",
                                              "staff member",
                                              "a staff",
                                              "connect me",
                                              "put me through",
                                              "transfer me",
                                              "someone who can",
                                              "get me someone",
                                              "call me",
                                              "phone me",
                                              "give me a call",
                                              "human",
                                              "humans",
                                              "real person",
                                              "live person",
                                              "someone real",
                                              "anyone real",
                                              "anybody real",
                                              "not helping",
                                              "isn't helping",
                                              "not helpful",
                                              "no help at all",
                                              "an agent",
                                              "agent please",
                                              "talk to someone",
                                              "speak to someone",
                                              "speak with someone",
                                              "talk to somebody",
                                              "speak to somebody",
                                              "representative",
                                              "operator",
                                              "supervisor",
                                              "manager",
                                              "real agent",
                                              "customer service agent",
                                              "live agent",
                                              "live chat",
                                              "talk to a person",
                                              "speak to a person",
                                              "not a bot",
                                              "your boss",
                                              "from a person",
                                              "with a person",
                                              "a human being",
                                              "live support",
                                              "live help",
                                              "human support",
                                              "real support",
                                              "escalate",
                                              "transfer me",
                                              "be transferred",
                                              "transfer to",
                                              "connect me to",
                                              "connect me with",
                                              "speak with customer service",
                                              "talk to customer service",
                                              "speak to customer service",
                                              "chat with customer service",
                                              "speak with support",
                                              "talk to support",
                                              "anyone there",
                                              "anybody there",
                                              "anyone here",
                                              "someone there",
                                              "anyone?",
                                              "anybody?",
                                              "is anyone",
                                              "is anybody"};

// Abuse and fury: a human handles these (complaints queue).
constexpr std::string_view kAbuse[] = {
    // Contempt for the service, legal threats, masked swearing.
    "一问三不知", "要你有啥用", "要你何用", "要你们何用", "有啥用啊", "啥玩意", "什么玩意", "死人吗", "是死人", "死光", "死绝", "死哪去",
    "吃官司", "打官司", "律师", "法院", "fxxk", "f**k", "f***", "f*ck", "sh*t", "sh!t", "卧草", "骗子", "骗人", "诈骗", "骗钱", "垃圾", "差评", "tmd",
    "他妈", "他娘", "妈的", "尼玛", "你妈", "卧槽", "我靠", "艹", "草泥马", "傻逼", "sb客服", "煞笔", "脑残", "滚蛋",
    "去死", "坑人", "坑爹", "黑店", "无良", "奸商", "气死", "烂透", "什么破", "破平台", "破店", "退钱!", "还钱!",
    "赔钱", "忍无可忍", "太恶心", "恶心死", "服了你们", "废物", "别跟我扯", "少废话", "别废话", "废话少说",
    // Complaints to the authorities (the complaint rule's words, after folding traditional forms).
    "投诉", "12315", "消协", "消基会", "消保", "曝光", "举报", "起诉", "报警", "工商局",
    // Fury and disgust at the shop, demands made at once.
    "太坑", "被坑", "坑货", "生气", "火大", "受够了", "太过分", "过分了", "差劲", "离谱", "什么鬼", "搞什么",
    "什么服务", "恶心", "无语", "失望", "很不满意", "非常不满意", "太不满意", "极度不满", "马上退钱", "退钱马上",
    "赶紧退钱", "立刻退钱", "马上给我退", "赶紧给我退",
    // Fed up ("烦死了", "服务也太烂了吧").
    "烦死", "烦人", "真烦", "好烦", "太烂", "真烂", "好烂", "烂死",
    // Contempt for the bot or the service, threats to go public.
    "摆设", "智障", "弱智", "白痴", "笨蛋", "屁用", "狗屁", "形同虚设", "鸡同鸭讲", "发微博", "发抖音", "发小红书",
    "找媒体", "找记者", "给一星", "打一星", "个毛线", "mmp", "服务太差", "态度太差", "太差劲", "service太差",
    // Masked swearing, wishing the shop gone, shutting the bot up.
    "傻x", "傻b", "傻叉", "煞笔", "坑消费者", "坑顾客", "倒闭", "关门吧", "闭嘴", "你们真行", "真有你们的",
    // Accusing the shop of keeping the money.
    "吞了我的钱", "吞我的钱", "想吞", "吞钱", "黑我的钱", "黑了我的钱", "昧了我的钱"};

// English anger, contempt and threats; matched as whole words with their
// inflections ("scammers", "cheated", "lying" is listed: no rule makes it).
constexpr std::string_view kAbuseEnglish[] = {
    "complain", "complaint", "lawyer", "attorney", "lawsuit", "legal action", "sue", "police", "scam", "fraud",
    "rip-off", "ripoff", "rip off", "wtf", "fk", "fck", "fuk", "stfu", "sucks", "unhelpful", "fuck", "shit", "useless", "worst", "ridiculous", "disgusting", "pathetic",
    "unacceptable", "terrible service", "con artist", "report you", "consumer association", "file a complaint",
    // Threats of a chargeback or a public review.
    "chargeback", "charge back", "dispute the charge", "1 star", "one star", "1-star", "bad review", "negative review",
    "better business bureau", "bbb", "never shop", "never buy", "never order", "never again",
    // Insults and fury.
    "thief", "thieves", "steal", "stole", "robbed", "liar", "lying", "cheat", "idiot", "stupid", "dumb", "moron",
    "clown", "incompetent", "horrible", "awful", "furious", "pissed", "fed up", "sick of", "had enough", "bullshit",
    "crap", "damn", "screw you", "shut up", "what the hell", "kidding me", "a joke", "waste of time", "wasting my time",
    "unbelievable", "outrageous", "disgrace", "shame on you", "angry", "rude", "upset", "disappointed", "frustrated",
    "annoyed", "unhappy", "not happy", "terrible experience", "horrible experience", "bad experience",
    "awful experience", "pointless", "worthless", "garbage", "hopeless", "joke of a", "what a joke",
    "thanks for nothing", "reporting you", "reported you"};

// Words written in capitals that are names, not shouting.
constexpr std::string_view kAcronyms[] = {
    "USB", "SMS",    "APP",  "VIP", "DHL",  "UPS", "EMS",  "ZTO", "YTO", "STO", "SKU", "CEO",  "USD",
    "RMB", "CNY",    "GPS",  "PDF", "FAQ",  "OTP", "PIN",  "ETA", "COD", "DOA", "LED", "HDMI", "SPF",
    "JD",  "SF",     "XL",   "XXL", "XXXL", "NFC", "OLED", "LCD", "SSD", "RAM", "GB",  "TB",   "MAX",
    "PRO", "IPHONE", "IPAD", "AAA", "WIFI", "TV",  "DIY",  "ID",  "OK",  "PS",  "FYI", "BTW",  "ASAP",
    "AM",  "PM",     "UK",   "US",  "USA",  "EU",  "HK",   "NO",  "TCL", "DJI", "HLA", "AC"};

constexpr std::string_view kAngryEmoji[] = {"😡", "🤬", "💢", "👿", "😤", "🖕"};

// Thanks and praise with "!!!" are not anger.
constexpr std::string_view kPositive[] = {"谢谢", "感谢",  "多谢",  "太好了", "好评",    "棒",
                                          "赞",   "thank", "great", "love",   "awesome", "nice"};

// The customer says they are going round in circles.
// The customer says they are going round in circles.
constexpr std::string_view kStuck[] = {
    "听不懂是吧", "你听不懂",   "听不明白",     "说不清楚",   "说了三遍",   "说了好几遍", "说了多少遍",
    "问了三遍",   "问了好几遍", "问了几遍",     "问了多少遍", "第三次问",   "第三遍",     "你倒是说啊",
    "答非所问",   "没用的回答", "还是不行",     "还是没用",   "还是登不上", "到底咋整",   "到底怎么办",
    "听不懂人话", "说了半天",   "问了半天",     "跟你说不通", "车轱辘话",   "复读机",     "又是这句",
    "还是这句",   "直接告诉我", "你能不能直接", "没人管",     "没人理",     "没人处理",   "没人回"};

constexpr std::string_view kStuckEnglish[] = {"not answering",
                                              "keep dodging",
                                              "dodging",
                                              "yes or no",
                                              "straight answer",
                                              "not listening",
                                              "don't understand me",
                                              "doesn't understand",
                                              "third time",
                                              "i already asked",
                                              "asked three times",
                                              "asked you twice",
                                              "you're not helping",
                                              "youre not helping",
                                              "not helpful",
                                              "no help",
                                              "repeating yourself",
                                              "repeat yourself",
                                              "same answer",
                                              "keep saying",
                                              "already said",
                                              "already told you",
                                              "told you already",
                                              "not what i asked",
                                              "didn't answer",
                                              "didnt answer",
                                              "did not answer",
                                              "useless bot",
                                              "stupid bot",
                                              "are you a bot",
                                              "are you a robot",
                                              "is this a bot",
                                              "talking to a bot",
                                              "going in circles",
                                              "round in circles",
                                              "again and again",
                                              "nobody helps",
                                              "nobody is helping",
                                              "no one helps",
                                              "no one is helping",
                                              "nobody is answering",
                                              "no one is answering",
                                              "no one answers",
                                              "canned",
                                              "template",
                                              "scripted",
                                              "automated answer",
                                              "automated response",
                                              "automated reply",
                                              "copy paste",
                                              "copy-paste",
                                              "bot answers"};

bool EnglishWord(const std::string& text, std::string_view w) {
  // Whole words for the short English cues ("agent" not "agents' fee"? keep simple: letters around = no).
  size_t pos = 0;
  while ((pos = text.find(w, pos)) != std::string::npos) {
    bool left = pos == 0 || !std::isalpha(static_cast<unsigned char>(text[pos - 1]));
    size_t end = pos + w.size();
    bool right = end >= text.size() || !std::isalpha(static_cast<unsigned char>(text[end]));
    if (left && right) return true;
    pos = end;
  }
  return false;
}

// Whole words with their inflections: "scam" in "scammers", "cheat" in
// "cheated"; the remainder after the cue must be one of these (after a
// doubled last letter, too: "scam" + "m" + "ers").
bool EnglishWordInflected(const std::string& text, std::string_view w) {
  static constexpr std::string_view kSuffixes[] = {"", "s", "es", "ed", "d", "er", "ers", "ing", "y", "ly", "ulent"};
  size_t pos = 0;
  while ((pos = text.find(w, pos)) != std::string::npos) {
    const bool left = pos == 0 || !std::isalpha(static_cast<unsigned char>(text[pos - 1]));
    size_t end = pos + w.size();
    size_t stop = end;
    while (stop < text.size() && std::isalpha(static_cast<unsigned char>(text[stop]))) ++stop;
    std::string_view rest(text.data() + end, stop - end);
    bool ok = std::find(std::begin(kSuffixes), std::end(kSuffixes), rest) != std::end(kSuffixes);
    if (!ok && !rest.empty() && rest[0] == w.back())
      ok = rest.size() > 1 &&
           std::find(std::begin(kSuffixes), std::end(kSuffixes), rest.substr(1)) != std::end(kSuffixes);
    if (left && ok) return true;
    pos = end;
  }
  return false;
}

// Shouting: two words in capitals (not names such as "SF" or "USB"), or one
// of the words customers shout ("NOW", "STILL", "NEVER").
bool Shouts(std::string_view raw) {
  int caps = 0;
  bool loud_word = false;
  size_t i = 0;
  while (i < raw.size()) {
    if (!std::isalpha(static_cast<unsigned char>(raw[i]))) {
      ++i;
      continue;
    }
    size_t j = i;
    bool upper = true;
    while (j < raw.size() && std::isalpha(static_cast<unsigned char>(raw[j]))) {
      upper &= std::isupper(static_cast<unsigned char>(raw[j])) != 0;
      ++j;
    }
    std::string_view w = raw.substr(i, j - i);
    if (upper && w.size() >= 3 && std::find(std::begin(kAcronyms), std::end(kAcronyms), w) == std::end(kAcronyms)) {
      ++caps;
      for (std::string_view loud : {"NOW", "STILL", "NEVER", "WHY", "WHERE", "STOP", "NOTHING", "ANYONE", "HELLO",
                                    "SERIOUSLY", "REFUND", "MONEY", "TODAY", "ASAP"})
        loud_word |= w == loud;
    }
    i = j;
  }
  return caps >= 2 || loud_word;
}

// "要人", "换人", "来人": a bare 人 after a verb of asking, at the end of a
// clause ("找人代付" asks about paying, not for a person); "客服客服！", "客服呢".
bool HumanByPattern(const std::string& t) {
  std::u32string s;
  for (char32_t c : utf8::Decode(t)) s.push_back(c);
  for (size_t i = 1; i < s.size(); ++i) {
    if (s[i] != U'人') continue;
    const char32_t v = s[i - 1];
    if (v != U'要' && v != U'换' && v != U'来' && v != U'找' && v != U'叫' && v != U'让') continue;
    const bool clause_end = i + 1 == s.size() || !IsCjk(s[i + 1]) || s[i + 1] == U'啊' || s[i + 1] == U'吧' ||
                            s[i + 1] == U'呀' || s[i + 1] == U'呢' || s[i + 1] == U'来';
    if (clause_end) return true;
  }
  // "客服客服！", "在吗在吗在吗", "hello? hello? hello?": calling again and again
  // (in 在吗在吗 twice, a greeting said with some hurry, not yet).
  for (std::string_view call : {"客服", "在吗", "在不在", "hello?", "hello ?"}) {
    size_t count = 0;
    for (size_t at = t.find(call); at != std::string::npos; at = t.find(call, at + 1)) ++count;
    if (count >= (call == "客服" ? 2u : 3u)) return true;
  }
  return false;
}

// "what hours are your live agents available", "what time do the human agents
// start": about the service, not for it. (Only hours and numbers: "when is a
// real person going to answer" does ask for one.)
bool AboutServiceEnglish(const std::string& t) {
  for (std::string_view w : {"hours", "what time", "opening", "open until", "work until", "start work", "start in the",
                             "phone number", "hotline", "email address", "agent fee", "agents fee", "clock out",
                             "clock in", "go home", "off work", "off duty", "on duty", "on weekends", "at weekends",
                             "on sundays", "on saturdays", "on holidays", "around at", "available at", "work at night",
                             "work late", "after 9", "after 10", "after 8", "at night", "how early", "how late",
                             "earliest", "latest i can"})
    if (t.find(w) != std::string::npos) return true;
  return false;
}

// English requests for a person in words no list foresees: a verb of
// reaching someone a few words before a noun for staff ("can i just talk to an
// actual person", "get me a customer service rep"), or a qualifier right before
// one ("a real human being", "live rep?"). Not a delivery or repair person.
// "你们真人客服周末上不上班", "晚上十点还有人工吗": a time and whether someone
// is on duty then asks about the service's hours, not for a person now
// ("现在有人工吗" does ask for one).
bool AboutServiceHours(const std::string& t) {
  static constexpr std::string_view kWhen[] = {"周末", "周六",   "周日",   "星期", "礼拜",     "节假日", "假期", "过年",
                                               "春节", "国庆",   "五一",   "晚上", "半夜",     "凌晨",   "早上", "中午",
                                               "几点", "点以后", "点之后", "点后", "什么时候", "哪天",   "每天"};
  static constexpr std::string_view kOnDuty[] = {"上班",     "上不上班", "在线",   "值班",   "营业",     "有人吗",
                                                 "有没有人", "人工吗",   "客服吗", "在吗",   "在不在",   "休息",
                                                 "放假",     "有人工",   "有客服", "没人工", "没有人工", "没客服", "有人在",
                                                 "真人客服", "没有真人", "没真人",   "有真人", "找到人工", "找得到人工",
                                                 "能找人工"};
  // "人工客服下班了没", "你们客服几点下班": whether they have gone home, even "现在".
  static constexpr std::string_view kOffDuty[] = {"下班了没", "下班了吗", "下班没", "下班了么", "几点下班", "下班了嘛",
                                                  "还上班吗", "还在上班", "上班了没", "上班了吗", "上班没"};
  if (FindAny(t, kOffDuty) != nullptr) return true;
  // "现在半夜还能找到人工吗 还是要等明早": the customer weighs waiting, so asks about the hours.
  const bool weighs_waiting = t.find("还是要等") != std::string::npos || t.find("还是得等") != std::string::npos ||
                              t.find("要等到") != std::string::npos;
  if (!weighs_waiting && (t.find("现在") != std::string::npos || t.find("马上") != std::string::npos)) return false;
  return FindAny(t, kWhen) != nullptr && FindAny(t, kOnDuty) != nullptr;
}

// "哈喽 有人吗", "你好 在吗 有人吗?": a greeting that opens a chat, asking
// whether anyone is there to hear the question still to come. The bot answers
// it as it answers 你好; bare "有人吗" and "人呢？？" still ask for a person.
bool GreetingOpener(const std::string& t) {
  std::string rest;
  int marks = 0;
  for (char32_t c : utf8::Decode(t)) {
    if (c == U'?' || c == U'？' || c == U'!' || c == U'！') ++marks;
    else if (c != U' ' && c != U'，' && c != U',' && c != U'。' && c != U'~' && c != U'～') utf8::Append(rest, c);
  }
  if (marks > 1) return false;
  bool greeted = false;
  for (bool cut = true; cut && !rest.empty();) {
    cut = false;
    for (std::string_view g : {"你好", "您好", "哈喽", "哈啰", "哈囉", "哈罗", "嗨", "hello", "hi", "hey", "亲", "在吗",
                               "在嗎", "在不在",
                               "早上好", "下午好", "晚上好", "打扰了", "打扰一下", "请问"}) {
      if (rest.rfind(g, 0) == 0) {
        rest.erase(0, g.size());
        greeted |= g != "请问" && g != "在吗" && g != "在不在";
        cut = true;
      }
    }
  }
  if (!greeted) return false;
  for (std::string_view q : {"有人吗", "有人在吗", "有人在么", "有人么", "有人没", "有没有人在", "有人嗎", "有人在嗎"})
    if (rest == q) return true;
  return false;
}

// "说是你们的客服 让我下个会议软件", "有人发短信让我交会员费 是你们发的吗",
// "someone called claiming to be your support": a report of someone posing as
// the shop. Its fraud words (骗钱, 赔钱, scam) describe the caller, not the
// shop, so they are no abuse; the knowledge base answers how to tell.
bool ReportsImpostor(const std::string& t) {
  static constexpr std::string_view kZh[] = {"说是你们",     "说是你家",       "说是客服",   "说是官方",
                                             "自称",         "冒充",           "假冒",       "假客服",
                                             "是你们发的",   "是你们打的",     "是你们的人", "是不是你们的",
                                             "是你们客服吗", "是你们的客服吗", "是你们官方", "是不是官方"};
  static constexpr std::string_view kEn[] = {
      "claiming to be",      "claimed to be",      "claims to be",          "pretending to be", "pretended to be",
      "said they were from", "says they are from", "saying they were from", "said he was from", "said she was from",
      "really from you",     "really you",         "is this legit",         "was that legit"};
  return FindAny(t, kZh) != nullptr || FindAny(t, kEn) != nullptr;
}

// An abuse word that is no abuse where it stands: 妈的 in 我妈的卡 / 老妈的,
// and the fraud words of a report of an impostor.
bool BenignAbuse(const std::string& t, size_t at, std::string_view w, bool impostor) {
  if (w == "妈的" && at >= 3) {
    const std::string_view before(t.data() + at - 3, 3);
    for (std::string_view kin : {"我", "她", "咱", "俺", "老", "姨", "姑", "舅", "婆", "娘"})
      if (before == kin) return true;
  }
  // "投诉渠道有哪些", "你们投诉一般走什么渠道": a calm question about how to
  // complain, which the knowledge base answers (kb-contact-03), not a complaint.
  if (w == "投诉") {
    for (std::string_view how : {"投诉渠道", "什么渠道", "哪些渠道", "啥渠道", "投诉途径", "什么途径", "投诉方式",
                                 "投诉电话", "投诉邮箱", "投诉热线", "去哪投诉", "在哪投诉", "哪里投诉", "哪儿投诉",
                                 "怎么投诉", "如何投诉", "投诉流程", "投诉多久", "投诉的话", "投诉的途径", "投诉的渠道",
                                 "投诉的方式", "投诉的电话", "投诉的流程", "投诉入口", "投诉的入口", "哪些途径", "啥途径"})
      if (t.find(how) != std::string::npos) return true;
  }
  if (impostor) {
    // ... unless said of the shop itself ("你们这帮骗子").
    const std::string_view before(t.data() + (at >= 12 ? at - 12 : 0), at >= 12 ? 12 : at);
    if (before.find("你们") != std::string_view::npos || before.find("你家") != std::string_view::npos) return false;
    for (std::string_view fraud : {"骗子", "骗人", "诈骗", "骗钱", "赔钱", "报警"})
      if (w == fraud) return true;
  }
  return false;
}

const std::string_view* FindAbuse(const std::string& t) {
  const bool impostor = ReportsImpostor(t);
  for (const auto& w : kAbuse)
    for (size_t at = t.find(w); at != std::string::npos; at = t.find(w, at + 1))
      if (!BenignAbuse(t, at, w, impostor)) return &w;
  return nullptr;
}

// "叫个懂行的人来跟我说", "找个专业点的人", "换个靠谱的人来": a person of some
// kind called for, the words in between describing them.
const std::string_view* HumanByModifiedPerson(const std::string& t) {
  static constexpr std::string_view kCue = "懂行的人";  // what the reading reports as its cue
  const std::vector<char32_t> cps = utf8::Decode(t);
  for (size_t i = 0; i < cps.size(); ++i) {
    if (cps[i] != U'人') continue;
    if (i + 1 < cps.size()) {
      const char32_t next = cps[i + 1];
      if (next == U'工' || next == U'家' || next == U'员' || next == U'民' || next == U'们' || next == U'气' ||
          next == U'数' || next == U'口' || next == U'物' || next == U'群')
        continue;
    }
    if (i == 0 || cps[i - 1] != U'的') continue;  // "找个人" is kHumanWords'; here 的 joins the description
    for (size_t back = 2; back <= 8 && back <= i; ++back) {
      const size_t at = i - back;
      if (cps[at] != U'个' || at == 0) continue;
      const char32_t verb = cps[at - 1] == U'一' && at >= 2 ? cps[at - 2] : cps[at - 1];
      if (verb == U'叫' || verb == U'找' || verb == U'换' || verb == U'来' || verb == U'派') return &kCue;
    }
  }
  return nullptr;
}

// A word of kHumanWords that asks for a person: "人呢" of a new customer's
// offer ("那新人呢", "老人呢") asks about that offer, not where the staff are.
const std::string_view* FindHumanWord(const std::string& t) {
  for (const auto& w : kHumanWords) {
    for (size_t at = t.find(w); at != std::string::npos; at = t.find(w, at + 1)) {
      if (w == "人呢" && at >= 3) {
        const std::vector<char32_t> before = utf8::Decode(std::string_view(t).substr(at - 3, 3));
        // (新人, 老人, 家人, 别人, 客人, 收件人 ...: a word of its own.)
        static constexpr std::u32string_view kNounsWithRen = U"新老家别客熟男女病外本成件友亲主证夫艺";
        if (before.size() == 1 && kNounsWithRen.find(before[0]) != std::u32string_view::npos) continue;
      }
      // "派送中一整天了 人呢": the courier who has not come, not the shop's staff.
      if (w == "人呢") {
        bool courier = false;
        for (std::string_view d : {"派送", "派件", "配送", "送货", "快递员", "快递小哥", "快递哥", "外卖"})
          courier |= t.find(d) != std::string::npos;
        if (courier) continue;
      }
      return &w;
    }
  }
  return HumanByModifiedPerson(t);
}

bool HumanByPatternEnglish(const std::string& t) {
  static constexpr std::string_view kStaff[] = {
      "person",    "persons",    "human",       "humans",    "rep",      "reps",    "representative", "representatives",
      "agent",     "agents",     "operator",    "operators", "staff",    "staffer", "employee",       "employees",
      "associate", "supervisor", "supervisors", "manager",   "managers", "boss",    "advisor",        "adviser",
      "specialist"};
  static constexpr std::string_view kAnyone[] = {"someone", "somebody", "anyone", "anybody"};
  static constexpr std::string_view kReach[] = {"talk",    "speak", "chat", "connect", "transfer", "reach",
                                                "contact", "get",   "want", "need",    "put",      "see"};
  static constexpr std::string_view kSpeak[] = {"talk", "speak", "chat", "connect", "transfer", "reach"};
  static constexpr std::string_view kReal[] = {"real", "actual", "live", "proper", "flesh"};
  static constexpr std::string_view kOtherTrades[] = {"delivery", "repair", "installation", "install",  "courier",
                                                      "mail",     "sales",  "salesperson",  "shipping", "travel"};
  std::vector<std::string_view> words;
  for (size_t i = 0; i < t.size();) {
    if (!std::isalpha(static_cast<unsigned char>(t[i]))) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < t.size() && std::isalpha(static_cast<unsigned char>(t[j]))) ++j;
    words.emplace_back(t.data() + i, j - i);
    i = j;
  }
  auto in = [](std::string_view w, const auto& list) {
    return std::find(std::begin(list), std::end(list), w) != std::end(list);
  };
  for (size_t i = 0; i < words.size(); ++i) {
    const bool staff = in(words[i], kStaff) && !(i > 0 && in(words[i - 1], kOtherTrades));
    const bool anyone = in(words[i], kAnyone);
    if (!staff && !anyone) continue;
    for (size_t back = 1; back <= 7 && back <= i; ++back) {  // "speak with a member of your staff"
      const std::string_view v = words[i - back];
      if (staff && (in(v, kReach) || (back <= 2 && in(v, kReal)))) return true;
      if (anyone && in(v, kSpeak)) return true;
    }
  }
  return false;
}

}  // namespace

std::string FoldForHumanNeed(std::string_view text) {
  std::string valid = utf8::IsValid(text) ? std::string(text) : utf8::Sanitize(text);
  std::vector<char32_t> cps = utf8::Decode(valid);
  std::string out;
  out.reserve(valid.size());
  for (size_t i = 0; i < cps.size(); ++i) {
    char32_t c = cps[i];
    if (c >= 0xFF01 && c <= 0xFF5E) c -= 0xFEE0;  // full-width ASCII
    if (c == 0x3000) c = ' ';
    if (c == U'？') c = '?';
    if (c < 128) c = static_cast<char32_t>(std::tolower(static_cast<int>(c)));
    for (const auto& [t, s] : kTraditional)
      if (c == t) c = s;
    // Drop spaces and zero-width characters between Chinese characters ("人 工").
    if (c == ' ' || c == 0x200B || c == 0x200C || c == 0x200D || c == 0xFEFF) {
      bool cjk_left = i > 0 && IsCjk(cps[i - 1]);
      bool cjk_right = i + 1 < cps.size() && IsCjk(cps[i + 1]);
      if (c != ' ' || (cjk_left && cjk_right)) continue;
    }
    utf8::Append(out, c);
  }
  // Cantonese and chat slang as Mandarin ("叫你哋經理出嚟" → 叫你们经理出来).
  return text::FoldSlang(out);
}

// 草 as an oath opening the message ("草 买个东西这么费劲", "草！又没到"), not the plant
// ("草莓", "草本"). Read before folding, which joins "草 买" into one run.
static bool OpensWithOath(std::string_view raw) {
  const std::string_view t = utf8::Trim(raw);
  static constexpr std::string_view kOath = "草";
  if (!t.starts_with(kOath)) return false;
  const std::string_view rest = t.substr(kOath.size());
  for (std::string_view after : {" ", "　", "，", ",", "！", "!", "。", "了", "啊", "…"})
    if (rest.empty() || rest.starts_with(after)) return true;
  return false;
}

static HumanNeed DetectHumanNeedUncached(std::string_view raw) {
  HumanNeed n;
  const std::string t = FoldForHumanNeed(raw);
  if (OpensWithOath(raw)) {
    n.abusive = true;
    n.cue = "草";
  } else if (auto* w = FindAbuse(t)) {
    n.abusive = true;
    n.cue = std::string(*w);
  } else if (auto* e = FindAny(t, kAngryEmoji)) {
    n.abusive = true;
    n.cue = std::string(*e);
  } else {
    const bool impostor = ReportsImpostor(t);
    for (auto w : kAbuseEnglish)
      if (EnglishWordInflected(t, w) &&
          !(impostor && (w == "scam" || w == "fraud" || w == "police" || w == "con artist" || w == "steal" ||
                         w == "cheat" || w == "liar" || w == "lying"))) {
        n.abusive = true;
        n.cue = std::string(w);
        break;
      }
  }
  if (!n.abusive) {
    // Three or more ! (or ?! mixes) in a row, not in thanks or praise.
    int run = 0, best = 0;
    for (char c : t) {
      run = (c == '!' || (run > 0 && c == '?')) ? run + 1 : 0;
      best = std::max(best, run);
    }
    if (best >= 3 && !FindAny(t, kPositive)) {
      n.abusive = true;
      n.cue = "!!!";
    }
  }
  // Sarcasm: an eye roll on praise ("wow great service 🙄", "你们真棒🙄").
  if (!n.abusive && t.find("🙄") != std::string::npos) {
    for (std::string_view praise : {"great", "wow", "amazing", "brilliant", "lovely", "fantastic", "真棒", "真好", "厉害",
                                    "呵呵", "真快", "效率", "够可以", "真可以", "服务"})
      if (t.find(praise) != std::string::npos) {
        n.abusive = true;
        n.cue = "🙄";
        break;
      }
  }
  // Sarcasm: praise for the service next to its failure ("wow great service 👏
  // three weeks and still nothing", "你们这效率真是绝了 等到明年吧"), or 呵呵 on a
  // complaint ("你们快递是走路送的吗 呵呵").
  if (!n.abusive) {
    static constexpr std::string_view kPraise[] = {"great service", "amazing", "wow", "brilliant", "fantastic",
                                                   "well done", "绝了", "真棒", "真行", "真快", "效率真高",
                                                   "真厉害", "佩服", "服务真好", "呵呵", "👏", "amazing service",
                                                   "真够可以", "够可以的", "真可以啊"};
    static constexpr std::string_view kFailure[] = {"still nothing", "still not", "still no ", "and nothing",
                                                    "and still", "days and", "十遍", "几遍", "好几遍", "同一句",
                                                    "同样的话",
                                                    "weeks", "a month", "还没", "还在", "等到", "明年", "走路",
                                                    "蜗牛", "一个月", "半个月", "几天了", "多少天", "没到", "没动"};
    static constexpr std::string_view kThanks[] = {"谢谢", "感谢", "多谢", "thank"};
    if (FindAny(t, kPraise) != nullptr && FindAny(t, kFailure) != nullptr && !FindAny(t, kThanks)) {
      n.abusive = true;
      n.cue = "sarcasm";
    }
  }
  if (!n.abusive && Shouts(raw)) {
    n.abusive = true;
    n.cue = "CAPITALS";
  }
  if (auto* w = FindAny(t, kStuck)) {
    // "提交的售后单一直没人理 正常要等多久": nobody has handled a request yet,
    // and the customer asks how long that usually takes, which the knowledge
    // base answers. (Said in anger, or without the question, it escalates.)
    const bool nobody = w->rfind("没人", 0) == 0;
    // ("售后单交了两天没人理 正常吗": whether such a wait is usual asks the same.)
    const bool asks_usual_wait =
        ((t.find("一般") != std::string::npos || t.find("正常") != std::string::npos ||
          t.find("通常") != std::string::npos) &&
         (t.find("多久") != std::string::npos || t.find("几天") != std::string::npos ||
          t.find("多长时间") != std::string::npos || t.find("几个小时") != std::string::npos)) ||
        t.find("正常吗") != std::string::npos || t.find("正常么") != std::string::npos ||
        t.find("正不正常") != std::string::npos;
    if (!(nobody && asks_usual_wait && !n.abusive)) {
      n.stuck = true;
      if (n.cue.empty()) n.cue = std::string(*w);
    }
  } else {
    for (auto w : kStuckEnglish)
      if (EnglishWord(t, w)) {
        n.stuck = true;
        if (n.cue.empty()) n.cue = std::string(w);
        break;
      }
  }
  // A report of an impostor: "打电话给我", "让我加他微信" are the caller's doing.
  const bool impostor_report = ReportsImpostor(t) && t.find("转人工") == std::string::npos &&
                               t.find("人工客服") == std::string::npos;
  if (FindAny(t, kAboutService) == nullptr && !AboutServiceHours(t) && !impostor_report && !GreetingOpener(t)) {
    if (HumanByPattern(t) || HumanByPinyin(t)) {
      n.asks_for_human = true;
      if (n.cue.empty()) n.cue = "person";
    } else if (HumanByPatternEnglish(t) && !AboutServiceEnglish(t)) {
      n.asks_for_human = true;
      if (n.cue.empty()) n.cue = "person";
    } else if (auto* w = FindHumanWord(t)) {
      n.asks_for_human = true;
      if (n.cue.empty()) n.cue = std::string(*w);
    } else if (!AboutServiceEnglish(t)) {
      for (auto w : kHumanEnglish)
        if (EnglishWord(t, w)) {
          n.asks_for_human = true;
          if (n.cue.empty()) n.cue = std::string(w);
          break;
        }
      if (!n.asks_for_human && EnglishWord(t, "agent")) {
        n.asks_for_human = true;
        if (n.cue.empty()) n.cue = "agent";
      }
    }
  }
  return n;
}

HumanNeed DetectHumanNeed(std::string_view raw) {
  // One turn reads the same words several times (routing, the bot's reading
  // of the turn, the need key's): this thread's last few readings are kept.
  // The reading depends on the text alone.
  struct Memo {
    std::string text;
    HumanNeed need;
    bool used = false;
  };
  thread_local std::array<Memo, 4> memo;
  thread_local size_t next = 0;
  for (const Memo& m : memo)
    if (m.used && m.text == raw) return m.need;
  Memo& m = memo[next++ % memo.size()];
  m.need = DetectHumanNeedUncached(raw);
  m.text.assign(raw);
  m.used = true;
  return m.need;
}

}  // namespace kefu::dialogue
