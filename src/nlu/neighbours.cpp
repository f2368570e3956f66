#include "nlu/neighbours.h"

#include <fmt/format.h>

#include <algorithm>

#include "nlu/scratch.h"

namespace kefu::nlu {
namespace {

constexpr std::string_view kNeighboursMagic = "KNBR1";

}  // namespace

ExampleNeighbours ExampleNeighbours::Build(const LinearModel& model, std::vector<std::string> texts,
                                           std::vector<uint32_t> classes) {
  ExampleNeighbours n;
  n.texts_ = std::move(texts);
  n.classes_ = std::move(classes);
  n.by_class_.resize(static_cast<size_t>(model.n_classes()));
  n.rows_ = model.rows();
  LinearModel::SparseVector v;
  for (size_t i = 0; i < n.texts_.size(); ++i) {
    if (n.classes_[i] >= n.by_class_.size()) continue;  // not a class of the model: never matches
    model.Probabilities(n.texts_[i], &v);
    if (v.empty()) continue;
    ClassVectors& cv = n.by_class_[n.classes_[i]];
    for (const auto& [row, x] : v) {
      cv.rows.push_back(row);
      cv.values.push_back(x);
    }
    cv.ends.push_back(static_cast<uint32_t>(cv.rows.size()));
  }
  return n;
}

std::string ExampleNeighbours::Serialize() const {
  std::string out(kNeighboursMagic);
  PutRaw<uint32_t>(out, static_cast<uint32_t>(texts_.size()));
  for (size_t i = 0; i < texts_.size(); ++i) {
    PutRaw<uint32_t>(out, classes_[i]);
    PutRaw<uint32_t>(out, static_cast<uint32_t>(texts_[i].size()));
    out += texts_[i];
  }
  return out;
}

Result<ExampleNeighbours> ExampleNeighbours::Parse(std::string_view in, const LinearModel& model) {
  auto bad = [](std::string_view why) { return InvalidArgument(fmt::format("nearest-example block: {}", why)); };
  if (in.substr(0, kNeighboursMagic.size()) != kNeighboursMagic) return bad("bad magic");
  in.remove_prefix(kNeighboursMagic.size());
  uint32_t count = 0;
  // Every example takes at least 8 bytes: a corrupt count cannot ask for a huge allocation.
  if (!GetRaw(in, &count) || count > in.size() / 8) return bad("bad example count");
  std::vector<std::string> texts;
  std::vector<uint32_t> classes;
  texts.reserve(count);
  classes.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t cls = 0, len = 0;
    if (!GetRaw(in, &cls) || !GetRaw(in, &len) || len > in.size()) return bad("truncated");
    if (cls >= static_cast<uint32_t>(model.n_classes())) return bad(fmt::format("class {} out of range", cls));
    classes.push_back(cls);
    texts.emplace_back(in.substr(0, len));
    in.remove_prefix(len);
  }
  if (!in.empty()) return bad(fmt::format("{} trailing bytes", in.size()));
  return Build(model, std::move(texts), std::move(classes));
}

double ExampleNeighbours::MaxSimilarity(const LinearModel::SparseVector& query, int cls) const {
  if (cls < 0 || static_cast<size_t>(cls) >= by_class_.size() || query.empty()) return 0;
  const ClassVectors& cv = by_class_[static_cast<size_t>(cls)];
  if (cv.ends.empty()) return 0;
  // The query scattered into a dense row-indexed array (one per thread, reset
  // after use): each example's dot product is then one pass over its entries.
  thread_local std::vector<float> dense;
  if (dense.size() < rows_) dense.resize(rows_, 0.0f);
  for (const auto& [row, x] : query) dense[row] = x;
  double best = 0;
  uint32_t begin = 0;
  for (uint32_t end : cv.ends) {
    double dot = 0;  // the same sum, in the same order, as a merge of the two sorted vectors
    for (uint32_t k = begin; k < end; ++k) dot += static_cast<double>(dense[cv.rows[k]]) * cv.values[k];
    best = std::max(best, dot);
    begin = end;
  }
  for (const auto& [row, x] : query) dense[row] = 0.0f;
  return best;
}

}  // namespace kefu::nlu
