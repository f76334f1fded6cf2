// Recording one's voicemail greeting in the browser: the microphone through Web Audio, kept
// as samples and encoded to a WAV file of 16-bit PCM, mono, at the audio context's rate. The
// server converts it to the 8 kHz of a phone call (PUT /api/v1/me/voicemail/greeting).

/** The longest greeting the server takes. */
export const MAX_GREETING_SECONDS = 60;

/** Joins the blocks of samples a recording collected. */
export function joinSamples(chunks: Float32Array[]): Float32Array {
  const out = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A WAV file of `samples` (-1 to 1, clipped beyond) as 16-bit PCM mono at `sampleRate`. */
export function encodeWav(samples: Float32Array, sampleRate: number): ArrayBuffer {
  const rate = Math.round(sampleRate);
  const buf = new ArrayBuffer(44 + 2 * samples.length);
  const v = new DataView(buf);
  const ascii = (at: number, s: string) => {
    for (let i = 0; i < s.length; i++) v.setUint8(at + i, s.charCodeAt(i));
  };
  ascii(0, 'RIFF');
  v.setUint32(4, 36 + 2 * samples.length, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  v.setUint32(16, 16, true); // the size of the format chunk
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * 2, true); // bytes a second
  v.setUint16(32, 2, true); // bytes a frame
  v.setUint16(34, 16, true); // bits a sample
  ascii(36, 'data');
  v.setUint32(40, 2 * samples.length, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i] || 0)); // NaN is silence
    v.setInt16(44 + 2 * i, s < 0 ? Math.round(s * 0x8000) : Math.round(s * 0x7fff), true);
  }
  return buf;
}

export interface GreetingRecorder {
  /** Ends the recording and gives it as an `audio/wav` file. */
  stop(): Promise<Blob>;
  /** Ends the recording and drops it. */
  cancel(): void;
}

/**
 * Starts recording the microphone (the browser asks the user first). `onTick` hears the seconds
 * recorded; at MAX_GREETING_SECONDS no more is kept, and `onFull` is told so the caller stops.
 */
export async function recordGreeting(onTick: (seconds: number) => void, onFull: () => void): Promise<GreetingRecorder> {
  // The voice as it is, like a voice memo: nothing plays meanwhile, so there is no echo to
  // cancel, and noise suppression and gain control would pump a quiet room.
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  });
  const ctx = new AudioContext();
  const source = ctx.createMediaStreamSource(stream);
  // A ScriptProcessorNode hands over the samples with no module of its own to load (an
  // AudioWorklet would need one); a greeting is short, so its main-thread cost is no matter.
  const proc = ctx.createScriptProcessor(4096, 1, 1);
  const mute = ctx.createGain();
  mute.gain.value = 0; // processing runs only when connected to the output; nothing is heard
  const chunks: Float32Array[] = [];
  const max = MAX_GREETING_SECONDS * ctx.sampleRate;
  let kept = 0;
  let full = false;
  proc.onaudioprocess = (e) => {
    if (full) return;
    const block = e.inputBuffer.getChannelData(0);
    const take = Math.min(block.length, max - kept);
    chunks.push(block.slice(0, take));
    kept += take;
    onTick(kept / ctx.sampleRate);
    if (kept >= max) {
      full = true;
      onFull();
    }
  };
  source.connect(proc);
  proc.connect(mute);
  mute.connect(ctx.destination);
  if (ctx.state === 'suspended') await ctx.resume();
  const end = () => {
    proc.onaudioprocess = null;
    source.disconnect();
    proc.disconnect();
    mute.disconnect();
    for (const t of stream.getTracks()) t.stop();
    void ctx.close();
  };
  return {
    async stop() {
      const rate = ctx.sampleRate;
      end();
      return new Blob([encodeWav(joinSamples(chunks), rate)], { type: 'audio/wav' });
    },
    cancel: end,
  };
}
