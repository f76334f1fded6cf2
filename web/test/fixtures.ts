// What the component tests of the app share: the signed-in user, a hostile
// text, and the pieces of a fetch stub.
import type { Me } from '../src/types';

/** The signed-in user of the component tests. */
export const me: Me = {
  id: 'u_me',
  name: 'Mia Moss',
  email: 'mia@demo.test',
  role: 'member',
  org: { id: 'o1', name: 'Demo Co' },
  extension: '100',
  phone_number: null,
  photo_url: null,
  presence: { status: 'available', status_until: null, message: null, message_expires_at: null, shown: 'available', activity: null, version: 1 },
};

/** A text that must stay text wherever the app shows it. */
export const HOSTILE = '<img src=x onerror=alert(1)>';

/** A JSON answer of the stubbed API. */
export function json(status: number, body: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/** A request the stubbed API received. */
export interface Sent {
  method: string;
  url: string;
  body: unknown;
}
