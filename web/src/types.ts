// Wire types of the vo HTTP/WebSocket contract, taken from the API document
// (internal/httpapi/openapi.json) through src/api-types.ts, which `npm run api-types`
// generates and test/api-types.test.ts keeps current. Only the names the app uses are here.

import type { components } from './api-types';

type S = components['schemas'];

export type Status = S['Status'];
export type Shown = S['Shown'];
export type Activity = NonNullable<S['Activity']>;

/** What everyone in the org sees of a user. */
export type PresenceView = S['ContactPresence'];
/** A user's own view of their presence. */
export type OwnPresence = S['Presence'];
export type Contact = S['Contact'];
export type Me = S['Me'];
/** A session in the list of one's sessions. */
export type Session = S['ListedSession'];
export type LoginAnswer = S['LoginAnswer'];

export interface Page<T> {
  items: T[];
  next_cursor?: string;
}

/** Body of PUT /api/v1/me/presence: absent = unchanged, null = cleared. */
export type PresenceUpdate = S['PresenceUpdate'];
export type PresenceEntry = S['PresenceItem'];

/** The event stream frames the client acts on; others only move the cursor. */
export type Frame =
  | S['HelloFrame']
  | S['SnapshotFrame']
  | S['CaughtUpFrame']
  | S['PresenceFrame']
  | S['MePresenceFrame']
  | S['ContactFrame']
  | S['ContactRemovedFrame']
  | S['SessionEndedFrame'];

/** Any frame of a later feature (messages, calls ...): only its cursor matters here. */
export interface OtherFrame {
  type: string;
  cursor?: string;
}

// Messaging (SPEC §8). The API document does not describe these yet (the server side lands
// on another branch): they follow SPEC §8's field names until `npm run api-types` can give
// them, when each becomes `S['Name']` like the ones above.

export interface Attachment {
  id: string;
  name: string;
  content_type: string;
  size: number;
  width?: number | null;
  height?: number | null;
}

export interface Reaction {
  emoji: string;
  user_ids: string[];
}

export interface Message {
  id: string;
  conversation_id: string;
  sender_id: string;
  client_id: string;
  text: string;
  created_at: string;
  edited_at: string | null;
  deleted_at: string | null;
  reply_to: string | null;
  mentions: string[];
  reactions: Reaction[];
  attachments: Attachment[];
}

export interface ReadMarker {
  user_id: string;
  message_id: string;
}

export interface Conversation {
  id: string;
  kind: 'direct' | 'group';
  name: string;
  members: Contact[];
  last_message: Message | null;
  unread_count: number;
  muted: boolean;
  last_read_message_id: string | null;
  read_markers: ReadMarker[];
  /** Grows with every change of the conversation as a member sees it, when the server sends it. */
  version?: number;
}

export interface MessageFrame {
  type: 'message';
  cursor?: string;
  message: Message;
}

export interface ConversationFrame {
  type: 'conversation';
  cursor?: string;
  conversation: Conversation;
}

export interface ReadFrame {
  type: 'read';
  cursor?: string;
  conversation_id: string;
  user_id: string;
  message_id: string;
}

export interface TypingFrame {
  type: 'typing';
  cursor?: string;
  conversation_id: string;
  user_id: string;
}

export interface ReactionFrame {
  type: 'reaction';
  cursor?: string;
  message_id: string;
  conversation_id: string;
  emoji: string;
  user_id: string;
  added: boolean;
}

export type ChatFrame = MessageFrame | ConversationFrame | ReadFrame | TypingFrame | ReactionFrame;
