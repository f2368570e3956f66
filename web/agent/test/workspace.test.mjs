// Unit tests of the workspace state (src/workspace.js) against an in-memory API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../src/api.js';
import { Workspace, initialState, mergeMessage } from '../src/workspace.js';

let uuid = 0;
const env = { crypto: { randomUUID: () => `u${++uuid}` }, now: () => 1000 };

function fakeApi(overrides = {}) {
  const calls = [];
  const base = {
    me: async () => ({ id: 'a1', username: 'agent1', name: '小王', role: 'agent', presence: 'online' }),
    queue: async () => ({ items: [] }),
    conversations: async () => ({ items: [] }),
    canned: async () => ({ items: [] }),
    board: async () => ({ queues: [], agents: [], alerts: [] }),
    conversation: async (id) => ({ conversation: { id, status: 'human' }, customer: { id: 'C1' }, messages: [], handoff: null }),
    suggestions: async () => ({ items: [] }),
    customer: async (id) => ({ customer: { id }, orders: [], conversations: [] }),
  };
  const api = {};
  for (const [k, f] of Object.entries({ ...base, ...overrides })) {
    api[k] = async (...args) => { calls.push([k, ...args]); return f(...args); };
  }
  return { api, calls };
}

const summary = (id, extra = {}) => ({ conversation: { id, status: 'human', assigned_agent_id: 'a1' }, customer: { id: 'C1', name: '张三' }, ...extra });
const msg = (id, seq, role, text, extra = {}) => ({ id, seq, role, text, conversation_id: 'c1', created_ms: seq, ...extra });

test('queue frames keep priority order, oldest first within a priority; queue_removed drops the item', () => {
  const state = initialState();
  const w = new Workspace({ state, api: fakeApi().api, env });
  w.applyFrame({ type: 'queue', item: { conversation_id: 'a', priority: 0, waiting_since_ms: 10 } });
  w.applyFrame({ type: 'queue', item: { conversation_id: 'b', priority: 1, waiting_since_ms: 30 } });
  w.applyFrame({ type: 'queue', item: { conversation_id: 'c', priority: 0, waiting_since_ms: 5 } });
  assert.deepEqual(state.queue.map((q) => q.conversation_id), ['b', 'c', 'a']);
  w.applyFrame({ type: 'queue', item: { conversation_id: 'a', priority: 2, waiting_since_ms: 10 } });
  assert.deepEqual(state.queue.map((q) => q.conversation_id), ['a', 'b', 'c'], 'an update replaces, not duplicates');
  w.applyFrame({ type: 'queue_removed', conversation_id: 'b' });
  assert.deepEqual(state.queue.map((q) => q.conversation_id), ['a', 'c']);
});

test('assigned moves a conversation from the queue to mine; unassigned removes it and marks the open detail', async () => {
  const state = initialState();
  const w = new Workspace({ state, api: fakeApi().api, env });
  w.applyFrame({ type: 'queue', item: { conversation_id: 'c1', priority: 0 } });
  w.applyFrame({ type: 'assigned', conversation: summary('c1') });
  assert.equal(state.queue.length, 0);
  assert.equal(state.mine.length, 1);
  await w.select('c1');
  w.applyFrame({ type: 'unassigned', conversation_id: 'c1' });
  assert.equal(state.mine.length, 0);
  assert.equal(state.details.c1.gone, true);
});

test('message frames are merged once by id, in seq order, and update the emotion of the summary', async () => {
  const state = initialState();
  const w = new Workspace({ state, api: fakeApi({ conversation: async () => ({ ...summary('c1'), messages: [msg(1, 1, 'customer', '你好')] }) }).api, env });
  w.applyFrame({ type: 'assigned', conversation: summary('c1') });
  await w.select('c1');
  const angry = msg(3, 3, 'customer', '太差劲了', { meta: { analysis: { emotion: 'anger', emotion_intensity: 0.9 } } });
  w.applyFrame({ type: 'message', conversation_id: 'c1', message: angry });
  w.applyFrame({ type: 'message', conversation_id: 'c1', message: msg(2, 2, 'bot', '您好') });
  w.applyFrame({ type: 'message', conversation_id: 'c1', message: angry });
  assert.deepEqual(state.details.c1.messages.map((m) => m.seq), [1, 2, 3]);
  assert.deepEqual(state.mine[0].emotion, { label: 'anger', intensity: 0.9 });
  w.applyFrame({ type: 'message', conversation_id: 'c1', message: msg(4, 4, 'note', '内部') });
  assert.equal(state.mine[0].last_message.seq, 3, 'notes do not become the last message');
});

test('a failed send keeps the entry with its client_msg_id; retry resends the same id and the echo confirms it once', async () => {
  const state = initialState();
  let fail = true;
  const sent = [];
  const { api } = fakeApi({
    sendMessage: async (id, text, cmid) => {
      sent.push(cmid);
      if (fail) throw new ApiError(0, 'network', 'offline');
      return msg(10, 5, 'agent', text, { client_msg_id: cmid });
    },
  });
  const w = new Workspace({ state, api, env });
  w.applyFrame({ type: 'assigned', conversation: summary('c1') });
  await w.select('c1');
  const cmid = w.send('c1', '您好，我来处理');
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(state.details.c1.outbox[0].state, 'failed');
  fail = false;
  w.retry('c1', cmid);
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(sent, [cmid, cmid], 'the retry reuses the client_msg_id');
  assert.equal(state.details.c1.outbox.length, 0);
  // The same message arriving over the feed as well is not shown twice.
  w.applyFrame({ type: 'message', conversation_id: 'c1', message: msg(10, 5, 'agent', '您好，我来处理', { client_msg_id: cmid }) });
  assert.equal(state.details.c1.messages.filter((m) => m.role === 'agent').length, 1);
});

test('a losing accept (409) drops the item from the queue and shows why', async () => {
  const state = initialState();
  const { api } = fakeApi({ accept: async () => { throw new ApiError(409, 'already_assigned', 'taken'); } });
  const w = new Workspace({ state, api, env });
  w.applyFrame({ type: 'queue', item: { conversation_id: 'c9', priority: 0 } });
  assert.equal(await w.accept('c9'), false);
  assert.equal(state.queue.length, 0);
  assert.match(state.banner, /已被其他客服接入/);
});

test('refresh re-reads queue, mine and (for supervisors) the board; alerts are deduped by id', async () => {
  const state = initialState();
  const { api, calls } = fakeApi({
    me: async () => ({ id: 's1', role: 'supervisor' }),
    queue: async () => ({ items: [{ conversation_id: 'q1', priority: 0 }] }),
    conversations: async () => ({ items: [summary('c1')] }),
    board: async () => ({ queues: [{ name: 'complaints', waiting: 1 }], agents: [], alerts: [{ id: 7, kind: 'anger_spike', created_ms: 5 }] }),
  });
  const w = new Workspace({ state, api, env });
  await w.refresh();
  assert.equal(state.queue.length, 1);
  assert.equal(state.mine.length, 1);
  assert.ok(calls.some((c) => c[0] === 'board'));
  w.applyFrame({ type: 'alert', alert: { id: 7, kind: 'anger_spike', created_ms: 5 } });
  w.applyFrame({ type: 'alert', alert: { id: 8, kind: 'long_wait', created_ms: 9 } });
  assert.deepEqual(state.alerts.map((a) => a.id), [8, 7]);
});

test('mergeMessage orders by seq and replaces a message seen again', () => {
  const list = [];
  mergeMessage(list, msg(2, 2, 'bot', 'b'));
  mergeMessage(list, msg(1, 1, 'customer', 'a'));
  mergeMessage(list, msg(2, 2, 'bot', 'b2'));
  assert.deepEqual(list.map((m) => [m.seq, m.text]), [[1, 'a'], [2, 'b2']]);
  // Notes have seq 0 and sit among the others by time.
  mergeMessage(list, { id: 'n1', seq: 0, role: 'note', text: 'n', created_ms: 1.5 });
  mergeMessage(list, msg(3, 3, 'customer', 'c'));
  assert.deepEqual(list.map((m) => m.text), ['a', 'n', 'b2', 'c']);
});

function memoryStorage() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k) };
}

test('after a server restart (hello says offline) the workspace sets the presence chosen in this tab again', async () => {
  const saved = globalThis.sessionStorage;
  globalThis.sessionStorage = memoryStorage();
  try {
    const state = initialState();
    const { api, calls } = fakeApi({ setPresence: async (p) => ({ id: 'a1', presence: p }) });
    const w = new Workspace({ state, api, env });
    w.applyFrame({ type: 'hello', agent: { id: 'a1', presence: 'offline' } });
    assert.equal(calls.filter((c) => c[0] === 'setPresence').length, 0, 'nothing chosen yet: nothing re-asserted');
    assert.equal(await w.setPresence('online'), true);
    w.applyFrame({ type: 'hello', agent: { id: 'a1', presence: 'online' } });
    assert.equal(calls.filter((c) => c[0] === 'setPresence').length, 1, 'server agrees: no call');
    w.applyFrame({ type: 'hello', agent: { id: 'a1', presence: 'offline' } });
    await new Promise((r) => setTimeout(r, 0));
    assert.deepEqual(calls.filter((c) => c[0] === 'setPresence').at(-1), ['setPresence', 'online']);
    assert.equal(state.agent.presence, 'online');
  } finally {
    globalThis.sessionStorage = saved;
  }
});

test('LLM drafts go on top of the KB suggestions when the server offers them; a failure is shown, KB items stay', async () => {
  const state = initialState();
  const kb = { text: '退款 1-3 个工作日到账', source: 'kb', score: 0.8 };
  let fail = false;
  const { api } = fakeApi({
    suggestions: async () => ({ items: [kb], llm: 'available' }),
    drafts: async () => {
      if (fail) throw new ApiError(503, 'unavailable', 'llm down');
      return { items: [{ text: '您好，我来帮您查退款进度。', source: 'llm' }], cached: false };
    },
  });
  const w = new Workspace({ state, api, env });
  await w.loadSuggestions('c1');
  assert.deepEqual(state.suggestions.c1.items.map((x) => x.source), ['llm', 'kb']);
  assert.equal(state.suggestions.c1.drafting, false);
  fail = true;
  await w.loadSuggestions('c1');
  assert.deepEqual(state.suggestions.c1.items.map((x) => x.source), ['kb']);
  assert.ok(state.suggestions.c1.draftError.length > 0);
  // Without an LLM no drafts are asked for.
  const off = fakeApi({ suggestions: async () => ({ items: [kb], llm: 'off' }) });
  const w2 = new Workspace({ state: initialState(), api: off.api, env });
  await w2.loadSuggestions('c1');
  assert.equal(off.calls.filter((c) => c[0] === 'drafts').length, 0);
});

test('a handoff frame replaces the open detail\'s handoff (the LLM summary arrived)', async () => {
  const state = initialState();
  const w = new Workspace({ state, api: fakeApi().api, env });
  await w.select('c1');
  w.applyFrame({ type: 'handoff', conversation_id: 'c1', handoff: { summary: 'x', generated_summary: 'AI', summary_source: 'llm' } });
  assert.equal(state.details.c1.handoff.generated_summary, 'AI');
  w.applyFrame({ type: 'handoff', conversation_id: 'other', handoff: {} });  // not open: ignored
  assert.equal(state.details.other, undefined);
});

test('unread: a new assignment and customer messages count until the conversation is opened', async () => {
  const state = initialState();
  const w = new Workspace({ state, api: fakeApi().api, env });
  w.applyFrame({ type: 'assigned', conversation: summary('c1') });
  assert.equal(state.unread.c1, 1, 'assigned automatically while looking elsewhere');
  w.applyFrame({ type: 'message', conversation_id: 'c1', message: msg(5, 5, 'customer', '在吗') });
  w.applyFrame({ type: 'message', conversation_id: 'c1', message: msg(6, 6, 'agent', '我来处理') });
  assert.equal(state.unread.c1, 2, 'customer messages count, the agent\'s own do not');
  await w.select('c1');
  assert.equal(state.unread.c1, undefined);
  w.applyFrame({ type: 'message', conversation_id: 'c1', message: msg(7, 7, 'customer', '好的') });
  assert.equal(state.unread.c1, undefined, 'the open conversation is being read');
  w.applyFrame({ type: 'assigned', conversation: summary('c2') });
  w.applyFrame({ type: 'unassigned', conversation_id: 'c2' });
  assert.equal(state.unread.c2, undefined, 'gone: nothing left to read');
});

test('replyState: 待回复 until the agent\'s own reply is the latest turn; bot answers, notices and notes are no reply', async () => {
  const { replyState, nextReplyState } = await import('../src/workspace.js');
  assert.deepEqual(replyState([]), { state: 'pending', since_ms: 0 }, 'just assigned: nothing answered yet');
  const c1 = msg(1, 1, 'customer', '你们就是骗子 退钱！！！', { created_ms: 100 });
  const sys = msg(2, 2, 'system', '客服 小王 为您服务', { created_ms: 150 });
  assert.deepEqual(replyState([c1, sys]), { state: 'pending', since_ms: 100 }, 'the assignment notice is no reply');
  assert.deepEqual(replyState([msg(3, 3, 'bot', '您好', { created_ms: 90 })]), { state: 'pending', since_ms: 0 });
  const a = msg(4, 4, 'agent', '非常抱歉', { created_ms: 200 });
  assert.equal(replyState([c1, sys, a]).state, 'replied');
  assert.equal(replyState([c1, sys, a, { ...msg(5, 0, 'note', '内部'), created_ms: 210 }]).state, 'replied', 'a note changes nothing');
  const c2 = msg(6, 6, 'customer', '快点', { created_ms: 300 });
  const c3 = msg(7, 7, 'customer', '人呢', { created_ms: 400 });
  assert.deepEqual(replyState([c1, a, c2, c3]), { state: 'pending', since_ms: 300 }, 'waiting since the first unanswered message');
  // Live: the same, one message at a time.
  let r = nextReplyState(null, sys);
  assert.equal(r.state, 'pending');
  r = nextReplyState(r, c2);
  assert.deepEqual(r, { state: 'pending', since_ms: 300 });
  r = nextReplyState(r, c3);
  assert.deepEqual(r, { state: 'pending', since_ms: 300 });
  r = nextReplyState(r, a);
  assert.equal(r.state, 'replied');
  assert.equal(nextReplyState(r, msg(8, 8, 'system', '通知')).state, 'replied');
});

test('an automatically assigned conversation shows 待回复 through the assignment notice, 已回复 after the agent replies', async () => {
  const { replyOf } = await import('../src/workspace.js');
  const state = initialState();
  const { api } = fakeApi({ sendMessage: async (id, text, cmid) => msg(20, 5, 'agent', text, { client_msg_id: cmid, created_ms: 500 }) });
  const w = new Workspace({ state, api, env });
  // Assigned by the server (no accept): the summary's last message is the customer's angry turn.
  w.applyFrame({ type: 'assigned', conversation: summary('c1', { last_message: msg(1, 1, 'customer', '你们就是骗子 退钱！！！', { created_ms: 100 }) }) });
  assert.deepEqual(replyOf(state.mine[0]), { state: 'pending', since_ms: 100 });
  // The "客服 小王 为您服务" notice arrives on the feed: still 待回复.
  w.applyFrame({ type: 'message', conversation_id: 'c1', message: msg(2, 2, 'system', '客服 小王 为您服务', { created_ms: 150 }) });
  assert.equal(replyOf(state.mine[0]).state, 'pending');
  assert.equal(replyOf(state.mine[0]).since_ms, 100);
  // An assignment whose summary ends with the notice (no customer message known) is 待回复 too.
  w.applyFrame({ type: 'assigned', conversation: summary('c2', { last_message: msg(3, 2, 'system', '正在为您转接人工客服', { created_ms: 120 }) }) });
  assert.equal(replyOf(state.mine.find((s) => s.conversation.id === 'c2')).state, 'pending');
  await w.select('c1');
  w.send('c1', '非常抱歉，我来处理');
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(replyOf(state.mine.find((s) => s.conversation.id === 'c1')).state, 'replied');
  w.applyFrame({ type: 'message', conversation_id: 'c1', message: msg(21, 6, 'customer', '好的', { created_ms: 600 }) });
  assert.deepEqual(replyOf(state.mine.find((s) => s.conversation.id === 'c1')), { state: 'pending', since_ms: 600 });
});

test('alerts name the customer: from the queue item, or looked up when the alert comes first', async () => {
  const state = initialState();
  const { api, calls } = fakeApi({
    me: async () => ({ id: 's1', role: 'supervisor' }),
    conversation: async (id) => ({ conversation: { id, status: 'queued' }, customer: { id: 'C0009', name: '李雷' }, messages: [] }),
  });
  const w = new Workspace({ state, api, env });
  state.agent = { id: 's1', role: 'supervisor' };
  w.applyFrame({ type: 'queue', item: { conversation_id: 'q1', priority: 2, customer: { id: 'C0001', name: '张伟' } } });
  w.applyFrame({ type: 'alert', alert: { id: 'al_1', kind: 'anger_spike', conversation_id: 'q1', text: '愤怒客户', created_ms: 5 } });
  assert.deepEqual(state.alerts[0].customer, { id: 'C0001', name: '张伟' });
  // An alert before its queue item: asked once, and the queue frame would name it as well.
  w.applyFrame({ type: 'alert', alert: { id: 'al_2', kind: 'anger_spike', conversation_id: 'q2', text: '愤怒客户', created_ms: 6 } });
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(state.alerts.find((a) => a.id === 'al_2').customer.name, '李雷');
  assert.equal(calls.filter((c) => c[0] === 'conversation' && c[1] === 'q2').length, 1);
  w.applyFrame({ type: 'alert', alert: { id: 'al_3', kind: 'long_wait', conversation_id: 'q3', created_ms: 7 } });
  w.applyFrame({ type: 'queue', item: { conversation_id: 'q3', customer: { id: 'C0003' } } });
  assert.equal(state.alerts.find((a) => a.id === 'al_3').customer.id, 'C0003');
});
