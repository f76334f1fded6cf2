// @vitest-environment happy-dom
import axe from 'axe-core';
import { h, render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { app } from '../src/state/app';
import { applyChatFrame, applyConversationList, applyMessagesPage, emptyChat } from '../src/state/chat';
import { flushOutbox } from '../src/state/chats';
import { applyDirectory, emptyView, setMe } from '../src/state/view';
import type { Contact, Conversation, Message } from '../src/types';
import { ChatList } from '../src/ui/ChatList';
import { ContactPage } from '../src/ui/ContactPage';
import { AttachmentView, ConversationScreen } from '../src/ui/Conversation';
import { NewGroup } from '../src/ui/NewGroup';
import { TabBar } from '../src/ui/TabBar';
import { me, json, HOSTILE } from './fixtures';
import type { Sent } from './fixtures';

const presence = { shown: 'available' as const, activity: null, message: null, version: 1 };

function person(id: string, name: string): Contact {
  return { id, name, email: `${id}@demo.test`, extension: '101', phone_number: null, photo_url: null, presence };
}

const ann = person('u_ann', 'Ann Lee');
const bob = person('u_bob', 'Bob Stone');
const members = [person(me.id, me.name), ann, bob];

function msg(id: string, second: number, sender: string, text: string, extra: Partial<Message> = {}): Message {
  return {
    id,
    conversation_id: 'c1',
    sender_id: sender,
    client_id: `cl-${id}`,
    text,
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

const conv: Conversation = {
  id: 'c1',
  kind: 'group',
  name: 'Launch team',
  members,
  last_message: null,
  unread_count: 0,
  muted: false,
  last_read_message_id: null,
  read_markers: [],
  version: 1,
};

let sent: Sent[];
let offline: boolean;
let root: HTMLElement;
const initial = app.get();

beforeEach(() => {
  sent = [];
  offline = false;
  let seq = 0;
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit) => {
      const method = init.method ?? 'GET';
      const body = typeof init.body === 'string' ? JSON.parse(init.body) : undefined;
      sent.push({ method, url, body });
      if (offline) throw new TypeError('Failed to fetch');
      if (method === 'GET' && url.startsWith('/api/v1/conversations/c1/messages')) {
        const before = new URL(url, 'http://vo.test').searchParams.get('before');
        if (before === 'm1') return json(200, { items: [msg('m0', 0, bob.id, 'Earlier on')] });
        return json(200, { items: [msg('m2', 2, ann.id, HOSTILE), msg('m1', 1, me.id, 'Morning all')], next_cursor: 'm1' });
      }
      if (url.startsWith('/api/v1/messages/m2/reactions/')) return json(204, undefined);
      if (method === 'POST' && url === '/api/v1/conversations/c1/messages') {
        const b = body as { client_id: string; text: string };
        return json(201, msg(`new${++seq}`, 30 + seq, me.id, b.text, { client_id: b.client_id }));
      }
      if (method === 'POST' && url.endsWith('/read')) return json(204, undefined);
      if (method === 'POST' && url === '/api/v1/conversations') {
        const b = body as { member_ids: string[]; name?: string };
        const others = members.filter((m) => b.member_ids.includes(m.id));
        return json(201, { ...conv, id: b.name ? 'g_new' : 'd_ann', kind: b.name ? 'group' : 'direct', name: b.name ?? null, members: [members[0], ...others] });
      }
      return json(404, { error: { code: 'not_found', message: 'no' } });
    }),
  );
  let view = setMe(emptyView(), me);
  view = applyDirectory(view, [ann, bob]);
  app.set({ phase: 'ready', view, chat: applyConversationList(emptyChat(), [conv]) });
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

function typeInto(el: HTMLTextAreaElement, value: string): void {
  el.value = value;
  el.setSelectionRange(value.length, value.length);
  el.dispatchEvent(new Event('input', { bubbles: true }));
}

async function axeViolations(node: Element): Promise<string[]> {
  // Colour contrast needs a real layout engine (the e2e run checks it); every other WCAG 2 A/AA rule runs here.
  const r = await axe.run(node, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, rules: { 'color-contrast': { enabled: false } } });
  return r.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.html).join(' | ')}`);
}

describe('conversation screen', () => {
  it('loads the newest messages, shows their text as text only, and marks them read', async () => {
    await act(() => render(h(ConversationScreen, { id: 'c1' }), root));
    await settle();
    const texts = [...root.querySelectorAll('[data-testid="message-text"]')].map((e) => e.textContent);
    expect(texts).toEqual(['Morning all', HOSTILE]);
    expect(root.querySelector('.msg img')).toBeNull();
    expect(sent.some((s) => s.method === 'POST' && s.url === '/api/v1/conversations/c1/read' && (s.body as { message_id: string }).message_id === 'm2')).toBe(true);
    expect(app.get().chat.conversations.c1.last_read_message_id).toBe('m2');
  });

  it('sends with a client_id, shows the message pending, and keeps it pending offline until the connection returns', async () => {
    await act(() => render(h(ConversationScreen, { id: 'c1' }), root));
    await settle();
    offline = true;
    const area = root.querySelector('textarea[aria-label="Message"]') as HTMLTextAreaElement;
    await act(() => typeInto(area, 'See you at 10'));
    await act(() => {
      (root.querySelector('form[data-testid="compose"]') as HTMLFormElement).dispatchEvent(new Event('submit', { cancelable: true }));
    });
    await settle();
    const pending = root.querySelector('[data-testid="pending-message"]') as HTMLElement;
    expect(pending?.dataset.state).toBe('pending');
    expect(pending.textContent).toContain('See you at 10');
    const first = sent.find((s) => s.method === 'POST' && s.url.endsWith('/messages'));
    const clientId = (first?.body as { client_id: string }).client_id;
    expect(clientId).toMatch(/^[0-9a-f-]{32,36}$/);

    offline = false;
    await act(() => flushOutbox());
    await settle();
    const posts = sent.filter((s) => s.method === 'POST' && s.url.endsWith('/messages'));
    expect(posts.map((p) => (p.body as { client_id: string }).client_id)).toEqual([clientId, clientId]);
    expect(root.querySelector('[data-testid="pending-message"]')).toBeNull();
    expect([...root.querySelectorAll('[data-testid="message-text"]')].map((e) => e.textContent)).toContain('See you at 10');
  });

  it('completes @-mentions of members', async () => {
    await act(() => render(h(ConversationScreen, { id: 'c1' }), root));
    await settle();
    const area = root.querySelector('textarea[aria-label="Message"]') as HTMLTextAreaElement;
    await act(() => typeInto(area, 'thanks @bo'));
    const options = [...root.querySelectorAll('[role="listbox"] [role="option"]')].map((o) => o.textContent);
    expect(options).toEqual(['Bob Stone']);
    expect(area.getAttribute('aria-activedescendant')).toBeTruthy();
    await act(() => {
      area.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }));
    });
    expect(area.value).toBe('thanks @Bob Stone ');
    expect(root.querySelector('[role="listbox"]')).toBeNull();
  });

  it('says who has seen the last own message and who is typing', async () => {
    await act(() => render(h(ConversationScreen, { id: 'c1' }), root));
    await settle();
    const now = Date.now();
    await act(() =>
      app.set((s) => ({
        chat: applyChatFrame(
          applyChatFrame(s.chat, { type: 'read', conversation_id: 'c1', user_id: bob.id, message_id: 'm2' } as never, me.id, now),
          { type: 'typing', conversation_id: 'c1', user_id: ann.id } as never,
          me.id,
          now,
        ),
      })),
    );
    expect(root.querySelector('[data-testid="seen-by"]')?.textContent).toBe('Seen by Bob Stone');
    expect(root.querySelector('[data-testid="typing"]')?.textContent).toBe('Ann Lee is typing…');
  });

  it('loads earlier messages, replies with reply_to, and reacts', async () => {
    await act(() => render(h(ConversationScreen, { id: 'c1' }), root));
    await settle();
    const earlier = [...root.querySelectorAll('button')].find((b) => b.textContent === 'Load earlier messages') as HTMLButtonElement;
    await act(() => earlier.click());
    await settle();
    expect([...root.querySelectorAll('[data-testid="message-text"]')].map((e) => e.textContent)).toEqual(['Earlier on', 'Morning all', HOSTILE]);
    expect(sent.some((s) => s.url.includes('before=m1'))).toBe(true);
    expect([...root.querySelectorAll('button')].some((b) => b.textContent === 'Load earlier messages')).toBe(false);

    const annMsg = root.querySelector('[data-message-id="m2"]') as HTMLElement;
    await act(() => (annMsg.querySelector('button[aria-label="Actions for message from Ann Lee"]') as HTMLButtonElement).click());
    expect([...annMsg.querySelectorAll('.msg-menu button')].map((b) => b.textContent)).not.toContain('Edit');
    await act(() => (annMsg.querySelector('button[aria-label="React with 👍"]') as HTMLButtonElement).click());
    await settle();
    expect(sent.some((s) => s.method === 'PUT' && s.url === `/api/v1/messages/m2/reactions/${encodeURIComponent('👍')}`)).toBe(true);
    const reaction = root.querySelector('[data-message-id="m2"] .reaction') as HTMLButtonElement;
    expect(reaction.getAttribute('aria-pressed')).toBe('true');
    expect(reaction.getAttribute('aria-label')).toBe('👍 1, including you');

    await act(() => (annMsg.querySelector('button[aria-label="Actions for message from Ann Lee"]') as HTMLButtonElement).click());
    await act(() => ([...annMsg.querySelectorAll('.msg-menu button')].find((b) => b.textContent === 'Reply') as HTMLButtonElement).click());
    expect(root.querySelector('[data-testid="replying"]')?.textContent).toContain('Replying to Ann Lee');
    const area = root.querySelector('textarea[aria-label="Message"]') as HTMLTextAreaElement;
    await act(() => typeInto(area, 'On it'));
    await act(() => {
      area.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }));
    });
    await settle();
    const post = sent.find((s) => s.method === 'POST' && s.url.endsWith('/messages'));
    expect(post?.body).toMatchObject({ text: 'On it', reply_to: 'm2' });
    expect(root.querySelector('[data-testid="replying"]')).toBeNull();
  });

  it('will not send a text over 4,000 characters', async () => {
    await act(() => render(h(ConversationScreen, { id: 'c1' }), root));
    await settle();
    const area = root.querySelector('textarea[aria-label="Message"]') as HTMLTextAreaElement;
    await act(() => typeInto(area, 'x'.repeat(4001)));
    expect(root.querySelector('.compose-count')?.textContent).toBe('Too long: 4001 of 4000 characters');
    expect((root.querySelector('form[data-testid="compose"] button[type="submit"]') as HTMLButtonElement).disabled).toBe(true);
  });

  it('has no WCAG 2 A/AA violation that axe finds without layout', async () => {
    await act(() => render(h(ConversationScreen, { id: 'c1' }), root));
    await settle();
    (root.querySelector('button[aria-label^="Actions for message"]') as HTMLButtonElement).click();
    await settle();
    expect(await axeViolations(root)).toEqual([]);
  });
});

describe('attachments', () => {
  it('shows a preview only for what the server sized as a picture: an SVG (image/svg+xml, no width) is a download', async () => {
    const photo = { id: 'a_jpg', name: 'cat.jpg', content_type: 'image/jpeg', size: 2048, width: 640, height: 480 };
    const svg = { id: 'a_svg', name: 'evil.svg', content_type: 'image/svg+xml', size: 120 };
    const html = { id: 'a_html', name: 'evil.html', content_type: 'text/html', size: 60 };
    await act(() => render(h('div', null, [photo, svg, html].map((a) => h(AttachmentView, { key: a.id, a }))), root));
    const links = [...root.querySelectorAll<HTMLAnchorElement>('[data-testid="attachment"]')];
    expect(links.map((l) => l.getAttribute('href'))).toEqual(['/api/v1/attachments/a_jpg', '/api/v1/attachments/a_svg', '/api/v1/attachments/a_html']);
    const imgs = [...root.querySelectorAll('img')];
    expect(imgs.map((i) => i.getAttribute('src'))).toEqual(['/api/v1/attachments/a_jpg?size=256']);
    expect(imgs[0].getAttribute('width')).toBe('640');
    expect(links[0].hasAttribute('download')).toBe(false);
    for (const l of links.slice(1)) {
      expect(l.getAttribute('download')).toBe(l.textContent?.match(/evil\.\w+/)?.[0]);
      expect(l.getAttribute('target')).toBeNull();
      expect(l.querySelector('img')).toBeNull();
    }
  });
});

describe('chat list and tab bar', () => {
  it('lists conversations with the last message and unread count, and badges the Chats tab', async () => {
    app.set((s) => ({
      chat: applyMessagesPage(
        applyConversationList(s.chat, [{ ...conv, version: 2, unread_count: 3, last_message: msg('m9', 9, ann.id, HOSTILE) }]),
        'c1',
        [],
        null,
        false,
      ),
    }));
    await act(() => render(h('div', null, h(ChatList, { focusHeading: false }), h(TabBar, { route: { name: 'chats' } })), root));
    const row = root.querySelector('[data-testid="conversation-row"]') as HTMLElement;
    expect(row.textContent).toContain('Launch team');
    expect(row.querySelector('.chat-preview')?.textContent).toBe(HOSTILE);
    expect(row.querySelector('[data-testid="unread-count"]')?.textContent).toBe('3 unread');
    const tab = root.querySelector('[data-testid="tab-chats"]') as HTMLElement;
    expect(tab.getAttribute('aria-current')).toBe('page');
    expect(tab.textContent?.replace(/\s+/g, ' ')).toContain('Chats, 3 unread');
    expect(root.querySelector('[data-testid="chats-badge"]')?.textContent).toBe('3');
    expect(await axeViolations(root)).toEqual([]);
  });

  it('offers the new-group form, which needs a name and two members, and opens the new group', async () => {
    await act(() => render(h(NewGroup, null), root));
    const submit = root.querySelector('button[type="submit"]') as HTMLButtonElement;
    expect(submit.disabled).toBe(true);
    expect([...root.querySelectorAll('[data-testid="member-option"]')].map((e) => e.textContent)).toEqual(['Ann Lee', 'Bob Stone']);
    expect(await axeViolations(root)).toEqual([]);
    const name = root.querySelector('#group-name') as HTMLInputElement;
    name.value = 'Offsite';
    await act(() => {
      name.dispatchEvent(new Event('input', { bubbles: true }));
    });
    for (const box of root.querySelectorAll<HTMLInputElement>('[data-testid="member-option"] input')) await act(() => box.click());
    expect(submit.disabled).toBe(false);
    await act(() => {
      (root.querySelector('form') as HTMLFormElement).dispatchEvent(new Event('submit', { cancelable: true }));
    });
    await settle();
    expect(sent.find((s) => s.method === 'POST' && s.url === '/api/v1/conversations')?.body).toEqual({ member_ids: [ann.id, bob.id], name: 'Offsite' });
    expect(location.pathname).toBe('/chats/g_new');
    expect(app.get().chat.conversations.g_new.kind).toBe('group');
  });

  it('starts the 1:1 chat from a contact card', async () => {
    await act(() => render(h(ContactPage, { id: ann.id }), root));
    const button = root.querySelector('[data-testid="message-contact"]') as HTMLButtonElement;
    expect(button.textContent).toBe('Message Ann Lee');
    await act(() => button.click());
    await settle();
    expect(sent.find((s) => s.method === 'POST' && s.url === '/api/v1/conversations')?.body).toEqual({ member_ids: [ann.id] });
    expect(location.pathname).toBe('/chats/d_ann');
  });

  it('a contact card calls the colleague’s extension', async () => {
    await act(() => render(h(ContactPage, { id: ann.id }), root));
    const link = root.querySelector('[data-testid="call-contact"]') as HTMLAnchorElement;
    expect(link.textContent).toBe('Call Ann Lee');
    expect(link.getAttribute('href')).toBe(`/call?to=${ann.extension}`);
  });
});
