#include "routing/rules.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <set>
#include <sstream>

namespace kefu::routing {

std::string_view ActionKindName(ActionKind kind) {
  switch (kind) {
    case ActionKind::kContinue:
      return "continue";
    case ActionKind::kCalmingReply:
      return "calming_reply";
    case ActionKind::kRaisePriority:
      return "raise_priority";
    case ActionKind::kTransfer:
      return "transfer";
    case ActionKind::kAlertSupervisor:
      return "alert_supervisor";
  }
  return "continue";
}

nlohmann::json Action::ToJson() const {
  nlohmann::json j = {{"action", ActionKindName(kind)}};
  if (!rule_id.empty()) j["rule"] = rule_id;
  switch (kind) {
    case ActionKind::kTransfer:
      j["queue"] = queue;
      j["skill"] = skill;
      j["priority"] = priority;
      break;
    case ActionKind::kRaisePriority:
      j["priority"] = priority;
      break;
    case ActionKind::kCalmingReply:
      j["text"] = text;
      break;
    case ActionKind::kAlertSupervisor:
      j["alert"] = alert;
      break;
    case ActionKind::kContinue:
      break;
  }
  return j;
}

bool Decision::handoff() const {
  return transfer() != nullptr;
}

const Action* Decision::transfer() const {
  for (const Action& a : actions)
    if (a.kind == ActionKind::kTransfer) return &a;
  return nullptr;
}

int Decision::priority() const {
  int p = 0;
  for (const Action& a : actions)
    if (a.kind == ActionKind::kTransfer || a.kind == ActionKind::kRaisePriority) p = std::max(p, a.priority);
  return p;
}

nlohmann::json Decision::ToJson() const& {
  return Decision(*this).ToJson();
}

nlohmann::json Decision::ToJson() && {
  nlohmann::json acts = nlohmann::json::array();
  for (const Action& a : actions) acts.push_back(a.ToJson());
  nlohmann::json j = nlohmann::json::object();
  j["actions"] = std::move(acts);
  j["handoff"] = handoff();
  j["trace"] = std::move(trace);
  return j;
}

namespace {

// A daily window in local minutes since midnight; end < start wraps midnight.
struct Hours {
  int start = 0, end = 0;
  std::string spec;
  bool Contains(int minute) const {
    if (start <= end) return minute >= start && minute < end;
    return minute >= start || minute < end;
  }
};

std::optional<Hours> ParseHours(std::string_view s) {
  int h1, m1, h2, m2;
  char tail;
  std::string str(s);
  if (std::sscanf(str.c_str(), "%d:%d-%d:%d%c", &h1, &m1, &h2, &m2, &tail) != 4) return std::nullopt;
  if (h1 < 0 || h1 > 24 || h2 < 0 || h2 > 24 || m1 < 0 || m1 > 59 || m2 < 0 || m2 > 59) return std::nullopt;
  if ((h1 == 24 && m1) || (h2 == 24 && m2)) return std::nullopt;
  return Hours{h1 * 60 + m1, h2 * 60 + m2, str};
}

int LocalMinute(int64_t now_ms, int utc_offset_minutes) {
  int64_t minutes = now_ms / 60000 + utc_offset_minutes;
  int64_t m = minutes % 1440;
  if (m < 0) m += 1440;
  return static_cast<int>(m);
}

std::string FormatMinute(int minute) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d:%02d", minute / 60, minute % 60);
  return buf;
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

struct Rule {
  std::string id, description;
  bool match_any = false;
  bool stop = false;
  std::optional<std::vector<std::string>> emotion, sentiment, intent, keywords_any, keywords_none, urgency_any, tier,
      channel;
  std::optional<double> min_intensity, min_trend_slope, min_trend_mean, min_intent_score, min_voice_anger,
      min_voice_arousal;
  std::optional<int64_t> min_repeat, min_wait_ms;
  std::optional<bool> human_requested;
  std::optional<bool> in_hours;  // business_hours: true = "in", false = "out"
  std::optional<Hours> hours;    // per-rule window; else the file's settings
  std::vector<Action> then;
};

bool Contains(const std::vector<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

// ---- parsing ---------------------------------------------------------------

class Parser {
 public:
  Status Error(const toml::node& n, const std::string& key, const std::string& what) {
    return InvalidArgument("line " + std::to_string(n.source().begin.line) + ": " + key + ": " + what);
  }

  Result<std::string> String(const toml::node& n, const std::string& key) {
    if (auto v = n.value<std::string>(); v && n.is_string()) return *v;
    return Error(n, key, "expected a string");
  }
  Result<double> Number(const toml::node& n, const std::string& key) {
    if (n.is_floating_point()) return *n.value<double>();
    if (n.is_integer()) return static_cast<double>(*n.value<int64_t>());
    return Error(n, key, "expected a number");
  }
  Result<int64_t> Integer(const toml::node& n, const std::string& key) {
    if (n.is_integer()) return *n.value<int64_t>();
    return Error(n, key, "expected an integer");
  }
  Result<bool> Bool(const toml::node& n, const std::string& key) {
    if (n.is_boolean()) return *n.value<bool>();
    return Error(n, key, "expected true or false");
  }
  Result<std::vector<std::string>> StringList(const toml::node& n, const std::string& key) {
    std::vector<std::string> out;
    if (n.is_string()) {  // a single string is accepted as a one-element list
      out.push_back(*n.value<std::string>());
      return out;
    }
    const toml::array* arr = n.as_array();
    if (!arr) return Error(n, key, "expected a list of strings");
    for (size_t i = 0; i < arr->size(); ++i) {
      const toml::node& e = *arr->get(i);
      if (!e.is_string()) return Error(e, key + "[" + std::to_string(i) + "]", "expected a string");
      out.push_back(*e.value<std::string>());
    }
    return out;
  }
  Result<Hours> HoursValue(const toml::node& n, const std::string& key) {
    KEFU_ASSIGN_OR_RETURN(std::string s, String(n, key));
    auto h = ParseHours(s);
    if (!h) return Error(n, key, "expected hours like \"09:00-21:00\", got \"" + s + "\"");
    return *h;
  }

  Status ParseWhen(const toml::table& when, const std::string& prefix, Rule& r) {
    for (const auto& [k, node] : when) {
      const std::string name(k.str());
      const std::string key = prefix + "." + name;
      if (name == "emotion") {
        KEFU_ASSIGN_OR_RETURN(r.emotion, StringList(node, key));
      } else if (name == "sentiment") {
        KEFU_ASSIGN_OR_RETURN(r.sentiment, StringList(node, key));
      } else if (name == "intent") {
        KEFU_ASSIGN_OR_RETURN(r.intent, StringList(node, key));
      } else if (name == "keywords_any") {
        KEFU_ASSIGN_OR_RETURN(r.keywords_any, StringList(node, key));
        for (std::string& kw : *r.keywords_any) kw = AsciiLower(kw);
      } else if (name == "keywords_none") {
        KEFU_ASSIGN_OR_RETURN(r.keywords_none, StringList(node, key));
        for (std::string& kw : *r.keywords_none) kw = AsciiLower(kw);
      } else if (name == "urgency_any") {
        KEFU_ASSIGN_OR_RETURN(r.urgency_any, StringList(node, key));
      } else if (name == "tier") {
        KEFU_ASSIGN_OR_RETURN(r.tier, StringList(node, key));
      } else if (name == "channel") {
        KEFU_ASSIGN_OR_RETURN(r.channel, StringList(node, key));
      } else if (name == "min_intensity") {
        KEFU_ASSIGN_OR_RETURN(r.min_intensity, Number(node, key));
      } else if (name == "min_trend_slope") {
        KEFU_ASSIGN_OR_RETURN(r.min_trend_slope, Number(node, key));
      } else if (name == "min_trend_mean") {
        KEFU_ASSIGN_OR_RETURN(r.min_trend_mean, Number(node, key));
      } else if (name == "min_intent_score") {
        KEFU_ASSIGN_OR_RETURN(r.min_intent_score, Number(node, key));
      } else if (name == "min_voice_anger") {
        KEFU_ASSIGN_OR_RETURN(r.min_voice_anger, Number(node, key));
      } else if (name == "min_voice_arousal") {
        KEFU_ASSIGN_OR_RETURN(r.min_voice_arousal, Number(node, key));
      } else if (name == "min_repeat") {
        KEFU_ASSIGN_OR_RETURN(r.min_repeat, Integer(node, key));
      } else if (name == "min_wait_ms") {
        KEFU_ASSIGN_OR_RETURN(r.min_wait_ms, Integer(node, key));
      } else if (name == "human_requested") {
        KEFU_ASSIGN_OR_RETURN(r.human_requested, Bool(node, key));
      } else if (name == "business_hours") {
        KEFU_ASSIGN_OR_RETURN(std::string v, String(node, key));
        if (v != "in" && v != "out") return Error(node, key, "expected \"in\" or \"out\", got \"" + v + "\"");
        r.in_hours = v == "in";
      } else if (name == "hours") {
        KEFU_ASSIGN_OR_RETURN(r.hours, HoursValue(node, key));
      } else {
        return Error(node, key, "unknown condition");
      }
    }
    return Status::Ok();
  }

  Result<Action> ParseAction(const toml::node& node, const std::string& key) {
    const toml::table* t = node.as_table();
    if (!t) return Error(node, key, "expected an action table like { action = \"transfer\", queue = \"...\" }");
    const toml::node* kind_node = t->get("action");
    if (!kind_node) return Error(node, key + ".action", "missing");
    KEFU_ASSIGN_OR_RETURN(std::string kind, String(*kind_node, key + ".action"));
    Action a;
    std::set<std::string> allowed;
    std::set<std::string> required;
    if (kind == "continue") {
      a.kind = ActionKind::kContinue;
    } else if (kind == "calming_reply") {
      a.kind = ActionKind::kCalmingReply;
      allowed = required = {"text"};
    } else if (kind == "raise_priority") {
      a.kind = ActionKind::kRaisePriority;
      allowed = required = {"priority"};
    } else if (kind == "transfer") {
      a.kind = ActionKind::kTransfer;
      allowed = {"queue", "skill", "priority"};
      required = {"queue"};
    } else if (kind == "alert_supervisor") {
      a.kind = ActionKind::kAlertSupervisor;
      allowed = required = {"alert"};
    } else {
      return Error(*kind_node, key + ".action",
                   "unknown action \"" + kind +
                       "\" (expected continue, calming_reply, raise_priority, transfer or alert_supervisor)");
    }
    for (const auto& [k, v] : *t) {
      const std::string name(k.str());
      if (name == "action") continue;
      const std::string fkey = key + "." + name;
      if (!allowed.count(name)) return Error(v, fkey, "unknown field for action \"" + kind + "\"");
      if (name == "queue") {
        KEFU_ASSIGN_OR_RETURN(a.queue, String(v, fkey));
      } else if (name == "skill") {
        KEFU_ASSIGN_OR_RETURN(a.skill, String(v, fkey));
      } else if (name == "text") {
        KEFU_ASSIGN_OR_RETURN(a.text, String(v, fkey));
      } else if (name == "alert") {
        KEFU_ASSIGN_OR_RETURN(a.alert, String(v, fkey));
      } else if (name == "priority") {
        KEFU_ASSIGN_OR_RETURN(int64_t p, Integer(v, fkey));
        if (p < 0 || p > 100) return Error(v, fkey, "expected 0..100");
        a.priority = static_cast<int>(p);
      }
    }
    for (const std::string& req : required)
      if (!t->get(req)) return Error(node, key + "." + req, "missing for action \"" + kind + "\"");
    return a;
  }

  Result<Rule> ParseRule(const toml::table& t, const std::string& prefix) {
    Rule r;
    bool has_then = false;
    for (const auto& [k, node] : t) {
      const std::string name(k.str());
      const std::string key = prefix + "." + name;
      if (name == "id") {
        KEFU_ASSIGN_OR_RETURN(r.id, String(node, key));
        if (r.id.empty()) return Error(node, key, "must not be empty");
      } else if (name == "description") {
        KEFU_ASSIGN_OR_RETURN(r.description, String(node, key));
      } else if (name == "match") {
        KEFU_ASSIGN_OR_RETURN(std::string m, String(node, key));
        if (m != "all" && m != "any") return Error(node, key, "expected \"all\" or \"any\", got \"" + m + "\"");
        r.match_any = m == "any";
      } else if (name == "stop") {
        KEFU_ASSIGN_OR_RETURN(r.stop, Bool(node, key));
      } else if (name == "when") {
        const toml::table* w = node.as_table();
        if (!w) return Error(node, key, "expected a table of conditions");
        KEFU_RETURN_IF_ERROR(ParseWhen(*w, key, r));
      } else if (name == "then") {
        has_then = true;
        if (node.is_table()) {
          KEFU_ASSIGN_OR_RETURN(Action a, ParseAction(node, key));
          r.then.push_back(std::move(a));
        } else if (const toml::array* arr = node.as_array()) {
          for (size_t i = 0; i < arr->size(); ++i) {
            KEFU_ASSIGN_OR_RETURN(Action a, ParseAction(*arr->get(i), key + "[" + std::to_string(i) + "]"));
            r.then.push_back(std::move(a));
          }
        } else {
          return Error(node, key, "expected a list of actions");
        }
      } else {
        return Error(node, key, "unknown field");
      }
    }
    if (r.id.empty()) return Error(t, prefix + ".id", "missing");
    if (!has_then || r.then.empty()) return Error(t, prefix + ".then", "missing (at least one action)");
    for (Action& a : r.then) a.rule_id = r.id;
    return r;
  }
};

}  // namespace

struct RuleSet::Impl {
  std::vector<Rule> rules;
  std::optional<Hours> business_hours;
  std::string offline_queue;

  // Calls emit(name, ok, fact, threshold) for each condition of `r`, in
  // order; fact and threshold are callables that build the trace's JSON, so
  // a caller that only needs `ok` builds none. `lower_text` is
  // AsciiLower(f.text).
  template <typename Emit>
  void Visit(const Rule& r, const TurnFacts& f, const std::string& lower_text, Emit&& emit) const;
};

namespace {

// Keywords of `list` found in the (lower-cased) text.
template <typename Fn>
void ForEachFound(const std::vector<std::string>& list, const std::string& text, Fn&& fn) {
  for (const std::string& kw : list)
    if (!kw.empty() && text.find(kw) != std::string::npos) fn(kw);
}

bool AnyFound(const std::vector<std::string>& list, const std::string& text) {
  bool any = false;
  ForEachFound(list, text, [&](const std::string&) { any = true; });
  return any;
}

nlohmann::json FoundJson(const std::vector<std::string>& list, const std::string& text) {
  nlohmann::json found = nlohmann::json::array();
  ForEachFound(list, text, [&](const std::string& kw) { found.push_back(kw); });
  return found;
}

bool UrgencyMatches(const std::string& u, const std::vector<std::string>& want_any) {
  for (const std::string& want : want_any)
    if (u == want || (u.size() > want.size() && u.compare(0, want.size(), want) == 0 && u[want.size()] == ':'))
      return true;
  return false;
}

}  // namespace

template <typename Emit>
void RuleSet::Impl::Visit(const Rule& r, const TurnFacts& f, const std::string& lower_text, Emit&& emit) const {
  using nlohmann::json;
  if (r.emotion) {
    // With min_intensity, "emotion" means "one of these emotions at least this strong".
    bool ok = Contains(*r.emotion, f.emotion) && (!r.min_intensity || f.emotion_intensity >= *r.min_intensity);
    emit(
        "emotion", ok,
        [&] {
          return json{{"emotion", f.emotion}, {"intensity", f.emotion_intensity}};
        },
        [&] {
          if (r.min_intensity) return json{{"emotion", *r.emotion}, {"min_intensity", *r.min_intensity}};
          return json(*r.emotion);
        });
  } else if (r.min_intensity) {
    emit(
        "min_intensity", f.emotion_intensity >= *r.min_intensity, [&] { return json(f.emotion_intensity); },
        [&] { return json(*r.min_intensity); });
  }
  if (r.sentiment)
    emit(
        "sentiment", Contains(*r.sentiment, f.sentiment), [&] { return json(f.sentiment); },
        [&] { return json(*r.sentiment); });
  // Voice conditions hold only for a spoken turn scored against a calibrated baseline.
  if (r.min_voice_anger)
    emit(
        "min_voice_anger", f.voice && f.voice_anger >= *r.min_voice_anger,
        [&] { return f.voice ? json(f.voice_anger) : json(nullptr); }, [&] { return json(*r.min_voice_anger); });
  if (r.min_voice_arousal)
    emit(
        "min_voice_arousal", f.voice && f.voice_arousal >= *r.min_voice_arousal,
        [&] { return f.voice ? json(f.voice_arousal) : json(nullptr); }, [&] { return json(*r.min_voice_arousal); });
  if (r.min_trend_slope)
    emit(
        "min_trend_slope", f.emotion_trend_slope >= *r.min_trend_slope, [&] { return json(f.emotion_trend_slope); },
        [&] { return json(*r.min_trend_slope); });
  if (r.min_trend_mean)
    emit(
        "min_trend_mean", f.emotion_trend_mean >= *r.min_trend_mean, [&] { return json(f.emotion_trend_mean); },
        [&] { return json(*r.min_trend_mean); });
  if (r.intent) {
    bool ok = Contains(*r.intent, f.intent) && (!r.min_intent_score || f.intent_score >= *r.min_intent_score);
    emit(
        "intent", ok,
        [&] {
          return json{{"intent", f.intent}, {"score", f.intent_score}};
        },
        [&] {
          if (r.min_intent_score) return json{{"intent", *r.intent}, {"min_intent_score", *r.min_intent_score}};
          return json(*r.intent);
        });
  } else if (r.min_intent_score) {
    emit(
        "min_intent_score", f.intent_score >= *r.min_intent_score, [&] { return json(f.intent_score); },
        [&] { return json(*r.min_intent_score); });
  }
  if (r.keywords_any) {
    const bool ok = AnyFound(*r.keywords_any, lower_text);
    emit(
        "keywords_any", ok, [&] { return ok ? FoundJson(*r.keywords_any, lower_text) : json(nullptr); },
        [&] { return json(*r.keywords_any); });
  }
  if (r.keywords_none) {
    const bool ok = !AnyFound(*r.keywords_none, lower_text);
    emit(
        "keywords_none", ok, [&] { return ok ? json(nullptr) : FoundJson(*r.keywords_none, lower_text); },
        [&] { return json(*r.keywords_none); });
  }
  if (r.urgency_any) {
    bool ok = false;
    for (const std::string& u : f.urgency)
      if (UrgencyMatches(u, *r.urgency_any)) {
        ok = true;
        break;
      }
    emit(
        "urgency_any", ok, [&] { return json(f.urgency); }, [&] { return json(*r.urgency_any); });
  }
  if (r.min_repeat)
    emit(
        "min_repeat", f.repeat_count >= *r.min_repeat, [&] { return json(f.repeat_count); },
        [&] { return json(*r.min_repeat); });
  if (r.tier)
    emit(
        "tier", Contains(*r.tier, f.customer_tier), [&] { return json(f.customer_tier); },
        [&] { return json(*r.tier); });
  if (r.channel)
    emit(
        "channel", Contains(*r.channel, f.channel), [&] { return json(f.channel); }, [&] { return json(*r.channel); });
  if (r.in_hours) {
    const Hours* h = r.hours ? &*r.hours : business_hours ? &*business_hours : nullptr;
    int minute = LocalMinute(f.now_ms, f.utc_offset_minutes);
    // Without any configured window every time counts as business hours.
    bool in = h ? h->Contains(minute) : true;
    emit(
        "business_hours", in == *r.in_hours,
        [&] {
          return json{{"local_time", FormatMinute(minute)}, {"in", in}};
        },
        [&] {
          return json{{"want", *r.in_hours ? "in" : "out"}, {"hours", h ? h->spec : "00:00-24:00"}};
        });
  }
  if (r.min_wait_ms)
    emit(
        "min_wait_ms", f.wait_ms >= *r.min_wait_ms, [&] { return json(f.wait_ms); },
        [&] { return json(*r.min_wait_ms); });
  if (r.human_requested)
    emit(
        "human_requested", f.human_requested == *r.human_requested, [&] { return json(f.human_requested); },
        [&] { return json(*r.human_requested); });
}

RuleSet::RuleSet(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RuleSet::~RuleSet() = default;
size_t RuleSet::size() const {
  return impl_->rules.size();
}

Result<std::shared_ptr<const RuleSet>> RuleSet::Parse(std::string_view toml_text) {
  toml::table root;
  try {
    root = toml::parse(toml_text);
  } catch (const toml::parse_error& e) {
    return InvalidArgument("line " + std::to_string(e.source().begin.line) + ", column " +
                           std::to_string(e.source().begin.column) + ": " + std::string(e.description()));
  }
  Parser p;
  auto impl = std::make_unique<Impl>();
  std::set<std::string> ids;
  for (const auto& [k, node] : root) {
    const std::string name(k.str());
    if (name == "settings") {
      const toml::table* s = node.as_table();
      if (!s) return p.Error(node, name, "expected a table");
      for (const auto& [sk, sv] : *s) {
        const std::string key = "settings." + std::string(sk.str());
        if (sk.str() == "business_hours") {
          KEFU_ASSIGN_OR_RETURN(impl->business_hours, p.HoursValue(sv, key));
        } else if (sk.str() == "offline_queue") {
          KEFU_ASSIGN_OR_RETURN(impl->offline_queue, p.String(sv, key));
        } else {
          return p.Error(sv, key, "unknown field");
        }
      }
    } else if (name == "rule") {
      const toml::array* arr = node.as_array();
      if (!arr) return p.Error(node, name, "expected [[rule]] tables");
      for (size_t i = 0; i < arr->size(); ++i) {
        const toml::node& rn = *arr->get(i);
        const std::string prefix = "rule[" + std::to_string(i) + "]";
        const toml::table* t = rn.as_table();
        if (!t) return p.Error(rn, prefix, "expected a table");
        KEFU_ASSIGN_OR_RETURN(Rule r, p.ParseRule(*t, prefix));
        if (!ids.insert(r.id).second) return p.Error(rn, prefix + ".id", "duplicate rule id \"" + r.id + "\"");
        impl->rules.push_back(std::move(r));
      }
    } else {
      return p.Error(node, name, "unknown top-level key (expected [settings] or [[rule]])");
    }
  }
  if (!impl->offline_queue.empty() && !impl->business_hours)
    return InvalidArgument("settings.offline_queue: needs settings.business_hours");
  return std::shared_ptr<const RuleSet>(new RuleSet(std::move(impl)));
}

Decision RuleSet::Evaluate(const TurnFacts& facts) const {
  Decision d;
  nlohmann::json rules = nlohmann::json::array();
  std::vector<std::string> fired_ids;
  std::string stopped_by;
  const std::string lower_text = AsciiLower(facts.text);
  for (const Rule& r : impl_->rules) {
    // First which conditions hold, then the trace's JSON for only the
    // conditions it keeps.
    size_t n = 0, n_ok = 0;
    impl_->Visit(r, facts, lower_text, [&](std::string_view, bool ok, auto&&, auto&&) {
      ++n;
      n_ok += ok ? 1 : 0;
    });
    bool fired;
    if (n == 0) {
      fired = true;  // a rule without conditions always fires
    } else if (r.match_any) {
      fired = n_ok > 0;
    } else {
      fired = n_ok == n;
    }
    // A rule that did not fire keeps only the conditions that explain why (the
    // failed ones), and keyword lists are left out of them: they are the rule
    // file's static text, repeated on every stored turn otherwise.
    nlohmann::json conds = nlohmann::json::array();
    impl_->Visit(r, facts, lower_text, [&](std::string_view name, bool ok, auto&& fact, auto&& threshold) {
      if (!fired && ok) return;
      nlohmann::json c = nlohmann::json::object();
      c["name"] = name;
      c["fact"] = fact();
      if (fired || !name.starts_with("keywords_")) c["threshold"] = threshold();
      c["ok"] = ok;
      conds.push_back(std::move(c));
    });
    nlohmann::json rule = nlohmann::json::object();
    rule["id"] = r.id;
    rule["fired"] = fired;
    rule["match"] = r.match_any ? "any" : "all";
    rule["conditions"] = std::move(conds);
    rules.push_back(std::move(rule));
    if (fired) {
      fired_ids.push_back(r.id);
      d.actions.insert(d.actions.end(), r.then.begin(), r.then.end());
      if (r.stop) {
        stopped_by = r.id;
        break;
      }
    }
  }
  d.trace = nlohmann::json::object();
  d.trace["rules"] = std::move(rules);
  if (!stopped_by.empty()) d.trace["stopped_by"] = stopped_by;
  // Outside business hours nobody can take a transfer: it becomes "leave a message".
  if (!impl_->offline_queue.empty() && d.handoff()) {
    int minute = LocalMinute(facts.now_ms, facts.utc_offset_minutes);
    if (!impl_->business_hours->Contains(minute)) {
      nlohmann::json redirected = nlohmann::json::array();
      for (Action& a : d.actions)
        if (a.kind == ActionKind::kTransfer) {
          redirected.push_back(a.queue);
          a.queue = impl_->offline_queue;
        }
      d.trace["after_hours"] = {{"local_time", FormatMinute(minute)},
                                {"business_hours", impl_->business_hours->spec},
                                {"offline_queue", impl_->offline_queue},
                                {"original_queues", redirected}};
    }
  }
  d.trace["fired"] = std::move(fired_ids);
  if (d.actions.empty()) d.actions.push_back(Action{});
  return d;
}

}  // namespace kefu::routing
