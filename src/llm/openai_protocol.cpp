#include "llm/openai_protocol.h"

#include "common/json.h"

#include <utility>

namespace kefu::llm::openai {
namespace {

using nlohmann::json;

std::string StringOr(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

int IntOr(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return 0;
  return it->get<int>();
}

void ReadUsage(const json& j, ChatResponse& r) {
  auto it = j.find("usage");
  if (it == j.end() || !it->is_object()) return;
  r.prompt_tokens = IntOr(*it, "prompt_tokens");
  r.completion_tokens = IntOr(*it, "completion_tokens");
}

// Tool arguments arrive as a JSON string; some servers send an object instead.
std::string ArgumentsText(const json& fn) {
  auto it = fn.find("arguments");
  if (it == fn.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  return it->dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

json BuildRequestBody(const ChatRequest& req, const std::string& model, double temperature, int max_tokens) {
  json body = json::object();
  body["model"] = model;
  json messages = json::array();
  for (const ChatMessage& m : req.messages) {
    json msg = {{"role", m.role}};
    if (!m.tool_calls.empty()) {
      msg["content"] = m.content.empty() ? json(nullptr) : json(m.content);
      json calls = json::array();
      for (const ToolCall& c : m.tool_calls) {
        calls.push_back({{"id", c.id},
                         {"type", "function"},
                         {"function", {{"name", c.name}, {"arguments", c.arguments.empty() ? "{}" : c.arguments}}}});
      }
      msg["tool_calls"] = std::move(calls);
    } else {
      msg["content"] = m.content;
    }
    if (!m.tool_call_id.empty()) msg["tool_call_id"] = m.tool_call_id;
    messages.push_back(std::move(msg));
  }
  body["messages"] = std::move(messages);
  if (!req.tools.empty()) {
    json tools = json::array();
    for (const ToolSpec& t : req.tools) {
      json fn = {{"name", t.name}, {"description", t.description}};
      fn["parameters"] = t.parameters.is_null() ? json{{"type", "object"}, {"properties", json::object()}} : t.parameters;
      tools.push_back({{"type", "function"}, {"function", std::move(fn)}});
    }
    body["tools"] = std::move(tools);
  }
  if (!req.tool_choice.empty()) body["tool_choice"] = req.tool_choice;
  if (req.json_object) body["response_format"] = {{"type", "json_object"}};
  body["temperature"] = temperature;
  body["max_tokens"] = max_tokens;
  body["stream"] = req.stream;
  if (req.stream) body["stream_options"] = {{"include_usage", true}};
  return body;
}

Result<ChatResponse> ParseCompletion(std::string_view body) {
  json j = ParseJsonOrDiscarded(body);
  if (j.is_discarded() || !j.is_object()) return Unavailable("llm server sent a response that is not JSON");
  if (j.contains("error")) return Unavailable("llm server error: " + ErrorMessage(body));
  auto choices = j.find("choices");
  if (choices == j.end() || !choices->is_array() || choices->empty() || !(*choices)[0].is_object()) {
    return Unavailable("llm response has no choices");
  }
  const json& choice = (*choices)[0];
  ChatResponse r;
  r.finish_reason = StringOr(choice, "finish_reason");
  auto msg = choice.find("message");
  if (msg != choice.end() && msg->is_object()) {
    r.content = StringOr(*msg, "content");
    auto calls = msg->find("tool_calls");
    if (calls != msg->end() && calls->is_array()) {
      for (const json& c : *calls) {
        if (!c.is_object()) continue;
        ToolCall call;
        call.id = StringOr(c, "id");
        auto fn = c.find("function");
        if (fn != c.end() && fn->is_object()) {
          call.name = StringOr(*fn, "name");
          call.arguments = ArgumentsText(*fn);
        }
        r.tool_calls.push_back(std::move(call));
      }
    }
  }
  ReadUsage(j, r);
  return r;
}

std::string ErrorMessage(std::string_view body) {
  json j = ParseJsonOrDiscarded(body);
  if (!j.is_discarded() && j.is_object()) {
    auto err = j.find("error");
    if (err != j.end()) {
      if (err->is_object() && err->contains("message")) {
        const json& m = (*err)["message"];
        return m.is_string() ? m.get<std::string>() : m.dump(-1, ' ', false, json::error_handler_t::replace);
      }
      if (err->is_string()) return err->get<std::string>();
    }
    for (const char* key : {"message", "detail"}) {
      auto it = j.find(key);
      if (it == j.end()) continue;
      return it->is_string() ? it->get<std::string>() : it->dump(-1, ' ', false, json::error_handler_t::replace);
    }
  }
  constexpr size_t kMax = 500;
  std::string s(body.substr(0, kMax));
  if (s.empty()) s = "(empty body)";
  return s;
}

void SseParser::Feed(std::string_view bytes, std::vector<std::string>& events) {
  pending_.append(bytes);
  size_t start = 0;
  for (;;) {
    size_t nl = pending_.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view line(pending_.data() + start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    Line(line, events);
    start = nl + 1;
  }
  pending_.erase(0, start);
}

void SseParser::Finish(std::vector<std::string>& events) {
  if (!pending_.empty()) {
    std::string line = std::move(pending_);
    pending_.clear();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    Line(line, events);
  }
  Line("", events);
}

void SseParser::Line(std::string_view line, std::vector<std::string>& events) {
  if (line.empty()) {  // blank line: dispatch
    if (has_data_) events.push_back(std::move(data_));
    data_.clear();
    has_data_ = false;
    return;
  }
  if (line.front() == ':') return;  // comment / keep-alive
  size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field != "data") return;  // event:, id:, retry: carry nothing we use
  if (has_data_) data_ += '\n';
  data_.append(value);
  has_data_ = true;
}

Status StreamAccumulator::Apply(const json& chunk, std::string& delta) {
  delta.clear();
  if (!chunk.is_object()) return Unavailable("llm stream chunk is not a JSON object");
  if (chunk.contains("error")) {
    return Unavailable("llm server error mid-stream: " +
                       ErrorMessage(chunk.dump(-1, ' ', false, json::error_handler_t::replace)));
  }
  ReadUsage(chunk, response_);
  auto choices = chunk.find("choices");
  if (choices == chunk.end() || !choices->is_array()) return Status::Ok();
  for (const json& choice : *choices) {
    if (!choice.is_object() || IntOr(choice, "index") != 0) continue;
    std::string finish = StringOr(choice, "finish_reason");
    if (!finish.empty()) response_.finish_reason = finish;
    auto d = choice.find("delta");
    if (d == choice.end() || !d->is_object()) continue;
    std::string text = StringOr(*d, "content");
    delta += text;
    response_.content += text;
    auto calls = d->find("tool_calls");
    if (calls == d->end() || !calls->is_array()) continue;
    int position = 0;
    for (const json& c : *calls) {
      if (!c.is_object()) continue;
      auto idx = c.find("index");
      int index = idx != c.end() && idx->is_number_integer() ? idx->get<int>() : position;
      ++position;
      ToolCall& call = calls_[index];
      std::string id = StringOr(c, "id");
      if (!id.empty()) call.id = id;
      auto fn = c.find("function");
      if (fn == c.end() || !fn->is_object()) continue;
      std::string name = StringOr(*fn, "name");
      // The name normally comes once; servers that repeat it in every chunk
      // must not produce "get_orderget_order".
      if (!name.empty() && name != call.name) call.name += name;
      call.arguments += ArgumentsText(*fn);
    }
  }
  return Status::Ok();
}

ChatResponse StreamAccumulator::Take() {
  ChatResponse r = std::move(response_);
  for (auto& [index, call] : calls_) r.tool_calls.push_back(std::move(call));
  calls_.clear();
  response_ = ChatResponse();
  return r;
}

}  // namespace kefu::llm::openai
