// Small cryptographic helpers on OpenSSL, shared by every module that hashes
// keys and tokens (API keys, agent sessions), signs or verifies webhooks
// (HMAC-SHA256) and mints customer tokens (base64url). Pure functions, any
// thread.
//
// Randomness: every random byte of an id or secret (conversation ids, agent
// ids and session tokens, customer token keys, webhook ids and secrets) comes
// from RandomBytes/RandomHex, which draw from the process's RandomSource: the
// OpenSSL CSPRNG (RAND_bytes), or a test's ScopedRandomSourceForTesting.
// No general-purpose PRNG (std::mt19937 ...) may stand in between.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace kefu::crypto {

// Where random bytes come from. Implementations must be thread-safe.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Fills `out` completely; must not return without doing so (the default
  // source aborts the process when the CSPRNG fails: no secret can then be
  // made safely).
  virtual void Fill(std::span<uint8_t> out) = 0;
};

// The OpenSSL CSPRNG (RAND_bytes); the process default.
RandomSource& SystemRandomSource();

// While alive, every RandomBytes/RandomHex in the process (any thread) draws
// from `source` instead of the default; restores the previous source when
// destroyed. Tests only; not nestable across threads (install from the
// test's main thread, before the code under test runs).
class ScopedRandomSourceForTesting {
 public:
  explicit ScopedRandomSourceForTesting(RandomSource& source);
  ~ScopedRandomSourceForTesting();
  ScopedRandomSourceForTesting(const ScopedRandomSourceForTesting&) = delete;
  ScopedRandomSourceForTesting& operator=(const ScopedRandomSourceForTesting&) = delete;

 private:
  RandomSource* previous_;
};

// Fills `out` from the current RandomSource.
void RandomBytes(std::span<uint8_t> out);

// Lower-case hex of raw bytes.
std::string Hex(std::string_view raw);
// `bytes` random bytes from the current RandomSource (the OpenSSL CSPRNG) as
// lower-case hex, in the order the source handed them out.
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
