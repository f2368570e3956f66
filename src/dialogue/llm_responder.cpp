#include "dialogue/llm_responder.h"

#include <regex>
#include <set>

#include "common/json.h"
#include "common/log.h"
#include "dialogue/intent_rules.h"

namespace kefu::dialogue {

using nlohmann::json;

LlmResponder::LlmResponder(llm::LlmClient& client, GroundedResponder& grounded, const knowledge::KnowledgeBase& kb,
                           const tools::ToolRegistry& tools, LlmResponderSettings settings)
    : client_(client), grounded_(grounded), kb_(kb), tools_(tools), settings_(std::move(settings)) {}

llm::ChatRequest LlmResponder::BuildRequest(const TurnRequest& turn,
                                            const std::vector<knowledge::Passage>& passages) const {
  llm::ChatRequest req;
  std::string system =
      "你是" + settings_.shop_name +
      "的智能客服。请用简洁、礼貌的中文回答（顾客用英文时用英文）。\n"
      "规则：\n"
      "1. 只依据下面的【参考资料】和工具返回的结果回答，不要编造政策、价格、时间或订单信息。\n"
      "2. 涉及订单、物流、商品时先调用工具查询；顾客没给订单号时，工具会默认查询该顾客最近的订单。\n"
      "3. 使用了某条参考资料时，在相应句子末尾标注编号，例如 [1]。\n"
      "4. 资料和工具都无法回答时，如实说明不知道，并建议顾客回复“转人工”。\n";
  if (!passages.empty()) {
    system += "\n【参考资料】\n";
    for (size_t i = 0; i < passages.size(); ++i)
      system += "[" + std::to_string(i + 1) + "] " + passages[i].title + "\n" + passages[i].text + "\n\n";
  }
  req.messages.push_back({"system", system, {}, ""});
  int start = std::max<int>(0, static_cast<int>(turn.history.size()) - settings_.history_messages);
  for (size_t i = start; i < turn.history.size(); ++i) {
    const auto& m = turn.history[i];
    if (m.role == "customer") req.messages.push_back({"user", m.text, {}, ""});
    else if (m.role == "bot" || m.role == "agent") req.messages.push_back({"assistant", m.text, {}, ""});
  }
  req.messages.push_back({"user", turn.message.text, {}, ""});
  for (const tools::Tool* t : tools_.List())
    req.tools.push_back({std::string(t->Name()), std::string(t->Description()), t->Parameters()});
  req.temperature = settings_.temperature;
  req.max_tokens = settings_.max_tokens;
  req.stream = true;
  return req;
}

TurnReply LlmResponder::Respond(const TurnRequest& turn, const DeltaFn& on_delta) {
  TurnReading reading = ReadTurn(turn.message.text);
  if (reading.action == Action::kHuman) return grounded_.Respond(turn, on_delta);

  auto passages = grounded_.Retrieve(turn, settings_.passages);
  llm::ChatRequest req = BuildRequest(turn, passages);
  json tool_log = json::array();
  tools::ToolContext ctx{turn.conversation.tenant_id, turn.conversation.customer_id, turn.conversation.id};
  ctx.customer_verified = CustomerVerified(turn.context);
  std::string last_order_id;
  bool handoff = false;
  auto execute = [&](const llm::ToolCall& call) -> std::string {
    json args = ParseJsonOrDiscarded(call.arguments.empty() ? "{}" : call.arguments);
    if (args.is_discarded() || !args.is_object()) {
      tool_log.push_back({{"name", call.name}, {"ok", false}, {"error", "invalid_argument"}});
      return json{{"error", "arguments must be a JSON object"}}.dump();
    }
    auto r = tools_.Call(ctx, call.name, args);
    tool_log.push_back({{"name", call.name}, {"arguments", args}, {"ok", r.ok()}});
    if (!r.ok()) return json{{"error", r.status().message()}}.dump();
    if (r->contains("order_id") && (*r)["order_id"].is_string()) last_order_id = (*r)["order_id"];
    if (call.name == "request_human") handoff = true;
    return r->dump(-1, ' ', false, json::error_handler_t::replace);
  };
  auto result = llm::RunToolLoop(client_, std::move(req), execute, settings_.max_tool_rounds,
                                 [&](std::string_view d) { if (on_delta) on_delta(d); });
  if (!result.ok() || result->content.empty()) {
    std::string why = result.ok() ? "empty answer" : result.status().ToString();
    log::Warn("llm_fallback", {{"conversation_id", turn.conversation.id}, {"error", why}});
    TurnReply fallback = grounded_.Respond(turn, on_delta);
    fallback.meta["source"] = "grounded_fallback";
    fallback.meta["llm_error"] = why;
    return fallback;
  }
  TurnReply reply;
  reply.text = result->content;
  reply.context = turn.context.is_object() ? turn.context : json::object();
  if (!last_order_id.empty()) reply.context["last_order_id"] = last_order_id;
  json citations = json::array();
  std::set<int> used;
  static const std::regex kCite(R"(\[(\d{1,2})\])");
  for (auto it = std::sregex_iterator(reply.text.begin(), reply.text.end(), kCite); it != std::sregex_iterator(); ++it) {
    int n = std::stoi((*it)[1].str());
    if (n >= 1 && n <= static_cast<int>(passages.size()) && used.insert(n).second)
      citations.push_back({{"n", n}, {"id", passages[n - 1].id}, {"title", passages[n - 1].title}});
  }
  reply.meta = {{"source", "llm"},
                {"intent", std::string(ActionName(reading.action))},
                {"citations", citations},
                {"tools", tool_log},
                {"suggestions", json::array()},
                {"handoff", handoff},
                {"usage", {{"prompt_tokens", result->prompt_tokens}, {"completion_tokens", result->completion_tokens}}}};
  reply.context["last_intent"] = reply.meta["intent"];
  return reply;
}

}  // namespace kefu::dialogue
