// The live call's state machine (state/call.ts): placing, ringing, answering here or elsewhere,
// declining, hanging up and the call events that drive it, with a fake of the browser's media.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/api';
import { CallController, RING_GIVE_UP_MS, type CallApi } from '../src/state/call';
import type { CallMedia, MediaEvent } from '../src/state/webrtc';
import type { Call, CallFrame } from '../src/types';

class FakeMedia implements CallMedia {
  remote: MediaStream | null = null;
  onChange: ((event: MediaEvent) => void) | null = null;
  accepted: string | null = null;
  muted = false;
  closed = false;
  async offer(): Promise<string> {
    return 'v=0 offer';
  }
  async accept(answer: string): Promise<void> {
    this.accepted = answer;
  }
  setMuted(m: boolean): void {
    this.muted = m;
  }
  close(): void {
    this.closed = true;
  }
}

function row(id: string, direction: 'in' | 'out', extra: Partial<Call> = {}): Call {
  return { id, direction, peer: { user_id: 'u_ann', number: '101', name: 'Ann Lee' }, started_at: '2026-12-04T10:00:00Z', answered_at: null, ended_at: null, result: null, ...extra };
}

function frame(call: Call, state: CallFrame['state']): CallFrame {
  return { type: 'call', cursor: 'c', call, state };
}

/** A deferred promise: the test decides when the server answers. */
function later<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function setup(over: Partial<CallApi> = {}, now = 1_000_000) {
  const medias: FakeMedia[] = [];
  const sent: string[] = [];
  const timers: { fn: () => void; ms: number; cleared: boolean }[] = [];
  const api: CallApi = {
    place: async (to, sdp) => {
      sent.push(`place ${to} ${sdp}`);
      return { call: row('out1', 'out', { peer: { user_id: 'u_ben', number: to, name: 'Ben Ortiz' } }), sdp: 'v=0 answer' };
    },
    answer: async (id, sdp) => {
      sent.push(`answer ${id} ${sdp}`);
      return 'v=0 answer-in';
    },
    decline: async (id) => void sent.push(`decline ${id}`),
    hangup: async (id, leaving) => void sent.push(leaving ? `hangup ${id} leaving` : `hangup ${id}`),
    ...over,
  };
  const c = new CallController({
    media: async () => {
      const m = new FakeMedia();
      medias.push(m);
      return m;
    },
    api,
    now: () => now,
    setTimeout: (fn, ms) => {
      const t = { fn, ms, cleared: false };
      timers.push(t);
      return t;
    },
    clearTimeout: (t) => {
      (t as { cleared: boolean }).cleared = true;
    },
  });
  return { c, medias, sent, timers };
}

describe('placing a call', () => {
  it('offers, places, accepts the answer, rings, connects on the answered event and ends on the ended one', async () => {
    const { c, medias, sent } = setup();
    const p = c.dial(' 102 ');
    expect(c.get().active).toMatchObject({ id: null, phase: 'starting', peer: { number: '102' } });
    await p;
    expect(sent).toEqual(['place 102 v=0 offer']);
    expect(medias[0].accepted).toBe('v=0 answer');
    expect(c.get().active).toMatchObject({ id: 'out1', phase: 'ringing', peer: { name: 'Ben Ortiz' } });
    // Ben's ringing events are his, not ours: nothing rings here.
    c.onFrame(frame(row('in1', 'in'), 'ringing'));
    expect(c.get().ringing.map((r) => r.id)).toEqual(['in1']);
    c.onFrame(frame(row('out1', 'out', { answered_at: '2026-12-04T10:00:05Z' }), 'answered'));
    expect(c.get().active).toMatchObject({ phase: 'connected', answeredAt: Date.parse('2026-12-04T10:00:05Z') });
    c.onFrame(frame(row('out1', 'out', { result: 'answered', ended_at: '2026-12-04T10:01:00Z' }), 'ended'));
    expect(c.get().active).toBeNull();
    expect(c.get().ended).toMatchObject({ result: 'answered', peer: { name: 'Ben Ortiz' } });
    expect(medias[0].closed).toBe(true);
  });

  it('applies an event that came before the placing was answered', async () => {
    const placing = later<{ call: Call; sdp: string }>();
    const { c } = setup({ place: () => placing.promise });
    const p = c.dial('102');
    await Promise.resolve();
    await Promise.resolve();
    c.onFrame(frame(row('out1', 'out', { result: 'failed', ended_at: '2026-12-04T10:00:00Z' }), 'ended'));
    placing.resolve({ call: row('out1', 'out'), sdp: 'a' });
    await p;
    expect(c.get().active).toBeNull();
    expect(c.get().ended?.result).toBe('failed');
  });

  it('says why when the server refuses, and keeps no call', async () => {
    const { c, medias } = setup({
      place: async () => {
        throw new ApiError(404, 'not_found', 'No such extension or number.', null);
      },
    });
    await c.dial('999');
    expect(c.get().active).toBeNull();
    expect(c.get().problem).toBe('No such extension or number.');
    expect(medias[0].closed).toBe(true);
  });

  it('hanging up before the offer is made places nothing', async () => {
    const { c, sent, medias } = setup();
    const p = c.dial('102');
    await c.hangup();
    await p;
    expect(sent).toEqual([]);
    expect(medias[0].closed).toBe(true);
    expect(c.get().active).toBeNull();
  });

  it('says the microphone is blocked when it is', async () => {
    const { c } = setup();
    c.setMedia(async () => {
      throw new DOMException('no', 'NotAllowedError');
    });
    await c.dial('102');
    expect(c.get().problem).toMatch(/microphone is blocked/);
  });

  it('hanging up while the call is placed ends it on the server once its id is known', async () => {
    const placing = later<{ call: Call; sdp: string }>();
    const asked = later<void>();
    const { c, sent, medias } = setup({
      place: () => {
        asked.resolve();
        return placing.promise;
      },
    });
    const p = c.dial('102');
    await asked.promise;
    await c.hangup();
    expect(c.get().active).toBeNull();
    placing.resolve({ call: row('out1', 'out'), sdp: 'a' });
    await p;
    await Promise.resolve();
    expect(sent).toContain('hangup out1');
    expect(medias[0].closed).toBe(true);
    expect(c.get().active).toBeNull();
  });

  it('mutes the microphone and hangs up', async () => {
    const { c, medias, sent } = setup();
    await c.dial('102');
    c.toggleMute();
    expect(medias[0].muted).toBe(true);
    expect(c.get().active?.muted).toBe(true);
    c.toggleMute();
    expect(medias[0].muted).toBe(false);
    await c.hangup();
    expect(sent).toEqual(['place 102 v=0 offer', 'hangup out1']);
    expect(c.get().active).toBeNull();
    expect(medias[0].closed).toBe(true);
  });

  it('a page being closed hangs up with a request that outlives it', async () => {
    const { c, sent } = setup();
    await c.dial('102');
    await c.hangup(true);
    expect(sent).toEqual(['place 102 v=0 offer', 'hangup out1 leaving']);
    // Nothing up: nothing to hang up.
    await c.hangup(true);
    expect(sent).toHaveLength(2);
  });

  it('audio while it rings (the voicemail greeting) shows the caller connected; the answered event later changes nothing', async () => {
    const { c, medias } = setup();
    await c.dial('102');
    medias[0].onChange?.('media');
    expect(c.get().active).toMatchObject({ phase: 'connected', answeredAt: 1_000_000 });
    c.onFrame(frame(row('out1', 'out', { answered_at: '2026-12-04T10:00:05Z' }), 'answered'));
    expect(c.get().active?.answeredAt).toBe(1_000_000);
  });

  it('refuses a second call while one is up', async () => {
    const { c, sent } = setup();
    await c.dial('102');
    await c.dial('103');
    expect(sent).toEqual(['place 102 v=0 offer']);
    expect(c.get().problem).toMatch(/Hang up/);
  });

  it('hangs up when the connection fails', async () => {
    const { c, medias, sent } = setup();
    await c.dial('102');
    medias[0].onChange?.('failed');
    await Promise.resolve();
    expect(c.get().active).toBeNull();
    expect(sent).toContain('hangup out1');
    expect(c.get().problem).toMatch(/lost/);
  });
});

describe('an incoming call', () => {
  it('rings once per call, answers with an offer, and connects', async () => {
    const { c, sent, medias } = setup();
    c.onFrame(frame(row('in1', 'in'), 'ringing'));
    c.onFrame(frame(row('in1', 'in'), 'ringing'));
    expect(c.get().ringing).toHaveLength(1);
    await c.answer('in1');
    expect(sent).toEqual(['answer in1 v=0 offer']);
    expect(medias[0].accepted).toBe('v=0 answer-in');
    expect(c.get().ringing).toEqual([]);
    expect(c.get().active).toMatchObject({ id: 'in1', direction: 'in', phase: 'connected', answeredAt: 1_000_000, peer: { name: 'Ann Lee' } });
    // Our own answer's event changes nothing; the end closes the call.
    c.onFrame(frame(row('in1', 'in', { answered_at: '2026-12-04T10:00:05Z' }), 'answered'));
    expect(c.get().active?.phase).toBe('connected');
    c.onFrame(frame(row('in1', 'in', { result: 'answered', ended_at: '2026-12-04T10:01:00Z' }), 'ended'));
    expect(c.get().active).toBeNull();
    expect(medias[0].closed).toBe(true);
  });

  it('stops ringing when another device answers or the caller gives up', () => {
    const { c, timers } = setup();
    c.onFrame(frame(row('in1', 'in'), 'ringing'));
    c.onFrame(frame(row('in2', 'in'), 'ringing'));
    c.onFrame(frame(row('in1', 'in', { answered_at: '2026-12-04T10:00:05Z' }), 'answered'));
    expect(c.get().ringing.map((r) => r.id)).toEqual(['in2']);
    c.onFrame(frame(row('in2', 'in', { result: 'missed', ended_at: '2026-12-04T10:00:05Z' }), 'ended'));
    expect(c.get().ringing).toEqual([]);
    expect(timers.every((t) => t.cleared)).toBe(true);
    expect(c.get().active).toBeNull();
  });

  it('an answer that comes too late (409) says so and stops ringing', async () => {
    const { c, medias } = setup({
      answer: async () => {
        throw new ApiError(409, 'conflict', 'the call was answered elsewhere or has ended', null);
      },
    });
    c.onFrame(frame(row('in1', 'in'), 'ringing'));
    // The other device's answer arrives while ours is on its way: the reply decides.
    const p = c.answer('in1');
    c.onFrame(frame(row('in1', 'in', { answered_at: '2026-12-04T10:00:05Z' }), 'answered'));
    expect(c.get().answering).toBe('in1');
    await p;
    expect(c.get().ringing).toEqual([]);
    expect(c.get().active).toBeNull();
    expect(c.get().answering).toBeNull();
    expect(c.get().problem).toBe('The call was answered on another device or has ended.');
    expect(medias[0].closed).toBe(true);
  });

  it('declines: it stops ringing and the server is told', async () => {
    const { c, sent } = setup();
    c.onFrame(frame(row('in1', 'in'), 'ringing'));
    await c.decline('in1');
    expect(c.get().ringing).toEqual([]);
    expect(sent).toEqual(['decline in1']);
    expect(c.get().problem).toBeNull();
  });

  it('a decline the server no longer knows (404) is not an error', async () => {
    const { c } = setup({
      decline: async () => {
        throw new ApiError(404, 'not_found', 'no such call ringing', null);
      },
    });
    c.onFrame(frame(row('in1', 'in'), 'ringing'));
    await c.decline('in1');
    expect(c.get().problem).toBeNull();
  });

  it('answering a second call hangs up the first', async () => {
    const { c, sent, medias } = setup();
    await c.dial('102');
    c.onFrame(frame(row('in9', 'in'), 'ringing'));
    expect(c.get().ringing).toHaveLength(1);
    await c.answer('in9');
    expect(sent).toEqual(['place 102 v=0 offer', 'hangup out1', 'answer in9 v=0 offer']);
    expect(medias[0].closed).toBe(true);
    expect(c.get().active?.id).toBe('in9');
  });

  it('does not ring for a call already over, drops one the history says ended, and gives up after a while', () => {
    const { c, timers } = setup();
    c.onFrame(frame(row('in0', 'in', { ended_at: '2026-12-04T10:00:05Z', result: 'missed' }), 'ringing'));
    expect(c.get().ringing).toEqual([]);
    c.onFrame(frame(row('in1', 'in'), 'ringing'));
    c.onFrame(frame(row('in2', 'in'), 'ringing'));
    c.reconcile([row('in1', 'in', { ended_at: '2026-12-04T10:00:20Z', result: 'missed' }), row('in2', 'in')]);
    expect(c.get().ringing.map((r) => r.id)).toEqual(['in2']);
    const t = timers.find((x) => !x.cleared);
    expect(t?.ms).toBe(RING_GIVE_UP_MS);
    t?.fn();
    expect(c.get().ringing).toEqual([]);
  });

  it('rings for a call the history says still rings (the app opened from its push), not for an old one', () => {
    const { c } = setup({}, Date.parse('2026-12-04T10:00:05Z'));
    c.reconcile([row('in1', 'in'), row('in0', 'in', { started_at: '2026-12-04T09:59:00Z' }), row('out1', 'out')]);
    expect(c.get().ringing.map((r) => r.id)).toEqual(['in1']);
    c.reconcile([row('in1', 'in')]);
    expect(c.get().ringing).toHaveLength(1);
    c.reconcile([row('in1', 'in', { answered_at: '2026-12-04T10:00:06Z' })]);
    expect(c.get().ringing).toEqual([]);
  });

  it('reset forgets everything', async () => {
    const { c, medias } = setup();
    await c.dial('102');
    c.onFrame(frame(row('in1', 'in'), 'ringing'));
    c.reset();
    expect(c.get()).toMatchObject({ active: null, ringing: [], answering: null, problem: null, ended: null });
    expect(medias[0].closed).toBe(true);
  });
});
