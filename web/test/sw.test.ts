// The service worker's push and notificationclick handlers (sw/sw.js, as the build emits it
// apart from its precache list), run against fakes of the service worker's global scope.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SOURCE = readFileSync(resolve(import.meta.dirname, '../sw/sw.js'), 'utf8');
const ORIGIN = 'https://vo.example.com';

interface FakeClient {
  url: string;
  focused: number;
  messages: unknown[];
  focus(): Promise<FakeClient>;
  postMessage(m: unknown): void;
}

function windowClient(url: string, { focusFails = false } = {}): FakeClient {
  const c: FakeClient = {
    url,
    focused: 0,
    messages: [],
    async focus() {
      if (focusFails) throw new DOMException('Not allowed to focus a window.', 'InvalidAccessError');
      c.focused++;
      return c;
    },
    postMessage(m) {
      c.messages.push(m);
    },
  };
  return c;
}

/** Loads the worker into a fake global scope and returns what it did. */
function loadWorker(windows: FakeClient[] = []) {
  const handlers = new Map<string, (e: unknown) => void>();
  const shown: { title: string; options: Record<string, unknown> }[] = [];
  const opened: string[] = [];
  const self = {
    __VO_CACHE__: 'vo-shell-test',
    __VO_PRECACHE__: ['/'],
    location: new URL(`${ORIGIN}/sw.js`),
    addEventListener: (type: string, fn: (e: unknown) => void) => handlers.set(type, fn),
    registration: {
      showNotification: async (title: string, options: Record<string, unknown>) => {
        shown.push({ title, options });
      },
    },
    clients: {
      matchAll: async (opts: { type?: string; includeUncontrolled?: boolean }) => {
        expect(opts).toEqual({ type: 'window', includeUncontrolled: true });
        return windows;
      },
      openWindow: async (url: string) => {
        opened.push(url);
        return null;
      },
    },
  };
  new Function('self', SOURCE)(self);

  async function push(data: { json(): unknown } | null) {
    const waits: Promise<unknown>[] = [];
    handlers.get('push')!({ data, waitUntil: (p: Promise<unknown>) => waits.push(p) });
    await Promise.all(waits);
    return waits.length;
  }
  function pushJson(payload: unknown) {
    return push({ json: () => JSON.parse(JSON.stringify(payload)) });
  }
  async function click(data: unknown, { trusted = true } = {}) {
    let closed = false;
    const waits: Promise<unknown>[] = [];
    let untrustedWork: Promise<unknown> | null = null;
    handlers.get('notificationclick')!({
      notification: { data, close: () => (closed = true) },
      waitUntil: (p: Promise<unknown>) => {
        if (!trusted) {
          untrustedWork = p;
          throw new DOMException('The event handler is already finished.', 'InvalidStateError');
        }
        waits.push(p);
      },
    });
    await Promise.all(waits);
    if (untrustedWork) await untrustedWork;
    return closed;
  }
  return { shown, opened, push, pushJson, click };
}

const PAYLOAD = { type: 'message', title: 'Ben Ortiz', body: 'Lunch?', url: '/chats/c7', tag: 'chat:c7' };

describe('a push', () => {
  it('shows the notification the payload describes', async () => {
    const w = loadWorker();
    expect(await w.pushJson(PAYLOAD)).toBe(1);
    expect(w.shown).toHaveLength(1);
    expect(w.shown[0].title).toBe('Ben Ortiz');
    expect(w.shown[0].options).toMatchObject({ body: 'Lunch?', tag: 'chat:c7', data: { url: '/chats/c7' } });
  });

  it('ignores payloads that are not ours, without throwing', async () => {
    const w = loadWorker();
    const bad = [
      null,
      {
        json: () => {
          throw new SyntaxError('Unexpected token');
        },
      },
      { json: () => null },
      { json: () => 'Ben Ortiz' },
      { json: () => ({ body: 'no title' }) },
      { json: () => ({ title: { toString: () => 'x' } }) },
      { json: () => ({ title: '' }) },
    ];
    for (const data of bad) expect(await w.push(data)).toBe(0);
    expect(w.shown).toEqual([]);
  });

  it('keeps only paths of this origin as the page to open, and cuts long text', async () => {
    const w = loadWorker();
    const urls: [unknown, string][] = [
      ['https://evil.example/phish', '/'],
      ['//evil.example/phish', '/'],
      ['javascript:alert(1)', '/'],
      ['data:text/html,hi', '/'],
      [`${ORIGIN}/chats/c7?m=1#end`, '/chats/c7?m=1#end'],
      [undefined, '/'],
      [42, '/'],
    ];
    for (const [url] of urls) await w.pushJson({ ...PAYLOAD, url });
    expect(w.shown.map((s) => (s.options.data as { url: string }).url)).toEqual(urls.map(([, want]) => want));
    await w.pushJson({ title: 'x'.repeat(5000), body: 'y'.repeat(5000) });
    const last = w.shown[w.shown.length - 1];
    expect(last.title.length).toBeLessThanOrEqual(200);
    expect((last.options.body as string).length).toBeLessThanOrEqual(1000);
    expect(last.options.tag).toBeUndefined();
  });
});

describe('tapping a notification', () => {
  it('focuses the open app and has it show the page', async () => {
    const open = windowClient(`${ORIGIN}/people/u02`);
    const w = loadWorker([open]);
    expect(await w.click({ url: '/chats/c7' })).toBe(true);
    expect(open.focused).toBe(1);
    expect(open.messages).toEqual([{ type: 'vo:navigate', url: '/chats/c7' }]);
    expect(w.opened).toEqual([]);
  });

  it('opens a new window when the app is not open', async () => {
    const w = loadWorker([]);
    await w.click({ url: '/chats/c7' });
    expect(w.opened).toEqual(['/chats/c7']);
  });

  it('never opens another origin, whatever the notification holds', async () => {
    const w = loadWorker([]);
    await w.click({ url: 'https://evil.example/phish' });
    await w.click({ url: '//evil.example/phish' });
    await w.click(null);
    expect(w.opened).toEqual(['/', '/', '/']);
  });

  it('still shows the page when focusing is refused and the event cannot be extended', async () => {
    const open = windowClient(`${ORIGIN}/`, { focusFails: true });
    const w = loadWorker([open]);
    await w.click({ url: '/chats/c7' }, { trusted: false });
    expect(open.messages).toEqual([{ type: 'vo:navigate', url: '/chats/c7' }]);
  });
});
