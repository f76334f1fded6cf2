import { describe, expect, it } from 'vitest';
import {
  addOutgoing,
  applyChatFrame,
  applyConversation,
  applyConversationList,
  applyMessage,
  applyMessagesPage,
  applyRead,
  conversationTitle,
  emptyChat,
  expireTyping,
  mayNotifyTyping,
  needsRead,
  newClientId,
  outboxFor,
  removeOutgoing,
  restoreChat,
  saveChat,
  seenBy,
  setOutgoingState,
  sortedConversations,
  totalUnread,
  TYPING_SEND_INTERVAL_MS,
  TYPING_SHOW_MS,
  typingIn,
  typingNotifier,
  type ChatState,
  type Outgoing,
} from '../src/state/chat';
import type { Contact, Conversation, Message } from '../src/types';

const ME = 'u_me';
const ANN = 'u_ann';
const BOB = 'u_bob';

function person(id: string, name: string): Contact {
  return {
    id,
    name,
    email: `${id}@demo.test`,
    extension: '100',
    phone_number: null,
    photo_url: null,
    presence: { shown: 'available', activity: null, message: null, version: 1 },
  };
}

const members = [person(ME, 'Me Myself'), person(ANN, 'Ann Lee'), person(BOB, 'Bob Stone')];

function msg(id: string, second: number, sender = ANN, extra: Partial<Message> = {}): Message {
  return {
    id,
    conversation_id: 'c1',
    sender_id: sender,
    client_id: `cl-${id}`,
    text: `text ${id}`,
    created_at: new Date(Date.UTC(2026, 0, 1, 9, 0, second)).toISOString(),
    edited_at: null,
    deleted_at: null,
    reply_to: null,
    mentions: [],
    reactions: [],
    attachments: [],
    ...extra,
  };
}

function conv(extra: Partial<Conversation> = {}): Conversation {
  return {
    id: 'c1',
    kind: 'group',
    name: 'Team',
    members,
    last_message: null,
    unread_count: 0,
    muted: false,
    last_read_message_id: null,
    read_markers: [],
    version: 1,
    ...extra,
  };
}

function withConv(c: Conversation = conv()): ChatState {
  return applyConversationList(emptyChat(), [c]);
}

const ids = (s: ChatState, cid = 'c1') => (s.messages[cid]?.items ?? []).map((m) => m.id);

describe('messages from pages and events', () => {
  it('merges pages and events into one list without duplicates, ordered by created_at then id', () => {
    let s = withConv();
    s = applyChatFrame(s, { type: 'message', cursor: 'e1', message: msg('m5', 5) } as never, ME, 0);
    // The newest page (newest first) overlaps the event.
    s = applyMessagesPage(s, 'c1', [msg('m5', 5), msg('m4', 4), msg('m3b', 3), msg('m3a', 3)], null, true);
    expect(ids(s)).toEqual(['m3a', 'm3b', 'm4', 'm5']);
    expect(s.messages.c1.hasMore).toBe(true);
    s = applyMessagesPage(s, 'c1', [msg('m2', 2), msg('m1', 1)], 'm3a', false);
    expect(ids(s)).toEqual(['m1', 'm2', 'm3a', 'm3b', 'm4', 'm5']);
    expect(s.messages.c1.hasMore).toBe(false);
    expect(s.conversations.c1.last_message?.id).toBe('m5');
  });

  it('changes nothing when the same event comes twice (a catch-up replay)', () => {
    let s = withConv();
    const frame = { type: 'message', cursor: 'e1', message: msg('m1', 1) };
    s = applyChatFrame(s, frame, ME, 0);
    expect(s.conversations.c1.unread_count).toBe(1);
    expect(applyChatFrame(s, structuredClone(frame), ME, 0)).toBe(s);
    const read = { type: 'read', conversation_id: 'c1', user_id: ANN, message_id: 'm1' };
    s = applyChatFrame(s, read, ME, 0);
    expect(applyChatFrame(s, { ...read }, ME, 0)).toBe(s);
    const reaction = { type: 'reaction', conversation_id: 'c1', message_id: 'm1', emoji: '👍', user_id: BOB, added: true };
    s = applyChatFrame(s, reaction, ME, 0);
    expect(applyChatFrame(s, { ...reaction }, ME, 0)).toBe(s);
    expect(s.messages.c1.items[0].reactions).toEqual([{ emoji: '👍', user_ids: [BOB] }]);
  });

  it('takes edits and deletions, ignores an older copy after an edit, and keeps a deletion', () => {
    let s = withConv();
    s = applyMessage(s, msg('m1', 1), ME);
    const edited = msg('m1', 1, ANN, { text: 'fixed', edited_at: '2026-01-01T09:01:00Z' });
    s = applyMessage(s, edited, ME);
    expect(s.messages.c1.items[0].text).toBe('fixed');
    expect(applyMessage(s, msg('m1', 1), ME)).toBe(s);
    s = applyMessage(s, msg('m1', 1, ANN, { text: '', deleted_at: '2026-01-01T09:02:00Z' }), ME);
    expect(applyMessage(s, edited, ME).messages.c1.items[0].deleted_at).not.toBeNull();
    expect(s.conversations.c1.unread_count).toBe(1);
  });

  it('starts the history afresh when a newest page does not meet what is loaded (a gap)', () => {
    let s = withConv();
    s = applyMessagesPage(s, 'c1', [msg('m2', 2), msg('m1', 1)], null, true);
    s = applyMessagesPage(s, 'c1', [msg('m9', 9), msg('m8', 8)], null, true);
    expect(ids(s)).toEqual(['m8', 'm9']);
    expect(s.messages.c1.hasMore).toBe(true);
    s = applyMessagesPage(s, 'c1', [msg('m9', 9), msg('m8', 8)], null, true);
    expect(ids(s)).toEqual(['m8', 'm9']);
  });

  it('knows whether older history remains from the page’s next_cursor', () => {
    let s = withConv();
    s = applyMessagesPage(s, 'c1', [msg('m1', 1)], null, false);
    expect(s.messages.c1).toMatchObject({ loaded: true, hasMore: false });
  });
});

describe('unread counts and read markers', () => {
  it('counts a message event into a copy older than its conversation_version, and only then', () => {
    // The list was read at version 5, after m1 was sent at version 5: m1's event (which the
    // stream may deliver after the list) is counted in already.
    let s = withConv(conv({ version: 5, unread_count: 1 }));
    s = applyChatFrame(s, { type: 'message', cursor: 'e1', message: msg('m1', 1), conversation_version: 5 } as never, ME, 0);
    expect(s.conversations.c1).toMatchObject({ unread_count: 1, version: 5 });
    s = applyChatFrame(s, { type: 'message', cursor: 'e2', message: msg('m2', 2, BOB), conversation_version: 7 } as never, ME, 0);
    expect(s.conversations.c1).toMatchObject({ unread_count: 2, version: 7 });
    expect(s.conversations.c1.last_message?.id).toBe('m2');
    // Sending marks read: Bob's marker is at his message ("Seen by" under an older one of mine).
    expect(s.conversations.c1.read_markers).toContainEqual({ user_id: BOB, message_id: 'm2' });
    // A full copy of an older version changes nothing.
    expect(applyConversation(s, conv({ version: 6, unread_count: 1 }), ME)).toBe(s);
  });

  it('counts a new message from someone else once, and never the own or an edit', () => {
    let s = withConv();
    s = applyMessage(s, msg('m1', 1), ME);
    s = applyMessage(s, msg('m1', 1), ME);
    s = applyMessage(s, msg('m0', 0, ANN, { edited_at: '2026-01-01T09:05:00Z' }), ME);
    expect(s.conversations.c1.unread_count).toBe(1);
    s = applyMessage(s, msg('m2', 2, ME), ME);
    expect(s.conversations.c1.unread_count).toBe(0);
    expect(s.conversations.c1.last_read_message_id).toBe('m2');
  });

  it('moves read markers forward only, and the own one lowers the unread count', () => {
    let s = withConv();
    for (const [id, sec] of [['m1', 1], ['m2', 2], ['m3', 3]] as const) s = applyMessage(s, msg(id, sec), ME);
    expect(s.conversations.c1.unread_count).toBe(3);
    s = applyRead(s, { conversation_id: 'c1', user_id: ME, message_id: 'm2' }, ME);
    expect(s.conversations.c1).toMatchObject({ last_read_message_id: 'm2', unread_count: 1 });
    const back = applyRead(s, { conversation_id: 'c1', user_id: ME, message_id: 'm1' }, ME);
    expect(back).toBe(s);
    s = applyRead(s, { conversation_id: 'c1', user_id: BOB, message_id: 'm3' }, ME);
    expect(applyRead(s, { conversation_id: 'c1', user_id: BOB, message_id: 'm1' }, ME)).toBe(s);
    s = applyRead(s, { conversation_id: 'c1', user_id: ME, message_id: 'm3' }, ME);
    expect(s.conversations.c1.unread_count).toBe(0);
    expect(totalUnread(s)).toBe(0);
  });

  it('does not let a stale conversation answer move markers backwards', () => {
    let s = withConv();
    s = applyMessagesPage(s, 'c1', [msg('m2', 2), msg('m1', 1)], null, false);
    s = applyRead(s, { conversation_id: 'c1', user_id: ME, message_id: 'm2' }, ME);
    s = applyRead(s, { conversation_id: 'c1', user_id: ANN, message_id: 'm2' }, ME);
    const stale = conv({
      version: 2,
      last_message: msg('m2', 2),
      unread_count: 1,
      last_read_message_id: 'm1',
      read_markers: [{ user_id: ANN, message_id: 'm1' }],
    });
    s = applyConversationList(s, [stale]);
    expect(s.conversations.c1.last_read_message_id).toBe('m2');
    expect(s.conversations.c1.unread_count).toBe(0);
    expect(s.conversations.c1.read_markers).toContainEqual({ user_id: ANN, message_id: 'm2' });
  });

  it('ignores a conversation copy of a version no higher than the one held', () => {
    let s = withConv(conv({ version: 5, name: 'New name' }));
    expect(applyConversation(s, conv({ version: 4, name: 'Old name' }), ME)).toBe(s);
    expect(applyConversation(s, conv({ version: 5, name: 'Same version' }), ME)).toBe(s);
    s = applyConversation(s, conv({ version: 6, name: 'Newer' }), ME);
    expect(s.conversations.c1.name).toBe('Newer');
  });

  it('drops a conversation the user was removed from', () => {
    let s = withConv();
    s = applyMessage(s, msg('m1', 1), ME);
    s = applyConversation(s, conv({ version: 2, members: members.filter((m) => m.id !== ME) }), ME);
    expect(s.conversations.c1).toBeUndefined();
    expect(s.messages.c1).toBeUndefined();
    s = applyConversationList(emptyChat(), [conv()]);
    s = applyChatFrame(s, { type: 'conversation', cursor: 'e9', conversation_id: 'c1', removed: true } as never, ME, 0);
    expect(s.conversations.c1).toBeUndefined();
  });

  it('leaves muted conversations out of the badge', () => {
    const s = applyConversationList(emptyChat(), [conv({ unread_count: 2 }), conv({ id: 'c2', unread_count: 3, muted: true })]);
    expect(totalUnread(s)).toBe(2);
  });

  it('says whether a read is due for the newest message', () => {
    let s = withConv();
    s = applyMessage(s, msg('m1', 1), ME);
    expect(needsRead(s, 'c1')?.id).toBe('m1');
    s = applyRead(s, { conversation_id: 'c1', user_id: ME, message_id: 'm1' }, ME);
    expect(needsRead(s, 'c1')).toBeUndefined();
  });
});

describe('seen by, typing, order', () => {
  it('lists the members whose marker is at or after a message', () => {
    let s = withConv();
    s = applyMessagesPage(s, 'c1', [msg('m3', 3), msg('m2', 2, ME), msg('m1', 1)], null, false);
    s = applyRead(s, { conversation_id: 'c1', user_id: ANN, message_id: 'm3' }, ME);
    s = applyRead(s, { conversation_id: 'c1', user_id: BOB, message_id: 'm1' }, ME);
    expect(seenBy(s, 'c1', 'm2', ME)).toEqual([ANN]);
    s = applyRead(s, { conversation_id: 'c1', user_id: BOB, message_id: 'm2' }, ME);
    expect(seenBy(s, 'c1', 'm2', ME).sort()).toEqual([ANN, BOB]);
  });

  it('shows typing for a while, ignores the own, and a message ends it', () => {
    let s = withConv();
    s = applyChatFrame(s, { type: 'typing', conversation_id: 'c1', user_id: ANN } as never, ME, 1_000);
    s = applyChatFrame(s, { type: 'typing', conversation_id: 'c1', user_id: ME } as never, ME, 1_000);
    expect(typingIn(s, 'c1', 1_000)).toEqual([ANN]);
    expect(typingIn(s, 'c1', 1_000 + TYPING_SHOW_MS)).toEqual([]);
    expect(expireTyping(s, 2_000)).toBe(s);
    expect(expireTyping(s, 1_000 + TYPING_SHOW_MS).typing).toEqual({});
    s = applyMessage(s, msg('m1', 1), ME);
    expect(typingIn(s, 'c1', 1_000)).toEqual([]);
  });

  it('sends typing at most every 3 seconds', () => {
    expect(TYPING_SEND_INTERVAL_MS).toBe(3_000);
    expect(mayNotifyTyping(null, 0)).toBe(true);
    expect(mayNotifyTyping(10_000, 12_999)).toBe(false);
    expect(mayNotifyTyping(10_000, 13_000)).toBe(true);
  });

  it('sends the typing frame at most every 3 seconds per conversation, retrying one that could not go', () => {
    let t = 0;
    let up = false;
    const frames: string[] = [];
    const notify = typingNotifier(
      (f) => {
        if (up) frames.push(JSON.stringify(f));
        return up;
      },
      () => t,
    );
    notify('c1');
    up = true;
    t = 100;
    notify('c1');
    t = 2_000;
    notify('c1');
    notify('c2');
    t = 3_100;
    notify('c1');
    expect(frames).toEqual([
      '{"type":"typing","conversation_id":"c1"}',
      '{"type":"typing","conversation_id":"c2"}',
      '{"type":"typing","conversation_id":"c1"}',
    ]);
  });

  it('sorts conversations by newest activity', () => {
    let s = applyConversationList(emptyChat(), [conv({ id: 'a' }), conv({ id: 'b' }), conv({ id: 'c', last_message: { ...msg('x', 1), conversation_id: 'c' } })]);
    expect(sortedConversations(s).map((c) => c.id)).toEqual(['c', 'a', 'b']);
    s = applyMessage(s, { ...msg('y', 9), conversation_id: 'b' }, ME);
    expect(sortedConversations(s).map((c) => c.id)).toEqual(['b', 'c', 'a']);
  });

  it('titles a direct chat by the other person and a group by its name', () => {
    expect(conversationTitle(conv({ kind: 'direct', name: '', members: members.slice(0, 2) }), ME)).toBe('Ann Lee');
    expect(conversationTitle(conv(), ME)).toBe('Team');
    expect(conversationTitle(conv({ name: '' }), ME)).toBe('Ann Lee, Bob Stone');
  });
});

describe('saved on the device', () => {
  it('keeps recent conversations and their newest messages, shown as not loaded until the server answers', () => {
    let s = applyConversationList(emptyChat(), [conv(), conv({ id: 'c2' })]);
    s = applyMessagesPage(s, 'c1', [msg('m3', 3), msg('m2', 2), msg('m1', 1)], null, true);
    const saved = saveChat(s, 30, 2);
    expect(saved.conversations.map((c) => c.id).sort()).toEqual(['c1', 'c2']);
    expect(saved.messages.c1.map((m) => m.id)).toEqual(['m2', 'm3']);
    const back = restoreChat(JSON.parse(JSON.stringify(saved)));
    expect(back.listLoaded).toBe(false);
    expect(back.messages.c1).toMatchObject({ loaded: false, hasMore: true });
    expect(ids(back)).toEqual(['m2', 'm3']);
    expect(back.conversations.c2.id).toBe('c2');
    expect(restoreChat(undefined)).toEqual(emptyChat());
  });
});

describe('sending', () => {
  it('makes a new client_id for every send', () => {
    const seen = new Set(Array.from({ length: 200 }, () => newClientId()));
    expect(seen.size).toBe(200);
    for (const id of seen) expect(id).toMatch(/^[0-9a-f-]{32,36}$/);
  });

  it('shows a send as pending, then failed, and drops it when the server has it', () => {
    const o: Outgoing = {
      client_id: 'cl-new',
      conversation_id: 'c1',
      text: 'hello',
      reply_to: null,
      attachment_ids: [],
      created_at: '2026-01-01T09:00:30Z',
      state: 'pending',
    };
    let s = addOutgoing(withConv(), o);
    expect(addOutgoing(s, o)).toBe(s);
    expect(outboxFor(s, 'c1')).toHaveLength(1);
    s = setOutgoingState(s, 'cl-new', 'failed', 'Too many messages');
    expect(s.outbox[0]).toMatchObject({ state: 'failed', error: 'Too many messages' });
    s = setOutgoingState(s, 'cl-new', 'pending');
    // The stream's echo of the message (with the same client_id) takes its place.
    s = applyMessage(s, msg('m9', 30, ME, { client_id: 'cl-new' }), ME);
    expect(s.outbox).toEqual([]);
    expect(ids(s)).toEqual(['m9']);
    expect(removeOutgoing(s, 'cl-new')).toBe(s);
  });
});
