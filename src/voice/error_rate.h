// Word and character error rates for evaluating speech recognition: the
// Levenshtein alignment of a reference and a hypothesis token sequence, with
// its substitutions, deletions and insertions (as NIST sclite counts them).
// Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kefu::voice {

struct EditCounts {
  int reference = 0;  // tokens in the reference (the denominator)
  int substitutions = 0;
  int deletions = 0;
  int insertions = 0;

  int errors() const { return substitutions + deletions + insertions; }
  // errors / reference tokens (0 for an empty reference and an empty hypothesis).
  double rate() const;
  EditCounts& operator+=(const EditCounts& o);
};

// The minimum-edit alignment; among equal-cost alignments it prefers
// substitutions, then deletions (sclite's tie-breaking is similar, so counts
// may differ from it only in S/D/I split, never in the total).
EditCounts Align(const std::vector<std::string>& reference, const std::vector<std::string>& hypothesis);

// English words for WER: lower case, punctuation other than a word-internal
// apostrophe removed ("Where's my parcel?" → where's my parcel).
std::vector<std::string> EnglishWords(std::string_view text);

// Characters for CER (Chinese): every code point except spaces and
// punctuation (ASCII and CJK), Latin letters lower-cased; a run of Latin
// letters or digits counts as one token.
std::vector<std::string> CerTokens(std::string_view text);

}  // namespace kefu::voice
