// Unit tests of the spoken-reply player (src/voice-player.js) on a fake
// AudioContext (test/fake-audio.mjs): sentences play back to back at the
// announced rate, the speaker state is reported once per stretch of speech,
// stop() (barge-in) silences at once and drops the rest of that reply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SentencePlayer } from '../src/voice-player.js';
import { floatToPcm16 } from '../src/voice-audio.js';
import { FakeAudioContext } from './fake-audio.mjs';

// `seconds` of a 0.25-amplitude tone as pcm16 bytes at `rate`.
function speech(seconds, rate) {
  const n = Math.round(seconds * rate);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 0.25 * Math.sin(i / 5);
  return floatToPcm16(x);
}

function sentence(player, replyTo, i, seconds, rate = 22050, chunks = 3) {
  player.begin({ type: 'audio_start', reply_to: replyTo, sentence: i, text: `sentence ${i}`, sample_rate: rate });
  const bytes = new Uint8Array(speech(seconds, rate));
  // Cut at odd offsets: a sample may straddle two frames.
  const step = Math.ceil(bytes.length / chunks) | 1;
  for (let o = 0; o < bytes.length; o += step) player.data(bytes.slice(o, o + step).buffer);
  player.end({ type: 'audio_end', reply_to: replyTo, sentence: i });
}

test('sentences are queued back to back at their own rate; started/ended reported once', () => {
  const ctx = new FakeAudioContext();
  const events = [];
  const p = new SentencePlayer({ context: ctx, onPlaying: (x) => events.push(x) });
  sentence(p, 7, 0, 1.0);
  ctx.advance(0.3);
  sentence(p, 7, 1, 0.5, 24000);
  assert.equal(ctx.sources.length, 2);
  const [a, b] = ctx.sources;
  assert.equal(a.buffer.sampleRate, 22050);
  assert.equal(a.buffer.length, 22050);
  assert.ok(Math.abs(a.buffer.getChannelData(0)[5] - 0.25 * Math.sin(1)) < 1e-3, 'the samples survive the frame cuts');
  assert.equal(b.buffer.sampleRate, 24000);
  assert.equal(a.startedAt, 0);
  assert.ok(Math.abs(b.startedAt - 1.0) < 1e-9, `second starts when the first ends, at ${b.startedAt}`);
  assert.deepEqual(events, [true]);
  ctx.advance(0.75);  // t = 1.05: the first has ended, the second plays
  assert.deepEqual(events, [true]);
  assert.equal(p.stats.sentencesPlayed, 1);
  ctx.advance(1);
  assert.deepEqual(events, [true, false]);
  assert.equal(p.stats.sentencesPlayed, 2);
  assert.equal(p.stats.lastText, 'sentence 1');
  // Later speech starts now, not at the old end time.
  sentence(p, 8, 0, 0.2);
  assert.ok(Math.abs(ctx.sources[2].startedAt - ctx.currentTime) < 1e-9);
  assert.deepEqual(events, [true, false, true]);
});

test('stop() silences at once, drops queued sentences and the rest of that reply', () => {
  const ctx = new FakeAudioContext();
  const events = [];
  const p = new SentencePlayer({ context: ctx, onPlaying: (x) => events.push(x) });
  sentence(p, 7, 0, 1.0);
  sentence(p, 7, 1, 1.0);
  ctx.advance(0.4);
  p.begin({ type: 'audio_start', reply_to: 7, sentence: 2, text: 'x', sample_rate: 22050 });
  p.data(speech(0.1, 22050));
  p.stop();
  assert.deepEqual(events, [true, false]);
  assert.ok(ctx.sources.every((s) => s.ended), 'every source stopped');
  assert.equal(ctx.sources[0].stoppedAt, 0.4);
  assert.equal(p.stats.sentencesStopped, 2);
  assert.equal(p.stats.sentencesPlayed, 0);
  // The half-received sentence and anything later of reply 7 are dropped.
  p.end({ type: 'audio_end', reply_to: 7, sentence: 2 });
  sentence(p, 7, 3, 0.5);
  assert.equal(ctx.sources.length, 2);
  assert.deepEqual(events, [true, false]);
  // The next reply plays.
  sentence(p, 9, 0, 0.5);
  assert.equal(ctx.sources.length, 3);
  assert.deepEqual(events, [true, false, true]);
});

test('bad announcements and empty sentences are ignored', () => {
  const ctx = new FakeAudioContext();
  const p = new SentencePlayer({ context: ctx });
  p.data(speech(0.1, 22050));  // audio outside a sentence
  p.end({ type: 'audio_end', reply_to: 1, sentence: 0 });
  p.begin({ type: 'audio_start', reply_to: 1, sentence: 0, sample_rate: 0 });
  p.data(speech(0.1, 22050));
  p.end({ type: 'audio_end', reply_to: 1, sentence: 0 });
  p.begin({ type: 'audio_start', reply_to: 1, sentence: 1, sample_rate: 16000 });
  p.end({ type: 'audio_end', reply_to: 1, sentence: 1 });
  p.begin({ type: 'audio_start', reply_to: 1, sentence: 2, sample_rate: 16000 });
  p.data(speech(0.1, 16000));
  p.end({ type: 'audio_end', reply_to: 1, sentence: 3 });  // not the sentence announced
  assert.equal(ctx.sources.length, 0);
  assert.equal(p.playing, false);
});
