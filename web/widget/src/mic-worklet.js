// AudioWorklet processor of the widget's microphone (src/voice-capture.js):
// mixes the input down to mono and posts it to the main thread in chunks of
// about 20 ms (Float32Array at the AudioContext's rate, buffer transferred).
// Outputs silence. Loaded with audioWorklet.addModule (a separate file: a
// worklet runs in its own global scope).
class KefuMicProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.size = Math.max(128, Math.round(sampleRate * 0.02));
    this.buf = new Float32Array(this.size);
    this.fill = 0;
  }

  process(inputs) {
    const input = inputs[0];
    if (input && input.length) {
      const n = input[0].length;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let c = 0; c < input.length; c++) s += input[c][i];
        this.buf[this.fill++] = s / input.length;
        if (this.fill === this.size) {
          this.port.postMessage(this.buf, [this.buf.buffer]);
          this.buf = new Float32Array(this.size);
          this.fill = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor('kefu-mic', KefuMicProcessor);
