// Path pattern matching and URL decoding for the server (module-private:
// only server.cpp and tests include this). Not thread-safe for Add; Match is
// const and may run concurrently once registration is over.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kefu::http::internal {

// Percent-decodes `s`; with plus_is_space, '+' becomes ' '. nullopt on a bad
// escape or an encoded NUL.
std::optional<std::string> PercentDecode(std::string_view s, bool plus_is_space);

// Parses "a=1&b=%E4%BD%A0" into decoded pairs; nullopt on a bad escape.
std::optional<std::map<std::string, std::string>> ParseQuery(std::string_view q);

// Splits "/a/b/" into {"a","b"} (empty segments dropped).
std::vector<std::string> SplitPath(std::string_view path);

template <typename T>
class Router {
 public:
  struct Match {
    const T* value = nullptr;            // null: no match for this method
    const std::string* pattern = nullptr;
    std::map<std::string, std::string> params;
    std::vector<std::string> allowed;    // methods whose pattern matches the path
  };

  void Add(std::string method, std::string pattern, T value) {
    Entry e;
    e.method = std::move(method);
    e.pattern = std::move(pattern);
    for (auto& seg : SplitPath(e.pattern)) {
      bool param = seg.size() >= 2 && seg.front() == '{' && seg.back() == '}';
      e.segments.push_back({param ? seg.substr(1, seg.size() - 2) : seg, param});
      if (!param) ++e.literals;
    }
    e.value = std::move(value);
    entries_.push_back(std::move(e));
  }

  // Matches an already split, decoded path. Among patterns of `method` that
  // match, the one with the most literal segments wins (then the earliest).
  Match Find(std::string_view method, const std::vector<std::string>& segs) const {
    Match m;
    int best = -1;
    for (const auto& e : entries_) {
      if (e.segments.size() != segs.size()) continue;
      bool ok = true;
      for (size_t i = 0; i < segs.size() && ok; ++i)
        if (!e.segments[i].param && e.segments[i].text != segs[i]) ok = false;
      if (!ok) continue;
      bool listed = false;
      for (auto& a : m.allowed) listed |= a == e.method;
      if (!listed) m.allowed.push_back(e.method);
      if (e.method != method || e.literals <= best) continue;
      best = e.literals;
      m.value = &e.value;
      m.pattern = &e.pattern;
      m.params.clear();
      for (size_t i = 0; i < segs.size(); ++i)
        if (e.segments[i].param) m.params[e.segments[i].text] = segs[i];
    }
    return m;
  }

  std::vector<std::string> List() const {
    std::vector<std::string> out;
    for (const auto& e : entries_) out.push_back(e.method + " " + e.pattern);
    return out;
  }

 private:
  struct Segment {
    std::string text;
    bool param = false;
  };
  struct Entry {
    std::string method;
    std::string pattern;
    std::vector<Segment> segments;
    int literals = 0;
    T value;
  };
  std::vector<Entry> entries_;
};

}  // namespace kefu::http::internal
