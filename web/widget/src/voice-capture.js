// The widget's microphone: getUserMedia → an AudioWorklet (src/mic-worklet.js;
// a ScriptProcessor where AudioWorklet is missing) → `onAudio(Float32Array)`
// with mono samples at the AudioContext's rate, about every 20 ms. The caller
// resamples and frames them (src/voice-audio.js).
//
// Failures are MicError values with a `code` the UI explains (micErrorText):
// denied, no_device, busy, insecure, unsupported, failed.

export class MicError extends Error {
  constructor(code, message) {
    super(message || code);
    this.code = code;
  }
}

/** What the widget says for a microphone failure. */
export function micErrorText(code) {
  switch (code) {
    case 'denied': return '无法使用麦克风：您拒绝了麦克风权限。请在浏览器地址栏的网站设置中允许使用麦克风，或直接输入文字。';
    case 'no_device': return '没有找到麦克风，请连接麦克风后重试，或直接输入文字。';
    case 'busy': return '麦克风正被其他程序占用，请关闭占用它的程序后重试。';
    case 'insecure': return '当前页面不是安全连接（HTTPS），浏览器不允许使用麦克风。请直接输入文字。';
    case 'unsupported': return '当前浏览器不支持语音输入，请直接输入文字。';
    default: return '麦克风启动失败，请重试或直接输入文字。';
  }
}

/** Maps a getUserMedia rejection (a DOMException name) to a MicError code. */
export function micErrorCode(e) {
  switch (e && e.name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
      return 'denied';
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return 'no_device';
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'busy';
    case 'SecurityError':
      return 'insecure';
    default:
      return 'failed';
  }
}

// Echo cancellation keeps the bot's own voice (from the speakers) out of what
// the server hears, so it does not barge in on itself.
const CONSTRAINTS = { audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true } };

/**
 * Opens the microphone into `context`. Resolves to { sampleRate, mode ('worklet' or
 * 'script-processor'), stop() };
 * rejects with a MicError.
 * @param {object} opts
 * @param {AudioContext} opts.context
 * @param {string} opts.workletUrl                  URL of mic-worklet.js
 * @param {(samples: Float32Array) => void} opts.onAudio
 * @param {MediaDevices} [opts.mediaDevices]        default navigator.mediaDevices
 * @param {boolean} [opts.secure]                   default window.isSecureContext
 */
export async function openMicrophone({ context, workletUrl, onAudio, mediaDevices, secure }) {
  const md = mediaDevices !== undefined ? mediaDevices : globalThis.navigator && globalThis.navigator.mediaDevices;
  const isSecure = secure !== undefined ? secure : globalThis.isSecureContext !== false;
  if (!md || typeof md.getUserMedia !== 'function') throw new MicError(isSecure ? 'unsupported' : 'insecure');
  let stream;
  try {
    stream = await md.getUserMedia(CONSTRAINTS);
  } catch (e) {
    throw new MicError(micErrorCode(e), e && e.message);
  }
  const tracks = stream.getAudioTracks ? stream.getAudioTracks() : [];
  if (!tracks.length) {
    stream.getTracks().forEach((t) => t.stop());
    throw new MicError('no_device');
  }
  const release = [];
  let worklet = false;
  try {
    const source = context.createMediaStreamSource(stream);
    // Nodes must lead to the destination to be processed; a muted gain keeps the microphone off the speakers.
    const mute = context.createGain();
    mute.gain.value = 0;
    mute.connect(context.destination);
    release.push(() => mute.disconnect());
    if (context.audioWorklet && typeof AudioWorkletNode === 'function' && workletUrl) {
      try {
        await context.audioWorklet.addModule(workletUrl);
        worklet = true;
      } catch {
        worklet = false;  // the module did not load (a proxy, an old engine): the ScriptProcessor still works
      }
    }
    if (worklet) {
      const node = new AudioWorkletNode(context, 'kefu-mic', {
        numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1], channelCount: 1, channelCountMode: 'explicit', channelInterpretation: 'speakers',
      });
      node.port.onmessage = (ev) => onAudio(ev.data);
      source.connect(node);
      node.connect(mute);
      release.push(() => { node.port.onmessage = null; source.disconnect(); node.disconnect(); });
    } else if (typeof context.createScriptProcessor === 'function') {
      const size = context.sampleRate > 24000 ? 1024 : 512;  // ≈ 21 ms at 48 kHz
      const node = context.createScriptProcessor(size, 1, 1);
      node.onaudioprocess = (ev) => onAudio(new Float32Array(ev.inputBuffer.getChannelData(0)));
      source.connect(node);
      node.connect(mute);
      release.push(() => { node.onaudioprocess = null; source.disconnect(); node.disconnect(); });
    } else {
      throw new MicError('unsupported');
    }
  } catch (e) {
    release.forEach((f) => { try { f(); } catch { /* gone */ } });
    stream.getTracks().forEach((t) => t.stop());
    throw e instanceof MicError ? e : new MicError('failed', e && e.message);
  }
  let stopped = false;
  return {
    sampleRate: context.sampleRate,
    mode: worklet ? 'worklet' : 'script-processor',
    stop() {
      if (stopped) return;
      stopped = true;
      release.forEach((f) => { try { f(); } catch { /* gone */ } });
      stream.getTracks().forEach((t) => t.stop());
    },
  };
}
