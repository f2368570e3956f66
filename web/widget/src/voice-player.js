// SentencePlayer: plays the bot's spoken reply, sentence by sentence, with
// WebAudio. The voice socket announces each sentence (`audio_start` with its
// sample rate), sends its mono pcm16 in binary frames and closes it
// (`audio_end`); each finished sentence becomes an AudioBufferSourceNode
// queued right after the previous one, so a reply starts playing while later
// sentences are still being synthesised. `stop()` (barge-in) silences it at
// once and drops everything queued.
//
// `onPlaying(true|false)` reports the speaker state: true when the first
// sentence starts from silence, false when the last queued one has finished
// or was stopped. Single-threaded (browser event loop); the AudioContext is
// passed in (a fake one in the unit tests).

import { pcm16ToFloat } from './voice-audio.js';

const MIN_RATE = 3000;
const MAX_RATE = 384000;

export class SentencePlayer {
  /**
   * @param {object} opts
   * @param {AudioContext} opts.context
   * @param {AudioNode} [opts.output]   where sources play (default context.destination)
   * @param {(playing: boolean) => void} [opts.onPlaying]
   * @param {() => void} [opts.onSentenceEnd]   a sentence finished or was stopped (stats changed)
   */
  constructor({ context, output, onPlaying, onSentenceEnd }) {
    this.context = context;
    this.output = output || context.destination;
    this.onPlaying = onPlaying || (() => {});
    this.onSentenceEnd = onSentenceEnd || (() => {});
    this.current = null;      // the sentence being received: {reply_to, sentence, rate, text, chunks, bytes}
    this.sources = [];        // scheduled {node, sentence, stopped}
    this.endTime = 0;         // context time when the last scheduled sentence ends
    this.playing = false;
    this.dropped = new Set(); // reply_to values silenced by stop(): their late audio is ignored
    this.stats = { sentencesQueued: 0, sentencesPlayed: 0, sentencesStopped: 0, secondsQueued: 0, lastText: '' };
  }

  /** `audio_start`: a new sentence begins. */
  begin(frame) {
    const rate = Number(frame.sample_rate);
    if (this.dropped.has(frame.reply_to) || !(rate >= MIN_RATE && rate <= MAX_RATE)) {
      this.current = null;
      return;
    }
    this.current = { reply_to: frame.reply_to, sentence: frame.sentence, rate, text: frame.text || '', chunks: [], bytes: 0 };
  }

  /** A binary frame: pcm16 of the current sentence (ignored outside a sentence). */
  data(buffer) {
    if (!this.current) return;
    const u8 = new Uint8Array(buffer);
    this.current.chunks.push(u8);
    this.current.bytes += u8.byteLength;
  }

  /** `audio_end`: the sentence is complete; queue it. */
  end(frame) {
    const s = this.current;
    this.current = null;
    if (!s || (frame && frame.sentence !== undefined && frame.sentence !== s.sentence)) return;
    if (this.dropped.has(s.reply_to)) return;
    const joined = new Uint8Array(s.bytes);
    let off = 0;
    for (const c of s.chunks) {
      joined.set(c, off);
      off += c.byteLength;
    }
    const samples = pcm16ToFloat(joined);
    if (!samples.length) return;
    const buffer = this.context.createBuffer(1, samples.length, s.rate);
    buffer.getChannelData(0).set(samples);
    const node = this.context.createBufferSource();
    node.buffer = buffer;
    node.connect(this.output);
    const item = { node, sentence: s, stopped: false };
    node.onended = () => this._ended(item);
    const at = Math.max(this.context.currentTime, this.endTime);
    node.start(at);
    this.endTime = at + samples.length / s.rate;
    this.sources.push(item);
    this.stats.sentencesQueued++;
    this.stats.secondsQueued += samples.length / s.rate;
    this._setPlaying(true);
  }

  /** Barge-in: silence now, drop what is queued and the rest of this reply's audio. */
  stop() {
    const items = this.sources;
    this.sources = [];
    if (this.current) this.dropped.add(this.current.reply_to);
    for (const it of items) {
      this.dropped.add(it.sentence.reply_to);
      it.stopped = true;
      this.stats.sentencesStopped++;
      try {
        it.node.onended = null;
        it.node.stop();
        it.node.disconnect();
      } catch {
        /* already stopped */
      }
    }
    this.current = null;
    this.endTime = 0;
    this._setPlaying(false);
  }

  _ended(item) {
    const i = this.sources.indexOf(item);
    if (i < 0) return;
    this.sources.splice(i, 1);
    if (!item.stopped) {
      this.stats.sentencesPlayed++;
      this.stats.lastText = item.sentence.text;
    }
    try {
      item.node.disconnect();
    } catch {
      /* gone */
    }
    this.onSentenceEnd();
    if (!this.sources.length) this._setPlaying(false);
  }

  _setPlaying(p) {
    if (p === this.playing) return;
    this.playing = p;
    if (!p) this.endTime = 0;
    this.onPlaying(p);
  }
}
