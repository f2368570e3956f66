// Routing rules: given everything known about one customer turn (TurnFacts),
// decide what happens next (continue self-service, a calming reply, a higher
// priority, a transfer to a human queue, a supervisor alert) and record why.
//
// A RuleSet is parsed once from TOML (format in docs/routing.md) and is
// immutable afterwards: Evaluate() may be called from any number of threads.
// RuleSets are shared through std::shared_ptr<const RuleSet> so that a hot
// reload (RuleStore) can swap them while turns are being evaluated.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kefu::routing {

// Everything a rule may look at for one turn (filled by the caller).
struct TurnFacts {
  std::string tenant_id;
  std::string channel;           // "web", "app", "voice", ...
  std::string customer_tier;     // "normal" | "silver" | "gold" | "vip"
  std::string text;              // the customer's message
  std::string emotion;           // anger|disgust|sadness|fear|surprise|happiness|like|neutral
  double emotion_intensity = 0;  // 0..1
  std::string sentiment;         // positive | neutral | negative
  double sentiment_score = 0;
  double emotion_trend_slope = 0;  // nlu::EmotionTrajectory::slope(), > 0: getting worse
  double emotion_trend_mean = 0;   // nlu::EmotionTrajectory::mean(), negativity -1..1
  std::string intent;
  double intent_score = 0;
  std::vector<std::string> urgency;  // e.g. "keyword:投诉"
  int repeat_count = 1;              // times this question (by meaning) was asked, incl. now
  int64_t now_ms = 0;                // wall clock, ms since the Unix epoch
  int utc_offset_minutes = 480;      // the tenant's time zone, for business hours
  int64_t wait_ms = 0;               // how long the customer has waited for a human, 0 if not
  bool human_requested = false;      // explicit "转人工"
  // A spoken turn (the voice channel): how the customer's voice departed from
  // their own calm baseline (audio::CallerBaseline; docs/audio.md). `voice`
  // is false for typed turns and while the baseline is still calibrating;
  // voice conditions never hold then.
  bool voice = false;
  double voice_arousal = 0;  // 0..1, ≈ 0.18 for the caller's usual voice
  double voice_anger = 0;    // 0..1, ≈ 0.11 for the caller's usual voice
};

enum class ActionKind { kContinue, kCalmingReply, kRaisePriority, kTransfer, kAlertSupervisor };

// "continue", "calming_reply", "raise_priority", "transfer", "alert_supervisor".
std::string_view ActionKindName(ActionKind kind);

struct Action {
  ActionKind kind = ActionKind::kContinue;
  std::string queue;    // transfer
  std::string skill;    // transfer
  int priority = 0;     // transfer, raise_priority (higher = served sooner)
  std::string text;     // calming_reply
  std::string alert;    // alert_supervisor
  std::string rule_id;  // the rule that produced it

  nlohmann::json ToJson() const;
};

struct Decision {
  std::vector<Action> actions;  // in rule order; one kContinue when nothing fired
  // Every rule evaluated, in order: {"id", "fired", "match", "conditions": [
  //   {"name", "fact", "threshold", "ok"}...]}, plus "after_hours" when
  // transfers were redirected to the offline queue. Stored with the turn and
  // shown to agents.
  nlohmann::json trace;

  bool handoff() const;            // any kTransfer
  const Action* transfer() const;  // the first kTransfer, or null
  // Highest priority among transfer/raise_priority actions (0 when none).
  int priority() const;
  nlohmann::json ToJson() const&;  // {"actions": [...], "handoff": bool, "trace": ...}
  nlohmann::json ToJson() &&;      // the same, moving the trace out
};

class RuleSet {
 public:
  // Parses a rules file. Errors are kInvalidArgument and name the line and
  // the key ("line 7: rule[2].when.min_intensity: expected a number"); unknown
  // keys, wrong types, unknown actions and duplicate rule ids are errors.
  static Result<std::shared_ptr<const RuleSet>> Parse(std::string_view toml_text);
  // The shipped defaults (docs/routing.md), parsed once.
  static std::shared_ptr<const RuleSet> Defaults();
  // The TOML text of the shipped defaults.
  static std::string_view DefaultsToml();

  Decision Evaluate(const TurnFacts& facts) const;

  size_t size() const;
  ~RuleSet();

  struct Impl;

 private:
  explicit RuleSet(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kefu::routing
