// Call history and voicemail (SPEC §10): a store of its own, reloaded when the event stream
// says a call changed or a voicemail came. The rules (validation, counts, labels) are pure.

import * as api from '../api';
import type { Call, Voicemail } from '../types';
import { calls as liveCalls } from './call';
import { createStore } from './store';

export interface CallsState {
  calls: Call[];
  voicemails: Voicemail[];
  callsLoaded: boolean;
  voicemailsLoaded: boolean;
  /** Why the last load failed, or null. */
  error: string | null;
  /** One's own voicemail greeting as callers hear it, or null for the default one. */
  greeting: Blob | null;
  greetingLoaded: boolean;
}

export function emptyCalls(): CallsState {
  return { calls: [], voicemails: [], callsLoaded: false, voicemailsLoaded: false, error: null, greeting: null, greetingLoaded: false };
}

export const callsStore = createStore<CallsState>(emptyCalls());

export function unheardCount(voicemails: Voicemail[]): number {
  return voicemails.filter((v) => !v.heard).length;
}

/** Whether a dialled string can be called: an extension, an E.164 number or `*97`. */
export function dialProblem(value: string): string | null {
  const v = value.trim();
  if (v === '') return 'Enter an extension or a number.';
  if (v === '*97') return null;
  if (/^\d{2,8}$/.test(v)) return null;
  if (/^\+\d{8,15}$/.test(v)) return null;
  if (v.startsWith('+')) return 'A phone number is + and 8 to 15 digits.';
  if (/^\d+$/.test(v)) return v.length < 2 ? 'An extension has at least 2 digits.' : 'Too many digits: an extension has 2 to 8, or dial + and the full number.';
  return 'Dial an extension (2 to 8 digits), + and a full number, or *97 for voicemail.';
}

/** The route that calls `to` (the calling screen fills it). */
export function callPath(to: string): string {
  return `/call?to=${encodeURIComponent(to.trim())}`;
}

/** "0:07", "3:05", "1:02:03". */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** How long a call talked, or null when it was never answered (or is still up). */
export function callDurationMs(c: Call): number | null {
  if (!c.answered_at || !c.ended_at) return null;
  return Math.max(0, Date.parse(c.ended_at) - Date.parse(c.answered_at));
}

const RESULT_LABEL: Record<NonNullable<Call['result']>, string> = {
  answered: 'Answered',
  missed: 'Missed',
  declined: 'Declined',
  voicemail: 'Voicemail',
  failed: 'Failed',
  busy: 'Busy',
};

export function callResultLabel(c: Call): string {
  if (c.result === null) return 'In progress';
  if (c.direction === 'out' && c.result === 'missed') return 'No answer';
  return RESULT_LABEL[c.result] ?? c.result;
}

/** A missed call is one that came in and no one took. */
export function isMissed(c: Call): boolean {
  return c.direction === 'in' && (c.result === 'missed' || c.result === 'voicemail');
}

export function peerLabel(p: { name?: string; number: string }): string {
  return p.name && p.name.trim() !== '' ? p.name : p.number;
}

function problemText(err: unknown): string {
  if (err instanceof api.NetworkError) return 'Can’t reach the server.';
  if (err instanceof api.ApiError) return err.message;
  return 'Something went wrong.';
}

export async function loadCalls(): Promise<void> {
  try {
    const calls = await api.listCalls();
    callsStore.set({ calls, callsLoaded: true, error: null });
    liveCalls.reconcile(calls);
  } catch (err) {
    callsStore.set({ error: problemText(err) });
    throw err;
  }
}

export async function loadVoicemails(): Promise<void> {
  try {
    const voicemails = await api.listVoicemails();
    callsStore.set({ voicemails, voicemailsLoaded: true, error: null });
  } catch (err) {
    callsStore.set({ error: problemText(err) });
    throw err;
  }
}

/** Reloads what a stream frame says changed: `call` the history, `voicemail` the voicemails. */
export function afterCallFrame(frame: { type: string }): void {
  // The history loads when the Calls tab opens; until then a call frame has nothing to refresh.
  if (frame.type === 'call') {
    if (callsStore.get().callsLoaded) void loadCalls().catch(() => undefined);
  }
  else if (frame.type === 'voicemail') void loadVoicemails().catch(() => undefined);
}

function replaceVoicemail(v: Voicemail): void {
  callsStore.set((s) => ({ voicemails: s.voicemails.map((x) => (x.id === v.id ? v : x)) }));
}

/** Marks a voicemail heard (it was played); shown heard at once, put back if the server refuses. */
export async function markHeard(id: string): Promise<void> {
  const before = callsStore.get().voicemails.find((v) => v.id === id);
  if (!before || before.heard) return;
  replaceVoicemail({ ...before, heard: true });
  try {
    replaceVoicemail(await api.patchVoicemail(id, true));
  } catch (err) {
    replaceVoicemail(before);
    throw err;
  }
}

export async function removeVoicemail(id: string): Promise<void> {
  await api.deleteVoicemail(id);
  callsStore.set((s) => ({ voicemails: s.voicemails.filter((v) => v.id !== id) }));
}

export async function loadGreeting(): Promise<void> {
  callsStore.set({ greeting: await api.getGreeting(), greetingLoaded: true });
}

/** Makes a recording one's greeting, then holds what the server kept (converted for calls). */
export async function saveGreeting(wav: Blob): Promise<void> {
  await api.putGreeting(wav);
  await loadGreeting();
}

/** Gives callers the default greeting again. */
export async function resetGreeting(): Promise<void> {
  await api.deleteGreeting();
  callsStore.set({ greeting: null, greetingLoaded: true });
}
