import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { app } from '../src/state/app';
import { applyConversationList, emptyChat, type Outgoing } from '../src/state/chat';
import { restoreOutbox, send } from '../src/state/chats';
import { indexedDbOutbox, outboxStore, setOutboxUser } from '../src/state/outbox';
import { emptyView, setMe } from '../src/state/view';
import type { Conversation, Me } from '../src/types';

function outgoing(id: string, at: string, extra: Partial<Outgoing> = {}): Outgoing {
  return { client_id: id, conversation_id: 'c1', text: `text ${id}`, reply_to: null, attachment_ids: [], created_at: at, state: 'pending', ...extra };
}

describe('the outbox on disk', () => {
  it('keeps each user’s unsent messages across a restart, oldest first, until removed', async () => {
    const idb = new IDBFactory();
    let user: string | null = 'u_a';
    const first = indexedDbOutbox(idb, () => user);
    await first.put(outgoing('x2', '2026-01-01T09:00:02Z'));
    await first.put(outgoing('x1', '2026-01-01T09:00:01Z', { reply_to: 'm1', attachment_ids: ['a1'] }));
    user = 'u_b';
    await first.put(outgoing('y1', '2026-01-01T09:00:00Z'));
    user = null;
    await first.put(outgoing('z1', '2026-01-01T09:00:00Z'));

    const reopened = indexedDbOutbox(idb, () => 'u_a');
    const saved = await reopened.all('u_a');
    expect(saved.map((o) => o.client_id)).toEqual(['x1', 'x2']);
    expect(saved[0]).toEqual(outgoing('x1', '2026-01-01T09:00:01Z', { reply_to: 'm1', attachment_ids: ['a1'] }));
    expect((await reopened.all('u_b')).map((o) => o.client_id)).toEqual(['y1']);

    await reopened.put({ ...saved[1], state: 'failed', error: 'Too long' });
    await reopened.remove('x1');
    expect(await reopened.all('u_a')).toEqual([{ ...saved[1], state: 'failed', error: 'Too long' }]);
    await reopened.clear();
    expect(await reopened.all('u_b')).toEqual([]);
  });

  it('does without IndexedDB', async () => {
    const none = indexedDbOutbox(undefined, () => 'u_a');
    await none.put(outgoing('x1', '2026-01-01T09:00:01Z'));
    expect(await none.all('u_a')).toEqual([]);
  });
});

describe('messages composed offline', () => {
  const me = { id: 'u_me', name: 'Mia Moss', presence: { version: 1 } } as unknown as Me;
  const conv = { id: 'c1', kind: 'direct', name: '', members: [], last_message: null, unread_count: 0, muted: false, last_read_message_id: null, read_markers: [], version: 1 } as Conversation;
  let online = false;
  const posted: string[] = [];
  const initial = app.get();

  beforeEach(async () => {
    online = false;
    posted.length = 0;
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string, init: RequestInit) => {
        if (!online) throw new TypeError('Failed to fetch');
        const b = JSON.parse(init.body as string) as { client_id: string; text: string };
        posted.push(b.client_id);
        const m = { id: `m-${b.client_id}`, conversation_id: 'c1', sender_id: me.id, client_id: b.client_id, text: b.text, created_at: '2026-01-01T09:00:00Z', edited_at: null, deleted_at: null, reply_to: null, mentions: [], reactions: [], attachments: [] };
        expect(url).toBe('/api/v1/conversations/c1/messages');
        return new Response(JSON.stringify(m), { status: 201, headers: { 'Content-Type': 'application/json' } });
      }),
    );
    setOutboxUser(me.id);
    await outboxStore.clear();
    app.set({ phase: 'ready', view: setMe(emptyView(), me), chat: applyConversationList(emptyChat(), [conv]) });
  });

  afterEach(() => {
    vi.unstubAllGlobals();
    setOutboxUser(null);
    app.set(initial);
  });

  it('are kept on disk, shown pending after a restart, and sent with their client_id when the connection returns', async () => {
    const o = send('c1', 'Written in the tunnel', null);
    await vi.waitFor(async () => expect((await outboxStore.all(me.id)).map((x) => x.client_id)).toEqual([o.client_id]));
    expect(app.get().chat.outbox).toMatchObject([{ client_id: o.client_id, state: 'pending' }]);

    // The app is closed and opened again, still offline.
    app.set({ chat: applyConversationList(emptyChat(), [conv]) });
    await restoreOutbox(me.id);
    expect(app.get().chat.outbox).toMatchObject([{ client_id: o.client_id, text: 'Written in the tunnel', state: 'pending' }]);

    online = true;
    await restoreOutbox(me.id);
    await vi.waitFor(() => expect(app.get().chat.outbox).toEqual([]));
    expect(posted).toEqual([o.client_id]);
    expect(app.get().chat.messages.c1.items.map((m) => m.client_id)).toEqual([o.client_id]);
    await vi.waitFor(async () => expect(await outboxStore.all(me.id)).toEqual([]));
  });
});
