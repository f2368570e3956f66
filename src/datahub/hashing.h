// Hashes used by the data hub: content hashes of ingested records (SHA-256)
// and webhook signatures (HMAC-SHA256). Pure functions, any thread.
#pragma once

#include <string>
#include <string_view>

namespace kefu::datahub {

std::string Sha256Hex(std::string_view data);
std::string HmacSha256Hex(std::string_view key, std::string_view data);
// Constant-time comparison of two strings (signatures).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace kefu::datahub
