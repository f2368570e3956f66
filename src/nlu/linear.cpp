#include "nlu/linear.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "nlu/emoji_lexicon.h"
#include "nlu/scratch.h"
#include "nlu/text_features.h"

namespace kefu::nlu {
namespace {

constexpr std::string_view kLinearMagic = "KLIN";
// Version 1: float scales, bfloat16 weights, plain uint32 buckets (still read).
// Version 2 (written): delta-varint buckets, 8-bit codebook scales and weights,
// a bitmap of the rows that store weights (the others were pruned).
// Version 3: version 2 followed by the WordClusters block (written only for a
// model with cluster features, so every other model stays version 2).
// Version 4 (written for options.weight_bits > 0): compact; see SerializeCompact().
constexpr uint32_t kLinearVersion = 2;
constexpr uint32_t kLinearVersionClusters = 3;
constexpr uint32_t kLinearVersionCompact = 4;
constexpr uint32_t kLinearVersionBf16 = 1;
constexpr size_t kCodebookSize = 256;
constexpr uint32_t kEmpty = 0xFFFFFFFFu;

uint64_t Mix(uint64_t h) {  // splitmix64 finaliser
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

uint64_t HashBytes(std::string_view s, uint64_t seed) {
  uint64_t h = 1469598103934665603ULL ^ seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

uint16_t ToBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7FFF + ((u >> 16) & 1);  // round to nearest even
  return static_cast<uint16_t>(u >> 16);
}

float FromBf16(uint16_t b) {
  uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

void Softmax(std::vector<float>& s) {
  float mx = *std::max_element(s.begin(), s.end());
  float sum = 0;
  for (float& v : s) sum += (v = std::exp(v - mx));
  for (float& v : s) v /= sum;
}

// A 256-entry 1-D codebook for `values`, sorted ascending: entries start evenly
// spaced in sign(v)·sqrt(|v|) between the extremes (so the rare large values,
// which decide predictions, keep fine steps), then Lloyd (k-means) iterations
// lower the squared error. Fewer distinct values give a shorter codebook
// padded with its largest entry. `size` entries (256 for version 2).
std::vector<float> BuildCodebook(std::vector<float> values, size_t size = kCodebookSize) {
  std::vector<float> book;
  if (values.empty()) return std::vector<float>(size, 0.0f);
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  auto compand = [](double v) { return v < 0 ? -std::sqrt(-v) : std::sqrt(v); };
  const double lo_c = compand(values.front()), hi_c = compand(values.back());
  for (size_t k = 0; k < size; ++k) {
    const double c = size == 1 ? lo_c : lo_c + (hi_c - lo_c) * static_cast<double>(k) / static_cast<double>(size - 1);
    book.push_back(static_cast<float>(c < 0 ? -c * c : c * c));
  }
  book.erase(std::unique(book.begin(), book.end()), book.end());
  std::vector<double> prefix(n + 1, 0);
  for (size_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + values[i];
  for (int iter = 0; iter < 12 && book.size() > 1; ++iter) {
    std::vector<float> next;
    size_t lo = 0;
    for (size_t k = 0; k < book.size(); ++k) {
      const size_t hi = k + 1 == book.size()
                            ? n
                            : static_cast<size_t>(std::lower_bound(values.begin(), values.end(),
                                                                   0.5f * (book[k] + book[k + 1])) -
                                                  values.begin());
      if (hi > lo) next.push_back(static_cast<float>((prefix[hi] - prefix[lo]) / static_cast<double>(hi - lo)));
      lo = std::max(lo, hi);
    }
    std::sort(next.begin(), next.end());
    next.erase(std::unique(next.begin(), next.end()), next.end());
    book = std::move(next);
  }
  book.resize(size, book.back());
  return book;
}

// Index of the codebook entry nearest to v (book sorted ascending).
uint8_t Encode(const std::vector<float>& book, float v) {
  const size_t i = static_cast<size_t>(std::lower_bound(book.begin(), book.end(), v) - book.begin());
  if (i == 0) return 0;
  if (i >= book.size()) return static_cast<uint8_t>(book.size() - 1);
  return static_cast<uint8_t>(v - book[i - 1] <= book[i] - v ? i - 1 : i);
}

void PutVarint(std::string& out, uint32_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Bits written least significant first into bytes; Finish() pads the last
// byte with zero bits.
class BitWriter {
 public:
  void Put(uint32_t v, int bits) {
    acc_ |= static_cast<uint64_t>(v) << n_;
    n_ += bits;
    while (n_ >= 8) {
      out_.push_back(static_cast<char>(acc_ & 0xFF));
      acc_ >>= 8;
      n_ -= 8;
    }
  }
  // Rice code of v with parameter k: v >> k as that many 1 bits and a 0, then the k low bits.
  void Rice(uint32_t v, int k) {
    for (uint32_t q = v >> k; q > 0; q -= std::min<uint32_t>(q, 24)) Put((1u << std::min<uint32_t>(q, 24)) - 1, static_cast<int>(std::min<uint32_t>(q, 24)));
    Put(0, 1);
    if (k > 0) Put(v & ((1u << k) - 1), k);
  }
  std::string Finish() {
    if (n_ > 0) out_.push_back(static_cast<char>(acc_ & 0xFF));
    acc_ = 0;
    n_ = 0;
    return std::move(out_);
  }

 private:
  std::string out_;
  uint64_t acc_ = 0;
  int n_ = 0;
};

class BitReader {
 public:
  explicit BitReader(std::string_view in) : in_(in) {}
  bool Get(int bits, uint32_t* v) {
    if (pos_ + static_cast<uint64_t>(bits) > in_.size() * 8ULL) return false;
    uint32_t r = 0;
    for (int i = 0; i < bits; ++i, ++pos_) {
      r |= static_cast<uint32_t>((static_cast<unsigned char>(in_[pos_ >> 3]) >> (pos_ & 7)) & 1) << i;
    }
    *v = r;
    return true;
  }
  // A Rice code whose value is at most `max`; false when it is longer or the bits run out.
  bool Rice(int k, uint64_t max, uint32_t* v) {
    uint64_t q = 0;
    for (;;) {
      uint32_t bit = 0;
      if (!Get(1, &bit)) return false;
      if (!bit) break;
      if (++q > (max >> k)) return false;
    }
    uint32_t low = 0;
    if (k > 0 && !Get(k, &low)) return false;
    const uint64_t r = (q << k) | low;
    if (r > max) return false;
    *v = static_cast<uint32_t>(r);
    return true;
  }
  // True when every byte was used and the bits after the last value are zero.
  bool AtPaddedEnd() const {
    if (in_.size() * 8ULL - pos_ >= 8) return false;
    if (pos_ & 7) return (static_cast<unsigned char>(in_[pos_ >> 3]) >> (pos_ & 7)) == 0;
    return true;
  }

 private:
  std::string_view in_;
  uint64_t pos_ = 0;
};

// The Rice parameter that codes `values` in the fewest bits.
int BestRiceK(const std::vector<uint32_t>& values) {
  int best = 0;
  uint64_t best_bits = UINT64_MAX;
  for (int k = 0; k < 31; ++k) {
    uint64_t bits = 0;
    for (uint32_t v : values) bits += (v >> k) + 1 + static_cast<uint64_t>(k);
    if (bits < best_bits) best_bits = bits, best = k;
  }
  return best;
}

bool GetVarint(std::string_view& in, uint32_t* v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (in.empty()) return false;
    const auto b = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    r |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) {
      if (r > 0xFFFFFFFFull) return false;
      *v = static_cast<uint32_t>(r);
      return true;
    }
  }
  return false;
}

}  // namespace

nlohmann::json LinearOptions::ToJson() const {
  nlohmann::json j = {{"word_ngrams", word_ngrams}, {"minn", minn}, {"maxn", maxn}, {"words", words},
                      {"bits", bits}, {"min_count", min_count}, {"weighting", weighting}, {"epoch", epoch},
                      {"lr", lr}, {"l2", l2}, {"balanced", balanced}};
  if (prune > 0) j["prune"] = prune;  // absent = 0, as in files written before pruning
  if (clusters > 0) j["clusters"] = clusters;  // absent = 0
  if (emoji) j["emoji"] = true;                  // absent = false
  if (weight_bits > 0) {                         // absent = 0 (format version 2/3)
    j["weight_bits"] = weight_bits;
    j["scale_bits"] = scale_bits;
    if (prune_scaled) j["prune_scaled"] = true;
  }
  return j;
}

Result<LinearOptions> LinearOptions::FromJson(const nlohmann::json& j) {
  LinearOptions o;
  try {
    o.word_ngrams = j.at("word_ngrams").get<int>();
    o.minn = j.at("minn").get<int>();
    o.maxn = j.at("maxn").get<int>();
    o.words = j.at("words").get<bool>();
    o.bits = j.at("bits").get<int>();
    o.min_count = j.at("min_count").get<int>();
    o.weighting = j.at("weighting").get<std::string>();
    o.epoch = j.at("epoch").get<int>();
    o.lr = j.at("lr").get<double>();
    o.l2 = j.at("l2").get<double>();
    o.balanced = j.at("balanced").get<bool>();
    o.prune = j.value("prune", 0.0);  // absent in files written before pruning
    o.clusters = j.value("clusters", 0);
    o.emoji = j.value("emoji", false);
    o.weight_bits = j.value("weight_bits", 0);
    o.scale_bits = j.value("scale_bits", 8);
    o.prune_scaled = j.value("prune_scaled", false);
  } catch (const std::exception& e) {
    return InvalidArgument(fmt::format("linear model options: {}", e.what()));
  }
  if (o.bits < 10 || o.bits > 30 || o.word_ngrams < 1 || o.word_ngrams > 5 || o.minn < 0 || o.maxn > 10 ||
      !(o.prune >= 0 && o.prune < 1e3) || o.clusters < 0 || o.clusters > 65535 || o.weight_bits < 0 ||
      o.weight_bits > 8 || o.scale_bits < 1 || o.scale_bits > 8 || (o.prune_scaled && o.weight_bits == 0)) {
    return InvalidArgument("linear model options out of range");
  }
  if (o.weighting != "idf" && o.weighting != "nb" && o.weighting != "binary") {
    return InvalidArgument("unknown linear weighting '" + o.weighting + "'");
  }
  return o;
}

std::vector<uint32_t> LinearFeatureBuckets(std::string_view text, const LinearOptions& o,
                                           const WordClusters* clusters, PunctuationNgrams* punctuation) {
  const std::string feats = Featurize(text);
  std::vector<std::string_view> toks;
  std::string_view rest(feats);
  while (!rest.empty()) {
    const size_t sp = rest.find(' ');
    toks.push_back(rest.substr(0, sp));
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
  }
  const uint32_t mask = (1u << o.bits) - 1;
  std::vector<uint32_t> out;
  out.reserve(toks.size() * (o.word_ngrams + 2));
  std::vector<uint64_t> th(toks.size());
  for (size_t i = 0; i < toks.size(); ++i) th[i] = HashBytes(toks[i], 0);
  std::vector<uint8_t> punct;  // per token, only when asked for
  if (punctuation) {
    punct.resize(toks.size());
    for (size_t i = 0; i < toks.size(); ++i) punct[i] = IsPunctuationToken(toks[i]);
  }
  for (size_t i = 0; i < toks.size(); ++i) {
    uint64_t h = 0x1234567ULL;
    bool only_punct = true;
    for (int n = 0; n < o.word_ngrams && i + n < toks.size(); ++n) {
      h = Mix(h * 31 + th[i + n]);
      out.push_back(static_cast<uint32_t>(h) & mask);
      only_punct = only_punct && punctuation && punct[i + n];
      if (only_punct) {
        ++punctuation->count;
        if (punctuation->collect) punctuation->buckets.push_back(static_cast<uint32_t>(h) & mask);
      }
    }
    const std::string_view t = toks[i];
    if (o.emoji) {
      if (const auto p = EmojiTokenPolarity(t)) {
        const uint64_t cls = *p <= -1 ? 1 : *p >= 1 ? 3 : 2;
        out.push_back(static_cast<uint32_t>(Mix(0xE30E30E300ULL + cls)) & mask);
      }
    }
    if (o.minn > 0 && t.size() > 1 && static_cast<unsigned char>(t[0]) < 0x80) {
      std::string w = "<" + std::string(t) + ">";
      for (size_t b = 0; b < w.size(); ++b) {
        for (int n = o.minn; n <= o.maxn && b + n <= w.size(); ++n) {
          if (n == static_cast<int>(w.size())) continue;  // the whole word is already a feature
          out.push_back(static_cast<uint32_t>(Mix(HashBytes(std::string_view(w).substr(b, n), 0xC4A2))) & mask);
        }
      }
    }
  }
  const bool use_clusters = o.clusters > 0 && clusters;
  const std::vector<std::string> words =
      o.words || use_clusters ? SegmenterWords(text) : std::vector<std::string>();
  if (o.words) {
    uint64_t prev = 0;
    for (const auto& w : words) {
      const uint64_t h = HashBytes(w, 0x77);
      out.push_back(static_cast<uint32_t>(Mix(h)) & mask);
      if (prev) out.push_back(static_cast<uint32_t>(Mix(prev * 31 + h)) & mask);
      prev = h;
    }
  }
  if (use_clusters) {
    int prev = -1;
    for (const auto& w : words) {
      const int c = clusters->Find(w);
      if (c >= 0) {
        out.push_back(static_cast<uint32_t>(Mix(0xC1C1000000ULL + static_cast<uint64_t>(c))) & mask);
        if (prev >= 0) {
          out.push_back(static_cast<uint32_t>(Mix(0xC2C2000000000ULL + (static_cast<uint64_t>(prev) << 16) +
                                                  static_cast<uint64_t>(c))) & mask);
        }
      }
      prev = c;
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  if (punctuation && punctuation->collect) {
    auto& pb = punctuation->buckets;
    std::sort(pb.begin(), pb.end());
    pb.erase(std::unique(pb.begin(), pb.end()), pb.end());
  }
  return out;
}

void LinearModel::BuildIndex() {
  size_t cap = 16;
  while (cap < buckets_.size() * 2) cap <<= 1;
  table_keys_.assign(cap, kEmpty);
  table_rows_.assign(cap, 0);
  for (size_t r = 0; r < buckets_.size(); ++r) {
    size_t i = Mix(buckets_[r]) & (cap - 1);
    while (table_keys_[i] != kEmpty) i = (i + 1) & (cap - 1);
    table_keys_[i] = buckets_[r];
    table_rows_[i] = static_cast<uint32_t>(r);
  }
}

int64_t LinearModel::Row(uint32_t bucket) const {
  const size_t cap = table_keys_.size();
  if (cap == 0) return -1;
  size_t i = Mix(bucket) & (cap - 1);
  while (table_keys_[i] != kEmpty) {
    if (table_keys_[i] == bucket) return table_rows_[i];
    i = (i + 1) & (cap - 1);
  }
  return -1;
}

Result<LinearModel> LinearModel::Train(const std::vector<std::string>& texts, const std::vector<int>& labels,
                                       int n_classes, const LinearOptions& options,
                                       const std::vector<float>& weights, const LinearModel* base,
                                       std::shared_ptr<const WordClusters> clusters) {
  if (base && base->n_classes_ != n_classes) return InvalidArgument("base model has another number of classes");
  if (texts.size() != labels.size()) return InvalidArgument("texts and labels differ in length");
  if (!weights.empty() && weights.size() != texts.size()) return InvalidArgument("texts and weights differ in length");
  for (float w : weights) {
    if (!(w > 0) || !std::isfinite(w)) return InvalidArgument("example weights must be positive and finite");
  }
  const auto weight = [&](size_t i) { return weights.empty() ? 1.0f : weights[i]; };
  if (n_classes < 2) return InvalidArgument("need at least two classes");
  KEFU_RETURN_IF_ERROR(LinearOptions::FromJson(options.ToJson()).status());
  if (options.words && !SegmenterAvailable()) return Unavailable("word features need the jieba dictionary (text segmenter)");
  if (!clusters && base) clusters = base->clusters_;
  if (options.clusters > 0 && (!clusters || clusters->clusters() != options.clusters)) {
    return InvalidArgument(fmt::format("options ask for {} word clusters but {} were given", options.clusters,
                                       clusters ? clusters->clusters() : 0));
  }
  if (options.clusters == 0) clusters = nullptr;
  const int C = n_classes;
  // Featurize and count document frequencies (per class for NB weighting).
  std::vector<std::vector<uint32_t>> docs(texts.size());
  std::vector<uint32_t> all;
  for (size_t i = 0; i < texts.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= C) return InvalidArgument("label index out of range");
    docs[i] = LinearFeatureBuckets(texts[i], options, clusters.get());
    all.insert(all.end(), docs[i].begin(), docs[i].end());
  }
  std::sort(all.begin(), all.end());
  LinearModel m;
  m.options_ = options;
  m.n_classes_ = C;
  m.clusters_ = std::move(clusters);
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    while (j < all.size() && all[j] == all[i]) ++j;
    if (static_cast<int>(j - i) >= options.min_count) m.buckets_.push_back(all[i]);
    i = j;
  }
  all.clear();
  all.shrink_to_fit();
  if (m.buckets_.empty()) return InvalidArgument("no feature occurs often enough (min_count)");
  m.BuildIndex();
  const size_t R = m.buckets_.size();
  // Documents as row indices.
  std::vector<std::vector<uint32_t>> rows(docs.size());
  std::vector<double> class_n(C, 0);
  std::vector<float> df(R * (options.weighting == "nb" ? C : 1), 0);
  double N = 0;
  for (size_t i = 0; i < docs.size(); ++i) {
    const float wi = weight(i);
    class_n[labels[i]] += wi;
    N += wi;
    for (uint32_t b : docs[i]) {
      const int64_t r = m.Row(b);
      if (r < 0) continue;
      rows[i].push_back(static_cast<uint32_t>(r));
      if (options.weighting == "nb") {
        df[r * C + labels[i]] += wi;
      } else {
        df[r] += wi;
      }
    }
    docs[i].clear();
    docs[i].shrink_to_fit();
  }
  m.scale_.assign(R, 1.0f);
  for (size_t r = 0; r < R; ++r) {
    if (options.weighting == "idf") {
      m.scale_[r] = static_cast<float>(std::log((N + 1) / (df[r] + 1)) + 1);
    } else if (options.weighting == "nb") {
      // Largest one-vs-rest log-count ratio (Wang & Manning 2012), smoothed by 1.
      double tot = 0;
      for (int c = 0; c < C; ++c) tot += df[r * C + c];
      double best = 0;
      for (int c = 0; c < C; ++c) {
        const double p = (df[r * C + c] + 1) / (class_n[c] + 2);
        const double q = (tot - df[r * C + c] + 1) / (N - class_n[c] + 2);
        best = std::max(best, std::abs(std::log(p / q)));
      }
      m.scale_[r] = static_cast<float>(best + 0.1);
    }
  }
  df.clear();
  df.shrink_to_fit();
  // Rows the base model has (base_row >= 0): its scale and weights, not trained.
  std::vector<int64_t> base_row;
  if (base) {
    base_row.resize(R);
    for (size_t r = 0; r < R; ++r) {
      base_row[r] = base->Row(m.buckets_[r]);
      if (base_row[r] >= 0) m.scale_[r] = base->scale_[static_cast<size_t>(base_row[r])];
    }
  }
  // Per-document normalisers.
  std::vector<float> inv_norm(rows.size(), 0);
  for (size_t i = 0; i < rows.size(); ++i) {
    double s = 0;
    for (uint32_t r : rows[i]) s += static_cast<double>(m.scale_[r]) * m.scale_[r];
    inv_norm[i] = s > 0 ? static_cast<float>(1.0 / std::sqrt(s)) : 0;
  }
  std::vector<float> class_w(C, 1.0f);
  if (options.balanced) {
    for (int c = 0; c < C; ++c) class_w[c] = class_n[c] > 0 ? static_cast<float>(N / (C * class_n[c])) : 0;
  }
  // AdaGrad on the softmax cross-entropy.
  m.weights_.assign(R * C, 0);
  m.bias_.assign(C, 0);
  if (base) {
    m.bias_ = base->bias_;
    for (size_t r = 0; r < R; ++r) {
      if (base_row[r] >= 0) std::copy_n(&base->weights_[static_cast<size_t>(base_row[r]) * C], C, &m.weights_[r * C]);
    }
  }
  std::vector<float> g2(R * C, 1e-6f), b2(C, 1e-6f);
  std::vector<size_t> order(rows.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(0x6b656675);
  std::vector<float> s(C);
  const float lr = static_cast<float>(options.lr), l2 = static_cast<float>(options.l2);
  for (int ep = 0; ep < options.epoch; ++ep) {
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t i : order) {
      if (rows[i].empty()) continue;
      const float z = inv_norm[i];
      for (int c = 0; c < C; ++c) s[c] = m.bias_[c];
      for (uint32_t r : rows[i]) {
        const float x = m.scale_[r] * z;
        const float* w = &m.weights_[static_cast<size_t>(r) * C];
        for (int c = 0; c < C; ++c) s[c] += x * w[c];
      }
      Softmax(s);
      const float cw = class_w[labels[i]] * weight(i);
      for (int c = 0; c < C; ++c) s[c] = (s[c] - (c == labels[i] ? 1.0f : 0.0f)) * cw;
      for (uint32_t r : rows[i]) {
        if (base && base_row[r] >= 0) continue;
        const float x = m.scale_[r] * z;
        float* w = &m.weights_[static_cast<size_t>(r) * C];
        float* g = &g2[static_cast<size_t>(r) * C];
        for (int c = 0; c < C; ++c) {
          const float grad = s[c] * x + l2 * w[c];
          g[c] += grad * grad;
          w[c] -= lr * grad / std::sqrt(g[c]);
        }
      }
      if (base) continue;
      for (int c = 0; c < C; ++c) {
        b2[c] += s[c] * s[c];
        m.bias_[c] -= lr * s[c] / std::sqrt(b2[c]);
      }
    }
  }
  // Scales and weights are stored as 8-bit codebook indices: use the
  // quantised values from now on so a freshly trained model and its reloaded
  // copy predict identically (unless the caller keeps them in memory only).
  if (options.quantize) m.Quantize();
  else m.quantized_ = false;
  return m;
}

std::vector<float> LinearModel::Probabilities(std::string_view text) const { return Probabilities(text, nullptr); }

std::vector<float> LinearModel::Probabilities(std::string_view text, SparseVector* vector) const {
  std::vector<float> s;
  if (vector) vector->clear();
  PunctuationNgrams punctuation;
  std::vector<uint32_t> b = LinearFeatureBuckets(text, options_, clusters_.get(), &punctuation);
  if (b.empty() || n_classes_ == 0) return s;
  double norm = 0;
  size_t found = 0;
  s.assign(n_classes_, 0);
  for (uint32_t bucket : b) {
    const int64_t r = Row(bucket);
    if (r < 0) continue;
    ++found;
    const float x = scale_[r];
    norm += static_cast<double>(x) * x;
    if (vector) vector->push_back({static_cast<uint32_t>(r), x});
    const float* w = &weights_[static_cast<size_t>(r) * n_classes_];
    for (int c = 0; c < n_classes_; ++c) s[c] += x * w[c];
  }
  // Punctuation alone is no known feature. Only when every known feature
  // could be a punctuation n-gram (short or punctuation-heavy text) are those
  // buckets collected to check exactly; the usual turn skips that.
  if (found > 0 && found <= punctuation.count) {
    PunctuationNgrams exact;
    exact.collect = true;
    LinearFeatureBuckets(text, options_, clusters_.get(), &exact);
    found = 0;
    for (uint32_t bucket : b) {
      found += Row(bucket) >= 0 && !std::binary_search(exact.buckets.begin(), exact.buckets.end(), bucket);
    }
  }
  if (found == 0) {
    if (vector) vector->clear();
    return {};
  }
  const float z = static_cast<float>(1.0 / std::sqrt(norm));
  for (int c = 0; c < n_classes_; ++c) s[c] = s[c] * z + bias_[c];
  if (vector) {
    for (auto& [row, x] : *vector) x *= z;
    std::sort(vector->begin(), vector->end());
  }
  Softmax(s);
  return s;
}

void LinearModel::Quantize() {
  if (options_.weight_bits > 0) {
    QuantizeCompact();
    return;
  }
  version_ = clusters_ ? kLinearVersionClusters : kLinearVersion;
  const size_t C = static_cast<size_t>(n_classes_);
  has_weights_.assign(buckets_.size(), 1);
  std::vector<float> kept;
  for (size_t r = 0; r < buckets_.size(); ++r) {
    float mx = 0;
    for (size_t c = 0; c < C; ++c) mx = std::max(mx, std::abs(weights_[r * C + c]));
    if (options_.prune > 0 && mx < options_.prune) {
      has_weights_[r] = 0;
      std::fill_n(&weights_[r * C], C, 0.0f);
    } else {
      kept.insert(kept.end(), &weights_[r * C], &weights_[r * C] + C);
    }
  }
  scale_book_ = BuildCodebook(scale_);
  weight_book_ = BuildCodebook(std::move(kept));
  for (float& v : scale_) v = scale_book_[Encode(scale_book_, v)];
  for (size_t r = 0; r < buckets_.size(); ++r) {
    if (!has_weights_[r]) continue;
    for (size_t c = 0; c < C; ++c) weights_[r * C + c] = weight_book_[Encode(weight_book_, weights_[r * C + c])];
  }
}

void LinearModel::QuantizeCompact() {
  version_ = kLinearVersionCompact;
  const size_t C = static_cast<size_t>(n_classes_), R = buckets_.size();
  has_weights_.assign(R, 1);
  for (size_t r = 0; r < R; ++r) {
    float mean = 0, mx = 0;
    if (options_.prune_scaled) {
      for (size_t c = 0; c < C; ++c) mean += weights_[r * C + c];
      mean /= static_cast<float>(C);
    }
    const float x = options_.prune_scaled ? scale_[r] : 1.0f;
    for (size_t c = 0; c < C; ++c) mx = std::max(mx, x * std::abs(weights_[r * C + c] - mean));
    if (options_.prune > 0 && mx < options_.prune) {
      has_weights_[r] = 0;
      std::fill_n(&weights_[r * C], C, 0.0f);
    }
  }
  scale_book_ = BuildCodebook(scale_, size_t{1} << options_.scale_bits);
  for (float& v : scale_) v = scale_book_[Encode(scale_book_, v)];
  // Reference class: the one closest to the others (least squared difference
  // of the scaled weights), so the stored differences are small.
  std::vector<double> cost(C, 0);
  for (size_t r = 0; r < R; ++r) {
    if (!has_weights_[r]) continue;
    double s1 = 0, s2 = 0;
    const double x2 = static_cast<double>(scale_[r]) * scale_[r];
    for (size_t c = 0; c < C; ++c) s1 += weights_[r * C + c], s2 += static_cast<double>(weights_[r * C + c]) * weights_[r * C + c];
    for (size_t c = 0; c < C; ++c) {
      const double w = weights_[r * C + c];
      cost[c] += x2 * (s2 - 2 * w * s1 + static_cast<double>(C) * w * w);
    }
  }
  ref_class_ = static_cast<uint32_t>(std::min_element(cost.begin(), cost.end()) - cost.begin());
  std::vector<float> kept;
  for (size_t r = 0; r < R; ++r) {
    if (!has_weights_[r]) continue;
    const float ref = weights_[r * C + ref_class_];
    for (size_t c = 0; c < C; ++c) {
      if (c != ref_class_) kept.push_back(scale_[r] * (weights_[r * C + c] - ref));
    }
  }
  weight_book_ = BuildCodebook(std::move(kept), size_t{1} << options_.weight_bits);
  // What the file stores (scale x difference) back as a weight, exactly as Parse computes it.
  for (size_t r = 0; r < R; ++r) {
    if (!has_weights_[r]) continue;
    const float ref = weights_[r * C + ref_class_];
    for (size_t c = 0; c < C; ++c) {
      float& w = weights_[r * C + c];
      w = c == ref_class_ ? 0.0f : weight_book_[Encode(weight_book_, scale_[r] * (w - ref))] / scale_[r];
    }
  }
}

// Version 4: magic, version, options (JSON; weight_bits and scale_bits say the
// code widths), class count, row count, float biases, the reference class,
// the scale codebook (2^scale_bits floats, ascending, positive) and the weight
// codebook (2^weight_bits floats, ascending), the Rice parameter (1 byte) and
// byte length of the bucket block, the bucket ids as Rice-coded gaps (the
// first id, then each gap minus 1), one scale code per row (bit-packed), a
// bitmap of the rows that store weights, C - 1 weight codes per such row
// (bit-packed, classes in order, the reference class left out; a code stands
// for scale x (weight - reference weight)), then the WordClusters block when
// the options have clusters. Every bit-packed block is padded with zero bits
// to a whole byte.
std::string LinearModel::SerializeCompact() const {
  std::string out(kLinearMagic);
  PutRaw<uint32_t>(out, version_);
  const std::string opts = options_.ToJson().dump();
  PutRaw<uint32_t>(out, static_cast<uint32_t>(opts.size()));
  out += opts;
  PutRaw<uint32_t>(out, static_cast<uint32_t>(n_classes_));
  PutRaw<uint64_t>(out, buckets_.size());
  for (float b : bias_) PutRaw<float>(out, b);
  PutRaw<uint32_t>(out, ref_class_);
  for (float v : scale_book_) PutRaw<float>(out, v);
  for (float v : weight_book_) PutRaw<float>(out, v);
  const size_t R = buckets_.size(), C = static_cast<size_t>(n_classes_);
  std::vector<uint32_t> gaps(R);
  for (size_t r = 0; r < R; ++r) gaps[r] = r == 0 ? buckets_[0] : buckets_[r] - buckets_[r - 1] - 1;
  const int k = BestRiceK(gaps);
  BitWriter bw;
  for (uint32_t g : gaps) bw.Rice(g, k);
  const std::string bucket_bits = bw.Finish();
  out.push_back(static_cast<char>(k));
  PutRaw<uint64_t>(out, bucket_bits.size());
  out += bucket_bits;
  BitWriter sw;
  for (float v : scale_) sw.Put(Encode(scale_book_, v), options_.scale_bits);
  out += sw.Finish();
  std::string bitmap((R + 7) / 8, '\0');
  for (size_t r = 0; r < R; ++r) {
    if (has_weights_[r]) bitmap[r / 8] = static_cast<char>(bitmap[r / 8] | (1 << (r % 8)));
  }
  out += bitmap;
  BitWriter ww;
  for (size_t r = 0; r < R; ++r) {
    if (!has_weights_[r]) continue;
    for (size_t c = 0; c < C; ++c) {
      if (c != ref_class_) ww.Put(Encode(weight_book_, scale_[r] * weights_[r * C + c]), options_.weight_bits);
    }
  }
  out += ww.Finish();
  if (clusters_) clusters_->AppendTo(out);
  return out;
}

std::string LinearModel::Serialize() const {
  if (!quantized_) {
    LinearModel rounded = *this;
    rounded.Quantize();
    rounded.quantized_ = true;
    return rounded.Serialize();
  }
  if (version_ == kLinearVersionCompact) return SerializeCompact();
  std::string out(kLinearMagic);
  PutRaw<uint32_t>(out, version_);
  const std::string opts = options_.ToJson().dump();
  PutRaw<uint32_t>(out, static_cast<uint32_t>(opts.size()));
  out += opts;
  PutRaw<uint32_t>(out, static_cast<uint32_t>(n_classes_));
  PutRaw<uint64_t>(out, buckets_.size());
  for (float b : bias_) PutRaw<float>(out, b);
  if (version_ == kLinearVersionBf16) {  // a model loaded from an old file is written back unchanged
    for (uint32_t b : buckets_) PutRaw<uint32_t>(out, b);
    for (float sc : scale_) PutRaw<float>(out, sc);
    for (float w : weights_) PutRaw<uint16_t>(out, ToBf16(w));
    return out;
  }
  for (float v : scale_book_) PutRaw<float>(out, v);
  for (float v : weight_book_) PutRaw<float>(out, v);
  std::string gaps;
  uint32_t prev = 0;
  for (size_t r = 0; r < buckets_.size(); ++r) {
    PutVarint(gaps, r == 0 ? buckets_[r] : buckets_[r] - prev);
    prev = buckets_[r];
  }
  PutRaw<uint64_t>(out, gaps.size());
  out += gaps;
  for (float v : scale_) out.push_back(static_cast<char>(Encode(scale_book_, v)));
  std::string bitmap((buckets_.size() + 7) / 8, '\0');
  for (size_t r = 0; r < buckets_.size(); ++r) {
    if (has_weights_[r]) bitmap[r / 8] = static_cast<char>(bitmap[r / 8] | (1 << (r % 8)));
  }
  out += bitmap;
  const size_t C = static_cast<size_t>(n_classes_);
  for (size_t r = 0; r < buckets_.size(); ++r) {
    if (!has_weights_[r]) continue;
    for (size_t c = 0; c < C; ++c) out.push_back(static_cast<char>(Encode(weight_book_, weights_[r * C + c])));
  }
  if (version_ == kLinearVersionClusters) clusters_->AppendTo(out);
  return out;
}

namespace {

// The rows-with-weights bitmap ((nrows + 7) / 8 bytes at the start of `in`,
// which the caller has checked are there): fills `has` and counts the set
// bits; false when bits beyond the last row are set.
bool ReadWeightBitmap(std::string_view in, uint64_t nrows, std::vector<uint8_t>& has, uint64_t& weighted) {
  has.assign(nrows, 0);
  weighted = 0;
  for (size_t r = 0; r < nrows; ++r) {
    has[r] = (static_cast<unsigned char>(in[r / 8]) >> (r % 8)) & 1;
    weighted += has[r];
  }
  return nrows % 8 == 0 || (static_cast<unsigned char>(in[nrows / 8]) >> (nrows % 8)) == 0;
}

}  // namespace

Result<LinearModel> LinearModel::Parse(std::string_view in) {
  const uint64_t payload_bytes = in.size();
  auto bad = [](std::string_view why) { return InvalidArgument(fmt::format("linear model payload: {}", why)); };
  if (in.substr(0, kLinearMagic.size()) != kLinearMagic) return bad("bad magic");
  in.remove_prefix(kLinearMagic.size());
  uint32_t version = 0, opts_len = 0, classes = 0;
  uint64_t nrows = 0;
  if (!GetRaw(in, &version) ||
      (version != kLinearVersion && version != kLinearVersionBf16 && version != kLinearVersionClusters &&
       version != kLinearVersionCompact)) {
    return bad("unsupported version");
  }
  if (!GetRaw(in, &opts_len) || opts_len > in.size()) return bad("truncated options");
  nlohmann::json oj = nlohmann::json::parse(in.substr(0, opts_len), nullptr, false);
  in.remove_prefix(opts_len);
  if (oj.is_discarded()) return bad("corrupt options");
  LinearModel m;
  KEFU_ASSIGN_OR_RETURN(m.options_, LinearOptions::FromJson(oj));
  if ((m.options_.weight_bits > 0) != (version == kLinearVersionCompact)) {
    return bad("weight_bits option and format version disagree");
  }
  if (version != kLinearVersionCompact && (m.options_.clusters > 0) != (version == kLinearVersionClusters)) {
    return bad("word-cluster option and format version disagree");
  }
  if (!GetRaw(in, &classes) || classes < 2 || classes > 100000) return bad("bad class count");
  if (!GetRaw(in, &nrows) || nrows > (1ULL << 31)) return bad("bad row count");
  const uint32_t limit = m.options_.bits >= 32 ? kEmpty : (1u << m.options_.bits);
  m.n_classes_ = static_cast<int>(classes);
  // Sizes are checked against the bytes present before anything is allocated,
  // so a corrupt count cannot ask for a huge allocation.
  auto allocate = [&] {
    m.bias_.resize(classes);
    m.buckets_.resize(nrows);
    m.scale_.resize(nrows);
    m.weights_.resize(nrows * classes);
  };
  if (version == kLinearVersionCompact) {
    m.version_ = version;
    return ParseCompact(std::move(m), nrows, in, payload_bytes);
  }
  if (version == kLinearVersionBf16) {
    const uint64_t need = classes * 4ULL + nrows * (8ULL + 2ULL * classes);
    if (in.size() != need) return bad(fmt::format("{} bytes of weights, expected {}", in.size(), need));
    allocate();
    for (auto& b : m.bias_) GetRaw(in, &b);
    for (auto& b : m.buckets_) GetRaw(in, &b);
    for (auto& s : m.scale_) GetRaw(in, &s);
    for (auto& w : m.weights_) {
      uint16_t v = 0;
      GetRaw(in, &v);
      w = FromBf16(v);
    }
  } else {
    const uint64_t fixed = classes * 4ULL + 2 * kCodebookSize * 4ULL + 8;
    // Every row takes at least one gap byte, one scale code and a bitmap bit.
    if (in.size() < fixed + nrows * 2) return bad("truncated payload");
    // Pruned rows store no weights but still get a (zero) dense row in memory:
    // refuse counts that would expand the file implausibly.
    if (nrows * classes > 16 * payload_bytes) return bad("row and class counts too large for the payload");
    allocate();
    for (auto& b : m.bias_) GetRaw(in, &b);
    m.scale_book_.resize(kCodebookSize);
    m.weight_book_.resize(kCodebookSize);
    for (auto& v : m.scale_book_) GetRaw(in, &v);
    for (auto& v : m.weight_book_) GetRaw(in, &v);
    for (const auto* book : {&m.scale_book_, &m.weight_book_}) {
      for (size_t k = 0; k < kCodebookSize; ++k) {
        if (!std::isfinite((*book)[k]) || (k > 0 && (*book)[k] < (*book)[k - 1])) return bad("corrupt codebook");
      }
    }
    uint64_t gap_bytes = 0;
    GetRaw(in, &gap_bytes);
    if (gap_bytes > in.size()) return bad("truncated buckets");
    std::string_view gaps = in.substr(0, gap_bytes);
    in.remove_prefix(gap_bytes);
    uint64_t bucket = 0;
    for (size_t r = 0; r < nrows; ++r) {
      uint32_t gap = 0;
      if (!GetVarint(gaps, &gap) || (r > 0 && gap == 0)) return bad("corrupt bucket gaps");
      bucket = r == 0 ? gap : bucket + gap;
      if (bucket >= limit) return bad("buckets not sorted/in range");
      m.buckets_[r] = static_cast<uint32_t>(bucket);
    }
    if (!gaps.empty()) return bad("trailing bytes after the buckets");
    const uint64_t bitmap_bytes = (nrows + 7) / 8;
    if (in.size() < nrows + bitmap_bytes) return bad("truncated scales");
    for (size_t r = 0; r < nrows; ++r) m.scale_[r] = m.scale_book_[static_cast<unsigned char>(in[r])];
    in.remove_prefix(nrows);
    uint64_t weighted = 0;
    if (!ReadWeightBitmap(in, nrows, m.has_weights_, weighted)) return bad("stray bits in the weight bitmap");
    in.remove_prefix(bitmap_bytes);
    if (version == kLinearVersionClusters) {
      if (in.size() < weighted * classes) return bad("truncated weight codes");
      std::string_view tail = in.substr(weighted * classes);
      auto parsed = WordClusters::Parse(tail);
      if (!parsed.ok()) return bad(parsed.status().message());
      if (!tail.empty()) return bad("trailing bytes after the word clusters");
      if (parsed->clusters() != m.options_.clusters) return bad("word-cluster count disagrees with the options");
      m.clusters_ = std::make_shared<const WordClusters>(std::move(parsed).value());
      in = in.substr(0, weighted * classes);
    }
    if (in.size() != weighted * classes) {
      return bad(fmt::format("{} bytes of weight codes, expected {}", in.size(), weighted * classes));
    }
    size_t at = 0;
    for (size_t r = 0; r < nrows; ++r) {
      if (!m.has_weights_[r]) continue;
      for (size_t c = 0; c < classes; ++c) {
        m.weights_[r * classes + c] = m.weight_book_[static_cast<unsigned char>(in[at++])];
      }
    }
  }
  for (float b : m.bias_) {
    if (!std::isfinite(b)) return bad("non-finite bias");
  }
  for (size_t i = 0; i < nrows; ++i) {
    if (m.buckets_[i] >= limit || (i > 0 && m.buckets_[i] <= m.buckets_[i - 1])) return bad("buckets not sorted/in range");
  }
  for (float s : m.scale_) {
    if (!std::isfinite(s)) return bad("non-finite scale");
  }
  for (float w : m.weights_) {
    if (!std::isfinite(w)) return bad("non-finite weight");
  }
  if ((m.options_.words || m.options_.clusters > 0) && !SegmenterAvailable()) {
    return Unavailable("model uses word features but the jieba dictionary is missing");
  }
  m.version_ = version;
  m.BuildIndex();
  return m;
}

}  // namespace kefu::nlu

namespace kefu::nlu {

// The rest of a version 4 payload (SerializeCompact), after the row count.
Result<LinearModel> LinearModel::ParseCompact(LinearModel m, uint64_t nrows, std::string_view in,
                                              uint64_t payload_bytes) {
  auto bad = [](std::string_view why) { return InvalidArgument(fmt::format("linear model payload: {}", why)); };
  const uint64_t classes = static_cast<uint64_t>(m.n_classes_);
  const uint64_t limit = 1ULL << m.options_.bits;
  const size_t scale_entries = size_t{1} << m.options_.scale_bits;
  const size_t weight_entries = size_t{1} << m.options_.weight_bits;
  const uint64_t fixed = classes * 4 + 4 + (scale_entries + weight_entries) * 4 + 1 + 8;
  // A row takes at least one bucket bit, scale_bits and a bitmap bit: check
  // the counts against the bytes present before anything is allocated.
  if (in.size() < fixed || (in.size() - fixed) * 8 < nrows * static_cast<uint64_t>(m.options_.scale_bits + 2)) {
    return bad("truncated payload");
  }
  if (nrows > limit) return bad("more rows than buckets");
  if (nrows * classes > 64 * payload_bytes) return bad("row and class counts too large for the payload");
  m.bias_.resize(classes);
  for (auto& b : m.bias_) GetRaw(in, &b);
  GetRaw(in, &m.ref_class_);
  if (m.ref_class_ >= classes) return bad("reference class out of range");
  m.scale_book_.resize(scale_entries);
  m.weight_book_.resize(weight_entries);
  for (auto& v : m.scale_book_) GetRaw(in, &v);
  for (auto& v : m.weight_book_) GetRaw(in, &v);
  for (const auto* book : {&m.scale_book_, &m.weight_book_}) {
    for (size_t k = 0; k < book->size(); ++k) {
      if (!std::isfinite((*book)[k]) || (k > 0 && (*book)[k] < (*book)[k - 1])) return bad("corrupt codebook");
    }
  }
  if (!(m.scale_book_.front() > 0)) return bad("scale codebook not positive");
  const int k = static_cast<unsigned char>(in.front());
  in.remove_prefix(1);
  if (k > 30) return bad("bad Rice parameter");
  uint64_t bucket_bytes = 0;
  GetRaw(in, &bucket_bytes);
  if (bucket_bytes > in.size()) return bad("truncated buckets");
  m.buckets_.assign(nrows, 0);
  {
    BitReader br(in.substr(0, bucket_bytes));
    uint64_t bucket = 0;
    for (size_t r = 0; r < nrows; ++r) {
      uint32_t gap = 0;
      if (!br.Rice(k, limit - 1, &gap)) return bad("corrupt bucket gaps");
      bucket = r == 0 ? gap : bucket + gap + 1;
      if (bucket >= limit) return bad("buckets not sorted/in range");
      m.buckets_[r] = static_cast<uint32_t>(bucket);
    }
    if (!br.AtPaddedEnd()) return bad("trailing bits after the buckets");
  }
  in.remove_prefix(bucket_bytes);
  const uint64_t scale_bytes = (nrows * static_cast<uint64_t>(m.options_.scale_bits) + 7) / 8;
  const uint64_t bitmap_bytes = (nrows + 7) / 8;
  if (in.size() < scale_bytes + bitmap_bytes) return bad("truncated scales");
  m.scale_.resize(nrows);
  {
    BitReader br(in.substr(0, scale_bytes));
    for (size_t r = 0; r < nrows; ++r) {
      uint32_t code = 0;
      br.Get(m.options_.scale_bits, &code);
      m.scale_[r] = m.scale_book_[code];
    }
    if (!br.AtPaddedEnd()) return bad("stray bits after the scale codes");
  }
  in.remove_prefix(scale_bytes);
  uint64_t weighted = 0;
  if (!ReadWeightBitmap(in, nrows, m.has_weights_, weighted)) return bad("stray bits in the weight bitmap");
  in.remove_prefix(bitmap_bytes);
  const uint64_t code_bytes = (weighted * (classes - 1) * static_cast<uint64_t>(m.options_.weight_bits) + 7) / 8;
  if (in.size() < code_bytes) return bad("truncated weight codes");
  std::string_view tail = in.substr(code_bytes);
  if (m.options_.clusters > 0) {
    auto parsed = WordClusters::Parse(tail);
    if (!parsed.ok()) return bad(parsed.status().message());
    if (parsed->clusters() != m.options_.clusters) return bad("word-cluster count disagrees with the options");
    m.clusters_ = std::make_shared<const WordClusters>(std::move(parsed).value());
  }
  if (!tail.empty()) return bad(fmt::format("{} bytes after the weight codes", tail.size()));
  m.weights_.assign(nrows * classes, 0.0f);
  {
    BitReader br(in.substr(0, code_bytes));
    for (size_t r = 0; r < nrows; ++r) {
      if (!m.has_weights_[r]) continue;
      for (size_t c = 0; c < classes; ++c) {
        if (c == m.ref_class_) continue;
        uint32_t code = 0;
        br.Get(m.options_.weight_bits, &code);
        m.weights_[r * classes + c] = m.weight_book_[code] / m.scale_[r];
      }
    }
    if (!br.AtPaddedEnd()) return bad("stray bits after the weight codes");
  }
  for (float b : m.bias_) {
    if (!std::isfinite(b)) return bad("non-finite bias");
  }
  for (float w : m.weights_) {
    if (!std::isfinite(w)) return bad("non-finite weight");
  }
  if ((m.options_.words || m.options_.clusters > 0) && !SegmenterAvailable()) {
    return Unavailable("model uses word features but the jieba dictionary is missing");
  }
  m.BuildIndex();
  return m;
}

}  // namespace kefu::nlu
