// Rule-based reading of a customer turn for the grounded (no-LLM) responder:
// which business action the customer asks for, and the slots in the text.
// Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kefu::dialogue {

enum class Action {
  kNone,          // nothing specific: answer from the knowledge base
  kHuman,         // explicit request for a human agent
  kTrackLogistics,
  kOrderStatus,
  kListOrders,
  kProductSearch,
  kGreeting,
  kThanks,
  kGoodbye,
};

struct TurnReading {
  Action action = Action::kNone;
  bool strong = false;                  // the action is unambiguous (explicit order reference etc.)
  bool refers_back = false;             // "它", "这个订单", "那个" ...: refers to an earlier order
  std::optional<std::string> order_id;  // e.g. "SO202611010001"
  std::optional<int> choice;            // "1", "第二个": picks an option we offered
  std::string product_query;            // for kProductSearch: the product words
  std::optional<double> max_price;      // for kProductSearch: "三千以内", "under 2000" (yuan)
};

TurnReading ReadTurn(std::string_view text);

std::string_view ActionName(Action a);

// The language a customer wrote in: "en" for Latin letters and no Chinese
// (two letters at least), else "zh". The bot answers in it and searches the
// knowledge base in it first.
std::string CustomerLanguage(std::string_view text);

}  // namespace kefu::dialogue
