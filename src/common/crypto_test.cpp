#include "common/crypto.h"

#include <gtest/gtest.h>

#include <vector>

#include "common/random_testing.h"

namespace kefu::crypto {
namespace {

TEST(Crypto, Sha256KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Crypto, HmacSha256Rfc4231Case2) {
  const std::string mac = HmacSha256("Jefe", "what do ya want for nothing?");
  EXPECT_EQ(mac.size(), 32u);
  EXPECT_EQ(Hex(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"), Hex(mac));
}

TEST(Crypto, RandomHexHasTheLengthAndDiffers) {
  std::string a = RandomHex(32), b = RandomHex(32);
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, b);
}

TEST(Crypto, RandomHexDrawsExactlyTheInstalledSourcesBytes) {
  RecordingRandomSource fake;
  std::vector<std::string> out;
  {
    ScopedRandomSourceForTesting scope(fake);
    for (size_t n : {16u, 32u, 1u, 24u}) out.push_back(RandomHex(n));
    uint8_t raw[5];
    RandomBytes(raw);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(raw), 5), fake.Draws().back());
    RandomBytes(std::span<uint8_t>());  // nothing to draw: the source is not asked
  }
  auto draws = fake.HexDraws();
  ASSERT_EQ(draws.size(), 5u) << "one draw per call, nothing else";
  for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i], draws[i]) << i;
  EXPECT_EQ(draws[0].size(), 32u);
  EXPECT_EQ(draws[1].size(), 64u);
  // Out of scope: the process default (OpenSSL) again; the fake sees nothing.
  std::string after = RandomHex(16);
  EXPECT_EQ(fake.Draws().size(), 5u);
  EXPECT_EQ(after.size(), 32u);
}

TEST(Crypto, ScopedRandomSourcesNestAndRestore) {
  RecordingRandomSource outer, inner(nullptr, 42);
  {
    ScopedRandomSourceForTesting a(outer);
    RandomHex(8);
    {
      ScopedRandomSourceForTesting b(inner);
      RandomHex(8);
      RandomHex(8);
    }
    RandomHex(8);
  }
  EXPECT_EQ(outer.Draws().size(), 2u);
  EXPECT_EQ(inner.Draws().size(), 2u);
}

TEST(Crypto, SystemRandomSourceFillsLargeAndOddSizes) {
  std::vector<uint8_t> big(100'001, 0);
  SystemRandomSource().Fill(big);
  size_t zeros = 0;
  for (uint8_t b : big) zeros += b == 0;
  EXPECT_LT(zeros, 1000u);  // about 391 expected
}

TEST(Crypto, Base64UrlRoundTripAndRejects) {
  for (std::string raw : {std::string(""), std::string("f"), std::string("fo"), std::string("foo"),
                          std::string("\xff\xfe\x00\x01", 4)}) {
    std::string out;
    ASSERT_TRUE(Base64UrlDecode(Base64UrlEncode(raw), out)) << raw;
    EXPECT_EQ(out, raw);
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  std::string out;
  EXPECT_FALSE(Base64UrlDecode("a", out)) << "impossible length";
  EXPECT_FALSE(Base64UrlDecode("ab+/", out)) << "standard alphabet is not base64url";
  EXPECT_FALSE(Base64UrlDecode("Zh", out)) << "non-zero padding bits (not canonical)";
  EXPECT_TRUE(Base64UrlDecode("Zg", out));
  EXPECT_EQ(out, "f");
}

TEST(Crypto, SafeEqual) {
  EXPECT_TRUE(SafeEqual("sig", "sig"));
  EXPECT_FALSE(SafeEqual("sig", "sih"));
  EXPECT_FALSE(SafeEqual("sig", "sig2"));
  EXPECT_TRUE(SafeEqual("", ""));
}

}  // namespace
}  // namespace kefu::crypto
