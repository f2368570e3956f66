#include "dialogue/message_part.h"

namespace kefu::dialogue {

std::string_view PartKindName(PartKind k) {
  switch (k) {
    case PartKind::kText: return "text";
    case PartKind::kImage: return "image";
    case PartKind::kAudio: return "audio";
    case PartKind::kTranscript: return "transcript";
  }
  return "text";
}

namespace {

bool KindFromName(std::string_view n, PartKind& out) {
  for (PartKind k : {PartKind::kText, PartKind::kImage, PartKind::kAudio, PartKind::kTranscript}) {
    if (PartKindName(k) == n) {
      out = k;
      return true;
    }
  }
  return false;
}

}  // namespace

nlohmann::json MessagePart::ToJson() const {
  nlohmann::json j = {{"type", PartKindName(kind)}};
  switch (kind) {
    case PartKind::kText: j["text"] = text; break;
    case PartKind::kImage:
    case PartKind::kAudio:
      j["attachment_id"] = attachment_id;
      j["mime"] = mime;
      j["bytes"] = bytes;
      if (kind == PartKind::kImage) {
        j["width"] = width;
        j["height"] = height;
        j["thumbnail"] = thumbnail;
      } else {
        j["duration_ms"] = duration_ms;
      }
      break;
    case PartKind::kTranscript:
      j["text"] = text;
      j["attachment_id"] = attachment_id;
      j["source"] = source;
      break;
  }
  return j;
}

std::vector<MessagePart> MessagePart::ListFromJson(const nlohmann::json& j) {
  std::vector<MessagePart> out;
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    if (!e.is_object()) continue;
    MessagePart p;
    const auto type = e.find("type");
    if (type == e.end() || !type->is_string() || !KindFromName(type->get<std::string>(), p.kind)) continue;
    auto str = [&](const char* k) {
      auto it = e.find(k);
      return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    auto num = [&](const char* k) {
      auto it = e.find(k);
      return it != e.end() && it->is_number_integer() ? it->get<int64_t>() : int64_t{0};
    };
    p.text = str("text");
    p.attachment_id = str("attachment_id");
    p.mime = str("mime");
    p.source = str("source");
    p.bytes = num("bytes");
    p.width = static_cast<int>(num("width"));
    p.height = static_cast<int>(num("height"));
    p.duration_ms = num("duration_ms");
    if (auto it = e.find("thumbnail"); it != e.end() && it->is_boolean()) p.thumbnail = it->get<bool>();
    out.push_back(std::move(p));
  }
  return out;
}

nlohmann::json PartsToJson(const std::vector<MessagePart>& parts) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& p : parts) a.push_back(p.ToJson());
  return a;
}

std::string TurnText(const std::string& text, const std::vector<MessagePart>& parts) {
  std::string out = text;
  for (const auto& p : parts) {
    // A spoken message's text is its transcript already: not twice.
    if (p.kind != PartKind::kTranscript || p.text.empty() || p.text == text) continue;
    if (!out.empty()) out += '\n';
    out += p.text;
  }
  return out;
}

}  // namespace kefu::dialogue
