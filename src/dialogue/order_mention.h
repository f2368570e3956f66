// Which of the customer's orders a message means, from the product it names
// ("洗衣机到哪儿了", "冰袖发货了吗") and the state it asks about ("还没发货的那单",
// "显示签收了但没收到", "退款"). Pure function over list_orders' summaries.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace kefu::dialogue {

struct OrderMention {
  std::vector<std::string> candidates;  // best first; one = the order meant, several = ask which
  bool by_product = false;              // a product of the customer's orders is named
  bool by_state = false;                // a state cue narrowed the choice
  std::string state;                    // the order status the text asks about ("paid", "delivered", ...)
  // Nothing named, but the customer has exactly one order on its way (paid,
  // shipped, in transit, out for delivery): `candidates` holds it. Whether a
  // parcel question ("寄出了吗？单号多少") means it is the caller's decision.
  bool only_live = false;
};

// `orders`: list_orders' "orders" array (order_id, status, item_summary,
// tracking_no). An order's waybill number in the text names that order.
OrderMention FindOrderMention(std::string_view text, const nlohmann::json& orders);

// The Chinese names of the kinds of goods and brands an English (or mixed)
// text names ("noise-cancelling headphones" → 耳机, "Dyson" → 戴森): the
// catalogue's item names are Chinese.
std::vector<std::string_view> ChineseGoodsNamed(std::string_view text);

// True when `word` (one word, any case; an English one may be given as its
// Porter stem, "headphon") names goods, a kind of goods or a brand the shop's
// customers name: 耳机, 手机, "iphone", "lancome". Such a word is the thing a
// policy question is about, not a topic the knowledge base lacks.
bool NamesGoods(std::string_view word);

// True when the text names goods by kind, brand or English name ("戴森",
// "面霜", "the laptop"): worth reading the customer's orders for.
bool NamesGoodsOrBrand(std::string_view text);
// A question about what goods can do or contain ("扫地机器人能爬过两厘米的门槛吗",
// "iPhone 15 支持双卡吗", "口红含不含铅"): what is asked of them (the words after
// 能/支持/适合/含不含, "爬过两厘米的门槛吗"); "" for anything else, and for what a
// shop answers about its goods (returns, delivery, installation, payment...).
std::string ProductFactPredicate(std::string_view text);
// A figure or make-up of named goods ("电饭煲功率多少瓦", "内胆有没有涂层",
// "洗衣机噪音多少分贝"): the words from the spec asked ("功率多少瓦"); "" for
// anything else. Part of ProductFactPredicate; on its own, it tells a fact
// asked with "有没有" from a search for goods ("平板有能用手写笔的吗" searches).
std::string ProductSpecAsked(std::string_view text);

// The courier cannot be reached ("派件的师傅手机关机 我怎么联系他", "the delivery guy
// won't answer my calls"): what to do then is the knowledge base's, whichever
// parcel it is.
bool CourierUnreachable(std::string_view text);

// Words of how things usually go ("一般几天到", "通常", "usually"), not of one parcel.
bool AsksHowThingsUsuallyGo(std::string_view text);

// The kinds of goods a text names from a fixed list of everyday goods nouns
// (耳机, 冰箱, 外套, 口红 ..., and the English ones in Chinese), sorted and
// joined by '+' ("" = none): which parcel a where-question is about, as far
// as words tell without the customer's orders.
std::string GoodsWords(std::string_view text);

// What item names say for the kinds of goods the text names ("手机" → iphone,
// mate 60, redmi, ...; "电脑" → 笔记本, macbook, ...): shop item names rarely
// say the kind. Empty when no kind is named.
std::vector<std::string_view> KindNames(std::string_view text);

// True when the text talks about an order's progress, money or parcel (到哪,
// 发货, 签收, 退款, 取消, 快递 ...): with a product of the customer's orders
// named, such a message is about that order, not a policy question.
bool HasOrderPredicate(std::string_view text);

// True when the text asks how an order is progressing (where, when, shipped,
// refunded, cancelled, not received). "冰箱收到了 有师傅来装吗" names an order's
// goods and says it arrived, but asks a policy question: not progress.
bool AsksAboutProgress(std::string_view text);

// True when the text asks about a parcel (sent? where? tracking number?),
// not money: with a single order on its way, that order is meant.
bool AsksAboutParcel(std::string_view text);

// True when the text names a city, province or region where a parcel is, passes
// or is going ("还在北京转", "能到重庆吗", "西安那边转运的那台", "stuck in changzhou",
// "when will it get to yangzhou"). The places come from jieba's dictionary
// (scripts/gen_places.py).
bool PlaceInTransit(std::string_view text);

// The Chinese names of the cities, provinces and regions `text` names ("卡在武汉的那个包裹 啥时候能到郑州" →
// 武汉, 郑州), longest first at each position, each once. `where_it_is`: not the
// places a parcel is going to (到郑州, 寄往拉萨, 至兰州; "到武汉了" is where it is).
std::vector<std::string> PlacesNamed(std::string_view text, bool where_it_is = false);

// True when the customer speaks of one of their orders ("我的订单", "还没发货的那单",
// "my package"): a state they name then picks it.
bool NamesOwnOrder(std::string_view text);

}  // namespace kefu::dialogue
