// The training examples of an intent model's in-scope classes, as the model
// sees them (LinearModel::Probabilities' feature vectors), for a
// nearest-neighbour out-of-scope signal: a query close to some example of
// its top class is in scope more likely than one the classifier merely
// prefers among distant classes (docs/nlu.md, "Nearest examples", nlu7).
//
// Stored in a .kmodel as the examples' texts and class ids; the vectors are
// rebuilt from the texts by the model at load, so the bytes stay small and
// always agree with the model's features.
//
// Immutable after Build/Parse; MaxSimilarity is const and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "nlu/linear.h"

namespace kefu::nlu {

class ExampleNeighbours {
 public:
  ExampleNeighbours() = default;

  // texts[i] belongs to class classes[i] (0..model.n_classes()-1); texts the
  // model has no feature for are kept in the bytes but never match.
  static ExampleNeighbours Build(const LinearModel& model, std::vector<std::string> texts, std::vector<uint32_t> classes);
  // Parses Serialize()'s bytes and rebuilds the vectors with `model`;
  // refuses malformed bytes and class ids the model does not have.
  static Result<ExampleNeighbours> Parse(std::string_view bytes, const LinearModel& model);
  std::string Serialize() const;

  // Highest cosine similarity between `query` (a vector from the same
  // model's Probabilities) and the examples of class `cls`; 0 when it has none.
  double MaxSimilarity(const LinearModel::SparseVector& query, int cls) const;

  size_t size() const { return texts_.size(); }

 private:
  std::vector<std::string> texts_;
  std::vector<uint32_t> classes_;
  // Per class: the vectors of its examples, rows and values in one array
  // each, ends_[k] = one past the last entry of the class's k-th example.
  struct ClassVectors {
    std::vector<uint32_t> rows;
    std::vector<float> values;
    std::vector<uint32_t> ends;
  };
  std::vector<ClassVectors> by_class_;
  size_t rows_ = 0;  // the model's rows: every vector entry is below this
};

}  // namespace kefu::nlu
