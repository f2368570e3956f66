// Display helpers shared by the workspace's components (pure functions).

// The one label table: every code the workspace shows (emotions, sentiments,
// routing rules and handoff reasons, intents, order and logistics statuses,
// channels, queues, alert kinds, …) is looked up here; an unknown code is shown
// as it is (label(kind, code) === code), so a new server code never disappears.
export const LABELS = {
  emotion: {
    anger: '愤怒', disgust: '厌恶', sadness: '难过', fear: '担忧', surprise: '惊讶',
    happiness: '开心', joy: '开心', like: '满意', neutral: '平静',
  },
  sentiment: { negative: '负面', positive: '正面', neutral: '中性' },
  // Routing rule ids (src/routing/default_rules.cpp, docs/routing.md) and free-form handoff reasons.
  reason: {
    'abuse-to-human': '辱骂/暴怒',
    'angry-to-human': '客户愤怒',
    'angry-voice-to-human': '语音愤怒',
    'complaint-to-human': '投诉',
    'threat-to-human': '投诉/威胁（12315、曝光…）',
    'human-requested': '客户要求人工',
    'stuck-customer': '客户说机器人帮不上',
    'upset-after-sale': '售后不满',
    'upset-after-sale-emotion': '售后不满（情绪）',
    'upset-refund': '退款不满',
    repeat: '重复提问',
    'rising-negative': '情绪持续变差',
    'long-wait': '等待过久',
    'vip-priority': 'VIP 客户',
    human_agent: '客户要求人工',
    human: '客户要求人工',
    anger: '客户情绪激动',
    complaint: '投诉',
    complaint_keywords: '投诉关键词',
    repeated_question: '重复提问',
    explicit_request: '客户要求人工',
    human_request: '客户要求人工',
    transfer: '转接',
    takeover: '主管接管',
  },
  // NLU intents (demo/intents/intents.csv) and the bot's answer intents/sources.
  intent: {
    account: '账户问题', cancel_order: '取消订单', change_address: '修改地址', complaint: '投诉', coupon: '优惠券',
    exchange: '换货', greeting: '问候', human_agent: '转人工', human: '转人工', invoice: '发票', logistics: '物流查询',
    membership: '会员', oos: '未识别', order_status: '订单状态', payment: '支付', price_protect: '价格保护',
    product_inquiry: '商品咨询', refund: '退款', return: '退货', shipping_fee: '运费', size: '尺码', stock: '库存',
    thanks: '感谢', warranty_repair: '保修维修', track_logistics: '物流查询', faq: '常见问题', list_orders: '订单列表',
    product_search: '商品搜索', recommend: '商品推荐', goodbye: '告别', order_lookup: '订单查询',
    grounded: '查询回答', kb: '知识库', llm: '大模型', template: '模板回复', fallback: '兜底回复', answer: '回答',
  },
  order: {
    pending: '待付款', unpaid: '待付款', paid: '已付款', processing: '处理中', shipped: '已发货', picked_up: '已揽收',
    in_transit: '运输中', out_for_delivery: '派送中', delivered: '已签收', completed: '已完成', cancelled: '已取消',
    canceled: '已取消', refunding: '退款中', refunded: '已退款', returned: '已退货', exception: '物流异常',
    after_sale: '售后中', closed: '已关闭',
  },
  logistics: {
    created: '已下单', pending: '待揽收', picked_up: '已揽收', shipped: '已发货', in_transit: '运输中',
    arrived: '已到达', out_for_delivery: '派送中', delivered: '已签收', failed: '派送失败', exception: '物流异常',
    returned: '已退回', returning: '退回中', customs: '清关中',
  },
  channel: {
    web: '网页', app: 'App 客户端', wechat: '微信', miniprogram: '小程序', mini_program: '小程序', phone: '电话', voice: '电话',
    email: '邮件', sms: '短信', api: '接口', weibo: '微博', douyin: '抖音', whatsapp: 'WhatsApp', demo: '演示数据',
  },
  queue: { complaints: '投诉组', after_sale: '售后组', general: '综合组', vip: 'VIP 组' },
  urgency: {
    repeated_punctuation: '连续标点', all_caps: '全大写', threat: '威胁', abuse: '辱骂', stuck: '机器人帮不上',
    emoji_anger: '愤怒表情', exclamation: '感叹号',
  },
  // Conditions of a routing rule in the decision trace (src/routing/rules.cpp, `when.*`).
  condition: {
    emotion: '情绪', min_intensity: '情绪强度下限', sentiment: '情感', urgency_any: '紧急信号', keywords_any: '包含关键词',
    keywords_none: '不含关键词', human_requested: '要求人工', tier: '会员等级', min_wait_ms: '等待时长下限',
    min_repeat: '重复次数下限', min_trend_slope: '情绪变差斜率下限', min_trend_mean: '情绪负面均值下限', intent: '意图',
    intent_any: '意图', channel: '渠道', after_hours: '非工作时间', queue: '队列', priority: '优先级', skill: '技能',
    intensity: '强度', rule: '规则', alert: '告警', text: '内容', wait_ms: '等待时长', repeat_count: '重复次数',
    trend_slope: '情绪变差斜率', trend_mean: '情绪负面均值',
    min_voice_anger: '语音愤怒度下限', min_voice_arousal: '语音激动度下限', voice_anger: '语音愤怒度', voice_arousal: '语音激动度',
  },
  skill: { after_sale: '售后', general: '综合', vip: 'VIP' },
  action: {
    transfer: '转人工队列', alert_supervisor: '告警主管', raise_priority: '提高优先级', calming_reply: '安抚回复',
    continue: '继续自助', continue_self_service: '继续自助',
  },
  alert: { anger_spike: '情绪激增', long_wait: '等待过久', repeated_escalation: '反复转人工' },
  status: { open: '机器人服务中', queued: '排队中', human: '人工服务中', closed: '已关闭' },
  tier: {
    vip: 'VIP', normal: '普通会员', regular: '普通会员', silver: '银卡会员', gold: '金卡会员', platinum: '白金会员',
    diamond: '钻石会员',
  },
  presence: { online: '在线', away: '离开', offline: '离线' },
  role: { agent: '客服', supervisor: '主管', admin: '管理员' },
  segment: {
    champion: '核心客户', loyal: '忠诚客户', new: '新客户', at_risk: '流失风险', hibernating: '沉睡客户',
    regular: '普通客户', prospect: '潜在客户',
  },
  identity: {
    phone: '手机', email: '邮箱', app_user_id: 'App', wechat_openid: '微信', wechat_unionid: '微信 union',
    device_id: '设备', loyalty_no: '会员号',
  },
  browse: {
    page_view: '浏览页面', product_view: '浏览商品', search: '搜索', add_to_cart: '加购', remove_from_cart: '移出购物车',
    checkout: '结算', purchase: '购买',
  },
  transaction: { payment: '支付', refund: '退款', chargeback: '拒付' },
  transaction_status: { succeeded: '成功', pending: '处理中', failed: '失败' },
  ticket_status: { open: '待处理', pending: '处理中', resolved: '已解决', closed: '已关闭' },
  priority: { urgent: '紧急', high: '高', normal: '普通', low: '低' },
  payment_method: { unionpay: '银联', wechat_pay: '微信支付', alipay: '支付宝', card: '银行卡' },
};

/** The Chinese label of `code` in table `kind` (LABELS); an unknown code is returned as it is ('' for none). */
export function label(kind, code) {
  if (code == null || code === '') return '';
  const t = LABELS[kind];
  const s = String(code);
  return (t && Object.prototype.hasOwnProperty.call(t, s) && t[s]) || s;
}

const NEGATIVE = new Set(['anger', 'disgust', 'sadness', 'fear']);
const POSITIVE = new Set(['happiness', 'joy', 'like']);

export function emotionLabel(code) {
  return code ? label('emotion', code) : '未知';
}

export const sentimentLabel = (c) => label('sentiment', c);
export const intentLabel = (c) => label('intent', c);
export const ruleLabel = (c) => label('reason', c);
export const logisticsStatusLabel = (c) => label('logistics', c);
export const channelLabel = (c) => label('channel', c);
export const queueLabel = (c) => label('queue', c);
export const actionLabel = (c) => label('action', c);

/**
 * A code of unknown kind (a rule condition's value): the first table that knows
 * it, in an order where the ambiguous codes read right; else the code itself.
 */
export function anyLabel(code, kinds = ['emotion', 'sentiment', 'urgency', 'tier', 'intent', 'queue', 'channel', 'reason', 'order']) {
  if (typeof code !== 'string' || !code) return code == null ? '' : String(code);
  if (code.startsWith('keyword:')) return urgencyLabel(code);
  for (const k of kinds) {
    const t = LABELS[k];
    if (Object.prototype.hasOwnProperty.call(t, code)) return t[code];
  }
  return code;
}

/** An NLU urgency signal: 'keyword:骗子' → 关键词「骗子」, others from the table. */
export function urgencyLabel(u) {
  const s = String(u || '');
  if (s.startsWith('keyword:')) return `关键词「${s.slice(8)}」`;
  return label('urgency', s);
}

/**
 * Severity level for an emotion: 'none' (unknown), 'calm', 'positive',
 * 'low' | 'mid' | 'high' for negative emotions by intensity (<0.4, <0.7, ≥0.7).
 */
export function emotionLevel(emotion) {
  if (!emotion || !emotion.label) return 'none';
  const { label } = emotion;
  const i = Number(emotion.intensity) || 0;
  if (POSITIVE.has(label)) return 'positive';
  if (!NEGATIVE.has(label)) return 'calm';
  if (i >= 0.7) return 'high';
  if (i >= 0.4) return 'mid';
  return 'low';
}

export function trendText(trend) {
  if (trend == null || trend === '') return '';
  if (typeof trend === 'string') {
    return { rising: '↑ 加剧', up: '↑ 加剧', escalating: '↑ 加剧', falling: '↓ 缓和', down: '↓ 缓和', stable: '→ 平稳', steady: '→ 平稳' }[trend] || trend;
  }
  const t = Number(trend);
  if (!Number.isFinite(t)) return '';
  if (t > 0.05) return '↑ 加剧';
  if (t < -0.05) return '↓ 缓和';
  return '→ 平稳';
}

/** Emotion of a customer message from its meta.analysis, or null. */
export function emotionOfMessage(m) {
  const a = m && m.meta && m.meta.analysis;
  if (!a || !a.emotion) return null;
  return { label: a.emotion, intensity: Number(a.emotion_intensity) || 0 };
}

/** "0秒", "45秒", "3分12秒", "1小时5分". */
export function formatDuration(ms) {
  const s = ms > 0 ? Math.floor(ms / 1000) : 0;
  if (s < 60) return `${s}秒`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}分${String(s % 60).padStart(2, '0')}秒`;
  const h = Math.floor(m / 60);
  return `${h}小时${m % 60}分`;
}

export function formatClock(t) {
  if (!t) return '';
  const d = new Date(t);
  const hm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  return d.toDateString() === new Date().toDateString() ? hm : `${d.getMonth() + 1}月${d.getDate()}日 ${hm}`;
}

export function formatDate(t) {
  if (!t) return '';
  return new Date(t).toLocaleString('zh-CN', { hour12: false });
}

export const PRESENCE = ['online', 'away', 'offline'].map((value) => ({ value, label: LABELS.presence[value] }));

export function presenceLabel(p) {
  return p ? label('presence', p) : '未知';
}

export const roleLabel = (r) => label('role', r);

export function messageRoleLabel(m) {
  switch (m.role) {
    case 'customer': return '客户';
    case 'bot': return '智能客服';
    case 'agent': {
      const a = m.meta && m.meta.agent;
      const name = a && (a.name || a.username);
      return name ? `客服 · ${name}` : '客服';
    }
    case 'system': return '系统通知';
    case 'note': {
      const a = m.meta && m.meta.agent;
      const name = a && (a.name || a.username);
      return name ? `内部备注 · ${name}` : '内部备注';
    }
    default: return m.role || '';
  }
}

export function alertKindLabel(kind) {
  return kind ? label('alert', kind) : '告警';
}

export const statusLabel = (s) => label('status', s);
export const tierLabel = (t) => label('tier', t);
export const orderStatusLabel = (s) => label('order', s);
export const reasonLabel = (r) => label('reason', r);

/** "¥2,499.00" from cents ('' for none). */
export function yuan(cents) {
  if (cents == null || cents === '' || !Number.isFinite(Number(cents))) return '';
  return `¥${(Number(cents) / 100).toLocaleString('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/**
 * product id → name from what the customer panel carries (order items of
 * `orders` and of the profile's `recent_orders`; browsing events with a name).
 * The server sends product ids alone in profile.recent_browsing and in a
 * handoff's facts.product: only products seen in an order get a name here.
 */
export function productNames(panel) {
  const names = {};
  if (!panel || typeof panel !== 'object') return names;
  const profile = panel.profile && typeof panel.profile === 'object' ? panel.profile : {};
  const orders = [...(Array.isArray(panel.orders) ? panel.orders : []), ...(Array.isArray(profile.recent_orders) ? profile.recent_orders : [])];
  for (const o of orders) {
    for (const i of Array.isArray(o && o.items) ? o.items : []) {
      const name = i && (i.name || i.title);
      if (name && i.product_id && !names[i.product_id]) names[i.product_id] = name;
    }
  }
  for (const b of Array.isArray(profile.recent_browsing) ? profile.recent_browsing : []) {
    const name = b && (b.product_name || b.name || b.title);
    if (name && b.product_id && !names[b.product_id]) names[b.product_id] = name;
  }
  return names;
}

/** A product as the agent reads it: its name when known (item object or id + names map), else the id. */
export function productLabel(p, names = {}) {
  if (p == null || p === '') return '';
  if (typeof p === 'object') {
    const n = p.name || p.title || p.product_name || names[p.product_id || p.id] || p.product_id || p.id || '';
    const qty = Number(p.qty) > 1 ? ` ×${p.qty}` : '';
    return `${n}${p.spec ? `（${p.spec}）` : ''}${qty}`;
  }
  return names[p] || String(p);
}

/**
 * The server's extractive handoff summary (src/agents/desk.cpp ExtractiveHandoff)
 * carries codes ("转人工原因：abuse-to-human。意图：complaint。商品：P4005。
 * 情绪：neutral→anger。"): they are replaced by their labels (and the product id by
 * its name when `names` knows it); the rest of the text is kept.
 */
export function localizeSummary(text, names = {}) {
  if (!text) return '';
  return String(text)
    .replace(/转人工原因：([^。]*)。/, (_, c) => `转人工原因：${reasonLabel(c)}。`)
    .replace(/意图：([^。]*)。/, (_, c) => `意图：${intentLabel(c)}。`)
    .replace(/商品：([^。]*)。/, (_, c) => `商品：${productLabel(c, names)}。`)
    .replace(/情绪：([^。]*)。/, (_, c) => `情绪：${c.split('→').map((e) => emotionLabel(e)).join('→')}。`);
}

/** One entry of a handoff's bot_tried ("track_logistics: 您的订单…"): the intent or source as its label. */
export function localizeTried(t) {
  const s = String(t == null ? '' : t);
  const m = /^([a-z_]+): ?([\s\S]*)$/.exec(s);
  return m ? `${intentLabel(m[1])}：${m[2]}` : s;
}
