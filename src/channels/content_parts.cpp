#include "channels/content_parts.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "channels/image.h"

namespace kefu::channels {
namespace {

Status Invalid(std::string_view message) { return UploadFailure("invalid_content", message); }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// The value of `key=` in a header's parameters (quoted or not), or "".
std::string Param(std::string_view header, std::string_view key) {
  size_t pos = 0;
  while ((pos = header.find(';', pos)) != std::string_view::npos) {
    ++pos;
    std::string_view rest = TrimSpaces(header.substr(pos));
    size_t eq = rest.find('=');
    if (eq == std::string_view::npos) continue;
    if (Lower(TrimSpaces(rest.substr(0, eq))) != key) continue;
    std::string_view v = rest.substr(eq + 1);
    if (!v.empty() && v.front() == '"') {
      size_t close = v.find('"', 1);
      return std::string(v.substr(1, close == std::string_view::npos ? v.size() - 1 : close - 1));
    }
    return std::string(TrimSpaces(v.substr(0, v.find(';'))));
  }
  return "";
}

}  // namespace

std::string Base64Encode(std::string_view raw) {
  static constexpr char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((raw.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < raw.size(); i += 3) {
    uint32_t v = (uint8_t(raw[i]) << 16) | (uint8_t(raw[i + 1]) << 8) | uint8_t(raw[i + 2]);
    out += a[v >> 18], out += a[(v >> 12) & 63], out += a[(v >> 6) & 63], out += a[v & 63];
  }
  if (i + 1 == raw.size()) {
    uint32_t v = uint8_t(raw[i]) << 16;
    out += a[v >> 18], out += a[(v >> 12) & 63], out += "==";
  } else if (i + 2 == raw.size()) {
    uint32_t v = (uint8_t(raw[i]) << 16) | (uint8_t(raw[i + 1]) << 8);
    out += a[v >> 18], out += a[(v >> 12) & 63], out += a[(v >> 6) & 63], out += '=';
  }
  return out;
}

bool Base64Decode(std::string_view text, std::string& out) {
  static const auto kTable = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(a[i])] = static_cast<int8_t>(i);
    return t;
  }();
  out.clear();
  out.reserve(text.size() / 4 * 3 + 3);
  uint32_t acc = 0;
  int bits = 0, pad = 0;
  for (char ch : text) {
    if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') continue;
    if (ch == '=') {
      ++pad;
      continue;
    }
    if (pad) return false;  // data after padding
    int v = kTable[static_cast<unsigned char>(ch)];
    if (v < 0) return false;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return pad <= 2 && bits < 6;
}

Result<Upload> DecodeDataUrl(std::string_view url, int64_t max_bytes) {
  if (url.size() < 5 || Lower(url.substr(0, 5)) != "data:")
    return Invalid("image_url.url must be a data: URL (data:image/png;base64,...); the server fetches no URL");
  const size_t comma = url.find(',');
  if (comma == std::string_view::npos) return Invalid("malformed data: URL (no comma)");
  std::string_view head = url.substr(5, comma - 5);
  std::string_view data = url.substr(comma + 1);
  if (head.size() < 7 || Lower(head.substr(head.size() - 7)) != ";base64")
    return Invalid("data: URLs must be base64 (data:image/png;base64,...)");
  Upload up;
  up.declared_mime = Lower(TrimSpaces(head.substr(0, head.find(';'))));
  // Checked before decoding: 4 characters carry 3 bytes.
  if (static_cast<int64_t>(data.size() / 4) * 3 > max_bytes + 3)
    return UploadFailure("image_too_large", "the picture is larger than " + std::to_string(max_bytes) + " bytes");
  if (!Base64Decode(data, up.bytes)) return Invalid("the data: URL's base64 is malformed");
  if (static_cast<int64_t>(up.bytes.size()) > max_bytes)
    return UploadFailure("image_too_large", "the picture is " + std::to_string(up.bytes.size()) +
                                                " bytes; at most " + std::to_string(max_bytes) + " are accepted");
  return up;
}

Result<ParsedContent> ParseContentParts(const nlohmann::json& content, const ContentLimits& limits) {
  ParsedContent out;
  if (content.is_string()) {
    out.text = content.get<std::string>();
    return out;
  }
  if (!content.is_array()) return Invalid("content must be an array of parts or a string");
  if (static_cast<int>(content.size()) > limits.max_parts)
    return Invalid("at most " + std::to_string(limits.max_parts) + " content parts");
  for (const auto& part : content) {
    if (!part.is_object()) return Invalid("each content part must be an object with a \"type\"");
    auto type = part.find("type");
    if (type == part.end() || !type->is_string()) return Invalid("each content part needs a \"type\"");
    const std::string t = type->get<std::string>();
    if (t == "text") {
      auto text = part.find("text");
      if (text == part.end() || !text->is_string()) return Invalid("a text part needs \"text\" (a string)");
      if (!out.text.empty()) out.text += '\n';
      out.text += text->get<std::string>();
    } else if (t == "image_url") {
      auto iu = part.find("image_url");
      const nlohmann::json* url = nullptr;
      if (iu != part.end() && iu->is_object()) {
        auto u = iu->find("url");
        if (u != iu->end() && u->is_string()) url = &*u;
      } else if (iu != part.end() && iu->is_string()) {
        url = &*iu;  // the older shorthand {"image_url": "data:..."}
      }
      if (!url) return Invalid("an image_url part needs {\"image_url\": {\"url\": \"data:...\"}}");
      if (static_cast<int>(out.images.size()) >= limits.max_images)
        return UploadFailure("too_many_images", "at most " + std::to_string(limits.max_images) +
                                                    " pictures per message");
      KEFU_ASSIGN_OR_RETURN(Upload up, DecodeDataUrl(url->get_ref<const std::string&>(), limits.max_image_bytes));
      out.images.push_back(std::move(up));
    } else if (t == "input_audio") {
      // OpenAI's {"type":"input_audio","input_audio":{"data":"<base64>","format":"wav"}}.
      auto ia = part.find("input_audio");
      if (ia == part.end() || !ia->is_object() || !ia->contains("data") || !(*ia)["data"].is_string())
        return Invalid("an input_audio part needs {\"input_audio\": {\"data\": \"<base64>\", \"format\": \"wav\"}}");
      const std::string format = ia->value("format", "");
      if (format != "wav") return UploadFailure("unsupported_media_type", "audio parts must be WAV (\"format\": \"wav\")");
      if (!out.audio.empty()) return Invalid("at most one input_audio part per message");
      const std::string& data = (*ia)["data"].get_ref<const std::string&>();
      if (static_cast<int64_t>(data.size() / 4) * 3 > limits.max_audio_bytes + 3)
        return Status(ErrorCode::kPayloadTooLarge,
                      "the audio is larger than " + std::to_string(limits.max_audio_bytes) + " bytes");
      Upload up;
      up.declared_mime = "audio/wav";
      if (!Base64Decode(data, up.bytes)) return Invalid("the input_audio data's base64 is malformed");
      if (static_cast<int64_t>(up.bytes.size()) > limits.max_audio_bytes)
        return Status(ErrorCode::kPayloadTooLarge,
                      "the audio is larger than " + std::to_string(limits.max_audio_bytes) + " bytes");
      out.audio.push_back(std::move(up));
    } else {
      return Invalid("unknown content part type \"" + t.substr(0, 40) + "\" (text, image_url, input_audio)");
    }
  }
  return out;
}

std::string MultipartBoundary(std::string_view content_type) {
  std::string_view type = TrimSpaces(content_type.substr(0, content_type.find(';')));
  if (Lower(type) != "multipart/form-data") return "";
  std::string b = Param(content_type, "boundary");
  if (b.empty() || b.size() > 70) return "";
  return b;
}

Result<std::vector<FormField>> ParseMultipart(std::string_view body, std::string_view boundary, int max_fields) {
  if (boundary.empty()) return Invalid("multipart/form-data needs a boundary");
  const std::string delim = "--" + std::string(boundary);
  std::vector<FormField> out;
  size_t pos = body.find(delim);
  if (pos == std::string_view::npos) return Invalid("multipart body has no boundary line");
  pos += delim.size();
  for (;;) {
    if (body.substr(pos, 2) == "--") return out;  // closing delimiter
    if (body.substr(pos, 2) != "\r\n") return Invalid("malformed multipart boundary line");
    pos += 2;
    const size_t head_end = body.find("\r\n\r\n", pos);
    if (head_end == std::string_view::npos) return Invalid("multipart part without a header end");
    std::string_view head = body.substr(pos, head_end - pos);
    if (head.size() > 4096) return Invalid("multipart part header too long");
    const size_t data_start = head_end + 4;
    const size_t next = body.find("\r\n" + delim, data_start);
    if (next == std::string_view::npos) return Invalid("multipart body is truncated (no closing boundary)");
    if (static_cast<int>(out.size()) >= max_fields) return Invalid("too many multipart fields");
    FormField f;
    size_t lp = 0;
    while (lp <= head.size()) {
      size_t le = head.find("\r\n", lp);
      if (le == std::string_view::npos) le = head.size();
      std::string_view line = head.substr(lp, le - lp);
      const size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        const std::string name = Lower(TrimSpaces(line.substr(0, colon)));
        std::string_view value = TrimSpaces(line.substr(colon + 1));
        if (name == "content-disposition") {
          f.name = Param(value, "name");
          f.filename = Param(value, "filename");
        } else if (name == "content-type") {
          f.content_type = Lower(TrimSpaces(value.substr(0, value.find(';'))));
        }
      }
      lp = le + 2;
    }
    if (f.name.empty()) return Invalid("a multipart part without a name");
    f.data = std::string(body.substr(data_start, next - data_start));
    out.push_back(std::move(f));
    pos = next + 2 + delim.size();
  }
}

}  // namespace kefu::channels
