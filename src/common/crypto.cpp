#include "common/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>
#include <cstdlib>

namespace kefu::crypto {
namespace {

class OpenSslRandomSource final : public RandomSource {
 public:
  void Fill(std::span<uint8_t> out) override {
    // RAND_bytes takes an int length; draw in chunks (ids and keys are tiny,
    // but the interface takes any span).
    size_t done = 0;
    while (done < out.size()) {
      size_t n = std::min<size_t>(out.size() - done, INT_MAX);
      if (RAND_bytes(out.data() + done, static_cast<int>(n)) != 1) {
        // The CSPRNG failing means the process cannot make secrets safely.
        std::abort();
      }
      done += n;
    }
  }
};

// nullptr = the system source.
std::atomic<RandomSource*> g_override{nullptr};

}  // namespace

RandomSource& SystemRandomSource() {
  static OpenSslRandomSource source;
  return source;
}

ScopedRandomSourceForTesting::ScopedRandomSourceForTesting(RandomSource& source)
    : previous_(g_override.exchange(&source)) {}

ScopedRandomSourceForTesting::~ScopedRandomSourceForTesting() { g_override.store(previous_); }

void RandomBytes(std::span<uint8_t> out) {
  if (out.empty()) return;
  RandomSource* s = g_override.load();
  (s ? *s : SystemRandomSource()).Fill(out);
}

std::string Hex(std::string_view raw) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  RandomBytes(std::span<uint8_t>(reinterpret_cast<uint8_t*>(raw.data()), raw.size()));
  return Hex(raw);
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string HmacSha256Hex(std::string_view key, std::string_view data) { return Hex(HmacSha256(key, data)); }

std::string Sha256Hex(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return Hex(std::string_view(reinterpret_cast<char*>(out), sizeof(out)));
}

std::string Base64UrlEncode(std::string_view raw) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  for (; i + 2 < raw.size(); i += 3) {
    uint32_t v = (uint8_t(raw[i]) << 16) | (uint8_t(raw[i + 1]) << 8) | uint8_t(raw[i + 2]);
    for (int k = 3; k >= 0; --k) out.push_back(kAlphabet[(v >> (6 * k)) & 63]);
  }
  size_t rest = raw.size() - i;
  if (rest == 1) {
    uint32_t v = uint8_t(raw[i]) << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
  } else if (rest == 2) {
    uint32_t v = (uint8_t(raw[i]) << 16) | (uint8_t(raw[i + 1]) << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

bool Base64UrlDecode(std::string_view text, std::string& out) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  if (text.size() % 4 == 1) return false;
  out.clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = value(c);
    if (v < 0) return false;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Leftover bits must be zero padding (canonical encoding only).
  return (acc & ((1u << bits) - 1)) == 0;
}

bool SafeEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace kefu::crypto
