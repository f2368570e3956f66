#include "dialogue/order_mention.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <set>
#include <unordered_map>

#include "common/utf8.h"
#include "text/english.h"
#include "text/spelling.h"

namespace kefu::dialogue {

namespace {

bool IsHanIdeograph(char32_t c) { return c >= 0x3400 && c <= 0x9FFF; }

// Bigrams that say nothing about which product: order talk, pronouns, time.
const std::set<std::u32string>& GenericBigrams() {
  static const std::set<std::u32string> k = [] {
    std::set<std::u32string> s;
    for (const char* w : {"订单", "快递", "物流", "发货", "到哪", "时候", "什么", "签收", "退款", "包裹", "东西", "怎么",
                          "还没", "今天", "能到", "一个", "那个", "这个", "我的", "显示", "收到", "没有", "已经", "为什",
                          "么还", "啥时", "多久", "几天", "到了", "了吗", "送到", "派送", "取消", "退货", "换货", "钱退",
                          "单号", "那单", "这单", "到账", "发了", "买的", "下单", "付款", "客服", "你们", "我们", "能不",
                          "可以", "一下", "帮我", "查一", "查下", "请问", "现在", "哪里", "哪儿", "明天", "了没", "吗？"}) {
      auto d = utf8::Decode(w);
      s.insert(std::u32string(d.begin(), d.end()));
    }
    return s;
  }();
  return k;
}

struct StateCue {
  std::array<std::string_view, 24> words;
  std::array<std::string_view, 3> statuses;
};

// In order of precedence: the first cue found decides.
constexpr StateCue kStates[] = {
    {{"还没付款", "没付款", "未付款", "待付款", "没付钱", "还没付", "unpaid", "not paid"}, {"pending_payment", "", ""}},
    {{"已经发", "已发货", "发出来的", "发出的", "已发出", "寄出的", "already shipped", "has shipped", "寄出来的", "already on the way",
      "one on the way", "在路上的", "已经在路上"},
     {"shipped", "in_transit", "out_for_delivery"}},
    {{"还没发", "没发货", "未发货", "不发货", "啥时候发", "什么时候发", "not shipped", "ship", "not sent", "hasn't left"},
     {"paid", "", ""}},
    // Delivered, by the courier's word, and not found: "说放门口了 我回来啥也没看到",
    // "left at my door but it's not there".
    {{"签收", "没收到", "没拿到", "没送到家", "delivered", "never got", "didn't get", "not received", "signed for",
      "signed by", "放门口", "放在门口", "放快递柜", "放驿站", "放柜子", "啥也没看到", "什么也没看到", "没看到东西",
      "没看到包裹", "left at my door", "left at the door", "left outside", "not there", "wasn't there"},
     {"delivered", "", ""}},
    {{"退款", "退钱", "钱退", "到账", "refund", "退回来", "money back", ""}, {"refunding", "refunded", ""}},
    {{"取消", "cancel", "", "", "", "", "", ""}, {"cancelled", "", ""}},
    {{"正在派送", "派送中", "在派送", "out for delivery", "", "", "", ""}, {"out_for_delivery", "", ""}},
    {{"到哪", "派送", "送到", "能到", "到了吗", "物流", "where", "arriv", "送来", "能送", "", ""},
     {"in_transit", "shipped", "out_for_delivery"}},
};

// "白色", "黑色": a colour word.
bool IsColour(char32_t a, char32_t b) {
  if (b != U'色') return false;
  for (char32_t c : U"白黑红蓝灰粉绿黄紫棕金银")
    if (c && a == c) return true;
  return false;
}

// How strongly `text` names a product of `summary`: shared CJK bigrams that
// are not order talk, plus Latin words of 3+ letters (iphone, mate, dyson).
int ProductScore(const std::vector<char32_t>& text, const std::string& text_lower, const std::string& summary) {
  const std::string sum_lower = utf8::AsciiLower(summary);
  int score = 0;
  const auto& generic = GenericBigrams();
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (!IsHanIdeograph(text[i]) || !IsHanIdeograph(text[i + 1])) continue;
    // "鞋子", "裤子", "袜子": the noun is the first character (跑鞋, 牛仔裤).
    if ((text[i + 1] == U'子' || text[i + 1] == U'儿') && text[i] != U'样' && text[i] != U'单' && text[i] != U'那' &&
        text[i] != U'这' && text[i] != U'一' && text[i] != U'个' && text[i] != U'会' && text[i] != U'点') {
      std::string stem;
      utf8::Append(stem, text[i]);
      if (summary.find(stem) != std::string::npos) ++score;
    }
    std::u32string bg{text[i], text[i + 1]};
    if (generic.count(bg) || IsColour(text[i], text[i + 1])) continue;
    std::string b;
    utf8::Append(b, text[i]);
    utf8::Append(b, text[i + 1]);
    if (summary.find(b) != std::string::npos) ++score;
  }
  // A colour ("白色那双", "黑色的") tells apart orders of the goods named (or of
  // the goods under discussion); the spec says it in its own words (标准白, 黑色).
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (!IsColour(text[i], text[i + 1])) continue;
    std::string col;
    utf8::Append(col, text[i]);
    const size_t open = summary.find("（");  // the spec follows the item name
    if (open != std::string::npos && summary.find(col, open) != std::string::npos) ++score;
  }
  // Latin words and numbers, split where letters meet digits ("mate60" = mate + 60).
  for (size_t i = 0; i < text_lower.size();) {
    unsigned char c = static_cast<unsigned char>(text_lower[i]);
    if (!std::isalnum(c)) {
      ++i;
      continue;
    }
    const bool alpha = std::isalpha(c);
    size_t j = i;
    while (j < text_lower.size() && std::isalnum(static_cast<unsigned char>(text_lower[j])) &&
           bool(std::isalpha(static_cast<unsigned char>(text_lower[j]))) == alpha)
      ++j;
    std::string w = text_lower.substr(i, j - i);
    // An English colour: the spec's colour character ("the white ones" → 标准白).
    static constexpr std::pair<std::string_view, std::string_view> kColours[] = {
        {"white", "白"}, {"black", "黑"},  {"red", "红"},    {"blue", "蓝"},   {"navy", "蓝"},  {"grey", "灰"},
        {"gray", "灰"},  {"pink", "粉"},   {"green", "绿"},  {"yellow", "黄"}, {"purple", "紫"}, {"brown", "棕"},
        {"gold", "金"},  {"silver", "银"}, {"khaki", "卡其"}};
    for (const auto& [en, zh] : kColours)
      if (alpha && w == en) {
        const size_t open = summary.find("（");
        if (open != std::string::npos && summary.find(zh, open) != std::string::npos) ++score;
      }
    // A word of the item name starts with it ("iphone", "mate" of "mate60"):
    // "the one already on the way" does not name the iPhone.
    auto starts_a_word = [&](const std::string& word) {
      for (size_t at = sum_lower.find(word); at != std::string::npos; at = sum_lower.find(word, at + 1))
        if (at == 0 || !std::isalpha(static_cast<unsigned char>(sum_lower[at - 1]))) return true;
      return false;
    };
    if (alpha && w.size() >= 3 && w != "order" && w != "the" && w != "and" && w != "where" && starts_a_word(w))
      score += 2;
    else if (!alpha && w.size() >= 2 && sum_lower.find(w) != std::string::npos)
      score += 1;
    i = j;
  }
  return score;
}

// English names of the catalogue's kinds of goods, as the Chinese item names
// write them: an English customer's "headphones" is the order with 耳机.
constexpr std::pair<std::string_view, std::string_view> kEnglishGoods[] = {
    {"headphone", "耳机"}, {"earphone", "耳机"}, {"earbud", "耳机"}, {"laptop", "笔记本"}, {"notebook", "笔记本"},
    {"phone", "手机"}, {"washing machine", "洗衣机"}, {"washer", "洗衣机"}, {"fridge", "冰箱"},
    {"refrigerator", "冰箱"}, {"toothbrush", "牙刷"}, {"sunscreen", "防晒"}, {"sun cream", "防晒"},
    {"vacuum", "吸尘器"}, {"robot vacuum", "机器人"}, {"robot mop", "机器人"}, {"winter coat", "羽绒服"},
    {"puffer", "羽绒服"}, {"blender", "料理机"}, {"tablet", "平板"},
    {"down jacket", "羽绒服"}, {"jacket", "外套"}, {"fleece", "摇粒绒"}, {"shoe", "鞋"}, {"sneaker", "鞋"},
    {"camera", "相机"}, {"lipstick", "口红"}, {"face wash", "洗面奶"}, {"cleanser", "洗面奶"},
    {"face cream", "面霜"}, {"cream", "霜"}, {"serum", "精华"}, {"air conditioner", "空调"}, {"aircon", "空调"},
    {"rice cooker", "电饭煲"}, {"jeans", "牛仔裤"}, {"hoodie", "卫衣"}, {"sweatshirt", "卫衣"},
    {"arm sleeve", "冰袖"}, {"sleeves", "冰袖"}, {"powder", "散粉"}, {"watch", "手表"}, {"speaker", "音箱"},
    {"shirt", "衬衫"}, {"sweater", "毛衣"}, {"jumper", "毛衣"}, {"cardigan", "开衫"}, {"dress", "裙"}, {"skirt", "裙"},
    {"pants", "裤"}, {"trousers", "裤"}, {"t-shirt", "t恤"}, {"tshirt", "t恤"}, {"socks", "袜"}, {"boots", "靴"},
    {"tv", "电视"}, {"television", "电视"}, {"microwave", "微波炉"}, {"kettle", "水壶"}, {"hair dryer", "吹风机"},
    {"charger", "充电器"}, {"mattress", "床垫"},
    // Brands as English speakers write them.
    {"dyson", "戴森"}, {"sony", "索尼"}, {"huawei", "华为"}, {"xiaomi", "小米"}, {"lenovo", "联想"},
    {"philips", "飞利浦"}, {"lancome", "兰蔻"}, {"estee lauder", "雅诗兰黛"}, {"loreal", "欧莱雅"},
    {"l'oreal", "欧莱雅"}, {"uniqlo", "优衣库"}, {"li ning", "李宁"}, {"lining", "李宁"}, {"anessa", "安热沙"},
    {"midea", "美的"}, {"haier", "海尔"}, {"joyoung", "九阳"}, {"supor", "苏泊尔"}, {"dji", "大疆"},
    {"winona", "薇诺娜"}, {"proya", "珀莱雅"}, {"bosideng", "波司登"}, {"anta", "安踏"}, {"peacebird", "太平鸟"},
    {"perfect diary", "完美日记"}, {"florasis", "花西子"}, {"hla", "海澜之家"}, {"beneunder", "蕉下"},
    // Chinese words for the same goods as item names write them.
    {"衬衣", "衬衫"}, {"夹克", "外套"}, {"运动鞋", "鞋"}, {"球鞋", "鞋"}, {"鞋子", "鞋"}, {"电饭锅", "电饭煲"},
    {"榨汁机", "料理机"}, {"破壁机", "料理机"}, {"扫地机", "机器人"}, {"粉饼", "散粉"},
    {"童装", "儿童"}, {"羽绒衣", "羽绒服"}, {"小棕瓶", "特润修护"}, {"定妆粉", "散粉"}};

// Kinds of goods customers name instead of the product ("手机那单", "my phone",
// "电脑"), with the words shop item names use for them: brands and model lines
// that are phones, computers and so on. General shopping knowledge, not this
// catalogue's: item names rarely say the kind (小米 Redmi Note 13 Pro).
struct Kind {
  std::array<std::string_view, 4> said;    // what the customer writes (lower case)
  std::array<std::string_view, 12> names;  // what the item name contains (lower case)
};
constexpr Kind kKinds[] = {
    {{"手机", "phone", "", ""},
     {"手机", "iphone", "mate 60", "mate60", "redmi", "红米", "galaxy", "荣耀", "oppo", "vivo", "pura", "nova"}},
    {{"红米", "", "", ""}, {"redmi", "红米", "", "", "", "", "", "", "", "", "", ""}},
    {{"苹果", "apple", "", ""}, {"iphone", "apple", "ipad", "macbook", "", "", "", "", "", "", "", ""}},
    {{"电脑", "computer", "", ""},
     {"笔记本", "电脑", "macbook", "thinkpad", "matebook", "小新", "", "", "", "", "", ""}},
    {{"平板", "tablet", "ipad", ""}, {"平板", "ipad", "matepad", "", "", "", "", "", "", "", "", ""}},
    // Creams: a 面霜 is whatever cream the item name calls it (特护霜, 红宝石面霜).
    {{"面霜", "cream", "乳霜", ""}, {"面霜", "特护霜", "乳霜", "保湿霜", "精华霜", "晚霜", "日霜", "", "", "", "", ""}},
    {{"耳机", "headphone", "earbud", "耳麦"}, {"耳机", "airpods", "freebuds", "", "", "", "", "", "", "", "", ""}},
    {{"coat", "大衣", "外衣", ""}, {"外套", "羽绒服", "大衣", "风衣", "夹克", "棉服", "", "", "", "", "", ""}},
    // Whole families of goods ("我的衣服啥时候能到", "the clothes I ordered", "家电那单").
    {{"衣服", "衣裳", "clothes", "clothing"},
     {"外套", "衬衫", "衬衣", "t恤", "卫衣", "羽绒服", "夹克", "毛衣", "大衣", "风衣", "裤", "裙"}},
    {{"护肤品", "化妆品", "skincare", "cosmetic"},
     {"面霜", "精华", "乳液", "爽肤水", "防晒", "口红", "眼霜", "粉底", "洗面奶", "面膜", "散粉", "特护霜"}},
    {{"家电", "电器", "appliance", ""},
     {"冰箱", "洗衣机", "空调", "电视", "扫地", "热水器", "微波炉", "烤箱", "吸尘器", "洗碗机", "电饭煲", "油烟机"}},
};

// How strongly the kinds of goods named in `lower` point at `sum_lower`.
int KindScore(const std::string& lower, const std::string& sum_lower) {
  int score = 0;
  // An English word counts on its own only ("phone", not the one in "headphones").
  auto says = [&](std::string_view w) {
    if (w.empty()) return false;
    for (size_t at = lower.find(w); at != std::string::npos; at = lower.find(w, at + 1)) {
      if (static_cast<unsigned char>(w[0]) >= 0x80) return true;
      if (at == 0 || !std::isalpha(static_cast<unsigned char>(lower[at - 1]))) return true;
    }
    return false;
  };
  // "电脑" is a computer: a 平板电脑 (tablet) is not meant unless a tablet is said.
  if (says("电脑") && !says("平板") && !says("tablet") && !says("ipad") &&
      sum_lower.find("平板") != std::string::npos)
    score -= 2;
  for (const Kind& k : kKinds) {
    bool said = std::any_of(k.said.begin(), k.said.end(), says);
    if (!said) continue;
    if (std::any_of(k.names.begin(), k.names.end(),
                    [&](std::string_view w) { return !w.empty() && sum_lower.find(w) != std::string::npos; }))
      score += 2;
  }
  return score;
}

// The Chinese names of the English kinds of goods the text mentions.
std::vector<std::string_view> ChineseGoods(std::string_view raw) {
  std::string lower = utf8::AsciiLower(raw);
  std::vector<std::string_view> out;
  for (const auto& [en, zh] : kEnglishGoods) {
    // An English word from its start ("anta", not the one in "santa").
    for (size_t at = lower.find(en); at != std::string::npos; at = lower.find(en, at + 1)) {
      const bool latin = static_cast<unsigned char>(en[0]) < 0x80;
      if (latin && at > 0 && std::isalpha(static_cast<unsigned char>(lower[at - 1]))) continue;
      out.push_back(zh);
      break;
    }
  }
  return out;
}

}  // namespace

bool NamesGoods(std::string_view raw) {
  const std::string w = utf8::AsciiLower(raw);
  if (w.empty()) return false;
  const bool latin = static_cast<unsigned char>(w[0]) < 0x80;
  auto same = [&](std::string_view name) {
    if (name.empty()) return false;
    if (!latin) return static_cast<unsigned char>(name[0]) >= 0x80 && (name == w || (w.find(name) != std::string::npos));
    if (static_cast<unsigned char>(name[0]) >= 0x80) return false;
    return name == w || text::PorterStem(name) == w;
  };
  for (const auto& [en, zh] : kEnglishGoods)
    if (same(en) || same(zh)) return true;
  for (const Kind& k : kKinds)
    if (std::any_of(k.said.begin(), k.said.end(), same) || std::any_of(k.names.begin(), k.names.end(), same))
      return true;
  return !latin && !GoodsWords(w).empty();
}

bool AsksWhereOwnGoodsAre(const std::string& t);

bool HasOrderPredicate(std::string_view raw) {
  const std::string t = utf8::AsciiLower(raw);
  if (AsksWhereOwnGoodsAre(t)) return true;
  for (std::string_view w : {"收到", "那单", "订单", "order", "单子"})
    if (t.find(w) != std::string::npos) return true;
  return AsksAboutProgress(raw) || AsksAboutParcel(raw);
}

namespace {
// Cities, provinces and regions, with the pinyin or English names customers write.
struct Place {
  std::string_view zh;
  std::string_view roman;  // '|'-separated, lower case; may be empty
};
constexpr Place kPlaces[] = {
#include "dialogue/places.inc"
};

bool IsAsciiAlpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
}  // namespace

namespace {
// The places by their first character (Chinese names) and first word (pinyin
// and English names): a text is scanned once instead of searched once per place.
struct PlaceIndex {
  std::unordered_map<std::string_view, std::vector<std::string_view>> zh, roman;
  PlaceIndex() {
    for (const Place& p : kPlaces) {
      if (p.zh.size() >= 3) zh[p.zh.substr(0, 3)].push_back(p.zh);
      std::string_view romans = p.roman;
      while (!romans.empty()) {
        const size_t bar = romans.find('|');
        const std::string_view r = romans.substr(0, bar);
        romans = bar == std::string_view::npos ? std::string_view() : romans.substr(bar + 1);
        if (!r.empty()) roman[r.substr(0, r.find(' '))].push_back(r);
      }
    }
  }
};
const PlaceIndex& Places() {
  static const PlaceIndex index;
  return index;
}
}  // namespace

std::vector<std::string> PlacesNamed(std::string_view raw, bool where_it_is) {
  const std::string t = utf8::IsValid(raw) ? std::string(raw) : utf8::Sanitize(raw);
  const std::string_view text(t);
  const PlaceIndex& places = Places();
  std::vector<std::string> out;
  for (size_t at = 0; at + 3 <= text.size();) {
    if ((static_cast<unsigned char>(text[at]) & 0xF0) != 0xE0) {
      ++at;
      continue;
    }
    std::string_view best;
    if (const auto it = places.zh.find(text.substr(at, 3)); it != places.zh.end())
      for (std::string_view zh : it->second)
        if (zh.size() > best.size() && text.compare(at, zh.size(), zh) == 0) best = zh;
    if (best.size() >= 6) {  // two characters at least: 江 alone is no place
      const std::string_view before = text.substr(0, at), after = text.substr(at + best.size());
      // ... nor where the customer is ("上海这边 我的东西啥时候能送上门"; 那边 is the parcel's).
      const bool going_to = ((before.ends_with("到") || before.ends_with("往") || before.ends_with("至")) &&
                             !after.starts_with("了")) ||
                            after.starts_with("这边") || after.starts_with("这里") || after.starts_with("这儿");
      if ((!where_it_is || !going_to) && std::find(out.begin(), out.end(), best) == out.end())
        out.emplace_back(best);
      at += best.size();
    } else {
      at += 3;
    }
  }
  return out;
}

bool PlaceInTransit(std::string_view raw) {
  const std::string t = utf8::AsciiLower(utf8::IsValid(raw) ? std::string(raw) : utf8::Sanitize(raw));
  const std::string_view text(t);
  const PlaceIndex& places = Places();
  // Chinese: where it is or is going ("还在北京转", "能到重庆", "stuck在常州", "发往成都"),
  // or what happens there ("西安那边转运的那台", "成都发出来之后", "卡在郑州了").
  static constexpr std::string_view kBefore[] = {"在", "到", "往", "至", "经", "从", "过"};
  static constexpr std::string_view kAfter[] = {"转", "中转", "分拣", "那边", "那里", "发出", "发的", "出发", "停",
                                                "卡", "不动"};
  for (size_t at = 0; at + 3 <= text.size(); ++at) {
    if ((static_cast<unsigned char>(text[at]) & 0xF0) != 0xE0) continue;  // a 3-byte (CJK) character starts here
    const auto it = places.zh.find(text.substr(at, 3));
    if (it == places.zh.end()) continue;
    for (std::string_view zh : it->second) {
      if (text.compare(at, zh.size(), zh) != 0) continue;
      const std::string_view before = text.substr(0, at);
      const std::string_view after = text.substr(at + zh.size());
      // Where the customer is or lives ("我在昆明", "我家在成都", "人在上海"): not the parcel.
      bool customer = false;
      for (std::string_view w : {"我在", "人在", "住在", "家在", "我是", "我住"}) customer |= before.ends_with(w);
      if (customer) continue;
      for (std::string_view b : kBefore)
        if (before.ends_with(b)) return true;
      for (std::string_view a : kAfter)
        if (after.starts_with(a)) return true;
    }
  }
  // English: a preposition or verb of movement, then the name ("get to yangzhou",
  // "close to jinan yet", "stuck in changzhou", "still in hong kong").
  static constexpr std::string_view kWords[] = {"to ", "in ", "at ", "near ", "reach ", "reached ", "through ",
                                                "from ", "past ", "into ", "left "};
  for (size_t at = 0; at < text.size();) {
    if (!IsAsciiAlpha(text[at])) {
      ++at;
      continue;
    }
    // A word, with an apostrophe inside it when the name has one ("xi'an"), not
    // when it is a possessive ("jinan's").
    size_t end = at;
    while (end < text.size() && (IsAsciiAlpha(text[end]) || text[end] == '\'')) ++end;
    if (const size_t quote = text.substr(at, end - at).find('\'');
        quote != std::string_view::npos && !places.roman.contains(text.substr(at, end - at)))
      end = at + quote;
    const auto found = places.roman.find(text.substr(at, end - at));
    if (found != places.roman.end()) {
      for (std::string_view r : found->second) {
        if (text.compare(at, r.size(), r) != 0) continue;
        if (at + r.size() < text.size() && IsAsciiAlpha(text[at + r.size()])) continue;
        const std::string_view before = text.substr(0, at);
        bool customer = false;
        for (std::string_view w : {"i'm in ", "im in ", "i am in ", "i live in ", "i'm based in ", "we're in ", "we are in "})
          customer |= before.ends_with(w);
        if (customer) continue;
        for (std::string_view w : kWords)
          if (before.ends_with(w) && (before.size() == w.size() || !IsAsciiAlpha(before[before.size() - w.size() - 1])))
            return true;
        // "在yangzhou", "到jinan了吗".
        if (before.ends_with("在") || before.ends_with("到")) return true;
      }
    }
    at = std::max(end, at + 1);
  }
  return false;
}

namespace {
// "防晒霜到Lhasa了没", "到北京了吗", "衬衫到泉州没": arrived somewhere yet.
bool ArrivedSomewhereQuestion(const std::string& t) {
  const std::vector<char32_t> cps = utf8::Decode(utf8::IsValid(t) ? t : utf8::Sanitize(t));
  const std::u32string text(cps.begin(), cps.end());
  for (size_t at = text.find(U'到'); at != std::u32string::npos; at = text.find(U'到', at + 1)) {
    const std::u32string_view rest = std::u32string_view(text).substr(at + 1, 12);
    if (rest.find(U"了没") != std::u32string_view::npos || rest.find(U"了吗") != std::u32string_view::npos) return true;
    // "衬衫到泉州没", "到北京没有": 没 ends the question.
    for (std::u32string_view end : {U"没", U"没有", U"没啊", U"没呀", U"没？", U"没?", U"没有？", U"没有?"})
      if (rest.size() > end.size() + 1 && rest.substr(rest.size() - end.size()) == end &&
          at + 1 + rest.size() == text.size())
        return true;
  }
  return false;
}
}  // namespace

bool AsksAboutParcel(std::string_view raw) {
  const std::string t = utf8::AsciiLower(raw);
  for (std::string_view w : {"到哪", "到那", "发货", "发了", "发出", "寄出", "寄了", "单号", "物流", "快递到", "包裹",
                             "送到", "能到", "到了吗", "到了没", "没到", "派送", "where", "arriv", "shipped",
                             "sent out", "on the way", "on its way", "getting here", "出库", "代收", "取件码",
                             "tracking", "deliver", "package", "parcel", "dispatch", "gone out", "went out",
                             "make it to", "made it to", "left the warehouse", "一起寄", "一起发", "分开寄", "分开发",
                             // Their own parcel, where it is now ("查一下我的快递", "快递现在在哪个城市").
                             "我的快递", "我的包裹", "my parcel", "my package", "哪个城市", "what city", "which city",
                             // "我的货呢", "我东西呢": where one's goods are.
                             "货呢", "东西呢", "快递呢", "包裹呢"})
    if (t.find(w) != std::string::npos) return true;
  // Where it is or is going ("还在北京转", "when are my things getting to shanghai").
  if (PlaceInTransit(t)) return true;
  // "我的快递寄到重庆了没": arrived somewhere yet.
  return ArrivedSomewhereQuestion(t);
}

// "我的牛仔裤呢": where the customer's own goods are, so an order.
bool AsksWhereOwnGoodsAre(const std::string& t) {
  const std::string_view trimmed = utf8::Trim(t);
  return trimmed.substr(0, 6) == "我的" && utf8::Length(trimmed) <= 10 &&
         (trimmed.ends_with("呢") || trimmed.ends_with("呢?") || trimmed.ends_with("呢？")) &&
         (!GoodsWords(trimmed).empty() || NamesGoodsOrBrand(trimmed));
}

bool NamesOwnOrder(std::string_view raw) {
  const std::string t = utf8::AsciiLower(raw);
  if (AsksWhereOwnGoodsAre(t)) return true;
  for (std::string_view w : {"我的订单", "我的单", "我的快递", "我的包裹", "我的货", "我的东西", "我买的东西",
                             // How far it has got: one order's progress ("退款到哪一步了").
                             "到哪一步", "哪一步了", "到哪步", "我退款", "退款咋样", "退款怎么样", "退款好了没",
                             "退款好了吗", "退款啥时候到", "退款什么时候到", "我买的", "我下的单", "那单",
                             "这单", "那笔", "的那个", "的那件", "的那台", "my order", "my package", "my parcel",
                             "my stuff", "my things", "my items", "my purchase", "what i ordered", "what i bought",
                             "my delivery", "the one that", "我的退款", "我的钱", "my refund", "my money",
                             "我那", "我东西", "我快递", "我包裹", "我订单", "我的件", "我的快件", "my deliveries", "my packages", "my parcels", "my orders",
                             // Impatience is about one's own order, never the shop's policy:
                             // "怎么还不发货啊", "退款咋还没到".
                             "怎么还没", "怎么还不", "咋还没", "咋还不", "怎么还在", "咋还在", "still not", "still hasn't",
                             "still haven't"})
    if (t.find(w) != std::string::npos) return true;
  return false;
}

bool AsksAboutProgress(std::string_view raw) {
  const std::string t = utf8::AsciiLower(raw);
  if (AsksWhereOwnGoodsAre(t)) return true;
  // Where it is or is going ("红米咋还在北京转", "when will the jacket get to yangzhou").
  if (PlaceInTransit(t)) return true;
  for (std::string_view w : {"到哪", "到那", "发货", "发了", "发出", "寄出", "发没发", "寄没寄", "签收", "没收到", "退款", "退钱", "钱退", "退回来", "到账", "取消", "快递",
                             "物流", "单号", "送到", "能到", "到了吗", "到了没", "到没到", "没到", "派送", "where", "arriv", "ship",
                             "deliver", "refund", "tracking", "cancel", "get here", "coming", "dispatch", "today",
                             "今天", "几号", "never got", "didn't get", "not received", "haven't received",
                             // No news of it, still on the way, the courier that carries it.
                             "没发", "动静", "在路上", "揽收", "出货", "退款中", "进度", "没人送", "没送", "一直没",
                             "顺丰", "中通", "圆通", "韵达", "申通", "京东物流", "哪家快递", "status", "update",
                             "still waiting", "taking so long", "gets here", "money back", "got my money",
                             "get my money", "which courier", "what courier", "carrier", "getting here", "出库",
                             // Left with someone ("显示驿站代收"), a locker's pick-up code: where exactly.
                             // (Not 驿站 or 快递柜 alone: "能放驿站吗" asks what the courier may do.)
                             "代收", "取件码",
                             // Which station or locker it was left in, left at the door.
                             "哪个驿站", "哪个丰巢", "哪个快递柜", "放驿站了", "放丰巢了", "放快递柜了", "放哪个",
                             "是不是放", "放家门口", "放门口", "放在门口", "left at", "reached",
                             "signed for", "signed by", "gone out", "went out", "make it to", "made it to",
                             "left the warehouse", "left yet", "sent yet", "out yet", "sent out", "not sent",
                             "hasn't left", "hasn't gone", "on the way", "on its way",
                             // Paid or not, sent together or apart ("防晒还没付款吧", "破壁机跟洗衣机是一起寄的吗").
                             "没付款", "付款了没", "付款了吗", "付没付", "一起寄", "一起发", "分开寄", "分开发",
                             // Moving at all, its ETA, where it was left, who signed for it.
                             "moving", "放菜鸟", "菜鸟驿站了", "谁收的", "谁签收", "谁签的",
                             "who signed", "哪个城市", "what city", "which city",
                             // Not moving from the warehouse; brought to the door today ("仓库还没动",
                             // "今儿个能送上门不").
                             "还没动", "没出仓", "出仓了", "送上门", "今儿"})
    if (t.find(w) != std::string::npos) return true;
  // Its ETA ("jeans ETA?"), as a word.
  for (size_t at = t.find("eta"); at != std::string::npos; at = t.find("eta", at + 1))
    if ((at == 0 || !std::isalpha(static_cast<unsigned char>(t[at - 1]))) &&
        (at + 3 >= t.size() || !std::isalpha(static_cast<unsigned char>(t[at + 3]))))
      return true;
  // A question about when or whether it moves: a time or "still not" word
  // followed by a verb of sending or arriving ("笔记本啥时候发", "相机几时能寄出",
  // "耳机咋还不来").
  const std::vector<char32_t> cps = utf8::Decode(utf8::IsValid(t) ? t : utf8::Sanitize(t));
  const std::u32string text(cps.begin(), cps.end());
  if (ArrivedSomewhereQuestion(t)) return true;
  for (std::u32string_view when : {U"什么时候", U"啥时候", U"啥时", U"几时", U"何时", U"多久", U"哪天", U"几天",
                                   U"怎么还", U"咋还", U"还没", U"还不"}) {
    size_t at = text.find(when);
    if (at == std::u32string::npos) continue;
    const std::u32string_view rest = std::u32string_view(text).substr(at + when.size(), 4);
    for (char32_t verb : {U'发', U'到', U'送', U'寄', U'来'})
      if (rest.find(verb) != std::u32string_view::npos) return true;
  }
  return false;
}

std::vector<std::string_view> ChineseGoodsNamed(std::string_view text) { return ChineseGoods(text); }

std::vector<std::string_view> KindNames(std::string_view raw) {
  const std::string lower = utf8::AsciiLower(raw);
  std::vector<std::string_view> out;
  for (const Kind& k : kKinds) {
    bool said = false;
    for (std::string_view w : k.said) said = said || (!w.empty() && lower.find(w) != std::string::npos);
    if (!said) continue;
    for (std::string_view n : k.names)
      if (!n.empty() && std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  }
  return out;
}

bool NamesGoodsOrBrand(std::string_view raw) {
  if (!GoodsWords(raw).empty() || !ChineseGoods(raw).empty() || !KindNames(raw).empty()) return true;
  const std::string t = utf8::AsciiLower(raw);
  for (const auto& [en, zh] : kEnglishGoods)
    if (static_cast<unsigned char>(zh[0]) >= 0x80 && t.find(zh) != std::string::npos) return true;
  return false;
}

std::string ProductSpecAsked(std::string_view raw) {
  const std::string t = utf8::AsciiLower(text::FoldChinese(raw));
  size_t best = std::string::npos;
  for (std::string_view spec : {"功率", "多少瓦", "几瓦", "涂层", "材质", "什么材料", "续航", "像素", "重量", "多重",
                                "几斤", "噪音", "分贝", "能效", "容量", "几升", "内存", "处理器", "芯片", "几寸",
                                "多少寸", "屏幕多大", "产地", "哪里产", "哪产的", "成分", "配料", "电压", "转速",
                                "耗电", "度电", "耗多少", "防水", "waterproof", "编码", "ldac", "蓝牙版本", "快充",
                                "无线充", "双卡", "分辨率", "刷新率"}) {
    const size_t at = t.find(spec);
    if (at != std::string::npos && at > 0 && (best == std::string::npos || at < best)) best = at;
  }
  if (best == std::string::npos || !NamesGoodsOrBrand(std::string_view(t).substr(0, best))) return std::string();
  for (std::string_view w : {"退", "换", "保修", "发货", "运费", "安装", "发票", "价", "钱", "优惠", "到", "送", "快递",
                             "物流", "订单", "买", "推荐", "哪款", "哪个好"})
    if (t.find(w) != std::string::npos) return std::string();
  return t.substr(best);
}

std::string ProductFactPredicate(std::string_view raw) {
  const std::string t = utf8::AsciiLower(utf8::IsValid(raw) ? std::string(raw) : utf8::Sanitize(raw));
  // What a shop answers about its goods (returns, delivery, installation,
  // warranty, payment, trade-ins, stock, sizes...) is policy, not a product fact.
  for (std::string_view w : {"退", "换", "保修", "质保", "发货", "发", "寄", "运费", "邮费", "包邮", "安装", "装",
                             "发票", "价", "钱", "优惠", "券", "补贴", "国补", "货", "尺码", "码", "到", "送", "快递",
                             "物流", "取消", "付", "分期", "期", "花呗", "积分", "会员", "赠", "正品", "真假", "保价",
                             "维修", "修", "坏", "质量", "过期", "保质期", "订单", "单", "回收", "抵", "拉走", "折",
                             "师傅", "上门", "无理由", "搬", "激活", "限购", "买", "return", "refund", "install"})
    if (t.find(w) != std::string::npos) return std::string();
  size_t best = std::string::npos, best_len = 0;
  for (std::string_view m : {"能不能", "能否", "可不可以", "可以", "支持", "适不适合", "适合", "会不会", "含不含",
                             "防不防", "耐不耐", "能"}) {
    const size_t at = t.find(m);
    if (at != std::string::npos && (best == std::string::npos || at < best)) {
      best = at;
      best_len = m.size();
    }
  }
  if (best == std::string::npos) return ProductSpecAsked(raw);
  if (best == 0) return std::string();
  // Where, how, who or what can be done ("说明书丢了 哪里能找") is no fact of the goods.
  const std::string_view before = std::string_view(t).substr(0, best);
  for (std::string_view w : {"哪", "怎么", "什么", "谁", "咋"})
    if (before.find(w) != std::string_view::npos) return std::string();
  // The goods come first: "扫地机器人能爬过门槛吗", "iPhone 15 支持双卡吗".
  if (!NamesGoodsOrBrand(std::string_view(t).substr(0, best))) return std::string();
  std::string rest = t.substr(best + best_len);
  // 功能, 性能: a noun, not "can".
  if (best >= 3 && (t.compare(best - 3, 3, "功") == 0 || t.compare(best - 3, 3, "性") == 0)) return std::string();
  // Who would use them is part of what is asked ("薇诺娜特护霜孕妇能用吗": whether
  // pregnant women may, which an entry on sensitive skin does not say).
  for (std::string_view who : {"孕妇", "孕期", "哺乳期", "宝宝", "婴儿", "小孩", "儿童", "孩子", "老人", "学生"})
    if (before.find(who) != std::string_view::npos && rest.find(who) == std::string::npos)
      return std::string(who) + rest;
  return rest;
}

bool CourierUnreachable(std::string_view raw) {
  const std::string t = utf8::AsciiLower(text::FoldChinese(raw));
  auto has = [&](std::initializer_list<std::string_view> ws) {
    for (auto w : ws)
      if (t.find(w) != std::string::npos) return true;
    return false;
  };
  return has({"师傅", "快递员", "快递小哥", "派件员", "配送员", "送货的", "快递哥", "courier", "delivery guy",
              "delivery man", "delivery driver", "driver"}) &&
         has({"不接电话", "电话打不通", "打不通", "关机", "联系不上", "不接", "没接", "不回", "won't answer",
              "wont answer", "not answering", "doesn't answer", "doesnt answer", "can't reach", "cant reach",
              "cannot reach", "no answer", "won't pick up", "not picking up"});
}

bool AsksHowThingsUsuallyGo(std::string_view raw) {
  const std::string t = utf8::AsciiLower(raw);
  for (std::string_view w : {"一般", "通常", "正常", "下单后", "付款后", "usually", "normally", "in general"})
    if (t.find(w) != std::string::npos) return true;
  return false;
}

std::string GoodsWords(std::string_view raw) {
  static constexpr std::string_view kGoods[] = {
      "耳机", "手机", "电脑", "笔记本", "平板", "相机", "冰箱", "洗衣机", "空调", "电饭煲", "吸尘器", "扫地机", "料理机",
      "破壁机", "牙刷", "衣服", "外套", "羽绒服", "卫衣", "衬衫", "衬衣", "裤", "鞋", "袜", "冰袖", "口红", "面霜", "精华",
      "防晒", "洗面奶", "散粉", "护肤", "化妆品", "手表", "音箱", "电视", "书"};
  std::vector<std::string> found;
  const std::string t = utf8::AsciiLower(raw);
  for (std::string_view g : kGoods)
    if (t.find(g) != std::string::npos) found.emplace_back(g);
  for (std::string_view g : ChineseGoods(raw)) found.emplace_back(g);
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  std::string out;
  for (const auto& g : found) out += (out.empty() ? "" : "+") + g;
  return out;
}

// "单买的那个 不是跟洗面奶一起的": what follows 不是 up to 一起 (or the next
// 的) names the order the customer does not mean. Returns the text without it
// and the words cut out.
std::pair<std::string, std::string> SplitNegatedGoods(std::string text) {
  std::string negated;
  for (std::string_view neg : {"不是跟", "不是和", "不是有", "不是带", "不是那个有"}) {
    size_t at = text.find(neg);
    if (at == std::string::npos) continue;
    size_t end = std::string::npos;
    for (std::string_view stop : {"一起的", "一起", "的"}) {
      size_t e = text.find(stop, at + neg.size());
      if (e != std::string::npos && e - at <= 30) {
        end = e + stop.size();
        break;
      }
    }
    const size_t len = end == std::string::npos ? std::string::npos : end - at;
    negated += text.substr(at + neg.size(), len == std::string::npos ? len : len - neg.size());
    text.erase(at, len);
  }
  return {text, negated};
}

// "单买的那个", "只买了洗衣机的那单": the order with that one item alone.
bool MeansTheOrderWithOneItem(const std::string& lower) {
  for (std::string_view w : {"单买", "只买了", "只买", "单独买", "单独下", "就买了一", "只有一件", "only one item",
                             "by itself", "on its own"})
    if (lower.find(w) != std::string::npos) return true;
  return false;
}

OrderMention FindOrderMention(std::string_view raw, const nlohmann::json& orders) {
  OrderMention m;
  if (!orders.is_array() || orders.empty()) return m;
  // A waybill number of one of the orders (typed, or read from a screenshot
  // of the parcel's label or the courier's page) names that order.
  {
    const std::string upper = [&] {
      std::string u(raw);
      for (auto& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return u;
    }();
    for (const auto& o : orders) {
      if (!o.is_object() || !o.contains("tracking_no") || !o["tracking_no"].is_string()) continue;
      std::string no = o["tracking_no"].get<std::string>();
      for (auto& c : no) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (no.size() >= 8 && upper.find(no) != std::string::npos) {
        m.candidates = {o.value("order_id", "")};
        m.by_product = true;
        return m;
      }
    }
    // The last digits of an order number or waybill ("尾号141那个", "the one ending in
    // 0141", "后四位是8826的单"): a run of 3-6 digits that ends exactly one of them.
    std::vector<std::string> runs;
    for (size_t i = 0; i < upper.size();) {
      if (!std::isdigit(static_cast<unsigned char>(upper[i]))) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j < upper.size() && std::isdigit(static_cast<unsigned char>(upper[j]))) ++j;
      // (Not an amount, a size or a date: "141块", "250ml", "2026年".)
      const std::string_view next = std::string_view(upper).substr(j);
      bool unit = i > 0 && (upper[i - 1] == '$' || upper[i - 1] == '.' || std::string_view(upper).substr(0, i).ends_with("¥"));
      for (std::string_view u : {"块", "元", "件", "天", "小时", "岁", "斤", "克", "ML", "CM", "KG", "G", "年", "月", "日",
                                 "号", "%", "W", "V", "毫", "升", "米", "分", "秒", "."})
        unit |= next.starts_with(u);
      if (j - i >= 3 && j - i <= 6 && !unit && (i == 0 || !std::isalpha(static_cast<unsigned char>(upper[i - 1]))))
        runs.push_back(upper.substr(i, j - i));
      i = j;
    }
    const bool says_tail = [&] {
      const std::string lower = utf8::AsciiLower(raw);
      for (std::string_view w : {"尾号", "尾数", "后三位", "后四位", "后五位", "后六位", "最后几位", "末尾", "结尾",
                                 "ending in", "ends in", "ending with", "ends with", "ending ", "last digits", "last three",
                                 "last four", "那个", "那单", "那笔", "的单", "的订单", "the one"})
        if (lower.find(w) != std::string::npos) return true;
      return false;
    }();
    if (says_tail) {
      for (const std::string& run : runs) {
        std::string hit;
        int hits = 0;
        for (const auto& o : orders) {
          if (!o.is_object()) continue;
          const std::string id = o.value("order_id", "");
          std::string no = o.contains("tracking_no") && o["tracking_no"].is_string() ? o["tracking_no"].get<std::string>() : "";
          if (id.ends_with(run) || (!no.empty() && no.ends_with(run))) {
            ++hits;
            hit = id;
          }
        }
        if (hits == 1) {
          m.candidates = {hit};
          m.by_product = true;
          return m;
        }
      }
    }
  }
  const auto [text, negated] = SplitNegatedGoods(utf8::IsValid(raw) ? std::string(raw) : utf8::Sanitize(raw));
  const std::vector<std::string_view> goods = ChineseGoods(text);
  const std::vector<char32_t> cps = utf8::Decode(text);
  const std::string lower = utf8::AsciiLower(text);

  std::vector<std::string> states;
  for (const auto& cue : kStates) {
    bool hit = std::any_of(cue.words.begin(), cue.words.end(),
                           [&](std::string_view w) { return !w.empty() && lower.find(w) != std::string::npos; });
    if (!hit) continue;
    for (auto s : cue.statuses)
      if (!s.empty()) states.emplace_back(s);
    m.state = states.front();
    break;
  }

  struct Scored {
    std::string id, status;
    int score;
    bool one_item = false;
  };
  std::vector<Scored> scored;
  int best = 0;
  for (const auto& o : orders) {
    if (!o.is_object()) continue;
    const std::string summary = o.value("item_summary", "");
    Scored s{o.value("order_id", ""), o.value("status", ""), ProductScore(cps, lower, summary),
             !summary.empty() && summary.find("、") == std::string::npos};
    s.score += KindScore(lower, utf8::AsciiLower(summary));
    for (std::string_view g : goods)
      if (summary.find(g) != std::string::npos) s.score += 2;
    best = std::max(best, s.score);
    scored.push_back(std::move(s));
  }
  std::vector<Scored> pool;
  if (best > 0) {
    m.by_product = true;
    for (auto& s : scored)
      if (s.score == best) pool.push_back(s);
    // "the robot vacuum, when's it getting here?": when it moves or arrives is
    // asked of an order under way; one delivered months ago with more of the
    // words (a robot and a vacuum) is not meant while one of the goods is coming.
    auto finished = [](const Scored& s) {
      return s.status == "delivered" || s.status == "cancelled" || s.status == "refunded";
    };
    bool money = false;
    for (std::string_view w : {"退", "钱", "refund", "return", "money", "发票", "invoice", "保修", "warranty"})
      money |= lower.find(w) != std::string::npos;
    // (Not when the state asked about is the finished order's own: "洗面奶和冰箱那单为啥被取消了".)
    const bool asks_its_state = std::any_of(pool.begin(), pool.end(), [&](const Scored& s) {
      return std::find(states.begin(), states.end(), s.status) != states.end();
    });
    if (!money && !asks_its_state && AsksAboutProgress(text) && std::all_of(pool.begin(), pool.end(), finished)) {
      int live_best = 0;
      for (const auto& s : scored)
        if (!finished(s)) live_best = std::max(live_best, s.score);
      if (live_best > 0) {
        pool.clear();
        for (auto& s : scored)
          if (!finished(s) && s.score == live_best) pool.push_back(s);
      }
    }
  } else {
    pool = scored;
  }
  if (!negated.empty()) {
    // Not the order with those goods.
    const std::vector<char32_t> ncps = utf8::Decode(negated);
    const std::string nlower = utf8::AsciiLower(negated);
    std::vector<Scored> kept;
    for (auto& s : pool) {
      std::string summary;
      for (const auto& o : orders)
        if (o.is_object() && o.value("order_id", "") == s.id) summary = o.value("item_summary", "");
      if (ProductScore(ncps, nlower, summary) == 0 && KindScore(nlower, utf8::AsciiLower(summary)) == 0) kept.push_back(s);
    }
    if (!kept.empty() && kept.size() < pool.size()) {
      pool = std::move(kept);
      m.by_product = true;
    }
  }
  if (MeansTheOrderWithOneItem(lower)) {
    std::vector<Scored> alone;
    for (auto& s : pool)
      if (s.one_item) alone.push_back(s);
    if (!alone.empty() && alone.size() < pool.size()) {
      pool = std::move(alone);
      m.by_product = true;
    }
  }
  // "笔记本到哪了" with one laptop paid and another on its way: the unshipped
  // one is "somewhere" too, so the generic where-is-it cue does not choose
  // between live orders of the product named; the customer is asked.
  auto live = [](const Scored& s) {
    return s.status == "paid" || s.status == "shipped" || s.status == "in_transit" || s.status == "out_for_delivery";
  };
  const bool generic_where = states == std::vector<std::string>{"in_transit", "shipped", "out_for_delivery"};
  if (generic_where && m.by_product && std::count_if(pool.begin(), pool.end(), live) >= 2) {
    std::vector<Scored> lives;
    for (auto& s : pool)
      if (live(s)) lives.push_back(s);
    pool = std::move(lives);
    states.clear();
  }
  if (!states.empty()) {
    std::vector<Scored> narrowed;
    for (auto& s : pool)
      if (std::find(states.begin(), states.end(), s.status) != states.end()) narrowed.push_back(s);
    if (!narrowed.empty()) {
      m.by_state = narrowed.size() < pool.size() || !m.by_product;
      pool = std::move(narrowed);
    }
  }
  if (!m.by_product && !m.by_state) {
    // Nothing in the text points at an order; remember a single one on its way.
    std::vector<std::string> live;
    for (auto& s : scored)
      if (s.status == "paid" || s.status == "shipped" || s.status == "in_transit" || s.status == "out_for_delivery")
        live.push_back(s.id);
    if (live.size() == 1) {
      m.only_live = true;
      m.candidates = std::move(live);
    }
    return m;
  }
  if (m.by_product && pool.size() > 1) {
    // Prefer orders still under way over finished ones when the product alone decides.
    std::vector<Scored> live;
    for (auto& s : pool)
      if (s.status != "delivered" && s.status != "cancelled" && s.status != "refunded") live.push_back(s);
    if (live.size() == 1) pool = std::move(live);
  }
  for (auto& s : pool) m.candidates.push_back(s.id);
  return m;
}

}  // namespace kefu::dialogue
