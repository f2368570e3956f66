// Judging the understanding benchmark (tests/understanding, issue 15): what
// the pipeline did on one customer turn, compared with the action a person
// labelled as right. Pure functions over plain structs; the replay itself
// (a real server, real HTTP) lives in app/dialogue_eval.
//
// Labelled actions (tests/understanding/README.md):
//   order (one order of the speaking customer; optional tool), order_list,
//   kb (one entry id or a list of equally right ids), products, handoff,
//   clarify, unknown (no invented answer; a handoff is also fine), smalltalk.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kefu::dialogue {

// What one turn observably did.
struct TurnObservation {
  bool bot_replied = true;           // false: nobody answered automatically (a human serves or it waits)
  std::string conversation_status;   // after the turn: open, queued, human, closed
  std::vector<std::string> tools;    // tools that ran (meta.tools[].name)
  std::string order_id;              // meta.order_id: the order the tools were about
  std::vector<std::string> citations;  // KB entry ids cited, best first
  bool clarify = false;              // a clarifying question (options, or a missing slot asked for)
  bool unknown = false;              // "don't know"
  bool handoff_claimed = false;      // the reply said a human was arranged (meta.handoff)
  std::string intent;                // meta.intent
  std::string reply_text;
  std::string understood_as;         // meta.understood_as: the text after folding and typo correction
  nlohmann::json meta;               // the reply's whole meta (for `kefu eval dialogue --turns`)
};

struct TurnVerdict {
  bool correct = false;
  std::string got;     // the observed action in the label vocabulary, e.g. "kb:kb-ship-01", "order:SO…", "handoff"
  std::string reason;  // why it is wrong ("" when correct)
};

// The observed action, in the label vocabulary: "handoff" only when the
// conversation really reached a queue or an agent (a reply that merely claims
// a handoff while the conversation stays open is "empty_handoff").
std::string ObservedAction(const TurnObservation& o);

// `expect` is the label object ({"action": ..., "order"/"kb"/"tool": ...}).
TurnVerdict Judge(const nlohmann::json& expect, const TurnObservation& o);

// Aggregates verdicts into accuracy tables. Each call adds one judged turn
// with its grouping keys (action, lang, styles, phenomena, kind).
class UnderstandingReport {
 public:
  struct Item {
    std::string id;            // utterance or "dialogue#turn"
    std::string kind;          // "utterance" | "dialogue"
    std::string split;         // dev | test
    std::string lang;
    std::vector<std::string> tags;  // styles or phenomena
    std::string text;
    nlohmann::json expect;
    TurnVerdict verdict;
    std::string reply_text;
    std::string understood_as;
    double server_cpu_us = 0;  // server CPU spent on this turn (0 when unmeasured)
  };
  void Add(Item item);
  // {"overall": {...}, "by_action": {...}, "by_lang": {...}, "by_tag": {...},
  //  "confusions": [{expected, got, n}], "targets": {...}, "failures": [...]}
  nlohmann::json ToJson() const;
  static std::string Markdown(const nlohmann::json& report);
  size_t size() const { return items_.size(); }

 private:
  std::vector<Item> items_;
};

}  // namespace kefu::dialogue
