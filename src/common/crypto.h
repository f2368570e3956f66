// Small cryptographic helpers on OpenSSL, shared by every module that hashes
// keys and tokens (API keys, agent sessions), signs or verifies webhooks
// (HMAC-SHA256) and mints customer tokens (base64url). Pure functions, any
// thread.
#pragma once

#include <string>
#include <string_view>

namespace kefu::crypto {

// Lower-case hex of raw bytes.
std::string Hex(std::string_view raw);
// `bytes` random bytes from the OpenSSL CSPRNG as lower-case hex (aborts if
// the CSPRNG fails: no secret can then be made safely).
std::string RandomHex(size_t bytes);
std::string Sha256Hex(std::string_view data);
// Raw 32-byte HMAC-SHA256, and its hex.
std::string HmacSha256(std::string_view key, std::string_view data);
std::string HmacSha256Hex(std::string_view key, std::string_view data);
// Unpadded base64url; Decode returns false on malformed or non-canonical input.
std::string Base64UrlEncode(std::string_view raw);
bool Base64UrlDecode(std::string_view text, std::string& out);
// Constant-time equality (signatures, MACs); false for different lengths.
bool SafeEqual(std::string_view a, std::string_view b);

}  // namespace kefu::crypto
