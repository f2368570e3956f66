// AgentSocket: the workspace's live feed, `GET /v1/agent/ws?token=…`
// (docs/agents.md). No Vue inside; the environment is injectable for tests.
//
// Contract:
// - `onFrame(frame)` gets every parsed JSON frame except `pong`.
// - `onOpen()` runs on every (re)connect, before any frame of that connection
//   is delivered; the workspace re-fetches its state there, because frames sent
//   while it was disconnected are not replayed.
// - `onStatus(status)`: 'connecting' | 'connected' | 'reconnecting' | 'stopped'.
// - On close/error it reconnects with exponential backoff and jitter (delay in
//   [d/2, d], d = min(15 s, 0.5 s·2^attempt); the attempt counter resets once a
//   connection stayed open 5 s). Before each retry after the second failure in a
//   row it calls `onRetry(attempt)`; if that resolves to false it stops (the
//   workspace checks the token there: an expired session must not retry forever).
// - Heartbeat: `{"type":"ping"}` every 20 s; nothing heard for 45 s → reconnect.
// Single-threaded (browser event loop).

export const SocketStatus = Object.freeze({
  CONNECTING: 'connecting',
  CONNECTED: 'connected',
  RECONNECTING: 'reconnecting',
  STOPPED: 'stopped',
});

const PING_INTERVAL_MS = 20000;
const SILENCE_LIMIT_MS = 45000;
const STABLE_OPEN_MS = 5000;

export function backoffDelay(attempt, random = Math.random, base = 500, max = 15000) {
  const d = Math.min(max, base * 2 ** Math.min(attempt, 20));
  return Math.round(d / 2 + random() * (d / 2));
}

export function agentSocketUrl(location, token) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/v1/agent/ws?token=${encodeURIComponent(token)}`;
}

export class AgentSocket {
  constructor({ url, onFrame, onOpen = async () => {}, onStatus = () => {}, onRetry = async () => true, env = {} }) {
    this.url = url;
    this.onFrame = onFrame;
    this.onOpen = onOpen;
    this.onStatus = onStatus;
    this.onRetry = onRetry;
    this.env = {
      WebSocket: env.WebSocket || globalThis.WebSocket,
      setTimeout: env.setTimeout || ((f, ms) => setTimeout(f, ms)),
      clearTimeout: env.clearTimeout || ((t) => clearTimeout(t)),
      setInterval: env.setInterval || ((f, ms) => setInterval(f, ms)),
      clearInterval: env.clearInterval || ((t) => clearInterval(t)),
      now: env.now || (() => Date.now()),
      random: env.random || Math.random,
    };
    this.ws = null;
    this.attempt = 0;
    this.failures = 0;
    this.stopped = true;
    this.timer = null;
    this.pinger = null;
    this.lastHeard = 0;
    this.openedAt = 0;
    this.status = SocketStatus.STOPPED;
  }

  start() {
    this.stopped = false;
    this._connect(SocketStatus.CONNECTING);
  }

  stop() {
    this.stopped = true;
    this.env.clearTimeout(this.timer);
    this._drop();
    this._setStatus(SocketStatus.STOPPED);
  }

  /** Drops the current connection and reconnects at once (tests, "online" event). */
  reconnectNow() {
    if (this.stopped) return;
    this.env.clearTimeout(this.timer);
    this._drop();
    this.attempt = 0;
    this._connect(SocketStatus.RECONNECTING);
  }

  send(frame) {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(frame));
  }

  _setStatus(s) {
    if (this.status === s) return;
    this.status = s;
    this.onStatus(s);
  }

  _drop() {
    this.env.clearInterval(this.pinger);
    this.pinger = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try { ws.close(); } catch { /* already closed */ }
    }
  }

  _connect(status) {
    if (this.stopped) return;
    this._setStatus(status);
    let ws;
    try {
      ws = new this.env.WebSocket(this.url);
    } catch {
      this._scheduleRetry();
      return;
    }
    this.ws = ws;
    let opened = false;
    // Frames that arrive while onOpen's refresh is in flight are applied after it.
    let ready = false;
    const early = [];
    ws.onopen = async () => {
      opened = true;
      this.openedAt = this.env.now();
      this.lastHeard = this.openedAt;
      this.failures = 0;
      this.pinger = this.env.setInterval(() => this._heartbeat(ws), PING_INTERVAL_MS);
      try {
        await this.onOpen();
      } catch {
        /* the workspace reports its own refresh errors */
      }
      if (this.ws !== ws) return;
      ready = true;
      this._setStatus(SocketStatus.CONNECTED);
      for (const f of early.splice(0)) this.onFrame(f);
    };
    ws.onmessage = (ev) => {
      this.lastHeard = this.env.now();
      let f;
      try {
        f = JSON.parse(typeof ev.data === 'string' ? ev.data : '');
      } catch {
        return;
      }
      if (!f || typeof f !== 'object' || f.type === 'pong') return;
      if (ready) this.onFrame(f);
      else early.push(f);
    };
    ws.onclose = ws.onerror = () => {
      if (this.ws !== ws) return;
      const stable = opened && this.env.now() - this.openedAt >= STABLE_OPEN_MS;
      if (stable) this.attempt = 0;
      if (!opened) this.failures++;
      this._drop();
      this._scheduleRetry();
    };
  }

  _heartbeat(ws) {
    if (this.ws !== ws) return;
    if (this.env.now() - this.lastHeard > SILENCE_LIMIT_MS) {
      ws.onclose && ws.onclose();
      return;
    }
    this.send({ type: 'ping' });
  }

  _scheduleRetry() {
    if (this.stopped) return;
    this._setStatus(SocketStatus.RECONNECTING);
    const delay = backoffDelay(this.attempt++, this.env.random);
    this.env.clearTimeout(this.timer);
    this.timer = this.env.setTimeout(async () => {
      if (this.stopped) return;
      if (this.failures >= 2) {
        let go = true;
        try {
          go = await this.onRetry(this.attempt);
        } catch {
          go = true;
        }
        if (!go) {
          this.stop();
          return;
        }
      }
      this._connect(SocketStatus.RECONNECTING);
    }, delay);
  }
}
