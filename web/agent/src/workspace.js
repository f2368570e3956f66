// Workspace: the agent's live state and every action of the workspace
// (docs/agents.md). No Vue inside: it mutates `state` (pass a Vue reactive
// object to render it) and talks to the server through an AgentApi and an
// AgentSocket. Single-threaded (browser event loop).
//
// State:
//   agent            Agent (me), updated by hello / presence changes
//   connection       AgentSocket status
//   queue            [QueueItem] waiting conversations (priority desc, then oldest first)
//   mine             [ConversationSummary] assigned to me, newest activity first
//   details[id]      {summary, messages, handoff, outbox, loading, error, gone}
//                    messages keyed by id (a message seen twice is kept once),
//                    ordered by seq; outbox = agent replies not yet confirmed
//   selectedId       conversation in the chat panel
//   customers[cid]   CustomerPanel; suggestions[id] {items, loading, error}
//   canned           [{id,title,text}]
//   board, alerts    supervisors: live board and alerts (newest first)
//   banner           last error for the agent to see ('' = none)
//
// Frames from the socket are applied by applyFrame(); after every (re)connect
// refresh() re-reads queue, my conversations, the board and the open
// conversation, so nothing missed while disconnected stays missing.

import { ApiError, errorText } from './api.js';
import { emotionOfMessage } from './format.js';

const PRESENCE_KEY = 'kefu:agent:presence';

const MAX_ALERTS = 200;

export function newClientMsgId(cryptoImpl = globalThis.crypto) {
  if (cryptoImpl && typeof cryptoImpl.randomUUID === 'function') return cryptoImpl.randomUUID();
  const b = new Uint8Array(16);
  cryptoImpl.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function initialState() {
  return {
    agent: null,
    connection: 'connecting',
    queue: [],
    mine: [],
    details: {},
    selectedId: '',
    customers: {},
    suggestions: {},
    unread: {},  // conversation id → new assignments / customer messages not yet seen in the chat panel
    canned: [],
    board: null,
    alerts: [],
    banner: '',
  };
}

export function summaryId(s) {
  return (s && s.conversation && s.conversation.id) || (s && s.conversation_id) || '';
}

/**
 * Whether the agent owes the customer an answer, from a conversation's
 * messages (oldest first; or just a summary's last_message): 'replied' when
 * the agent's own message is the latest customer/agent turn, else 'pending'
 * (the customer wrote after it, or nobody from the desk has answered yet:
 * bot answers, handoff/assignment notices and internal notes are no reply).
 * since_ms: the first customer message still unanswered (0 when unknown).
 */
export function replyState(messages) {
  const list = Array.isArray(messages) ? messages : [];
  let since = 0;
  let customerAfter = false;
  for (let i = list.length - 1; i >= 0; i--) {
    const m = list[i];
    if (!m) continue;
    if (m.role === 'agent') {
      if (!customerAfter) return { state: 'replied', since_ms: 0 };
      break;
    }
    if (m.role === 'customer') {
      customerAfter = true;
      since = Number(m.created_ms) || since;
    }
  }
  return { state: 'pending', since_ms: since };
}

/** The reply state after message `m` (live feed), from the state before it. */
export function nextReplyState(prev, m) {
  const p = prev || { state: 'pending', since_ms: 0 };
  if (!m) return p;
  if (m.role === 'agent') return { state: 'replied', since_ms: 0 };
  if (m.role === 'customer') {
    if (p.state === 'pending' && p.since_ms) return p;
    return { state: 'pending', since_ms: Number(m.created_ms) || 0 };
  }
  return p;  // bot, system, note: no answer from the agent
}

/** The reply state of a summary in my list (computed from last_message until the feed tracks it). */
export function replyOf(summary) {
  if (!summary) return { state: 'pending', since_ms: 0 };
  return summary.reply || replyState(summary.last_message ? [summary.last_message] : []);
}

export function isSupervisor(agent) {
  return Boolean(agent) && (agent.role === 'supervisor' || agent.role === 'admin');
}

function sortQueue(items) {
  items.sort((a, b) => (Number(b.priority) || 0) - (Number(a.priority) || 0)
    || (Number(a.waiting_since_ms) || 0) - (Number(b.waiting_since_ms) || 0));
}

function lastActivity(s) {
  return (s.last_message && s.last_message.created_ms) || (s.conversation && s.conversation.updated_ms) || 0;
}

// Conversation messages by seq; internal notes (seq 0: not part of the
// customer's sequence) by time among them.
function messageOrder(a, b) {
  const sa = a.seq > 0 ? a.seq : 0;
  const sb = b.seq > 0 ? b.seq : 0;
  if (sa && sb) return sa - sb;
  const t = (a.created_ms || 0) - (b.created_ms || 0);
  if (t) return t;
  if (sa !== sb) return sa ? -1 : 1;
  return String(a.id).localeCompare(String(b.id));
}

// Notes have their own id space (agent_notes), so the key names the kind.
function messageKey(m) {
  if (m.id != null) return `${m.role === 'note' ? 'n' : 'i'}${m.id}`;
  if (m.seq != null) return `s${m.seq}`;
  return `c${m.client_msg_id || ''}${m.created_ms || ''}`;
}

/** Inserts `m` into `list` (kept ordered); a message already present (same id) is replaced. */
export function mergeMessage(list, m) {
  if (!m || typeof m !== 'object') return false;
  const key = messageKey(m);
  const at = list.findIndex((x) => messageKey(x) === key);
  if (at >= 0) {
    list.splice(at, 1, m);
    return false;
  }
  let i = list.length;
  while (i > 0 && messageOrder(list[i - 1], m) > 0) i--;
  list.splice(i, 0, m);
  return true;
}

export class Workspace {
  /**
   * @param {object} opts
   * @param {object} opts.state   object to mutate (initialState() shape)
   * @param {AgentApi} opts.api
   * @param {object} [opts.env]   now(), crypto
   */
  constructor({ state, api, env = {} }) {
    this.state = state;
    this.api = api;
    this.env = { now: env.now || (() => Date.now()), crypto: env.crypto || globalThis.crypto };
    this._refreshing = null;
  }

  get supervisor() { return isSupervisor(this.state.agent); }

  _fail(e) {
    this.state.banner = errorText(e);
    return e;
  }

  clearBanner() { this.state.banner = ''; }

  // ---- loading -----------------------------------------------------------

  /** Re-reads everything the live feed may have missed. Concurrent calls share one run. */
  refresh() {
    if (!this._refreshing) {
      this._refreshing = this._refresh().finally(() => { this._refreshing = null; });
    }
    return this._refreshing;
  }

  async _refresh() {
    const s = this.state;
    const me = await this.api.me();
    s.agent = me.agent || me;
    const [queue, mine] = await Promise.all([this.api.queue(), this.api.conversations()]);
    s.queue = Array.isArray(queue.items) ? queue.items : [];
    sortQueue(s.queue);
    s.mine = Array.isArray(mine.items) ? mine.items : [];
    for (const x of s.mine) this._initReply(x);
    s.mine.sort((a, b) => lastActivity(b) - lastActivity(a));
    for (const q of s.queue) this._fillAlertCustomer(q.conversation_id, q.customer);
    for (const x of s.mine) this._fillAlertCustomer(summaryId(x), x.customer);
    if (this.supervisor) await this.loadBoard().catch(() => {});
    if (!s.canned.length) {
      this.api.canned().then((c) => { s.canned = Array.isArray(c.items) ? c.items : []; }).catch(() => {});
    }
    // Conversations I still hold: reload the open one; drop details that left me.
    for (const id of Object.keys(s.details)) {
      const d = s.details[id];
      const held = s.mine.some((x) => summaryId(x) === id);
      if (id === s.selectedId && (held || this.supervisor)) await this.loadConversation(id).catch(() => {});
      else if (!held && !d.readonly) delete s.details[id];
    }
  }

  async loadBoard() {
    const b = await this.api.board();
    this.state.board = b;
    if (Array.isArray(b.alerts)) for (const a of b.alerts) this._addAlert(a, false);
    return b;
  }

  async loadConversation(id) {
    const s = this.state;
    const d = this._detail(id);
    d.loading = true;
    try {
      const detail = await this.api.conversation(id);
      const { messages = [], handoff = null, ...summary } = detail;
      d.summary = summary;
      d.handoff = handoff;
      const merged = [];
      for (const m of messages) mergeMessage(merged, m);
      // Keep anything the live feed delivered meanwhile.
      for (const m of d.messages) mergeMessage(merged, m);
      d.messages = merged;
      for (const m of merged) if (m.client_msg_id) this._confirmOutbox(d, m.client_msg_id);
      const sum = s.mine.find((x) => summaryId(x) === id);
      if (sum) sum.reply = replyState(merged);
      this._fillAlertCustomer(id, summary.customer);
      d.error = '';
      d.gone = false;
      return d;
    } catch (e) {
      d.error = errorText(e);
      if (e instanceof ApiError && (e.status === 404 || e.status === 403)) d.gone = true;
      throw e;
    } finally {
      d.loading = false;
      if (s.details[id] !== d) s.details[id] = d;
    }
  }

  _detail(id) {
    const s = this.state;
    if (!s.details[id]) {
      s.details[id] = { id, summary: null, messages: [], handoff: null, outbox: [], loading: false, error: '', gone: false };
    }
    return s.details[id];
  }

  /** Opens a conversation in the chat panel (any conversation for supervisors: read-only until taken over). */
  async select(id) {
    const s = this.state;
    s.selectedId = id;
    if (!id) return;
    delete s.unread[id];
    await this.loadConversation(id).catch(() => {});
    const d = s.details[id];
    if (d && d.summary && d.summary.customer && d.summary.customer.id) this.loadCustomer(d.summary.customer.id).catch(() => {});
    this.loadSuggestions(id).catch(() => {});
  }

  async loadCustomer(customerId) {
    const panel = await this.api.customer(customerId);
    this.state.customers[customerId] = panel;
    return panel;
  }

  // Knowledge-base and canned suggestions at once; with an LLM configured the
  // drafts follow (slower) and go first in the list when they arrive.
  async loadSuggestions(id) {
    const s = this.state;
    const seq = (this._suggestSeq = (this._suggestSeq || 0) + 1);
    s.suggestions[id] = { items: (s.suggestions[id] && s.suggestions[id].items) || [], loading: true, error: '', drafting: false, draftError: '' };
    let r;
    try {
      r = await this.api.suggestions(id);
      s.suggestions[id] = { items: Array.isArray(r.items) ? r.items : [], loading: false, error: '', drafting: r.llm === 'available', draftError: '' };
    } catch (e) {
      s.suggestions[id] = { items: [], loading: false, error: errorText(e), drafting: false, draftError: '' };
      return;
    }
    if (r.llm !== 'available') return;
    try {
      const d = await this.api.drafts(id);
      if (seq !== this._suggestSeq) return;  // a newer load owns the list
      const drafts = Array.isArray(d.items) ? d.items : [];
      const cur = s.suggestions[id];
      cur.items = [...drafts, ...cur.items.filter((x) => x.source !== 'llm')];
      cur.drafting = false;
    } catch (e) {
      if (seq !== this._suggestSeq) return;
      s.suggestions[id].drafting = false;
      s.suggestions[id].draftError = errorText(e);
    }
  }

  isMine(id) {
    return this.state.mine.some((x) => summaryId(x) === id);
  }

  // ---- actions -------------------------------------------------------------

  async setPresence(presence) {
    try {
      const a = await this.api.setPresence(presence);
      this.state.agent = a.agent || a;
      try { globalThis.sessionStorage.setItem(PRESENCE_KEY, presence); } catch { /* no storage */ }
      return true;
    } catch (e) {
      this._fail(e);
      return false;
    }
  }

  async accept(id) {
    try {
      const summary = await this.api.accept(id);
      this._assigned(summary);
      await this.select(id);
      return true;
    } catch (e) {
      this._fail(e);
      if (e.status === 409 || e.status === 404) this._removeQueued(id);
      return false;
    }
  }

  async takeover(id) {
    try {
      const summary = await this.api.takeover(id);
      this._assigned(summary);
      await this.select(id);
      return true;
    } catch (e) {
      this._fail(e);
      return false;
    }
  }

  /**
   * Sends an agent reply. The entry waits in the conversation's outbox with a
   * client_msg_id until the server returns the stored message (or the feed
   * delivers it); retry() resends with the same id, so a retry after a lost
   * answer does not store the message twice — provided the server dedupes by
   * client_msg_id as docs/agents.md says (src/agents does not yet: see
   * docs/web.md, "Known gaps").
   */
  send(id, text) {
    const t = String(text || '').trim();
    if (!t) return null;
    const d = this._detail(id);
    const entry = { client_msg_id: newClientMsgId(this.env.crypto), text: t, state: 'sending', error: '' };
    d.outbox.push(entry);
    this._post(id, entry.client_msg_id);
    return entry.client_msg_id;
  }

  retry(id, clientMsgId) {
    const d = this.state.details[id];
    const e = d && d.outbox.find((x) => x.client_msg_id === clientMsgId);
    if (!e) return;
    e.state = 'sending';
    e.error = '';
    this._post(id, clientMsgId);
  }

  discard(id, clientMsgId) {
    const d = this.state.details[id];
    if (d) d.outbox = d.outbox.filter((x) => x.client_msg_id !== clientMsgId);
  }

  async _post(id, clientMsgId) {
    const d = this._detail(id);
    const entry = d.outbox.find((x) => x.client_msg_id === clientMsgId);
    if (!entry) return;
    try {
      const r = await this.api.sendMessage(id, entry.text, clientMsgId);
      const m = r.message || r;
      if (m && (m.id != null || m.seq != null)) this._addMessage(id, m);
      this._confirmOutbox(d, clientMsgId);
    } catch (e) {
      const cur = d.outbox.find((x) => x.client_msg_id === clientMsgId);
      if (cur) {
        cur.state = 'failed';
        cur.error = errorText(e);
      }
    }
  }

  _confirmOutbox(d, clientMsgId) {
    const i = d.outbox.findIndex((x) => x.client_msg_id === clientMsgId);
    if (i >= 0) d.outbox.splice(i, 1);
  }

  async addNote(id, text) {
    const t = String(text || '').trim();
    if (!t) return false;
    try {
      const r = await this.api.addNote(id, t);
      const m = r.message || r;
      if (m && (m.id != null || m.seq != null)) this._addMessage(id, m);
      return true;
    } catch (e) {
      this._fail(e);
      return false;
    }
  }

  /** target: {agent_id} or {group}. */
  async transfer(id, target) {
    try {
      const summary = await this.api.transfer(id, target);
      // Transferred to someone else: it leaves my list (the feed says so too).
      const mineStill = summary && summary.conversation && summary.conversation.assigned_agent_id === (this.state.agent && this.state.agent.id);
      if (mineStill) this._assigned(summary);
      else this._unassigned(id, '会话已转接', summary);
      return true;
    } catch (e) {
      this._fail(e);
      return false;
    }
  }

  async close(id) {
    try {
      const summary = await this.api.close(id);
      this._unassigned(id, '会话已结束，客户的新消息将由机器人接待', summary);
      return true;
    } catch (e) {
      this._fail(e);
      return false;
    }
  }

  // ---- live feed -----------------------------------------------------------

  applyFrame(f) {
    const s = this.state;
    switch (f.type) {
      case 'hello': {
        if (f.agent) s.agent = f.agent;
        // The server keeps presence in memory: after its restart the reconnected
        // workspace says again what the agent chose in this tab.
        let want = null;
        try { want = globalThis.sessionStorage.getItem(PRESENCE_KEY); } catch { /* no storage */ }
        if (f.agent && want && f.agent.presence !== want) this.setPresence(want).catch(() => {});
        break;
      }
      case 'queue':
        if (f.item) this._upsertQueued(f.item);
        break;
      case 'queue_removed':
        this._removeQueued(f.conversation_id);
        break;
      case 'assigned':
        if (f.conversation) this._assigned(f.conversation);
        break;
      case 'unassigned':
        this._unassigned(f.conversation_id, '会话已转出或结束');
        break;
      case 'message':
        if (f.message) this._addMessage(f.conversation_id || f.message.conversation_id, f.message);
        break;
      case 'handoff':  // the LLM's summary arrived after the handoff
        if (f.handoff && s.details[f.conversation_id]) s.details[f.conversation_id].handoff = f.handoff;
        break;
      case 'alert':
        if (f.alert) this._addAlert(f.alert, true);
        break;
      case 'board':
        if (f.board) {
          s.board = f.board;
          if (Array.isArray(f.board.alerts)) for (const a of f.board.alerts) this._addAlert(a, false);
        }
        break;
      default:
        break;
    }
  }

  _upsertQueued(item) {
    this._fillAlertCustomer(item.conversation_id, item.customer);
    const q = this.state.queue;
    const i = q.findIndex((x) => x.conversation_id === item.conversation_id);
    if (i >= 0) q.splice(i, 1, item);
    else q.push(item);
    sortQueue(q);
  }

  _removeQueued(id) {
    const q = this.state.queue;
    const i = q.findIndex((x) => x.conversation_id === id);
    if (i >= 0) q.splice(i, 1);
  }

  _assigned(summary) {
    const s = this.state;
    const id = summaryId(summary);
    if (!id) return;
    this._removeQueued(id);
    this._fillAlertCustomer(id, summary.customer);
    const i = s.mine.findIndex((x) => summaryId(x) === id);
    this._initReply(summary, i >= 0 ? s.mine[i] : null);
    if (i >= 0) s.mine.splice(i, 1, summary);
    else s.mine.unshift(summary);
    if (i < 0 && id !== s.selectedId) s.unread[id] = (s.unread[id] || 0) + 1;  // e.g. assigned automatically
    const d = s.details[id];
    if (d) {
      d.summary = { ...(d.summary || {}), ...summary };
      d.readonly = false;
      d.gone = false;
    }
  }

  // `summary` (optional): the conversation as the server answered the action that removed it.
  _unassigned(id, why, summary = null) {
    const s = this.state;
    const i = s.mine.findIndex((x) => summaryId(x) === id);
    if (i >= 0) s.mine.splice(i, 1);
    delete s.unread[id];
    const d = s.details[id];
    if (d) {
      d.readonly = true;
      d.gone = true;
      // The action's own notice wins over the feed's generic one.
      if (!d.error || summary) d.error = why;
      if (summary && summary.conversation) d.summary = { ...(d.summary || {}), ...summary };
    }
  }

  _addMessage(conversationId, m) {
    const s = this.state;
    const id = conversationId || m.conversation_id;
    if (!id) return;
    const d = s.details[id];
    if (d) {
      mergeMessage(d.messages, m);
      if (m.client_msg_id) this._confirmOutbox(d, m.client_msg_id);
      const emo = m.role === 'customer' ? emotionOfMessage(m) : null;
      if (emo && d.summary) d.summary.emotion = { ...(d.summary.emotion || {}), ...emo };
    }
    if (m.role === 'note') return;
    const sum = s.mine.find((x) => summaryId(x) === id);
    if (sum) {
      if (m.role === 'customer' && id !== s.selectedId) s.unread[id] = (s.unread[id] || 0) + 1;
      sum.last_message = m;
      sum.reply = nextReplyState(replyOf(sum), m);
      const emo = m.role === 'customer' ? emotionOfMessage(m) : null;
      if (emo) sum.emotion = { ...(sum.emotion || {}), ...emo };
      s.mine.sort((a, b) => lastActivity(b) - lastActivity(a));
    }
    if (m.role === 'customer' && id === s.selectedId) this.loadSuggestions(id).catch(() => {});
  }

  // The reply state of a summary from the server: from the loaded messages when
  // the detail is open, else from its last_message; a summary replacing one I
  // already track keeps the tracked state unless its last message says more.
  _initReply(summary, prev = null) {
    const id = summaryId(summary);
    const d = this.state.details[id];
    if (d && d.messages.length) summary.reply = replyState(d.messages);
    else if (prev && prev.reply) summary.reply = summary.last_message ? nextReplyState(prev.reply, summary.last_message) : prev.reply;
    else summary.reply = replyState(summary.last_message ? [summary.last_message] : []);
  }

  /** The customer {id, name} of a conversation as far as the workspace knows it, or null. */
  customerOf(conversationId) {
    const s = this.state;
    const pick = (c) => (c && (c.name || c.id) ? c : null);
    const q = s.queue.find((x) => x.conversation_id === conversationId);
    if (q && pick(q.customer)) return q.customer;
    const m = s.mine.find((x) => summaryId(x) === conversationId);
    if (m && pick(m.customer)) return m.customer;
    const d = s.details[conversationId];
    if (d && d.summary && pick(d.summary.customer)) return d.summary.customer;
    if (d && d.summary && d.summary.conversation && d.summary.conversation.customer_id) return { id: d.summary.conversation.customer_id };
    return null;
  }

  // Alerts carry only the conversation id (docs/agents.md, Alert): the workspace
  // names the customer from what it knows (queue item, my list, open details).
  _fillAlertCustomer(conversationId, customer) {
    if (!conversationId || !customer || !(customer.name || customer.id)) return;
    for (const a of this.state.alerts) {
      if (a.conversation_id === conversationId && !(a.customer && a.customer.name)) a.customer = { id: customer.id, name: customer.name };
    }
  }

  // Nothing known yet: ask the server once (supervisors may read any conversation in human service).
  _lookupAlertCustomer(conversationId) {
    this._alertLookups = this._alertLookups || new Set();
    if (!conversationId || this._alertLookups.has(conversationId) || typeof this.api.conversation !== 'function') return;
    this._alertLookups.add(conversationId);
    Promise.resolve()
      .then(() => this.api.conversation(conversationId))
      .then((detail) => {
        const c = (detail && detail.customer) || (detail && detail.conversation && { id: detail.conversation.customer_id });
        this._fillAlertCustomer(conversationId, c);
      })
      .catch(() => { this._alertLookups.delete(conversationId); });  // e.g. not queued yet: the queue frame names it
  }

  _addAlert(alert, live) {
    const list = this.state.alerts;
    if (alert.id != null && list.some((a) => a.id === alert.id)) return;
    const known = alert.customer && (alert.customer.name || alert.customer.id) ? alert.customer : this.customerOf(alert.conversation_id);
    list.unshift({ ...alert, customer: known ? { id: known.id, name: known.name } : null, live });
    if (!known || !known.name) this._lookupAlertCustomer(alert.conversation_id);
    list.sort((a, b) => (b.created_ms || 0) - (a.created_ms || 0));
    if (list.length > MAX_ALERTS) list.splice(MAX_ALERTS);
  }
}
