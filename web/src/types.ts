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

// Messaging (SPEC §8).

export type Attachment = S['Attachment'];
export type Reaction = S['Reaction'];
export type Message = S['Message'];
export type ReadMarker = S['ReadMarker'];
export type Conversation = S['Conversation'];
export type ConversationPage = S['ConversationList'];
export type MessagePage = S['MessageList'];
export type NewMessage = S['NewMessage'];

export type MessageFrame = S['MessageFrame'];
export type ConversationFrame = S['ConversationFrame'];
/** The receiver was removed from a group, or left it. */
export type ConversationRemovedFrame = S['ConversationRemovedFrame'];
export type ReadFrame = S['ReadFrame'];
export type TypingFrame = S['TypingFrame'];
export type ReactionFrame = S['ReactionFrame'];
/** What the app sends on the stream while its user types. */
export type TypingClientFrame = S['TypingClientFrame'];

export type ChatFrame = MessageFrame | ConversationFrame | ConversationRemovedFrame | ReadFrame | TypingFrame | ReactionFrame;

export type PushKey = S['PushKey'];
/** A browser's push subscription as the server keeps it (SPEC §9). */
export type PushSubscriptionBody = S['PushSubscription'];

// Calls and voicemail (SPEC §10).

export type Call = S['Call'];
export type CallPeer = S['CallPeer'];
export type Voicemail = S['Voicemail'];
export type CallFrame = S['CallFrame'];
export type SipCredential = S['SIPCredential'];
export type Forwarding = S['Forwarding'];
