// @vitest-environment happy-dom
import axe from 'axe-core';
import { h, render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { app } from '../src/state/app';
import { afterCallFrame, callsStore, emptyCalls } from '../src/state/calls';
import { emptyView, setMe } from '../src/state/view';
import type { Call, Voicemail } from '../src/types';
import { calls as liveCalls } from '../src/state/call';
import { browserMedia, type CallMedia, type MediaEvent } from '../src/state/webrtc';
import { CallScreen, CallsScreen, DialPad } from '../src/ui/Calls';
import { CallOverlay } from '../src/ui/CallOverlay';
import { DeskPhoneSection, ForwardingSection } from '../src/ui/DeskPhone';
import { TabBar } from '../src/ui/TabBar';
import { me, json, HOSTILE } from './fixtures';
import type { Sent } from './fixtures';

const calls: Call[] = [
  { id: 'k2', direction: 'in', peer: { number: '+4930123456' }, started_at: '2026-01-01T10:00:00Z', answered_at: null, ended_at: '2026-01-01T10:00:20Z', result: 'missed' },
  { id: 'k1', direction: 'out', peer: { number: '101', name: HOSTILE, user_id: 'u_ann' }, started_at: '2026-01-01T09:00:00Z', answered_at: '2026-01-01T09:00:05Z', ended_at: '2026-01-01T09:03:10Z', result: 'answered' },
];

function vm(id: string, heard: boolean, name?: string): Voicemail {
  return { id, from: { number: '102', name, user_id: 'u_bob' }, created_at: '2026-01-01T08:00:00Z', duration_ms: 12_000, heard };
}

let sent: Sent[];
let voicemails: Voicemail[];
let callList: Call[];
let sipPassword: string;
let root: HTMLElement;
const initial = app.get();

beforeEach(() => {
  sent = [];
  voicemails = [vm('v1', false, 'Bob Stone'), vm('v2', true), vm('v3', false, 'Cy')];
  callList = calls;
  sipPassword = 'secret-1';
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit) => {
      const method = init.method ?? 'GET';
      const body = typeof init.body === 'string' ? JSON.parse(init.body) : undefined;
      sent.push({ method, url, body });
      if (method === 'GET' && url.startsWith('/api/v1/calls?')) return json(200, { items: callList });
      if (method === 'GET' && url.startsWith('/api/v1/voicemails?')) return json(200, { items: voicemails });
      const m = /^\/api\/v1\/voicemails\/([^/?]+)$/.exec(url);
      if (m && method === 'PATCH') {
        const v = voicemails.find((x) => x.id === m[1]);
        return v ? json(200, { ...v, heard: (body as { heard: boolean }).heard }) : json(404, { error: { code: 'not_found', message: 'No such voicemail.' } });
      }
      if (m && method === 'DELETE') return json(204, undefined);
      if (url === '/api/v1/me/sip' && method === 'GET') return json(200, { username: '100', password: sipPassword, domain: 'demo.vo.test', registrar: 'vo.test:5060' });
      if (url === '/api/v1/me/sip/password' && method === 'POST') {
        sipPassword = 'secret-2';
        return json(200, { username: '100', password: sipPassword, domain: 'demo.vo.test', registrar: 'vo.test:5060' });
      }
      if (url === '/api/v1/me/forwarding' && method === 'GET') return json(200, { mode: 'off' });
      if (url === '/api/v1/me/forwarding' && method === 'PUT') {
        const b = body as { mode: string; target?: string };
        if (b.target === '999') return json(400, { error: { code: 'invalid', message: 'No one has extension 999.' } });
        return json(200, b);
      }
      return json(404, { error: { code: 'not_found', message: 'no' } });
    }),
  );
  app.set({ phase: 'ready', view: setMe(emptyView(), me) });
  callsStore.set(emptyCalls());
  root = document.createElement('div');
  document.body.appendChild(root);
  history.replaceState(null, '', '/calls');
});

afterEach(() => {
  render(null, root);
  root.remove();
  app.set(initial);
  callsStore.set(emptyCalls());
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await act(async () => await new Promise((r) => setTimeout(r, 0)));
}

async function axeViolations(node: Element): Promise<string[]> {
  const r = await axe.run(node, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, rules: { 'color-contrast': { enabled: false } } });
  return r.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.html).join(' | ')}`);
}

function byTestId(id: string): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];
}

describe('recent calls', () => {
  it('lists calls newest first with the peer as text, missed in red, and a call-back link', async () => {
    await act(() => render(h(CallsScreen, { tab: 'recent', focusHeading: false }), root));
    await settle();
    const rows = byTestId('call-row');
    expect(rows).toHaveLength(2);
    expect(rows[0].querySelector('.call-peer')?.textContent).toBe('+4930123456');
    expect(rows[0].classList.contains('missed')).toBe(true);
    expect(rows[0].textContent).toContain('Missed');
    expect(rows[1].querySelector('.call-peer')?.textContent).toBe(HOSTILE);
    expect(root.querySelector('.call-row img')).toBeNull();
    expect(rows[1].classList.contains('missed')).toBe(false);
    expect(rows[1].textContent).toContain('3:05');
    expect(rows[0].getAttribute('href')).toBe('/call?to=%2B4930123456');
    await act(() => rows[1].click());
    expect(location.pathname + location.search).toBe('/call?to=101');
    expect(await axeViolations(root)).toEqual([]);
  });

  it('does not fetch the history on a call frame before the Calls tab was opened', async () => {
    afterCallFrame({ type: 'call' });
    await settle();
    expect(sent).toEqual([]);
  });

  it('reloads the history on a call frame', async () => {
    await act(() => render(h(CallsScreen, { tab: 'recent', focusHeading: false }), root));
    await settle();
    callList = [{ ...calls[0], id: 'k3' }, ...calls];
    await act(() => afterCallFrame({ type: 'call' }));
    await settle();
    expect(byTestId('call-row')).toHaveLength(3);
  });
});

describe('voicemail', () => {
  it('lists voicemails with unheard dots, counts them in the tab badge, and has no axe violation', async () => {
    await act(() =>
      render(
        h('div', null, h(CallsScreen, { tab: 'voicemail', focusHeading: false }), h(TabBar, { route: { name: 'calls', tab: 'voicemail' } })),
        root,
      ),
    );
    await settle();
    expect(byTestId('voicemail-row')).toHaveLength(3);
    expect(byTestId('unheard-dot')).toHaveLength(2);
    expect(byTestId('calls-badge')[0].textContent).toBe('2');
    expect(byTestId('tab-calls')[0].textContent).toContain('2 new voicemails');
    expect(byTestId('voicemail-audio')[0].getAttribute('src')).toBe('/api/v1/voicemails/v1/audio');
    expect(await axeViolations(root)).toEqual([]);
  });

  it('marks a voicemail heard when it is played, and the badge drops', async () => {
    await act(() => render(h('div', null, h(CallsScreen, { tab: 'voicemail', focusHeading: false }), h(TabBar, { route: { name: 'calls', tab: 'voicemail' } })), root));
    await settle();
    await act(() => {
      byTestId('voicemail-audio')[0].dispatchEvent(new Event('play'));
    });
    await settle();
    expect(sent.filter((s) => s.method === 'PATCH')).toEqual([{ method: 'PATCH', url: '/api/v1/voicemails/v1', body: { heard: true } }]);
    expect(byTestId('voicemail-row')[0].dataset.heard).toBe('true');
    expect(byTestId('calls-badge')[0].textContent).toBe('1');
    // Playing it again sends nothing more.
    await act(() => {
      byTestId('voicemail-audio')[0].dispatchEvent(new Event('play'));
    });
    await settle();
    expect(sent.filter((s) => s.method === 'PATCH')).toHaveLength(1);
  });

  it('deletes a voicemail only after confirmation', async () => {
    await act(() => render(h(CallsScreen, { tab: 'voicemail', focusHeading: false }), root));
    await settle();
    const ask = vi.fn().mockReturnValueOnce(false).mockReturnValueOnce(true);
    vi.stubGlobal('confirm', ask);
    await act(() => byTestId('voicemail-delete')[0].click());
    await settle();
    expect(sent.some((s) => s.method === 'DELETE')).toBe(false);
    await act(() => byTestId('voicemail-delete')[0].click());
    await settle();
    expect(ask).toHaveBeenCalledTimes(2);
    expect(sent.filter((s) => s.method === 'DELETE').map((s) => s.url)).toEqual(['/api/v1/voicemails/v1']);
    expect(byTestId('voicemail-row')).toHaveLength(2);
  });

  it('reloads the list on a voicemail frame', async () => {
    await act(() => render(h(TabBar, { route: { name: 'directory' } }), root));
    voicemails = [vm('v9', false), ...voicemails];
    await act(() => afterCallFrame({ type: 'voicemail' }));
    await settle();
    expect(byTestId('calls-badge')[0].textContent).toBe('3');
  });
});

describe('dial pad', () => {
  it('dials with the keys, refuses what cannot be called, and opens the call route', async () => {
    await act(() => render(h(DialPad, {}), root));
    const input = byTestId('dial-input')[0] as HTMLInputElement;
    await act(() => byTestId('key-1')[0].click());
    await act(() => byTestId('dial-call')[0].click());
    expect(byTestId('dial-error')[0].textContent).toBe('An extension has at least 2 digits.');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(location.pathname).toBe('/calls');
    expect(await axeViolations(root)).toEqual([]);
    await act(() => byTestId('key-0')[0].click());
    await act(() => byTestId('key-5')[0].click());
    await act(() => byTestId('key-back')[0].click());
    expect(input.value).toBe('10');
    expect(byTestId('dial-error')).toHaveLength(0);
    await act(() => byTestId('dial-call')[0].click());
    expect(location.pathname + location.search).toBe('/call?to=10');
  });

  it('accepts *97, which opens the voicemail, and keeps only dialable characters typed', async () => {
    await act(() => render(h(DialPad, {}), root));
    const input = byTestId('dial-input')[0] as HTMLInputElement;
    input.value = '*9a7';
    await act(() => {
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    expect(input.value).toBe('*97');
    await act(() => byTestId('dial-call')[0].click());
    // The app's voicemail is its own list: *97 opens it rather than calling.
    expect(location.pathname + location.search).toBe('/calls/voicemail');
  });

  it('opened directly (a reload, "back"), the call route asks before calling and dials nothing', async () => {
    await act(() => render(h(CallScreen, { to: '101' }), root));
    expect(byTestId('call-start')[0].textContent).toBe('Call 101');
    await settle();
    expect(sent).toEqual([]);
    expect(await axeViolations(root)).toEqual([]);
  });
});

class FakeMedia implements CallMedia {
  remote: MediaStream | null = null;
  onChange: ((event: MediaEvent) => void) | null = null;
  muted = false;
  closed = false;
  async offer(): Promise<string> {
    return 'v=0 fake-offer';
  }
  async accept(): Promise<void> {}
  setMuted(m: boolean): void {
    this.muted = m;
  }
  close(): void {
    this.closed = true;
  }
}

describe('calling screens', () => {
  let media: FakeMedia[];
  beforeEach(() => {
    media = [];
    liveCalls.setMedia(async () => {
      const m = new FakeMedia();
      media.push(m);
      return m;
    });
    const base = fetch as unknown as (url: string, init: RequestInit) => Promise<Response>;
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string, init: RequestInit) => {
        const method = init.method ?? 'GET';
        if (method === 'POST' && url === '/api/v1/calls') {
          const body = JSON.parse(init.body as string) as { to: string };
          sent.push({ method, url, body });
          return json(201, { call: { id: 'out1', direction: 'out', peer: { user_id: 'u_ben', number: body.to, name: 'Ben Ortiz' }, started_at: '2026-01-01T10:00:00Z', answered_at: null, ended_at: null, result: null }, sdp: 'v=0 answer' });
        }
        if (method === 'POST' && /^\/api\/v1\/calls\/[^/]+\/(answer|decline|hangup)$/.test(url)) {
          sent.push({ method, url, body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined });
          return url.endsWith('/answer') ? json(200, { sdp: 'v=0 answer' }) : json(204, undefined);
        }
        return base(url, init);
      }),
    );
  });
  afterEach(() => {
    liveCalls.reset();
    liveCalls.setMedia(browserMedia);
  });

  const ringing: Call = { id: 'in1', direction: 'in', peer: { user_id: 'u_ann', number: '101', name: 'Ann Lee' }, started_at: '2026-01-01T10:00:00Z', answered_at: null, ended_at: null, result: null };

  it('the dial pad places the call, the calling screen shows it, mutes and hangs up', async () => {
    await act(() => render(h('div', null, h(DialPad, {}), h(CallOverlay, {})), root));
    const input = byTestId('dial-input')[0] as HTMLInputElement;
    input.value = '102';
    await act(() => {
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await act(() => byTestId('dial-call')[0].click());
    expect(location.pathname + location.search).toBe('/call?to=102');
    // The route the app shows for it places the call.
    await act(() => render(h('div', null, h(CallScreen, { to: '102' }), h(CallOverlay, {})), root));
    await settle();
    expect(sent.filter((r) => r.method === 'POST')).toEqual([{ method: 'POST', url: '/api/v1/calls', body: { to: '102', sdp: 'v=0 fake-offer' } }]);
    const screen = byTestId('in-call')[0];
    expect(screen.getAttribute('data-phase')).toBe('ringing');
    expect(byTestId('in-call-peer')[0].textContent).toBe('Ben Ortiz');
    expect(byTestId('call-status')[0].textContent).toBe('Ringing…');
    expect(await axeViolations(root)).toEqual([]);
    const mute = byTestId('mute-call')[0];
    await act(() => mute.click());
    expect(mute.getAttribute('aria-pressed')).toBe('true');
    expect(media[0].muted).toBe(true);
    await act(() => byTestId('hangup-call')[0].click());
    await settle();
    expect(sent.at(-1)).toMatchObject({ method: 'POST', url: '/api/v1/calls/out1/hangup' });
    expect(byTestId('in-call')).toHaveLength(0);
    expect(media[0].closed).toBe(true);
    expect(location.pathname).toBe('/calls');
  });

  it('an incoming call rings with the caller’s name, takes the focus, and is answered', async () => {
    await act(() => render(h(CallOverlay, {}), root));
    await act(() => liveCalls.onFrame({ type: 'call', cursor: 'c1', call: ringing, state: 'ringing' }));
    const dialog = byTestId('incoming-call')[0];
    expect(byTestId('incoming-name')[0].textContent).toBe('Ann Lee');
    expect(dialog.contains(document.activeElement)).toBe(true);
    expect(await axeViolations(root)).toEqual([]);
    const answer = [...dialog.querySelectorAll('button')].find((b) => b.getAttribute('aria-label') === 'Answer call from Ann Lee');
    expect(answer).toBeDefined();
    await act(() => answer?.click());
    await settle();
    expect(sent.at(-1)).toEqual({ method: 'POST', url: '/api/v1/calls/in1/answer', body: { sdp: 'v=0 fake-offer' } });
    expect(byTestId('incoming-call')).toHaveLength(0);
    expect(byTestId('in-call')[0].getAttribute('data-phase')).toBe('connected');
    expect(byTestId('call-duration')[0].textContent).toBe('0:00');
    await act(() => liveCalls.onFrame({ type: 'call', cursor: 'c2', call: { ...ringing, answered_at: '2026-01-01T10:00:02Z', ended_at: '2026-01-01T10:00:09Z', result: 'answered' }, state: 'ended' }));
    expect(byTestId('in-call')).toHaveLength(0);
    expect(app.get().toast?.text).toBe('Call with Ann Lee ended');
  });

  it('declined, or answered on another device, it stops ringing', async () => {
    await act(() => render(h(CallOverlay, {}), root));
    await act(() => liveCalls.onFrame({ type: 'call', cursor: 'c1', call: ringing, state: 'ringing' }));
    await act(() => byTestId('decline-call')[0].click());
    await settle();
    expect(sent.at(-1)).toMatchObject({ method: 'POST', url: '/api/v1/calls/in1/decline' });
    expect(byTestId('incoming-call')).toHaveLength(0);
    await act(() => liveCalls.onFrame({ type: 'call', cursor: 'c2', call: { ...ringing, id: 'in2' }, state: 'ringing' }));
    expect(byTestId('incoming-call')).toHaveLength(1);
    await act(() => liveCalls.onFrame({ type: 'call', cursor: 'c3', call: { ...ringing, id: 'in2', answered_at: '2026-01-01T10:00:02Z' }, state: 'answered' }));
    expect(byTestId('incoming-call')).toHaveLength(0);
    expect(media).toHaveLength(0);
  });
});

describe('desk phone and forwarding settings', () => {
  it('shows the SIP account with the password hidden until asked, and renews it after confirmation', async () => {
    await act(() => render(h(DeskPhoneSection, {}), root));
    await settle();
    expect(byTestId('sip-username')[0].textContent).toBe('100');
    expect(byTestId('sip-registrar')[0].textContent).toBe('vo.test:5060');
    expect(byTestId('sip-password')[0].textContent).not.toContain('secret');
    await act(() => byTestId('sip-show')[0].click());
    expect(byTestId('sip-password')[0].textContent).toBe('secret-1');
    expect(await axeViolations(root)).toEqual([]);
    const ask = vi.fn().mockReturnValueOnce(false).mockReturnValueOnce(true);
    vi.stubGlobal('confirm', ask);
    await act(() => byTestId('sip-renew')[0].click());
    await settle();
    expect(sent.some((s) => s.method === 'POST')).toBe(false);
    await act(() => byTestId('sip-renew')[0].click());
    await settle();
    expect(ask).toHaveBeenCalledTimes(2);
    expect(byTestId('sip-password')[0].textContent).toBe('secret-2');
  });

  it('saves forwarding and shows the API error body when refused', async () => {
    await act(() => render(h(ForwardingSection, {}), root));
    await settle();
    expect((byTestId('fwd-off')[0] as HTMLInputElement).checked).toBe(true);
    await act(() => byTestId('fwd-always')[0].click());
    await act(() => byTestId('fwd-save')[0].click());
    await settle();
    expect(byTestId('fwd-error')[0].textContent).toBe('Enter the extension calls go to.');
    expect(sent.some((s) => s.method === 'PUT')).toBe(false);
    const target = byTestId('fwd-target')[0] as HTMLInputElement;
    target.value = '999';
    await act(() => {
      target.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await act(() => byTestId('fwd-save')[0].click());
    await settle();
    expect(byTestId('fwd-error')[0].textContent).toBe('No one has extension 999.');
    expect(await axeViolations(root)).toEqual([]);
    target.value = '101';
    await act(() => {
      target.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await act(() => byTestId('fwd-unanswered')[0].click());
    await act(() => byTestId('fwd-save')[0].click());
    await settle();
    expect(byTestId('fwd-error')).toHaveLength(0);
    expect(sent.filter((s) => s.method === 'PUT').map((s) => s.body)).toEqual([{ mode: 'always', target: '999' }, { mode: 'unanswered', target: '101' }]);
  });
});
