#include "nlu/emoji_lexicon.h"

#include <algorithm>
#include <string>
#include <utility>

#include "common/utf8.h"
#include "nlu/classifier.h"

namespace kefu::nlu {
namespace {

struct EmojiEntry {
  char32_t code_point;
  int polarity;
};

// Generated from emoji-emotion@3.0.1 (npm; wooorm/emoji-emotion, MIT licence,
// Copyright (c) 2014 Titus Wormer) index.js: code point (U+FE0F dropped),
// polarity -5..5, and the package's gemoji name as a comment. Sorted by code
// point. Regenerate with: npm pack emoji-emotion@3.0.1, then read index.js's
// {name, emoji, polarity} entries.
//
// emoji-emotion's licence:
//
// (The MIT License)
//
// Copyright (c) 2014 Titus Wormer <tituswormer@gmail.com>
//
// Permission is hereby granted, free of charge, to any person obtaining
// a copy of this software and associated documentation files (the
// 'Software'), to deal in the Software without restriction, including
// without limitation the rights to use, copy, modify, merge, publish,
// distribute, sublicense, and/or sell copies of the Software, and to
// permit persons to whom the Software is furnished to do so, subject to
// the following conditions:
//
// The above copyright notice and this permission notice shall be
// included in all copies or substantial portions of the Software.
//
// THE SOFTWARE IS PROVIDED 'AS IS', WITHOUT WARRANTY OF ANY KIND,
// EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF
// MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT.
// IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY
// CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT,
// TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE
// SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
constexpr EmojiEntry kEmoji[] = {
    {0x2620, -2},  // skull_and_crossbones
    {0x2639, -2},  // frowning_face
    {0x263A, 2},  // relaxed
    {0x270C, 2},  // v
    {0x2764, 3},  // heart
    {0x1F444, 2},  // lips
    {0x1F44A, -1},  // punch
    {0x1F44C, 2},  // ok_hand
    {0x1F44D, 2},  // thumbsup
    {0x1F44E, -2},  // thumbsdown
    {0x1F44F, 3},  // clap
    {0x1F47B, -1},  // ghost
    {0x1F47F, -4},  // imp
    {0x1F480, -2},  // skull
    {0x1F48B, 2},  // kiss
    {0x1F493, 3},  // heartbeat
    {0x1F494, -3},  // broken_heart
    {0x1F495, 3},  // two_hearts
    {0x1F496, 3},  // sparkling_heart
    {0x1F497, 3},  // heartpulse
    {0x1F498, 3},  // cupid
    {0x1F499, 3},  // blue_heart
    {0x1F49A, 3},  // green_heart
    {0x1F49B, 3},  // yellow_heart
    {0x1F49C, 3},  // purple_heart
    {0x1F49D, 3},  // gift_heart
    {0x1F49E, 3},  // revolving_hearts
    {0x1F4A9, -3},  // shit
    {0x1F4AF, 3},  // 100
    {0x1F595, -4},  // fu
    {0x1F5A4, 3},  // black_heart
    {0x1F600, 2},  // grinning
    {0x1F601, 2},  // grin
    {0x1F602, 3},  // joy
    {0x1F603, 2},  // smiley
    {0x1F604, 2},  // smile
    {0x1F605, 2},  // sweat_smile
    {0x1F606, 1},  // laughing
    {0x1F607, 3},  // innocent
    {0x1F608, -3},  // smiling_imp
    {0x1F609, 3},  // wink
    {0x1F60A, 2},  // blush
    {0x1F60B, 3},  // yum
    {0x1F60C, 2},  // relieved
    {0x1F60D, 3},  // heart_eyes
    {0x1F60E, 1},  // sunglasses
    {0x1F60F, 2},  // smirk
    {0x1F610, 0},  // neutral_face
    {0x1F611, 0},  // expressionless
    {0x1F612, -2},  // unamused
    {0x1F613, -1},  // sweat
    {0x1F614, -1},  // pensive
    {0x1F615, -2},  // confused
    {0x1F616, -2},  // confounded
    {0x1F617, 2},  // kissing
    {0x1F618, 3},  // kissing_heart
    {0x1F619, 2},  // kissing_smiling_eyes
    {0x1F61A, 2},  // kissing_closed_eyes
    {0x1F61B, 1},  // stuck_out_tongue
    {0x1F61C, -1},  // stuck_out_tongue_winking_eye
    {0x1F61D, 0},  // stuck_out_tongue_closed_eyes
    {0x1F61E, -2},  // disappointed
    {0x1F61F, -3},  // worried
    {0x1F620, -3},  // angry
    {0x1F621, -4},  // rage
    {0x1F622, -2},  // cry
    {0x1F623, -2},  // persevere
    {0x1F624, 0},  // triumph
    {0x1F625, -1},  // disappointed_relieved
    {0x1F626, -1},  // frowning
    {0x1F627, -3},  // anguished
    {0x1F628, -2},  // fearful
    {0x1F629, -2},  // weary
    {0x1F62A, 0},  // sleepy
    {0x1F62B, -2},  // tired_face
    {0x1F62C, -2},  // grimacing
    {0x1F62D, -3},  // sob
    {0x1F62E, -2},  // open_mouth
    {0x1F62F, -1},  // hushed
    {0x1F630, -2},  // cold_sweat
    {0x1F631, -3},  // scream
    {0x1F632, 2},  // astonished
    {0x1F633, -2},  // flushed
    {0x1F634, 0},  // sleeping
    {0x1F635, -1},  // dizzy_face
    {0x1F636, 0},  // no_mouth
    {0x1F637, -1},  // mask
    {0x1F638, 2},  // smile_cat
    {0x1F639, 3},  // joy_cat
    {0x1F63A, 2},  // smiley_cat
    {0x1F63B, 3},  // heart_eyes_cat
    {0x1F63C, 2},  // smirk_cat
    {0x1F63D, 2},  // kissing_cat
    {0x1F63E, -4},  // pouting_cat
    {0x1F63F, -2},  // crying_cat_face
    {0x1F640, -3},  // scream_cat
    {0x1F641, -1},  // slightly_frowning_face
    {0x1F642, 1},  // slightly_smiling_face
    {0x1F643, 0},  // upside_down_face
    {0x1F644, -1},  // roll_eyes
    {0x1F64C, 4},  // raised_hands
    {0x1F64F, 1},  // pray
    {0x1F910, -1},  // zipper_mouth_face
    {0x1F911, 0},  // money_mouth_face
    {0x1F912, -1},  // face_with_thermometer
    {0x1F913, -1},  // nerd_face
    {0x1F914, -1},  // thinking
    {0x1F915, -2},  // face_with_head_bandage
    {0x1F917, 2},  // hugs
    {0x1F91D, 1},  // handshake
    {0x1F91E, 2},  // crossed_fingers
    {0x1F920, 2},  // cowboy_hat_face
    {0x1F921, 0},  // clown_face
    {0x1F922, -2},  // nauseated_face
    {0x1F923, 4},  // rofl
    {0x1F924, 0},  // drooling_face
    {0x1F925, -2},  // lying_face
    {0x1F927, -2},  // sneezing_face
};

}  // namespace

std::optional<int> EmojiPolarity(char32_t c) {
  const auto it = std::lower_bound(std::begin(kEmoji), std::end(kEmoji), c,
                                   [](const EmojiEntry& e, char32_t v) { return e.code_point < v; });
  if (it == std::end(kEmoji) || it->code_point != c) return std::nullopt;
  return it->polarity;
}

std::optional<int> EmojiTokenPolarity(std::string_view token) {
  // Every rated emoji is 3 or 4 UTF-8 bytes; anything else cannot be one.
  if (token.size() < 3 || token.size() > 4 || static_cast<unsigned char>(token[0]) < 0xE2) return std::nullopt;
  const std::vector<char32_t> cps = utf8::Decode(token);
  if (cps.size() != 1) return std::nullopt;
  return EmojiPolarity(cps[0]);
}

size_t EmojiLexiconSize() { return std::size(kEmoji); }

std::vector<LabeledExample> EmojiLexiconExamples(const std::vector<std::string>& carriers, int per_emoji) {
  // Carriers in a fixed, file-order-independent order.
  std::vector<std::pair<uint64_t, const std::string*>> order;
  order.reserve(carriers.size());
  for (const auto& c : carriers) order.emplace_back(Fnv1a64(c + "#emoji"), &c);
  std::sort(order.begin(), order.end());
  std::vector<LabeledExample> out;
  size_t next = 0;
  for (const EmojiEntry& e : kEmoji) {
    std::string emoji;
    utf8::Append(emoji, e.code_point);
    const char* label = e.polarity <= -1 ? "negative" : e.polarity >= 1 ? "positive" : "neutral";
    out.push_back({emoji, label, 0});
    out.push_back({emoji + emoji, label, 0});
    for (int i = 0; i < per_emoji && !order.empty(); ++i) {
      out.push_back({*order[next % order.size()].second + emoji, label, 0});
      ++next;
    }
  }
  return out;
}

}  // namespace kefu::nlu
