#include "dialogue/third_party.h"

#include <cctype>

#include "common/utf8.h"

namespace kefu::dialogue {
namespace {

// Other shopping platforms.
constexpr std::string_view kPlatforms[] = {"京东商城", "京东", "淘宝", "天猫", "拼多多", "苏宁", "抖音", "快手", "唯品会",
                                           "亚马逊", "amazon", "jd.com", "taobao", "tmall", "pinduoduo", "虾皮", "shopee",
                                           "momo", "lazada", "得物", "小红书", "闲鱼", "美团", "饿了么", "盒马",
                                           "携程", "滴滴", "大众点评", "meituan", "uber eats"};
// Carriers and brands: the shop works with them, but their own hotlines and
// policies are theirs.
constexpr std::string_view kCompanies[] = {
    "顺丰", "中通", "圆通", "韵达", "申通", "邮政", "ems", "京东物流", "德邦", "sf express", "小米", "华为", "苹果",
    "apple", "戴森", "dyson", "索尼", "sony", "联想", "lenovo", "美的", "海尔", "格力", "九阳", "苏泊尔", "飞利浦",
    "大疆", "dji", "兰蔻", "雅诗兰黛", "欧莱雅", "优衣库", "李宁", "xiaomi", "huawei"};
// What belongs to that company when it is named right before it.
constexpr std::string_view kTheirs[] = {"客服电话", "客服", "电话", "人工电话", "人工热线", "人工客服", "售后电话", "售后热线", "热线", "官网", "官方",
                                        "门店", "政策", "规定", "规则", "投诉电话", "投诉热线", "售后网点", "网点",
                                        "维修点", "维修网点", "售后点", "服务中心", "服务网点", "customer service",
                                        "hotline", "phone number", "'s number", "'s phone", "support", "policy",
                                        "website", "service center", "service centre", "repair center",
                                        "repair centre"};

// `name` at `at` in `t` stands as a word: Latin names not inside a longer word.
bool Standalone(const std::string& t, size_t at, std::string_view name) {
  if (static_cast<unsigned char>(name[0]) >= 0x80) return true;
  const bool start = at == 0 || !std::isalnum(static_cast<unsigned char>(t[at - 1]));
  const size_t end = at + name.size();
  const bool stop = end >= t.size() || !std::isalnum(static_cast<unsigned char>(t[end]));
  return start && stop;
}

// What follows `name` (skipping 的, spaces and a possessive) starts with one of `words`.
template <size_t N>
bool Followed(const std::string& t, size_t after, const std::string_view (&words)[N]) {
  std::string_view rest = std::string_view(t).substr(after);
  for (bool skipped = true; skipped;) {
    skipped = false;
    for (std::string_view skip : {" ", "的", "家", "那边", "那里", "自己", "快递", "速运", "外卖", "'s", "’s"})
      if (rest.substr(0, skip.size()) == skip) {
        rest.remove_prefix(skip.size());
        skipped = true;
      }
  }
  for (std::string_view w : words)
    if (rest.substr(0, w.size()) == w) return true;
  return false;
}

}  // namespace

ThirdParty AboutAThirdParty(std::string_view raw) {
  ThirdParty r;
  const std::string t = utf8::AsciiLower(utf8::IsValid(raw) ? std::string(raw) : utf8::Sanitize(raw));
  auto found = [&](std::string_view name) {
    r.is = true;
    r.who = std::string(name);
    return r;
  };
  for (std::string_view name : kPlatforms) {
    for (size_t at = t.find(name); at != std::string::npos; at = t.find(name, at + 1)) {
      if (!Standalone(t, at, name)) continue;
      const size_t after = at + name.size();
      // Bought there: "京东买的", "在淘宝上买的", "bought on amazon".
      static constexpr std::string_view kBought[] = {"买的", "上买的", "下的单", "购买的", "买了", "上买"};
      // Their own promotions and services: "淘宝的退货运费险", "天猫双十一", "京东的价保".
      static constexpr std::string_view kTheirServices[] = {
          "运费险", "退货险", "价保", "保价", "活动", "双十一", "双11", "双十二", "双12", "618", "会员", "88vip", "plus会员",
          "优惠", "红包", "补贴", "规则", "退货", "退款", "售后", "包邮", "运费", "积分", "return", "refund", "prime",
          "sale", "shipping", "membership", "开店", "开的店", "有店", "店铺", "旗舰店", "store", "shop"};
      if (Followed(t, after, kBought) || Followed(t, after, kTheirs) || Followed(t, after, kTheirServices))
        return found(name);
      const std::string_view before = std::string_view(t).substr(0, at);
      for (std::string_view w : {"bought on ", "bought it on ", "bought from ", "ordered on ", "price match with ",
                                 "price-match with ", "比", "跟", "和", "does ", "do ", "will ", "can ", "is ",
                                 "on ", "at "})
        if (before.size() >= w.size() && before.substr(before.size() - w.size()) == w) return found(name);
      // Comparisons: "does Amazon have a better return policy than you?", "京东比你们便宜".
      for (std::string_view w : {"than you", "比你们", "比你家", "compared to you", "price match", "价格一样", "便宜"})
        if (t.find(w) != std::string::npos) return found(name);
    }
  }
  // A shop of ours on another platform, named or not ("你們在momo上也有開店嗎",
  // "你们在虾皮有店吗", "do you have a store on shopee"): the platform's business.
  for (std::string_view store : {"开店", "有店", "开了店", "旗舰店", "有没有店", "官方店", "store on", "shop on"}) {
    const size_t at = t.find(store);
    if (at == std::string::npos) continue;
    const std::string_view before = std::string_view(t).substr(0, at);
    const size_t on = before.rfind("在");
    if (on != std::string::npos && at - on <= 3 * 8 && before.substr(on).find("上") != std::string_view::npos) {
      std::string who(before.substr(on + 3));
      who = who.substr(0, who.find("上"));
      return found(who.empty() ? std::string_view("其他平台") : std::string_view(who));
    }
    if (store == "store on" || store == "shop on") {
      std::string who(std::string_view(t).substr(at + store.size()));
      who = std::string(utf8::Trim(who.substr(0, who.find_first_of("?!.,"))));
      if (!who.empty()) return found(who);
    }
  }
  for (std::string_view name : kCompanies) {
    for (size_t at = t.find(name); at != std::string::npos; at = t.find(name, at + 1)) {
      if (!Standalone(t, at, name)) continue;
      if (Followed(t, at + name.size(), kTheirs)) return found(name);
    }
  }
  return r;
}

}  // namespace kefu::dialogue
