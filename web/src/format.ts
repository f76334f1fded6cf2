// Words, colours and times the screens show, kept apart from the components so they are
// unit-tested.

import type { Activity, Shown, Status } from './types';

export const SHOWN_LABEL: Record<Shown, string> = {
  available: 'Available',
  busy: 'Busy',
  away: 'Away',
  offline: 'Offline',
};

export const ACTIVITY_LABEL: Record<Activity, string> = {
  on_call: 'On a call',
  in_meeting: 'In a meeting',
};

export interface StatusOption {
  value: Status;
  label: string;
  /** One line saying what the status does. */
  help: string;
}

export const STATUS_OPTIONS: StatusOption[] = [
  { value: 'available', label: 'Available', help: 'Calls and messages reach you; shown as away after you have been idle a while' },
  { value: 'busy', label: 'Busy', help: 'Calls still ring and messages arrive; others see you as busy' },
  { value: 'dnd', label: 'Do not disturb', help: 'Only messages reach you; calls go to voicemail; others see you as busy' },
  { value: 'away', label: 'Away', help: 'Calls still ring and messages arrive; others see you as away' },
  { value: 'invisible', label: 'Invisible', help: 'Everything still reaches you; others see you as offline' },
];

export function statusLabel(s: Status): string {
  return STATUS_OPTIONS.find((o) => o.value === s)?.label ?? s;
}

/** "Busy — On a call", "Available" ... */
export function presenceText(shown: Shown, activity: Activity | null): string {
  const base = SHOWN_LABEL[shown] ?? shown;
  return activity ? `${base} — ${ACTIVITY_LABEL[activity] ?? activity}` : base;
}

/** Up to two initials: "Ann Lee" → "AL", "cher" → "C". */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return '?';
  const first = Array.from(words[0])[0] ?? '';
  const last = words.length > 1 ? (Array.from(words[words.length - 1])[0] ?? '') : '';
  return (first + last).toUpperCase();
}

/** Backgrounds that white initials read on at better than 4.5:1 (WCAG AA). */
export const AVATAR_COLOURS = [
  '#1d4ed8',
  '#047857',
  '#b91c1c',
  '#6d28d9',
  '#a21caf',
  '#0e7490',
  '#b45309',
  '#4338ca',
  '#be185d',
  '#374151',
];

/** A stable colour for a user, from their id. */
export function avatarColour(id: string): string {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return AVATAR_COLOURS[h % AVATAR_COLOURS.length];
}

/** `photo_url` with `size` set, whatever query string it already has. */
export function photoSrc(photoUrl: string, size: 64 | 256 | 512, base = 'http://vo.invalid'): string {
  const u = new URL(photoUrl, base);
  u.searchParams.set('size', String(size));
  return u.origin === new URL(base).origin ? `${u.pathname}${u.search}` : u.toString();
}

export type StatusDuration = 'none' | '30m' | '1h' | '2h' | 'today' | 'custom';
export type MessageExpiry = 'never' | '30m' | '1h' | 'today' | 'week' | 'custom';

export const STATUS_DURATIONS: { value: StatusDuration; label: string }[] = [
  { value: 'none', label: 'Until I change it' },
  { value: '30m', label: '30 minutes' },
  { value: '1h', label: '1 hour' },
  { value: '2h', label: '2 hours' },
  { value: 'today', label: 'Today' },
  { value: 'custom', label: 'Custom…' },
];

export const MESSAGE_EXPIRIES: { value: MessageExpiry; label: string }[] = [
  { value: 'never', label: 'Never' },
  { value: '30m', label: '30 minutes' },
  { value: '1h', label: '1 hour' },
  { value: 'today', label: 'Today' },
  { value: 'week', label: 'This week' },
  { value: 'custom', label: 'Custom…' },
];

/** The next local midnight: the end of today. */
export function endOfToday(now: Date): Date {
  const d = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 0, 0, 0, 0);
  return d;
}

/** The local midnight that starts next Monday: the end of this week (Monday to Sunday). */
export function endOfWeek(now: Date): Date {
  const daysToMonday = ((8 - now.getDay()) % 7) || 7;
  return new Date(now.getFullYear(), now.getMonth(), now.getDate() + daysToMonday, 0, 0, 0, 0);
}

/**
 * The instant a preset ends, or null for "until I change it" / "never".
 * `custom` is the value of a datetime-local input, read in local time.
 */
export function presetEnd(preset: StatusDuration | MessageExpiry, now: Date, custom = ''): Date | null {
  switch (preset) {
    case 'none':
    case 'never':
      return null;
    case '30m':
      return new Date(now.getTime() + 30 * 60_000);
    case '1h':
      return new Date(now.getTime() + 60 * 60_000);
    case '2h':
      return new Date(now.getTime() + 120 * 60_000);
    case 'today':
      return endOfToday(now);
    case 'week':
      return endOfWeek(now);
    case 'custom': {
      const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(custom);
      if (!m) return null;
      const [, y, mo, d, h, mi, s] = m;
      return new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0));
    }
  }
}

/** RFC 3339 in UTC without fractional seconds, as the server expects. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A value for a datetime-local input, in local time. */
export function toLocalInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** "until 3:30 PM", "until Tue 9:00 AM", "until 12 Mar, 9:00 AM". */
export function untilText(iso: string, now: Date, locale?: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const time = d.toLocaleTimeString(locale, { hour: 'numeric', minute: '2-digit' });
  if (sameDay(d, now)) return `until ${time}`;
  const days = (d.getTime() - now.getTime()) / 86_400_000;
  if (days > 0 && days < 6) return `until ${d.toLocaleDateString(locale, { weekday: 'short' })} ${time}`;
  return `until ${d.toLocaleDateString(locale, { day: 'numeric', month: 'short' })}, ${time}`;
}

/** "just now", "5 minutes ago", "yesterday" ... */
export function agoText(iso: string, now: Date, locale?: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const seconds = Math.round((d.getTime() - now.getTime()) / 1000);
  if (Math.abs(seconds) < 60) return 'just now';
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  const minutes = Math.round(seconds / 60);
  if (Math.abs(minutes) < 60) return rtf.format(minutes, 'minute');
  const hours = Math.round(minutes / 60);
  if (Math.abs(hours) < 24) return rtf.format(hours, 'hour');
  const days = Math.round(hours / 24);
  if (Math.abs(days) < 30) return rtf.format(days, 'day');
  return d.toLocaleDateString(locale, { day: 'numeric', month: 'short', year: 'numeric' });
}

/** "+1 415 555 0101" style grouping for display; the E.164 form stays the value copied. */
export function formatPhone(e164: string): string {
  const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(e164);
  if (m) return `+1 ${m[1]} ${m[2]} ${m[3]}`;
  return e164;
}

/** Counts Unicode code points, as the server's 140-character limit does. */
export function codePoints(s: string): number {
  return Array.from(s).length;
}

export const MESSAGE_MAX = 140;

/** "45 seconds", "15 minutes"; empty when the wait is over. */
export function waitText(seconds: number): string {
  if (seconds <= 0) return '';
  if (seconds <= 90) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

/** A message's time in a list: the time today, the weekday this week, else the date. */
export function chatTime(iso: string, now: Date, locale?: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  if (sameDay(d, now)) return d.toLocaleTimeString(locale, { hour: 'numeric', minute: '2-digit' });
  const days = (now.getTime() - d.getTime()) / 86_400_000;
  if (days > 0 && days < 6) return d.toLocaleDateString(locale, { weekday: 'short' });
  return d.toLocaleDateString(locale, { day: 'numeric', month: 'short' });
}

/** A file size for people: "820 B", "14 KB", "3.2 MB". */
export function fileSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${Math.round(bytes / 1000)} KB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/** "Ann", "Ann and Bob", "Ann, Bob and 2 others". */
export function namesText(names: string[]): string {
  if (names.length <= 1) return names[0] ?? '';
  if (names.length === 2) return `${names[0]} and ${names[1]}`;
  if (names.length === 3) return `${names[0]}, ${names[1]} and ${names[2]}`;
  return `${names[0]}, ${names[1]} and ${names.length - 2} others`;
}
