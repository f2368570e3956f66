#include "nlu/word_clusters.h"

#include <fasttext/fasttext.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <unordered_map>

#include "nlu/scratch.h"
#include "nlu/text_features.h"

namespace kefu::nlu {
namespace {

constexpr std::string_view kClustersMagic = "KWCL";
constexpr uint32_t kVersion = 1;

uint32_t WordKey(std::string_view w) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : w) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return static_cast<uint32_t>(h);
}

// Spherical k-means of the unit rows of `x` (n x d): k-means++ seeding, then
// Lloyd iterations on cosine similarity. Returns the cluster of each row.
std::vector<uint16_t> SphericalKMeans(const std::vector<float>& x, size_t n, size_t d, int k, int iterations) {
  std::mt19937_64 rng(0x6b6d65616e73ULL);
  std::vector<float> centers;
  centers.reserve(static_cast<size_t>(k) * d);
  std::vector<double> dist(n, 2.0);  // 1 - cos to the nearest chosen centre
  size_t pick = rng() % n;
  for (int c = 0; c < k; ++c) {
    centers.insert(centers.end(), x.begin() + pick * d, x.begin() + (pick + 1) * d);
    const float* cc = &centers[static_cast<size_t>(c) * d];
    double total = 0;
    for (size_t i = 0; i < n; ++i) {
      float dot = 0;
      const float* xi = &x[i * d];
      for (size_t j = 0; j < d; ++j) dot += xi[j] * cc[j];
      dist[i] = std::min(dist[i], std::max(0.0, 1.0 - dot));
      total += dist[i] * dist[i];
    }
    if (total <= 0) break;  // fewer distinct points than clusters
    double r = std::uniform_real_distribution<double>(0, total)(rng);
    pick = n - 1;
    for (size_t i = 0; i < n; ++i) {
      r -= dist[i] * dist[i];
      if (r <= 0) {
        pick = i;
        break;
      }
    }
  }
  const size_t kk = centers.size() / d;
  std::vector<uint16_t> assign(n, 0);
  for (int it = 0; it <= iterations; ++it) {
    for (size_t i = 0; i < n; ++i) {
      const float* xi = &x[i * d];
      float best = -2;
      size_t arg = 0;
      for (size_t c = 0; c < kk; ++c) {
        const float* cc = &centers[c * d];
        float dot = 0;
        for (size_t j = 0; j < d; ++j) dot += xi[j] * cc[j];
        if (dot > best) best = dot, arg = c;
      }
      assign[i] = static_cast<uint16_t>(arg);
    }
    if (it == iterations) break;
    std::vector<double> sum(kk * d, 0.0);
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < d; ++j) sum[assign[i] * d + j] += x[i * d + j];
    }
    for (size_t c = 0; c < kk; ++c) {
      double norm = 0;
      for (size_t j = 0; j < d; ++j) norm += sum[c * d + j] * sum[c * d + j];
      if (norm <= 0) continue;  // empty cluster keeps its centre
      norm = std::sqrt(norm);
      for (size_t j = 0; j < d; ++j) centers[c * d + j] = static_cast<float>(sum[c * d + j] / norm);
    }
  }
  return assign;
}

}  // namespace

nlohmann::json ClusterOptions::ToJson() const {
  return {{"clusters", clusters}, {"dim", dim},       {"epoch", epoch},
          {"min_count", min_count}, {"window", window}, {"iterations", iterations}};
}

int WordClusters::Find(std::string_view word) const {
  const uint32_t key = WordKey(word);
  auto it = std::lower_bound(keys_.begin(), keys_.end(), key);
  if (it == keys_.end() || *it != key) return -1;
  return ids_[it - keys_.begin()];
}

Result<WordClusters> WordClusters::Train(const std::vector<std::string>& texts, const ClusterOptions& o) {
  if (o.clusters < 2 || o.clusters > 65535) {
    return InvalidArgument(fmt::format("clusters must be in 2..65535, not {}", o.clusters));
  }
  if (o.dim < 2 || o.dim > 1000 || o.epoch < 1 || o.epoch > 100 || o.min_count < 1 || o.window < 1 ||
      o.iterations < 0) {
    return InvalidArgument("word cluster options out of range");
  }
  if (!SegmenterAvailable()) return Unavailable("word clusters need the jieba dictionary (text segmenter)");
  TempDir dir;
  const std::string input = dir.File("words.txt");
  {
    std::ofstream out(input, std::ios::binary);
    if (!out) return Unavailable("cannot write " + input);
    std::unordered_map<std::string, int> counts;
    for (const auto& t : texts) {
      const std::vector<std::string> words = SegmenterWords(t);
      if (words.empty()) continue;
      for (size_t i = 0; i < words.size(); ++i) {
        out << (i ? " " : "") << words[i];
        ++counts[words[i]];
      }
      out << '\n';
    }
    if (!out) return Unavailable("error writing " + input);
    // Checked before training: fastText refuses an empty vocabulary, and a
    // small set should not pay for vectors it cannot cluster.
    const size_t frequent = static_cast<size_t>(
        std::count_if(counts.begin(), counts.end(), [&](const auto& kv) { return kv.second >= o.min_count; }));
    if (frequent < static_cast<size_t>(o.clusters)) {
      return FailedPrecondition(fmt::format("only {} words are seen {} times or more: too few for {} clusters",
                                            frequent, o.min_count, o.clusters));
    }
  }
  fasttext::Args a;
  a.input = input;
  a.output = dir.File("vectors");
  a.model = fasttext::model_name::sg;
  a.loss = fasttext::loss_name::ns;
  a.dim = o.dim;
  a.epoch = o.epoch;
  a.ws = o.window;
  a.minCount = o.min_count;
  a.minn = 0;  // whole words only: clusters are looked up by word
  a.maxn = 0;
  a.bucket = 0;
  a.wordNgrams = 1;
  a.lr = 0.05;
  a.neg = 5;
  a.thread = 1;  // one thread keeps training deterministic
  a.verbose = 0;
  a.seed = 0;
  fasttext::FastText ft;
  try {
    ft.train(a);
  } catch (const std::exception& e) {
    return Internal(fmt::format("skip-gram training failed: {}", e.what()));
  }
  const auto dict = ft.getDictionary();
  const size_t d = static_cast<size_t>(o.dim);
  std::vector<std::string> vocab;
  std::vector<float> x;
  fasttext::Vector v(o.dim);
  for (int32_t i = 0; i < dict->nwords(); ++i) {
    const std::string& w = dict->getWord(i);
    if (w == fasttext::Dictionary::EOS) continue;
    ft.getWordVector(v, w);
    double norm = 0;
    for (size_t j = 0; j < d; ++j) norm += static_cast<double>(v[j]) * v[j];
    if (norm <= 0) continue;
    norm = std::sqrt(norm);
    vocab.push_back(w);
    for (size_t j = 0; j < d; ++j) x.push_back(static_cast<float>(v[j] / norm));
  }
  if (vocab.size() < static_cast<size_t>(o.clusters)) {
    return FailedPrecondition(fmt::format("only {} words are seen {} times or more: too few for {} clusters",
                                       vocab.size(), o.min_count, o.clusters));
  }
  const std::vector<uint16_t> assign = SphericalKMeans(x, vocab.size(), d, o.clusters, o.iterations);
  // fastText's dictionary is ordered by frequency: on a hash collision the
  // more frequent word keeps the key.
  std::vector<std::pair<uint32_t, uint16_t>> entries;
  for (size_t i = 0; i < vocab.size(); ++i) entries.emplace_back(WordKey(vocab[i]), assign[i]);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& p, const auto& q) { return p.first < q.first; });
  WordClusters m;
  m.clusters_ = o.clusters;
  for (const auto& [key, id] : entries) {
    if (!m.keys_.empty() && m.keys_.back() == key) continue;
    m.keys_.push_back(key);
    m.ids_.push_back(id);
  }
  return m;
}

void WordClusters::AppendTo(std::string& out) const {
  out.append(kClustersMagic);
  PutRaw<uint32_t>(out, kVersion);
  PutRaw<uint32_t>(out, static_cast<uint32_t>(clusters_));
  PutRaw<uint32_t>(out, static_cast<uint32_t>(keys_.size()));
  for (uint32_t k : keys_) PutRaw<uint32_t>(out, k);
  for (uint16_t id : ids_) PutRaw<uint16_t>(out, id);
}

Result<WordClusters> WordClusters::Parse(std::string_view& in) {
  if (in.substr(0, kClustersMagic.size()) != kClustersMagic) return InvalidArgument("word clusters: bad magic");
  in.remove_prefix(kClustersMagic.size());
  uint32_t version = 0, k = 0, n = 0;
  if (!GetRaw(in, &version) || !GetRaw(in, &k) || !GetRaw(in, &n)) return InvalidArgument("word clusters: truncated header");
  if (version != kVersion) return InvalidArgument(fmt::format("word clusters: unknown version {}", version));
  if (k < 2 || k > 65535) return InvalidArgument("word clusters: cluster count out of range");
  if (in.size() / 6 < n) return InvalidArgument("word clusters: truncated table");
  WordClusters m;
  m.clusters_ = static_cast<int>(k);
  m.keys_.resize(n);
  m.ids_.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    GetRaw(in, &m.keys_[i]);
    if (i > 0 && m.keys_[i] <= m.keys_[i - 1]) return InvalidArgument("word clusters: keys not strictly ascending");
  }
  for (uint32_t i = 0; i < n; ++i) {
    GetRaw(in, &m.ids_[i]);
    if (m.ids_[i] >= k) return InvalidArgument("word clusters: cluster id out of range");
  }
  return m;
}

}  // namespace kefu::nlu
