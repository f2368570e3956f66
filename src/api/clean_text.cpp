#include "api/clean_text.h"

#include "common/utf8.h"

namespace kefu::api {

Result<std::string> CleanText(const nlohmann::json& v) {
  if (!v.is_string()) return InvalidArgument("text is required and must be a string");
  std::string raw = v.get<std::string>();
  if (!utf8::IsValid(raw)) return InvalidArgument("text is not valid UTF-8");
  if (size_t n = utf8::Length(raw); n > kMaxTextChars)
    return InvalidArgument("消息太长了：最多 " + std::to_string(kMaxTextChars) + " 个字，这条有 " + std::to_string(n) +
                           " 个字，请分几次发送。 / text is longer than " + std::to_string(kMaxTextChars) +
                           " characters (" + std::to_string(n) + ")");
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\n' && c != '\t') continue;  // drop control characters
    out.push_back(c);
  }
  std::string trimmed(utf8::Trim(out));
  if (trimmed.empty()) return InvalidArgument("text must not be empty");
  return trimmed;
}

}  // namespace kefu::api
