// UTF-8 helpers used at the edges (API input, file import) and by the text module.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kefu::utf8 {

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool IsValid(std::string_view s);

// Byte offset of the first invalid sequence, or npos.
size_t FirstInvalid(std::string_view s);

// Decodes `s` (must be valid) into code points.
std::vector<char32_t> Decode(std::string_view s);

// Appends the UTF-8 encoding of `cp` to `out`.
void Append(std::string& out, char32_t cp);

// Length in code points of a valid string.
size_t Length(std::string_view s);

// Longest prefix of `s` with at most `max_bytes` bytes that ends on a code point boundary.
std::string_view TruncateBytes(std::string_view s, size_t max_bytes);

// Replaces invalid sequences with U+FFFD.
std::string Sanitize(std::string_view s);

// Strips a leading byte-order mark.
std::string_view StripBom(std::string_view s);

// Trims ASCII and ideographic (U+3000) whitespace at both ends.
std::string_view Trim(std::string_view s);

// `s` with ASCII letters lower-cased (other bytes, UTF-8 included, as they are).
std::string AsciiLower(std::string_view s);

}  // namespace kefu::utf8
