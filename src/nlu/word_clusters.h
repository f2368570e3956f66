// Word clusters learned from unlabelled text: the features a linear model uses
// to carry what it learns about a word to the words that are used like it
// ("凉了" in a takeaway review sits with "难吃"), which the labelled data of
// another domain never shows.
//
// Training segments every text into words (SegmenterWords(): jieba exact
// mode, src/text), learns skip-gram word vectors with fastText (one thread, fixed
// seed: the same texts give the same clusters), and groups the words seen at
// least `min_count` times into `clusters` groups by spherical k-means
// (k-means++ seeding, fixed seed). Only the clusters are kept: a sorted table
// of 32-bit word hashes and one 16-bit cluster id each (6 bytes a word), so
// looking a word up is a binary search and nothing of the vectors ships.
//
// Immutable after Train/Parse; Find() is const and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace kefu::nlu {

struct ClusterOptions {
  int clusters = 512;   // k of k-means (2..65535)
  int dim = 100;        // skip-gram vector size
  int epoch = 5;        // skip-gram passes over the texts
  int min_count = 5;    // words seen fewer times get no cluster
  int window = 5;       // skip-gram context window
  int iterations = 12;  // k-means iterations

  nlohmann::json ToJson() const;
};

class WordClusters {
 public:
  WordClusters() = default;

  // FailedPrecondition when fewer than options.clusters words are seen
  // min_count times (too little text to cluster).
  static Result<WordClusters> Train(const std::vector<std::string>& texts, const ClusterOptions& options);
  // Reads AppendTo()'s bytes from the front of `in` and removes them; refuses
  // anything malformed (unsorted or duplicate keys, ids out of range, short data).
  static Result<WordClusters> Parse(std::string_view& in);
  void AppendTo(std::string& out) const;

  // The cluster of a segmenter word (as SegmenterWords() returns them), or -1.
  int Find(std::string_view word) const;

  size_t words() const { return keys_.size(); }
  int clusters() const { return clusters_; }
  bool empty() const { return keys_.empty(); }

 private:
  int clusters_ = 0;
  std::vector<uint32_t> keys_;  // sorted word hashes
  std::vector<uint16_t> ids_;   // cluster of keys_[i]
};

}  // namespace kefu::nlu
