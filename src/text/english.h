// English search terms: the forms customers type brought to the forms the
// knowledge base is written in (issue 15, "every customer's language").
//
//  * PorterStem: M. F. Porter's 1980 suffix-stripping algorithm ("ships",
//    "shipped", "shipping" → "ship"; "deliveries" → "deliveri"), so a question
//    and an entry meet whatever inflection each uses.
//  * ChatEnglish: chat spellings as the tokens the segmenter makes of the
//    written form: "u" → "you", "pls" → "please", "pkg" → "package",
//    "dont" → "don" "t" (as "don't" is tokenised), "im" → "i" "m".
//  * IsEnglishFiller: words that carry no question ("guys", "hey", "lol",
//    "stuff"): a knowledge-base search leaves them out of the question instead
//    of counting them as its most specific word (no entry uses them).
//
// Pure functions on lower-case ASCII tokens (what Segmenter::Tokenize
// returns); anything else is returned unchanged. Any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kefu::text {

// True for a token of 1+ lower-case ASCII letters only.
bool IsLatinWord(std::string_view token);

// The Porter stem of a lower-case ASCII word; other tokens and words of one
// or two letters are returned as they are.
std::string PorterStem(std::string_view word);

// The written-English tokens a chat spelling stands for ("u" → {"you"});
// empty when `token` is no chat spelling.
const std::vector<std::string>* ChatEnglish(std::string_view token);

bool IsEnglishFiller(std::string_view token);

// A lower-case text with its chat spellings written out, for rules that read
// whole phrases: "do u sell yoga mats" → "do you sell yoga mats", "wheres my
// pkg" → "where's my package". Contractions get their apostrophe back ("dont"
// → "don't"); everything else is kept byte for byte.
std::string ExpandChatEnglish(std::string_view text);

// Tokens as a search reads them: chat spellings expanded, Latin words
// stemmed, and (for a customer's question, `drop_fillers`) filler words left
// out; Chinese and digit tokens unchanged.
std::vector<std::string> EnglishSearchTerms(std::vector<std::string> tokens, bool drop_fillers = false);

// A Chinese message's English service words in Chinese ("能开 invoice 吗" →
// "能开 发票 吗", "refund 几天到" → "退款 几天到"): code-switching customers
// use English for the shop's own vocabulary, which the entries write in
// Chinese. Whole words in any inflection ("refunds", "returned"), longest
// phrase first; a text without Chinese characters, and English words not in
// the list (names such as iPhone), are left as they are.
std::string CodeSwitchToChinese(std::string_view text);

}  // namespace kefu::text
