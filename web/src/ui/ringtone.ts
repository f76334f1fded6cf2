// The sound of an incoming call: a two-tone ring made with Web Audio (no file to load), two
// seconds on, four off, and the phone vibrating in time where it can. Browsers allow sound
// only after the user has touched the page; before that the ring is silent (the dialog shows).

const ON_S = 2;
const CYCLE_S = 6;

export interface Ringing {
  stop(): void;
}

export function startRingtone(): Ringing {
  let ctx: AudioContext | null = null;
  let timer: ReturnType<typeof setInterval> | null = null;
  const vibrate = () => {
    try {
      navigator.vibrate?.([ON_S * 1000]);
    } catch {
      // No vibration here.
    }
  };
  try {
    const Ctx = (globalThis as { AudioContext?: typeof AudioContext }).AudioContext;
    if (Ctx) {
      ctx = new Ctx();
      const gain = ctx.createGain();
      gain.gain.value = 0;
      gain.connect(ctx.destination);
      for (const hz of [440, 480]) {
        const o = ctx.createOscillator();
        o.frequency.value = hz;
        o.connect(gain);
        o.start();
      }
      const ring = () => {
        if (!ctx) return;
        const t = ctx.currentTime;
        gain.gain.setValueAtTime(0.12, t);
        gain.gain.setValueAtTime(0, t + ON_S);
      };
      void ctx.resume().catch(() => undefined);
      ring();
      timer = setInterval(() => {
        ring();
        vibrate();
      }, CYCLE_S * 1000);
    }
  } catch {
    // No Web Audio: the dialog alone says it rings.
  }
  vibrate();
  return {
    stop() {
      if (timer !== null) clearInterval(timer);
      timer = null;
      void ctx?.close().catch(() => undefined);
      ctx = null;
      try {
        navigator.vibrate?.(0);
      } catch {
        // Nothing vibrates.
      }
    },
  };
}
