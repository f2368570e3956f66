// Unit tests of the voice channel's audio conversions (src/voice-audio.js):
// the 48 kHz / 44.1 kHz → 16 kHz resampler keeps speech-band tones and
// removes what would alias, independent of chunking; pcm16 encoding is
// little-endian and clipped; frames are 20 ms. Run: npm test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Framer, Resampler, floatToPcm16, pcm16ToFloat, peakLevel } from '../src/voice-audio.js';

function tone(freq, rate, seconds, amp = 0.5) {
  const n = Math.round(rate * seconds);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate);
  return out;
}

// Amplitude of `freq` in `x` (sampled at `rate`), by correlation with sine and cosine.
function amplitudeAt(x, rate, freq) {
  let s = 0;
  let c = 0;
  for (let i = 0; i < x.length; i++) {
    s += x[i] * Math.sin((2 * Math.PI * freq * i) / rate);
    c += x[i] * Math.cos((2 * Math.PI * freq * i) / rate);
  }
  return (2 * Math.hypot(s, c)) / x.length;
}

function concat(parts) {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Float32Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// The steady middle of a resampled signal (the filter's edges excluded).
const middle = (x) => x.subarray(Math.floor(x.length * 0.2), Math.floor(x.length * 0.8));

test('48 kHz → 16 kHz keeps a 1 kHz tone at its amplitude and frequency', () => {
  const r = new Resampler(48000, 16000);
  const out = concat([r.push(tone(1000, 48000, 1)), r.flush()]);
  assert.ok(Math.abs(out.length - 16000) <= 40, `length ${out.length}`);
  const mid = middle(out);
  const a = amplitudeAt(mid, 16000, 1000);
  assert.ok(Math.abs(a - 0.5) < 0.01, `1 kHz amplitude ${a}`);
  assert.ok(amplitudeAt(mid, 16000, 2000) < 0.01);
});

test('a 3.4 kHz speech-band tone passes; a 12 kHz tone (which would fold to 4 kHz) is removed', () => {
  const pass = new Resampler(48000, 16000);
  const p = middle(concat([pass.push(tone(3400, 48000, 0.5)), pass.flush()]));
  assert.ok(amplitudeAt(p, 16000, 3400) > 0.48, 'speech band kept');

  const stop = new Resampler(48000, 16000);
  const s = middle(concat([stop.push(tone(12000, 48000, 0.5)), stop.flush()]));
  // Plain decimation (every third sample) would leave a 4 kHz tone of amplitude 0.5.
  const naive = tone(12000, 48000, 0.5).filter((_, i) => i % 3 === 0);
  assert.ok(amplitudeAt(middle(naive), 16000, 4000) > 0.4, 'the test signal does alias without a filter');
  assert.ok(peakLevel(s) < 0.01, `alias peak ${peakLevel(s)}`);
});

test('44.1 kHz → 16 kHz (a fractional ratio) keeps a 440 Hz tone', () => {
  const r = new Resampler(44100, 16000);
  const out = concat([r.push(tone(440, 44100, 1)), r.flush()]);
  assert.ok(Math.abs(out.length - 16000) <= 40, `length ${out.length}`);
  const a = amplitudeAt(middle(out), 16000, 440);
  assert.ok(Math.abs(a - 0.5) < 0.01, `amplitude ${a}`);
});

test('the output does not depend on how the input is cut into chunks', () => {
  const input = concat([tone(700, 48000, 0.3), tone(2500, 48000, 0.3, 0.3)]);
  const whole = new Resampler(48000, 16000);
  const a = concat([whole.push(input), whole.flush()]);
  const chunked = new Resampler(48000, 16000);
  const parts = [];
  for (let i = 0, k = 0; i < input.length; k++) {
    const n = [128, 960, 1, 333, 2048][k % 5];
    parts.push(chunked.push(input.subarray(i, i + n)));
    i += n;
  }
  parts.push(chunked.flush());
  const b = concat(parts);
  assert.equal(b.length, a.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-6, `sample ${i}`);
});

test('equal rates copy; upsampling is refused', () => {
  const r = new Resampler(16000, 16000);
  assert.deepEqual([...r.push(Float32Array.of(0.1, -0.2))].map((x) => Math.round(x * 10)), [1, -2]);
  assert.throws(() => new Resampler(8000, 16000), RangeError);
});

test('pcm16 is signed 16-bit little-endian, clipped to the range', () => {
  const bytes = new Uint8Array(floatToPcm16(Float32Array.of(0, 1, -1, 0.5, 2, -3)));
  assert.deepEqual([...bytes.subarray(0, 6)], [0x00, 0x00, 0xff, 0x7f, 0x00, 0x80]);  // 0, 32767, -32768
  const back = pcm16ToFloat(bytes);
  assert.equal(back.length, 6);
  assert.ok(Math.abs(back[3] - 0.5) < 1e-4);
  assert.equal(back[4], 32767 / 32768);
  assert.equal(back[5], -1);
  // A trailing odd byte (half a sample) is ignored.
  assert.equal(pcm16ToFloat(new Uint8Array([1, 0, 7])).length, 1);
});

test('frames are 320 samples (20 ms at 16 kHz) = 640 bytes; the rest comes out on flush', () => {
  const f = new Framer(320);
  const frames = [...f.push(new Float32Array(500)), ...f.push(new Float32Array(500))];
  assert.deepEqual(frames.map((x) => x.byteLength), [640, 640, 640]);
  assert.deepEqual(f.flush().map((x) => x.byteLength), [(1000 - 960) * 2]);
  assert.deepEqual(f.flush(), []);
});
