// Unit tests of the microphone button's client (src/voice-client.js) with a
// real ChatClient, a scripted voice socket (the test plays the server of the
// protocol in docs/voice.md), a fake microphone and a fake AudioContext.
// Run: npm test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatClient } from '../src/chat-client.js';
import { VoiceClient, VoicePhase, coalesce } from '../src/voice-client.js';
import { MicError } from '../src/voice-capture.js';
import { floatToPcm16, pcm16ToFloat } from '../src/voice-audio.js';
import { FakeAudioContext } from './fake-audio.mjs';

class Timers {
  constructor() { this.now = 1_700_000_000_000; this.q = []; this.nextId = 1; }
  setTimeout = (fn, ms) => { const id = this.nextId++; this.q.push({ id, at: this.now + ms, fn }); return id; };
  clearTimeout = (id) => { this.q = this.q.filter((t) => t.id !== id); };
  setInterval = (fn, ms) => { const id = this.nextId++; const t = { id, at: this.now + ms, fn, every: ms }; this.q.push(t); return id; };
  clearInterval = (id) => this.clearTimeout(id);
  advance(ms) {
    const end = this.now + ms;
    for (;;) {
      this.q.sort((a, b) => a.at - b.at);
      const t = this.q[0];
      if (!t || t.at > end) break;
      this.now = t.at;
      if (t.every) t.at += t.every;
      else this.q.shift();
      t.fn();
    }
    this.now = end;
  }
}

class MemoryStorage {
  constructor() { this.m = new Map(); }
  getItem(k) { return this.m.has(k) ? this.m.get(k) : null; }
  setItem(k, v) { this.m.set(k, String(v)); }
  removeItem(k) { this.m.delete(k); }
}

// Every socket the page opens; the text socket just opens, the voice socket is
// driven by the test.
function socketClass(sockets) {
  return class FakeWebSocket {
    constructor(url) {
      this.url = url;
      this.readyState = 0;
      this.sent = [];
      this.closedWith = null;
      this.kind = new URL(url.replace(/^ws/, 'http')).pathname.split('/').pop();
      sockets.push(this);
      if (this.kind === 'ws') queueMicrotask(() => this.serverOpen());
    }
    serverOpen() { this.readyState = 1; this.onopen && this.onopen(); }
    push(frame) { this.onmessage && this.onmessage({ data: JSON.stringify(frame) }); }
    pushBinary(buf) { this.onmessage && this.onmessage({ data: buf }); }
    serverClose(code = 1006) { this.readyState = 3; this.onclose && this.onclose({ code }); }
    send(data) { this.sent.push(data); }
    close(code) { this.closedWith = code ?? 1005; this.readyState = 3; }
    text() { return this.sent.filter((d) => typeof d === 'string').map((d) => JSON.parse(d)); }
    binary() { return this.sent.filter((d) => typeof d !== 'string'); }
  };
}

// A microphone whose audio the test pushes; or one that fails with `failWith`.
function fakeMic(ctl) {
  return async ({ context, onAudio }) => {
    ctl.calls++;
    if (ctl.failWith) throw new MicError(ctl.failWith);
    if (ctl.gate) await ctl.gate;
    ctl.onAudio = onAudio;
    ctl.open = true;
    return { sampleRate: context.sampleRate, stop: () => { ctl.open = false; ctl.stops++; } };
  };
}

function customerMsg(seq, text) {
  return { id: 100 + seq, conversation_id: 'c_1', seq, role: 'customer', text, client_msg_id: null, reply_to: null, created_ms: 0, meta: { channel: 'voice' } };
}

async function setup({ rate = 48000, mic = {} } = {}) {
  const timers = new Timers();
  const sockets = [];
  const WebSocket = socketClass(sockets);
  const fetch = async (url, init) => {
    const u = new URL(url, 'http://kefu.test');
    const json = (status, body) => ({ ok: status < 400, status, text: async () => JSON.stringify(body) });
    if (init.method === 'POST' && u.pathname === '/v1/conversations') return json(201, { id: 'c_1', status: 'open' });
    if (u.pathname.endsWith('/messages')) return json(200, { messages: [] });
    return json(404, { error: { code: 'not_found' } });
  };
  const state = {};
  const chat = new ChatClient({
    widgetKey: 'demo', customerId: 'C0001', state,
    env: { fetch, WebSocket, storage: new MemoryStorage(), setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout, now: () => timers.now, location: { protocol: 'http:', host: 'kefu.test' } },
  });
  await chat.start();
  await new Promise((r) => setImmediate(r));
  const ctl = { calls: 0, stops: 0, open: false, ...mic };
  const contexts = [];
  const voice = new VoiceClient({
    chat, state, workletUrl: '/assets/mic-worklet.js',
    env: {
      WebSocket, openMicrophone: fakeMic(ctl),
      createAudioContext: () => { const c = new FakeAudioContext({ sampleRate: rate }); contexts.push(c); return c; },
      setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout, setInterval: timers.setInterval, clearInterval: timers.clearInterval,
    },
  });
  const voiceSocket = () => sockets.filter((s) => s.kind === 'voice').pop();
  return { timers, sockets, chat, state, voice, ctl, contexts, voiceSocket };
}

// The next 20 ms of a continuous 440 Hz tone at `rate`, as the worklet delivers it.
const phase = new Map();
function chunk(rate, ms = 20, amp = 0.3) {
  const n = Math.round((rate * ms) / 1000);
  const x = new Float32Array(n);
  const start = phase.get(rate) || 0;
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * 440 * (start + i)) / rate);
  phase.set(rate, start + n);
  return x;
}

function pcm(seconds, rate) {
  const x = new Float32Array(Math.round(seconds * rate)).fill(0.2);
  return floatToPcm16(x);
}

test('press: socket with the text socket\'s query, start frame, 20 ms pcm16 frames at 16 kHz; audio before ready waits', async () => {
  const { voice, ctl, state, voiceSocket, contexts } = await setup();
  await voice.toggle();
  const ws = voiceSocket();
  assert.ok(ws, 'a voice socket was opened');
  assert.equal(ws.url, 'ws://kefu.test/v1/conversations/c_1/voice?after_seq=0&widget_key=demo');
  assert.equal(state.voice.phase, VoicePhase.LISTENING);
  assert.equal(state.voice.mic, true);
  assert.equal(contexts[0].state, 'running', 'the AudioContext is resumed inside the click');
  // 100 ms spoken before the socket is even open: kept.
  for (let i = 0; i < 5; i++) ctl.onAudio(chunk(48000));
  assert.equal(ws.sent.length, 0);
  ws.serverOpen();
  assert.deepEqual(ws.text(), [{ type: 'start', format: 'pcm16', sample_rate: 16000, tts: true }]);
  assert.equal(ws.binary().length, 0, 'nothing before ready');
  ws.push({ type: 'ready', sample_rate: 16000, tts_format: 'pcm16', tts_sample_rate: 22050, asr: 'pocketsphinx', tts: 'espeak' });
  // What waited for ready went out as one frame.
  const waited = ws.binary();
  assert.equal(waited.length, 1);
  assert.ok(waited[0].byteLength >= 4 * 640 && waited[0].byteLength <= 5 * 640, `${waited[0].byteLength} bytes`);
  ws.sent.length = 0;
  for (let i = 0; i < 45; i++) ctl.onAudio(chunk(48000));
  const frames = ws.binary();
  // 0.9 s of 48 kHz audio → 45 frames of 640 bytes (20 ms at 16 kHz).
  assert.ok(frames.length >= 44 && frames.length <= 46, `${frames.length} frames`);
  assert.ok(frames.every((f) => f.byteLength === 640));
  assert.equal(state.voice.stats.framesSent, frames.length + 1);
  // The samples are the tone, resampled: a 440 Hz sine at amplitude 0.3.
  const x = pcm16ToFloat(frames[20]);
  const peak = Math.max(...x.map(Math.abs));
  assert.ok(peak > 0.28 && peak < 0.31, `peak ${peak}`);
  assert.ok(state.voice.level > 0.28);
});

test('press again: the rest of the audio, then end_of_turn; partial, then the transcript joins the chat as the customer\'s message', async () => {
  const { voice, ctl, state, voiceSocket } = await setup();
  await voice.toggle();
  const ws = voiceSocket();
  ws.serverOpen();
  ws.push({ type: 'ready', sample_rate: 16000, tts_format: 'pcm16', tts_sample_rate: 22050 });
  for (let i = 0; i < 10; i++) ctl.onAudio(chunk(48000));
  ws.push({ type: 'speech_started' });
  ws.push({ type: 'partial', text: 'where is' });
  assert.equal(state.voice.heard, true);
  assert.equal(state.voice.partial, 'where is');
  const before = ws.binary().length;
  await voice.toggle();
  assert.equal(ctl.open, false, 'the microphone is closed');
  assert.equal(state.voice.mic, false);
  assert.equal(state.voice.phase, VoicePhase.RECOGNISING);
  const last = ws.sent[ws.sent.length - 1];
  assert.deepEqual(JSON.parse(last), { type: 'end_of_turn' });
  const total = ws.binary();
  assert.ok(total.length > before, 'the filter\'s tail went out before end_of_turn');
  const samples = total.reduce((a, f) => a + f.byteLength / 2, 0);
  assert.ok(Math.abs(samples - 3200) <= 2, `all 200 ms were sent: ${samples} samples`);
  // Late worklet chunks after the press are not sent.
  ctl.onAudio && ctl.onAudio(chunk(48000));
  assert.equal(ws.binary().length, total.length);

  ws.push({ type: 'transcript', text: 'where is my order', message: customerMsg(1, 'where is my order') });
  assert.equal(state.voice.partial, '');
  assert.equal(state.voice.phase, VoicePhase.IDLE);
  assert.deepEqual(state.messages.map((m) => [m.seq, m.role, m.text]), [[1, 'customer', 'where is my order']]);
  assert.equal(state.awaiting.seq, 1, 'the typing indicator waits for the reply');
  // The reply on the voice socket and again on the text socket: shown once.
  const reply = { id: 102, conversation_id: 'c_1', seq: 2, role: 'bot', text: 'Your order SO1 is on its way.', reply_to: 101, created_ms: 0, meta: {} };
  ws.push({ type: 'message', message: reply });
  assert.deepEqual(state.messages.map((m) => m.seq), [1, 2]);
  assert.equal(state.awaiting, null);
  assert.equal(state.voice.stats.transcripts, 1);
  assert.equal(state.voice.stats.lastTranscript, 'where is my order');
});

test('the reply is played sentence by sentence; playback started/ended go back; barge_in stops it and drops the rest', async () => {
  const { voice, ctl, state, voiceSocket, contexts } = await setup();
  await voice.toggle();
  const ws = voiceSocket();
  ws.serverOpen();
  ws.push({ type: 'ready', sample_rate: 16000, tts_format: 'pcm16', tts_sample_rate: 22050 });
  ctl.onAudio(chunk(48000));
  await voice.toggle();
  ws.push({ type: 'transcript', text: 'where is my order', message: customerMsg(1, 'where is my order') });
  const ctx = contexts[0];
  const say = (i, seconds) => {
    ws.push({ type: 'audio_start', reply_to: 101, sentence: i, text: `s${i}`, sample_rate: 22050 });
    ws.pushBinary(pcm(seconds, 22050));
    ws.push({ type: 'audio_end', reply_to: 101, sentence: i });
  };
  say(0, 1.0);
  assert.equal(state.voice.phase, VoicePhase.SPEAKING);
  assert.equal(state.voice.playing, true);
  assert.deepEqual(ws.text().filter((f) => f.type === 'playback'), [{ type: 'playback', state: 'started' }]);
  say(1, 1.0);
  ctx.advance(1.5);  // the first sentence has played, the second is half-way
  assert.equal(state.voice.stats.sentencesPlayed, 1);
  // The customer speaks over the bot (mic opened again while it talks): the server says barge_in.
  await voice.toggle();
  assert.equal(state.voice.phase, VoicePhase.LISTENING);
  assert.equal(state.voice.playing, true, 'pressing the microphone does not itself silence the reply');
  ws.push({ type: 'audio_start', reply_to: 101, sentence: 2, text: 's2', sample_rate: 22050 });
  ws.pushBinary(pcm(0.2, 22050));
  ws.push({ type: 'barge_in' });
  assert.equal(state.voice.playing, false);
  assert.ok(ctx.sources.every((s) => s.ended), 'every source stopped');
  assert.ok(ctx.sources[1].stoppedAt !== null && ctx.sources[1].stoppedAt < 2, 'the second sentence was cut');
  ws.push({ type: 'audio_end', reply_to: 101, sentence: 2 });
  ws.push({ type: 'audio_start', reply_to: 101, sentence: 3, text: 's3', sample_rate: 22050 });
  ws.pushBinary(pcm(0.5, 22050));
  ws.push({ type: 'audio_end', reply_to: 101, sentence: 3 });
  assert.equal(ctx.sources.length, 2, 'nothing more of that reply is played');
  assert.deepEqual(ws.text().filter((f) => f.type === 'playback').map((f) => f.state), ['started', 'ended']);
  assert.equal(state.voice.stats.bargeIns, 1);
  assert.equal(state.voice.stats.sentencesPlayed, 1);
  assert.equal(state.voice.stats.sentencesStopped, 1);
  assert.equal(state.voice.phase, VoicePhase.LISTENING, 'still listening to what the customer says');
});

test('a whole reply played to the end: played count, output level, ended once, then idle', async () => {
  const { voice, ctl, state, voiceSocket, contexts, timers } = await setup();
  await voice.toggle();
  const ws = voiceSocket();
  ws.serverOpen();
  ws.push({ type: 'ready', sample_rate: 16000, tts_format: 'pcm16', tts_sample_rate: 22050 });
  ctl.onAudio(chunk(48000));
  await voice.toggle();
  ws.push({ type: 'transcript', text: 'hello', message: customerMsg(1, 'hello') });
  const ctx = contexts[0];
  for (let i = 0; i < 2; i++) {
    ws.push({ type: 'audio_start', reply_to: 101, sentence: i, text: `s${i}`, sample_rate: 22050 });
    ws.pushBinary(pcm(0.5, 22050));
    ws.push({ type: 'audio_end', reply_to: 101, sentence: i });
  }
  ctx.advance(0.25);
  timers.advance(60);
  assert.ok(Math.abs(state.voice.stats.outputPeak - 0.2) < 0.01, `output peak ${state.voice.stats.outputPeak}`);
  ctx.advance(1);
  assert.equal(state.voice.playing, false);
  assert.equal(state.voice.phase, VoicePhase.IDLE);
  assert.equal(state.voice.stats.sentencesPlayed, 2);
  assert.equal(state.voice.stats.lastSpoken, 's1');
  assert.deepEqual(ws.text().filter((f) => f.type === 'playback').map((f) => f.state), ['started', 'ended']);
  // A minute later with nothing going on the voice socket closes; the next press opens another.
  timers.advance(61000);
  assert.equal(ws.closedWith, 1000);
  assert.equal(state.voice.error, '');
  await voice.toggle();
  assert.notEqual(voiceSocket(), ws);
});

test('permission denied or no microphone: a message in the widget, no socket left streaming, no exception', async () => {
  for (const [code, re] of [['denied', /拒绝了麦克风权限/], ['no_device', /没有找到麦克风/], ['insecure', /HTTPS/]]) {
    const { voice, state, ctl, voiceSocket } = await setup({ mic: { failWith: code } });
    await voice.toggle();
    assert.equal(ctl.calls, 1);
    assert.equal(voiceSocket().closedWith, 1000, 'the socket opened for the turn is closed again');
    assert.match(state.voice.error, re);
    assert.equal(state.voice.errorCode, code);
    assert.equal(state.voice.phase, VoicePhase.IDLE);
    assert.equal(state.voice.mic, false);
  }
});

test('no_speech, a server error and a lost socket each end in a message and an idle button', async () => {
  {
    const { voice, ctl, state, voiceSocket } = await setup();
    await voice.toggle();
    const ws = voiceSocket();
    ws.serverOpen();
    ws.push({ type: 'ready', sample_rate: 16000, tts_format: 'pcm16', tts_sample_rate: 22050 });
    ctl.onAudio(chunk(48000));
    await voice.toggle();
    ws.push({ type: 'no_speech' });
    assert.equal(state.voice.phase, VoicePhase.IDLE);
    assert.match(state.voice.error, /没有听清/);
    assert.deepEqual(state.messages, []);
  }
  {
    // The server refuses (e.g. no ASR engine configured): error frame, then close 1008.
    const { voice, state, voiceSocket, ctl } = await setup();
    await voice.toggle();
    const ws = voiceSocket();
    ws.serverOpen();
    ws.push({ type: 'error', code: 'unavailable', message: 'speech recognition is off' });
    ws.serverClose(1008);
    assert.match(state.voice.error, /语音服务暂时不可用/);
    assert.equal(ctl.open, false, 'the microphone is released');
    assert.equal(state.voice.phase, VoicePhase.IDLE);
  }
  {
    // The upgrade fails (an older server: 404): closed before open.
    const { voice, state, voiceSocket } = await setup();
    await voice.toggle();
    voiceSocket().serverClose(1006);
    assert.match(state.voice.error, /语音服务暂时无法连接/);
    assert.equal(state.voice.phase, VoicePhase.IDLE);
  }
  {
    // Dropped mid-turn.
    const { voice, state, voiceSocket, ctl } = await setup();
    await voice.toggle();
    const ws = voiceSocket();
    ws.serverOpen();
    ws.push({ type: 'ready', sample_rate: 16000, tts_format: 'pcm16', tts_sample_rate: 22050 });
    ctl.onAudio(chunk(48000));
    ws.serverClose(1006);
    assert.match(state.voice.error, /语音连接已断开/);
    assert.equal(ctl.open, false);
    assert.equal(state.voice.phase, VoicePhase.IDLE);
  }
});

test('a press while the permission prompt is open cancels; a transcript that never comes times out', async () => {
  let release;
  const gate = new Promise((r) => { release = r; });
  const { voice, state, ctl, voiceSocket, timers } = await setup({ mic: { gate } });
  const first = voice.toggle();
  assert.equal(state.voice.phase, VoicePhase.CONNECTING);
  await voice.toggle();  // changed their mind
  assert.equal(state.voice.phase, VoicePhase.IDLE);
  release();
  await first;
  assert.equal(ctl.open, false, 'the microphone that opened late is closed again');
  assert.equal(state.voice.mic, false);

  ctl.gate = null;
  await voice.toggle();
  const ws = voiceSocket();
  ws.serverOpen();
  ws.push({ type: 'ready', sample_rate: 16000, tts_format: 'pcm16', tts_sample_rate: 22050 });
  ctl.onAudio(chunk(48000));
  await voice.toggle();
  assert.equal(state.voice.phase, VoicePhase.RECOGNISING);
  timers.advance(30001);
  assert.equal(state.voice.phase, VoicePhase.IDLE);
  assert.match(state.voice.error, /超时/);
});

test('a 16 kHz AudioContext is sent as it is; an 8 kHz one at 8 kHz (the server resamples)', async () => {
  for (const rate of [16000, 8000]) {
    const { voice, ctl, voiceSocket } = await setup({ rate });
    await voice.toggle();
    const ws = voiceSocket();
    ws.serverOpen();
    assert.equal(ws.text()[0].sample_rate, rate);
    ws.push({ type: 'ready', sample_rate: 16000 });
    for (let i = 0; i < 5; i++) ctl.onAudio(chunk(rate));
    assert.equal(ws.binary().length, 5);
    assert.ok(ws.binary().every((f) => f.byteLength === (rate / 50) * 2));
  }
});

test('a closed frame on the voice socket ends the chat and the voice client', async () => {
  const { voice, ctl, state, voiceSocket } = await setup();
  await voice.toggle();
  const ws = voiceSocket();
  ws.serverOpen();
  ws.push({ type: 'ready', sample_rate: 16000 });
  ws.push({ type: 'closed', reason: 'agent' });
  assert.equal(state.ended, true);
  assert.equal(ctl.open, false);
  assert.equal(ws.closedWith, 1000);
  await voice.toggle();
  assert.equal(ctl.calls, 1, 'no microphone for an ended conversation');
});

test('the server ends the turn itself: the microphone stays open; a press then only closes it; a noise while listening says nothing', async () => {
  const { voice, ctl, state, voiceSocket } = await setup();
  await voice.toggle();
  const ws = voiceSocket();
  ws.serverOpen();
  ws.push({ type: 'ready', sample_rate: 16000 });
  ctl.onAudio(chunk(48000));
  ws.push({ type: 'speech_started' });
  ws.push({ type: 'transcript', text: 'where is my order', message: customerMsg(1, 'where is my order') });
  assert.equal(state.voice.phase, VoicePhase.LISTENING);
  assert.equal(ctl.open, true);
  assert.deepEqual(state.messages.map((m) => m.text), ['where is my order']);
  ws.push({ type: 'speech_started' });
  ws.push({ type: 'no_speech' });
  assert.equal(state.voice.error, '', 'a noise the endpointer took for speech is not an error while listening');
  await voice.toggle();
  assert.equal(ctl.open, false);
  assert.equal(state.voice.phase, VoicePhase.IDLE, 'no recognising: nothing was said since the transcript');
  assert.ok(!ws.text().some((f) => f.type === 'end_of_turn'));

  // Speech after a server-ended turn, then the press: end_of_turn as usual.
  await voice.toggle();
  ctl.onAudio(chunk(48000));
  ws.push({ type: 'transcript', text: 'hello', message: customerMsg(3, 'hello') });
  ws.push({ type: 'speech_started' });
  await voice.toggle();
  assert.equal(state.voice.phase, VoicePhase.RECOGNISING);
  assert.deepEqual(ws.text().filter((f) => f.type === 'end_of_turn').length, 1);
  // The endpointer had taken that speech already: its transcript, then no_speech for the press. No error.
  ws.push({ type: 'transcript', text: 'where is it', message: customerMsg(5, 'where is it') });
  ws.push({ type: 'no_speech' });
  assert.equal(state.voice.error, '');
  assert.equal(state.voice.phase, VoicePhase.IDLE);
});

test('waiting audio is joined into frames of at most 32000 bytes; text frames keep their place', () => {
  const b = (n) => new Uint8Array(n).fill(n % 251).buffer;
  const out = coalesce([b(640), b(640), '{"type":"end_of_turn"}', ...Array.from({ length: 60 }, () => b(640)), b(100)]);
  assert.deepEqual(out.map((x) => (typeof x === 'string' ? x : x.byteLength)), [1280, '{"type":"end_of_turn"}', 32000, 640 * 10 + 100]);
  assert.equal(new Uint8Array(out[3])[640 * 10], 100, 'bytes in order');
});

test('a microphone that hears no speech for a minute closes by itself', async () => {
  const { voice, ctl, state, voiceSocket, timers } = await setup();
  await voice.toggle();
  const ws = voiceSocket();
  ws.serverOpen();
  ws.push({ type: 'ready', sample_rate: 16000 });
  timers.advance(50000);
  ws.push({ type: 'speech_started' });
  ws.push({ type: 'transcript', text: 'hello', message: customerMsg(1, 'hello') });
  timers.advance(50000);
  assert.equal(ctl.open, true, 'speech restarted the minute');
  timers.advance(10001);
  assert.equal(ctl.open, false);
  assert.equal(state.voice.phase, VoicePhase.IDLE);
  assert.match(state.voice.error, /麦克风已关闭/);
  assert.ok(!ws.text().some((f) => f.type === 'end_of_turn'), 'nothing said since the last turn: no end_of_turn');
});
