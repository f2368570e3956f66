// The shipped default rules (documented in docs/routing.md). Kept as TOML so
// the defaults go through exactly the parser tenants' files go through.
#include <cstdlib>

#include "common/log.h"
#include "routing/rules.h"

namespace kefu::routing {

namespace {

constexpr std::string_view kDefaultRules = R"toml(
# No business-hours redirect by default: outside working hours no agent is
# online, and a transfer with nobody online offers "leave a message".

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
id = "threat-to-human"
description = "威胁升级（12315、曝光、律师、消协…）→ 投诉组人工 + 主管告警"
when.keywords_any = ["12315", "曝光", "律师", "举报", "起诉", "报警", "消协", "消费者协会", "消保委", "消基会", "工商局", "市场监管", "黑猫投诉", "微博上见", "发微博", "上微博", "发小红书", "找媒体", "找记者"]
then = [{ action = "transfer", queue = "complaints", skill = "after_sale", priority = 2 },
        { action = "alert_supervisor", alert = "愤怒客户（投诉/威胁）" }]
stop = true

[[rule]]
id = "complaint-to-human"
description = "投诉 → 投诉组人工 + 主管告警（平静地问投诉渠道的，由知识库回答）"
when.keywords_any = ["投诉"]
when.keywords_none = ["投诉渠道", "什么渠道", "哪些渠道", "啥渠道", "投诉途径", "什么途径", "投诉方式", "投诉电话", "投诉邮箱", "投诉热线", "去哪投诉", "在哪投诉", "哪里投诉", "哪儿投诉", "怎么投诉", "如何投诉", "投诉流程", "投诉多久", "投诉的话", "投诉的途径", "投诉的渠道", "投诉的方式", "投诉的电话", "投诉的流程", "投诉入口", "投诉的入口", "哪些途径", "啥途径"]
then = [{ action = "transfer", queue = "complaints", skill = "after_sale", priority = 2 },
        { action = "alert_supervisor", alert = "愤怒客户（投诉）" }]
stop = true

[[rule]]
id = "angry-to-human"
description = "强烈愤怒：情绪模型 anger/disgust ≥ 0.7、负面，且有文字佐证（威胁、连续！？、全大写）→ 投诉组人工 + 主管告警"
when.emotion = ["anger", "disgust"]
when.min_intensity = 0.7
when.sentiment = ["negative"]
when.urgency_any = ["threat", "repeated_punctuation", "all_caps"]
then = [{ action = "transfer", queue = "complaints", skill = "after_sale", priority = 2 },
        { action = "alert_supervisor", alert = "愤怒客户" }]
stop = true

[[rule]]
id = "angry-voice-to-human"
description = "语音通话中嗓门明显抬高（声音愤怒度 ≥ 0.75，相对该客户自己的平静基线）且文字负面 → 投诉组人工 + 主管告警"
when.min_voice_anger = 0.75
when.sentiment = ["negative"]
then = [{ action = "transfer", queue = "complaints", skill = "after_sale", priority = 2 },
        { action = "alert_supervisor", alert = "愤怒客户（语音）" }]
stop = true

[[rule]]
id = "abuse-to-human"
description = "辱骂或暴怒（骗子、差评、TMD、退钱！！！、😡、连续感叹号）→ 投诉组人工 + 主管告警"
when.urgency_any = ["abuse"]
then = [{ action = "transfer", queue = "complaints", skill = "after_sale", priority = 2 },
        { action = "alert_supervisor", alert = "愤怒客户（辱骂/暴怒）" }]
stop = true

[[rule]]
id = "human-requested"
description = "客户要求人工（找真人、叫经理、人呢？？、agent、real person… dialogue/human_request.h）"
when.human_requested = true
then = [{ action = "transfer", queue = "general", priority = 1 }]
stop = true

[[rule]]
id = "upset-after-sale"
description = "退款/故障/坏了 + 愤怒（情绪模型 anger/disgust ≥ 0.6）→ 售后人工；只是负面（问退款没到、东西坏了怎么办）的由自助回答"
when.keywords_any = ["退款", "故障", "坏了"]
when.keywords_none = ["怎么申请", "如何申请", "怎么退款", "如何退款", "怎么办理", "如何办理", "流程", "多久", "多长时间", "能不能", "可以退", "能退", "我问的是", "我说的是", "不是这个", "不是这单", "要是", "如果", "万一", "假如", "自称", "冒充", "是真的吗", "靠谱吗", "只退款", "仅退款", "不寄回", "不用寄回"]
when.emotion = ["anger", "disgust"]
when.min_intensity = 0.6
then = [{ action = "transfer", queue = "after_sale", skill = "after_sale", priority = 1 }]
stop = true

[[rule]]
id = "stuck-customer"
description = "客户说机器人帮不上（说了三遍了、你倒是说啊、还是不行）→ 人工"
when.urgency_any = ["stuck"]
then = [{ action = "transfer", queue = "general", priority = 1 }]
stop = true

[[rule]]
id = "repeat"
description = "同一个问题（按意思）问到第三次 → 人工"
when.min_repeat = 3
then = [{ action = "transfer", queue = "general", priority = 1 },
        { action = "alert_supervisor", alert = "同一问题重复三次" }]
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
