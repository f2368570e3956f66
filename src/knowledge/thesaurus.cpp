#include "knowledge/thesaurus.h"

namespace kefu::knowledge {

const std::vector<std::vector<std::string>>& EnglishThesaurus() {
  // Shopping and after-sale vocabulary only: each group is words a customer
  // may use for what an entry names. No word that is common in other senses
  // ("take", "run", "fit" alone).
  static const std::vector<std::vector<std::string>> groups = {
      {"annual", "yearly", "per year", "a year", "every year"},
      {"colour", "color"},
      {"sensitive skin", "reactive skin", "skin is reactive", "skin is really reactive", "irritated skin",
       "skin reacts", "skin gets red"},
      {"fee", "charge", "surcharge"},
      {"expire", "expiry", "expiration", "run out", "runs out", "lapse", "valid until", "use by"},
      {"accept", "work with"},
      {"payment method", "pay with", "pay by", "apple pay", "google pay", "paypal", "alipay", "wechat pay", "union pay",
       "unionpay", "visa", "mastercard", "debit card"},
      {"refund", "money back", "reimburse", "reimbursement", "get my money", "paid back"},
      {"return", "send back", "send it back", "ship back", "post back", "take back", "bring back"},
      {"exchange", "swap", "replacement", "replace"},
      {"arrive", "get here", "turn up", "show up"},
      {"damaged", "broken", "cracked", "shattered", "smashed", "dented", "crushed", "defective", "faulty",
       "stopped working", "not working", "doesn't work", "dead on arrival"},
      {"missing", "wasn't in", "wasnt in", "not in the box", "didn't come with", "left out", "only got half",
       "only got part"},
      {"separately", "separate parcel", "separate package", "more than one parcel", "another parcel", "second parcel"},
      {"change address", "change the address", "different address", "redirect", "send somewhere else", "wrong address"},
      {"invoice", "receipt", "fapiao", "tax receipt", "vat receipt", "billing document"},
      {"coupon", "voucher", "promo code", "discount code"},
      {"points", "reward points", "loyalty points", "credits"},
      {"membership", "member", "vip", "tier", "loyalty"},
      {"hours", "opening hours", "working hours", "clock off", "finish work", "knock off", "open until",
       "closing time"},
      {"phone number", "hotline", "call you", "ring you", "telephone"},
      {"size", "too small", "too big", "too tight", "too loose", "too short", "too long", "sizing"},
      {"warranty", "guarantee", "guaranteed"},
      {"install", "installation", "set up", "mount", "mounting", "fitting"},
      {"instalment", "installment", "pay monthly", "monthly payments", "pay later", "financing", "huabei",
       "interest free", "spread the cost"},
      {"cash on delivery", "pay on delivery", "cod", "pay cash", "pay in cash", "cash to the courier",
       "driver cash", "courier cash", "cash at the door", "cash at my door", "cash when it arrives"},
      {"change the quantity", "change quantity", "wrong quantity", "by mistake", "fewer items", "one less", "one fewer"},
      {"freight collect", "receiver pays", "unpaid", "postage due", "pay on arrival"},
      {"counterfeit", "fake", "knockoff", "knock off", "genuine", "authentic"},
      {"overseas", "abroad", "international", "outside china", "another country"},
      {"reception", "front desk", "concierge", "doorman", "security guard", "mailroom", "parcel locker", "locker"},
      {"delivered", "signed for", "marked as delivered", "says delivered", "shows delivered"},
      {"out of stock", "sold out", "unavailable", "no stock"},
      {"restock", "back in stock", "in stock again"},
      {"free gift", "freebie", "sample"},
      {"cancel", "call off"},
      {"password", "log in", "login", "sign in", "locked out"},
      {"price drop", "cheaper now", "price went down", "price protection", "price match"},
      {"slow", "taking forever", "taking ages", "so long"},
      {"courier", "delivery guy", "delivery man", "driver", "postman"},
      {"delete account", "delete my account", "close my account", "account gone", "get rid of my account",
       "remove my account", "deactivate", "account deleted", "wipe my account"},
      {"trade in", "trade-in", "old one for", "give you my old", "swap my old", "old iphone", "old phone",
       "pay less for the new"},
      {"pay for all", "pay all of them", "pay them all", "pay together", "pay at once", "all at once",
       "combine payment", "combined payment", "one payment"},
      {"shelf life", "how long does it last", "how long can i keep", "use within", "once opened", "after opening"},
      {"return shipping", "shipping back", "send it back who pays", "who covers the shipping", "who pays shipping",
       "who pays the postage", "return postage"},
  };
  return groups;
}

const std::vector<std::vector<std::string>>& ChineseThesaurus() {
  // Shop talk only, as customers write it beside the words an entry uses: out
  // of stock, tags, points as money, warranty length. No word that
  // means something else in a shop (怎么办 and 咋整 are in every question).
  static const std::vector<std::vector<std::string>> groups = {
      {"缺货", "没货", "断货", "售罄", "库存不足", "没库存", "卖完了", "莫得货", "无货", "断码"},
      {"吊牌", "标签", "标牌"},
      {"顺丰", "顺风快递", "顺风"},
      {"保修期", "保多久", "保多长时间", "保修多久", "保修多长时间", "质保期", "保几年"},
      {"抵扣", "抵现", "抵钱", "当钱用", "抵多少钱", "等于几块钱", "换成钱"},
      {"补差价", "加钱", "补钱", "差价我补", "多的钱我出"},
      {"没到账", "钱没到", "没收到钱", "钱没退回来", "钱还没回来", "没进账", "没入账"},
      {"到账", "进账", "入账"},
      // Taiwan and Hong Kong words for the same things (the traditional characters are folded first).
      {"空调", "冷气"}, {"门店", "门市"}, {"笔记本电脑", "笔电"}, {"发货", "出货"}, {"报销", "报帐", "报账"},
      {"优惠券", "折价券"}, {"客服", "客服人员"}, {"网购", "网拍"},
  };
  return groups;
}

}  // namespace kefu::knowledge
