// Small cryptographic helpers of the message center (module-private): random
// identifiers, HMAC-SHA256, SHA-256 and base64url, all on OpenSSL.
#pragma once

#include <string>
#include <string_view>

namespace kefu::inbox::crypto {

// `bytes` random bytes from the OpenSSL CSPRNG as lower-case hex.
std::string RandomHex(size_t bytes);
// Raw 32-byte HMAC-SHA256.
std::string HmacSha256(std::string_view key, std::string_view data);
std::string Hex(std::string_view raw);
std::string Sha256Hex(std::string_view data);
// Unpadded base64url; Decode returns false on malformed input.
std::string Base64UrlEncode(std::string_view raw);
bool Base64UrlDecode(std::string_view text, std::string& out);
// Constant-time equality of two strings of equal length (false otherwise).
bool SafeEqual(std::string_view a, std::string_view b);

}  // namespace kefu::inbox::crypto
