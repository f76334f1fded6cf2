// Wire types of the vo HTTP/WebSocket contract (SPEC.md §4 and §5).

export type Status = 'available' | 'busy' | 'dnd' | 'away' | 'invisible';
export type Shown = 'available' | 'busy' | 'away' | 'offline';
export type Activity = 'on_call' | 'in_meeting';

/** What everyone in the org sees of a user. */
export interface PresenceView {
  shown: Shown;
  activity: Activity | null;
  message: string | null;
  version: number;
}

/** A user's own view of their presence. */
export interface OwnPresence extends PresenceView {
  status: Status;
  status_until: string | null;
  message_expires_at: string | null;
}

export interface Contact {
  id: string;
  name: string;
  email: string;
  extension: string;
  phone_number: string | null;
  photo_url: string | null;
  presence: PresenceView;
}

export interface Me {
  id: string;
  name: string;
  email: string;
  role: 'admin' | 'member';
  org: { id: string; name: string };
  extension: string;
  phone_number: string | null;
  photo_url: string | null;
  presence: OwnPresence;
}

export interface Session {
  id: string;
  device_name: string;
  platform: 'web' | 'mobile' | 'desktop' | 'sip';
  created_at: string;
  last_seen_at: string;
  current: boolean;
}

export interface LoginAnswer {
  token: string;
  csrf_token: string;
  session: Omit<Session, 'current'>;
  user: Me;
}

export interface Page<T> {
  items: T[];
  next_cursor?: string;
}

/** Body of PUT /api/v1/me/presence: absent = unchanged, null = cleared. */
export interface PresenceUpdate {
  status?: Status;
  status_until?: string | null;
  message?: string | null;
  message_expires_at?: string | null;
}

export interface PresenceEntry extends PresenceView {
  user_id: string;
}

/** The event stream frames the client acts on; others only move the cursor. */
export type Frame =
  | { type: 'hello'; cursor: string }
  | { type: 'snapshot'; cursor: string; presence: PresenceEntry[]; me: OwnPresence }
  | ({ type: 'presence'; cursor?: string } & PresenceEntry)
  | ({ type: 'me.presence'; cursor?: string } & OwnPresence)
  | { type: 'contact'; cursor?: string; user: Contact }
  | { type: 'contact'; cursor?: string; user_id: string; removed: true }
  | { type: 'session.ended'; cursor?: string; session_id: string };

/** Any frame of a later feature (messages, calls ...): only its cursor matters here. */
export interface OtherFrame {
  type: string;
  cursor?: string;
}
