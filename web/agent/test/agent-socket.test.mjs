// Unit tests of AgentSocket (src/agent-socket.js) with a fake WebSocket and manual timers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentSocket, backoffDelay } from '../src/agent-socket.js';

function harness({ onRetry } = {}) {
  const sockets = [];
  const timers = [];
  let now = 0;
  class FakeWs {
    constructor(url) { this.url = url; this.readyState = 0; this.sent = []; sockets.push(this); }
    send(d) { this.sent.push(JSON.parse(d)); }
    close() { this.readyState = 3; }
    open() { this.readyState = 1; return this.onopen(); }
    frame(f) { this.onmessage({ data: JSON.stringify(f) }); }
    fail() { this.readyState = 3; this.onclose(); }
  }
  const frames = [];
  const statuses = [];
  let opens = 0;
  const s = new AgentSocket({
    url: 'ws://x/v1/agent/ws?token=t',
    onFrame: (f) => frames.push(f),
    onOpen: async () => { opens++; },
    onStatus: (st) => statuses.push(st),
    onRetry: onRetry || (async () => true),
    env: {
      WebSocket: FakeWs,
      setTimeout: (f, ms) => { timers.push({ f, ms }); return timers.length; },
      clearTimeout: () => {},
      setInterval: () => 0,
      clearInterval: () => {},
      now: () => now,
      random: () => 1,
    },
  });
  const runTimer = async () => { const t = timers.shift(); await t.f(); };
  return { s, sockets, timers, frames, statuses, runTimer, opens: () => opens, advance: (ms) => { now += ms; } };
}

test('backoff doubles up to 15 s with jitter in [d/2, d]', () => {
  assert.equal(backoffDelay(0, () => 1), 500);
  assert.equal(backoffDelay(3, () => 1), 4000);
  assert.equal(backoffDelay(10, () => 1), 15000);
  assert.equal(backoffDelay(10, () => 0), 7500);
});

test('frames are delivered after the open refresh, pong is swallowed, a drop reconnects and refreshes again', async () => {
  const h = harness();
  h.s.start();
  assert.equal(h.sockets.length, 1);
  await h.sockets[0].open();
  h.sockets[0].frame({ type: 'hello', agent: { id: 'a1' } });
  h.sockets[0].frame({ type: 'pong' });
  assert.deepEqual(h.frames.map((f) => f.type), ['hello']);
  assert.equal(h.statuses.at(-1), 'connected');
  h.sockets[0].fail();
  assert.equal(h.statuses.at(-1), 'reconnecting');
  assert.equal(h.timers.length, 1);
  await h.runTimer();
  assert.equal(h.sockets.length, 2);
  await h.sockets[1].open();
  assert.equal(h.opens(), 2, 'state is re-fetched on every reconnect');
});

test('after repeated failures to open, onRetry decides; false stops (expired session)', async () => {
  let asked = 0;
  const h = harness({ onRetry: async () => { asked++; return false; } });
  h.s.start();
  h.sockets[0].fail();
  await h.runTimer();
  h.sockets[1].fail();
  await h.runTimer();
  assert.equal(asked, 1);
  assert.equal(h.sockets.length, 2, 'no third connection');
  assert.equal(h.statuses.at(-1), 'stopped');
});
