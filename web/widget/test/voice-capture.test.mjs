// Unit tests of the microphone capture (src/voice-capture.js) with fake
// media devices and a fake AudioContext: getUserMedia failures become the
// widget's error codes, the AudioWorklet path is used when its module loads
// and the ScriptProcessor when it does not, stop() releases the device.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MicError, micErrorCode, micErrorText, openMicrophone } from '../src/voice-capture.js';

class Node {
  constructor() { this.to = []; }
  connect(n) { this.to.push(n); return n; }
  disconnect() { this.to = []; this.disconnected = true; }
}

function fakeContext({ worklet = 'ok' } = {}) {
  const ctx = {
    sampleRate: 48000,
    destination: new Node(),
    made: [],
    createMediaStreamSource(stream) { const n = new Node(); n.stream = stream; this.made.push(['source', n]); return n; },
    createGain() { const n = new Node(); n.gain = { value: 1 }; this.made.push(['gain', n]); return n; },
    createScriptProcessor(size, ins, outs) { const n = new Node(); Object.assign(n, { size, ins, outs }); this.made.push(['script', n]); return n; },
  };
  if (worklet) {
    ctx.audioWorklet = {
      addModule: async (url) => {
        ctx.moduleUrl = url;
        if (worklet === 'fails') throw new DOMException('Failed to load worklet module script', 'AbortError');
      },
    };
  }
  return ctx;
}

function fakeDevices({ fail, tracks = 1 } = {}) {
  const state = { stopped: 0, asked: null };
  const stream = {
    getAudioTracks: () => Array.from({ length: tracks }, () => ({ label: 'mic' })),
    getTracks: () => Array.from({ length: Math.max(tracks, 1) }, () => ({ stop: () => state.stopped++ })),
  };
  return {
    state,
    mediaDevices: {
      getUserMedia: async (c) => {
        state.asked = c;
        if (fail) throw new DOMException('nope', fail);
        return stream;
      },
    },
  };
}

class FakeWorkletNode extends Node {
  constructor(ctx, name, opts) {
    super();
    this.name = name;
    this.opts = opts;
    this.port = { onmessage: null };
    FakeWorkletNode.last = this;
  }
}

test('getUserMedia failures become error codes with a sentence for the customer', async () => {
  for (const [name, code] of [['NotAllowedError', 'denied'], ['NotFoundError', 'no_device'], ['NotReadableError', 'busy'], ['SecurityError', 'insecure'], ['TypeError', 'failed']]) {
    assert.equal(micErrorCode({ name }), code);
    const { mediaDevices } = fakeDevices({ fail: name });
    await assert.rejects(openMicrophone({ context: fakeContext(), onAudio() {}, mediaDevices, secure: true }), (e) => e instanceof MicError && e.code === code);
    assert.ok(micErrorText(code).length > 10);
  }
  // No mediaDevices at all: an insecure page (plain http on a LAN address) or an old browser.
  await assert.rejects(openMicrophone({ context: fakeContext(), onAudio() {}, mediaDevices: null, secure: false }), (e) => e.code === 'insecure');
  await assert.rejects(openMicrophone({ context: fakeContext(), onAudio() {}, mediaDevices: null, secure: true }), (e) => e.code === 'unsupported');
  // A stream without an audio track is no microphone; the stream is released.
  const empty = fakeDevices({ tracks: 0 });
  await assert.rejects(openMicrophone({ context: fakeContext(), onAudio() {}, mediaDevices: empty.mediaDevices, secure: true }), (e) => e.code === 'no_device');
  assert.equal(empty.state.stopped, 1);
});

test('the AudioWorklet path: mono, echo cancellation asked for, chunks reach onAudio, stop() releases everything', async () => {
  globalThis.AudioWorkletNode = FakeWorkletNode;
  try {
    const ctx = fakeContext();
    const dev = fakeDevices();
    const got = [];
    const mic = await openMicrophone({ context: ctx, workletUrl: '/assets/mic-worklet.js', onAudio: (x) => got.push(x), mediaDevices: dev.mediaDevices, secure: true });
    assert.equal(mic.mode, 'worklet');
    assert.equal(mic.sampleRate, 48000);
    assert.equal(ctx.moduleUrl, '/assets/mic-worklet.js');
    assert.equal(dev.state.asked.audio.echoCancellation, true);
    assert.equal(dev.state.asked.audio.channelCount, 1);
    const node = FakeWorkletNode.last;
    assert.equal(node.name, 'kefu-mic');
    assert.equal(node.opts.channelCount, 1);
    const mute = ctx.made.find(([k]) => k === 'gain')[1];
    assert.equal(mute.gain.value, 0, 'the microphone is not played back');
    node.port.onmessage({ data: new Float32Array(960) });
    assert.equal(got.length, 1);
    mic.stop();
    assert.equal(dev.state.stopped, 1);
    assert.ok(node.disconnected);
    mic.stop();
    assert.equal(dev.state.stopped, 1, 'stop() is idempotent');
  } finally {
    delete globalThis.AudioWorkletNode;
  }
});

test('a worklet module that does not load, or no AudioWorklet: the ScriptProcessor captures', async () => {
  globalThis.AudioWorkletNode = FakeWorkletNode;
  try {
    for (const worklet of ['fails', null]) {
      const ctx = fakeContext({ worklet });
      const dev = fakeDevices();
      const got = [];
      const mic = await openMicrophone({ context: ctx, workletUrl: '/assets/mic-worklet.js', onAudio: (x) => got.push(x), mediaDevices: dev.mediaDevices, secure: true });
      assert.equal(mic.mode, 'script-processor');
      const sp = ctx.made.find(([k]) => k === 'script')[1];
      assert.equal(sp.size, 1024);
      sp.onaudioprocess({ inputBuffer: { getChannelData: () => new Float32Array(1024).fill(0.5) } });
      assert.equal(got.length, 1);
      assert.equal(got[0][3], 0.5);
      mic.stop();
      assert.equal(dev.state.stopped, 1);
    }
  } finally {
    delete globalThis.AudioWorkletNode;
  }
});
