// The chat actions the screens call, over the rules of chat.ts: loading conversations and
// history, sending with a client_id (kept until the server has the message), reads, reactions,
// edits, typing notices.

import * as api from '../api';
import { ApiError, NetworkError } from '../api';
import type { Attachment, Conversation, Message } from '../types';
import { app, scheduleSave, sendStreamFrame } from './app';
import {
  addOutgoing,
  applyConversation,
  applyConversationList,
  applyMessage,
  applyMessagesPage,
  applyRead,
  applyReaction,
  dropConversation,
  needsRead,
  newClientId,
  PAGE_SIZE,
  removeOutgoing,
  setOutgoingState,
  typingNotifier,
  type ChatState,
  type Outgoing,
} from './chat';
import { outboxStore } from './outbox';

function meId(): string {
  return app.get().view.me?.id ?? '';
}

function update(fn: (c: ChatState) => ChatState): void {
  app.set((s) => ({ chat: fn(s.chat) }));
  scheduleSave();
}

export async function loadConversations(): Promise<void> {
  const list = await api.listConversations();
  update((c) => applyConversationList(c, list));
}

const fetching = new Set<string>();

/** Fetches a conversation this client does not know yet (a message or a link to it came first). */
export async function ensureConversation(id: string): Promise<Conversation | null> {
  const known = app.get().chat.conversations[id];
  if (known) return known;
  if (fetching.has(id)) return null;
  fetching.add(id);
  try {
    const c = await api.getConversation(id);
    update((s) => applyConversation(s, c, meId()));
    return c;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  } finally {
    fetching.delete(id);
  }
}

/** Follows up a stream frame that the rules alone cannot complete. */
export function afterChatFrame(frame: { type: string }): void {
  if (frame.type !== 'message') return;
  const m = (frame as { message?: Message }).message;
  if (m && !app.get().chat.conversations[m.conversation_id]) void ensureConversation(m.conversation_id).catch(() => undefined);
}

const loadingPages = new Set<string>();

/** Loads the newest page of a conversation (when opened, or after a gap). */
export async function loadNewest(conversationId: string): Promise<void> {
  const key = `${conversationId}:newest`;
  if (loadingPages.has(key)) return;
  loadingPages.add(key);
  try {
    const page = await api.messagesPage(conversationId, null, PAGE_SIZE);
    update((c) => applyMessagesPage(c, conversationId, page.items ?? [], null, page.next_cursor !== undefined));
  } finally {
    loadingPages.delete(key);
  }
}

/** Loads the page before the oldest loaded message; resolves false when there was none to load. */
export async function loadOlder(conversationId: string): Promise<boolean> {
  const list = app.get().chat.messages[conversationId];
  if (!list || !list.hasMore || list.items.length === 0) return false;
  const before = list.items[0].id;
  const key = `${conversationId}:${before}`;
  if (loadingPages.has(key)) return false;
  loadingPages.add(key);
  try {
    const page = await api.messagesPage(conversationId, before, PAGE_SIZE);
    update((c) => applyMessagesPage(c, conversationId, page.items ?? [], before, page.next_cursor !== undefined));
    return true;
  } finally {
    loadingPages.delete(key);
  }
}

const inFlight = new Set<string>();
let retryTimer: ReturnType<typeof setTimeout> | null = null;

/** Sends one outgoing message; it stays pending on a lost connection, failed when refused. */
async function deliver(o: Outgoing): Promise<void> {
  if (inFlight.has(o.client_id)) return;
  inFlight.add(o.client_id);
  try {
    const body: api.SendBody = { client_id: o.client_id, text: o.text };
    if (o.reply_to) body.reply_to = o.reply_to;
    if (o.attachment_ids.length) body.attachment_ids = o.attachment_ids;
    const m = await api.sendMessage(o.conversation_id, body);
    update((c) => removeOutgoing(applyMessage(c, m, meId()), o.client_id));
    void outboxStore.remove(o.client_id);
  } catch (err) {
    if (err instanceof NetworkError) return; // still pending: sent again when the connection returns
    if (err instanceof ApiError && (err.status === 429 || err.status >= 500)) {
      if (retryTimer === null) {
        retryTimer = setTimeout(() => {
          retryTimer = null;
          void flushOutbox();
        }, (err.retryAfter ?? 5) * 1000);
      }
      return;
    }
    const why = err instanceof ApiError ? err.message : 'The message could not be sent.';
    update((c) => setOutgoingState(c, o.client_id, 'failed', why));
    const failed = app.get().chat.outbox.find((x) => x.client_id === o.client_id);
    if (failed) void outboxStore.put(failed);
  } finally {
    inFlight.delete(o.client_id);
  }
}

/** Sends a new message; it shows as pending at once and survives going offline. */
export function send(conversationId: string, text: string, replyTo: string | null, attachmentIds: string[] = []): Outgoing {
  const o: Outgoing = {
    client_id: newClientId(),
    conversation_id: conversationId,
    text,
    reply_to: replyTo,
    attachment_ids: attachmentIds,
    created_at: new Date().toISOString(),
    state: 'pending',
  };
  update((c) => addOutgoing(c, o));
  void outboxStore.put(o).finally(() => void deliver(o));
  return o;
}

/** Sends every pending message again, each with its own client_id (the connection is back). */
export async function flushOutbox(): Promise<void> {
  const pending = app.get().chat.outbox.filter((o) => o.state === 'pending');
  for (const o of pending) await deliver(o);
}

/** Puts back the messages composed offline in an earlier run of the app. */
export async function restoreOutbox(userId: string): Promise<void> {
  const saved = await outboxStore.all(userId);
  if (saved.length === 0) return;
  update((c) => saved.reduce((s, o) => addOutgoing(s, o), c));
  void flushOutbox();
}

export function retry(clientId: string): void {
  update((c) => setOutgoingState(c, clientId, 'pending'));
  const o = app.get().chat.outbox.find((x) => x.client_id === clientId);
  if (o) {
    void outboxStore.put(o);
    void deliver(o);
  }
}

export function discard(clientId: string): void {
  update((c) => removeOutgoing(c, clientId));
  void outboxStore.remove(clientId);
}

export async function edit(m: Message, text: string): Promise<void> {
  const edited = await api.editMessage(m.id, text);
  update((c) => applyMessage(c, edited, meId()));
}

export async function remove(m: Message): Promise<void> {
  await api.deleteMessage(m.id);
  const now = new Date().toISOString();
  update((c) => applyMessage(c, { ...m, text: '', attachments: [], deleted_at: now }, meId()));
}

export async function toggleReaction(m: Message, emoji: string): Promise<void> {
  const me = meId();
  const on = !(m.reactions.find((r) => r.emoji === emoji)?.user_ids.includes(me) ?? false);
  await api.setReaction(m.id, emoji, on);
  update((c) => applyReaction(c, { message_id: m.id, conversation_id: m.conversation_id, emoji, user_id: me, added: on }));
}

/** Marks the conversation read up to its newest message, if it is not already. */
export async function markRead(conversationId: string): Promise<void> {
  const newest = needsRead(app.get().chat, conversationId);
  if (!newest) return;
  const me = meId();
  update((c) => applyRead(c, { conversation_id: conversationId, user_id: me, message_id: newest.id }, me));
  await api.postRead(conversationId, newest.id);
}

/** Tells the others the user is typing: at most every 3 seconds per conversation. */
export const notifyTyping = typingNotifier(sendStreamFrame, () => Date.now());

/** Opens (or creates) the 1:1 chat with a colleague and answers its id. */
export async function startDirect(userId: string): Promise<string> {
  const c = await api.createConversation([userId]);
  update((s) => applyConversation(s, c, meId()));
  return c.id;
}

export async function createGroup(name: string, memberIds: string[]): Promise<string> {
  const c = await api.createConversation(memberIds, name);
  update((s) => applyConversation(s, c, meId()));
  return c.id;
}

export async function setMuted(conversationId: string, muted: boolean): Promise<void> {
  const c = await api.updateConversation(conversationId, { muted });
  update((s) => applyConversation(s, c, meId()));
}

export async function renameGroup(conversationId: string, name: string): Promise<void> {
  const c = await api.updateConversation(conversationId, { name });
  update((s) => applyConversation(s, c, meId()));
}

export async function addToGroup(conversationId: string, userIds: string[]): Promise<void> {
  const c = await api.addMembers(conversationId, userIds);
  update((s) => applyConversation(s, c, meId()));
}

/** Removes a member; removing oneself leaves the group, which then drops out of the list. */
export async function removeFromGroup(conversationId: string, userId: string): Promise<void> {
  await api.removeMember(conversationId, userId);
  if (userId === meId()) {
    update((s) => dropConversation(s, conversationId));
    return;
  }
  const c = await api.getConversation(conversationId);
  update((s) => applyConversation(s, c, meId()));
}

/** Uploads a file for the next message; usable only by the user until it is posted. */
export function upload(file: File): Promise<Attachment> {
  return api.uploadAttachment(file, file.name || 'photo.jpg');
}
