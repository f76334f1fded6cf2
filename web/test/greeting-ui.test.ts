// @vitest-environment happy-dom
// The Greeting section of the voicemail tab against a stubbed API: it says which greeting
// callers hear, plays one's own, and goes back to the default. Recording itself needs a
// microphone: the browser test (e2e/greeting.test.mjs) records through Chromium's.
import { h, render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { app } from '../src/state/app';
import { callsStore, emptyCalls } from '../src/state/calls';
import { emptyView, setMe } from '../src/state/view';
import { CallsScreen } from '../src/ui/Calls';
import { encodeWav } from '../src/wav';
import { json, me } from './fixtures';
import type { Sent } from './fixtures';

let sent: Sent[];
let own: boolean;
let root: HTMLElement;
const initial = app.get();

beforeEach(() => {
  sent = [];
  own = true;
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit = {}) => {
      const method = init.method ?? 'GET';
      sent.push({ method, url, body: undefined });
      if (url.startsWith('/api/v1/voicemails?')) return json(200, { items: [] });
      if (url === '/api/v1/me/voicemail/greeting' && method === 'GET') {
        if (!own) return json(404, { error: { code: 'not_found', message: 'you use the default greeting' } });
        return new Response(encodeWav(new Float32Array(8000), 8000), { status: 200, headers: { 'Content-Type': 'audio/wav' } });
      }
      if (url === '/api/v1/me/voicemail/greeting' && method === 'DELETE') {
        own = false;
        return new Response(null, { status: 204 });
      }
      return json(404, { error: { code: 'not_found', message: 'no' } });
    }),
  );
  app.set({ phase: 'ready', view: setMe(emptyView(), me) });
  callsStore.set(emptyCalls());
  root = document.createElement('div');
  document.body.appendChild(root);
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

function byTestId(id: string): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];
}

describe('greeting', () => {
  it('says callers hear the default greeting, and offers to record one', async () => {
    own = false;
    await act(() => render(h(CallsScreen, { tab: 'voicemail', focusHeading: false }), root));
    await settle();
    expect(byTestId('greeting-kind')[0].textContent).toContain('default greeting');
    expect(byTestId('greeting-audio')).toHaveLength(0);
    expect(byTestId('greeting-reset')).toHaveLength(0);
    expect(byTestId('greeting-record')[0].textContent).toBe('Record a greeting');
  });

  it('plays one’s own greeting and, once confirmed, goes back to the default', async () => {
    await act(() => render(h(CallsScreen, { tab: 'voicemail', focusHeading: false }), root));
    await settle();
    expect(byTestId('greeting-kind')[0].textContent).toContain('your own greeting');
    expect(byTestId('greeting-audio')).toHaveLength(1);
    expect(byTestId('greeting-record')[0].textContent).toBe('Record a new greeting');
    vi.stubGlobal('confirm', () => false);
    await act(() => byTestId('greeting-reset')[0].click());
    expect(sent.filter((s) => s.method === 'DELETE')).toEqual([]);
    vi.stubGlobal('confirm', () => true);
    await act(() => byTestId('greeting-reset')[0].click());
    await settle();
    expect(sent.filter((s) => s.method === 'DELETE').map((s) => s.url)).toEqual(['/api/v1/me/voicemail/greeting']);
    expect(byTestId('greeting-kind')[0].textContent).toContain('default greeting');
    expect(byTestId('greeting-audio')).toHaveLength(0);
  });
});
