// HTTP calls to the vo server (SPEC §3, §4), authenticated by the HttpOnly session cookie.
// The bearer token that login returns is never kept; the CSRF token is, for unsafe methods.

import type {
  Attachment,
  Call,
  Forwarding,
  SipCredential,
  Voicemail,
  Contact,
  Conversation,
  ConversationPage,
  LoginAnswer,
  Me,
  Message,
  MessagePage,
  NewMessage,
  OwnPresence,
  Page,
  PresenceUpdate,
  PushKey,
  PushSubscriptionBody,
  Session,
} from './types';
import type { components } from './api-types';

type CallList = components['schemas']['CallList'];
type VoicemailList = components['schemas']['VoicemailList'];

const CSRF_KEY = 'vo.csrf';

/** The server answered with an error (SPEC §3 error body). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** Seconds to wait, from `Retry-After` (429 only). */
  readonly retryAfter: number | null;

  constructor(status: number, code: string, message: string, retryAfter: number | null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** The server could not be reached at all. */
export class NetworkError extends Error {
  constructor() {
    super('The server could not be reached.');
    this.name = 'NetworkError';
  }
}

let onUnauthenticated: (() => void) | null = null;

/** Called when an authenticated call answers 401: the session ended elsewhere. */
export function setUnauthenticatedHandler(fn: (() => void) | null): void {
  onUnauthenticated = fn;
}

export function csrfToken(): string | null {
  try {
    return localStorage.getItem(CSRF_KEY);
  } catch {
    return null;
  }
}

function setCsrfToken(token: string | null): void {
  try {
    if (token === null) localStorage.removeItem(CSRF_KEY);
    else localStorage.setItem(CSRF_KEY, token);
  } catch {
    // Storage can be disabled (private mode); the session then lasts as long as the page.
  }
}

/** Parses a `Retry-After` header given in seconds or as an HTTP date. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

interface CallOptions {
  /** Do not report a 401 as a session that ended (login, the first /me). */
  expect401?: boolean;
  /** Give up after this long (the request then counts as unreachable). */
  timeoutMs?: number;
  headers?: Record<string, string>;
  /** Outlives the page (a call hung up as the page is closed). */
  keepalive?: boolean;
}

const DEFAULT_TIMEOUT_MS = 20_000;

async function call<T>(method: string, path: string, body?: unknown, opts: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
  let payload: BodyInit | undefined;
  if (body instanceof Blob) {
    headers['Content-Type'] = body.type || 'application/octet-stream';
    payload = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD') {
    const token = csrfToken();
    if (token) headers['X-CSRF-Token'] = token;
  }
  let res: Response;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  try {
    res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin', cache: 'no-store', signal: abort.signal, keepalive: opts.keepalive });
  } catch {
    throw new NetworkError();
  } finally {
    clearTimeout(timer);
  }
  if (res.ok) {
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }
  let code = 'internal';
  let message = `The server answered ${res.status}.`;
  try {
    const data = (await res.json()) as { error?: { code?: string; message?: string } };
    if (data.error?.code) code = data.error.code;
    if (data.error?.message) message = data.error.message;
  } catch {
    // Not the JSON error body (a proxy's page, say): keep the status-based message.
  }
  const err = new ApiError(res.status, code, message, parseRetryAfter(res.headers.get('Retry-After')));
  if (res.status === 401 && !opts.expect401 && onUnauthenticated) onUnauthenticated();
  throw err;
}

/** A name for this device as it appears in the list of logged-in devices. */
export function describeDevice(ua: string): { device_name: string; platform: 'web' | 'mobile' } {
  const phone = /Android|iPhone|iPad|iPod|Mobile/i.test(ua);
  const os = /iPhone/.test(ua)
    ? 'iPhone'
    : /iPad/.test(ua)
      ? 'iPad'
      : /Android/.test(ua)
        ? 'Android'
        : /Windows/.test(ua)
          ? 'Windows'
          : /Mac OS X|Macintosh/.test(ua)
            ? 'Mac'
            : /CrOS/.test(ua)
              ? 'ChromeOS'
              : /Linux/.test(ua)
                ? 'Linux'
                : 'this device';
  const browser = /Edg\//.test(ua)
    ? 'Edge'
    : /Firefox\//.test(ua)
      ? 'Firefox'
      : /(Chrome|Chromium|CriOS)\//.test(ua)
        ? 'Chrome'
        : /Safari\//.test(ua)
          ? 'Safari'
          : 'Browser';
  return { device_name: `${browser} on ${os}`, platform: phone ? 'mobile' : 'web' };
}

export async function login(email: string, password: string): Promise<LoginAnswer> {
  const device = describeDevice(navigator.userAgent);
  const answer = await call<LoginAnswer>('POST', '/api/v1/auth/login', { email, password, ...device }, { expect401: true });
  setCsrfToken(answer.csrf_token);
  return answer;
}

export async function logout(): Promise<void> {
  try {
    await call<void>('POST', '/api/v1/auth/logout', undefined, { expect401: true });
  } finally {
    setCsrfToken(null);
  }
}

/** Forgets the CSRF token of a session that has ended. */
export function forgetSession(): void {
  setCsrfToken(null);
}

/** The signed-in user; `quick` gives up sooner (starting the app, checking a session). */
export function getMe(expect401 = false, quick = false): Promise<Me> {
  return call<Me>('GET', '/api/v1/me', undefined, { expect401, timeoutMs: quick ? 5_000 : undefined });
}

export function putPresence(update: PresenceUpdate): Promise<OwnPresence> {
  return call<OwnPresence>('PUT', '/api/v1/me/presence', update);
}

export function putPhoto(image: Blob): Promise<Me> {
  return call<Me>('PUT', '/api/v1/me/photo', image, { timeoutMs: 120_000 });
}

export function deletePhoto(): Promise<Me> {
  return call<Me>('DELETE', '/api/v1/me/photo');
}

/** Changes the caller's password; a wrong current password is 401 and does not end the session. */
export function changePassword(current_password: string, new_password: string, log_out_other_devices: boolean): Promise<void> {
  return call<void>('PUT', '/api/v1/me/password', { current_password, new_password, log_out_other_devices }, { expect401: true });
}

export async function listSessions(): Promise<Session[]> {
  const page = await call<{ items: Session[] }>('GET', '/api/v1/sessions');
  return page.items ?? [];
}

export function endSession(id: string): Promise<void> {
  return call<void>('DELETE', `/api/v1/sessions/${encodeURIComponent(id)}`);
}

export function directoryPage(q: string, cursor?: string): Promise<Page<Contact>> {
  const params = new URLSearchParams({ limit: '200' });
  if (q !== '') params.set('q', q);
  if (cursor) params.set('cursor', cursor);
  return call<Page<Contact>>('GET', `/api/v1/directory?${params.toString()}`);
}

/** The whole directory, page after page (bounded, so a broken cursor cannot loop forever). */
export async function directoryAll(q = '', maxPages = 50): Promise<Contact[]> {
  const items: Contact[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < maxPages; i++) {
    const page = await directoryPage(q, cursor);
    items.push(...(page.items ?? []));
    if (!page.next_cursor || page.next_cursor === cursor) break;
    cursor = page.next_cursor;
  }
  return items;
}

export function getUser(id: string): Promise<Contact> {
  return call<Contact>('GET', `/api/v1/users/${encodeURIComponent(id)}`);
}

/** The URL of the events WebSocket on this host, resuming after `cursor`. */
export function eventsUrl(cursor: string | null, loc: Pick<Location, 'protocol' | 'host'> = location): string {
  const scheme = loc.protocol === 'https:' ? 'wss' : 'ws';
  const query = cursor ? `?cursor=${encodeURIComponent(cursor)}` : '';
  return `${scheme}://${loc.host}/api/v1/events${query}`;
}

// Messaging (SPEC §8).

const enc = encodeURIComponent;

/** All the user's conversations, newest activity first, page after page (bounded). */
export async function listConversations(maxPages = 20): Promise<Conversation[]> {
  const items: Conversation[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < maxPages; i++) {
    const params = new URLSearchParams({ limit: '100' });
    if (cursor) params.set('cursor', cursor);
    const page = await call<ConversationPage>('GET', `/api/v1/conversations?${params.toString()}`);
    items.push(...(page.items ?? []));
    if (!page.next_cursor || page.next_cursor === cursor) break;
    cursor = page.next_cursor;
  }
  return items;
}

export function getConversation(id: string): Promise<Conversation> {
  return call<Conversation>('GET', `/api/v1/conversations/${enc(id)}`);
}

/** The 1:1 chat with one other member (the existing one if there is one), or a new group. */
export function createConversation(member_ids: string[], name?: string): Promise<Conversation> {
  return call<Conversation>('POST', '/api/v1/conversations', name === undefined ? { member_ids } : { member_ids, name });
}

export function updateConversation(id: string, patch: { name?: string; muted?: boolean }): Promise<Conversation> {
  return call<Conversation>('PATCH', `/api/v1/conversations/${enc(id)}`, patch);
}

export function addMembers(id: string, user_ids: string[]): Promise<Conversation> {
  return call<Conversation>('POST', `/api/v1/conversations/${enc(id)}/members`, { user_ids });
}

export function removeMember(id: string, userId: string): Promise<void> {
  return call<void>('DELETE', `/api/v1/conversations/${enc(id)}/members/${enc(userId)}`);
}

export type SendBody = NewMessage;

export function sendMessage(conversationId: string, body: SendBody): Promise<Message> {
  return call<Message>('POST', `/api/v1/conversations/${enc(conversationId)}/messages`, body);
}

/** A page of a conversation's messages, newest first, older than `before` when given. */
export function messagesPage(conversationId: string, before: string | null, limit: number): Promise<MessagePage> {
  const params = new URLSearchParams({ limit: String(limit) });
  if (before) params.set('before', before);
  return call<MessagePage>('GET', `/api/v1/conversations/${enc(conversationId)}/messages?${params.toString()}`);
}

export function editMessage(id: string, text: string): Promise<Message> {
  return call<Message>('PATCH', `/api/v1/messages/${enc(id)}`, { text });
}

export function deleteMessage(id: string): Promise<void> {
  return call<void>('DELETE', `/api/v1/messages/${enc(id)}`);
}

export function setReaction(messageId: string, emoji: string, on: boolean): Promise<void> {
  return call<void>(on ? 'PUT' : 'DELETE', `/api/v1/messages/${enc(messageId)}/reactions/${enc(emoji)}`);
}

export function postRead(conversationId: string, message_id: string): Promise<void> {
  return call<void>('POST', `/api/v1/conversations/${enc(conversationId)}/read`, { message_id });
}

/** Uploads a file as the raw body, its name in Content-Disposition (SPEC §8). */
export function uploadAttachment(file: Blob, name: string): Promise<Attachment> {
  // A header holds bytes: the quoted name is kept to printable ASCII, the full one goes in filename*.
  const quoted = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return call<Attachment>('POST', '/api/v1/attachments', file, {
    timeoutMs: 300_000,
    headers: { 'Content-Disposition': `attachment; filename="${quoted}"; filename*=UTF-8''${enc(name)}` },
  });
}

/** Where an attachment's bytes are; `size` asks for an image's JPEG preview. */
export function attachmentUrl(id: string, size?: 256): string {
  return `/api/v1/attachments/${enc(id)}${size ? `?size=${size}` : ''}`;
}

/** The server's VAPID public key (SPEC §9). */
export function getPushKey(): Promise<PushKey> {
  return call<PushKey>('GET', '/api/v1/push/key');
}

/** Stores this session's push subscription, replacing its earlier one. */
export function putPushSubscription(sub: PushSubscriptionBody): Promise<void> {
  return call<void>('PUT', '/api/v1/push/subscription', sub);
}

export function deletePushSubscription(): Promise<void> {
  return call<void>('DELETE', '/api/v1/push/subscription');
}

// Calls and voicemail (SPEC §10).

/** The caller's calls, newest first (the first page: the recent ones). */
export async function listCalls(): Promise<Call[]> {
  const page = await call<CallList>('GET', '/api/v1/calls?limit=100');
  return page.items ?? [];
}

type PlacedCall = components['schemas']['PlacedCall'];
type IceConfig = components['schemas']['ICEConfig'];

/** This session's TURN servers and their short-lived credential, for RTCPeerConnection. */
export function getIceServers(): Promise<IceConfig> {
  return call<IceConfig>('GET', '/api/v1/calls/ice');
}

/** Places a call with the app's WebRTC offer; the answer is the server's SDP. */
export function placeCall(to: string, sdp: string): Promise<PlacedCall> {
  return call<PlacedCall>('POST', '/api/v1/calls', { to, sdp });
}

/** Takes an incoming call on this device with its offer (409: answered elsewhere or over). */
export async function answerCall(id: string, sdp: string): Promise<string> {
  return (await call<{ sdp: string }>('POST', `/api/v1/calls/${enc(id)}/answer`, { sdp })).sdp;
}

/** Refuses an incoming call: it goes to voicemail. */
export function declineCall(id: string): Promise<void> {
  return call<void>('POST', `/api/v1/calls/${enc(id)}/decline`);
}

/** Ends one's call (or gives up on one that rings); `leaving`: the page is being closed. */
export function hangupCall(id: string, leaving = false): Promise<void> {
  return call<void>('POST', `/api/v1/calls/${enc(id)}/hangup`, undefined, { keepalive: leaving });
}

/** The caller's voicemails, newest first. */
export async function listVoicemails(): Promise<Voicemail[]> {
  const page = await call<VoicemailList>('GET', '/api/v1/voicemails?limit=100');
  return page.items ?? [];
}

export function patchVoicemail(id: string, heard: boolean): Promise<Voicemail> {
  return call<Voicemail>('PATCH', `/api/v1/voicemails/${enc(id)}`, { heard });
}

export function deleteVoicemail(id: string): Promise<void> {
  return call<void>('DELETE', `/api/v1/voicemails/${enc(id)}`);
}

/** Where a voicemail's recording is (same origin: the session cookie authenticates it). */
export function voicemailAudioUrl(id: string): string {
  return `/api/v1/voicemails/${enc(id)}/audio`;
}

const GREETING = '/api/v1/me/voicemail/greeting';

/** One's own voicemail greeting (8 kHz WAV), or null while callers hear the default one. */
export async function getGreeting(): Promise<Blob | null> {
  let res: Response;
  try {
    res = await fetch(GREETING, { credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new NetworkError();
  }
  if (res.status === 404) return null;
  if (!res.ok) {
    if (res.status === 401 && onUnauthenticated) onUnauthenticated();
    throw new ApiError(res.status, 'internal', `The server answered ${res.status}.`, null);
  }
  return res.blob();
}

/** Makes a WAV recording one's greeting (at most 60 s; the server converts it). */
export function putGreeting(wav: Blob): Promise<void> {
  return call<void>('PUT', GREETING, wav, { timeoutMs: 120_000 });
}

/** Back to the default greeting. */
export function deleteGreeting(): Promise<void> {
  return call<void>('DELETE', GREETING);
}

export function getSip(): Promise<SipCredential> {
  return call<SipCredential>('GET', '/api/v1/me/sip');
}

/** A new SIP password: the desk phones registered with the old one are logged out. */
export function newSipPassword(): Promise<SipCredential> {
  return call<SipCredential>('POST', '/api/v1/me/sip/password');
}

export function getForwarding(): Promise<Forwarding> {
  return call<Forwarding>('GET', '/api/v1/me/forwarding');
}

export function putForwarding(f: Forwarding): Promise<Forwarding> {
  return call<Forwarding>('PUT', '/api/v1/me/forwarding', f);
}
