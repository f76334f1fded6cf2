import { beforeEach, describe, expect, it } from 'vitest';
import { backoffDelay } from '../src/state/backoff';
import {
  ACTIVITY_INTERVAL_MS,
  CATCHUP_TIMEOUT_MS,
  CLOSE_DISPLACED,
  EventStream,
  QUIET_GRACE_MS,
  SILENCE_MS,
  type SessionCheck,
  type SocketLike,
  type StreamStatus,
  WATCHDOG_MS,
} from '../src/state/stream';
import { applyFrame, emptyView, type View } from '../src/state/view';
import type { Frame, OtherFrame } from '../src/types';

class FakeClock {
  t = 0;
  private seq = 0;
  timers = new Map<number, { at: number; fn: () => void }>();
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  };
  clearTimeout = (id: unknown) => {
    this.timers.delete(id as number);
  };
  /** Moves time forward, running each timer that falls due, in order. */
  advance(ms: number) {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | null = null;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }
}

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: string[] = [];
  closed = false;
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  constructor(readonly url: string) {}
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.closed = true;
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({} as Event);
  }
  frame(f: object) {
    this.onmessage?.({ data: JSON.stringify(f) } as MessageEvent);
  }
  drop(code?: number) {
    this.readyState = 3;
    this.onclose?.({ code } as CloseEvent);
  }
}

interface Harness {
  clock: FakeClock;
  sockets: FakeSocket[];
  statuses: StreamStatus[];
  view: () => View;
  stream: EventStream;
  ended: () => number;
  refreshes: () => number;
  setSession: (s: SessionCheck) => void;
  setVisible: (v: boolean) => void;
  last: () => FakeSocket;
}

function harness(opts: { startStale?: boolean; refreshFails?: boolean } = {}): Harness {
  const clock = new FakeClock();
  const sockets: FakeSocket[] = [];
  const statuses: StreamStatus[] = [];
  let view = emptyView();
  let ended = 0;
  let refreshes = 0;
  let session: SessionCheck = 'ok';
  let visible = true;
  const stream = new EventStream({
    url: (cursor) => `ws://vo.test/api/v1/events${cursor ? `?cursor=${cursor}` : ''}`,
    openSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    getCursor: () => view.cursor,
    onFrame: (f: Frame | OtherFrame) => {
      view = applyFrame(view, f);
    },
    onStatus: (s) => statuses.push(s),
    onSessionEnded: () => {
      ended++;
    },
    checkSession: async () => session,
    refresh: async () => {
      refreshes++;
      if (opts.refreshFails) throw new Error('unreachable');
    },
    isVisible: () => visible,
    isOnline: () => true,
    clock,
    random: () => 1,
    startStale: opts.startStale,
  });
  return {
    clock,
    sockets,
    statuses,
    view: () => view,
    stream,
    ended: () => ended,
    refreshes: () => refreshes,
    setSession: (s) => {
      session = s;
    },
    setVisible: (v) => {
      visible = v;
    },
    last: () => sockets[sockets.length - 1],
  };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

const snapshot = (cursor: string) => ({ type: 'snapshot', cursor, presence: [], me: null });

describe('EventStream', () => {
  let h: Harness;
  beforeEach(() => {
    h = harness();
    h.stream.start();
  });

  it('connects without a cursor first and is current after hello and snapshot', () => {
    expect(h.last().url).toBe('ws://vo.test/api/v1/events');
    h.last().open();
    expect(h.stream.status().current).toBe(false);
    h.last().frame({ type: 'hello', cursor: 'c10' });
    expect(h.stream.status()).toMatchObject({ connected: true, current: false });
    h.last().frame(snapshot('c10'));
    expect(h.stream.status()).toMatchObject({ connected: true, current: true, everCurrent: true });
    expect(h.view().cursor).toBe('c10');
  });

  it('resumes from the last cursor after a loss, and is current once the catch-up reaches hello’s cursor', () => {
    h.last().open();
    h.last().frame({ type: 'hello', cursor: 'c1' });
    h.last().frame(snapshot('c1'));
    h.last().frame({ type: 'presence', cursor: 'c2', user_id: 'u2', shown: 'busy', activity: null, message: null, version: 3 });
    h.last().drop();
    expect(h.stream.status().current).toBe(false);

    h.clock.advance(backoffDelay(0, () => 1));
    expect(h.sockets).toHaveLength(2);
    expect(h.last().url).toBe('ws://vo.test/api/v1/events?cursor=c2');
    h.last().open();
    h.last().frame({ type: 'hello', cursor: 'c4' });
    expect(h.stream.status().current).toBe(false);
    h.last().frame({ type: 'presence', cursor: 'c3', user_id: 'u2', shown: 'away', activity: null, message: null, version: 4 });
    expect(h.stream.status().current).toBe(false);
    h.last().frame({ type: 'presence', cursor: 'c4', user_id: 'u2', shown: 'available', activity: null, message: null, version: 5 });
    expect(h.stream.status().current).toBe(true);
    expect(h.view().presence.u2.shown).toBe('available');
    expect(h.refreshes()).toBe(0);
  });

  it('is current once the replay after an echoed cursor ends with caught_up', () => {
    h.last().open();
    h.last().frame({ type: 'hello', cursor: 'c1' });
    h.last().frame(snapshot('c7'));
    h.last().drop();
    h.clock.advance(1000);
    expect(h.last().url).toContain('cursor=c7');
    h.last().frame({ type: 'hello', cursor: 'c7' });
    expect(h.stream.status().current).toBe(false);
    h.last().frame({ type: 'presence', cursor: 'c8', user_id: 'u3', shown: 'busy', activity: null, message: 'Lunch', version: 2 });
    expect(h.stream.status().current).toBe(false);
    h.last().frame({ type: 'caught_up', cursor: 'c9' });
    expect(h.stream.status().current).toBe(true);
    expect(h.view().presence.u3.message).toBe('Lunch');
    expect(h.view().cursor).toBe('c9');
    expect(h.refreshes()).toBe(0);
  });

  it('refreshes profiles when a reconnect gets a snapshot instead of a catch-up', async () => {
    h.last().frame({ type: 'hello', cursor: 'c1' });
    h.last().frame(snapshot('c1'));
    h.last().drop();
    h.clock.advance(1000);
    h.last().frame({ type: 'hello', cursor: 'c99' });
    h.last().frame(snapshot('c99'));
    expect(h.stream.status().current).toBe(false);
    await flush();
    expect(h.refreshes()).toBe(1);
    expect(h.stream.status().current).toBe(true);
  });

  it('falls back to an HTTP refresh when the catch-up never reaches the announced cursor', async () => {
    h.last().frame({ type: 'hello', cursor: 'c1' });
    h.last().frame(snapshot('c1'));
    h.last().drop();
    h.clock.advance(1000);
    h.last().frame({ type: 'hello', cursor: 'unmatched' });
    h.clock.advance(CATCHUP_TIMEOUT_MS - 1);
    expect(h.refreshes()).toBe(0);
    h.clock.advance(1);
    await flush();
    expect(h.refreshes()).toBe(1);
    expect(h.stream.status().current).toBe(true);
  });

  it('backs off with growing waits and starts over after a hello', () => {
    const opened: number[] = [];
    for (let i = 0; i < 5; i++) {
      h.last().drop();
      const before = h.sockets.length;
      const wait = backoffDelay(i, () => 1);
      h.clock.advance(wait - 1);
      expect(h.sockets).toHaveLength(before);
      h.clock.advance(1);
      expect(h.sockets).toHaveLength(before + 1);
      opened.push(wait);
    }
    expect(opened).toEqual([500, 1000, 2000, 4000, 8000]);
    expect(h.stream.status().attempt).toBe(5);
    h.last().frame({ type: 'hello', cursor: 'c1' });
    expect(h.stream.status().attempt).toBe(0);
    h.last().drop();
    expect(h.stream.status().retryAt).toBe(h.clock.t + 500);
  });

  it('reconnects at once when the browser comes back online', () => {
    h.last().frame({ type: 'hello', cursor: 'c1' });
    h.last().frame(snapshot('c1'));
    h.stream.handleOffline();
    expect(h.stream.status().current).toBe(false);
    expect(h.sockets[0].closed).toBe(true);
    h.last();
    h.stream.handleOnline();
    expect(h.sockets).toHaveLength(2);
    expect(h.last().url).toContain('cursor=c1');
  });

  it('asks whether the session is still valid when a connection fails before hello', async () => {
    h.setSession('ended');
    h.last().drop();
    await flush();
    expect(h.ended()).toBe(1);
    h.clock.advance(60_000);
    expect(h.sockets).toHaveLength(1);
  });

  it('waits to be looked at again when the server replaced it by a newer stream', () => {
    h.last().frame({ type: 'hello', cursor: 'c1' });
    h.last().frame(snapshot('c1'));
    h.setVisible(false);
    h.last().drop(CLOSE_DISPLACED);
    expect(h.stream.status()).toMatchObject({ connected: false, current: false, retryAt: null });
    h.clock.advance(10 * 60_000);
    expect(h.sockets).toHaveLength(1);
    h.setVisible(true);
    h.stream.handleVisible();
    expect(h.sockets).toHaveLength(2);
    expect(h.last().url).toContain('cursor=c1');
  });

  it('stops and reports session.ended', () => {
    h.last().frame({ type: 'hello', cursor: 'c1' });
    h.last().frame({ type: 'session.ended', cursor: 'c2', session_id: 's1' });
    expect(h.ended()).toBe(1);
    h.last().drop();
    h.clock.advance(60_000);
    expect(h.sockets).toHaveLength(1);
  });

  it('sends activity at most once a minute, and after reconnecting when it was pending', () => {
    h.setVisible(false); // no silence watchdog in this test
    h.stream.noteActivity();
    expect(h.last().sent).toEqual([]);
    h.last().open();
    h.last().frame({ type: 'hello', cursor: 'c1' });
    expect(h.last().sent).toEqual(['{"type":"activity"}']);
    h.clock.advance(10_000);
    h.stream.noteActivity();
    expect(h.last().sent).toHaveLength(1);
    h.clock.advance(ACTIVITY_INTERVAL_MS);
    h.stream.noteActivity();
    expect(h.last().sent).toHaveLength(2);
  });

  it('sends a client frame only on a connection the server has greeted', () => {
    h.setVisible(false);
    expect(h.stream.send({ type: 'typing' })).toBe(false);
    h.last().open();
    expect(h.stream.send({ type: 'typing' })).toBe(false);
    h.last().frame({ type: 'hello', cursor: 'c1' });
    expect(h.stream.send({ type: 'typing', conversation_id: 'c1' })).toBe(true);
    expect(h.last().sent).toEqual(['{"type":"typing","conversation_id":"c1"}']);
    h.last().drop();
    expect(h.stream.send({ type: 'typing' })).toBe(false);
  });

  it('replaces a silent connection quietly, without showing it down unless the reconnect stalls', () => {
    h.last().open();
    h.last().frame({ type: 'hello', cursor: 'c1' });
    h.last().frame(snapshot('c1'));
    h.clock.advance(SILENCE_MS - WATCHDOG_MS);
    expect(h.sockets.length).toBe(1);
    h.clock.advance(WATCHDOG_MS);
    expect(h.sockets.length).toBe(2);
    expect(h.sockets[0].closed).toBe(true);
    expect(h.stream.status().current).toBe(true);
    h.clock.advance(QUIET_GRACE_MS);
    expect(h.stream.status().current).toBe(false);
  });

  it('does not suspect silence while the app is hidden', () => {
    h.setVisible(false);
    h.last().frame({ type: 'hello', cursor: 'c1' });
    h.last().frame(snapshot('c1'));
    h.clock.advance(SILENCE_MS * 3);
    expect(h.sockets).toHaveLength(1);
  });

  it('ignores frames of a replaced socket', () => {
    const first = h.last();
    first.frame({ type: 'hello', cursor: 'c1' });
    first.drop();
    h.clock.advance(1000);
    first.frame({ type: 'presence', cursor: 'late', user_id: 'u1', shown: 'busy', activity: null, message: null, version: 1 });
    expect(h.view().cursor).toBeNull();
  });
});

describe('EventStream restored from a saved view', () => {
  it('refreshes before counting the first snapshot as current', async () => {
    const h = harness({ startStale: true });
    h.stream.start();
    h.last().frame({ type: 'hello', cursor: 'c1' });
    h.last().frame(snapshot('c1'));
    await flush();
    expect(h.refreshes()).toBe(1);
    expect(h.stream.status().current).toBe(true);
  });

  it('treats a failing refresh as a lost connection', async () => {
    const h = harness({ startStale: true, refreshFails: true });
    h.stream.start();
    h.last().frame({ type: 'hello', cursor: 'c1' });
    h.last().frame(snapshot('c1'));
    await flush();
    expect(h.stream.status().current).toBe(false);
    expect(h.stream.status().retryAt).not.toBeNull();
  });
});
