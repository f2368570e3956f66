// Emoji polarity: a lexicon prior for the sentiment model, so that short chat
// messages made of (or ending in) an emoji read right ("😡", "退款呢😡", "谢谢👍").
//
// The table is generated from the npm package `emoji-emotion` 3.0.1 by Titus
// Wormer (wooorm), MIT licence (https://github.com/wooorm/emoji-emotion):
// 118 emoji, each rated for valence with an integer polarity -5..5. Only the
// code points and polarities are kept (the variation selector U+FE0F of the
// four two-code-point entries dropped); see emoji_lexicon.cpp.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "nlu/labeled_csv.h"

namespace kefu::nlu {

// The polarity (-5..5) of one emoji code point, or nullopt when the lexicon
// does not rate it.
std::optional<int> EmojiPolarity(char32_t code_point);

// The same for a Featurize() token: a rated emoji that is the whole token.
std::optional<int> EmojiTokenPolarity(std::string_view token);

// Number of rated emoji in the lexicon.
size_t EmojiLexiconSize();

// Labelled sentiment examples built from the lexicon alone (a lexicon prior the
// model can learn, since chat corpora have few emoji): each rated emoji on its
// own and doubled, and appended to `per_emoji` of the `carriers` (neutral
// customer-service turns, picked deterministically by hash), labelled
// negative for polarity <= -1, positive for >= 1, neutral for 0.
std::vector<LabeledExample> EmojiLexiconExamples(const std::vector<std::string>& carriers, int per_emoji = 4);

}  // namespace kefu::nlu
