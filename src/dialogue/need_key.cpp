#include "dialogue/need_key.h"

#include "dialogue/intent_rules.h"
#include "dialogue/order_mention.h"

namespace kefu::dialogue {

std::string NeedKey(const knowledge::KnowledgeBase& kb, const std::string& tenant, const std::string& text,
                    double min_confidence, int top_k) {
  // The same reading and search as the bot's first retrieval (memoised per thread).
  const std::string understood = kb.Understandable(tenant, text);
  if (AsksAboutParcel(understood) && !AsksHowThingsUsuallyGo(understood) &&
      understood.find("退款") == std::string::npos && understood.find("钱") == std::string::npos &&
      understood.find("refund") == std::string::npos) {
    const TurnReading r = ReadTurn(understood);
    return "order:where:" + r.order_id.value_or("") + ":" + GoodsWords(understood);
  }
  auto top = kb.Search(tenant, understood, top_k, CustomerLanguage(understood) == "en" ? "en" : "");
  if (top.empty() || top.front().confidence < min_confidence) return std::string();
  std::string id = top.front().id;
  if (auto dot = id.rfind('.'); dot != std::string::npos && id.size() - dot <= 4) id.resize(dot);
  return id;
}

}  // namespace kefu::dialogue
