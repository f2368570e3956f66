// Audio conversions of the widget's voice channel (docs/voice.md, "The widget"):
// microphone samples (Float32 at the AudioContext's rate, usually 48 kHz) →
// 16 kHz mono signed 16-bit little-endian frames for the voice socket, and the
// server's reply audio (pcm16 bytes) → Float32 for WebAudio. No DOM, no
// WebAudio inside: unit-tested in node (test/voice-audio.test.mjs).

/** The rate the widget sends: what the server's recogniser works at (it resamples anything else). */
export const TARGET_RATE = 16000;

/**
 * Streaming low-pass + resampler from `inRate` down to `outRate` (windowed-sinc
 * interpolation, Blackman window, cutoff at 90 % of the output's Nyquist
 * frequency, so a tone above 8 kHz does not fold back into speech frequencies).
 * Works for any ratio ≥ 1 (48 000 → 16 000, 44 100 → 16 000); with equal rates
 * it copies. The output does not depend on how the input is cut into chunks.
 */
export class Resampler {
  constructor(inRate, outRate = TARGET_RATE, { halfWidth = 8 } = {}) {
    if (!(inRate > 0) || !(outRate > 0) || outRate > inRate) throw new RangeError(`cannot resample ${inRate} Hz to ${outRate} Hz`);
    this.inRate = inRate;
    this.outRate = outRate;
    this.step = inRate / outRate;                    // input samples per output sample
    this.cutoff = (0.5 / this.step) * 0.9;           // cycles per input sample
    this.half = Math.ceil(halfWidth * this.step);    // kernel half-width in input samples
    this.base = -this.half;                          // absolute index of buf[0]
    this.buf = new Float32Array(this.half);          // input kept for the kernel: the stream starts after zeros
    this.produced = 0;                               // output samples so far
    this.cache = new Map();                          // phase → kernel taps
  }

  /** Feeds input samples; returns the output samples they complete. */
  push(input) {
    if (this.step === 1) return Float32Array.from(input);
    const joined = new Float32Array(this.buf.length + input.length);
    joined.set(this.buf);
    joined.set(input, this.buf.length);
    this.buf = joined;
    return this._drain();
  }

  /** Feeds the zeros that let the last input samples out (end of a turn). */
  flush() {
    if (this.step === 1) return new Float32Array(0);
    return this.push(new Float32Array(this.half + 1));
  }

  _drain() {
    const out = [];
    const end = this.base + this.buf.length;  // one past the last absolute input index held
    for (;;) {
      const t = this.produced * this.step;
      const centre = Math.floor(t);
      if (centre + this.half >= end) break;
      const w = this._weights(t - centre);
      const first = centre - this.half + 1 - this.base;
      let acc = 0;
      for (let k = 0; k < w.length; k++) acc += w[k] * this.buf[first + k];
      out.push(acc);
      this.produced++;
    }
    // Keep only what the next output sample's kernel still needs.
    const keepFrom = Math.floor(this.produced * this.step) - this.half + 1;
    if (keepFrom > this.base) {
      this.buf = this.buf.slice(keepFrom - this.base);
      this.base = keepFrom;
    }
    return Float32Array.from(out);
  }

  // The kernel's taps for an output sample `frac` (0 ≤ frac < 1) input samples
  // after an input sample, normalised to a sum of 1 (unit gain at 0 Hz). The
  // phases repeat (48 kHz: one; 44.1 kHz: 160), so they are computed once.
  _weights(frac) {
    const key = Math.round(frac * 1e6);
    let w = this.cache.get(key);
    if (w) return w;
    w = new Float32Array(2 * this.half);
    let norm = 0;
    for (let k = 0; k < w.length; k++) {
      w[k] = this._kernel(frac + this.half - 1 - k);
      norm += w[k];
    }
    if (norm) for (let k = 0; k < w.length; k++) w[k] /= norm;
    if (this.cache.size < 4096) this.cache.set(key, w);
    return w;
  }

  _kernel(d) {
    const x = d / this.half;
    if (x <= -1 || x >= 1) return 0;
    const window = 0.42 + 0.5 * Math.cos(Math.PI * x) + 0.08 * Math.cos(2 * Math.PI * x);
    const a = 2 * this.cutoff * d;
    const sinc = a === 0 ? 1 : Math.sin(Math.PI * a) / (Math.PI * a);
    return window * sinc;
  }
}

/** Float samples in [-1, 1] → signed 16-bit little-endian bytes (clipped). */
export function floatToPcm16(samples) {
  const out = new ArrayBuffer(samples.length * 2);
  const view = new DataView(out);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(i * 2, Math.round(s < 0 ? s * 32768 : s * 32767), true);
  }
  return out;
}

/** Signed 16-bit little-endian bytes → floats in [-1, 1). A trailing odd byte is ignored. */
export function pcm16ToFloat(bytes) {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const view = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const n = u8.byteLength >> 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, true) / 32768;
  return out;
}

/**
 * Cuts a stream of samples into frames of `frameSamples` pcm16 samples
 * (ArrayBuffers ready for WebSocket.send). 320 samples at 16 kHz = 20 ms.
 */
export class Framer {
  constructor(frameSamples) {
    this.size = frameSamples;
    this.pending = new Float32Array(0);
  }

  push(samples) {
    const all = new Float32Array(this.pending.length + samples.length);
    all.set(this.pending);
    all.set(samples, this.pending.length);
    const frames = [];
    let i = 0;
    for (; i + this.size <= all.length; i += this.size) frames.push(floatToPcm16(all.subarray(i, i + this.size)));
    this.pending = all.slice(i);
    return frames;
  }

  /** The last, shorter frame (or none). */
  flush() {
    const rest = this.pending;
    this.pending = new Float32Array(0);
    return rest.length ? [floatToPcm16(rest)] : [];
  }
}

/** Peak absolute level of float samples (0..1). */
export function peakLevel(samples) {
  let p = 0;
  for (let i = 0; i < samples.length; i++) {
    const a = Math.abs(samples[i]);
    if (a > p) p = a;
  }
  return p;
}
