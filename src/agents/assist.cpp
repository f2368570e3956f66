#include "agents/assist.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "common/json.h"
#include "common/utf8.h"

namespace kefu::agents {

using nlohmann::json;

namespace {

// At most `max_chars` code points of valid UTF-8, trimmed; "…" marks a cut.
std::string Cut(std::string_view text, size_t max_chars) {
  std::string clean = utf8::Sanitize(text);
  std::string_view trimmed = utf8::Trim(clean);
  size_t n = 0;
  size_t i = 0;
  while (i < trimmed.size() && n < max_chars) {
    unsigned char b = static_cast<unsigned char>(trimmed[i]);
    i += b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    ++n;
  }
  if (i >= trimmed.size()) return std::string(trimmed);
  return std::string(utf8::Trim(trimmed.substr(0, i))) + "…";
}

const char* Speaker(const std::string& role) {
  if (role == "customer") return "客户";
  if (role == "bot") return "机器人";
  if (role == "agent") return "人工客服";
  return "系统";
}

std::string StripListMarker(std::string_view line) {
  line = utf8::Trim(line);
  size_t i = 0;
  while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) ++i;
  if (i > 0 && i < line.size() && (line[i] == '.' || line[i] == ')' || line[i] == ':')) line.remove_prefix(i + 1);
  else if (line.starts_with("- ") || line.starts_with("* ")) line.remove_prefix(2);
  else if (line.starts_with("•")) line.remove_prefix(std::string_view("•").size());
  line = utf8::Trim(line);
  // Quotes the model put around a line-form draft.
  for (std::string_view q : {"\"", "“"})
    if (line.starts_with(q)) line.remove_prefix(q.size());
  for (std::string_view q : {"\"", "”"})
    if (line.ends_with(q)) line.remove_suffix(q.size());
  return std::string(utf8::Trim(line));
}

}  // namespace

AgentAssist::AgentAssist(llm::LlmClient& client, AssistSettings settings) : client_(client), settings_(settings) {}

Result<llm::ChatResponse> AgentAssist::Ask(std::string system, std::string user, int max_tokens) const {
  llm::ChatRequest req;
  req.stream = false;
  req.temperature = settings_.temperature;
  req.max_tokens = max_tokens;
  req.messages.push_back({"system", std::move(system), {}, ""});
  req.messages.push_back({"user", std::move(user), {}, ""});
  return client_.Chat(req, nullptr);
}

std::string AgentAssist::Transcript(const std::vector<dialogue::Message>& history) const {
  std::string out;
  size_t start = history.size() > settings_.history_messages ? history.size() - settings_.history_messages : 0;
  for (size_t i = start; i < history.size(); ++i) {
    const auto& m = history[i];
    if (m.role == "note" || m.text.empty()) continue;
    out += Speaker(m.role);
    out += "：";
    out += Cut(m.text, settings_.max_turn_chars);
    out += "\n";
  }
  return out;
}

Result<std::string> AgentAssist::Summarize(const std::vector<dialogue::Message>& history, const json& facts) const {
  std::string transcript = Transcript(history);
  if (transcript.empty()) return InvalidArgument("no conversation to summarise");
  json known = json::object();
  for (const char* k : {"reason", "intent", "facts"})
    if (facts.contains(k) && !facts[k].is_null()) known[k] = facts[k];
  KEFU_ASSIGN_OR_RETURN(
      llm::ChatResponse r,
      Ask("你是客服工作台的助手。一位人工客服即将接手下面这段对话，请为他写一段交接摘要，不超过120字："
          "客户要解决什么问题；关键信息（订单号、商品、金额、时间）；客户情绪的变化；机器人已经回答了什么、"
          "还有什么没有解决；建议客服先做什么。只写摘要本身，不要称呼，不要编造对话和已知信息中没有的内容。",
          "对话记录：\n" + transcript + "\n已知信息（系统提取）：" + known.dump(), settings_.summary_max_tokens));
  std::string summary = Cut(r.content, settings_.max_summary_chars);
  if (summary.empty()) return Unavailable("the model returned an empty summary");
  return summary;
}

Result<std::vector<std::string>> AgentAssist::DraftReplies(const std::vector<dialogue::Message>& history,
                                                           const std::vector<knowledge::Passage>& passages,
                                                           int n) const {
  if (n < 1 || n > 5) return InvalidArgument("drafts: n must be 1..5");
  std::string transcript = Transcript(history);
  if (transcript.empty()) return InvalidArgument("no conversation to reply to");
  std::string kb;
  for (const auto& p : passages) kb += "【" + Cut(p.title, 60) + "】" + Cut(p.text, 400) + "\n";
  if (kb.empty()) kb = "（没有找到相关条目）\n";
  KEFU_ASSIGN_OR_RETURN(
      llm::ChatResponse r,
      Ask("你是经验丰富的电商客服。请为人工客服起草 " + std::to_string(n) +
              " 条可以直接发给客户的下一条回复，供他挑选。每条礼貌、具体、简短（不超过80字），各条思路不同；"
              "只使用对话和知识库中的事实，不要承诺知识库里没有的政策或时间。客户情绪激动时先致歉安抚。"
              "只输出一个 JSON 字符串数组，例如 [\"回复一\", \"回复二\"]，不要输出其他内容。",
          "知识库：\n" + kb + "\n对话记录：\n" + transcript, settings_.drafts_max_tokens));
  auto drafts = ParseDrafts(r.content, n, settings_.max_draft_chars);
  if (drafts.empty()) return Unavailable("the model returned no usable reply drafts");
  return drafts;
}

std::vector<std::string> AgentAssist::ParseDrafts(const std::string& content, int n, size_t max_chars) {
  std::vector<std::string> raw;
  const size_t open = content.find('['), close = content.rfind(']');
  if (open != std::string::npos && close != std::string::npos && close > open) {
    json arr = ParseJsonOrDiscarded(content.substr(open, close - open + 1));
    if (arr.is_array())
      for (const auto& e : arr)
        if (e.is_string()) raw.push_back(e.get<std::string>());
  }
  if (raw.empty()) {
    size_t pos = 0;
    while (pos <= content.size()) {
      size_t nl = content.find('\n', pos);
      if (nl == std::string::npos) nl = content.size();
      std::string line = StripListMarker(std::string_view(content).substr(pos, nl - pos));
      if (!line.empty() && line != "[" && line != "]" && !line.starts_with("```")) raw.push_back(line);
      pos = nl + 1;
    }
  }
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& d : raw) {
    std::string cut = Cut(d, max_chars);
    if (cut.empty() || !seen.insert(cut).second) continue;
    out.push_back(std::move(cut));
    if (static_cast<int>(out.size()) >= n) break;
  }
  return out;
}

}  // namespace kefu::agents
