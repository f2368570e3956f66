#!/usr/bin/env node
// DEVELOPMENT AID ONLY — not used by the tests, not a product.
//
// A throwaway stand-in for `kefu serve --demo` written while the C++ server did
// not exist yet, so the widget and the e2e harness could be exercised. It speaks
// the subset of docs/api.md the widget uses (conversations, messages with
// client_msg_id dedupe, WebSocket ack/delta/message frames, SSE) and answers
// logistics questions from demo/shop/orders.json; everything else gets a canned
// "don't know" reply. Nothing here is persisted.
//
//   node web/e2e/dev-mock/kefu-mock.mjs serve --demo --port 0 --data-dir /tmp/x --port-file /tmp/x/port
//   KEFU_BIN=web/e2e/dev-mock/kefu-mock.mjs web/e2e/run.sh     # run the e2e tests against it
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const port = Number(opt('--port', '8080'));
const portFile = opt('--port-file', '');
const dist = path.join(repo, 'web/widget/dist');
const ordersPath = process.env.KEFU_DEMO_ORDERS || path.join(repo, 'demo/shop/orders.json');

const convs = new Map();

function loadOrders() {
  try {
    const raw = JSON.parse(fs.readFileSync(ordersPath, 'utf8'));
    return Array.isArray(raw) ? raw : raw.orders || [];
  } catch {
    return [];
  }
}

function reply(conv, text) {
  if (/订单|物流|快递|到哪/.test(text)) {
    const mine = loadOrders().filter((o) => o.customer_id === conv.customer_id);
    mine.sort((a, b) => a.created_days_ago - b.created_days_ago);
    const o = mine[0];
    if (!o) return { text: '没有查到您名下的订单，请提供订单号。', meta: { intent: 'logistics', suggestions: ['转人工'] } };
    const ev = [...(o.events || [])].sort((a, b) => a.hours - b.hours).slice(-1)[0] || {};
    return {
      text: `您的订单 ${o.id || o.order_id}（${o.status}）由${o.carrier}承运，运单号 ${o.tracking_no}。最新物流：${ev.description || '暂无'}`,
      meta: { intent: 'logistics', tools: [{ name: 'track_logistics', ok: true }], citations: [{ id: 'kb-shipping-01', title: '发货与配送时效' }], suggestions: ['什么时候能到', '转人工'], source: 'grounded' },
    };
  }
  return { text: '抱歉，这个问题我暂时无法回答，可以为您转接人工客服。', meta: { intent: 'unknown', suggestions: ['转人工'], handoff: false } };
}

function store(conv, role, text, extra = {}) {
  const m = { id: conv.msgs.length + 1, conversation_id: conv.id, seq: conv.msgs.length + 1, role, text, client_msg_id: null, reply_to: null, created_ms: Date.now(), meta: {}, ...extra };
  conv.msgs.push(m);
  for (const s of conv.subs) s.message(m);
  return m;
}

function accept(conv, clientMsgId, text) {
  if (conv.ids.has(clientMsgId)) return { message: conv.ids.get(clientMsgId), duplicate: true };
  const m = store(conv, 'customer', text, { client_msg_id: clientMsgId });
  conv.ids.set(clientMsgId, m);
  const r = reply(conv, text);
  const pieces = r.text.match(/.{1,6}/gsu) || [];
  let i = 0;
  const step = () => {
    if (i < pieces.length) {
      const piece = pieces[i++];
      for (const s of conv.subs) s.delta(m.seq, piece);
      setTimeout(step, 40);
    } else {
      store(conv, 'bot', r.text, { reply_to: m.seq, meta: r.meta });
    }
  };
  setTimeout(step, 150);
  return { message: m, duplicate: false };
}

function json(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'));
      } catch {
        resolve(null);
      }
    });
  });
}

const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };

const server = http.createServer(async (req, res) => {
  const u = new URL(req.url, 'http://x');
  const p = u.pathname;
  if (p === '/healthz') return json(res, 200, { status: 'ok' });
  if (p === '/v1/widget/config') {
    return json(res, 200, {
      tenant_id: 'demo', name: '优选家电旗舰店', greeting: '您好，我是优选家电的智能客服，有什么可以帮您？',
      quick_questions: ['我的订单到哪了', '怎么申请退货', '空调包安装吗', '转人工'],
      demo_customers: [{ id: 'C0001', name: '张伟' }, { id: 'C0002', name: '王芳' }],
    });
  }
  if (p === '/v1/conversations' && req.method === 'POST') {
    const b = (await readBody(req)) || {};
    const id = `c_${crypto.randomBytes(8).toString('hex')}`;
    const conv = { id, tenant_id: 'demo', customer_id: b.customer_id || 'anon', channel: 'web', status: 'open', created_ms: Date.now(), updated_ms: Date.now(), msgs: [], ids: new Map(), subs: new Set() };
    convs.set(id, conv);
    return json(res, 201, pub(conv));
  }
  let m = p.match(/^\/v1\/conversations\/([^/]+)(\/[a-z]+)?$/);
  if (m) {
    const conv = convs.get(m[1]);
    if (!conv) return json(res, 404, { error: { code: 'not_found', message: 'no such conversation' } });
    const sub = m[2] || '';
    if (!sub && req.method === 'GET') return json(res, 200, pub(conv));
    if (sub === '/close' && req.method === 'POST') {
      conv.status = 'closed';
      return json(res, 200, pub(conv));
    }
    if (sub === '/messages' && req.method === 'GET') {
      const after = Number(u.searchParams.get('after_seq') || 0);
      const limit = Number(u.searchParams.get('limit') || 100);
      return json(res, 200, { messages: conv.msgs.filter((x) => x.seq > after).slice(0, limit) });
    }
    if (sub === '/messages' && req.method === 'POST') {
      const b = await readBody(req);
      if (!b || !b.text) return json(res, 400, { error: { code: 'invalid_argument', message: 'text is required' } });
      const r = accept(conv, b.client_msg_id || crypto.randomUUID(), b.text);
      return json(res, r.duplicate ? 200 : 202, r);
    }
    if (sub === '/events') {
      if (!req.headers['x-kefu-widget-key'] && !u.searchParams.get('widget_key')) {
        return json(res, 401, { error: { code: 'unauthenticated', message: 'a widget key is required' } });
      }
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      res.write(': connected\n\n');
      const after = Number(u.searchParams.get('after_seq') || 0);
      const s = {
        message: (msg) => res.write(`event: message\ndata: ${JSON.stringify(msg)}\n\n`),
        delta: (r, t) => res.write(`event: delta\ndata: ${JSON.stringify({ reply_to: r, text: t })}\n\n`),
      };
      for (const x of conv.msgs) if (x.seq > after) s.message(x);
      conv.subs.add(s);
      req.on('close', () => conv.subs.delete(s));
      return;
    }
  }
  // static widget
  let file = path.join(dist, p === '/' ? 'index.html' : p);
  if (!file.startsWith(dist) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) file = path.join(dist, 'index.html');
  res.writeHead(200, { 'Content-Type': types[path.extname(file)] || 'application/octet-stream' });
  fs.createReadStream(file).pipe(res);
});

function pub(c) {
  const { msgs, ids, subs, ...rest } = c;
  return rest;
}

// Minimal RFC 6455 server side: text frames, ping/pong, close.
server.on('upgrade', (req, socket) => {
  const u = new URL(req.url, 'http://x');
  const m = u.pathname.match(/^\/v1\/conversations\/([^/]+)\/ws$/);
  const conv = m && convs.get(m[1]);
  if (!req.headers['x-kefu-widget-key'] && !u.searchParams.get('widget_key')) {
    socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');  // like the real server
    return;
  }
  if (!conv) {
    socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
    return;
  }
  const acceptKey = crypto.createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey}\r\n\r\n`);
  const sendFrame = (op, payload) => {
    if (socket.destroyed) return;
    const n = payload.length;
    const head = n < 126 ? Buffer.from([0x80 | op, n]) : n < 65536 ? Buffer.from([0x80 | op, 126, n >> 8, n & 255]) : Buffer.concat([Buffer.from([0x80 | op, 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; })()]);
    socket.write(Buffer.concat([head, payload]));
  };
  const send = (obj) => sendFrame(1, Buffer.from(JSON.stringify(obj)));
  const s = { message: (msg) => send({ type: 'message', message: msg }), delta: (r, t) => send({ type: 'delta', reply_to: r, text: t }) };
  const after = Number(u.searchParams.get('after_seq') || 0);
  for (const x of conv.msgs) if (x.seq > after) s.message(x);
  conv.subs.add(s);
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length < 2) return;
      const op = buf[0] & 0x0f;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
      const masked = buf[1] & 0x80;
      const mask = masked ? buf.subarray(off, off + 4) : null;
      off += masked ? 4 : 0;
      if (buf.length < off + len) return;
      const payload = Buffer.from(buf.subarray(off, off + len));
      if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
      buf = buf.subarray(off + len);
      if (op === 8) { sendFrame(8, Buffer.alloc(0)); socket.end(); return; }
      if (op === 9) { sendFrame(10, payload); continue; }
      if (op !== 1) continue;
      let f;
      try { f = JSON.parse(payload.toString('utf8')); } catch { continue; }
      if (f.type === 'ping') send({ type: 'pong' });
      else if (f.type === 'message') {
        if (!f.text) { send({ type: 'error', code: 'invalid_argument', message: 'text is required' }); continue; }
        const r = accept(conv, f.client_msg_id, f.text);
        send({ type: 'ack', client_msg_id: f.client_msg_id, message: r.message, duplicate: r.duplicate });
      }
    }
  });
  const drop = () => conv.subs.delete(s);
  socket.on('close', drop);
  socket.on('error', drop);
});

server.listen(port, '127.0.0.1', () => {
  const bound = server.address().port;
  if (portFile) fs.writeFileSync(portFile, `${bound}\n`);
  console.log(`kefu-mock listening on http://127.0.0.1:${bound}`);
});
