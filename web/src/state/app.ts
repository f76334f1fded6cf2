// The running app: who is signed in, the view of the org, the event stream, and the actions
// the screens call. The rules themselves live in view.ts and stream.ts.

import * as api from '../api';
import { ApiError, NetworkError } from '../api';
import { disablePush, dropPushSubscription, enablePush, type PushState, syncPush } from '../push';
import type { CallFrame, Contact, Me, PresenceUpdate } from '../types';
import { calls as liveCalls } from './call';
import { backoffDelay } from './backoff';
import { afterCallFrame, callsStore, emptyCalls, loadCalls, loadVoicemails } from './calls';
import { applyChatFrame, emptyChat, expireTyping, restoreChat, saveChat, type ChatState, type SavedChat } from './chat';
import { afterChatFrame, flushOutbox, loadConversations, restoreOutbox } from './chats';
import { outboxStore, setOutboxUser } from './outbox';
import { createStore } from './store';
import { EventStream, type StreamStatus } from './stream';
import { applyDirectory, applyFrame, emptyView, mergeOwnPresence, setMe, type View } from './view';

export type Phase = 'boot' | 'login' | 'unreachable' | 'ready';

export interface Toast {
  id: number;
  text: string;
}

export interface AppState {
  phase: Phase;
  view: View;
  /** Conversations and messages (SPEC §8). */
  chat: ChatState;
  stream: StreamStatus;
  /** The directory has been loaded (or restored) at least once. */
  directoryLoaded: boolean;
  /** A message for the login screen (why the user was signed out). */
  notice: string | null;
  toast: Toast | null;
  /** Notifications on this device (SPEC §9); null until known. */
  push: PushState | null;
}

const IDLE_STREAM: StreamStatus = { connected: false, current: false, everCurrent: false, attempt: 0, retryAt: null };

export const SESSION_ENDED_NOTICE =
  'You were signed out: this device was logged out from another device, or your account was changed by an administrator.';

export const app = createStore<AppState>({
  phase: 'boot',
  view: emptyView(),
  chat: emptyChat(),
  stream: IDLE_STREAM,
  directoryLoaded: false,
  notice: null,
  toast: null,
  push: null,
});

const CACHE_KEY = 'vo.cache';

interface SavedView {
  me: Me;
  contacts: Contact[];
  /** Recent conversations and messages, so that chats open offline. */
  chat?: SavedChat;
}

function saveCache(): void {
  const { view, chat } = app.get();
  if (!view.me) return;
  const saved: SavedView = { me: view.me, contacts: Object.values(view.contacts), chat: saveChat(chat) };
  try {
    localStorage.setItem(CACHE_KEY, JSON.stringify(saved));
  } catch {
    // Full or disabled storage only costs the offline start.
  }
}

function loadCache(): SavedView | null {
  try {
    const raw = localStorage.getItem(CACHE_KEY);
    return raw ? (JSON.parse(raw) as SavedView) : null;
  } catch {
    return null;
  }
}

function clearCache(): void {
  try {
    localStorage.removeItem(CACHE_KEY);
  } catch {
    // Nothing was saved then.
  }
}

let stream: EventStream | null = null;
let saveTimer: ReturnType<typeof setTimeout> | null = null;
let bootTimer: ReturnType<typeof setTimeout> | null = null;
let bootAttempt = 0;
let toastId = 0;

function updateView(fn: (v: View) => View): void {
  app.set((s) => ({ view: fn(s.view) }));
  scheduleSave();
}

/** Saves the view and recent chats on the device soon (they open the app offline). */
export function scheduleSave(): void {
  if (saveTimer === null) {
    saveTimer = setTimeout(() => {
      saveTimer = null;
      saveCache();
    }, 500);
  }
}

export function showToast(text: string): void {
  app.set({ toast: { id: ++toastId, text } });
}

async function loadDirectory(): Promise<void> {
  const stamps = app.get().view.contactStamps;
  const items = await api.directoryAll();
  updateView((v) => applyDirectory(v, items, stamps));
  app.set({ directoryLoaded: true });
}

async function refreshAll(): Promise<void> {
  // Events may have been missed (a snapshot instead of a catch-up): conversations reload too.
  const [me] = await Promise.all([api.getMe(), loadDirectory(), loadConversations()]);
  // Calls and voicemails missed meanwhile: the badge and the lists catch up too.
  void loadVoicemails().catch(() => undefined);
  // An incoming call that ended while the stream was down must stop ringing.
  if (callsStore.get().callsLoaded || liveCalls.get().ringing.length > 0) void loadCalls().catch(() => undefined);
  updateView((v) => setMe(v, me));
}

function onFrame(frame: Parameters<typeof applyFrame>[1]): void {
  const now = Date.now();
  app.set((s) => ({
    view: applyFrame(s.view, frame),
    chat: frame.type === 'typing' ? applyChatFrame(expireTyping(s.chat, now), frame, s.view.me?.id ?? '', now) : applyChatFrame(s.chat, frame, s.view.me?.id ?? '', now),
  }));
  scheduleSave();
  afterChatFrame(frame);
  if (frame.type === 'call') liveCalls.onFrame(frame as unknown as CallFrame);
  afterCallFrame(frame);
}

function onStatus(status: StreamStatus): void {
  const was = app.get().stream.current;
  app.set({ stream: status });
  if (status.current && !was) {
    // Back in touch with the server: what was composed meanwhile goes out now.
    if (!app.get().chat.listLoaded) void loadConversations().catch(() => undefined);
    void flushOutbox();
  }
}

/** Sends a frame on the event stream (a typing notice); false when not connected. */
export function sendStreamFrame(frame: { type: string; [key: string]: unknown }): boolean {
  return stream?.send(frame) ?? false;
}

function makeStream(startStale: boolean): EventStream {
  return new EventStream({
    url: (cursor) => api.eventsUrl(cursor),
    openSocket: (url) => new WebSocket(url),
    getCursor: () => app.get().view.cursor,
    onFrame,
    onStatus,
    onSessionEnded: () => endSession(SESSION_ENDED_NOTICE),
    checkSession: async () => {
      try {
        await api.getMe(true, true);
        return 'ok';
      } catch (err) {
        return err instanceof ApiError && err.status === 401 ? 'ended' : 'unknown';
      }
    },
    refresh: refreshAll,
    isVisible: () => document.visibilityState === 'visible',
    isOnline: () => navigator.onLine !== false,
    clock: {
      now: () => Date.now(),
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
    },
    startStale,
  });
}

function startSession(me: Me, restored: SavedView | null): void {
  stream?.stop();
  let view = setMe(emptyView(), me);
  if (restored) view = applyDirectory(view, restored.contacts);
  const chat = restored ? restoreChat(restored.chat) : emptyChat();
  app.set({ phase: 'ready', view, chat, notice: null, directoryLoaded: restored !== null, stream: IDLE_STREAM });
  setOutboxUser(me.id);
  stream = makeStream(restored !== null);
  stream.start();
  if (!restored) void loadDirectoryUntilDone(stream);
  void loadConversations().catch(() => undefined);
  callsStore.set(emptyCalls());
  void loadVoicemails().catch(() => undefined);
  void restoreOutbox(me.id).catch(() => undefined);
  void syncNotifications(stream);
}

/** Finds out where notifications stand and keeps the server's copy of the subscription current. */
async function syncNotifications(owner: EventStream): Promise<void> {
  let state: PushState;
  try {
    state = await syncPush();
  } catch {
    // The push service or the server could not be reached: the next session start retries.
    state = 'off';
  }
  if (stream === owner) app.set({ push: state });
}

/** Turns notifications on; call it from a click only (it may ask the browser's permission). */
export async function turnOnNotifications(): Promise<PushState> {
  const state = await enablePush();
  app.set({ push: state });
  return state;
}

export async function turnOffNotifications(): Promise<void> {
  app.set({ push: await disablePush() });
}

/** Loads the directory, retrying with backoff while this session's stream runs. */
async function loadDirectoryUntilDone(owner: EventStream): Promise<void> {
  for (let attempt = 0; stream === owner; attempt++) {
    try {
      await loadDirectory();
      return;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt)));
    }
  }
}

/** Signs the user out locally: the session is over (ended elsewhere or logged out). */
export function endSession(notice: string | null): void {
  stream?.stop();
  stream = null;
  if (saveTimer !== null) clearTimeout(saveTimer);
  saveTimer = null;
  api.forgetSession();
  clearCache();
  // Unsent messages are the signed-out user's: they are not left for whoever signs in next.
  setOutboxUser(null);
  void outboxStore.clear();
  callsStore.set(emptyCalls());
  liveCalls.reset();
  void dropPushSubscription().catch(() => undefined);
  app.set({ phase: 'login', view: emptyView(), chat: emptyChat(), stream: IDLE_STREAM, directoryLoaded: false, notice, push: null });
}

/** Finds out whether the cookie session is alive and opens the right screen. */
export async function boot(): Promise<void> {
  if (bootTimer !== null) clearTimeout(bootTimer);
  bootTimer = null;
  try {
    const me = await api.getMe(true, true);
    bootAttempt = 0;
    startSession(me, null);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      clearCache();
      app.set({ phase: 'login' });
      return;
    }
    const saved = err instanceof NetworkError ? loadCache() : null;
    if (saved) {
      startSession(saved.me, saved);
      return;
    }
    app.set({ phase: 'unreachable' });
    bootTimer = setTimeout(() => void boot(), backoffDelay(bootAttempt++));
  }
}

export async function signIn(email: string, password: string): Promise<void> {
  const answer = await api.login(email, password);
  startSession(answer.user, null);
}

/** Logs this device out on the server, then shows the login screen. */
export async function signOut(): Promise<void> {
  stream?.stop();
  try {
    await api.logout();
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) {
      stream?.start();
      throw err;
    }
  }
  endSession(null);
}

export async function setPresence(update: PresenceUpdate): Promise<void> {
  const presence = await api.putPresence(update);
  updateView((v) => mergeOwnPresence(v, presence));
}

export async function uploadPhoto(image: Blob): Promise<void> {
  const me = await api.putPhoto(image);
  updateView((v) => setMe(v, me));
}

export async function removePhoto(): Promise<void> {
  const me = await api.deletePhoto();
  updateView((v) => setMe(v, me));
}

/** Adds contacts found by a server search (beyond what the directory holds). */
export function mergeContacts(items: Contact[], stamps: Record<string, number>): void {
  updateView((v) => applyDirectory(v, items, stamps));
}

export function retryStreamNow(): void {
  stream?.retryNow();
}

let listening = false;

/** Wires the page's events to the stream: connectivity, visibility and user activity. */
export function listen(): void {
  if (listening) return;
  listening = true;
  api.setUnauthenticatedHandler(() => {
    if (app.get().phase === 'ready') endSession(SESSION_ENDED_NOTICE);
  });
  window.addEventListener('online', () => {
    if (app.get().phase === 'unreachable') void boot();
    stream?.handleOnline();
    if (app.get().phase === 'ready') void flushOutbox();
  });
  window.addEventListener('offline', () => stream?.handleOffline());
  window.addEventListener('pagehide', () => {
    if (app.get().phase === 'ready') saveCache();
    // A call cannot go on in a closed page (or one kept in the back-forward cache).
    void liveCalls.hangup(true);
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'visible') return;
    stream?.handleVisible();
    stream?.noteActivity();
  });
  const active = () => stream?.noteActivity();
  window.addEventListener('pointerdown', active, { passive: true });
  window.addEventListener('keydown', active, { passive: true });
  window.addEventListener('focus', active);
}
