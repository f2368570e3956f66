// Unit tests for the widget's reliability protocol (src/chat-client.js) against
// an in-memory fake server: outbox, resend with the same client_msg_id,
// dedupe by seq, delta streaming, reload, SSE fallback. Run: npm test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatClient, Status, backoffDelay, conversationStorageKey } from '../src/chat-client.js';

class MemoryStorage {
  constructor() { this.m = new Map(); }
  getItem(k) { return this.m.has(k) ? this.m.get(k) : null; }
  setItem(k, v) { this.m.set(k, String(v)); }
  removeItem(k) { this.m.delete(k); }
}

// Manual clock and timer queue: tests advance time explicitly.
class Timers {
  constructor() { this.now = 1_700_000_000_000; this.q = []; this.nextId = 1; }
  setTimeout = (fn, ms) => { const id = this.nextId++; this.q.push({ id, at: this.now + ms, fn }); return id; };
  clearTimeout = (id) => { this.q = this.q.filter((t) => t.id !== id); };
  advance(ms) {
    const end = this.now + ms;
    for (;;) {
      this.q.sort((a, b) => a.at - b.at);
      const t = this.q[0];
      if (!t || t.at > end) break;
      this.q.shift();
      this.now = t.at;
      t.fn();
    }
    this.now = end;
  }
}

// A fake kefu server: stores messages, dedupes by client_msg_id, replays after_seq.
class FakeServer {
  constructor() {
    this.convs = new Map();
    this.sockets = [];
    this.nextConv = 1;
    this.received = [];  // every client→server message frame, including duplicates
    this.autoOpen = true;
    this.refuse = false;
  }
  conv(id) { return this.convs.get(id); }
  store(id, role, text, extra = {}) {
    const c = this.conv(id);
    const m = { id: c.msgs.length + 1, conversation_id: id, seq: c.msgs.length + 1, role, text,
      client_msg_id: null, reply_to: null, created_ms: 0, meta: {}, ...extra };
    c.msgs.push(m);
    return m;
  }
  fetch = async (url, init) => {
    const u = new URL(url, 'http://kefu.test');
    const json = (status, body) => ({ ok: status < 400, status, text: async () => JSON.stringify(body) });
    if (init.method === 'GET' && u.pathname === '/v1/me/inbox') {
      this.inboxAsked = { token: init.headers['X-Kefu-Customer-Token'], unread: u.searchParams.get('unread') };
      if (init.headers['X-Kefu-Customer-Token'] !== 'tok.sig') return json(401, { error: { code: 'unauthenticated' } });
      return json(200, { messages: [{ id: 7, kind: 'remedy', title: '72小时内上门维修', body: '师傅将联系您', created_ms: 5 }], next_cursor: null });
    }
    if (init.method === 'POST' && u.pathname === '/v1/conversations') {
      const id = `c_${this.nextConv++}`;
      const body = JSON.parse(init.body);
      this.created = [...(this.created || []), body];
      this.convs.set(id, { id, status: 'open', customer_id: body.customer_id, msgs: [], ids: new Map() });
      return json(201, { id, status: 'open', customer_id: body.customer_id });
    }
    let m = u.pathname.match(/^\/v1\/conversations\/([^/]+)$/);
    if (m) {
      const c = this.conv(m[1]);
      return c ? json(200, { id: c.id, status: c.status }) : json(404, { error: { code: 'not_found' } });
    }
    m = u.pathname.match(/^\/v1\/conversations\/([^/]+)\/messages$/);
    if (m && init.method === 'GET') {
      const after = Number(u.searchParams.get('after_seq') || 0);
      const limit = Number(u.searchParams.get('limit') || 100);
      return json(200, { messages: this.conv(m[1]).msgs.filter((x) => x.seq > after).slice(0, limit) });
    }
    if (m && init.method === 'POST') {
      const body = JSON.parse(init.body);
      this.received.push(body);
      const { message, duplicate } = this.accept(m[1], body);
      return json(duplicate ? 200 : 202, { message, duplicate });
    }
    return json(404, { error: { code: 'not_found' } });
  };
  accept(convId, body) {
    const c = this.conv(convId);
    if (c.ids.has(body.client_msg_id)) return { message: c.ids.get(body.client_msg_id), duplicate: true };
    const msg = this.store(convId, 'customer', body.text, { client_msg_id: body.client_msg_id });
    c.ids.set(body.client_msg_id, msg);
    return { message: msg, duplicate: false };
  }
  get WebSocket() {
    const server = this;
    return class FakeWebSocket {
      constructor(url) {
        this.url = url;
        this.readyState = 0;
        this.sent = [];
        server.sockets.push(this);
        const u = new URL(url.replace(/^ws/, 'http'));
        this.convId = u.pathname.split('/')[3];
        this.afterSeq = Number(u.searchParams.get('after_seq'));
        if (server.autoOpen) queueMicrotask(() => this.serverOpen());
      }
      serverOpen() {
        if (this.readyState !== 0) return;
        if (server.refuse) { this.serverClose(); return; }
        this.readyState = 1;
        this.onopen && this.onopen();
        for (const m of server.conv(this.convId).msgs.filter((x) => x.seq > this.afterSeq)) {
          this.push({ type: 'message', message: m });
        }
      }
      push(frame) { if (this.readyState === 1) this.onmessage && this.onmessage({ data: JSON.stringify(frame) }); }
      send(data) {
        const f = JSON.parse(data);
        this.sent.push(f);
        if (f.type !== 'message') return;
        server.received.push(f);
        const { message, duplicate } = server.accept(this.convId, f);
        if (this.holdAcks) return;
        // Acks travel back asynchronously; a socket closed meanwhile loses them.
        queueMicrotask(() => this.push({ type: 'ack', client_msg_id: f.client_msg_id, message, duplicate }));
      }
      close() { this.readyState = 3; }
      serverClose() { this.readyState = 3; this.onclose && this.onclose({}); }
    };
  }
}

function setup({ storage = new MemoryStorage(), server = new FakeServer(), timers = new Timers(), transport } = {}) {
  let n = 0;
  const state = {};
  const client = new ChatClient({
    widgetKey: 'demo', customerId: 'C0001', apiBase: 'http://kefu.test', transport, state,
    env: {
      fetch: server.fetch, WebSocket: server.WebSocket, EventSource: server.EventSource, storage,
      setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout, now: () => timers.now,
      random: () => 0.5, crypto: { randomUUID: () => `uuid-${++n}-${Math.random()}` },
    },
  });
  return { client, state, server, storage, timers };
}

const flush = () => new Promise((r) => setTimeout(r, 0));
const texts = (state) => state.messages.map((m) => `${m.seq}:${m.role}:${m.text}`);

test('backoff grows exponentially, stays within [d/2, d] and caps', () => {
  assert.equal(backoffDelay(0, () => 0), 250);
  assert.equal(backoffDelay(0, () => 1), 500);
  assert.equal(backoffDelay(3, () => 1), 4000);
  assert.equal(backoffDelay(50, () => 1), 15000);
  assert.ok(backoffDelay(50, () => 0) >= 7500);
});

test('send is queued in the outbox until acked, then appears once', async () => {
  const { client, state, server, storage } = setup();
  await client.start();
  await flush();
  assert.equal(state.status, Status.CONNECTED);
  assert.equal(storage.getItem(conversationStorageKey('demo', 'C0001')), 'c_1');
  const ws = server.sockets[0];
  assert.equal(ws.url, 'ws://kefu.test/v1/conversations/c_1/ws?after_seq=0&widget_key=demo', 'key in the query: no headers on WebSockets');
  ws.holdAcks = true;
  const e = client.send('我的订单到哪了');
  await flush();
  assert.equal(state.outbox.length, 1);
  assert.ok(storage.getItem('kefu:outbox:c_1'), 'outbox persisted before the ack');
  ws.holdAcks = false;
  const stored = server.conv('c_1').ids.get(e.client_msg_id);
  ws.push({ type: 'ack', client_msg_id: e.client_msg_id, message: stored, duplicate: false });
  assert.equal(state.outbox.length, 0);
  assert.equal(storage.getItem('kefu:outbox:c_1'), null);
  assert.deepEqual(texts(state), ['1:customer:我的订单到哪了']);
  assert.ok(state.awaiting, 'waiting for the reply shows the typing indicator');
  ws.push({ type: 'message', message: server.store('c_1', 'bot', '您的订单已发货', { reply_to: 1 }) });
  assert.equal(state.awaiting, null);
  ws.push({ type: 'message', message: server.conv('c_1').msgs[1] });  // duplicate frame
  assert.deepEqual(texts(state), ['1:customer:我的订单到哪了', '2:bot:您的订单已发货']);
});

test('connection lost before the ack: resend with the same client_msg_id, stored and shown once', async () => {
  const { client, state, server, timers } = setup();
  await client.start();
  await flush();
  server.store('c_1', 'bot', '您好');
  server.sockets[0].push({ type: 'message', message: server.conv('c_1').msgs[0] });
  client.debug.dropAfterNextSend();
  client.send('在吗');
  assert.equal(state.status, Status.RECONNECTING);
  assert.equal(state.outbox.length, 1, 'still unacked');
  timers.advance(1000);
  await flush();
  assert.equal(server.sockets.length, 2);
  assert.equal(server.sockets[1].afterSeq, 1, 'reconnects after the highest seq seen');
  assert.equal(state.status, Status.CONNECTED);
  const ids = server.received.map((f) => f.client_msg_id);
  assert.equal(ids.length, 2);
  assert.equal(ids[0], ids[1], 'resent with the original client_msg_id');
  assert.equal(server.conv('c_1').msgs.length, 2, 'server stored it once');
  assert.deepEqual(texts(state), ['1:bot:您好', '2:customer:在吗']);
  assert.equal(state.outbox.length, 0);
});

test('messages sent while disconnected are delivered after reconnect', async () => {
  const { client, state, server, timers } = setup();
  await client.start();
  await flush();
  client.debug.pause();
  assert.equal(state.status, Status.RECONNECTING);
  client.send('第一条');
  client.send('第二条');
  timers.advance(60000);
  assert.equal(server.sockets.length, 1, 'paused: no reconnect');
  client.debug.resume();
  await flush();
  assert.deepEqual(texts(state), ['1:customer:第一条', '2:customer:第二条']);
  assert.equal(server.received.length, 2);
});

test('backoff keeps retrying while the server refuses, then recovers', async () => {
  const { client, state, server, timers } = setup({ transport: 'ws' });
  await client.start();
  await flush();
  server.refuse = true;
  server.sockets[0].serverClose();
  for (let i = 0; i < 5; i++) {
    timers.advance(20000);
    await flush();
    await flush();
  }
  assert.ok(server.sockets.length >= 5, `retried ${server.sockets.length} times`);
  assert.equal(state.status, Status.RECONNECTING);
  server.refuse = false;
  client.send('恢复了吗');
  timers.advance(20000);
  await flush();
  await flush();
  assert.equal(state.status, Status.CONNECTED);
  assert.deepEqual(texts(state), ['1:customer:恢复了吗']);
});

test('delta frames stream into a pending bubble that the final message replaces', async () => {
  const { client, state, server } = setup();
  await client.start();
  await flush();
  const ws = server.sockets[0];
  client.send('退货政策');
  await flush();
  ws.push({ type: 'delta', reply_to: 1, text: '支持' });
  ws.push({ type: 'delta', reply_to: 1, text: '七天无理由' });
  assert.equal(state.streams[1].text, '支持七天无理由');
  ws.push({ type: 'message', message: server.store('c_1', 'bot', '支持七天无理由退货。', { reply_to: 1 }) });
  assert.equal(state.streams[1], undefined);
  ws.push({ type: 'delta', reply_to: 1, text: '迟到的' });
  assert.equal(state.streams[1], undefined, 'late deltas after the final message are ignored');
  assert.deepEqual(texts(state), ['1:customer:退货政策', '2:bot:支持七天无理由退货。']);
});

test('inbox frames become notices, not chat messages, once per id', async () => {
  const { client, state, server } = setup();
  await client.start();
  await flush();
  const ws = server.sockets[0];
  const m = { id: 7, kind: 'remedy', title: '补偿券已发放', body: '10 元券', created_ms: 5 };
  ws.push({ type: 'inbox', message: m });
  ws.push({ type: 'inbox', message: m });
  ws.push({ type: 'inbox', message: { id: 8 } });  // malformed: ignored
  assert.deepEqual(state.inbox.map((x) => `${x.id}:${x.title}`), ['7:补偿券已发放']);
  assert.deepEqual(texts(state), []);
});

test('a reload resumes the conversation, its history and the unacked outbox', async () => {
  const storage = new MemoryStorage();
  const server = new FakeServer();
  const a = setup({ storage, server });
  await a.client.start();
  await flush();
  a.client.send('你好');
  await flush();
  server.store('c_1', 'bot', '您好，请问有什么可以帮您？', { reply_to: 1 });
  a.client.debug.pause();  // offline: the next message cannot leave the browser
  a.client.send('还没确认的消息');
  a.client.stop();

  assert.equal(JSON.parse(storage.getItem('kefu:outbox:c_1')).length, 1, 'unacked entry persisted');
  assert.equal(server.conv('c_1').msgs.length, 2);

  const b = setup({ storage, server });
  await b.client.start();
  assert.equal(b.state.conversation.id, 'c_1');
  await flush();
  assert.deepEqual(texts(b.state), ['1:customer:你好', '2:bot:您好，请问有什么可以帮您？', '3:customer:还没确认的消息']);
  assert.equal(b.state.outbox.length, 0);
  assert.equal(server.conv('c_1').msgs.length, 3);
});

test('a closed conversation is replaced by a new one', async () => {
  const storage = new MemoryStorage();
  const server = new FakeServer();
  const a = setup({ storage, server });
  await a.client.start();
  a.client.stop();
  server.conv('c_1').status = 'closed';
  const b = setup({ storage, server });
  await b.client.start();
  assert.equal(b.state.conversation.id, 'c_2');
  assert.equal(storage.getItem(conversationStorageKey('demo', 'C0001')), 'c_2');
});

test('falls back to SSE + POST when WebSockets never open', async () => {
  const server = new FakeServer();
  server.autoOpen = false;  // a proxy that swallows WebSocket upgrades
  const sources = [];
  server.EventSource = class {
    constructor(url) {
      this.url = url;
      this.listeners = {};
      sources.push(this);
      queueMicrotask(() => this.onopen && this.onopen());
    }
    addEventListener(t, fn) { this.listeners[t] = fn; }
    emit(t, data) { this.listeners[t]({ data: JSON.stringify(data) }); }
    close() {}
  };
  const { client, state, timers } = setup({ server });
  await client.start();
  client.send('人工客服');
  for (let i = 0; i < 2; i++) {
    server.sockets[server.sockets.length - 1].serverClose();
    timers.advance(20000);
    await flush();
  }
  assert.equal(client.debug.transport(), 'sse');
  assert.equal(sources.length, 1);
  assert.match(sources[0].url, /^http:\/\/kefu\.test\/v1\/conversations\/c_1\/events\?after_seq=0&widget_key=demo$/);
  await flush();
  await flush();
  assert.equal(state.status, Status.CONNECTED);
  assert.deepEqual(texts(state), ['1:customer:人工客服']);
  assert.equal(state.outbox.length, 0);
  sources[0].emit('delta', { reply_to: 1, text: '正在为您' });
  assert.equal(state.streams[1].text, '正在为您');
  sources[0].emit('message', server.store('c_1', 'bot', '正在为您转接人工客服', { reply_to: 1 }));
  assert.deepEqual(texts(state), ['1:customer:人工客服', '2:bot:正在为您转接人工客服']);
  sources[0].emit('inbox', { id: 3, kind: 'notice', title: '工单已更新', body: 'b', created_ms: 1 });
  assert.deepEqual(state.inbox.map((x) => x.title), ['工单已更新']);
});

test('a rejected message is marked failed and can be retried with the same id', async () => {
  const { client, state, server } = setup();
  await client.start();
  await flush();
  const ws = server.sockets[0];
  ws.holdAcks = true;
  const e = client.send('x'.repeat(10));
  ws.push({ type: 'error', code: 'payload_too_large', message: '消息太长', client_msg_id: e.client_msg_id });
  assert.equal(state.outbox[0].state, 'failed');
  assert.equal(state.outbox[0].error, '消息太长');
  assert.equal(state.outbox[0].after_seq, 0, 'remembers where it was sent (src/timeline.js keeps it there)');
  ws.holdAcks = false;
  client.retry(e.client_msg_id);
  await flush();
  assert.equal(state.outbox.length, 0);
  assert.deepEqual(server.received.map((f) => f.client_msg_id), [e.client_msg_id, e.client_msg_id]);
  assert.equal(server.conv('c_1').msgs.length, 1);
});

test('a message refused because another node runs the turn is resent with the same id, not failed', async () => {
  const { client, state, server, timers } = setup();
  await client.start();
  await flush();
  const ws = server.sockets[0];
  ws.holdAcks = true;
  const e = client.send('多久发货');
  ws.push({ type: 'error', code: 'conversation_busy', message: 'busy', client_msg_id: e.client_msg_id, retry_after_ms: 2000 });
  assert.equal(state.outbox[0].state !== 'failed', true);
  ws.holdAcks = false;
  timers.advance(1999);
  assert.equal(server.received.length, 1, 'not before the time the server named');
  timers.advance(1);
  await flush();
  assert.deepEqual(server.received.map((f) => f.client_msg_id), [e.client_msg_id, e.client_msg_id]);
  assert.equal(state.outbox.length, 0);
  assert.equal(server.conv('c_1').msgs.length, 1);
});

test('a rejected message stays failed while later messages and replies still arrive', async () => {
  const { client, state, server } = setup();
  await client.start();
  await flush();
  const ws = server.sockets[0];
  ws.push({ type: 'message', message: server.store('c_1', 'bot', '您好') });
  ws.holdAcks = true;
  const bad = client.send('x'.repeat(4001));
  ws.push({ type: 'error', code: 'invalid_argument', message: '消息太长了', client_msg_id: bad.client_msg_id });
  ws.holdAcks = false;
  client.send('运费怎么算');
  await flush();
  const question = state.messages.find((m) => m.text === '运费怎么算');
  ws.push({ type: 'message', message: server.store('c_1', 'bot', '满 **99 元**包邮', { reply_to: question.id }) });
  // (The fake server stores even what the real one rejects, hence the gap in seq.)
  assert.deepEqual(texts(state), ['1:bot:您好', '3:customer:运费怎么算', '4:bot:满 **99 元**包邮']);
  assert.deepEqual(state.outbox.map((e) => [e.state, e.error, e.after_seq]), [['failed', '消息太长了', 1]]);
  assert.equal(state.awaiting, null, 'the reply cleared the typing indicator');
  // Not resent on reconnect: only 重试 resends it.
  client.debug.dropConnection();
  assert.equal(server.received.filter((f) => f.client_msg_id === bad.client_msg_id).length, 1);
});

test('with a customer token the conversation is created with the token, not a claimed id', async () => {
  const server = new FakeServer();
  const storage = new MemoryStorage();
  const client = new ChatClient({
    widgetKey: 'demo', customerId: 'C0001', customerToken: 'tok.sig', apiBase: 'http://kefu.test', state: {},
    env: { fetch: server.fetch, WebSocket: server.WebSocket, EventSource: server.EventSource, storage,
      crypto: { randomUUID: () => 'u1' } },
  });
  await client.start();
  await flush();
  assert.deepEqual(server.created, [{ customer_token: 'tok.sig', channel: 'web', widget_key: 'demo' }]);
  // Unread inbox messages are shown again after a reload.
  assert.deepEqual(server.inboxAsked, { token: 'tok.sig', unread: 'true' });
  assert.deepEqual(client.state.inbox.map((m) => m.title), ['72小时内上门维修']);
  client.stop();
});

// Pictures (issue 17): a multipart upload over HTTP, never the WebSocket; a
// refused picture is an error with the server's reason; URLs of attachments.
test('sendImage uploads a multipart form and adds the stored message; a refusal says why', async () => {
  const { client, state, server } = setup();
  await client.start();
  await flush();
  const realFetch = server.fetch;
  const seen = [];
  client.env.fetch = async (url, init) => {
    if (init.method === 'POST' && init.body instanceof FormData) {
      seen.push({ url, form: init.body, headers: init.headers });
      if (init.body.get('image').size > 10) {
        return { ok: false, status: 415, json: async () => ({ error: { code: 'unsupported_media_type', message: 'pictures must be JPEG, PNG, WebP or HEIC' } }) };
      }
      const m = server.store('c_1', 'customer', init.body.get('text') || '', {
        client_msg_id: init.body.get('client_msg_id'),
        parts: [{ type: 'image', attachment_id: 'a_1', mime: 'image/png', thumbnail: true }],
      });
      return { ok: true, status: 202, json: async () => ({ message: m, duplicate: false }) };
    }
    return realFetch(url, init);
  };
  const png = new Blob([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], { type: 'image/png' });
  const stored = await client.sendImage(png, ' 这个订单 ');
  assert.equal(seen.length, 1);
  assert.equal(seen[0].url, 'http://kefu.test/v1/conversations/c_1/messages?wait=false');
  assert.equal(seen[0].headers['X-Kefu-Widget-Key'], 'demo');
  assert.equal(seen[0].form.get('text'), '这个订单');
  assert.ok(seen[0].form.get('client_msg_id'));
  assert.equal(stored.parts[0].attachment_id, 'a_1');
  assert.equal(state.messages.filter((m) => m.seq === stored.seq).length, 1, 'shown once');
  assert.equal(server.received.length, 0, 'nothing went over the WebSocket');
  const big = new Blob([new Uint8Array(100)], { type: 'image/png' });
  await assert.rejects(client.sendImage(big), (e) => e.status === 415 && /JPEG/.test(e.message));
  assert.equal(client.attachmentUrl('a_1', true), 'http://kefu.test/v1/conversations/c_1/attachments/a_1?widget_key=demo&thumbnail=1');
  assert.equal(client.attachmentUrl('a_1'), 'http://kefu.test/v1/conversations/c_1/attachments/a_1?widget_key=demo');
});
