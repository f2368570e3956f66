// ChatClient: the widget's connection to one kefu conversation.
//
// Contract (see docs/web.md, "Reliability protocol"):
// - Every outgoing message gets a client_msg_id and stays in `state.outbox`
//   (mirrored to storage, so it survives a reload) until the server acks it.
// - On every (re)connect the client subscribes with after_seq = highest seq
//   seen, and resends every unacked outbox entry with its original
//   client_msg_id; the server dedupes, so a message is stored exactly once.
// - Incoming messages are deduped by `seq` and kept in seq order, so replays
//   after a reconnect never duplicate anything.
// - `delta` frames accumulate in `state.streams[reply_to]`; the final
//   `message` with that reply_to replaces the streaming bubble.
// - `inbox` frames (a new message in the customer's in-app inbox) land in
//   `state.inbox` (deduped by id, arrival order): notices shown in the chat,
//   never chat messages, and not replayed on reconnect.
// - Transport is a WebSocket; when WebSockets repeatedly fail to open the
//   client falls back to Server-Sent Events plus POST ?wait=false.
//
// The client mutates `state` (pass a Vue `reactive({})` to render it). It is
// single-threaded (browser event loop). Environment access (fetch, WebSocket,
// EventSource, storage, timers, randomness) is injectable for unit tests.

export const Status = Object.freeze({
  IDLE: 'idle',
  CONNECTING: 'connecting',
  CONNECTED: 'connected',
  RECONNECTING: 'reconnecting',
  ENDED: 'ended',
});

const PAGE_LIMIT = 100;
const PING_INTERVAL_MS = 20000;
const SILENCE_LIMIT_MS = 45000;
const ACK_TIMEOUT_MS = 15000;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 15000;
const STABLE_OPEN_MS = 5000;
const WS_FAILURES_BEFORE_SSE = 2;

export class HttpError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

/** Exponential backoff with jitter: a delay in [d/2, d], d = min(max, base*2^attempt). */
export function backoffDelay(attempt, random = Math.random, base = BACKOFF_BASE_MS, max = BACKOFF_MAX_MS) {
  const d = Math.min(max, base * 2 ** Math.min(attempt, 20));
  return Math.round(d / 2 + random() * (d / 2));
}

export function newClientMsgId(cryptoImpl = globalThis.crypto) {
  if (cryptoImpl && typeof cryptoImpl.randomUUID === 'function') return cryptoImpl.randomUUID();
  // Non-secure contexts (plain http on a LAN address) lack randomUUID.
  const b = new Uint8Array(16);
  cryptoImpl.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function conversationStorageKey(widgetKey, customerId) {
  return `kefu:conversation:${widgetKey}:${customerId}`;
}

function outboxStorageKey(conversationId) {
  return `kefu:outbox:${conversationId}`;
}

export class ChatClient {
  /**
   * @param {object} opts
   * @param {string} opts.widgetKey      tenant's public widget key
   * @param {string} opts.customerId
   * @param {string} [opts.customerToken] signed customer token: sent when the conversation is created
   * @param {string} [opts.apiBase]      http(s) origin of the kefu server; '' = same origin
   * @param {'auto'|'ws'|'sse'} [opts.transport]
   * @param {object} [opts.state]        object to mutate (e.g. Vue reactive)
   * @param {object} [opts.env]          overrides: fetch, WebSocket, EventSource, storage,
   *                                     setTimeout, clearTimeout, now, random, crypto, location
   */
  constructor(opts) {
    this.widgetKey = opts.widgetKey;
    this.customerId = opts.customerId;
    this.customerToken = opts.customerToken || '';
    const env = opts.env || {};
    this.env = {
      fetch: env.fetch || globalThis.fetch.bind(globalThis),
      WebSocket: env.WebSocket || globalThis.WebSocket,
      EventSource: env.EventSource || globalThis.EventSource,
      storage: env.storage || globalThis.localStorage,
      setTimeout: env.setTimeout || globalThis.setTimeout.bind(globalThis),
      clearTimeout: env.clearTimeout || globalThis.clearTimeout.bind(globalThis),
      now: env.now || (() => Date.now()),
      random: env.random || Math.random,
      crypto: env.crypto || globalThis.crypto,
      location: env.location || globalThis.location,
    };
    this.apiBase = (opts.apiBase ?? '').replace(/\/$/, '');
    this.transportPref = opts.transport || 'auto';
    this.transport = this.transportPref === 'sse' ? 'sse' : 'ws';

    this.state = opts.state || {};
    Object.assign(this.state, {
      status: Status.IDLE,
      transport: this.transport,
      conversation: null,
      messages: [],
      outbox: [],
      streams: {},
      awaiting: null,
      notice: '',
      ended: false,
      inbox: [],
    });

    this._seqs = new Set();
    this._maxSeq = 0;
    this._seqAtConnect = 0;
    this._conn = null;          // current WebSocket or EventSource
    this._connId = 0;           // increments per connection; stale callbacks compare it
    this._attempt = 0;
    this._wsFailures = 0;
    this._openedAt = 0;
    this._lastFrameAt = 0;
    this._reconnectTimer = null;
    this._pingTimer = null;
    this._ackTimer = null;
    this._stopped = false;
    this._paused = false;
    this._dropAfterNextSend = false;
    this._listeners = [];
  }

  // ---------------------------------------------------------------- lifecycle

  /** Resumes the stored conversation for this customer or opens a new one, then connects. */
  async start() {
    this._stopped = false;
    this._setStatus(Status.CONNECTING);
    const key = conversationStorageKey(this.widgetKey, this.customerId);
    const storedId = this._storageGet(key);
    let conv = null;
    if (storedId) {
      try {
        conv = await this._api('GET', `/v1/conversations/${encodeURIComponent(storedId)}`);
        if (conv.status === 'closed') conv = null;
      } catch (e) {
        if (!(e instanceof HttpError) || (e.status !== 404 && e.status !== 403)) throw e;
        conv = null;
      }
      if (!conv) this._storageRemove(outboxStorageKey(storedId));
    }
    if (!conv) {
      // With a token the server takes the customer from it (a verified conversation).
      conv = await this._api('POST', '/v1/conversations', this.customerToken
        ? { customer_token: this.customerToken, channel: 'web', widget_key: this.widgetKey }
        : { customer_id: this.customerId, channel: 'web', widget_key: this.widgetKey });
      this._storageSet(key, conv.id);
    }
    if (this._stopped) return;
    this.state.conversation = conv;
    this.state.outbox = this._loadOutbox(conv.id);
    await this._fetchHistory();
    if (this._stopped) return;
    await this._fetchInbox();
    if (this._stopped) return;
    this._installBrowserHooks();
    this._connect();
  }

  /** Closes the connection for good (customer switched, component unmounted). */
  stop() {
    this._stopped = true;
    this._teardownConnection();
    this.env.clearTimeout(this._reconnectTimer);
    this._reconnectTimer = null;
    for (const [target, type, fn] of this._listeners) target.removeEventListener(type, fn);
    this._listeners = [];
    if (this.state.status !== Status.ENDED) this._setStatus(Status.IDLE);
  }

  /** Closes the conversation on the server and forgets it locally. */
  async closeConversation() {
    const conv = this.state.conversation;
    if (!conv) return;
    try {
      await this._api('POST', `/v1/conversations/${encodeURIComponent(conv.id)}/close`, {});
    } finally {
      this._storageRemove(conversationStorageKey(this.widgetKey, this.customerId));
      this._storageRemove(outboxStorageKey(conv.id));
      this.stop();
      this._markEnded();
    }
  }

  // ---------------------------------------------------------------- sending

  /** Queues `text` for delivery; returns the outbox entry. Never loses it: see the contract above. */
  send(text) {
    const t = String(text ?? '').trim();
    if (!t || this.state.ended) return null;
    const entry = {
      client_msg_id: newClientMsgId(this.env.crypto),
      text: t,
      created_ms: this.env.now(),
      // Highest seq shown when it was sent: a rejected entry stays there in the
      // list (App.vue) while later messages appear below it.
      after_seq: this._maxSeq,
      state: 'sending',
      error: '',
    };
    this.state.outbox.push(entry);
    this._saveOutbox();
    if (this.state.status === Status.CONNECTED) this._transmit(entry);
    return entry;
  }

  /**
   * Sends a picture (a File or Blob: the photo button, a paste, a drop) with
   * optional `text`, as a multipart upload over HTTP (pictures never go over
   * the WebSocket). Resolves to the stored message; the server reads the
   * picture's text and the reply arrives on the live stream. Rejects with an
   * HttpError whose `message` says why the picture was refused (too large,
   * not a picture, damaged); the conversation goes on either way.
   */
  async sendImage(file, text = '') {
    const conv = this.state.conversation;
    if (!conv || this.state.ended) throw new Error('no open conversation');
    const FormDataImpl = this.env.FormData || globalThis.FormData;
    const form = new FormDataImpl();
    form.append('client_msg_id', newClientMsgId(this.env.crypto));
    if (text && String(text).trim()) form.append('text', String(text).trim());
    form.append('image', file, (file && file.name) || 'picture');
    const res = await this.env.fetch(
      `${this.apiBase}/v1/conversations/${encodeURIComponent(conv.id)}/messages?wait=false`,
      { method: 'POST', headers: { 'X-Kefu-Widget-Key': this.widgetKey }, body: form },
    );
    let json = null;
    try {
      json = await res.json();
    } catch {
      json = null;
    }
    if (!res.ok) {
      const err = (json && json.error) || {};
      throw new HttpError(res.status, err.code, err.message || `HTTP ${res.status}`);
    }
    if (json && json.message) this._addMessage(json.message);
    return json && json.message;
  }

  /** The URL of a picture of this conversation (an image part's attachment_id); `thumbnail` for the small one. */
  attachmentUrl(attachmentId, thumbnail = false) {
    const conv = this.state.conversation;
    if (!conv || !attachmentId) return '';
    const q = new URLSearchParams({ widget_key: this.widgetKey });
    if (thumbnail) q.set('thumbnail', '1');
    return `${this.apiBase}/v1/conversations/${encodeURIComponent(conv.id)}/attachments/${encodeURIComponent(attachmentId)}?${q}`;
  }

  /** Retries an entry the server rejected (same client_msg_id). */
  retry(clientMsgId) {
    const e = this.state.outbox.find((x) => x.client_msg_id === clientMsgId);
    if (!e) return;
    e.state = 'sending';
    e.error = '';
    this._saveOutbox();
    if (this.state.status === Status.CONNECTED) this._transmit(e);
  }

  discard(clientMsgId) {
    this.state.outbox = this.state.outbox.filter((x) => x.client_msg_id !== clientMsgId);
    this._saveOutbox();
  }

  _transmit(entry) {
    if (entry.state === 'failed') return;
    if (this.transport === 'ws') {
      const ws = this._conn;
      if (!ws || ws.readyState !== 1) return;
      ws.send(JSON.stringify({ type: 'message', client_msg_id: entry.client_msg_id, text: entry.text }));
      this._armAckTimer();
      if (this._dropAfterNextSend) {
        // Test hook: lose the connection before the ack can arrive.
        this._dropAfterNextSend = false;
        this._onConnectionLost(this._connId);
      }
    } else {
      this._postMessage(entry);
    }
  }

  async _postMessage(entry) {
    const conv = this.state.conversation;
    const connId = this._connId;
    try {
      const body = await this._api(
        'POST',
        `/v1/conversations/${encodeURIComponent(conv.id)}/messages?wait=false`,
        { client_msg_id: entry.client_msg_id, text: entry.text },
      );
      if (body && body.message) this._onAck(entry.client_msg_id, body.message);
      if (body && body.reply) this._addMessage(body.reply);
    } catch (e) {
      if (e instanceof HttpError && e.status >= 400 && e.status < 500 && e.status !== 429 && e.status !== 408) {
        this._failEntry(entry.client_msg_id, e.message);
      } else if (e instanceof HttpError && e.status === 429) {
        this.state.notice = '发送太频繁，请稍后再试';
        this.env.setTimeout(() => this._resendOutbox(), 3000);
      } else if (connId === this._connId) {
        this._onConnectionLost(connId);  // network failure: reconnect, then resend
      }
    }
  }

  _resendOutbox() {
    if (this.state.status !== Status.CONNECTED) return;
    for (const e of [...this.state.outbox]) this._transmit(e);
  }

  _failEntry(clientMsgId, message) {
    const e = this.state.outbox.find((x) => x.client_msg_id === clientMsgId);
    if (!e) return;
    e.state = 'failed';
    e.error = message || '发送失败';
    this._saveOutbox();
  }

  // ---------------------------------------------------------------- connection

  _connect() {
    if (this._stopped || this._paused || this.state.ended) return;
    this._teardownConnection();
    const conv = this.state.conversation;
    const connId = ++this._connId;
    this._seqAtConnect = this._maxSeq;
    this._openedAt = 0;
    this.state.transport = this.transport;
    const path = `/v1/conversations/${encodeURIComponent(conv.id)}`;
    // Browsers cannot set headers on WebSocket/EventSource: the key travels in the query.
    const query = `after_seq=${this._maxSeq}&widget_key=${encodeURIComponent(this.widgetKey)}`;
    if (this.transport === 'ws') {
      let ws;
      try {
        ws = new this.env.WebSocket(`${this._wsBase()}${path}/ws?${query}`);
      } catch {
        this._onConnectionLost(connId);
        return;
      }
      this._conn = ws;
      ws.onopen = () => connId === this._connId && this._onOpen();
      ws.onmessage = (ev) => connId === this._connId && this._onFrame(ev.data);
      ws.onclose = () => this._onConnectionLost(connId);
      ws.onerror = () => {};  // onclose follows
    } else {
      const es = new this.env.EventSource(`${this.apiBase}${path}/events?${query}`);
      this._conn = es;
      es.onopen = () => connId === this._connId && this._onOpen();
      es.addEventListener('message', (ev) => {
        if (connId !== this._connId) return;
        this._lastFrameAt = this.env.now();
        this._safeJson(ev.data, (m) => this._addMessage(m.message || m));
      });
      es.addEventListener('delta', (ev) => {
        if (connId !== this._connId) return;
        this._safeJson(ev.data, (d) => this._onDelta(d));
      });
      es.addEventListener('inbox', (ev) => {
        if (connId !== this._connId) return;
        this._safeJson(ev.data, (m) => this._onInbox(m));
      });
      es.addEventListener('closed', () => connId === this._connId && this._markEnded());
      // EventSource would reconnect with the stale after_seq; reconnect ourselves instead.
      es.onerror = () => this._onConnectionLost(connId);
    }
  }

  _onOpen() {
    this._openedAt = this.env.now();
    this._lastFrameAt = this._openedAt;
    if (this.transport === 'ws') this._wsFailures = 0;
    this.state.notice = '';
    this._setStatus(Status.CONNECTED);
    // Streams that began before this connection are joined midway: show only the typing dots.
    for (const k of Object.keys(this.state.streams)) delete this.state.streams[k];
    if (this.transport === 'ws') this._schedulePing();
    for (const e of [...this.state.outbox]) if (e.state === 'sending') this._transmit(e);
  }

  _onConnectionLost(connId) {
    if (connId !== this._connId) return;
    const wasOpen = this._openedAt !== 0;
    const stable = wasOpen && this.env.now() - this._openedAt >= STABLE_OPEN_MS;
    this._teardownConnection();
    this._connId++;  // ignore any late callbacks from the dead connection
    if (this._stopped || this.state.ended) return;
    if (stable) this._attempt = 0;
    if (this.transport === 'ws' && !wasOpen) this._wsFailures++;
    if (this.transportPref === 'auto') {
      if (this.transport === 'ws' && this._wsFailures >= WS_FAILURES_BEFORE_SSE && this.env.EventSource) {
        this.transport = 'sse';
      } else if (this.transport === 'sse' && !wasOpen) {
        this.transport = 'ws';
        this._wsFailures = 0;
      }
    }
    this._setStatus(Status.RECONNECTING);
    if (this._paused) return;
    const delay = backoffDelay(this._attempt++, this.env.random);
    this._reconnectTimer = this.env.setTimeout(() => {
      this._reconnectTimer = null;
      this._checkThenConnect();
    }, delay);
  }

  // After several failed attempts the conversation may have been closed or
  // expired on the server; find out instead of retrying forever.
  async _checkThenConnect() {
    if (this._attempt >= 3 && this.state.conversation) {
      try {
        const conv = await this._api('GET', `/v1/conversations/${encodeURIComponent(this.state.conversation.id)}`);
        if (conv.status === 'closed') {
          this._markEnded();
          return;
        }
      } catch (e) {
        if (e instanceof HttpError && e.status === 404) {
          this._markEnded();
          return;
        }
      }
    }
    this._connect();
  }

  _teardownConnection() {
    this.env.clearTimeout(this._pingTimer);
    this.env.clearTimeout(this._ackTimer);
    this._pingTimer = null;
    this._ackTimer = null;
    const c = this._conn;
    this._conn = null;
    if (!c) return;
    c.onopen = c.onmessage = c.onclose = c.onerror = null;
    try {
      c.close();
    } catch {
      /* already closed */
    }
  }

  _schedulePing() {
    this.env.clearTimeout(this._pingTimer);
    const connId = this._connId;
    this._pingTimer = this.env.setTimeout(() => {
      if (connId !== this._connId || !this._conn) return;
      if (this.env.now() - this._lastFrameAt > SILENCE_LIMIT_MS) {
        this._onConnectionLost(connId);  // half-open socket: nothing heard for too long
        return;
      }
      try {
        this._conn.send(JSON.stringify({ type: 'ping' }));
      } catch {
        /* onclose will follow */
      }
      this._schedulePing();
    }, PING_INTERVAL_MS);
  }

  // An unacked message on an "open" socket means the socket is probably dead.
  _armAckTimer() {
    if (this._ackTimer) return;
    const connId = this._connId;
    this._ackTimer = this.env.setTimeout(() => {
      this._ackTimer = null;
      if (connId !== this._connId) return;
      const waiting = this.state.outbox.some((e) => e.state === 'sending' && this.env.now() - e.created_ms >= ACK_TIMEOUT_MS);
      if (waiting) this._onConnectionLost(connId);
      else if (this.state.outbox.some((e) => e.state === 'sending')) this._armAckTimer();
    }, ACK_TIMEOUT_MS);
  }

  // ---------------------------------------------------------------- incoming

  _onFrame(data) {
    this._lastFrameAt = this.env.now();
    this._safeJson(data, (f) => this.receiveFrame(f));
  }

  /**
   * Applies one frame of the conversation's event stream (`message`, `delta`,
   * `ack`, `error`, `closed`, `inbox`); the text socket's frames come here, and
   * so do the same frames arriving on the voice socket (src/voice-client.js).
   * Messages are deduped by seq, so a frame seen on both sockets shows once.
   */
  receiveFrame(f) {
    if (!f || typeof f !== 'object') return;
    switch (f.type) {
      case 'ack':
        this._onAck(f.client_msg_id, f.message);
        break;
      case 'message':
        if (f.message) this._addMessage(f.message);
        break;
      case 'delta':
        this._onDelta(f);
        break;
      case 'error':
        this._onServerError(f);
        break;
      case 'closed':
        this._markEnded();
        break;
      case 'inbox':
        this._onInbox(f.message);
        break;
      default:
        break;  // pong and future frame types
    }
  }

  /**
   * A customer message the server stored from another channel of this page
   * (the voice socket's final transcript): shown like an acked message, and the
   * typing indicator waits for its reply.
   */
  addOwnMessage(message) {
    this._onAck(null, message);
  }

  /** Highest seq received. */
  get maxSeq() {
    return this._maxSeq;
  }

  /**
   * ws(s):// URL of one of the conversation's sockets (`ws`, `voice`) with the
   * same query as the text socket: after_seq = highest seq seen, widget_key.
   */
  socketUrl(kind) {
    const conv = this.state.conversation;
    if (!conv) return '';
    const query = `after_seq=${this._maxSeq}&widget_key=${encodeURIComponent(this.widgetKey)}`;
    return `${this._wsBase()}/v1/conversations/${encodeURIComponent(conv.id)}/${kind}?${query}`;
  }

  _onAck(clientMsgId, message) {
    if (message) this._addMessage(message);
    this._removeFromOutbox(clientMsgId);
    if (message && message.role === 'customer' && !this._answeredAfter(message.seq)) {
      this.state.awaiting = { seq: message.seq, since: this.env.now() };
    }
  }

  // A new inbox message for this customer: {id, kind, title, body, created_ms, ...}.
  _onInbox(m) {
    if (!m || m.id == null || typeof m.title !== 'string') return;
    if (this.state.inbox.some((x) => x.id === m.id)) return;
    this.state.inbox.push({ id: m.id, kind: m.kind, title: m.title, body: m.body || '', created_ms: m.created_ms || this.env.now() });
  }

  _onDelta(d) {
    if (typeof d.reply_to !== 'number' || typeof d.text !== 'string') return;
    if (this._repliedTo(d.reply_to)) return;  // the final message already arrived
    const s = this.state.streams[d.reply_to];
    if (s) {
      s.text += d.text;
    } else {
      // A stream for a turn stored before this connection opened may have started
      // earlier; its first visible piece would be mid-sentence, so show dots only.
      // reply_to names the customer message (the server sends its id; accept a seq too).
      const target = this.state.messages.find((m) => m.role === 'customer' && m.id === d.reply_to);
      const joinedMidway = (target ? target.seq : d.reply_to) <= this._seqAtConnect;
      this.state.streams[d.reply_to] = { reply_to: d.reply_to, text: joinedMidway ? '' : d.text, partial: joinedMidway };
    }
  }

  _onServerError(f) {
    const code = f.code || 'internal';
    if (code === 'conversation_busy') {
      // Another server node is running this conversation's turn (or took it
      // over from a node that stopped): nothing was stored; the same message
      // goes again after the time the server names.
      const wait = Math.min(Math.max(Number(f.retry_after_ms) || 1000, 200), 10000);
      this.env.setTimeout(() => this._resendOutbox(), wait);
      return;
    }
    if (f.client_msg_id && code !== 'rate_limited' && code !== 'unavailable') {
      if (this.state.outbox.some((e) => e.client_msg_id === f.client_msg_id)) {
        this._failEntry(f.client_msg_id, f.message);
      } else {
        // The message was stored but its reply failed.
        this.state.awaiting = null;
        this.state.notice = '回复生成失败，请稍后再试或转人工';
      }
      return;
    }
    if (code === 'rate_limited') {
      this.state.notice = '发送太频繁，请稍后再试';
      this.env.setTimeout(() => this._resendOutbox(), 3000);
    } else if (code === 'not_found') {
      this._markEnded();
    } else {
      this.state.notice = f.message || '服务暂时不可用';
    }
  }

  _answeredAfter(seq) {
    return this.state.messages.some((x) => x.seq > seq && x.role !== 'customer');
  }

  _repliedTo(replyTo) {
    return this.state.messages.some((m) => m.reply_to === replyTo && m.role !== 'customer');
  }

  /** Inserts a stored message, keeping seq order; ignores seqs already present. */
  _addMessage(m) {
    if (!m || typeof m.seq !== 'number') return;
    if (m.client_msg_id) this._removeFromOutbox(m.client_msg_id);
    if (m.reply_to != null) delete this.state.streams[m.reply_to];
    if (m.role !== 'customer' && this.state.awaiting && m.seq > this.state.awaiting.seq) {
      this.state.awaiting = null;
    }
    if (this._seqs.has(m.seq)) return;
    this._seqs.add(m.seq);
    const msgs = this.state.messages;
    if (!msgs.length || msgs[msgs.length - 1].seq < m.seq) {
      msgs.push(m);
    } else {
      let i = msgs.length;
      while (i > 0 && msgs[i - 1].seq > m.seq) i--;
      msgs.splice(i, 0, m);
    }
    if (m.seq > this._maxSeq) this._maxSeq = m.seq;
  }

  _removeFromOutbox(clientMsgId) {
    if (!clientMsgId) return;
    const i = this.state.outbox.findIndex((x) => x.client_msg_id === clientMsgId);
    if (i < 0) return;
    this.state.outbox.splice(i, 1);
    this._saveOutbox();
    if (!this.state.outbox.some((e) => e.state === 'sending')) {
      this.env.clearTimeout(this._ackTimer);
      this._ackTimer = null;
    }
  }

  // With a customer token, the unread messages of the customer's inbox are shown
  // again after a reload (live ones arrive as `inbox` frames). Best effort: the
  // chat starts even when the inbox cannot be read.
  async _fetchInbox() {
    if (!this.customerToken) return;
    try {
      const body = await this._api('GET', '/v1/me/inbox?unread=true&limit=20', undefined,
        { 'X-Kefu-Customer-Token': this.customerToken });
      for (const m of (body && body.messages) || []) this._onInbox(m);
    } catch {
      /* an expired token or an older server: live notices only */
    }
  }

  async _fetchHistory() {
    const id = encodeURIComponent(this.state.conversation.id);
    for (;;) {
      const body = await this._api('GET', `/v1/conversations/${id}/messages?after_seq=${this._maxSeq}&limit=${PAGE_LIMIT}`);
      const page = (body && body.messages) || [];
      const before = this._maxSeq;
      for (const m of page) this._addMessage(m);
      if (page.length < PAGE_LIMIT || this._maxSeq === before) break;
    }
  }

  _markEnded() {
    if (this.state.ended) return;
    this.state.ended = true;
    this._stopped = true;
    this._teardownConnection();
    this.env.clearTimeout(this._reconnectTimer);
    this._storageRemove(conversationStorageKey(this.widgetKey, this.customerId));
    this._setStatus(Status.ENDED);
  }

  _setStatus(s) {
    this.state.status = s;
  }

  // ---------------------------------------------------------------- browser hooks

  _installBrowserHooks() {
    if (this._listeners.length || typeof window === 'undefined' || !window.addEventListener) return;
    const on = (target, type, fn) => {
      target.addEventListener(type, fn);
      this._listeners.push([target, type, fn]);
    };
    // Going offline kills sockets silently on some platforms; don't wait for the heartbeat.
    on(window, 'offline', () => this._conn && this._onConnectionLost(this._connId));
    on(window, 'online', () => this._reconnectNow());
    if (typeof document !== 'undefined') {
      on(document, 'visibilitychange', () => document.visibilityState === 'visible' && this._reconnectNow());
    }
  }

  _reconnectNow() {
    if (this._stopped || this._paused || this.state.status === Status.CONNECTED) return;
    if (this.state.status !== Status.RECONNECTING) return;
    this.env.clearTimeout(this._reconnectTimer);
    this._reconnectTimer = null;
    this._attempt = 0;
    this._connect();
  }

  /** Hooks for end-to-end tests and manual debugging (window.__kefu.debug). */
  get debug() {
    return {
      /** Drops the connection as if the network failed; the client reconnects by itself. */
      dropConnection: () => this._conn && this._onConnectionLost(this._connId),
      /** Drops the connection and holds reconnection until resume(). */
      pause: () => {
        this._paused = true;
        if (this._conn) this._onConnectionLost(this._connId);
      },
      resume: () => {
        this._paused = false;
        this._attempt = 0;
        if (this.state.status !== Status.CONNECTED) this._connect();
      },
      /** The next transmitted message is written, then the connection drops before its ack. */
      dropAfterNextSend: () => {
        this._dropAfterNextSend = true;
      },
      maxSeq: () => this._maxSeq,
      transport: () => this.transport,
    };
  }

  // ---------------------------------------------------------------- plumbing

  _wsBase() {
    if (this.apiBase) return this.apiBase.replace(/^http/, 'ws');
    const loc = this.env.location;
    return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}`;
  }

  async _api(method, path, body, extraHeaders = {}) {
    const headers = { 'X-Kefu-Widget-Key': this.widgetKey, ...extraHeaders };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await this.env.fetch(`${this.apiBase}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json = null;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        json = null;
      }
    }
    if (!res.ok) {
      const err = (json && json.error) || {};
      throw new HttpError(res.status, err.code, err.message);
    }
    return json;
  }

  _safeJson(data, fn) {
    let v;
    try {
      v = JSON.parse(data);
    } catch {
      return;
    }
    if (v && typeof v === 'object') fn(v);
  }

  _loadOutbox(conversationId) {
    const raw = this._storageGet(outboxStorageKey(conversationId));
    if (!raw) return [];
    try {
      const list = JSON.parse(raw);
      return Array.isArray(list) ? list.filter((e) => e && e.client_msg_id && e.text) : [];
    } catch {
      return [];
    }
  }

  _saveOutbox() {
    const conv = this.state.conversation;
    if (!conv) return;
    const key = outboxStorageKey(conv.id);
    if (this.state.outbox.length) this._storageSet(key, JSON.stringify(this.state.outbox));
    else this._storageRemove(key);
  }

  _storageGet(k) {
    try {
      return this.env.storage ? this.env.storage.getItem(k) : null;
    } catch {
      return null;  // storage disabled (private mode, sandboxed iframe)
    }
  }

  _storageSet(k, v) {
    try {
      if (this.env.storage) this.env.storage.setItem(k, v);
    } catch {
      /* quota or disabled: the conversation just won't survive a reload */
    }
  }

  _storageRemove(k) {
    try {
      if (this.env.storage) this.env.storage.removeItem(k);
    } catch {
      /* see _storageSet */
    }
  }
}
