// Whether a question is about another company rather than this shop:
// another platform's or a carrier's or a brand's own contact or policy
// ("顺丰的客服电话是多少", "小米的售后电话", "does Amazon have a better return
// policy than you?"), goods bought elsewhere ("京东买的东西能在你们这退吗"), or
// matching another platform's price ("price match with JD.com"). The shop's
// knowledge base answers for the shop only, so such a question gets an honest
// "don't know" instead of the shop's own entry, which shares most of its words.
// Pure function, any thread.
#pragma once

#include <string>
#include <string_view>

namespace kefu::dialogue {

struct ThirdParty {
  bool is = false;
  std::string who;  // the company named ("顺丰", "amazon")
};

ThirdParty AboutAThirdParty(std::string_view text);

}  // namespace kefu::dialogue
