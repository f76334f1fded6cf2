// The live event stream (SPEC §5): one WebSocket, resumed from the last cursor after any
// loss, with backoff, and an honest answer to "is what the screen shows current?".
//
// The view is current only once the server has said hello on a connection and then either
// sent a snapshot, or replayed the events after our cursor and closed the replay with
// `{"type":"caught_up"}`. Everything the class touches (socket, clock, page events) is
// passed in, so the rules are tested with fakes and no browser.

import type { Frame, OtherFrame } from '../types';
import { backoffDelay } from './backoff';

/** The part of a browser WebSocket the stream uses. */
/** The close code of a stream the server replaced by a newer one of its session or user. */
export const CLOSE_DISPLACED = 4000;

export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: Event) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
  onerror: ((ev: Event) => void) | null;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface StreamStatus {
  /** The server said hello on the open connection. */
  connected: boolean;
  /** What the view shows is known to match the server. */
  current: boolean;
  /** The view was current at least once since the stream started. */
  everCurrent: boolean;
  /** Failed connection attempts in a row. */
  attempt: number;
  /** When the next attempt is due (clock ms), while waiting for it. */
  retryAt: number | null;
}

export type SessionCheck = 'ok' | 'ended' | 'unknown';

export interface StreamDeps {
  url(cursor: string | null): string;
  openSocket(url: string): SocketLike;
  /** The cursor of the last frame applied to the view. */
  getCursor(): string | null;
  onFrame(frame: Frame | OtherFrame): void;
  onStatus(status: StreamStatus): void;
  /** The server ended this session (remote logout, deactivation): the app returns to login. */
  onSessionEnded(): void;
  /** Asked after a connection failed before hello: is the session still valid? */
  checkSession(): Promise<SessionCheck>;
  /** Brings profiles up to date over HTTP when a catch-up could not be used. */
  refresh(): Promise<void>;
  isVisible(): boolean;
  isOnline(): boolean;
  clock: Clock;
  random?: () => number;
  /**
   * The view was restored from a saved copy rather than loaded from the server: the first
   * sync must also bring profiles up to date before the view counts as current.
   */
  startStale?: boolean;
}

const OPEN = 1;
/** How long to wait, after hello, for the snapshot or the end of the catch-up. */
export const CATCHUP_TIMEOUT_MS = 2_000;
/** Silence after which a visible app suspects a dead connection and reconnects quietly. */
export const SILENCE_MS = 45_000;
/** How often silence is checked. */
export const WATCHDOG_MS = 15_000;
/** A quiet reconnect that has not reached hello by then shows the connection as down. */
export const QUIET_GRACE_MS = 5_000;
/** `{"type":"activity"}` is sent at most this often. */
export const ACTIVITY_INTERVAL_MS = 60_000;

export class EventStream {
  private readonly d: StreamDeps;
  private socket: SocketLike | null = null;
  private generation = 0;
  private stopped = true;
  private hello = false;
  private helloCursor: string | null = null;
  private resumedFrom: string | null = null;
  private current = false;
  private everCurrent = false;
  private refreshOnce: boolean;
  private attempt = 0;
  private retryAt: number | null = null;
  private lastFrameAt = 0;
  private lastActivityAt = -Infinity;
  private activityPending = false;
  private reconnectTimer: unknown = null;
  private catchupTimer: unknown = null;
  private watchdogTimer: unknown = null;
  private graceTimer: unknown = null;

  constructor(deps: StreamDeps) {
    this.d = deps;
    this.refreshOnce = deps.startStale === true;
  }

  status(): StreamStatus {
    return {
      connected: this.hello,
      current: this.current,
      everCurrent: this.everCurrent,
      attempt: this.attempt,
      retryAt: this.retryAt,
    };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
    this.armWatchdog();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimer('reconnectTimer');
    this.clearTimer('catchupTimer');
    this.clearTimer('watchdogTimer');
    this.clearTimer('graceTimer');
    this.dropSocket();
    this.hello = false;
    this.current = false;
    this.retryAt = null;
  }

  /** Reconnects now if the stream is waiting to retry (the "Retry now" button). */
  retryNow(): void {
    if (this.stopped || this.socket) return;
    this.connect();
  }

  /** The browser came back online: do not wait for the backoff. */
  handleOnline(): void {
    if (this.stopped) return;
    this.attempt = 0;
    if (!this.socket) this.connect();
  }

  /** The browser says it is offline: nothing arrives any more, so say so at once. */
  handleOffline(): void {
    if (this.stopped || !this.socket) return;
    this.lost(false);
  }

  /** The app became visible: reconnect if waiting, or if the connection went silent. */
  handleVisible(): void {
    if (this.stopped) return;
    if (!this.socket) {
      this.connect();
    } else if (this.hello && this.d.clock.now() - this.lastFrameAt >= SILENCE_MS) {
      this.lost(true);
    }
  }

  /** The user is using the app: tell the server, at most once a minute (feeds auto-away). */
  noteActivity(): void {
    if (this.stopped) return;
    const now = this.d.clock.now();
    if (now - this.lastActivityAt < ACTIVITY_INTERVAL_MS) return;
    if (this.socket && this.hello && this.socket.readyState === OPEN) {
      this.socket.send(JSON.stringify({ type: 'activity' }));
      this.lastActivityAt = now;
      this.activityPending = false;
    } else {
      this.activityPending = true;
    }
  }

  /** Sends a client frame (`typing`, say) if the connection is up; says whether it went. */
  send(frame: { type: string; [key: string]: unknown }): boolean {
    if (this.stopped || !this.socket || !this.hello || this.socket.readyState !== OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  private emit(): void {
    this.d.onStatus(this.status());
  }

  private clearTimer(name: 'reconnectTimer' | 'catchupTimer' | 'watchdogTimer' | 'graceTimer'): void {
    if (this[name] !== null) {
      this.d.clock.clearTimeout(this[name]);
      this[name] = null;
    }
  }

  private dropSocket(): void {
    const s = this.socket;
    this.socket = null;
    this.generation++;
    if (!s) return;
    s.onopen = s.onmessage = s.onclose = s.onerror = null;
    try {
      s.close(1000, 'bye');
    } catch {
      // Closing a socket that never opened may throw in some browsers; it is gone either way.
    }
  }

  private connect(): void {
    this.clearTimer('reconnectTimer');
    this.dropSocket();
    this.retryAt = null;
    this.hello = false;
    this.helloCursor = null;
    this.resumedFrom = this.d.getCursor();
    const gen = this.generation;
    let s: SocketLike;
    try {
      s = this.d.openSocket(this.d.url(this.resumedFrom));
    } catch {
      this.emit();
      this.scheduleReconnect(false);
      return;
    }
    this.socket = s;
    s.onmessage = (ev) => {
      if (gen === this.generation) this.receive(ev.data);
    };
    s.onerror = () => {
      if (gen === this.generation) this.lost(false);
    };
    s.onclose = (ev) => {
      if (gen !== this.generation) return;
      if (ev.code === CLOSE_DISPLACED) this.displaced();
      else this.lost(false);
    };
    this.emit();
  }

  /**
   * The server closed this stream for a newer one of the same session or user (too many
   * tabs open). Reconnecting at once would close the next oldest, which would reconnect in
   * turn: so this tab waits until it is looked at again (visible, or "Retry now").
   */
  private displaced(): void {
    if (this.stopped) return;
    this.dropSocket();
    this.hello = false;
    this.current = false;
    this.retryAt = null;
    this.clearTimer('catchupTimer');
    this.clearTimer('graceTimer');
    this.clearTimer('reconnectTimer');
    this.emit();
  }

  private receive(data: unknown): void {
    this.lastFrameAt = this.d.clock.now();
    if (typeof data !== 'string') return;
    let frame: Frame | OtherFrame;
    try {
      frame = JSON.parse(data) as Frame | OtherFrame;
    } catch {
      return;
    }
    if (!frame || typeof frame !== 'object' || typeof frame.type !== 'string') return;

    if (frame.type === 'hello') {
      this.onHello(typeof frame.cursor === 'string' ? frame.cursor : null);
      return;
    }
    this.d.onFrame(frame);
    if (frame.type === 'session.ended') {
      this.stop();
      this.emit();
      this.d.onSessionEnded();
      return;
    }
    if (this.current || !this.hello) return;
    if (frame.type === 'snapshot') {
      this.caughtUp(this.everCurrent || this.refreshOnce);
    } else if (frame.type === 'caught_up') {
      this.caughtUp(this.refreshOnce);
    } else if (this.helloCursor !== null && this.helloCursor !== this.resumedFrom && frame.cursor === this.helloCursor) {
      // A server whose hello announces its head: the replay has reached it.
      this.caughtUp(this.refreshOnce);
    }
  }

  private onHello(cursor: string | null): void {
    this.hello = true;
    this.helloCursor = cursor;
    this.attempt = 0;
    this.retryAt = null;
    this.clearTimer('graceTimer');
    if (this.activityPending) {
      this.activityPending = false;
      this.lastActivityAt = -Infinity;
      this.noteActivity();
    }
    // A snapshot, or the replayed events closed by `caught_up`, follow. Should neither be
    // recognisable, the view is brought up to date over HTTP instead.
    const gen = this.generation;
    this.clearTimer('catchupTimer');
    this.catchupTimer = this.d.clock.setTimeout(() => {
      this.catchupTimer = null;
      if (gen === this.generation && !this.current) this.caughtUp(true);
    }, CATCHUP_TIMEOUT_MS);
    this.emit();
  }

  private caughtUp(needsRefresh: boolean): void {
    this.clearTimer('catchupTimer');
    if (!needsRefresh) {
      this.markCurrent();
      return;
    }
    const gen = this.generation;
    this.d.refresh().then(
      () => {
        if (gen === this.generation && !this.stopped) this.markCurrent();
      },
      () => {
        if (gen === this.generation && !this.stopped) this.lost(false);
      },
    );
  }

  private markCurrent(): void {
    this.clearTimer('graceTimer');
    this.current = true;
    this.everCurrent = true;
    this.refreshOnce = false;
    this.emit();
  }

  /**
   * The connection is gone (or presumed dead). A quiet loss, a silent connection being
   * replaced, keeps the view marked current for a short grace while it reconnects at once.
   */
  private lost(quiet: boolean): void {
    if (this.stopped) return;
    const hadHello = this.hello;
    this.dropSocket();
    this.hello = false;
    this.clearTimer('catchupTimer');
    if (quiet && this.current) {
      this.clearTimer('graceTimer');
      this.graceTimer = this.d.clock.setTimeout(() => {
        this.graceTimer = null;
        if (!this.hello) {
          this.current = false;
          this.emit();
        }
      }, QUIET_GRACE_MS);
    } else {
      this.clearTimer('graceTimer');
      this.current = false;
    }
    if (!hadHello && !quiet) this.checkSession();
    this.scheduleReconnect(quiet);
  }

  private checkSession(): void {
    this.d.checkSession().then(
      (answer) => {
        if (answer === 'ended' && !this.stopped) {
          this.stop();
          this.emit();
          this.d.onSessionEnded();
        }
      },
      () => undefined,
    );
  }

  private scheduleReconnect(immediately: boolean): void {
    if (this.stopped) return;
    this.clearTimer('reconnectTimer');
    const delay = immediately ? 0 : backoffDelay(this.attempt++, this.d.random);
    this.retryAt = this.d.clock.now() + delay;
    this.reconnectTimer = this.d.clock.setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
    this.emit();
  }

  private armWatchdog(): void {
    this.clearTimer('watchdogTimer');
    this.watchdogTimer = this.d.clock.setTimeout(() => {
      this.watchdogTimer = null;
      if (this.stopped) return;
      const silent = this.d.clock.now() - this.lastFrameAt >= SILENCE_MS;
      if (this.socket && this.hello && silent && this.d.isVisible() && this.d.isOnline()) this.lost(true);
      this.armWatchdog();
    }, WATCHDOG_MS);
  }
}
