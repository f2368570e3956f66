// Whether a customer message asks for a human or is angry enough that only a
// human should answer (issue 15: "no empty promise"). One detector serves the
// routing facts (the turn really goes to a queue: routing rules
// human-requested and abuse-to-human) and the grounded responder's reading of
// the turn, so the bot never answers "转人工" differently from routing.
//
// It reads the text after folding what customers vary: ASCII case, full-width
// forms (ＡＧＥＮＴ, ！), the traditional characters of its own lexicon
// (轉人工, 經理, 騙子), and spaces between Chinese characters ("人 工").
// Pure functions, any thread.
#pragma once

#include <string>
#include <string_view>

namespace kefu::dialogue {

struct HumanNeed {
  bool asks_for_human = false;  // 找真人, 叫经理来, 人呢？？, "agent", "real person please"
  bool abusive = false;         // 骗子, 差评, TMD, 退钱！！！, 😡, repeated ！, "scam"
  bool stuck = false;           // says the bot is not helping: 说了三遍了, 你倒是说啊, 还是不行, "I already asked"
  std::string cue;              // the wording that decided it (for the decision trace)
};

HumanNeed DetectHumanNeed(std::string_view text);

// The folded form DetectHumanNeed reads (exposed for tests).
std::string FoldForHumanNeed(std::string_view text);

}  // namespace kefu::dialogue
