#include "knowledge/matcher.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "common/utf8.h"
#include "text/spelling.h"

namespace kefu::knowledge {

namespace {

constexpr char kMagic[8] = {'K', 'E', 'F', 'U', 'Q', 'M', 'A', 'T'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kPairSalt = 0x5bd1e9955bd1e995ULL;
constexpr uint64_t kSharedSalt = 0x27d4eb2f165667c5ULL;
constexpr uint64_t kOnlySalt = 0x165667b19e3779f9ULL;

uint64_t Fnv1a(std::string_view s, uint64_t h = 1469598103934665603ULL) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

uint64_t Mix(uint64_t x) {  // splitmix64 finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

uint64_t HashWord(std::string_view w) {
  return Mix(Fnv1a(w));
}

bool IsNegation(uint32_t cp) {
  return cp == U'不' || cp == U'没' || cp == U'无' || cp == U'非' || cp == U'未';
}

template <typename T>
void SortUnique(std::vector<T>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

template <typename T>
size_t Intersection(const std::vector<T>& a, const std::vector<T>& b) {
  size_t i = 0, j = 0, n = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] < b[j])
      ++i;
    else if (b[j] < a[i])
      ++j;
    else
      ++n, ++i, ++j;
  }
  return n;
}

template <typename T>
float Dice(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.empty() && b.empty()) return 0;
  return 2.0f * static_cast<float>(Intersection(a, b)) / static_cast<float>(a.size() + b.size());
}

// IDF-weighted share of a's words that b contains.
float Coverage(const QuestionMatcher::Prepared& a, const QuestionMatcher::Prepared& b) {
  float total = 0, hit = 0;
  size_t j = 0;
  for (size_t i = 0; i < a.words.size(); ++i) {
    total += a.idf[i];
    while (j < b.words.size() && b.words[j] < a.words[i]) ++j;
    if (j < b.words.size() && b.words[j] == a.words[i]) hit += a.idf[i];
  }
  return total > 0 ? hit / total : 0;
}

// Strictly inside (0, 1) in double precision.
double Sigmoid(double z) {
  z = std::clamp(z, -30.0, 30.0);
  return 1.0 / (1.0 + std::exp(-z));
}

// --- little-endian binary helpers ---
template <typename T>
void Put(std::string& out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out.append(buf, sizeof(T));
}

template <typename T>
void PutArray(std::string& out, const T* data, size_t n) {
  out.append(reinterpret_cast<const char*>(data), n * sizeof(T));
}

struct Reader {
  std::string_view in;
  size_t pos = 0;
  template <typename T>
  bool Get(T& v) {
    if (in.size() - pos < sizeof(T)) return false;
    std::memcpy(&v, in.data() + pos, sizeof(T));
    pos += sizeof(T);
    return true;
  }
  template <typename T>
  bool GetArray(std::vector<T>& v, size_t n) {
    if ((in.size() - pos) / sizeof(T) < n) return false;
    v.resize(n);
    if (n) std::memcpy(v.data(), in.data() + pos, n * sizeof(T));
    pos += n * sizeof(T);
    return true;
  }
};

}  // namespace

nlohmann::json MatcherTrainOptions::ToJson() const {
  return {{"epochs", epochs},
          {"learning_rate", learning_rate},
          {"l2", l2},
          {"hash_bits", hash_bits},
          {"sparse", sparse},
          {"seed", seed},
          {"calibration_share", calibration_share}};
}

QuestionMatcher::QuestionMatcher(const text::Segmenter& seg, int hash_bits)
    : seg_(seg), segmenter_name_(seg.Name()), hash_bits_(hash_bits), sparse_(size_t{1} << hash_bits, 0.0f) {}

const char* QuestionMatcher::DenseFeatureName(int i) {
  static const char* const kNames[kDense] = {"bias",         "char_dice",         "bigram_dice",
                                             "word_dice",    "coverage_min",      "coverage_max",
                                             "length_ratio", "negation_mismatch", "digit_mismatch"};
  return i >= 0 && i < kDense ? kNames[i] : "";
}

float QuestionMatcher::Idf(uint64_t word) const {
  auto it = std::lower_bound(idf_keys_.begin(), idf_keys_.end(), word);
  if (it != idf_keys_.end() && *it == word) return idf_values_[it - idf_keys_.begin()];
  return unknown_idf_;
}

QuestionMatcher::Prepared QuestionMatcher::Prepare(std::string_view text) const {
  std::string folded = text::FoldChinese(text);
  for (char& c : folded)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  Prepared p;
  std::vector<uint32_t> seq;
  for (const std::string& tok : seg_.Tokenize(folded)) {
    p.words.push_back(HashWord(tok));
    for (char32_t cp : utf8::Decode(tok)) seq.push_back(static_cast<uint32_t>(cp));
  }
  // Digit strings of the folded text (full-width digits are ASCII by now).
  for (size_t i = 0; i < folded.size();) {
    if (folded[i] >= '0' && folded[i] <= '9') {
      size_t j = i;
      while (j < folded.size() && folded[j] >= '0' && folded[j] <= '9') ++j;
      p.digits.push_back(HashWord(std::string_view(folded).substr(i, j - i)));
      i = j;
    } else {
      ++i;
    }
  }
  p.length = static_cast<uint32_t>(seq.size());
  for (size_t i = 0; i < seq.size(); ++i) {
    if (IsNegation(seq[i])) p.negated = true;
    if (i + 1 < seq.size()) p.bigrams.push_back((uint64_t{seq[i]} << 32) | seq[i + 1]);
  }
  p.chars = std::move(seq);
  SortUnique(p.words);
  SortUnique(p.chars);
  SortUnique(p.bigrams);
  SortUnique(p.digits);
  p.idf.reserve(p.words.size());
  for (uint64_t w : p.words) p.idf.push_back(Idf(w));
  return p;
}

std::array<float, QuestionMatcher::kDense> QuestionMatcher::DenseFeatures(const Prepared& a, const Prepared& b) const {
  std::array<float, kDense> x{};
  x[0] = 1;
  x[1] = Dice(a.chars, b.chars);
  x[2] = Dice(a.bigrams, b.bigrams);
  x[3] = Dice(a.words, b.words);
  float c1 = Coverage(a, b), c2 = Coverage(b, a);
  x[4] = std::min(c1, c2);
  x[5] = std::max(c1, c2);
  uint32_t lo = std::min(a.length, b.length), hi = std::max(a.length, b.length);
  x[6] = hi ? static_cast<float>(lo) / static_cast<float>(hi) : 0;
  x[7] = a.negated != b.negated ? 1 : 0;
  x[8] = a.digits != b.digits ? 1 : 0;
  return x;
}

template <typename Fn>
void QuestionMatcher::ForEachSparse(const Prepared& a0, const Prepared& b0, Fn&& fn) const {
  // Canonical order, so that the capped pair list and hence the score are symmetric.
  const bool swap = b0.words < a0.words;
  const Prepared& a = swap ? b0 : a0;
  const Prepared& b = swap ? a0 : b0;
  const int shift = 64 - hash_bits_;
  int only_a[kMaxPairs], only_b[kMaxPairs];
  uint32_t shared[kMaxPairs];
  int na = 0, nb = 0, ns = 0;
  size_t i = 0, j = 0;
  while (i < a.words.size() || j < b.words.size()) {
    if (j == b.words.size() || (i < a.words.size() && a.words[i] < b.words[j])) {
      if (na < kMaxPairs) only_a[na++] = static_cast<int>(i);
      ++i;
    } else if (i == a.words.size() || b.words[j] < a.words[i]) {
      if (nb < kMaxPairs) only_b[nb++] = static_cast<int>(j);
      ++j;
    } else {
      if (ns < kMaxPairs) shared[ns++] = static_cast<uint32_t>(Mix(a.words[i] ^ kSharedSalt) >> shift);
      ++i, ++j;
    }
  }
  if (ns > 0) {
    const float v = 1.0f / std::sqrt(static_cast<float>(ns));
    for (int k = 0; k < ns; ++k) fn(shared[k], v);
  }
  // Each word only one side has (what a non-paraphrase tends to differ in: 如何 vs 哪里).
  if (na + nb > 0) {
    const float v = 1.0f / std::sqrt(static_cast<float>(na + nb));
    for (int k = 0; k < na; ++k) fn(static_cast<uint32_t>(Mix(a.words[only_a[k]] ^ kOnlySalt) >> shift), v);
    for (int k = 0; k < nb; ++k) fn(static_cast<uint32_t>(Mix(b.words[only_b[k]] ^ kOnlySalt) >> shift), v);
  }
  if (na == 0 || nb == 0) return;
  auto by_idf = [](const Prepared& p) {
    return [&p](int x, int y) { return p.idf[x] != p.idf[y] ? p.idf[x] > p.idf[y] : p.words[x] < p.words[y]; };
  };
  std::sort(only_a, only_a + na, by_idf(a));
  std::sort(only_b, only_b + nb, by_idf(b));
  const int npairs = std::min(kMaxPairs, na * nb);
  const float v = 1.0f / std::sqrt(static_cast<float>(npairs));
  int emitted = 0;
  // Diagonals first: pairs of the rarest words of both sides come before the rest.
  for (int s = 0; s <= na + nb - 2 && emitted < npairs; ++s) {
    for (int x = std::max(0, s - nb + 1); x <= std::min(s, na - 1) && emitted < npairs; ++x) {
      uint64_t wa = a.words[only_a[x]], wb = b.words[only_b[s - x]];
      uint64_t lo = std::min(wa, wb), hi = std::max(wa, wb);
      fn(static_cast<uint32_t>(Mix(lo * 0x9E3779B97F4A7C15ULL ^ hi ^ kPairSalt) >> shift), v);
      ++emitted;
    }
  }
}

double QuestionMatcher::Score(const Prepared& a, const Prepared& b) const {
  const auto x = DenseFeatures(a, b);
  double z = 0;
  for (int k = 0; k < kDense; ++k) z += double{dense_[k]} * x[k];
  ForEachSparse(a, b, [&](uint32_t bucket, float v) { z += double{sparse_[bucket]} * v; });
  return Sigmoid(double{platt_a_} * z + platt_b_);
}

Result<std::unique_ptr<QuestionMatcher>> QuestionMatcher::Train(const text::Segmenter& seg,
                                                                const std::vector<MatcherPair>& pairs,
                                                                const MatcherTrainOptions& o) {
  if (pairs.empty()) return InvalidArgument("matcher: no training pairs");
  if (o.hash_bits < 8 || o.hash_bits > 26) return InvalidArgument("matcher: hash_bits must be 8..26");
  if (o.epochs < 1 || !(o.learning_rate > 0) || !(o.l2 >= 0)) return InvalidArgument("matcher: bad training options");
  std::unique_ptr<QuestionMatcher> m(new QuestionMatcher(seg, o.hash_bits));

  // Distinct questions: IDF documents and the texts to prepare once.
  std::unordered_map<std::string, int> index;
  std::vector<const std::string*> texts;
  std::vector<std::array<int, 2>> ex;
  ex.reserve(pairs.size());
  auto id_of = [&](const std::string& t) {
    auto [it, fresh] = index.emplace(t, static_cast<int>(texts.size()));
    if (fresh) texts.push_back(&it->first);
    return it->second;
  };
  std::vector<uint32_t> order, calib;  // SGD examples, calibration slice
  for (const auto& p : pairs) {
    const bool held = Mix(Fnv1a(p.q1 + "\t" + p.q2) ^ 0x63616c6962ULL) % 1000 <
                      static_cast<uint64_t>(std::clamp(o.calibration_share, 0.0, 0.5) * 1000);
    (held ? calib : order).push_back(static_cast<uint32_t>(ex.size()));
    ex.push_back({id_of(p.q1), id_of(p.q2)});
  }
  if (order.empty()) return InvalidArgument("matcher: no training pairs left after the calibration slice");

  // IDF: log((N + 1) / (df + 1)) + 1 over the distinct questions; words seen once
  // are not stored (they get unknown_idf_, the df = 1 value).
  std::unordered_map<uint64_t, uint32_t> df;
  std::vector<Prepared> prepared(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    prepared[i] = m->Prepare(*texts[i]);  // idf not known yet; words are
    for (uint64_t w : prepared[i].words) ++df[w];
  }
  const double n = static_cast<double>(texts.size());
  m->unknown_idf_ = static_cast<float>(std::log((n + 1) / 2) + 1);
  std::vector<std::pair<uint64_t, float>> table;
  for (const auto& [w, d] : df)
    if (d >= 2) table.emplace_back(w, static_cast<float>(std::log((n + 1) / (d + 1)) + 1));
  std::sort(table.begin(), table.end());
  for (const auto& [w, v] : table) {
    m->idf_keys_.push_back(w);
    m->idf_values_.push_back(v);
  }
  for (auto& p : prepared)
    for (size_t k = 0; k < p.words.size(); ++k) p.idf[k] = m->Idf(p.words[k]);

  std::mt19937_64 rng(o.seed);
  const double total_steps = static_cast<double>(o.epochs) * static_cast<double>(order.size());
  double step = 0;
  std::vector<std::pair<uint32_t, float>> active;
  for (int e = 0; e < o.epochs; ++e) {
    std::shuffle(order.begin(), order.end(), rng);
    for (uint32_t idx : order) {
      const Prepared& a = prepared[ex[idx][0]];
      const Prepared& b = prepared[ex[idx][1]];
      const auto x = m->DenseFeatures(a, b);
      double z = 0;
      for (int k = 0; k < kDense; ++k) z += double{m->dense_[k]} * x[k];
      active.clear();
      if (o.sparse) {
        m->ForEachSparse(a, b, [&](uint32_t bucket, float v) { active.emplace_back(bucket, v); });
        for (const auto& [bucket, v] : active) z += double{m->sparse_[bucket]} * v;
      }
      const double g = Sigmoid(z) - (pairs[idx].same ? 1.0 : 0.0);
      const double lr = o.learning_rate * (1.0 - 0.9 * step / total_steps);
      step += 1;
      for (int k = 0; k < kDense; ++k) {
        const double reg = k == 0 ? 0.0 : o.l2 * m->dense_[k];
        m->dense_[k] -= static_cast<float>(lr * (g * x[k] + reg));
      }
      for (const auto& [bucket, v] : active) {
        float& w = m->sparse_[bucket];
        w -= static_cast<float>(lr * (g * v + o.l2 * w));
      }
    }
  }
  if (calib.size() >= 200) {
    // Platt scaling: logistic regression of the label on the raw score, by Newton's method.
    std::vector<double> z;
    for (uint32_t idx : calib) {
      const double p = m->Score(prepared[ex[idx][0]], prepared[ex[idx][1]]);  // a = 1, b = 0 so far
      z.push_back(std::log(p / (1 - p)));
    }
    double a = 1, b = 0;
    for (int it = 0; it < 50; ++it) {
      double ga = 0, gb = 0, haa = 1e-6, hab = 0, hbb = 1e-6;
      for (size_t i = 0; i < z.size(); ++i) {
        const double p = Sigmoid(a * z[i] + b), r = p - (pairs[calib[i]].same ? 1.0 : 0.0), w = p * (1 - p);
        ga += r * z[i], gb += r;
        haa += w * z[i] * z[i], hab += w * z[i], hbb += w;
      }
      const double det = haa * hbb - hab * hab;
      if (!(det > 0)) break;
      const double da = (hbb * ga - hab * gb) / det, db = (haa * gb - hab * ga) / det;
      a -= da, b -= db;
      if (std::abs(da) + std::abs(db) < 1e-9) break;
    }
    if (a > 0 && std::isfinite(a) && std::isfinite(b)) {
      m->platt_a_ = static_cast<float>(a);
      m->platt_b_ = static_cast<float>(b);
    }
  }
  return m;
}

// Layout (version 1, little-endian): magic "KEFUQMAT", u32 version, u32 hash_bits,
// u32 length + segmenter name, u32 kDense + f32 dense weights, f32 unknown idf,
// f32 Platt a, f32 Platt b,
// u32 n + u64 sorted word hashes[n] + f32 idf[n], f32 sparse[2^hash_bits],
// u64 FNV-1a of every byte before it.
std::string QuestionMatcher::Serialize() const {
  std::string out(kMagic, sizeof(kMagic));
  Put<uint32_t>(out, kVersion);
  Put<uint32_t>(out, static_cast<uint32_t>(hash_bits_));
  Put<uint32_t>(out, static_cast<uint32_t>(segmenter_name_.size()));
  out += segmenter_name_;
  Put<uint32_t>(out, kDense);
  PutArray(out, dense_.data(), dense_.size());
  Put<float>(out, unknown_idf_);
  Put<float>(out, platt_a_);
  Put<float>(out, platt_b_);
  Put<uint32_t>(out, static_cast<uint32_t>(idf_keys_.size()));
  PutArray(out, idf_keys_.data(), idf_keys_.size());
  PutArray(out, idf_values_.data(), idf_values_.size());
  PutArray(out, sparse_.data(), sparse_.size());
  Put<uint64_t>(out, Fnv1a(out));
  return out;
}

Result<std::unique_ptr<QuestionMatcher>> QuestionMatcher::Parse(std::string_view bytes, const text::Segmenter& seg) {
  auto corrupt = [](const std::string& why) { return InvalidArgument("matcher model: " + why); };
  if (bytes.size() < sizeof(kMagic) + 8 || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0)
    return corrupt("not a kefu question-matcher model (bad magic)");
  Reader r{bytes.substr(0, bytes.size() - 8), sizeof(kMagic)};
  uint64_t sum = 0;
  std::memcpy(&sum, bytes.data() + bytes.size() - 8, 8);
  uint32_t version = 0, bits = 0, name_len = 0, ndense = 0, nidf = 0;
  if (!r.Get(version)) return corrupt("truncated header");
  if (version != kVersion) return corrupt("unsupported version " + std::to_string(version));
  if (Fnv1a(bytes.substr(0, bytes.size() - 8)) != sum) return corrupt("checksum mismatch (truncated or corrupt)");
  if (!r.Get(bits) || bits < 8 || bits > 26) return corrupt("bad hash_bits");
  if (!r.Get(name_len) || name_len > 64 || r.in.size() - r.pos < name_len) return corrupt("bad segmenter name");
  std::string name(r.in.substr(r.pos, name_len));
  r.pos += name_len;
  if (!r.Get(ndense) || ndense != kDense) return corrupt("unexpected dense feature count");
  std::unique_ptr<QuestionMatcher> m(new QuestionMatcher(seg, static_cast<int>(bits)));
  m->segmenter_name_ = name;
  std::vector<float> dense;
  if (!r.GetArray(dense, kDense) || !r.Get(m->unknown_idf_) || !r.Get(m->platt_a_) || !r.Get(m->platt_b_) ||
      !r.Get(nidf))
    return corrupt("truncated");
  std::copy(dense.begin(), dense.end(), m->dense_.begin());
  if (!r.GetArray(m->idf_keys_, nidf) || !r.GetArray(m->idf_values_, nidf)) return corrupt("truncated idf table");
  for (size_t i = 1; i < m->idf_keys_.size(); ++i)
    if (m->idf_keys_[i - 1] >= m->idf_keys_[i]) return corrupt("idf table not sorted");
  if (!r.GetArray(m->sparse_, size_t{1} << bits)) return corrupt("truncated weights");
  if (r.pos != r.in.size()) return corrupt("trailing bytes");
  auto finite = [](float f) { return std::isfinite(f); };
  if (!std::all_of(m->dense_.begin(), m->dense_.end(), finite) || !std::isfinite(m->unknown_idf_) ||
      !std::isfinite(m->platt_a_) || !std::isfinite(m->platt_b_) ||
      !std::all_of(m->idf_values_.begin(), m->idf_values_.end(), finite) ||
      !std::all_of(m->sparse_.begin(), m->sparse_.end(), finite))
    return corrupt("non-finite weight");
  return m;
}

Status QuestionMatcher::Save(const std::string& path) const {
  const std::string bytes = Serialize();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) return Internal("cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Internal("cannot rename " + tmp + " to " + path + ": " + ec.message());
  return Status::Ok();
}

Result<std::unique_ptr<QuestionMatcher>> QuestionMatcher::Load(const std::string& path, const text::Segmenter& seg) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read matcher model " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto m = Parse(ss.str(), seg);
  if (!m.ok()) return InvalidArgument(path + ": " + m.status().message());
  return m;
}

// --- evaluation ---

nlohmann::json MatcherMetrics::ToJson() const {
  nlohmann::json bins = nlohmann::json::array();
  for (size_t i = 0; i < calibration.size(); ++i) {
    const Bin& b = calibration[i];
    bins.push_back({{"bin", std::to_string(i / 10.0).substr(0, 3) + "-" + std::to_string((i + 1) / 10.0).substr(0, 3)},
                    {"count", b.count},
                    {"mean_predicted", b.mean_predicted},
                    {"observed", b.observed}});
  }
  return {{"pairs", pairs}, {"positive_rate", positive_rate}, {"accuracy", accuracy},
          {"auc", auc},     {"log_loss", log_loss},           {"calibration", bins}};
}

MatcherMetrics ComputeMetrics(const std::vector<double>& p, const std::vector<bool>& y) {
  MatcherMetrics m;
  m.pairs = static_cast<int>(p.size());
  if (p.empty() || p.size() != y.size()) return m;
  double correct = 0, ll = 0, pos = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double q = std::clamp(p[i], 1e-7, 1 - 1e-7);
    pos += y[i];
    correct += (p[i] >= 0.5) == y[i];
    ll -= y[i] ? std::log(q) : std::log(1 - q);
    auto& bin = m.calibration[std::min(9, static_cast<int>(p[i] * 10))];
    bin.count++;
    bin.mean_predicted += p[i];
    bin.observed += y[i];
  }
  for (auto& b : m.calibration)
    if (b.count) b.mean_predicted /= b.count, b.observed /= b.count;
  const double n = static_cast<double>(p.size());
  m.positive_rate = pos / n;
  m.accuracy = correct / n;
  m.log_loss = ll / n;
  // AUC: Mann-Whitney with average ranks for ties.
  std::vector<size_t> idx(p.size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  double rank_sum = 0;
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j < idx.size() && p[idx[j]] == p[idx[i]]) ++j;
    const double avg = (static_cast<double>(i) + static_cast<double>(j - 1)) / 2 + 1;
    for (size_t k = i; k < j; ++k)
      if (y[idx[k]]) rank_sum += avg;
    i = j;
  }
  const double neg = n - pos;
  m.auc = pos > 0 && neg > 0 ? (rank_sum - pos * (pos + 1) / 2) / (pos * neg) : 0;
  return m;
}

namespace {

std::vector<std::string_view> SplitTabs(std::string_view line) {
  std::vector<std::string_view> f;
  size_t start = 0;
  for (size_t i = 0; i <= line.size(); ++i) {
    if (i == line.size() || line[i] == '\t') {
      f.push_back(line.substr(start, i - start));
      start = i + 1;
    }
  }
  return f;
}

Status ReadTsv(const std::string& path, bool header, size_t q_col, std::vector<MatcherPair>& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (header && lineno == 1) continue;
    if (line.empty()) continue;
    auto f = SplitTabs(line);
    if (f.size() < q_col + 3)
      return InvalidArgument(path + ":" + std::to_string(lineno) + ": expected tab-separated fields");
    std::string_view label = f[q_col + 2];
    if (label != "0" && label != "1") return InvalidArgument(path + ":" + std::to_string(lineno) + ": label not 0/1");
    out.push_back({std::string(f[q_col]), std::string(f[q_col + 1]), label == "1"});
  }
  return Status::Ok();
}

double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

Status ReadAfqmc(const std::string& path, std::vector<MatcherPair>& out) {
  return ReadTsv(path, true, 1, out);
}
Status ReadLcqmc(const std::string& path, std::vector<MatcherPair>& out) {
  return ReadTsv(path, false, 0, out);
}

namespace {
uint64_t SplitBucket(const MatcherPair& p) {
  return Mix(Fnv1a(p.q1 + "\t" + p.q2)) % 10;
}
}  // namespace

bool IsHeldOut(const MatcherPair& p) {
  return SplitBucket(p) == 0;
}

Result<nlohmann::json> RunMatcherTraining(const MatcherRunOptions& o) {
  const std::string afqmc_dir = o.data_dir + "/matching/afqmc";
  const std::string lcqmc_path = o.data_dir + "/matching/lcqmc/dev.txt";
  const std::vector<std::string> afqmc_files = {afqmc_dir + "/atec_nlp_sim_train.csv",
                                                afqmc_dir + "/atec_nlp_sim_train_add.csv"};
  for (const auto& f : afqmc_files)
    if (!std::filesystem::exists(f))
      return NotFound("afqmc data not found at " + f + " (pass --data DIR or set KEFU_DATA)");
  if (!std::filesystem::exists(lcqmc_path))
    return NotFound("lcqmc dev not found at " + lcqmc_path + " (pass --data DIR or set KEFU_DATA)");

  std::vector<MatcherPair> afqmc, lcqmc, train, test;
  for (const auto& f : afqmc_files) KEFU_RETURN_IF_ERROR(ReadAfqmc(f, afqmc));
  KEFU_RETURN_IF_ERROR(ReadLcqmc(lcqmc_path, lcqmc));
  for (auto& p : afqmc) {
    const uint64_t bucket = SplitBucket(p);
    if (bucket == 0) {
      if (!o.dev) test.push_back(std::move(p));
    } else if (o.dev && bucket == 1) {
      test.push_back(std::move(p));
    } else {
      train.push_back(std::move(p));
    }
  }
  if (o.max_train > 0 && static_cast<int>(train.size()) > o.max_train) train.resize(o.max_train);

  KnowledgeConfig kc;
  kc.segmenter = "jieba-plain";
  if (!o.jieba_dict.empty()) kc.jieba_dict = o.jieba_dict;
  KEFU_ASSIGN_OR_RETURN(auto seg, text::CreateSegmenter(kc));

  nlohmann::json out;
  out["data"] = {
      {"afqmc_pairs", train.size() + test.size()},
      {"train_pairs", train.size()},
      {"afqmc_heldout_pairs", test.size()},
      {"lcqmc_dev_pairs", lcqmc.size()},
      {"heldout_rule",
       o.dev ? "DEV MODE: bucket 1 of FNV-1a+splitmix64 of q1 \\t q2 mod 10 (bucket 0, the test part, unused)"
             : "FNV-1a+splitmix64 of q1 \\t q2, mod 10 == 0"}};
  out["segmenter"] = "jieba-plain";

  std::unique_ptr<QuestionMatcher> shipped;
  for (bool sparse : {true, false}) {
    MatcherTrainOptions to = o.train;
    to.sparse = sparse;
    const auto wall0 = std::chrono::steady_clock::now();
    const double cpu0 = CpuSeconds();
    KEFU_ASSIGN_OR_RETURN(auto m, QuestionMatcher::Train(*seg, train, to));
    const double train_cpu = CpuSeconds() - cpu0;
    const double train_wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    nlohmann::json r;
    r["options"] = to.ToJson();
    r["train_seconds_wall"] = train_wall;
    r["train_seconds_cpu"] = train_cpu;
    r["vocabulary"] = m->vocabulary_size();
    r["platt"] = {m->calibration().first, m->calibration().second};
    for (const auto& [name, set] :
         {std::pair<const char*, const std::vector<MatcherPair>*>{"afqmc_heldout", &test}, {"lcqmc_dev", &lcqmc}}) {
      std::vector<QuestionMatcher::Prepared> a, b;
      std::vector<bool> y;
      for (const auto& p : *set) {
        a.push_back(m->Prepare(p.q1));
        b.push_back(m->Prepare(p.q2));
        y.push_back(p.same);
      }
      std::vector<double> prob(set->size());
      for (size_t i = 0; i < set->size(); ++i) prob[i] = m->Score(a[i], b[i]);
      r[name] = ComputeMetrics(prob, y).ToJson();
      if (std::string_view(name) == "afqmc_heldout" && !a.empty()) {
        // CPU time per Score on prepared pairs, repeated to at least 0.3 s.
        double sink = 0;
        size_t calls = 0;
        const double t0 = CpuSeconds();
        double t = t0;
        while (t - t0 < 0.3) {
          for (size_t i = 0; i < a.size(); ++i) sink += m->Score(a[i], b[i]);
          calls += a.size();
          t = CpuSeconds();
        }
        r["score_us_per_pair_cpu"] = (t - t0) * 1e6 / static_cast<double>(calls);
        r["score_checksum"] = sink;  // keeps the loop from being optimised away
        const double p0 = CpuSeconds();
        for (const auto& p : *set) (void)m->Prepare(p.q1);
        r["prepare_us_per_question_cpu"] = (CpuSeconds() - p0) * 1e6 / static_cast<double>(set->size());
      }
    }
    r["model_bytes"] = m->Serialize().size();
    out[sparse ? "matcher" : "dense_only_baseline"] = r;
    if (sparse) shipped = std::move(m);
  }
  if (!o.out_path.empty()) {
    KEFU_RETURN_IF_ERROR(shipped->Save(o.out_path));
    out["model_path"] = o.out_path;
  }
  if (!o.json_path.empty()) {
    std::ofstream f(o.json_path);
    f << out.dump(2) << "\n";
    if (!f) return Internal("cannot write " + o.json_path);
  }
  return out;
}

}  // namespace kefu::knowledge
