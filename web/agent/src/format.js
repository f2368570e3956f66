// Display helpers shared by the workspace's components (pure functions).

const EMOTION_LABELS = {
  anger: '愤怒',
  disgust: '厌恶',
  sadness: '难过',
  fear: '担忧',
  surprise: '惊讶',
  happiness: '开心',
  like: '满意',
  neutral: '平静',
};
const NEGATIVE = new Set(['anger', 'disgust', 'sadness', 'fear']);
const POSITIVE = new Set(['happiness', 'like']);

export function emotionLabel(label) {
  return EMOTION_LABELS[label] || (label ? String(label) : '未知');
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

export const PRESENCE = [
  { value: 'online', label: '在线' },
  { value: 'away', label: '离开' },
  { value: 'offline', label: '离线' },
];

export function presenceLabel(p) {
  const x = PRESENCE.find((e) => e.value === p);
  return x ? x.label : p || '未知';
}

export const ROLE_LABELS = { agent: '客服', supervisor: '主管', admin: '管理员' };

export function roleLabel(role) {
  return ROLE_LABELS[role] || role || '';
}

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

export const ALERT_KINDS = {
  anger_spike: '情绪激增',
  long_wait: '等待过久',
  repeated_escalation: '反复转人工',
};

export function alertKindLabel(kind) {
  return ALERT_KINDS[kind] || kind || '告警';
}

export const STATUS_LABELS = { open: '机器人服务中', queued: '排队中', human: '人工服务中', closed: '已关闭' };

export function statusLabel(s) {
  return STATUS_LABELS[s] || s || '';
}

export const TIER_LABELS = { vip: 'VIP', normal: '普通会员', regular: '普通会员', silver: '银卡会员', gold: '金卡会员', platinum: '白金会员', diamond: '钻石会员' };

export function tierLabel(t) {
  return TIER_LABELS[t] || t || '';
}

// Handoff reasons: the routing rule that transferred (docs/routing.md defaults) or a free-form reason.
export const REASON_LABELS = {
  'angry-to-human': '客户愤怒',
  'complaint-to-human': '投诉',
  'upset-after-sale-emotion': '售后不满',
  repeat: '重复提问',
  'human-requested': '客户要求人工',
  'upset-after-sale': '售后不满',
  'long-wait': '等待过久',
  'vip-priority': 'VIP 客户',
  anger: '客户情绪激动',
  complaint: '投诉',
  repeated_question: '重复提问',
  explicit_request: '客户要求人工',
  human_request: '客户要求人工',
};

export const ORDER_STATUS_LABELS = {
  pending: '待付款', unpaid: '待付款', paid: '已付款', processing: '处理中', shipped: '已发货', in_transit: '运输中',
  out_for_delivery: '派送中', delivered: '已签收', completed: '已完成', cancelled: '已取消', canceled: '已取消',
  refunding: '退款中', refunded: '已退款', returned: '已退货', exception: '物流异常',
};

export function orderStatusLabel(s) {
  return ORDER_STATUS_LABELS[s] || s || '';
}

export function reasonLabel(r) {
  if (!r) return '';
  return REASON_LABELS[r] || r;
}
