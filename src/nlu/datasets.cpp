#include "nlu/datasets.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <set>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/utf8.h"
#include "nlu/classifier.h"
#include "nlu/emoji_lexicon.h"

#ifndef KEFU_NLU_SOURCE_DIR
#define KEFU_NLU_SOURCE_DIR "."
#endif

namespace kefu::nlu {
namespace fs = std::filesystem;

std::string FindDataDir() {
  if (const char* env = std::getenv("KEFU_DATA"); env && *env) {
    return fs::is_directory(env) ? std::string(env) : std::string();
  }
  for (fs::path p : {fs::path(KEFU_NLU_SOURCE_DIR) / ".." / "shared" / "data", fs::path("..") / "shared" / "data"}) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) return fs::weakly_canonical(p, ec).string();
  }
  return {};
}

bool InDevSplit(const std::string& text, int percent, std::string_view salt) {
  return static_cast<int>(Fnv1a64(text + std::string(salt)) % 100) < percent;
}

namespace {

// Reads a CSV and maps (text column, label column) through `map_label`; rows
// whose label maps to "" are skipped.
template <typename F>
Result<std::vector<LabeledExample>> LoadCsvColumns(const std::string& path, const std::string& text_col,
                                                   const std::string& label_col, F map_label) {
  KEFU_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  KEFU_ASSIGN_OR_RETURN(auto recs, ParseCsv(data));
  if (recs.empty()) return InvalidArgument(path + ": empty");
  int t = -1, l = -1;
  for (size_t i = 0; i < recs[0].fields.size(); ++i) {
    if (recs[0].fields[i] == text_col) t = static_cast<int>(i);
    if (recs[0].fields[i] == label_col) l = static_cast<int>(i);
  }
  if (t < 0 || l < 0) return InvalidArgument(fmt::format("{}: header lacks {} or {}", path, text_col, label_col));
  std::vector<LabeledExample> out;
  for (size_t r = 1; r < recs.size(); ++r) {
    const auto& f = recs[r].fields;
    if (f.size() <= static_cast<size_t>(std::max(t, l))) continue;
    std::string label = map_label(f[l]);
    if (label.empty() || f[t].empty()) continue;
    out.push_back({f[t], label, recs[r].line});
  }
  return out;
}

std::string Binary01(const std::string& v) {
  if (v == "1") return "positive";
  if (v == "0") return "negative";
  return "";
}

DataSplit SplitByHash(std::vector<LabeledExample> all, int dev_percent, std::string_view salt) {
  DataSplit s;
  for (auto& ex : all) (InDevSplit(ex.text, dev_percent, salt) ? s.dev : s.train).push_back(std::move(ex));
  return s;
}

}  // namespace

Result<DataSplit> LoadOnlineShopping(const std::string& dir) {
  KEFU_ASSIGN_OR_RETURN(auto all, LoadCsvColumns(dir + "/sentiment/online_shopping_10_cats.train.csv", "review",
                                                 "label", Binary01));
  return SplitByHash(std::move(all), 20, "#shop");
}

Result<std::vector<LabeledExample>> LoadSentimentSet(const std::string& dir, const std::string& name) {
  if (name == "waimai") return LoadCsvColumns(dir + "/sentiment/waimai_10k.train.csv", "review", "label", Binary01);
  if (name == "hotel") return LoadCsvColumns(dir + "/sentiment/ChnSentiCorp_htl_all.csv", "review", "label", Binary01);
  if (name == "conversation") {
    KEFU_ASSIGN_OR_RETURN(DataSplit c, LoadConversation(dir));
    c.train.insert(c.train.end(), c.dev.begin(), c.dev.end());
    return c.train;
  }
  return InvalidArgument("unknown sentiment set " + name);
}

std::string NormaliseSegmentedText(std::string_view text) {
  const auto alnum = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != ' ') {
      out.push_back(text[i]);
      continue;
    }
    size_t j = i;
    while (j < text.size() && text[j] == ' ') ++j;
    // Keep one space between two Latin words or numbers; drop every other.
    if (!out.empty() && j < text.size() && alnum(out.back()) && alnum(text[j])) out.push_back(' ');
    i = j - 1;
  }
  return out;
}

Result<DataSplit> LoadConversation(const std::string& dir) {
  KEFU_ASSIGN_OR_RETURN(auto all, LoadCsvColumns(dir + "/sentiment/conversation_sentiment.auto30k.csv", "text", "labels",
                                                 [](const std::string& v) {
                                                   return (v == "positive" || v == "negative") ? v : "";
                                                 }));
  std::vector<LabeledExample> kept;
  for (auto& ex : all) {
    ex.text = NormaliseSegmentedText(ex.text);
    if (!ex.text.empty()) kept.push_back(std::move(ex));
  }
  return SplitByHash(std::move(kept), 20, "#conversation");
}

Result<DataSplit> LoadWeiboSenti(const std::string& dir) {
  KEFU_ASSIGN_OR_RETURN(auto all, LoadCsvColumns(dir + "/sentiment/weibo_senti_2400.csv", "review", "label", Binary01));
  return SplitByHash(std::move(all), 20, "#weibo");
}

Result<SentimentSplits> LoadSentimentSplits(const std::string& dir) {
  SentimentSplits s;
  KEFU_ASSIGN_OR_RETURN(s.shop, LoadOnlineShopping(dir));
  KEFU_ASSIGN_OR_RETURN(s.chat, LoadChatTurns(dir));
  KEFU_ASSIGN_OR_RETURN(s.conversation, LoadConversation(dir));
  KEFU_ASSIGN_OR_RETURN(s.weibo, LoadWeiboSenti(dir));
  return s;
}

std::vector<LabeledExample> SentimentTrainingExamples(const SentimentSplits& s) {
  std::vector<LabeledExample> out;
  for (const DataSplit* d : {&s.shop, &s.chat, &s.conversation, &s.weibo}) {
    out.insert(out.end(), d->train.begin(), d->train.end());
  }
  // Short neutral customer-service turns carry the emoji of the lexicon examples.
  std::vector<std::string> carriers;
  for (const auto& ex : s.chat.train) {
    if (ex.label == "neutral" && utf8::Decode(ex.text).size() <= 16) carriers.push_back(ex.text);
  }
  auto emoji = EmojiLexiconExamples(carriers);
  out.insert(out.end(), emoji.begin(), emoji.end());
  return out;
}

namespace {

// Tab-separated file: the non-empty fields in columns `cols` of every line,
// the first line skipped when `header` is true; with `keep_empty` empty fields
// are kept too (one entry per line for line-aligned files).
Result<std::vector<std::string>> TsvColumns(const std::string& path, std::initializer_list<size_t> cols,
                                            bool header, bool keep_empty = false) {
  KEFU_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  std::vector<std::string> out;
  std::istringstream in(data);
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (first && header) {
      first = false;
      continue;
    }
    first = false;
    std::vector<std::string> f;
    size_t start = 0;
    for (;;) {
      size_t tab = line.find('\t', start);
      f.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    for (size_t c : cols) {
      if (c < f.size() && (keep_empty || !f[c].empty())) out.push_back(f[c]);
    }
  }
  return out;
}

}  // namespace

Result<DataSplit> LoadChatTurns(const std::string& dir) {
  std::vector<LabeledExample> all;
  std::set<std::string> seen;
  auto add = [&](const std::string& text, const std::string& label, int every_nth, std::string_view salt) {
    if (text.empty() || text.size() > 300) return;
    // Thanks is positive in kefu's reading; questions that end in 谢谢 are not
    // taught as neutral.
    if (label == "neutral" && text.find("谢") != std::string::npos) return;
    if (every_nth > 1 && Fnv1a64(text + std::string(salt)) % every_nth != 0) return;
    if (!seen.insert(text).second) return;
    all.push_back({text, label, 0});
  };
  for (const char* f : {"/matching/afqmc/atec_nlp_sim_train.csv", "/matching/afqmc/atec_nlp_sim_train_add.csv"}) {
    KEFU_ASSIGN_OR_RETURN(auto qs, TsvColumns(dir + f, {1, 2}, true));
    for (const auto& q : qs) add(q, "neutral", 10, "#afqmc");
  }
  {
    KEFU_ASSIGN_OR_RETURN(auto qs, TsvColumns(dir + "/matching/lcqmc/dev.txt", {0, 1}, false));
    for (const auto& q : qs) add(q, "neutral", 2, "#lcqmc");
  }
  {
    const std::string path = dir + "/intent/smp2019_ecdt_nlu/train.json";
    KEFU_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
    // The file is pretty-printed JSON with bare NaN slot values (not JSON), so
    // each `"text": "..."` line is parsed on its own.
    std::istringstream in(data);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      const size_t key = line.find("\"text\":");
      if (key == std::string::npos) continue;
      std::string member = line.substr(key);
      while (!member.empty() && (member.back() == ',' || member.back() == '\r' || member.back() == ' ')) member.pop_back();
      auto j = nlohmann::json::parse("{" + member + "}", nullptr, false);
      if (j.is_discarded() || !j["text"].is_string()) {
        return InvalidArgument(fmt::format("{}: line {}: unreadable \"text\" member", path, n));
      }
      add(j["text"].get<std::string>(), "neutral", 1, "");
    }
  }
  {
    const std::string path = dir + "/dialogue/crosswoz/val.json";
    KEFU_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
    auto j = nlohmann::json::parse(data, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return InvalidArgument(path + ": not a JSON object");
    for (const auto& [id, dlg] : j.items()) {
      if (!dlg.contains("messages") || !dlg["messages"].is_array()) continue;
      for (const auto& m : dlg["messages"]) {
        if (!m.is_object() || m.value("role", "") != "usr" || !m.contains("content") || !m["content"].is_string()) {
          continue;
        }
        add(m["content"].get<std::string>(), "neutral", 1, "");
      }
    }
  }
  {
    KEFU_ASSIGN_OR_RETURN(auto demo, LoadCsvColumns(std::string(KEFU_NLU_SOURCE_DIR) + "/demo/intents/intents.csv",
                                                    "text", "label", [](const std::string& v) { return v; }));
    for (const auto& ex : demo) {
      add(ex.text, ex.label == "complaint" ? "negative" : ex.label == "thanks" ? "positive" : "neutral", 1, "");
    }
  }
  return SplitByHash(std::move(all), 20, "#chat");
}

Result<std::vector<LabeledExample>> LoadExtraPolarReviews(const std::string& dir) {
  std::vector<LabeledExample> out;  // weibo_senti: part of the default training data (LoadWeiboSenti) since issue 15
  // Text -> set of labels, then keep texts with exactly one label.
  std::map<std::string, std::set<std::string>> labels;
  for (const char* topic : {"camera", "car", "notebook", "phone"}) {
    const std::string base = dir + "/sentiment/senticnet_reviews/" + topic;
    KEFU_ASSIGN_OR_RETURN(auto sentences, TsvColumns(base + "_sentence.txt", {0}, false, true));
    KEFU_ASSIGN_OR_RETURN(auto values, TsvColumns(base + "_label.txt", {0}, false, true));
    if (sentences.size() != values.size()) {
      return InvalidArgument(fmt::format("{}: {} sentences but {} labels", base, sentences.size(), values.size()));
    }
    for (size_t i = 0; i < sentences.size(); ++i) {
      std::string l = Binary01(values[i]);
      if (!l.empty() && !sentences[i].empty()) labels[sentences[i]].insert(l);
    }
  }
  KEFU_ASSIGN_OR_RETURN(auto car, LoadCsvColumns(dir + "/sentiment/BDCI_Car_2018/train_2.csv", "content",
                                                 "sentiment_value", [](const std::string& v) {
                                                   return v == "1" ? std::string("positive")
                                                                   : v == "-1" ? std::string("negative") : std::string("neutral");
                                                 }));
  for (const auto& ex : car) labels[ex.text].insert(ex.label);
  for (const auto& [text, ls] : labels) {
    if (ls.size() == 1 && *ls.begin() != "neutral") out.push_back({text, *ls.begin(), 0});
  }
  return out;
}

Result<std::vector<UnlabelledSource>> LoadUnlabelledReviews(const std::string& dir) {
  const auto any = [](const std::string&) { return std::string("?"); };  // the label is never looked at
  std::vector<UnlabelledSource> out;
  auto add_csv = [&](const char* name, const std::vector<std::pair<std::string, std::string>>& files) -> Status {
    UnlabelledSource src{name, {}};
    for (const auto& [file, column] : files) {
      // Any second column serves as the "label" column LoadCsvColumns wants.
      KEFU_ASSIGN_OR_RETURN(auto rows, LoadCsvColumns(dir + file, column, column, any));
      for (auto& r : rows) src.texts.push_back(std::move(r.text));
    }
    out.push_back(std::move(src));
    return Status::Ok();
  };
  KEFU_RETURN_IF_ERROR(add_csv("waimai", {{"/sentiment/waimai_10k.train.csv", "review"}}));
  KEFU_RETURN_IF_ERROR(add_csv("hotel", {{"/sentiment/ChnSentiCorp_htl_all.csv", "review"}}));
  KEFU_RETURN_IF_ERROR(add_csv("car", {{"/sentiment/BDCI_Car_2018/train_2.csv", "content"},
                                       {"/sentiment/BDCI_Car_2018/test_public_2.csv", "content"}}));
  UnlabelledSource senticnet{"senticnet", {}};
  for (const char* topic : {"camera", "car", "notebook", "phone"}) {
    KEFU_ASSIGN_OR_RETURN(auto sentences,
                          TsvColumns(dir + "/sentiment/senticnet_reviews/" + topic + "_sentence.txt", {0}, false));
    for (auto& s : sentences) senticnet.texts.push_back(std::move(s));
  }
  out.push_back(std::move(senticnet));
  for (auto& src : out) {  // one copy of each text per source (car posts repeat once per aspect)
    std::sort(src.texts.begin(), src.texts.end());
    src.texts.erase(std::unique(src.texts.begin(), src.texts.end()), src.texts.end());
  }
  return out;
}

Result<std::vector<LabeledExample>> LoadCluEmotion(const std::string& dir) {
  const std::string path = dir + "/emotion/cluemotion2020.valid.jsonl";
  KEFU_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  std::vector<LabeledExample> out;
  std::istringstream in(data);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("content") || !j.contains("label")) {
      return InvalidArgument(fmt::format("{}: line {}: not a JSON object with content and label", path, n));
    }
    out.push_back({j["content"].get<std::string>(), j["label"].get<std::string>(), n});
  }
  return out;
}

Result<DataSplit> LoadBanking77(const std::string& dir) {
  KEFU_ASSIGN_OR_RETURN(auto all, LoadCsvColumns(dir + "/intent/banking77/train.csv", "text", "category",
                                                 [](const std::string& v) { return v; }));
  return SplitByHash(std::move(all), 20, "#banking");
}

Result<DataSplit> LoadClinc150(const std::string& dir) {
  const std::string path = dir + "/intent/clinc150/train_val.json";
  KEFU_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  auto j = nlohmann::json::parse(data, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument(path + ": not a JSON object");
  DataSplit s;
  auto add = [&](const char* key, std::vector<LabeledExample>& to, bool oos) -> Status {
    if (!j.contains(key) || !j[key].is_array()) return InvalidArgument(fmt::format("{}: missing '{}'", path, key));
    for (const auto& row : j[key]) {
      if (!row.is_array() || row.size() < 2) continue;
      to.push_back({row[0].get<std::string>(), oos ? std::string(kOutOfScope) : row[1].get<std::string>(), 0});
    }
    return Status::Ok();
  };
  KEFU_RETURN_IF_ERROR(add("train", s.train, false));
  KEFU_RETURN_IF_ERROR(add("oos_train", s.train, true));
  KEFU_RETURN_IF_ERROR(add("val", s.dev, false));
  KEFU_RETURN_IF_ERROR(add("oos_val", s.dev, true));
  return s;
}

}  // namespace kefu::nlu
