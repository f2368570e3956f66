// The shipped default rules (documented in docs/routing.md). Kept as TOML so
// the defaults go through exactly the parser tenants' files go through.
#include <cstdlib>

#include "common/log.h"
#include "routing/rules.h"

namespace kefu::routing {

namespace {

constexpr std::string_view kDefaultRules = R"toml(
[settings]
business_hours = "09:00-21:00"   # local time (TurnFacts.utc_offset_minutes)
offline_queue = "offline"        # transfers outside business hours go here ("leave a message")

[[rule]]
id = "long-wait"
description = "客户等待人工超过 3 分钟 → 提醒主管"
when.min_wait_ms = 180000
then = [{ action = "alert_supervisor", alert = "客户等待超过3分钟" }]

[[rule]]
id = "vip-priority"
description = "VIP 客户 → 提高优先级"
when.tier = ["vip"]
then = [{ action = "raise_priority", priority = 1 }]

[[rule]]
id = "angry-to-human"
description = "强烈愤怒或投诉关键词 → 投诉组人工 + 主管告警"
match = "any"
when.emotion = ["anger", "disgust"]
when.min_intensity = 0.7
when.keywords_any = ["投诉", "退款", "故障", "12315", "曝光", "律师"]
then = [{ action = "transfer", queue = "complaints", skill = "after_sale", priority = 2 },
        { action = "alert_supervisor", alert = "愤怒客户" }]
stop = true

[[rule]]
id = "human-requested"
description = "客户明确要求转人工"
match = "any"
when.human_requested = true
when.keywords_any = ["转人工", "人工客服", "找人工", "真人客服"]
then = [{ action = "transfer", queue = "general", priority = 1 }]
stop = true

[[rule]]
id = "repeat"
description = "同一个问题（按意思）问到第三次 → 人工"
when.min_repeat = 3
then = [{ action = "transfer", queue = "general", priority = 1 }]
stop = true

[[rule]]
id = "rising-negative"
description = "情绪持续变差 → 安抚回复"
when.min_trend_slope = 0.15
when.min_trend_mean = 0.2
then = [{ action = "calming_reply", text = "非常抱歉给您带来不好的体验，我们非常重视您的问题，正在尽快为您处理。" }]
)toml";

}  // namespace

std::string_view RuleSet::DefaultsToml() {
  return kDefaultRules;
}

std::shared_ptr<const RuleSet> RuleSet::Defaults() {
  static const std::shared_ptr<const RuleSet> defaults = [] {
    auto parsed = Parse(kDefaultRules);
    if (!parsed.ok()) {  // an impossible state: the shipped text is tested
      log::Error("routing_defaults_invalid", {{"error", parsed.status().ToString()}});
      std::abort();
    }
    return std::move(parsed).value();
  }();
  return defaults;
}

}  // namespace kefu::routing
