#include "dialogue/understanding_eval.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "common/utf8.h"

namespace kefu::dialogue {

using nlohmann::json;

namespace {

bool Has(const std::vector<std::string>& v, std::string_view s) { return std::find(v.begin(), v.end(), s) != v.end(); }

bool RealHandoff(const TurnObservation& o) {
  return !o.bot_replied || o.conversation_status == "queued" || o.conversation_status == "human";
}

bool OrderTool(const TurnObservation& o) { return Has(o.tools, "get_order") || Has(o.tools, "track_logistics"); }

std::vector<std::string> Ids(const json& v) {
  std::vector<std::string> out;
  if (v.is_string()) out.push_back(v.get<std::string>());
  if (v.is_array())
    for (const auto& x : v)
      if (x.is_string()) out.push_back(x.get<std::string>());
  return out;
}

std::string Pct(double num, double den) {
  if (den <= 0) return "—";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f %%", 100.0 * num / den);
  return buf;
}

}  // namespace

std::string ObservedAction(const TurnObservation& o) {
  if (RealHandoff(o)) return "handoff";
  if (o.handoff_claimed) return "empty_handoff";
  if (Has(o.tools, "list_orders") && !OrderTool(o)) return "order_list";
  if (OrderTool(o)) return "order:" + (o.order_id.empty() ? std::string("?") : o.order_id);
  // A product search that found nothing ends in "I don't know" for the customer.
  if (Has(o.tools, "search_products") && !o.unknown) return "products";
  if (o.clarify) return "clarify";
  if (o.unknown) return "unknown";
  if (!o.citations.empty()) return "kb:" + o.citations.front();
  if (o.intent == "greeting" || o.intent == "thanks" || o.intent == "goodbye") return "smalltalk";
  return "other";
}

TurnVerdict Judge(const json& expect, const TurnObservation& o) {
  TurnVerdict v;
  v.got = ObservedAction(o);
  const std::string action = expect.is_object() ? expect.value("action", "") : "";
  auto fail = [&](std::string why) {
    v.correct = false;
    v.reason = std::move(why);
    return v;
  };
  if (action == "handoff") {
    if (RealHandoff(o)) return v.correct = true, v;
    return fail(o.handoff_claimed ? "the reply claims a handoff but the conversation never reached a queue"
                                  : "no human: the bot answered itself");
  }
  if (RealHandoff(o)) return fail("handed to a human instead of answering");
  if (action == "unknown") {
    if (v.got == "unknown") return v.correct = true, v;
    if (v.got == "empty_handoff") return fail("\"don't know\" with a handoff claim that never reached a queue");
    return fail("an answer or action where the right one is \"I don't know\"");
  }
  if (action == "order") {
    const std::string want = expect.value("order", "");
    if (!OrderTool(o)) return fail("no order tool ran");
    if (o.order_id != want) return fail("wrong order: " + (o.order_id.empty() ? "none" : o.order_id));
    std::string tool = expect.value("tool", "");
    if (!tool.empty() && !Has(o.tools, tool)) return fail("the right order, but not " + tool);
    return v.correct = true, v;
  }
  if (action == "order_list") {
    if (Has(o.tools, "list_orders")) return v.correct = true, v;
    return fail("the customer's orders were not listed");
  }
  if (action == "kb") {
    auto want = Ids(expect.contains("kb") ? expect["kb"] : json());
    if (o.clarify) return fail("asked to clarify instead of answering");
    if (o.unknown || o.citations.empty()) return fail("no knowledge-base answer");
    // A translation ("kb-ship-01.en") is the same entry in the customer's language.
    std::string cited = o.citations.front();
    if (auto dot = cited.rfind('.'); dot != std::string::npos && cited.size() - dot <= 4) cited.resize(dot);
    if (!Has(want, cited)) return fail("answered from another entry: " + o.citations.front());
    return v.correct = true, v;
  }
  if (action == "products") {
    if (Has(o.tools, "search_products")) return v.correct = true, v;
    return fail("no product search");
  }
  if (action == "clarify") {
    if (o.clarify) return v.correct = true, v;
    return fail("acted (or gave up) without asking what the customer means");
  }
  if (action == "smalltalk") {
    if (v.got == "smalltalk" || v.got == "other") return v.correct = true, v;
    return fail("took an action on a greeting");
  }
  return fail("unknown expected action '" + action + "'");
}

void UnderstandingReport::Add(Item item) { items_.push_back(std::move(item)); }

json UnderstandingReport::ToJson() const {
  struct Tally {
    int n = 0, ok = 0;
  };
  std::map<std::string, Tally> by_action, by_lang, by_tag, by_kind, by_split;
  std::map<std::pair<std::string, std::string>, int> confusions;
  Tally all, human, unknown_safe, english;
  std::vector<double> cpu;
  json failures = json::array();
  for (const auto& it : items_) {
    const std::string action = it.expect.value("action", "");
    bool ok = it.verdict.correct;
    auto add = [ok](Tally& t) {
      ++t.n;
      t.ok += ok;
    };
    add(all);
    add(by_action[action]);
    add(by_lang[it.lang]);
    add(by_kind[it.kind]);
    add(by_split[it.split]);
    for (const auto& t : it.tags) add(by_tag[t]);
    if (action == "handoff") add(human);
    if (it.lang == "en") add(english);
    if (action == "unknown") {
      // "No invented answer": neither a KB answer, an order/product action nor a claim.
      const std::string& g = it.verdict.got;
      bool safe = g == "unknown" || g == "clarify" || g == "other" || g == "smalltalk" || g == "handoff" ||
                  g == "empty_handoff";
      ++unknown_safe.n;
      unknown_safe.ok += safe;
    }
    if (it.server_cpu_us > 0) cpu.push_back(it.server_cpu_us);
    if (!ok) {
      std::string got = it.verdict.got;
      std::string got_kind = got.substr(0, got.find(':'));
      ++confusions[{action, got_kind}];
      failures.push_back({{"id", it.id},
                          {"kind", it.kind},
                          {"split", it.split},
                          {"lang", it.lang},
                          {"text", it.text},
                          {"expect", it.expect},
                          {"got", got},
                          {"reason", it.verdict.reason},
                          {"reply", std::string(utf8::TruncateBytes(it.reply_text, 300))}});
      if (!it.understood_as.empty()) failures.back()["understood_as"] = it.understood_as;
    }
  }
  auto table = [](const std::map<std::string, Tally>& m) {
    json j = json::object();
    for (const auto& [k, t] : m)
      j[k.empty() ? "-" : k] = {{"n", t.n}, {"correct", t.ok}, {"accuracy", t.n ? double(t.ok) / t.n : 0.0}};
    return j;
  };
  auto acc = [](const Tally& t) { return t.n ? double(t.ok) / t.n : 0.0; };
  json conf = json::array();
  for (const auto& [k, n] : confusions) conf.push_back({{"expected", k.first}, {"got", k.second}, {"n", n}});
  std::sort(conf.begin(), conf.end(), [](const json& a, const json& b) { return a["n"] > b["n"]; });
  json cpu_j = json::object();
  if (!cpu.empty()) {
    std::sort(cpu.begin(), cpu.end());
    double sum = 0;
    for (double c : cpu) sum += c;
    cpu_j = {{"turns", cpu.size()},
             {"mean_us", sum / cpu.size()},
             {"p50_us", cpu[cpu.size() / 2]},
             {"p95_us", cpu[std::min(cpu.size() - 1, cpu.size() * 95 / 100)]}};
  }
  return {{"overall", {{"n", all.n}, {"correct", all.ok}, {"accuracy", acc(all)}}},
          {"by_kind", table(by_kind)},
          {"by_split", table(by_split)},
          {"by_action", table(by_action)},
          {"by_lang", table(by_lang)},
          {"by_tag", table(by_tag)},
          {"targets",
           {{"right_action", {{"value", acc(all)}, {"target", 0.90}}},
            {"human_and_angry_reach_a_human", {{"value", acc(human)}, {"n", human.n}, {"target", 1.0}}},
            {"no_invented_answer_for_unknowns", {{"value", acc(unknown_safe)}, {"n", unknown_safe.n}, {"target", 0.98}}},
            {"english", {{"value", acc(english)}, {"n", english.n}, {"target", 0.85}}}}},
          {"server_cpu_per_turn", cpu_j},
          {"confusions", conf},
          {"failures", failures}};
}

std::string UnderstandingReport::Markdown(const json& r) {
  std::string md = "# Understanding benchmark\n\n";
  auto row = [](const std::string& k, const json& t) {
    return "| " + k + " | " + std::to_string(t.value("n", 0)) + " | " +
           Pct(t.value("correct", 0), t.value("n", 0)) + " |\n";
  };
  md += "| | turns | right action |\n|---|---|---|\n";
  md += row("**all**", r["overall"]);
  for (const char* section : {"by_kind", "by_split", "by_action", "by_lang", "by_tag"}) {
    if (!r.contains(section)) continue;
    md += std::string("| *") + section + "* | | |\n";
    for (auto it = r[section].begin(); it != r[section].end(); ++it) md += row(it.key(), it.value());
  }
  md += "\n## Targets\n| target | value | goal |\n|---|---|---|\n";
  for (auto it = r["targets"].begin(); it != r["targets"].end(); ++it) {
    char buf[96];
    std::snprintf(buf, sizeof(buf), "%.1f %%", 100.0 * it.value().value("value", 0.0));
    char goal[32];
    std::snprintf(goal, sizeof(goal), "%.0f %%", 100.0 * it.value().value("target", 0.0));
    md += "| " + it.key() + " | " + buf + " | ≥ " + goal + " |\n";
  }
  if (r.contains("server_cpu_per_turn") && !r["server_cpu_per_turn"].empty()) {
    const auto& c = r["server_cpu_per_turn"];
    char buf[160];
    std::snprintf(buf, sizeof(buf), "\nServer CPU per turn: mean %.0f µs, p50 %.0f µs, p95 %.0f µs (%d turns).\n",
                  c.value("mean_us", 0.0), c.value("p50_us", 0.0), c.value("p95_us", 0.0), c.value("turns", 0));
    md += buf;
  }
  md += "\n## Confusions (expected → observed)\n| expected | observed | turns |\n|---|---|---|\n";
  for (const auto& c : r["confusions"])
    md += "| " + c.value("expected", "") + " | " + c.value("got", "") + " | " + std::to_string(c.value("n", 0)) + " |\n";
  md += "\nEvery wrong turn, with the reply, is in the JSON report (`failures`).\n";
  return md;
}

}  // namespace kefu::dialogue
