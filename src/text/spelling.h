// Folding and spelling correction of customer text before it is understood
// (issue 15: "快第到哪里了", "退宽多久能到", "發票怎麼開").
//
// FoldChinese: traditional characters to simplified (ICU's Hant-Hans
// transform, the data OpenCC's t2s also encodes), full-width forms to ASCII.
//
// SpellingCorrector: replaces a 2-4 character Chinese span that is not a
// word — neither of the tenant's vocabulary nor of the general dictionary —
// with the tenant's word that sounds the same (toneless pinyin, ICU Han-Latin)
// and shares at least one character with it, so 快第→快递, 退宽→退款, 发漂→发票,
// 运废→运费, 优惠卷→优惠券, while 我是 (wǒ shì) never becomes 卧室 and 那个 stays.
// Built once per vocabulary (a knowledge index rebuild); Correct is const and
// thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "text/segmenter.h"

namespace kefu::text {

// Traditional → simplified Chinese and full-width → half-width; other text
// unchanged. Invalid UTF-8 is replaced first. Thread-safe.
std::string FoldChinese(std::string_view text);

// Internet slang spellings of everyday words, as the dictionary writes them:
// 木有 → 没有, 神马 → 什么, 肿么 → 怎么, 酱紫 → 这样子, 介个 → 这个, 灰常 → 非常;
// 帐 for 账 in money words (帐户 → 账户, 到帐 → 到账).
// Only spellings with no other meaning in a shop (not 童鞋, 稀饭, 表).
std::string FoldSlang(std::string_view text);

// Toneless pinyin of one Han character ("快" → "kuai"), "" for others.
std::string PinyinOf(char32_t c);

class SpellingCorrector {
 public:
  // `vocabulary`: the tenant's words (2-4 Han characters are used);
  // `general` (may be null): words it must never rewrite.
  SpellingCorrector(const std::vector<std::string>& vocabulary, const Segmenter* general);

  struct Fix {
    std::string from, to;
  };
  // `text` with its misspelt spans replaced; `fixes` (may be null) lists them.
  std::string Correct(std::string_view text, std::vector<Fix>* fixes = nullptr) const;
  size_t vocabulary_size() const { return vocab_.size(); }

 private:
  bool Known(const std::string& w) const;
  std::unordered_set<std::string> vocab_;
  std::unordered_map<std::string, std::vector<std::string>> by_sound_;  // "tui kuan" -> {"退款"}
  const Segmenter* general_;
};

}  // namespace kefu::text
