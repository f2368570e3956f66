// A fake WebAudio AudioContext for the voice unit tests: records the buffers
// and sources the widget makes and when they were started or stopped, and
// lets a test advance the audio clock (sources whose end has passed fire
// `onended`, as in a browser). Not a test file itself (no .test. in the name).

class FakeParam {
  constructor(v) { this.value = v; }
}

class FakeNode {
  constructor(ctx) { this.ctx = ctx; this.connections = []; }
  connect(n) { this.connections.push(n); return n; }
  disconnect() { this.connections = []; }
}

export class FakeAudioBuffer {
  constructor(channels, length, sampleRate) {
    this.numberOfChannels = channels;
    this.length = length;
    this.sampleRate = sampleRate;
    this.duration = length / sampleRate;
    this.data = Array.from({ length: channels }, () => new Float32Array(length));
  }
  getChannelData(c) { return this.data[c]; }
}

class FakeBufferSource extends FakeNode {
  constructor(ctx) {
    super(ctx);
    this.buffer = null;
    this.onended = null;
    this.startedAt = null;
    this.stoppedAt = null;
    this.ended = false;
  }
  start(when = 0) {
    if (this.startedAt !== null) throw new Error('start() twice');
    this.startedAt = Math.max(when, this.ctx.currentTime);
    this.ctx.sources.push(this);
  }
  stop() {
    if (this.startedAt === null) throw new Error('stop() before start()');
    if (this.ended) return;
    this.stoppedAt = this.ctx.currentTime;
    this._end();
  }
  _end() {
    if (this.ended) return;
    this.ended = true;
    if (this.onended) this.onended();
  }
}

class FakeAnalyser extends FakeNode {
  constructor(ctx) { super(ctx); this.fftSize = 2048; }
  // What is playing now: the samples of the source under the clock, if any.
  getFloatTimeDomainData(out) {
    out.fill(0);
    const t = this.ctx.currentTime;
    for (const s of this.ctx.sources) {
      if (s.ended || s.startedAt > t) continue;
      const i = Math.floor((t - s.startedAt) * s.buffer.sampleRate);
      const d = s.buffer.getChannelData(0);
      for (let k = 0; k < out.length && i + k < d.length; k++) out[k] += d[i + k];
    }
  }
}

export class FakeAudioContext {
  constructor({ sampleRate = 48000 } = {}) {
    this.sampleRate = sampleRate;
    this.currentTime = 0;
    this.state = 'suspended';
    this.destination = new FakeNode(this);
    this.sources = [];
    this.closed = false;
  }
  resume() { this.state = 'running'; return Promise.resolve(); }
  close() { this.closed = true; this.state = 'closed'; return Promise.resolve(); }
  createBuffer(ch, len, rate) {
    if (!(rate >= 3000 && rate <= 768000)) throw new Error(`NotSupportedError: sample rate ${rate}`);
    if (!(len > 0)) throw new Error('NotSupportedError: empty buffer');
    return new FakeAudioBuffer(ch, len, rate);
  }
  createBufferSource() { return new FakeBufferSource(this); }
  createGain() { const g = new FakeNode(this); g.gain = new FakeParam(1); return g; }
  createAnalyser() { return new FakeAnalyser(this); }
  /** Moves the audio clock; sources that finished by then fire onended, in order. */
  advance(seconds) {
    this.currentTime += seconds;
    const done = this.sources
      .filter((s) => !s.ended && s.startedAt + s.buffer.duration <= this.currentTime + 1e-9)
      .sort((a, b) => a.startedAt - b.startedAt);
    for (const s of done) s._end();
  }
}
