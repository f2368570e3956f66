// Text normalisation and feature extraction shared by training and inference.
// Every model in this module sees text only through Featurize(), so a model and
// the code that loads it always agree on tokens. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kefu::nlu {

// Longest input (in bytes) the featurizer reads; longer texts are truncated on a
// code-point boundary.
inline constexpr size_t kMaxInputBytes = 4096;

// Turns raw (possibly invalid) UTF-8 into one line of space-separated tokens for
// fastText: each CJK character is a token (fastText word n-grams then give
// character bigrams/trigrams), Latin words are lower-cased tokens, full-width
// forms are folded to ASCII, numbers of more than 6 digits become "<num>", runs of
// the same punctuation are cut to two. Never returns a newline.
std::string Featurize(std::string_view text);

// The words of the jieba exact-mode segmenter of src/text (normalised and
// casefolded, punctuation dropped) in the first kMaxInputBytes of `text`: the
// unit of word features and word clusters. The dictionary loads once, on first
// use; empty when it is missing (SegmenterAvailable() says which).
std::vector<std::string> SegmenterWords(std::string_view text);
bool SegmenterAvailable();

// True for a Featurize() token that is one punctuation mark (ASCII
// punctuation, general or CJK punctuation): on its own it says nothing about
// what a text is about. Emoji and other symbols are not punctuation.
bool IsPunctuationToken(std::string_view token);

// "zh" when 4 x (CJK characters) >= (Latin letters), otherwise "en"; "zh" for
// text without letters.
std::string DetectLanguage(std::string_view text);

}  // namespace kefu::nlu
