// The client's picture of its conversations (SPEC §8), and the pure rules that move it forward.
//
// Messages reach the app twice over: in pages over HTTP and as `message` events on the stream,
// and a catch-up may replay an event already applied. So every rule here is a merge: a
// message is kept once per id, in (created_at, id) order; an event applied twice changes
// nothing (the same state object comes back); a read marker never moves backwards; and a
// message counts as unread once, when it first arrives. Functions take a ChatState and return
// a new one, or the same object when nothing changed.

import type {
  ChatFrame,
  Conversation,
  Message,
  ReactionFrame,
  ReadFrame,
  ReadMarker,
  TypingClientFrame,
  TypingFrame,
} from '../types';

/** The loaded part of one conversation's history. */
export interface MessageList {
  /** Oldest first, by created_at then id. */
  items: Message[];
  /** Older messages remain on the server (the last page asked for had a next_cursor). */
  hasMore: boolean;
  /** The newest page has been loaded (events alone may have filled `items`). */
  loaded: boolean;
}

/** A message the user sent that the server has not confirmed yet. */
export interface Outgoing {
  client_id: string;
  conversation_id: string;
  text: string;
  reply_to: string | null;
  attachment_ids: string[];
  /** When it was composed (ISO time): where it shows among the messages. */
  created_at: string;
  /** `pending`: waiting for the server or for the connection; `failed`: refused, kept to retry. */
  state: 'pending' | 'failed';
  error?: string;
}

export interface ChatState {
  conversations: Record<string, Conversation>;
  /** Conversation ids in the order of the last list from the server: breaks ties in sorting. */
  order: string[];
  /** The conversation list has been loaded at least once. */
  listLoaded: boolean;
  messages: Record<string, MessageList>;
  /** Who is typing where: conversation id → user id → when it stops showing (clock ms). */
  typing: Record<string, Record<string, number>>;
  outbox: Outgoing[];
}

/** How long "… is typing" shows after the last typing event of that person. */
export const TYPING_SHOW_MS = 6_000;
/** The app tells the server the user is typing at most this often. */
export const TYPING_SEND_INTERVAL_MS = 3_000;
/** Messages asked for per page. */
export const PAGE_SIZE = 50;

export function emptyChat(): ChatState {
  return { conversations: {}, order: [], listLoaded: false, messages: {}, typing: {}, outbox: [] };
}

/** Message order: by created_at, then by id for messages of the same instant. */
export function compareMessages(a: Pick<Message, 'created_at' | 'id'>, b: Pick<Message, 'created_at' | 'id'>): number {
  const ta = Date.parse(a.created_at);
  const tb = Date.parse(b.created_at);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function stamp(t: string | null): number {
  return t ? Date.parse(t) : -Infinity;
}

/**
 * Whether `incoming` (the same message id) should replace `current`. A deletion is final,
 * a later edit wins over an earlier one; copies of the same edit replace each other (the
 * newer copy may carry reactions), unless they are equal, so nothing changes.
 */
function replaces(current: Message, incoming: Message): boolean {
  if (current.deleted_at && !incoming.deleted_at) return false;
  if (!current.deleted_at && incoming.deleted_at) return true;
  if (stamp(incoming.edited_at) < stamp(current.edited_at)) return false;
  return JSON.stringify(current) !== JSON.stringify(incoming);
}

/** Merges messages into a sorted list by id; the same list comes back when nothing changed. */
export function mergeMessages(items: Message[], incoming: Message[]): Message[] {
  let next: Message[] | null = null;
  for (const m of incoming) {
    const list: Message[] = next ?? items;
    const at = list.findIndex((x) => x.id === m.id);
    if (at >= 0) {
      if (!replaces(list[at], m)) continue;
      next = list.slice();
      next[at] = m;
      continue;
    }
    next = list.slice();
    let i = next.length;
    while (i > 0 && compareMessages(next[i - 1], m) > 0) i--;
    next.splice(i, 0, m);
  }
  return next ?? items;
}

function findMessage(state: ChatState, conversationId: string, id: string): Message | undefined {
  const found = state.messages[conversationId]?.items.find((m) => m.id === id);
  if (found) return found;
  const last = state.conversations[conversationId]?.last_message;
  return last && last.id === id ? last : undefined;
}

/**
 * Whether the read marker `incoming` is at or after `current`, as far as this client can
 * tell: when either message is not known here it cannot be placed, and the server's word
 * (which never moves a marker backwards) is taken.
 */
function markerForward(state: ChatState, conversationId: string, current: string | null | undefined, incoming: string): boolean {
  if (!current || current === incoming) return true;
  const a = findMessage(state, conversationId, current);
  const b = findMessage(state, conversationId, incoming);
  if (!a || !b) return true;
  return compareMessages(b, a) >= 0;
}

/** Unread messages after `markerId` among the loaded ones, or null when the marker is not among them. */
function unreadAfter(state: ChatState, conversationId: string, markerId: string, meId: string): number | null {
  const items = state.messages[conversationId]?.items;
  if (!items) return null;
  const at = items.findIndex((m) => m.id === markerId);
  if (at < 0) return null;
  return items.slice(at + 1).filter((m) => m.sender_id !== meId && !m.deleted_at).length;
}

function setMarker(markers: ReadMarker[], userId: string, messageId: string): ReadMarker[] {
  const others = markers.filter((r) => r.user_id !== userId);
  return [...others, { user_id: userId, message_id: messageId }];
}

/**
 * Combines what is known of a conversation with a copy from the server. The server's
 * `version` grows with every change a member sees: a copy of a version no higher than the
 * one held is old news and changes nothing. A newer copy is taken, except that read markers
 * never move backwards (a read posted here may not have reached that copy) and the last
 * message stays the newer one.
 */
function mergeConversation(state: ChatState, current: Conversation | undefined, incoming: Conversation): Conversation {
  if (!current) return incoming;
  if (incoming.version <= current.version) return current;
  let next: Conversation = { ...incoming };
  if (current.last_message && (!incoming.last_message || compareMessages(current.last_message, incoming.last_message) > 0)) {
    next.last_message = current.last_message;
  }
  if (current.last_read_message_id && !markerForward(state, incoming.id, current.last_read_message_id, incoming.last_read_message_id ?? '')) {
    next.last_read_message_id = current.last_read_message_id;
    next.unread_count = Math.min(current.unread_count, incoming.unread_count);
  }
  const markers = new Map(incoming.read_markers.map((r) => [r.user_id, r.message_id]));
  for (const r of current.read_markers) {
    const theirs = markers.get(r.user_id);
    if (theirs === undefined ? incoming.members.some((m) => m.id === r.user_id) : !markerForward(state, incoming.id, r.message_id, theirs)) {
      markers.set(r.user_id, r.message_id);
    }
  }
  next.read_markers = [...markers].map(([user_id, message_id]) => ({ user_id, message_id }));
  if (JSON.stringify(next) === JSON.stringify(current)) return current;
  return next;
}

function isMember(c: Conversation, meId: string): boolean {
  return c.members.some((m) => m.id === meId);
}

export function dropConversation(state: ChatState, id: string): ChatState {
  if (!state.conversations[id] && !state.messages[id]) return state;
  const conversations = { ...state.conversations };
  delete conversations[id];
  const messages = { ...state.messages };
  delete messages[id];
  const typing = { ...state.typing };
  delete typing[id];
  return {
    ...state,
    conversations,
    messages,
    typing,
    order: state.order.filter((x) => x !== id),
    outbox: state.outbox.filter((o) => o.conversation_id !== id),
  };
}

/** Applies the conversation list from the server: it says which conversations the user is in. */
export function applyConversationList(state: ChatState, list: Conversation[]): ChatState {
  let next: ChatState = { ...state, order: list.map((c) => c.id), listLoaded: true };
  const listed = new Set(list.map((c) => c.id));
  for (const id of Object.keys(state.conversations)) if (!listed.has(id)) next = dropConversation(next, id);
  const conversations = { ...next.conversations };
  for (const c of list) conversations[c.id] = mergeConversation(state, state.conversations[c.id], c);
  return { ...next, conversations };
}

/**
 * Applies one conversation (an answer, or a `conversation` event). A copy whose members no
 * longer include the user, where the known one did, means the user was removed or left.
 */
export function applyConversation(state: ChatState, c: Conversation, meId: string): ChatState {
  const current = state.conversations[c.id];
  if (current && isMember(current, meId) && !isMember(c, meId)) return dropConversation(state, c.id);
  const merged = mergeConversation(state, current, c);
  if (merged === current) return state;
  return { ...state, conversations: { ...state.conversations, [c.id]: merged } };
}

/**
 * Applies a message: new, edited or deleted, from a page, an answer or an event. An event
 * carries the conversation's version after it (`version`): a new message comes with no
 * conversation event, so the held copy counts it in when it is older than that version,
 * and holds that version after; a copy at that version or newer has it counted already.
 */
export function applyMessage(state: ChatState, m: Message, meId: string, version?: number): ChatState {
  const cid = m.conversation_id;
  const conv = state.conversations[cid];
  const known = findMessage(state, cid, m.id) !== undefined;
  let next = state;

  const list = state.messages[cid];
  const items = mergeMessages(list?.items ?? [], [m]);
  if (!list || items !== list.items) {
    next = { ...next, messages: { ...next.messages, [cid]: { items, hasMore: list?.hasMore ?? true, loaded: list?.loaded ?? false } } };
  }

  if (conv) {
    let c = conv;
    if (!c.last_message || (c.last_message.id === m.id ? replaces(c.last_message, m) : compareMessages(m, c.last_message) > 0)) {
      c = { ...c, last_message: m };
    }
    const counted = known || (version !== undefined && version <= conv.version);
    if (version !== undefined && version > c.version) c = { ...c, version };
    const isNew = !counted && !m.edited_at && !m.deleted_at;
    const readMarker = c.last_read_message_id ? findMessage(state, cid, c.last_read_message_id) : undefined;
    if (isNew && m.sender_id !== meId && !(readMarker && compareMessages(readMarker, m) >= 0)) c = { ...c, unread_count: c.unread_count + 1 };
    if (isNew) {
      // Sending a message marks what came before as read, on the server too: the sender's
      // marker moves to it ("Seen by …"), and for the user the count starts again at zero.
      c = { ...c, read_markers: setMarker(c.read_markers, m.sender_id, m.id) };
      if (m.sender_id === meId) c = { ...c, last_read_message_id: m.id, unread_count: 0 };
    }
    if (c !== conv) next = { ...next, conversations: { ...next.conversations, [cid]: c } };
  }

  if (m.sender_id === meId && next.outbox.some((o) => o.client_id === m.client_id)) {
    next = { ...next, outbox: next.outbox.filter((o) => o.client_id !== m.client_id) };
  }
  if (next.typing[cid]?.[m.sender_id] !== undefined) next = clearTyping(next, cid, m.sender_id);
  return next;
}

/** Whether a newest page with older ones behind it shares no message with the loaded ones and is all newer. */
function gapBetween(items: Message[], page: Message[]): boolean {
  if (items.length === 0 || page.length === 0) return false;
  const have = new Set(items.map((m) => m.id));
  if (page.some((m) => have.has(m.id))) return false;
  const oldest = page.reduce((a, b) => (compareMessages(a, b) <= 0 ? a : b));
  return compareMessages(oldest, items[items.length - 1]) > 0;
}

/**
 * Applies a page of history (GET …/messages, newest first). `before` is the id the page was
 * asked before (none for the newest page); `more` says older messages remain (the page has a
 * `next_cursor`).
 */
export function applyMessagesPage(state: ChatState, conversationId: string, page: Message[], before: string | null, more: boolean): ChatState {
  let list = state.messages[conversationId];
  if (list && before === null && more && gapBetween(list.items, page)) {
    // Messages were missed between what is here and this page (a long time offline): the
    // page becomes the history, and older pages are loaded again on scroll.
    list = { items: [], hasMore: true, loaded: false };
  }
  const items = mergeMessages(list?.items ?? [], page);
  const hasMore = before === null ? (list?.loaded ? list.hasMore : more) : more;
  const loaded = true;
  let next = state;
  if (!list || items !== list.items || list.hasMore !== hasMore || !list.loaded) {
    next = { ...state, messages: { ...state.messages, [conversationId]: { items, hasMore, loaded } } };
  }
  const conv = next.conversations[conversationId];
  const newest = items[items.length - 1];
  if (conv && newest && (!conv.last_message || compareMessages(newest, conv.last_message) > 0)) {
    next = { ...next, conversations: { ...next.conversations, [conversationId]: { ...conv, last_message: newest } } };
  }
  return next;
}

/** Applies a `read` event (or the answer to the user's own read). */
export function applyRead(state: ChatState, f: Pick<ReadFrame, 'conversation_id' | 'user_id' | 'message_id'>, meId: string): ChatState {
  const conv = state.conversations[f.conversation_id];
  if (!conv) return state;
  const currentMarker = conv.read_markers.find((r) => r.user_id === f.user_id)?.message_id;
  let c = conv;
  if (currentMarker !== f.message_id && markerForward(state, conv.id, currentMarker, f.message_id)) {
    c = { ...c, read_markers: setMarker(c.read_markers, f.user_id, f.message_id) };
  }
  if (f.user_id === meId && conv.last_read_message_id !== f.message_id && markerForward(state, conv.id, conv.last_read_message_id, f.message_id)) {
    let unread: number;
    if (conv.last_message && conv.last_message.id === f.message_id) unread = 0;
    else {
      const counted = unreadAfter(state, conv.id, f.message_id, meId);
      unread = counted === null ? conv.unread_count : Math.min(conv.unread_count, counted);
    }
    c = { ...c, last_read_message_id: f.message_id, unread_count: unread };
  }
  if (c === conv) return state;
  return { ...state, conversations: { ...state.conversations, [conv.id]: c } };
}

function withReaction(m: Message, emoji: string, userId: string, added: boolean): Message {
  const r = m.reactions.find((x) => x.emoji === emoji);
  const has = r?.user_ids.includes(userId) ?? false;
  if (has === added) return m;
  let reactions;
  if (added) {
    reactions = r
      ? m.reactions.map((x) => (x.emoji === emoji ? { ...x, user_ids: [...x.user_ids, userId] } : x))
      : [...m.reactions, { emoji, user_ids: [userId] }];
  } else {
    reactions = m.reactions
      .map((x) => (x.emoji === emoji ? { ...x, user_ids: x.user_ids.filter((u) => u !== userId) } : x))
      .filter((x) => x.user_ids.length > 0);
  }
  return { ...m, reactions };
}

/** Applies a `reaction` event: a set operation, so applying it twice changes nothing. */
export function applyReaction(state: ChatState, f: Omit<ReactionFrame, 'type' | 'cursor'>): ChatState {
  let next = state;
  const list = state.messages[f.conversation_id];
  if (list) {
    const at = list.items.findIndex((m) => m.id === f.message_id);
    if (at >= 0) {
      const m = withReaction(list.items[at], f.emoji, f.user_id, f.added);
      if (m !== list.items[at]) {
        const items = list.items.slice();
        items[at] = m;
        next = { ...next, messages: { ...next.messages, [f.conversation_id]: { ...list, items } } };
      }
    }
  }
  const conv = next.conversations[f.conversation_id];
  if (conv?.last_message && conv.last_message.id === f.message_id) {
    const m = withReaction(conv.last_message, f.emoji, f.user_id, f.added);
    if (m !== conv.last_message) next = { ...next, conversations: { ...next.conversations, [conv.id]: { ...conv, last_message: m } } };
  }
  return next;
}

function clearTyping(state: ChatState, conversationId: string, userId: string): ChatState {
  const inConv = { ...state.typing[conversationId] };
  delete inConv[userId];
  const typing = { ...state.typing };
  if (Object.keys(inConv).length === 0) delete typing[conversationId];
  else typing[conversationId] = inConv;
  return { ...state, typing };
}

/** Applies a `typing` event: that person shows as typing for TYPING_SHOW_MS from `now`. */
export function applyTyping(state: ChatState, f: Pick<TypingFrame, 'conversation_id' | 'user_id'>, meId: string, now: number): ChatState {
  if (f.user_id === meId) return state;
  const until = now + TYPING_SHOW_MS;
  if (state.typing[f.conversation_id]?.[f.user_id] === until) return state;
  return { ...state, typing: { ...state.typing, [f.conversation_id]: { ...state.typing[f.conversation_id], [f.user_id]: until } } };
}

/** Forgets typing that has run out by `now`. */
export function expireTyping(state: ChatState, now: number): ChatState {
  let next = state;
  for (const [cid, users] of Object.entries(state.typing)) {
    for (const [uid, until] of Object.entries(users)) if (until <= now) next = clearTyping(next, cid, uid);
  }
  return next;
}

/** Who shows as typing in a conversation at `now`. */
export function typingIn(state: ChatState, conversationId: string, now: number): string[] {
  return Object.entries(state.typing[conversationId] ?? {})
    .filter(([, until]) => until > now)
    .map(([uid]) => uid)
    .sort();
}

/** Applies a stream frame of messaging; any other frame returns the state as it is. */
export function applyChatFrame(state: ChatState, frame: { type: string }, meId: string, now: number): ChatState {
  const f = frame as ChatFrame;
  switch (f.type) {
    case 'message':
      return f.message ? applyMessage(state, f.message, meId, f.conversation_version) : state;
    case 'conversation':
      if ('removed' in f) return f.removed ? dropConversation(state, f.conversation_id) : state;
      return f.conversation ? applyConversation(state, f.conversation, meId) : state;
    case 'read':
      return applyRead(state, f, meId);
    case 'reaction':
      return applyReaction(state, f);
    case 'typing':
      return applyTyping(state, f, meId, now);
    default:
      return state;
  }
}

/** Conversations newest activity first (SPEC §8); the server's order breaks ties. */
export function sortedConversations(state: ChatState): Conversation[] {
  const rank = new Map(state.order.map((id, i) => [id, i]));
  return Object.values(state.conversations).sort((a, b) => {
    const ta = a.last_message ? Date.parse(a.last_message.created_at) : -Infinity;
    const tb = b.last_message ? Date.parse(b.last_message.created_at) : -Infinity;
    if (ta !== tb) return tb - ta;
    return (rank.get(a.id) ?? -1) - (rank.get(b.id) ?? -1);
  });
}

/** Unread messages in all conversations that are not muted: the Chats tab's badge. */
export function totalUnread(state: ChatState): number {
  let n = 0;
  for (const c of Object.values(state.conversations)) if (!c.muted) n += c.unread_count;
  return n;
}

/**
 * The members (other than the user) whose read marker is at or after `messageId`: "Seen by …"
 * under the user's last message.
 */
export function seenBy(state: ChatState, conversationId: string, messageId: string, meId: string): string[] {
  const conv = state.conversations[conversationId];
  const target = findMessage(state, conversationId, messageId);
  if (!conv || !target) return [];
  return conv.read_markers
    .filter((r) => {
      if (r.user_id === meId) return false;
      if (r.message_id === messageId) return true;
      const m = findMessage(state, conversationId, r.message_id);
      return m !== undefined && compareMessages(m, target) >= 0;
    })
    .map((r) => r.user_id);
}

/** The user's newest message that the server has (for "Seen by …"). */
export function lastOwnMessage(state: ChatState, conversationId: string, meId: string): Message | undefined {
  const items = state.messages[conversationId]?.items ?? [];
  for (let i = items.length - 1; i >= 0; i--) if (items[i].sender_id === meId && !items[i].deleted_at) return items[i];
  return undefined;
}

/** The newest message of the conversation that someone else sent: what a read marks. */
export function newestMessage(state: ChatState, conversationId: string): Message | undefined {
  const items = state.messages[conversationId]?.items ?? [];
  return items[items.length - 1] ?? state.conversations[conversationId]?.last_message ?? undefined;
}

/** Whether the user's marker is behind the conversation's newest message (a read should be posted). */
export function needsRead(state: ChatState, conversationId: string): Message | undefined {
  const conv = state.conversations[conversationId];
  const newest = newestMessage(state, conversationId);
  if (!conv || !newest || newest.id === conv.last_read_message_id) return undefined;
  if (!markerForward(state, conversationId, conv.last_read_message_id, newest.id)) return undefined;
  return newest;
}

/** What is kept on the device of the chat, so that it opens offline. */
export interface SavedChat {
  conversations: Conversation[];
  messages: Record<string, Message[]>;
}

/** The most recent conversations and the newest messages of each, to keep on the device. */
export function saveChat(state: ChatState, maxConversations = 30, perConversation = 50): SavedChat {
  const conversations = sortedConversations(state).slice(0, maxConversations);
  const messages: Record<string, Message[]> = {};
  for (const c of conversations) {
    const items = state.messages[c.id]?.items;
    if (items?.length) messages[c.id] = items.slice(-perConversation);
  }
  return { conversations, messages };
}

/**
 * The chat as saved on the device: shown until the server answers, which it must before
 * anything counts as loaded (lists are marked not loaded; the conversation list too).
 */
export function restoreChat(saved: SavedChat | undefined): ChatState {
  const state = emptyChat();
  if (!saved) return state;
  for (const c of saved.conversations ?? []) state.conversations[c.id] = c;
  state.order = (saved.conversations ?? []).map((c) => c.id);
  for (const [id, items] of Object.entries(saved.messages ?? {})) {
    if (state.conversations[id]) state.messages[id] = { items: mergeMessages([], items), hasMore: true, loaded: false };
  }
  return state;
}

// The outbox: messages composed here that the server has not confirmed.

export function addOutgoing(state: ChatState, o: Outgoing): ChatState {
  if (state.outbox.some((x) => x.client_id === o.client_id)) return state;
  return { ...state, outbox: [...state.outbox, o] };
}

export function setOutgoingState(state: ChatState, clientId: string, sendState: Outgoing['state'], error?: string): ChatState {
  const o = state.outbox.find((x) => x.client_id === clientId);
  if (!o || (o.state === sendState && o.error === error)) return state;
  return { ...state, outbox: state.outbox.map((x) => (x.client_id === clientId ? { ...x, state: sendState, error } : x)) };
}

export function removeOutgoing(state: ChatState, clientId: string): ChatState {
  if (!state.outbox.some((x) => x.client_id === clientId)) return state;
  return { ...state, outbox: state.outbox.filter((x) => x.client_id !== clientId) };
}

export function outboxFor(state: ChatState, conversationId: string): Outgoing[] {
  return state.outbox.filter((o) => o.conversation_id === conversationId);
}

/** A fresh client_id for a send: a retry reuses it, so the server keeps one message. */
export function newClientId(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  const b = new Uint8Array(16);
  c.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** Whether a typing notice may go out now, the last one having gone at `lastSentAt`. */
export function mayNotifyTyping(lastSentAt: number | null, now: number): boolean {
  return lastSentAt === null || now - lastSentAt >= TYPING_SEND_INTERVAL_MS;
}

/**
 * Sends `{"type":"typing","conversation_id":…}` while the user types, at most every
 * TYPING_SEND_INTERVAL_MS per conversation. A notice that could not go (no connection) is
 * not counted, so the next keystroke tries again.
 */
export function typingNotifier(send: (frame: TypingClientFrame) => boolean, now: () => number): (conversationId: string) => void {
  const last = new Map<string, number>();
  return (conversationId) => {
    const t = now();
    if (!mayNotifyTyping(last.get(conversationId) ?? null, t)) return;
    if (send({ type: 'typing', conversation_id: conversationId })) last.set(conversationId, t);
  };
}

/** A conversation's title: the group's name, or the other person's name in a 1:1 chat. */
export function conversationTitle(c: Conversation, meId: string): string {
  if (c.kind === 'group') return c.name || c.members.filter((m) => m.id !== meId).map((m) => m.name).join(', ') || 'Group';
  return c.members.find((m) => m.id !== meId)?.name ?? (c.name || 'Chat');
}
