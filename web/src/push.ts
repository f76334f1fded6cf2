// Web Push in the app (SPEC §9): the browser's permission, its push subscription, and the
// server's copy of it. Permission is asked for only from a user's click (enablePush); on
// every start of a session a subscription the user allowed is sent to the server again, so
// the server always has this device's current one.

import * as api from './api';

/**
 * What the notifications control shows: the browser cannot push (or the app runs without its
 * service worker), the user blocked them for this site, they are off, or they are on.
 */
export type PushState = 'unsupported' | 'blocked' | 'off' | 'on';

/** Set when the user turned notifications off in the app: a new session does not turn them on. */
const OFF_KEY = 'vo.push.off';

/** How long to wait for the service worker to become active. */
const READY_TIMEOUT_MS = 10_000;

function turnedOff(): boolean {
  try {
    return localStorage.getItem(OFF_KEY) === '1';
  } catch {
    return false;
  }
}

function setTurnedOff(off: boolean): void {
  try {
    if (off) localStorage.setItem(OFF_KEY, '1');
    else localStorage.removeItem(OFF_KEY);
  } catch {
    // Without storage the choice lasts as long as the subscription (until logout).
  }
}

function notificationApi(): typeof Notification | null {
  return typeof Notification === 'undefined' ? null : Notification;
}

/** The active service worker's registration, or null when there is none to push to. */
async function registration(): Promise<ServiceWorkerRegistration | null> {
  if (typeof navigator === 'undefined' || !navigator.serviceWorker || typeof PushManager === 'undefined') return null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), READY_TIMEOUT_MS);
  });
  try {
    const reg = await Promise.race([navigator.serviceWorker.ready, timeout]);
    return reg && reg.pushManager ? reg : null;
  } finally {
    clearTimeout(timer);
  }
}

/** Decodes base64url (padded or not) to bytes; throws on anything else. */
export function base64UrlBytes(s: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(s)) throw new Error('not base64url');
  const b64 = s.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function sameBytes(a: ArrayBuffer | null | undefined, b: Uint8Array): boolean {
  if (!a) return false;
  const x = new Uint8Array(a);
  return x.length === b.length && x.every((v, i) => v === b[i]);
}

/**
 * Makes sure the browser holds a subscription for the server's current key (a subscription
 * made for another key is replaced) and stores it on the server.
 */
async function subscribe(reg: ServiceWorkerRegistration): Promise<void> {
  const { public_key } = await api.getPushKey();
  const key = base64UrlBytes(public_key);
  let sub = await reg.pushManager.getSubscription();
  if (sub && !sameBytes(sub.options?.applicationServerKey, key)) {
    await sub.unsubscribe();
    sub = null;
  }
  sub ??= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  const json = sub.toJSON();
  const p256dh = json.keys?.p256dh;
  const auth = json.keys?.auth;
  if (!json.endpoint || !p256dh || !auth) throw new Error('the browser gave an incomplete push subscription');
  await api.putPushSubscription({ endpoint: json.endpoint, keys: { p256dh, auth } });
}

/**
 * Where notifications stand, without asking for anything: when the user allowed them and
 * did not turn them off, the subscription is (re)made and sent to the server. Called when a
 * session starts; it never asks for permission (only a user's click may).
 */
export async function syncPush(): Promise<PushState> {
  const n = notificationApi();
  if (!n) return 'unsupported';
  const reg = await registration();
  if (!reg) return 'unsupported';
  if (n.permission === 'denied') return 'blocked';
  if (n.permission !== 'granted') return 'off';
  if (turnedOff()) {
    await (await reg.pushManager.getSubscription())?.unsubscribe();
    return 'off';
  }
  await subscribe(reg);
  return 'on';
}

/** Turns notifications on: call it only from a user's click, since it may ask for permission. */
export async function enablePush(): Promise<PushState> {
  const n = notificationApi();
  if (!n) return 'unsupported';
  // Asked first, while the click still counts as the user's (Safari needs that).
  const permission = n.permission === 'granted' ? 'granted' : await n.requestPermission();
  if (permission === 'denied') return 'blocked';
  if (permission !== 'granted') return 'off';
  const reg = await registration();
  if (!reg) return 'unsupported';
  await subscribe(reg);
  setTurnedOff(false);
  return 'on';
}

/** Turns notifications off for this device, here and on the server, until turned on again. */
export async function disablePush(): Promise<PushState> {
  setTurnedOff(true);
  await api.deletePushSubscription();
  const reg = await registration();
  await (await reg?.pushManager.getSubscription())?.unsubscribe();
  return notificationApi()?.permission === 'denied' ? 'blocked' : 'off';
}

/**
 * Drops this device's subscription when its session ends (logout, or ended elsewhere). The
 * server deletes its copy itself; this keeps a later session from inheriting it.
 */
export async function dropPushSubscription(): Promise<void> {
  const reg = await registration();
  await (await reg?.pushManager.getSubscription())?.unsubscribe();
}

/** A path inside the app, from a message of the service worker; null for anything else. */
export function navigationTarget(data: unknown): string | null {
  if (!data || typeof data !== 'object') return null;
  const { type, url } = data as { type?: unknown; url?: unknown };
  if (type !== 'vo:navigate' || typeof url !== 'string') return null;
  if (!url.startsWith('/') || url.startsWith('//') || url.startsWith('/\\')) return null;
  return url;
}

/** Shows the screens that tapped notifications open (the service worker posts their path). */
export function listenForNotificationTaps(go: (path: string) => void): void {
  if (typeof navigator === 'undefined' || !navigator.serviceWorker) return;
  navigator.serviceWorker.addEventListener('message', (e: MessageEvent) => {
    const path = navigationTarget(e.data);
    if (path !== null) go(path);
  });
  // Messages queue until the page says it listens.
  navigator.serviceWorker.startMessages?.();
}

/** The browser would ask the user (permission neither given nor refused yet). */
export function canAskPermission(): boolean {
  return notificationApi()?.permission === 'default';
}

const OFFER_KEY = 'vo.push.offer-dismissed';

/** The user answered "Not now" to the offer to turn notifications on (the profile still has it). */
export function offerDismissed(): boolean {
  try {
    return localStorage.getItem(OFFER_KEY) === '1';
  } catch {
    return false;
  }
}

export function dismissOffer(): void {
  try {
    localStorage.setItem(OFFER_KEY, '1');
  } catch {
    // Then it is offered again on the next start.
  }
}
