#include "dialogue/intent_rules.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <regex>

#include "common/utf8.h"
#include "text/english.h"
#include "dialogue/human_request.h"
#include "dialogue/order_mention.h"

namespace kefu::dialogue {
namespace {

template <size_t N>
bool ContainsAny(const std::string& text, const std::array<std::string_view, N>& words) {
  return std::any_of(words.begin(), words.end(), [&](std::string_view w) { return text.find(w) != std::string::npos; });
}

constexpr std::array<std::string_view, 61> kTrack = {
    "到哪", "到了吗", "到了没", "什么时候到", "何时到", "几时到", "多久到", "多久能到", "几天到", "还没到",
    "还没收到", "没收到", "怎么还没", "物流信息", "物流状态", "物流到", "查物流", "查快递", "快递到", "物流呢",
    "快递呢", "包裹呢", "包裹啥时候", "包裹什么时候", "快递啥时候", "快递什么时候", "查下物流", "查一下物流", "查查物流",
    "帮我查物流", "查下快递", "查一下快递", "发货了吗", "发货了没", "发了吗", "发货没", "发出了吗", "派送", "配送到哪", "运单",
    "物流进度", "到货", "where is my", "tracking", "track my", "delivery status", "when will it arrive",
    "where's my", "wheres my", "where my", "where are my", "get here", "coming today", "arrive today", "arriving", "when will it come",
    "has it shipped",
    // One's goods, wherever they are ("我的货呢", "我东西呢").
    "我的货呢", "我的东西呢", "我东西呢", "我货呢"};

constexpr std::array<std::string_view, 10> kOrderStatus = {"订单状态", "订单怎么样", "查订单", "查一下订单",
                                                           "订单信息", "订单详情", "订单情况", "order status",
                                                           "my order", "查询订单"};

constexpr std::array<std::string_view, 35> kListOrders = {"订单列表", "所有订单", "哪些订单", "最近的订单",
                                                          "哪些单", "订单记录", "购买记录", "买过的东西", "买过哪些",
                                                          "都有哪些订单", "order都有哪些", "有几单", "订单都有哪些",
                                                          "what have i ordered",
                                                          "全部订单", "有几单", "几单还没", "有几个订单", "有几笔订单", "all my orders",
                                                          "all orders", "show me my orders", "订单都",
                                                          "最近订单", "买过什么", "my orders", "买了哪些", "最近买的",
                                                          "买的东西都", "都发了", "everything i ordered",
                                                          "list my orders", "what did i order", "买过东西吗",
                                                          "下过单吗"};

constexpr std::array<std::string_view, 12> kOrderRef = {"我的订单", "我的快递", "我的包裹", "我买的", "我的货",
                                                        "这单", "这个订单", "那个订单", "这笔订单", "订单",
                                                        "my order", "my package"};

constexpr std::array<std::string_view, 12> kBackRef = {"它", "这个订单", "那个订单", "这单", "那单", "刚才那个",
                                                       "上面那个", "这笔", " it ", " it?", "it's", "that order"};

// Money moving back to the customer: "退款多久到账", "钱会退回到哪里" are not parcels.
constexpr std::array<std::string_view, 8> kMoney = {"到账", "退款", "退钱", "钱", "返款", "退回", "退到", "refund"};

constexpr std::array<std::string_view, 5> kParcel = {"物流", "快递", "包裹", "送到", "配送"};

constexpr std::array<std::string_view, 48> kProduct = {"推荐", "卖得好", "卖的好", "卖得最好", "畅销", "热销", "热卖",
                                                       "best seller", "best-selling", "best selling", "有没有卖", "有卖", "有没有", "多少钱", "价格",
                                                       "卖吗", "卖不卖", "哪款好", "哪个牌子", "any good",
                                                       "i want to buy", "i'd like to buy", "有几款", "几款",
                                                       "哪些牌子", "什么牌子", "卖哪些", "有啥", "以内的", "以下的",
                                                       "do you stock",
                                                       "价钱", "还有货", "有货吗", "库存", "想买", "do you sell",
                                                       "有哪些", "有什么款", "recommend", "looking for", "do you have",
                                                       "do you carry", "what do you have", "你们家有", "你家有",
                                                       "show me your", "show me some"};

constexpr std::array<std::string_view, 17> kGreeting = {"你好", "您好", "在吗", "在不在", "hello", "hi", "哈喽", "哈啰", "哈罗", "嗨",
                                                       "早上好", "下午好", "晚上好", "早安", "hey", "good morning",
                                                       "good evening"};
// Nothing but a greeting in English ("hi there", "hello!!", "good morning :)"):
// the words left are greeting words and fillers.
bool EnglishGreetingOnly(const std::string& t) {
  bool greeting = false;
  std::string word;
  auto take = [&]() {
    if (word.empty()) return true;
    static constexpr std::string_view kWords[] = {"hi", "hello", "hey", "hiya", "morning", "evening", "afternoon",
                                                  "good", "there", "everyone", "team", "guys", "anyone", "again"};
    bool known = false;
    for (auto w : kWords) known |= word == w;
    greeting |= known && word != "good" && word != "there" && word != "everyone" && word != "team" &&
                word != "guys" && word != "anyone" && word != "again";
    word.clear();
    return known;
  };
  for (char c : t) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
    if (std::isalpha(static_cast<unsigned char>(c))) {
      word.push_back(c);
    } else if (!take()) {
      return false;
    }
  }
  return take() && greeting;
}
// Nothing but "my orders" ("我的订单", "查一下订单？", "我的订单呢"): show the list.
bool BareOrdersRequest(const std::string& t) {
  std::string core;
  for (char32_t c : utf8::Decode(utf8::IsValid(t) ? t : utf8::Sanitize(t))) {
    if (c == U'呢' || c == U'吧' || c == U'啊' || c == U'呀' || c == U'？' || c == U'?' || c == U'！' || c == U'!' ||
        c == U'。' || c == U' ' || c == U'，')
      continue;
    utf8::Append(core, c);
  }
  // "帮我看看我的订单", "麻烦查下订单": a polite lead-in changes nothing.
  for (bool stripped = true; stripped;) {
    stripped = false;
    for (std::string_view lead : {"帮我", "麻烦", "请", "给我", "帮忙"})
      if (core.rfind(lead, 0) == 0 && core.size() > lead.size()) {
        core.erase(0, lead.size());
        stripped = true;
      }
  }
  for (std::string_view w : {"我的订单", "订单", "查订单", "查一下订单", "查下订单", "查查订单", "看看订单", "看下订单",
                             "查一下我的订单", "查下我的订单", "看看我的订单", "看下我的订单", "看一下我的订单", "查查我的订单", "查询订单", "订单查询", "帮我查订单",
                             "帮我查一下订单", "帮我查下订单", "查下我买的东西", "查一下我买的东西", "查查我买的东西",
                             "看看我买的东西", "看下我买的东西", "我的订单清单", "订单清单"})
    if (core == w) return true;
  return false;
}

// An English question about the customer's own parcel in words no list
// foresees: "yo i ordered stuff, where is it", "any news on my delivery?",
// "parcel status?". Something of theirs (my + a parcel word, "i ordered", "it")
// and a word about where it is or how it moves; a message of a few words needs
// only the parcel word and the state ("package update?"). English only; money
// ("refund") is not a parcel.
bool EnglishParcelQuestion(const std::string& t) {
  std::vector<std::string_view> w;
  for (size_t i = 0; i < t.size();) {
    if (!std::isalpha(static_cast<unsigned char>(t[i]))) {
      if (static_cast<unsigned char>(t[i]) >= 0x80) return false;
      ++i;
      continue;
    }
    size_t j = i;
    while (j < t.size() && (std::isalpha(static_cast<unsigned char>(t[j])) || t[j] == '\'')) ++j;
    w.emplace_back(t.data() + i, j - i);
    i = j;
  }
  auto in = [](std::string_view x, std::initializer_list<std::string_view> list) {
    return std::find(list.begin(), list.end(), x) != list.end();
  };
  static constexpr std::string_view kParcelWords[] = {
      "package", "parcel", "order", "stuff", "delivery", "shipment", "item", "items", "things", "purchase", "box",
      "packages", "parcels", "orders", "goods", "shipping"};
  static constexpr std::string_view kState[] = {
      "where", "status", "update", "updates", "news", "eta", "arrive", "arrived", "arriving", "coming", "come",
      "shipped", "dispatched", "yet", "delayed", "late", "stuck", "received", "receive", "progress", "whereabouts",
      "close", "near", "nearby"};
  // How things work, and after-sale questions, are the knowledge base's.
  static constexpr std::string_view kPolicy[] = {
      "how does", "how do", "what do i do", "what should", "what can i do", "policy", "usually", "normally",
      "damaged", "broken", "wrong", "missing", "defective", "swap", "exchange", "return", "cancel", "invoice",
      "receipt", "refund", "money", "charged"};
  bool parcel = false, mine = false, state = false;
  for (size_t i = 0; i < w.size(); ++i) {
    const bool p = std::find(std::begin(kParcelWords), std::end(kParcelWords), w[i]) != std::end(kParcelWords);
    parcel |= p;
    state |= std::find(std::begin(kState), std::end(kState), w[i]) != std::end(kState) ||
             (w[i] == "way" && i > 0 && (w[i - 1] == "its" || w[i - 1] == "the" || w[i - 1] == "it's"));
    if (p)
      for (size_t b = 1; b <= 3 && b <= i; ++b) mine |= w[i - b] == "my";
    if (in(w[i], {"ordered", "bought", "purchased"}) && i > 0 && w[i - 1] == "i") mine = true;
  }
  if (!state) return false;
  for (auto p : kPolicy)
    if (t.find(p) != std::string::npos) return false;
  if (mine || (parcel && w.size() <= 4)) return true;
  // "any idea where the gree fridge is", "where's my hoodie": where named goods
  // are now is a question about the customer's parcel, not a search for goods.
  for (std::string_view where : {"where is the", "where is my", "where's the", "where's my", "where the", "where my",
                                 "where are the", "where are my", "wheres my", "wheres the"})
    if (t.find(where) != std::string::npos && NamesGoodsOrBrand(t.substr(t.find(where) + where.size())))
      return true;
  return false;
}

// Whether `t` contains any of `ws`.
bool HasAny(const std::string& t, std::initializer_list<std::string_view> ws) {
  for (auto w : ws)
    if (t.find(w) != std::string::npos) return true;
  return false;
}

// "之前买过的东西去哪里看记录啊", "订单在哪查看": where to look it up in the
// app (the knowledge base's how-to), unless they ask to be shown ("帮我看看").
bool AsksWhereToLook(const std::string& t) {
  auto has = [&](std::initializer_list<std::string_view> ws) { return HasAny(t, ws); };
  return has({"去哪里看", "去哪看", "在哪看", "在哪里看", "哪里能看", "哪里可以看", "在哪查", "去哪查", "在哪里查",
              "哪里查", "怎么查看", "在哪儿看", "在哪能", "在哪里能", "哪里能翻", "哪能翻", "在哪翻", "where can i see",
              "where do i see", "where can i find", "how do i see", "how can i see", "somewhere on the",
              "anywhere on the", "on the site", "on the app", "on the website", "where on the", "where can i check",
              "where do i check", "where can i track", "where do i track"}) &&
         !has({"帮我", "给我", "帮忙", "show me"});
}

// Goods of a kind the shop sells, asked after as goods: whether there are
// any, in stock, in a colour, how many models ("羽绒服有黑色的吗", "电动牙刷有几款",
// "想给我妈买个扫地机器人 你们有吗"), not a service for them (退, 换, 修, 安装,
// 发票, 运费: the knowledge base's) and not the customer's own order.
bool AsksAboutNamedGoods(std::string_view raw, const std::string& t) {
  if (GoodsWords(raw).empty() && !NamesGoodsOrBrand(raw)) return false;
  auto has = [&](std::initializer_list<std::string_view> ws) { return HasAny(t, ws); };
  if (has({"退", "换", "修", "安装", "装", "发票", "运费", "邮费", "坏", "洗", "尺码", "码", "保", "我的", "我买的",
           "订单", "到", "发货", "寄", "优惠", "便宜", "积分", "会员", "活动", "限购", "企业", "公司", "批量", "团购",
           "手续费", "分期", "花呗", "白条", "信用卡", "支付", "付款", "热线", "电话", "客服", "邮箱", "小样", "赠品",
           "试用装", "sample"}))
    return false;
  // "有加绒卫衣吗", "any noise cancelling headphones?": is there such goods.
  const std::string_view trimmed = utf8::Trim(t);
  auto starts = [&](std::string_view w) { return trimmed.substr(0, w.size()) == w; };
  auto ends = [&](std::string_view w) {
    return trimmed.size() >= w.size() && trimmed.substr(trimmed.size() - w.size()) == w;
  };
  if (starts("有") && (ends("吗") || ends("吗?") || ends("吗？") || ends("么"))) return true;
  // "有儿童羽绒服没", "有卫衣不", "有无男生穿的跑步鞋", "有木有加绒的": is there such goods.
  if (starts("有") && (ends("没") || ends("没有") || ends("不") || ends("没?") || ends("没？") || ends("不?") ||
                       ends("不？")))
    return true;
  if (starts("有无") || starts("有無") || starts("有木有") || starts("有冇")) return true;
  // "有扫地机器人吗 家里养猫掉毛多": the first clause asks, the rest says why.
  for (std::string_view sep : {" ", "，", ",", "。"}) {
    const size_t cut = trimmed.find(sep);
    if (cut == std::string_view::npos || cut == 0) continue;
    const std::string_view first = trimmed.substr(0, cut);
    auto first_ends = [&](std::string_view w) {
      return first.size() >= w.size() && first.substr(first.size() - w.size()) == w;
    };
    if (starts("有") && (first_ends("吗") || first_ends("么") || first_ends("吗?") || first_ends("吗？"))) return true;
  }
  if (starts("any ") && !has({"update", "news", "order", "refund", "deliver", "my ", "status", "word on"})) return true;
  return has({"有货", "几款", "有吗", "有没有", "有黑色", "有白色", "什么颜色", "哪些颜色", "有哪些", "想找个",
              "想找一", "想买个", "想买一", "你们有", "你家有", "啥款", "什么款", "几种颜色", "哪几种",
              "几个颜色", "啥颜色", "想要个", "想要一", "想入手", "求推荐"});
}

// "你们卖加湿器吗", "got any high waisted jeans?": whether the shop sells
// something, named or not in the catalogue.
bool AsksWhetherSold(const std::string& t) {
  const std::string_view s = utf8::Trim(t);
  auto starts = [&](std::string_view w) { return s.substr(0, w.size()) == w; };
  auto ends = [&](std::string_view w) { return s.size() >= w.size() && s.substr(s.size() - w.size()) == w; };
  bool sells = false;
  for (std::string_view w : {"你们卖", "你家卖", "你们有卖", "你们家卖", "你们店卖"})
    sells |= s.find(w) != std::string_view::npos;
  return (sells && (ends("吗") || ends("吗?") || ends("吗？") || ends("不") || ends("么"))) || starts("got any ") ||
         starts("you got any ") || starts("do you guys sell") || starts("you sell ");
}

// "有没有上门清洗空调的服务", "do you have a military discount", "买iPhone有没有国补":
// a service, a discount or a subsidy is no goods to look up in the catalogue.
// Buying for someone ("想给老公买件免烫衬衫", "想给我爸买个剃须刀 你们有吗", "any
// gift ideas for my gf?"): goods wanted, so the catalogue.
bool BuysForSomeone(const std::string& t) {
  for (std::string_view w : {"gift idea", "gift for", "present for", "birthday present", "something for my"})
    if (t.find(w) != std::string::npos) return true;
  const std::vector<char32_t> cps = utf8::Decode(utf8::IsValid(t) ? t : utf8::Sanitize(t));
  // "想找一件保暖的羽绒外套", "想找个轻薄的本子": looking for goods of a kind.
  const std::u32string text(cps.begin(), cps.end());
  for (std::u32string_view look : {U"想找一", U"想找个", U"想找件", U"想找款", U"想找双", U"想找台", U"找一件", U"找一款"})
    if (text.find(look) != std::u32string::npos && NamesGoodsOrBrand(t)) return true;
  for (size_t i = 0; i < cps.size(); ++i) {
    if (cps[i] != U'给') continue;
    for (size_t j = i + 1; j < cps.size() && j <= i + 6; ++j) {
      if (cps[j] != U'买' || j + 1 >= cps.size()) continue;
      for (char32_t m : U"个件台双款支瓶套点一些")
        if (m && cps[j + 1] == m) return true;
    }
  }
  return false;
}

// What named goods cost ("扫地机器人多少钱", "dyson vacuum price?"): the catalogue's
// price, not a fee ("空调安装费多少钱", "how much is shipping for the fridge").
bool AsksPriceOfGoods(const std::string& t) {
  auto has = [&](std::initializer_list<std::string_view> ws) { return HasAny(t, ws); };
  if (!has({"多少钱", "价格", "价钱", "啥价", "什么价", "price", "how much", "cost"})) return false;
  if (has({"费", "运", "邮", "安装", "维修", "保修", "延保", "以旧换新", "差价", "退", "换", "保价", "fee", "shipping",
           "delivery", "install", "repair", "warranty", "refund", "return", "difference", "drop"}))
    return false;
  return NamesGoodsOrBrand(t);
}

bool AsksForAService(const std::string& t) {
  for (std::string_view w : {"服务", "service", "discount", "折扣", "补贴", "国补", "program", "优惠", "活动", "deal",
                             "promotion", "policy", "政策", "membership", "会员", "客服", "人工", "热线", "hotline",
                             // Paying by instalments and its fees ("手机想分12期付 有没有额外费用").
                             "分期", "手续费", "利息", "免息", "额外费用", "instalment", "installment"})
    if (t.find(w) != std::string::npos) return true;
  return false;
}

// "把我所有的订单列一下", "订单全部列出来", "我都买了啥", "order history pls":
// the customer's own orders as a list. All/every with an order word and a
// verb of showing (or nothing else said), or what the customer bought.
bool AsksForOrderList(const std::string& t) {
  auto has = [&](std::initializer_list<std::string_view> ws) { return HasAny(t, ws); };
  const bool all = has({"所有", "全部", "全都", "都"});
  const bool orders = has({"订单", "单子", "order", "下的单", "下过的单", "个单", "名下的单", "几单"});
  const bool show = has({"列", "看", "查", "显示", "给我", "有哪些", "list"});
  if (all && orders && (show || utf8::Length(t) <= 10)) return true;
  if (has({"订单", "order", "下的单", "单子"}) && has({"list", "列表", "清单", "列一下", "列出", "全列", "history", "记录"}))
    return true;
  // "我名下的订单", "我账号下的单": everything under the customer's name.
  // ("用我个人账户下的单 抬头能写单位吗" asks about the invoice.)
  if (has({"名下", "账号下", "账户下"}) && has({"订单", "单"}) && (show || utf8::Length(t) <= 12) &&
      !has({"发票", "抬头", "开票"}))
    return true;
  if (has({"我"}) && has({"都买了啥", "都买过啥", "都买了什么", "都买过什么", "都买了哪些", "买过啥", "买过什么",
                          "买过哪些", "家买过啥", "家买了啥", "都在你们家买"}))
    return true;
  // "我最近都买了些啥 列一下", "我在你们这儿有订单吗", "i wanna see all my purchases".
  if (has({"我"}) && has({"都买了些", "都买过些", "买了些啥", "买过些啥", "买了些什么", "买过些什么"})) return true;
  // "我这几个月都在你们这买了啥 全给我看看": what was bought, all of it shown.
  if (has({"我"}) && has({"买了啥", "买了什么", "买了哪些", "买的东西"}) && has({"全", "都", "所有"}) &&
      has({"看看", "列", "给我看", "show"}))
    return true;
  if (has({"有订单吗", "有没有订单", "有没有我的订单", "下过单吗", "有没有下过单", "有我的订单吗"})) return true;
  if (has({"all my", "all of my", "every order", "every purchase", "my recent"}) &&
      has({"purchase", "bought", "ordered", "orders", "order"}) &&
      has({"see", "show", "list", "view", "check", "look", "pull up", "bring up"}))
    return true;
  return has({"order history", "purchase history", "past orders", "previous orders", "everything i've ordered",
              "everything i ordered", "everything i bought", "everything i've bought", "all of my orders",
              "list everything", "what have i bought", "what i've bought", "what did i buy"});
}

// "在吗 问个事", "你好 有个问题", "hi, quick question": a greeting that says a
// question follows, which the customer is asked for (not greeted back).
bool AnnouncesAQuestion(const std::string& t) {
  for (std::string_view w : {"问个", "问一下", "问下", "有个事", "有事", "有个问题", "有问题", "请教", "咨询", "问问",
                             "想问", "question", "ask you", "ask something", "need help", "help me"})
    if (t.find(w) != std::string::npos) return true;
  return false;
}

// "订单显示运输中一会儿显示派送中 这俩啥意思", "what does 'out for delivery'
// mean": what a word or status means, not how one order stands.
bool AsksWhatItMeans(const std::string& t) {
  for (std::string_view w : {"啥意思", "什么意思", "是啥", "有啥区别", "有什么区别", "啥区别", "什么区别", "区别是",
                             "什么状态", "啥状态", "what does", "what do", "mean?", "means?", "difference between"})
    if (t.find(w) != std::string::npos) {
      // "我的快递是啥情况": not a meaning; "是啥" only with a status word.
      if (w == "是啥" && t.find("状态") == std::string::npos && t.find("中") == std::string::npos) continue;
      if ((w == "what does" || w == "what do") && t.find("mean") == std::string::npos) continue;
      return true;
    }
  return false;
}

// A question as well as the thanks ("退款多久到呀🙏", "thanks, when will it ship?").
// "退的钱一直没收到", "快递还没到 谢谢", "知道了 我要退货", "收到了 但是坏的", "ok but
// where is it": something missing, wanted or wrong follows the pleasantry, which
// therefore ends nothing.
bool SaysMoreThanCourtesy(const std::string& t) {
  for (std::string_view w : {"没收到", "未收到", "没有收到", "收不到", "没到", "未到", "还没", "没见", "退款", "never got",
                             "haven't got", "haven't received", "not received", "didn't get", "still no",
                             // A "but", a want, a return or a fault, the parcel or the order.
                             "但", "可是", "不过", "but ", "however", "我要", "我想", "退", "换", "坏", "破", "不要",
                             "取消", "投诉", "快递", "包裹", "订单", "where", "refund", "return", "broken", "cancel"})
    if (t.find(w) != std::string::npos) return true;
  return false;
}

bool AsksSomething(const std::string& t) {
  for (std::string_view w : {"吗", "？", "?", "多久", "怎么", "什么", "啥", "几", "哪", "能不能", "可以", "是不是", "how",
                             "what", "when", "where", "can i", "could", "why"})
    if (t.find(w) != std::string::npos) return true;
  return false;
}

constexpr std::array<std::string_view, 9> kThanks = {"谢谢", "感谢", "多谢", "thank", "thx", "好的谢", "辛苦了",
                                                      "谢了", "谢啦"};
// Goodbyes and plain acknowledgements ("好的", "知道了", "👍"): nothing to act on.
constexpr std::array<std::string_view, 18> kGoodbye = {"再见", "拜拜", "没事了", "没有了", "bye", "就这样", "没问题了",
                                                       "晚安", "知道了", "明白了", "行吧", "收到", "好的", "嗯嗯",
                                                       "okay", "got it", "👍", "🙏"};

// Nothing but pleasantries, however many ("好的 谢谢亲 辛苦啦🌹", "嗯嗯 知道了 谢啦",
// "👌👌"): what is left after the courtesy words, a friendly emoji, spaces and
// punctuation is nothing. 1 = with thanks, 2 = an acknowledgement only, 0 = no.
int OnlyCourtesy(const std::string& t) {
  static constexpr std::string_view kThankWords[] = {"谢谢", "感谢", "多谢", "谢啦", "谢了", "辛苦了", "辛苦啦", "辛苦",
                                                     "thanks", "thank you", "thx", "ty", "3q", "感恩", "tks"};
  static constexpr std::string_view kAckWords[] = {
      "好的", "好滴", "好嘞", "好哒", "好吧", "嗯嗯", "嗯", "知道了", "明白了", "明白", "了解了", "了解", "收到了", "收到",
      "行吧", "行", "可以了", "没事了", "没问题", "okk", "ok", "okay", "got it", "cool", "great", "亲爱的", "亲", "哈哈",
      "拜拜", "再见", "bye", "晚安", "回见",
      // Praise in chat slang ("yyds 爱了爱了 😘 谢啦").
      "yyds", "爱了", "给力", "点赞", "绝绝子", "太棒了", "真棒", "好评"};
  // Particles and pronouns go with the words above, never count alone ("啊啊啊…").
  static constexpr std::string_view kParticles[] = {"啦", "哈", "呀", "哦", "噢", "啊", "您", "你", "了", "的"};
  static constexpr char32_t kFriendly[] = {U'👌', U'👍', U'🙏', U'😊', U'🌹', U'❤', U'🤝', U'✅', U'💐', U'😁', U'😘',
                                           U'😄', U'🥰', U'☺', U'🙂', U'😀', U'💕', U'🌸', U'✌', U'🤗', U'👋', U'\uFE0F'};
  std::string rest = t;
  bool thanks = false;
  auto strip = [&](std::string_view w) {
    bool found = false;
    for (size_t at = rest.find(w); at != std::string::npos; at = rest.find(w)) {
      rest.replace(at, w.size(), " ");
      found = true;
    }
    return found;
  };
  for (auto w : kThankWords) thanks |= strip(w);
  bool ack = false;
  for (auto w : kAckWords) ack |= strip(w);
  for (auto w : kParticles) strip(w);
  bool friendly = false;
  for (char32_t c : utf8::Decode(utf8::IsValid(rest) ? rest : utf8::Sanitize(rest))) {
    if (std::find(std::begin(kFriendly), std::end(kFriendly), c) != std::end(kFriendly)) {
      friendly = true;
      continue;
    }
    const bool space_or_punct = c < 0x80 ? !std::isalnum(static_cast<int>(c))
                                         : (c >= 0x3000 && c <= 0x303F) || (c >= 0xFF00 && c <= 0xFF0F) ||
                                               c == U'～' || c == U'！' || c == U'？' || c == U'，' || c == U'…';
    if (!space_or_punct) return 0;
  }
  if (thanks) return 1;
  return ack || friendly ? 2 : 0;
}

std::optional<int> ReadChoice(const std::string& t) {
  std::string s(utf8::Trim(t));
  static const std::array<std::pair<std::string_view, int>, 10> kWords = {{{"第一个", 1},
                                                                            {"第二个", 2},
                                                                            {"第三个", 3},
                                                                            {"第四个", 4},
                                                                            {"第五个", 5},
                                                                            {"第1个", 1},
                                                                            {"第2个", 2},
                                                                            {"第3个", 3},
                                                                            {"第4个", 4},
                                                                            {"第5个", 5}}};
  for (auto& [w, n] : kWords)
    if (s.find(w) != std::string::npos) return n;
  if (s.size() == 1 && s[0] >= '1' && s[0] <= '9') return s[0] - '0';
  if (s.size() == 3 && s.rfind("\xEF\xBC", 0) == 0) {  // full-width digit １..９
    unsigned char c = s[2];
    if (c >= 0x91 && c <= 0x99) return c - 0x90;
  }
  return std::nullopt;
}

// "冰箱有双开门的吗", "有高腰的吗": a kind of goods asked for.
bool AsksForAKind(const std::string& t) {
  const std::vector<char32_t> cps = utf8::Decode(utf8::IsValid(t) ? t : utf8::Sanitize(t));
  for (size_t i = 0; i < cps.size(); ++i) {
    if (cps[i] != U'有') continue;
    for (size_t j = i + 2; j + 1 < cps.size() && j <= i + 9; ++j) {
      if (cps[j] != U'的') continue;
      // "有加绒的吗", "有加绒的没", "有大容量的冰箱吗": a kind, then at most a few
      // characters naming the goods, then the question.
      for (size_t k = j + 1; k < cps.size() && k <= j + 4; ++k) {
        const char32_t c = cps[k];
        if (c == U'吗' || c == U'不' || c == U'么' || c == U'没') return true;
        if (c < 0x3400 || c > 0x9FFF) break;
      }
    }
  }
  return false;
}

// A price cap: "三千以内", "2000块以下", "under 2000", "below ¥500" (yuan).
std::optional<double> PriceCap(const std::string& t) {
  static const std::regex kLatin(R"((?:under|below|less than|cheaper than)\s*(?:¥|rmb|cny)?\s*(\d{2,6}))");
  std::smatch m;
  if (std::regex_search(t, m, kLatin)) return std::stod(m[1].str());
  static const std::regex kDigits(R"((\d{2,6})\s*(?:块|元)?\s*(?:以内|以下|之内|内))");
  if (std::regex_search(t, m, kDigits)) return std::stod(m[1].str());
  // 三千以内, 两千五以下, 五百块以内
  const std::vector<char32_t> cps = utf8::Decode(utf8::IsValid(t) ? t : utf8::Sanitize(t));
  auto digit = [](char32_t c) -> int {
    const std::u32string_view d = U"零一二三四五六七八九";
    if (c == U'两') return 2;
    size_t at = d.find(c);
    return at == std::u32string_view::npos ? -1 : static_cast<int>(at);
  };
  for (size_t i = 0; i + 1 < cps.size(); ++i) {
    const int a = digit(cps[i]);
    if (a <= 0) continue;
    double unit = cps[i + 1] == U'千' ? 1000 : cps[i + 1] == U'百' ? 100 : cps[i + 1] == U'万' ? 10000 : 0;
    if (unit == 0) continue;
    double v = a * unit;
    size_t j = i + 2;
    if (j < cps.size() && digit(cps[j]) > 0) v += digit(cps[j++]) * unit / 10;  // 两千五
    while (j < cps.size() && (cps[j] == U'块' || cps[j] == U'元' || cps[j] == U' ')) ++j;
    if (j < cps.size() && (cps[j] == U'以' || cps[j] == U'之' || cps[j] == U'内')) return v;
  }
  return std::nullopt;
}

std::string StripProductWords(std::string t) {
  static constexpr std::string_view kStrip[] = {
      "请问", "你们", "有没有卖", "有没有", "有卖", "推荐一下", "推荐", "多少钱", "价格", "价钱", "还有货吗",
      "有货吗", "还有货", "库存", "想买", "一款", "一个", "卖不卖", "卖吗", "有几款", "几款", "哪些牌子", "什么牌子",
      "卖哪些", "有啥", "以内", "以下", "之内", "的", "吗", "呢", "？", "?", "有", "卖"};
  // The price cap's number ("三千", "2000块"), by code point (std::regex reads bytes).
  {
    const std::vector<char32_t> cps = utf8::Decode(utf8::IsValid(t) ? t : utf8::Sanitize(t));
    const std::u32string_view numerals = U"一二三四五六七八九两";
    std::string kept;
    for (size_t i = 0; i < cps.size();) {
      size_t j = i;
      if (cps[i] >= U'0' && cps[i] <= U'9') {
        while (j < cps.size() && cps[j] >= U'0' && cps[j] <= U'9') ++j;
        if (j - i < 2) j = i;
      } else if (numerals.find(cps[i]) != std::u32string_view::npos && i + 1 < cps.size() &&
                 (cps[i + 1] == U'千' || cps[i + 1] == U'百' || cps[i + 1] == U'万')) {
        j = i + 2;
        if (j < cps.size() && numerals.find(cps[j]) != std::u32string_view::npos) ++j;
      }
      if (j > i) {
        while (j < cps.size() && (cps[j] == U'块' || cps[j] == U'元')) ++j;
        i = j;
        continue;
      }
      utf8::Append(kept, cps[i++]);
    }
    t = std::move(kept);
  }
  for (auto w : kStrip) {
    for (size_t p; (p = t.find(w)) != std::string::npos;) t.erase(p, w.size());
  }
  return std::string(utf8::Trim(t));
}

}  // namespace

std::string_view ActionName(Action a) {
  switch (a) {
    case Action::kNone: return "faq";
    case Action::kHuman: return "human";
    case Action::kTrackLogistics: return "track_logistics";
    case Action::kOrderStatus: return "order_status";
    case Action::kListOrders: return "list_orders";
    case Action::kProductSearch: return "product_search";
    case Action::kGreeting: return "greeting";
    case Action::kThanks: return "thanks";
    case Action::kGoodbye: return "goodbye";
  }
  return "faq";
}

std::string CustomerLanguage(std::string_view text) {
  int han = 0, latin = 0;
  for (char32_t c : utf8::Decode(utf8::IsValid(text) ? std::string(text) : utf8::Sanitize(text))) {
    if ((c >= 0x3400 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF)) ++han;
    else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) ++latin;
  }
  return han == 0 && latin >= 2 ? "en" : "zh";
}

TurnReading ReadTurn(std::string_view raw) {
  TurnReading r;
  std::string t = text::ExpandChatEnglish(utf8::AsciiLower(raw));
  static const std::regex kOrderId(R"((so\d{8,20}))", std::regex::icase);
  std::smatch m;
  if (std::regex_search(t, m, kOrderId)) {
    std::string id = m[1].str();
    for (auto& c : id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    r.order_id = id;
  }
  r.choice = ReadChoice(t);
  r.refers_back = ContainsAny(t, kBackRef);
  const size_t len = utf8::Length(utf8::Trim(utf8::AsciiLower(raw)));
  const bool order_ref = ContainsAny(t, kOrderRef) || r.order_id.has_value();
  // English small talk is longer than Chinese ("thank you so much!").
  const bool latin_only = std::none_of(t.begin(), t.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });

  if (DetectHumanNeed(raw).asks_for_human) {  // abuse is routing's (abuse-to-human), not a bot reply
    r.action = Action::kHuman;
    r.strong = true;
  } else if (AsksWhatItMeans(t) && !r.order_id) {
    // "运输中和派送中啥意思": what a status means, the knowledge base's (kNone).
  } else if (ContainsAny(t, std::array<std::string_view, 9>{"有几单", "有几个订单", "有几笔订单", "哪些单", "哪些订单",
                                                           "how many orders", "多少单", "几个单", "几笔单"}) &&
             !AsksWhereToLook(t)) {
    // "我有几单还没到？": how many, so the list, even with a parcel word.
    r.action = Action::kListOrders;
    r.strong = true;
  } else if ((ContainsAny(t, kTrack) && (!ContainsAny(t, kMoney) || order_ref)) ||
             (r.order_id && ContainsAny(t, kParcel)) || (latin_only && EnglishParcelQuestion(t))) {
    r.action = Action::kTrackLogistics;
    r.strong = order_ref || r.refers_back;
  } else if ((ContainsAny(t, kListOrders) || BareOrdersRequest(t) || AsksForOrderList(t)) && !AsksWhereToLook(t)) {
    r.action = Action::kListOrders;
    r.strong = true;
  } else if (ContainsAny(t, kOrderStatus) || (r.order_id && len <= 60)) {
    r.action = Action::kOrderStatus;
    r.strong = true;
  } else if ((ContainsAny(t, kProduct) || AsksForAKind(t) || PriceCap(t) || AsksAboutNamedGoods(raw, t) ||
              AsksWhetherSold(t) || BuysForSomeone(t) || AsksPriceOfGoods(t)) &&
             !AsksForAService(t)) {
    r.action = Action::kProductSearch;
    r.product_query = StripProductWords(std::string(utf8::Trim(raw)));
    r.max_price = PriceCap(t);
    // Asking to buy or be recommended goods: the catalogue first.
    r.strong = AsksPriceOfGoods(t) ||
               ContainsAny(t, std::array<std::string_view, 14>{"do you sell", "有没有卖", "有卖", "卖吗", "推荐",
                                                               "recommend", "looking for", "do you carry", "any good",
                                                               "哪款好", "do you have any", "got any",
                                                               "have you got", "do you guys have"}) ||
               AsksAboutNamedGoods(raw, t);
  } else if (((len <= 8 || (latin_only && len <= 32)) && ContainsAny(t, kThanks) && !AsksSomething(t) &&
               !SaysMoreThanCourtesy(t)) ||
             OnlyCourtesy(t) == 1) {
    r.action = Action::kThanks;
    r.strong = true;
  } else if (((len <= 8 || (latin_only && len <= 24)) && ContainsAny(t, kGoodbye) && !AsksSomething(t) &&
               !SaysMoreThanCourtesy(t)) ||
             OnlyCourtesy(t) == 2) {
    r.action = Action::kGoodbye;
    r.strong = true;
  } else if (((len <= 6 && ContainsAny(t, kGreeting)) || (len <= 8 && ContainsAny(t, std::array<std::string_view, 6>{
                                                                           "早上好", "上午好", "中午好", "下午好",
                                                                           "晚上好", "早安"})) ||
              EnglishGreetingOnly(t)) &&
             !AnnouncesAQuestion(t)) {
    r.action = Action::kGreeting;
    r.strong = true;
  }
  return r;
}

}  // namespace kefu::dialogue
