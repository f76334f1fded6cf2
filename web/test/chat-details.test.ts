// @vitest-environment happy-dom
import axe from 'axe-core';
import { h, render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { app } from '../src/state/app';
import { applyConversationList, emptyChat } from '../src/state/chat';
import { applyDirectory, emptyView, setMe } from '../src/state/view';
import type { Contact, Conversation } from '../src/types';
import { ChatDetails } from '../src/ui/ChatDetails';
import { parseRoute } from '../src/ui/router';
import { me, json } from './fixtures';

const presence = { shown: 'available' as const, activity: null, message: null, version: 1 };
function person(id: string, name: string): Contact {
  return { id, name, email: `${id}@demo.test`, extension: '101', phone_number: null, photo_url: null, presence };
}
const ann = person('u_ann', 'Ann Lee');
const bob = person('u_bob', 'Bob Stone');
const cara = person('u_cara', 'Cara Diaz');
const group: Conversation = {
  id: 'g1',
  kind: 'group',
  name: 'Launch',
  members: [person(me.id, me.name), ann, bob],
  last_message: null,
  unread_count: 0,
  muted: false,
  last_read_message_id: null,
  read_markers: [],
  version: 1,
};

let sent: { method: string; url: string; body: unknown }[];
let server: Conversation;
let root: HTMLElement;
const initial = app.get();

beforeEach(() => {
  sent = [];
  server = structuredClone(group);
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit) => {
      const method = init.method ?? 'GET';
      const body = typeof init.body === 'string' ? JSON.parse(init.body) : undefined;
      sent.push({ method, url, body });
      const all = [person(me.id, me.name), ann, bob, cara];
      if (method === 'PATCH' && url === '/api/v1/conversations/g1') {
        server = { ...server, name: (body as { name: string }).name, version: server.version + 1 };
        return json(200, server);
      }
      if (method === 'POST' && url === '/api/v1/conversations/g1/members') {
        const ids = (body as { user_ids: string[] }).user_ids;
        server = { ...server, members: [...server.members, ...all.filter((p) => ids.includes(p.id))], version: server.version + 1 };
        return json(200, server);
      }
      const rm = /^\/api\/v1\/conversations\/g1\/members\/(.+)$/.exec(url);
      if (method === 'DELETE' && rm) {
        server = { ...server, members: server.members.filter((m) => m.id !== rm[1]), version: server.version + 1 };
        return json(204, undefined);
      }
      if (method === 'GET' && url === '/api/v1/conversations/g1') return json(200, server);
      return json(404, { error: { code: 'not_found', message: 'no' } });
    }),
  );
  vi.stubGlobal('confirm', () => true);
  let view = setMe(emptyView(), me);
  view = applyDirectory(view, [ann, bob, cara]);
  app.set({ phase: 'ready', view, chat: applyConversationList(emptyChat(), [group]) });
  root = document.createElement('div');
  document.body.appendChild(root);
});

afterEach(() => {
  render(null, root);
  root.remove();
  app.set(initial);
  vi.unstubAllGlobals();
});

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await act(async () => await new Promise((r) => setTimeout(r, 0)));
}

function submit(form: Element): Promise<void> {
  return act(() => {
    form.dispatchEvent(new Event('submit', { cancelable: true }));
  });
}

const memberNames = () => [...root.querySelectorAll('[data-testid="member"]')].map((e) => e.getAttribute('data-user-id'));

describe('group details', () => {
  it('has its own route under the conversation', () => {
    expect(parseRoute('/chats/g1/details')).toEqual({ name: 'chat-details', id: 'g1' });
    expect(parseRoute('/chats/g1')).toEqual({ name: 'chat', id: 'g1' });
  });

  it('renames the group, adds and removes members, and leaves', async () => {
    await act(() => render(h(ChatDetails, { id: 'g1' }), root));
    await settle();
    expect(memberNames()).toEqual([me.id, ann.id, bob.id]);
    // Only people not yet in the group are offered.
    expect([...root.querySelectorAll('[data-testid="add-option"]')].map((e) => e.getAttribute('data-user-id'))).toEqual([cara.id]);
    const r = await axe.run(root, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, rules: { 'color-contrast': { enabled: false } } });
    expect(r.violations.map((v) => v.id)).toEqual([]);

    const name = root.querySelector('#group-rename') as HTMLInputElement;
    name.value = 'Launch v2';
    await act(() => {
      name.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await submit(root.querySelector('[data-testid="rename-form"]') as Element);
    await settle();
    expect(sent.find((s) => s.method === 'PATCH')?.body).toEqual({ name: 'Launch v2' });
    expect(app.get().chat.conversations.g1.name).toBe('Launch v2');

    await act(() => (root.querySelector('[data-testid="add-option"] input') as HTMLInputElement).click());
    await submit(root.querySelector('[data-testid="add-members-form"]') as Element);
    await settle();
    expect(sent.find((s) => s.method === 'POST')?.body).toEqual({ user_ids: [cara.id] });
    expect(memberNames()).toEqual([me.id, ann.id, bob.id, cara.id]);

    await act(() => (root.querySelector(`button[aria-label="Remove ${bob.name}"]`) as HTMLButtonElement).click());
    await settle();
    expect(sent.some((s) => s.method === 'DELETE' && s.url === `/api/v1/conversations/g1/members/${bob.id}`)).toBe(true);
    expect(memberNames()).toEqual([me.id, ann.id, cara.id]);
    // Nobody is offered a button to remove themselves: that is leaving.
    expect(root.querySelector(`button[aria-label="Remove ${me.name}"]`)).toBeNull();

    const leave = [...root.querySelectorAll('button')].find((b) => b.textContent === 'Leave group') as HTMLButtonElement;
    await act(() => leave.click());
    await settle();
    expect(sent.some((s) => s.method === 'DELETE' && s.url === `/api/v1/conversations/g1/members/${me.id}`)).toBe(true);
    expect(app.get().chat.conversations.g1).toBeUndefined();
    expect(location.pathname).toBe('/chats');
  });
});
