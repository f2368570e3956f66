// VoiceClient: the widget's microphone button and spoken replies, over the
// conversation's voice socket `GET /v1/conversations/{id}/voice` (protocol in
// docs/voice.md, "The voice socket").
//
// Contract:
// - `toggle()` is the microphone button. From idle it opens the microphone and
//   the voice socket and streams 16 kHz mono pcm16 in 20 ms binary frames
//   (resampled here, src/voice-audio.js); pressed again it sends what is left
//   and `end_of_turn`, and closes the microphone. Audio captured before the
//   server's `ready` waits (at most 10 s of it) and is sent right after, in
//   frames of up to 1 s.
// - The server also ends turns by itself (its endpointer, on silence): such
//   a transcript arrives while listening and the microphone stays open for
//   the next turn, so the customer can talk over a reply (barge-in). A press
//   after that with nothing heard since only closes the microphone.
// - Interim transcripts land in `state.voice.partial`; the final `transcript`
//   carries the stored customer message, which joins the chat (ChatClient).
//   The reply and every other conversation event on this socket go to the
//   ChatClient too (deduped by seq against the text socket).
// - Reply audio is played sentence by sentence (src/voice-player.js); the
//   speaker state goes back as `playback` started / ended; `barge_in` stops
//   it at once and drops the rest of that reply's audio.
// - Failures (no microphone, permission denied, no voice service, socket
//   lost) end in `state.voice.error` with a sentence for the customer; never
//   an exception out of toggle().
//
// `state.voice` (pass a Vue reactive object as `state`):
//   phase    idle | connecting | listening | recognising | speaking
//   mic      the microphone is open;  playing  reply audio is playing
//   partial  interim transcript;  heard  the server heard speech this turn
//   level    microphone level 0..1 while listening
//   error    what went wrong, for the customer ('' when nothing)
//   stats    counters for tests and debugging (window.__kefu.voice.stats)
// Single-threaded (browser event loop). Environment access is injectable for
// unit tests (test/voice-client.test.mjs).

import { Framer, Resampler, TARGET_RATE, peakLevel } from './voice-audio.js';
import { SentencePlayer } from './voice-player.js';
import { MicError, micErrorText, openMicrophone } from './voice-capture.js';

export const VoicePhase = Object.freeze({
  IDLE: 'idle',
  CONNECTING: 'connecting',
  LISTENING: 'listening',
  RECOGNISING: 'recognising',
  SPEAKING: 'speaking',
});

const FRAME_MS = 20;
const MAX_PENDING_FRAMES = 500;        // 10 s of 20 ms frames waiting for `ready`
const TRANSCRIPT_TIMEOUT_MS = 30000;   // after end_of_turn
const IDLE_CLOSE_MS = 60000;           // the voice socket closes after a minute unused
const METER_MS = 50;
const SILENT_MIC_MS = 60000;           // an open microphone that hears no speech for this long closes

const SERVER_ERRORS = {
  unavailable: '语音服务暂时不可用，请稍后再试或直接输入文字。',
  not_found: '会话已结束。',
  rate_limited: '说话太频繁，请稍后再试。',
};

export class VoiceClient {
  /**
   * @param {object} opts
   * @param {import('./chat-client.js').ChatClient} opts.chat  the page's conversation
   * @param {object} [opts.state]        object to mutate (default chat.state); `state.voice` is set
   * @param {string} [opts.workletUrl]   URL of src/mic-worklet.js (built asset)
   * @param {boolean} [opts.tts]         ask for spoken replies (default true)
   * @param {object} [opts.env]          overrides: WebSocket, openMicrophone, createAudioContext,
   *                                     setTimeout, clearTimeout, setInterval, clearInterval
   */
  constructor({ chat, state, workletUrl = '', tts = true, env = {} }) {
    this.chat = chat;
    this.state = state || chat.state;
    this.workletUrl = workletUrl;
    this.tts = tts;
    this.env = {
      WebSocket: env.WebSocket || globalThis.WebSocket,
      openMicrophone: env.openMicrophone || openMicrophone,
      createAudioContext: env.createAudioContext || defaultAudioContext,
      setTimeout: env.setTimeout || globalThis.setTimeout.bind(globalThis),
      clearTimeout: env.clearTimeout || globalThis.clearTimeout.bind(globalThis),
      setInterval: env.setInterval || globalThis.setInterval.bind(globalThis),
      clearInterval: env.clearInterval || globalThis.clearInterval.bind(globalThis),
    };
    this.state.voice = {
      phase: VoicePhase.IDLE, mic: false, playing: false, partial: '', heard: false, level: 0, error: '',
      stats: {
        framesSent: 0, bytesSent: 0, turns: 0, transcripts: 0, noSpeech: 0, bargeIns: 0,
        sentencesQueued: 0, sentencesPlayed: 0, sentencesStopped: 0, outputPeak: 0, lastTranscript: '', lastSpoken: '',
        capture: '',
      },
    };
    this.v = this.state.voice;   // the reactive proxy when state is reactive
    this.ctx = null;
    this.player = null;
    this.analyser = null;
    this.ws = null;
    this.ready = false;
    this.opened = false;
    this.pending = [];           // frames (and a trailing end_of_turn) waiting for `ready`
    this.mic = null;
    this.opening = 0;            // token of a microphone being opened; 0 when none
    this.resampler = null;
    this.framer = null;
    this.rate = TARGET_RATE;
    this.awaitingTranscript = false;
    this.micTranscripts = 0;         // transcripts that came while this microphone was open
    this.transcriptTimer = null;
    this.idleTimer = null;
    this.meterTimer = null;
    this.silenceTimer = null;
    this.serverError = null;        // the last `error` frame's text: why the server closed
    this.stopped = false;
  }

  // ---------------------------------------------------------------- the button

  /** The microphone button: start listening, or end the turn. Never throws. */
  async toggle() {
    if (this.mic) return this.endTurn();
    if (this.opening) return this._cancelOpening();
    return this.startTurn();
  }

  /** Opens the microphone and the voice socket; audio streams until endTurn(). */
  async startTurn() {
    if (this.stopped || this.mic || this.opening || this.chat.state.ended || !this.chat.state.conversation) return;
    this.v.error = '';
    this.v.partial = '';
    this.v.heard = false;
    const token = (this.opening = (this._token = (this._token || 0) + 1));
    this._update();
    try {
      // Created (or resumed) inside the click: browsers only let a page make sound after a gesture.
      this._audio();
    } catch {
      this._fail(token, new MicError('unsupported'));
      return;
    }
    if (!(this.ctx.sampleRate >= 8000)) {
      this._fail(token, new MicError('unsupported'));
      return;
    }
    this.rate = Math.min(TARGET_RATE, this.ctx.sampleRate);
    if (!this._connect()) {
      this.opening = 0;
      this._update();
      return;
    }
    let mic;
    try {
      mic = await this.env.openMicrophone({ context: this.ctx, workletUrl: this.workletUrl, onAudio: (s) => this._onAudio(s) });
    } catch (e) {
      this._fail(token, e instanceof MicError ? e : new MicError('failed', e && e.message));
      return;
    }
    if (token !== this.opening || this.stopped || !this.ws) {
      mic.stop();  // cancelled while the permission prompt was open, or the socket failed meanwhile
      if (token === this.opening) this.opening = 0;
      this._update();
      return;
    }
    this.opening = 0;
    this.mic = mic;
    this.micTranscripts = 0;
    this.resampler = mic.sampleRate > this.rate ? new Resampler(mic.sampleRate, this.rate) : null;
    this.framer = new Framer(Math.round((this.rate * FRAME_MS) / 1000));
    this.v.mic = true;
    this.v.stats.turns++;
    this.v.stats.capture = mic.mode || '';
    this._armSilence();
    this._update();
  }

  // A microphone left open (hands-free, forgotten) closes after a minute in
  // which the server heard no speech: it holds one of the server's voice calls.
  _armSilence() {
    this.env.clearTimeout(this.silenceTimer);
    this.silenceTimer = this.env.setTimeout(() => {
      if (!this.mic) return;
      const heard = this.v.heard;
      this.endTurn();
      if (!heard) this.v.error = '很久没有听到声音，麦克风已关闭；需要时请再点一次。';
    }, SILENT_MIC_MS);
  }

  /**
   * Sends the rest of the audio and end_of_turn, and closes the microphone.
   * When the server already ended the turn itself (a transcript came while
   * listening) and heard nothing since, the microphone just closes: an
   * end_of_turn over silence would only bring a no_speech.
   */
  endTurn() {
    if (!this.mic) return;
    const tail = this.resampler ? this.resampler.flush() : new Float32Array(0);
    for (const f of [...this.framer.push(tail), ...this.framer.flush()]) this._sendAudio(f);
    this._closeMic();
    if (this.micTranscripts > 0 && !this.v.heard) {
      this._update();
      return;
    }
    this._sendControl({ type: 'end_of_turn' });
    this.awaitingTranscript = true;
    this.env.clearTimeout(this.transcriptTimer);
    this.transcriptTimer = this.env.setTimeout(() => {
      if (!this.awaitingTranscript) return;
      this.awaitingTranscript = false;
      this.v.partial = '';
      this.v.error = '语音识别超时，请再说一次或直接输入文字。';
      this._update();
    }, TRANSCRIPT_TIMEOUT_MS);
    this._update();
  }

  /** Stops the reply being read aloud (the customer's 停止朗读 button). */
  stopPlayback() {
    if (this.player) this.player.stop();
  }

  /** Closes everything for good (conversation switched, page unloaded). */
  stop() {
    this.stopped = true;
    this.opening = 0;
    this._closeMic();
    if (this.player) this.player.stop();
    this._closeSocket();
    this.env.clearTimeout(this.transcriptTimer);
    this.env.clearTimeout(this.idleTimer);
    this.env.clearInterval(this.meterTimer);
    this.meterTimer = null;
    this.awaitingTranscript = false;
    if (this.ctx && typeof this.ctx.close === 'function') this.ctx.close().catch(() => {});
    this.ctx = null;
    this._update();
  }

  // ---------------------------------------------------------------- audio

  _audio() {
    if (!this.ctx) {
      this.ctx = this.env.createAudioContext();
      const out = this.ctx.createGain();
      out.connect(this.ctx.destination);
      if (typeof this.ctx.createAnalyser === 'function') {
        this.analyser = this.ctx.createAnalyser();
        this.analyser.fftSize = 1024;
        out.connect(this.analyser);
      }
      this.player = new SentencePlayer({ context: this.ctx, output: out, onPlaying: (p) => this._onPlaying(p), onSentenceEnd: () => this._syncPlayerStats() });
    }
    if (this.ctx.state === 'suspended' && typeof this.ctx.resume === 'function') this.ctx.resume().catch(() => {});
    return this.ctx;
  }

  _onAudio(samples) {
    if (!this.mic) return;
    this.v.level = peakLevel(samples);
    const out = this.resampler ? this.resampler.push(samples) : samples;
    for (const f of this.framer.push(out)) this._sendAudio(f);
  }

  _closeMic() {
    this.env.clearTimeout(this.silenceTimer);
    if (!this.mic) return;
    this.mic.stop();
    this.mic = null;
    this.resampler = null;
    this.v.mic = false;
    this.v.level = 0;
  }

  _cancelOpening() {
    this.opening = 0;
    this._update();
  }

  _fail(token, err) {
    if (token !== this.opening) return;
    this.opening = 0;
    // The socket opened for this turn has nothing to do unless a reply is still coming or playing.
    if (!this.awaitingTranscript && !(this.player && this.player.playing)) this._closeSocket();
    this.v.error = micErrorText(err.code);
    this.v.errorCode = err.code;
    this._update();
  }

  _onPlaying(playing) {
    this.v.playing = playing;
    this._sendControl({ type: 'playback', state: playing ? 'started' : 'ended' }, false);
    this.env.clearInterval(this.meterTimer);
    this.meterTimer = null;
    if (playing && this.analyser) {
      const buf = new Float32Array(this.analyser.fftSize);
      this.meterTimer = this.env.setInterval(() => {
        this.analyser.getFloatTimeDomainData(buf);
        const p = peakLevel(buf);
        if (p > this.v.stats.outputPeak) this.v.stats.outputPeak = p;
      }, METER_MS);
    }
    this._syncPlayerStats();
    this._update();
  }

  _syncPlayerStats() {
    if (!this.player) return;
    const s = this.player.stats;
    Object.assign(this.v.stats, {
      sentencesQueued: s.sentencesQueued, sentencesPlayed: s.sentencesPlayed, sentencesStopped: s.sentencesStopped, lastSpoken: s.lastText,
    });
  }

  // ---------------------------------------------------------------- socket

  // Opens the voice socket unless one is open; false when it cannot be made.
  _connect() {
    if (this.ws) return true;
    const url = this.chat.socketUrl('voice');
    let ws;
    try {
      ws = new this.env.WebSocket(url);
    } catch {
      this.v.error = '语音服务暂时无法连接，请稍后再试或直接输入文字。';
      return false;
    }
    this.ws = ws;
    this.ready = false;
    this.opened = false;
    this.serverError = null;
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.opened = true;
      ws.send(JSON.stringify({ type: 'start', format: 'pcm16', sample_rate: this.rate, tts: this.tts }));
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      if (typeof ev.data === 'string') this._onText(ev.data);
      else this._onBinary(ev.data);
    };
    ws.onclose = (ev) => this._onClose(ws, ev);
    ws.onerror = () => {};  // onclose follows
    this._touch();
    return true;
  }

  _closeSocket() {
    const ws = this.ws;
    this.ws = null;
    this.ready = false;
    this.pending = [];
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close(1000);
    } catch {
      /* already closed */
    }
  }

  _onClose(ws, ev) {
    if (ws !== this.ws) return;
    const wasOpen = this.opened;
    this.ws = null;
    this.ready = false;
    this.pending = [];
    this._closeMic();
    if (this.player) this.player.stop();
    this.awaitingTranscript = false;
    this.v.partial = '';
    if (!this.stopped && !this.chat.state.ended) {
      if (this.serverError) this.v.error = this.serverError;
      else if (!wasOpen) this.v.error = '语音服务暂时无法连接，请稍后再试或直接输入文字。';
      else if (!ev || ev.code !== 1000) this.v.error = '语音连接已断开，请再点一次麦克风。';
    }
    this._update();
  }

  _sendAudio(frame) {
    if (this.ws && this.ready && this.ws.readyState === 1) {
      this._write(frame);
      return;
    }
    if (this.pending.length < MAX_PENDING_FRAMES) this.pending.push(frame);
  }

  // Control frames keep their place after audio still waiting for `ready`;
  // `queue = false` sends now or never (playback state is only useful live).
  _sendControl(obj, queue = true) {
    if (this.ws && this.ready && this.ws.readyState === 1) this._write(JSON.stringify(obj));
    else if (queue && this.ws) this.pending.push(JSON.stringify(obj));
  }

  _write(data) {
    try {
      this.ws.send(data);
    } catch {
      return;  // onclose follows
    }
    if (typeof data !== 'string') {
      this.v.stats.framesSent++;
      this.v.stats.bytesSent += data.byteLength;
    }
    this._touch();
  }

  _onText(text) {
    let f;
    try {
      f = JSON.parse(text);
    } catch {
      return;
    }
    if (!f || typeof f !== 'object') return;
    this._touch();
    switch (f.type) {
      case 'ready': {
        this.ready = true;
        this.v.ttsRate = f.tts_sample_rate || 0;
        const waiting = coalesce(this.pending);
        this.pending = [];
        for (const x of waiting) this._write(x);
        break;
      }
      case 'speech_started':
        this.v.heard = true;
        if (this.mic) this._armSilence();
        break;
      case 'partial':
        if (typeof f.text === 'string') this.v.partial = f.text;
        break;
      case 'transcript':
        // With the microphone still open the server ended the turn itself (its endpointer): keep listening.
        if (this.mic) {
          this.micTranscripts++;
          this._armSilence();
        }
        this.v.heard = false;
        this._transcriptDone();
        this.v.stats.transcripts++;
        this.v.stats.lastTranscript = String(f.text || '');
        if (f.message) this.chat.addOwnMessage(f.message);
        break;
      case 'no_speech':
        this.v.stats.noSpeech++;
        this.v.heard = false;
        // Only the answer to our end_of_turn is news to the customer. While listening it was a
        // noise the server's endpointer took for speech; after a transcript it answers an
        // end_of_turn whose speech the endpointer had already taken.
        if (this.awaitingTranscript) this.v.error = '没有听清，请靠近麦克风再说一次。';
        this._transcriptDone();
        break;
      case 'message':
      case 'delta':
      case 'closed':
      case 'inbox':
        this.chat.receiveFrame(f);
        if (f.type === 'closed') this.stop();
        break;
      case 'audio_start':
        if (this.player) this.player.begin(f);
        break;
      case 'audio_end':
        if (this.player) this.player.end(f);
        this._syncPlayerStats();
        break;
      case 'barge_in':
        this.v.stats.bargeIns++;
        if (this.player) this.player.stop();
        this._syncPlayerStats();
        break;
      case 'error':
        this.serverError = SERVER_ERRORS[f.code] || `语音出错：${f.message || f.code || '未知错误'}`;
        this.v.error = this.serverError;
        if (this.awaitingTranscript) this._transcriptDone();
        break;
      default:
        break;  // future frame types
    }
    this._update();
  }

  _onBinary(data) {
    if (this.player) this.player.data(data);
  }

  _transcriptDone() {
    this.awaitingTranscript = false;
    this.env.clearTimeout(this.transcriptTimer);
    this.v.partial = '';
  }

  // The socket closes after a minute with no microphone, no playback and
  // nothing heard; the next press opens a new one.
  _touch() {
    this.env.clearTimeout(this.idleTimer);
    this.idleTimer = this.env.setTimeout(() => {
      if (this.mic || this.opening || this.awaitingTranscript || (this.player && this.player.playing)) {
        this._touch();
        return;
      }
      this._closeSocket();
      this._update();
    }, IDLE_CLOSE_MS);
  }

  _update() {
    let phase = VoicePhase.IDLE;
    if (this.mic) phase = VoicePhase.LISTENING;
    else if (this.opening) phase = VoicePhase.CONNECTING;
    else if (this.awaitingTranscript) phase = VoicePhase.RECOGNISING;
    else if (this.player && this.player.playing) phase = VoicePhase.SPEAKING;
    this.v.phase = phase;
  }

  /** Hooks for end-to-end tests and manual debugging (window.__kefu.voice). */
  get debug() {
    return {
      stats: this.v.stats,
      socketOpen: () => Boolean(this.ws && this.ready),
      sampleRate: () => (this.ctx ? this.ctx.sampleRate : 0),
    };
  }
}

// Audio that waited for `ready` goes out in frames of up to 1 s (32 000 bytes;
// the protocol allows 64 KiB) rather than 50 small ones per second of it: the
// server limits binary messages per second. Text frames keep their place.
const COALESCED_BYTES = 32000;
export function coalesce(items) {
  const out = [];
  let run = [];
  let bytes = 0;
  const flush = () => {
    if (!run.length) return;
    const joined = new Uint8Array(bytes);
    let o = 0;
    for (const b of run) {
      joined.set(new Uint8Array(b), o);
      o += b.byteLength;
    }
    out.push(joined.buffer);
    run = [];
    bytes = 0;
  };
  for (const x of items) {
    if (typeof x === 'string') {
      flush();
      out.push(x);
      continue;
    }
    if (bytes + x.byteLength > COALESCED_BYTES) flush();
    run.push(x);
    bytes += x.byteLength;
  }
  flush();
  return out;
}

function defaultAudioContext() {
  const Ctor = globalThis.AudioContext || globalThis.webkitAudioContext;
  if (!Ctor) throw new Error('no WebAudio');
  return new Ctor({ latencyHint: 'interactive' });
}
