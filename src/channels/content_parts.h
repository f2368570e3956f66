// Parsing a customer message's content at the edge (issue 17): the OpenAI chat
// content-part shapes clients already know, and multipart/form-data uploads.
//   {"type": "text", "text": "..."}
//   {"type": "image_url", "image_url": {"url": "data:image/png;base64,..."}}
// Only data: URLs are accepted (the server never fetches a URL a client names).
// The result is raw bytes with their declared type; what they really are is
// decided by image.h (sniffing), never by the declaration.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace kefu::channels {

struct Upload {
  std::string bytes;
  std::string declared_mime;  // from the data URL or the multipart part; informational only
  std::string filename;       // multipart only
};

struct ParsedContent {
  std::string text;            // the text parts, joined with '\n' (not yet validated)
  std::vector<Upload> images;
  std::vector<Upload> audio;   // input_audio parts (WAV bytes, not yet decoded); at most one
};

struct ContentLimits {
  int64_t max_image_bytes = 8 << 20;  // decoded size of one picture
  int max_images = 4;
  int max_parts = 16;
  int64_t max_audio_bytes = 4 << 20;  // decoded size of the one audio part (≈ 2 min of 16 kHz pcm16)
};

// `content`: an array of content parts (or a string, the text). Errors start
// with a code UploadErrorOf understands (invalid_content, image_too_large,
// too_many_images).
Result<ParsedContent> ParseContentParts(const nlohmann::json& content, const ContentLimits& limits);

// "data:<mime>[;base64],<data>": the decoded bytes and the declared type.
// Only base64 data URLs; checked against max_bytes before decoding.
Result<Upload> DecodeDataUrl(std::string_view url, int64_t max_bytes);

// Standard (padded or unpadded) base64, whitespace ignored; false when malformed.
bool Base64Decode(std::string_view text, std::string& out);
// Standard padded base64 of `raw` (what a data: URL or an input_audio part carries).
std::string Base64Encode(std::string_view raw);

struct FormField {
  std::string name;
  std::string filename;      // "" for a plain field
  std::string content_type;  // "" when the part names none
  std::string data;
};

// The boundary of a "multipart/form-data; boundary=..." Content-Type, or "".
std::string MultipartBoundary(std::string_view content_type);
// Splits a multipart/form-data body (RFC 7578) into its fields; at most
// `max_fields`. Errors are invalid_content.
Result<std::vector<FormField>> ParseMultipart(std::string_view body, std::string_view boundary, int max_fields = 16);

}  // namespace kefu::channels
