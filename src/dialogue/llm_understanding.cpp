#include "dialogue/llm_understanding.h"

#include <array>
#include <utility>

#include "common/json.h"
#include "common/log.h"
#include "common/utf8.h"

namespace kefu::dialogue {

using nlohmann::json;

namespace {

constexpr std::array<std::pair<Interpretation::Intent, std::string_view>, 9> kIntents = {{
    {Interpretation::Intent::kOrderStatus, "order_status"},
    {Interpretation::Intent::kTrackLogistics, "track_logistics"},
    {Interpretation::Intent::kListOrders, "list_orders"},
    {Interpretation::Intent::kFaq, "faq"},
    {Interpretation::Intent::kProducts, "product_search"},
    {Interpretation::Intent::kHuman, "human"},
    {Interpretation::Intent::kSmalltalk, "smalltalk"},
    {Interpretation::Intent::kUnclear, "unclear"},
    {Interpretation::Intent::kOutOfScope, "out_of_scope"},
}};

constexpr size_t kMaxContentBytes = 4096;
constexpr size_t kMaxFieldChars = 200;

// Valid UTF-8, no control characters, at most kMaxFieldChars code points.
std::string CleanField(const json& v) {
  if (!v.is_string()) return {};
  std::string s = utf8::Sanitize(v.get<std::string>());
  std::string out;
  size_t chars = 0;
  for (char32_t c : utf8::Decode(s)) {
    if (c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0)) c = U' ';
    if (++chars > kMaxFieldChars) break;
    utf8::Append(out, c);
  }
  size_t b = out.find_first_not_of(' '), e = out.find_last_not_of(' ');
  return b == std::string::npos ? std::string() : out.substr(b, e - b + 1);
}

constexpr const char* kSystemPrompt = R"(You read the messages customers send to an online shop's customer service and say what the customer wants. You never answer the customer.
Reply with one JSON object and nothing else: {"intent": "...", "query": "...", "product": "..."}
intent, exactly one of:
- "order_status": the state of one of the customer's own orders (paid, shipped?, cancelled, refund of that order)
- "track_logistics": where the customer's own parcel is, when it arrives, delivered but not received
- "list_orders": the customer wants to see their orders
- "faq": a question about the shop's policies or services (shipping, returns, refunds, exchanges, invoices, payment, warranty, membership, coupons, accounts, installation)
- "product_search": looking for goods to buy, or asking what the shop sells
- "human": asks for a person or agent in any wording, or is angry, abusive or complaining
- "smalltalk": only a greeting, thanks or goodbye
- "unclear": too vague to act on ("有问题", "help", "??")
- "out_of_scope": nothing an online shop's service answers (weather, stocks, other companies' policies)
query: the customer's question rewritten to stand alone, in the customer's own language, with typos fixed and references to earlier messages resolved ("那退货呢？" after asking about exchanges -> "怎么退货"); "" when there is no question.
product: the goods the customer refers to, as they named them ("洗衣机", "the headphones"); "" if none.)";

}  // namespace

std::string_view IntentName(Interpretation::Intent intent) {
  for (const auto& [i, name] : kIntents)
    if (i == intent) return name;
  return "faq";
}

Result<Interpretation> ParseInterpretation(std::string_view content) {
  if (content.size() > kMaxContentBytes) return InvalidArgument("interpretation longer than 4 KiB");
  // Models often wrap JSON in a Markdown fence or add a word around it: take
  // the outermost {...}.
  size_t open = content.find('{'), close = content.rfind('}');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return InvalidArgument("no JSON object in the interpretation");
  auto parsed = ParseJson(content.substr(open, close - open + 1), 8);
  if (!parsed.ok()) return parsed.status();
  const json& j = *parsed;
  if (!j.is_object() || !j.contains("intent") || !j["intent"].is_string())
    return InvalidArgument("interpretation without an intent");
  const std::string intent = j["intent"].get<std::string>();
  Interpretation out;
  bool known = false;
  for (const auto& [i, name] : kIntents)
    if (intent == name) {
      out.intent = i;
      known = true;
    }
  if (!known) return InvalidArgument("unknown intent '" + std::string(utf8::TruncateBytes(intent, 40)) + "'");
  if (j.contains("query")) out.query = CleanField(j["query"]);
  if (j.contains("product")) out.product = CleanField(j["product"]);
  return out;
}

LlmTurnInterpreter::LlmTurnInterpreter(llm::LlmClient& client, LlmInterpreterSettings settings)
    : client_(client), settings_(std::move(settings)) {}

llm::ChatRequest LlmTurnInterpreter::BuildRequest(std::string_view text,
                                                  const std::vector<PriorMessage>& history) const {
  llm::ChatRequest req;
  req.messages.push_back({"system", kSystemPrompt, {}, ""});
  std::string user;
  const size_t n = history.size();
  const size_t from = n > static_cast<size_t>(settings_.history_messages)
                          ? n - static_cast<size_t>(settings_.history_messages) : 0;
  if (from < n) {
    user += "Earlier in this conversation:\n";
    for (size_t i = from; i < n; ++i)
      user += (history[i].role == "customer" ? "customer: " : "shop: ") +
              std::string(utf8::TruncateBytes(history[i].text, 600)) + "\n";
    user += "\n";
  }
  user += "The customer's new message:\n" + std::string(utf8::TruncateBytes(text, 2000));
  req.messages.push_back({"user", std::move(user), {}, ""});
  req.stream = false;
  req.json_object = true;
  req.temperature = 0.0;
  req.max_tokens = settings_.max_tokens;
  req.timeout_ms = settings_.timeout_ms;
  return req;
}

std::optional<Interpretation> LlmTurnInterpreter::Interpret(std::string_view text,
                                                            const std::vector<PriorMessage>& history) {
  auto r = client_.Chat(BuildRequest(text, history), nullptr);
  if (!r.ok()) {
    log::Warn("llm_understanding_failed", {{"error", r.status().message()}});
    return std::nullopt;
  }
  auto parsed = ParseInterpretation(r->content);
  if (!parsed.ok()) {
    log::Warn("llm_understanding_unparseable",
              {{"error", parsed.status().message()},
               {"content", std::string(utf8::TruncateBytes(utf8::Sanitize(r->content), 200))}});
    return std::nullopt;
  }
  return *parsed;
}

}  // namespace kefu::dialogue
