// The live call of this device (SPEC §10): placing one, the incoming calls that ring here,
// answering, declining, muting and hanging up, driven by the user and by the `call` events
// of the stream. The media is behind CallMedia (webrtc.ts), the HTTP calls behind CallApi,
// so the rules are tested with fakes and no browser.

import * as api from '../api';
import { ApiError, NetworkError } from '../api';
import type { Call, CallFrame, CallPeer } from '../types';
import { createStore, type Store } from './store';
import { browserMedia, type CallMedia, type MediaFactory } from './webrtc';

export interface ActiveCall {
  /** This party's call id; null while the offer is made and the call not placed yet. */
  id: string | null;
  direction: 'in' | 'out';
  peer: CallPeer;
  /** starting: microphone and offer; ringing: placed, the callee's devices ring; connected: talking. */
  phase: 'starting' | 'ringing' | 'connected';
  /** When the call was answered (ms since the epoch), for the duration shown. */
  answeredAt: number | null;
  muted: boolean;
}

export interface LiveCallState {
  active: ActiveCall | null;
  /** Incoming calls ringing on this device, oldest first. */
  ringing: Call[];
  /** The incoming call being answered here (the answer is on its way). */
  answering: string | null;
  /** What the other party says, while the call is up. */
  remote: MediaStream | null;
  /** Why the last call could not be placed or answered, for the screen to say. */
  problem: string | null;
  /** The last call that ended here, with how (null result when it ended before being placed). */
  ended: { peer: CallPeer; result: Call['result']; direction: 'in' | 'out' } | null;
}

export interface CallApi {
  place(to: string, sdp: string): Promise<{ call: Call; sdp: string }>;
  answer(id: string, sdp: string): Promise<string>;
  decline(id: string): Promise<void>;
  /** `leaving`: the page is being closed, the request must outlive it. */
  hangup(id: string, leaving?: boolean): Promise<void>;
}

export interface CallDeps {
  media: MediaFactory;
  api: CallApi;
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(h: unknown): void;
}

/** An incoming call that rang this long without an end heard of is dropped (the server's ring time is 20 s). */
export const RING_GIVE_UP_MS = 60_000;

/** How long after a call was placed the history may still start it ringing: the server rings for 20 s. */
export const RING_WINDOW_MS = 25_000;

export function emptyLiveCall(): LiveCallState {
  return { active: null, ringing: [], answering: null, remote: null, problem: null, ended: null };
}

/** What the user is told when placing or answering failed. */
export function callProblem(err: unknown): string {
  if (err instanceof NetworkError) return 'Can’t reach the server. Check your connection and try again.';
  if (err instanceof ApiError) {
    if (err.status === 409) return 'The call was answered on another device or has ended.';
    if (err.status === 404 && err.code === 'not_found') return err.message || 'No one has that extension or number.';
    return err.message;
  }
  if (err instanceof DOMException && (err.name === 'NotAllowedError' || err.name === 'SecurityError')) return 'The microphone is blocked: allow it for this site to call.';
  if (err instanceof DOMException && err.name === 'NotFoundError') return 'No microphone was found.';
  return 'The call could not be connected.';
}

export class CallController {
  readonly store: Store<LiveCallState>;
  private d: CallDeps;
  private media: CallMedia | null = null;
  /** Bumped whenever the active call is dropped, so late answers of an old attempt are ignored. */
  private attempt = 0;
  /** Frames of calls placed here that came before the server's answer to the placing. */
  private early = new Map<string, CallFrame>();
  private ringTimers = new Map<string, unknown>();
  private answerAborted = false;

  constructor(deps: CallDeps) {
    this.d = deps;
    this.store = createStore<LiveCallState>(emptyLiveCall());
  }

  /** Replaces where media comes from (the component tests give a fake of the browser's WebRTC). */
  setMedia(media: MediaFactory): void {
    this.d = { ...this.d, media };
  }

  get(): LiveCallState {
    return this.store.get();
  }

  /** Places a call to an extension or number. */
  async dial(to: string): Promise<void> {
    const target = to.trim();
    if (this.get().active) {
      this.store.set({ problem: 'Hang up the current call first.' });
      return;
    }
    const attempt = ++this.attempt;
    this.early.clear();
    this.store.set({ active: { id: null, direction: 'out', peer: { number: target }, phase: 'starting', answeredAt: null, muted: false }, problem: null, ended: null, remote: null });
    let media: CallMedia | null = null;
    try {
      media = await this.d.media();
      if (attempt !== this.attempt) return media.close();
      this.attach(media, attempt);
      const offer = await media.offer();
      if (attempt !== this.attempt) return;
      const placed = await this.d.api.place(target, offer);
      if (attempt !== this.attempt) {
        // Hung up while it was being placed: end it on the server too.
        void this.d.api.hangup(placed.call.id).catch(() => undefined);
        return;
      }
      this.patchActive({ id: placed.call.id, peer: placed.call.peer, phase: 'ringing' });
      await media.accept(placed.sdp);
      const early = this.early.get(placed.call.id);
      this.early.clear();
      if (early) this.onFrame(early);
    } catch (err) {
      if (attempt !== this.attempt) return;
      const id = this.get().active?.id;
      if (id) void this.d.api.hangup(id).catch(() => undefined);
      this.drop();
      this.store.set({ problem: callProblem(err) });
    }
  }

  /** Takes an incoming call that rings here; a call in progress is hung up first. */
  async answer(id: string): Promise<void> {
    const s = this.get();
    const call = s.ringing.find((c) => c.id === id);
    if (!call || s.answering) return;
    if (s.active) await this.hangup();
    const attempt = ++this.attempt;
    this.answerAborted = false;
    this.store.set({ answering: id, problem: null, ended: null, remote: null });
    let media: CallMedia | null = null;
    try {
      media = await this.d.media();
      if (attempt !== this.attempt || this.answerAborted) {
        media.close();
        this.store.set({ answering: null });
        return;
      }
      this.attach(media, attempt);
      const offer = await media.offer();
      const sdp = await this.d.api.answer(id, offer);
      if (attempt !== this.attempt) return;
      await media.accept(sdp);
      this.unring(id);
      this.store.set({ answering: null, active: { id, direction: 'in', peer: call.peer, phase: 'connected', answeredAt: this.d.now(), muted: false } });
      if (this.answerAborted) this.finish(id, 'answered');
    } catch (err) {
      if (attempt !== this.attempt) return;
      this.drop();
      this.unring(id);
      this.store.set({ answering: null, problem: callProblem(err) });
    }
  }

  /** Refuses an incoming call: it goes to voicemail. */
  async decline(id: string): Promise<void> {
    if (!this.get().ringing.some((c) => c.id === id)) return;
    this.unring(id);
    try {
      await this.d.api.decline(id);
    } catch (err) {
      // Already over (the caller gave up, another device took it): nothing rings any more.
      if (!(err instanceof ApiError && (err.status === 404 || err.status === 409))) this.store.set({ problem: callProblem(err) });
    }
  }

  /**
   * Ends this device's call, or gives up on the one it places; `leaving` when the page is
   * being closed (the callee must not ring on until the connection times out).
   */
  async hangup(leaving = false): Promise<void> {
    const a = this.get().active;
    if (!a) return;
    this.drop();
    this.store.set({ ended: { peer: a.peer, result: null, direction: a.direction } });
    if (a.id) {
      try {
        await this.d.api.hangup(a.id, leaving);
      } catch {
        // The call is over on the server already (or will be, when the connection closes).
      }
    }
  }

  toggleMute(): void {
    const a = this.get().active;
    if (!a) return;
    const muted = !a.muted;
    this.media?.setMuted(muted);
    this.patchActive({ muted });
  }

  /** Forgets the problem and the last ended call once the screen has said so. */
  dismiss(): void {
    this.store.set({ problem: null, ended: null });
  }

  /** A `call` event of the stream, for any call of the user. */
  onFrame(frame: CallFrame): void {
    const c = frame.call;
    const s = this.get();
    const a = s.active;
    if (a && a.id === c.id) {
      if (frame.state === 'answered' && a.phase !== 'connected') {
        const at = c.answered_at ? Date.parse(c.answered_at) : NaN;
        this.patchActive({ phase: 'connected', answeredAt: Number.isNaN(at) ? this.d.now() : at });
      } else if (frame.state === 'ended') {
        this.finish(c.id, c.result);
      }
      return;
    }
    if (a && a.id === null && a.direction === 'out' && c.direction === 'out') {
      // Perhaps the call being placed: kept until the server's answer names its id.
      this.early.set(c.id, frame);
      if (this.early.size > 8) this.early.delete(this.early.keys().next().value as string);
      return;
    }
    if (c.direction !== 'in') return;
    if (frame.state === 'ringing') {
      this.ring(c);
    } else if (s.answering === c.id) {
      // Answered (by this device or another) or ended while our answer is on its way: the
      // answer's reply says which; an end stops it.
      if (frame.state === 'ended') this.answerAborted = true;
    } else {
      this.unring(c.id);
    }
  }

  /** Rings for an incoming call, unless it is over or rings already. */
  private ring(c: Call): void {
    const s = this.get();
    if (c.ended_at || c.answered_at || s.ringing.some((r) => r.id === c.id)) return;
    if (s.active?.id === c.id || s.answering === c.id) return; // taken here: a stale history row
    this.store.set({ ringing: [...s.ringing, c] });
    this.ringTimers.set(
      c.id,
      this.d.setTimeout(() => this.unring(c.id), RING_GIVE_UP_MS),
    );
  }

  /**
   * The call history as the server has it: incoming calls it says are over stop ringing, and
   * one it says still rings, placed within RING_WINDOW_MS, rings here (the app opened from an
   * incoming-call push: its ringing event came before this page did).
   */
  reconcile(calls: Call[]): void {
    for (const c of calls) {
      if (c.direction !== 'in') continue;
      if ((c.ended_at || c.answered_at) && this.get().ringing.some((r) => r.id === c.id)) this.unring(c.id);
      const age = this.d.now() - Date.parse(c.started_at);
      if (!c.ended_at && !c.answered_at && c.result === null && age >= -5_000 && age < RING_WINDOW_MS) this.ring(c);
    }
  }

  /** Signing out: everything stops. */
  reset(): void {
    this.drop();
    for (const t of this.ringTimers.values()) this.d.clearTimeout(t);
    this.ringTimers.clear();
    this.early.clear();
    this.store.set(emptyLiveCall());
  }

  private attach(media: CallMedia, attempt: number): void {
    this.media = media;
    media.onChange = (ev) => {
      if (attempt !== this.attempt) return;
      if (ev === 'remote') this.store.set({ remote: media.remote });
      else if (ev === 'media') {
        // Audio while it rings is the voicemail greeting (the server answered the caller's
        // leg): the caller is connected, to the voicemail, until they hang up.
        const a = this.get().active;
        if (a && a.direction === 'out' && a.phase === 'ringing') this.patchActive({ phase: 'connected', answeredAt: this.d.now() });
      }
      else if (ev === 'failed') {
        const a = this.get().active;
        void this.hangup();
        if (a) this.store.set({ problem: 'The call’s connection was lost.' });
      }
    };
  }

  private patchActive(p: Partial<ActiveCall>): void {
    this.store.set((s) => (s.active ? { active: { ...s.active, ...p } } : {}));
  }

  private unring(id: string): void {
    const t = this.ringTimers.get(id);
    if (t !== undefined) this.d.clearTimeout(t);
    this.ringTimers.delete(id);
    this.store.set((s) => (s.ringing.some((r) => r.id === id) ? { ringing: s.ringing.filter((r) => r.id !== id) } : {}));
  }

  /** The active call ended on the server. */
  private finish(id: string, result: Call['result']): void {
    const a = this.get().active;
    if (!a || a.id !== id) return;
    this.drop();
    this.store.set({ ended: { peer: a.peer, result, direction: a.direction } });
  }

  /** Closes the media and forgets the active call. */
  private drop(): void {
    this.attempt++;
    this.media?.close();
    this.media = null;
    this.store.set({ active: null, remote: null, answering: null });
  }
}

/** This app's calls: the browser's WebRTC and the real API. */
export const calls = new CallController({
  media: browserMedia,
  api: { place: api.placeCall, answer: api.answerCall, decline: api.declineCall, hangup: api.hangupCall },
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
});
