// Random customer text that is hard for text code, for tests that push
// arbitrary input through a turn (tests/security_test.cpp over HTTP,
// tests/scenario_test.cpp through the conversation service): sequences of
// pieces such as 4-byte and combining characters, emoji sequences, bidi and
// zero-width marks, full-width and traditional forms, order-id-like digits,
// quotes and escapes, control characters, with the words the dialogue acts on
// (orders, refunds, a human) mixed in. Header-only; any thread with its own rng.
#pragma once

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace kefu::testing {

// The seed of a random test: KEFU_TEST_SEED=N, else `fixed` (reproducible runs).
inline unsigned TestSeed(unsigned fixed) {
  const char* env = std::getenv("KEFU_TEST_SEED");
  return env && *env ? static_cast<unsigned>(std::strtoul(env, nullptr, 10)) : fixed;
}

// One message of 1..max_pieces pieces (valid UTF-8; may hold NUL and control
// characters, which the API edge drops).
inline std::string RandomHardText(std::mt19937& rng, size_t max_pieces) {
  // clang-format off
  static const std::vector<std::string> kPieces = {
      "我的订单", "到哪了", "那它什么时候到？", "SO2026", "SO20260101001", "SO9999999999999999999", "退款", "退宽",
      "快第", "發票", "换货呢", "冰箱呢", "洗衣机", "还没发货的那单", "第2个", "第一个", "找真人", "人呢？？",
      "TMD", "骗子", "😡", "👨‍👩‍👧‍👦", "🇨🇳", "e\u0301\u0301\u0301", "\u200b", "\u200d", "\u202e", "\ufeff",
      "Ａ１２３", "ｈｔｔｐ：／／", "http://x.y/z?a=1&b=%ff", "12345678901234567890", "-1", "0", "1e309", "NaN",
      " ", "\t", "\n", "\r\n", "　", "～", "…", "、", "。", "，", "!!!", "?", "¿", "human", "agent",
      "real person", "refund", "I was wondering", "what about exchanges?", "where is my order", "那", "呢",
      "的", "吗", "想问一下", "请问", "%s", "%n", "{", "}", "[", "\"", "\\", "'", "--", "/*", "<script>",
      "𠮷", "𪚥", "\U0001F600", "ﾊﾝｶｸ", "한국어", "العربية", "ไทย", std::string(1, '\0'), "\u0001", "\u007f",
      "\u00ad", "\U0010FFFF", "\uFFFD", "Ω", "ß", "İ", "ǅ", "ﬁ"};
  // clang-format on
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  std::string text;
  const size_t pieces = 1 + pick(max_pieces);
  for (size_t i = 0; i < pieces; ++i) text += kPieces[pick(kPieces.size())];
  return text;
}

}  // namespace kefu::testing
