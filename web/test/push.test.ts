// @vitest-environment happy-dom
// The app's Web Push logic (src/push.ts and its use in src/state/app.ts) against fakes of the
// browser's APIs only: Notification, the service worker container and its PushManager,
// fetch and WebSocket. The code under test is the app's own.
import { h, render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PushOffer } from '../src/ui/PushOffer';
import { app, boot, endSession } from '../src/state/app';
import { base64UrlBytes, disablePush, dropPushSubscription, enablePush, navigationTarget, syncPush } from '../src/push';
import type { Me } from '../src/types';

// A P-256 point's worth of bytes, as the server's GET /push/key gives it (base64url, no padding).
const KEY_BYTES = Uint8Array.from({ length: 65 }, (_, i) => (i === 0 ? 4 : (i * 37) % 256));
const SERVER_KEY = btoa(String.fromCharCode(...KEY_BYTES)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const ENDPOINT = 'https://push.example.net/send/abc';

class FakeSubscription {
  readonly options: { applicationServerKey: ArrayBuffer; userVisibleOnly: boolean };
  constructor(
    private readonly pm: FakePushManager,
    readonly endpoint: string,
    key: Uint8Array,
  ) {
    this.options = { applicationServerKey: key.slice().buffer, userVisibleOnly: true };
  }
  toJSON() {
    return { endpoint: this.endpoint, expirationTime: null, keys: { p256dh: 'BNcR-p256dh', auth: 'auth-secret' } };
  }
  async unsubscribe() {
    if (this.pm.current === this) this.pm.current = null;
    this.pm.unsubscribed++;
    return true;
  }
}

class FakePushManager {
  current: FakeSubscription | null = null;
  subscribed: { userVisibleOnly?: boolean; applicationServerKey?: Uint8Array }[] = [];
  unsubscribed = 0;
  fail: Error | null = null;
  async getSubscription() {
    return this.current;
  }
  async subscribe(opts: { userVisibleOnly?: boolean; applicationServerKey?: Uint8Array }) {
    if (this.fail) throw this.fail;
    this.subscribed.push(opts);
    this.current = new FakeSubscription(this, `${ENDPOINT}/${this.subscribed.length}`, opts.applicationServerKey!);
    return this.current;
  }
}

interface Call {
  method: string;
  path: string;
  body: unknown;
}

let pm: FakePushManager;
let permission: NotificationPermission;
let answerPermission: NotificationPermission;
let requested: number;
let calls: Call[];

function me(): Me {
  return {
    id: 'u01',
    name: 'Ann Lee',
    email: 'ann@demo.test',
    role: 'admin',
    org: { id: 'o1', name: 'Demo Co' },
    extension: '101',
    phone_number: null,
    photo_url: null,
    presence: {
      status: 'available',
      status_until: null,
      message: null,
      message_expires_at: null,
      shown: 'available',
      activity: null,
      version: 1,
    },
  } as Me;
}

function json(status: number, body?: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/** Stands in for the browser: a service worker that is ready, with a push manager. */
function installBrowser({ serviceWorker = true } = {}) {
  pm = new FakePushManager();
  permission = 'default';
  answerPermission = 'granted';
  requested = 0;
  calls = [];
  vi.stubGlobal('Notification', {
    get permission() {
      return permission;
    },
    requestPermission: async () => {
      requested++;
      permission = answerPermission;
      return permission;
    },
  });
  vi.stubGlobal('PushManager', FakePushManager);
  vi.stubGlobal('navigator', {
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/150.0',
    onLine: true,
    serviceWorker: serviceWorker ? { ready: Promise.resolve({ pushManager: pm }) } : undefined,
  });
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit) => {
      const path = new URL(url, 'http://vo.test').pathname;
      const method = init.method ?? 'GET';
      calls.push({ method, path, body: init.body ? JSON.parse(init.body as string) : undefined });
      if (method === 'GET' && path === '/api/v1/push/key') return json(200, { public_key: SERVER_KEY });
      if (path === '/api/v1/push/subscription') return json(204);
      if (method === 'GET' && path === '/api/v1/me') return json(200, me());
      if (method === 'GET' && path === '/api/v1/directory') return json(200, { items: [] });
      return json(404, { error: { code: 'not_found', message: 'no such thing' } });
    }),
  );
}

function pushCalls(): Call[] {
  return calls.filter((c) => c.path.startsWith('/api/v1/push/'));
}

beforeEach(() => {
  localStorage.clear();
  installBrowser();
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('turning notifications on', () => {
  it('asks permission, subscribes with the server key and stores endpoint and keys on the server', async () => {
    expect(await enablePush()).toBe('on');
    expect(requested).toBe(1);
    expect(pm.subscribed).toHaveLength(1);
    expect(pm.subscribed[0].userVisibleOnly).toBe(true);
    expect([...pm.subscribed[0].applicationServerKey!]).toEqual([...KEY_BYTES]);
    expect(pushCalls()).toEqual([
      { method: 'GET', path: '/api/v1/push/key', body: undefined },
      // Only the fields of SPEC §9: expirationTime from toJSON() is not sent.
      { method: 'PUT', path: '/api/v1/push/subscription', body: { endpoint: `${ENDPOINT}/1`, keys: { p256dh: 'BNcR-p256dh', auth: 'auth-secret' } } },
    ]);
  });

  it('stops when permission is refused or the prompt dismissed, without subscribing', async () => {
    answerPermission = 'denied';
    expect(await enablePush()).toBe('blocked');
    answerPermission = 'default';
    permission = 'default';
    expect(await enablePush()).toBe('off');
    expect(pm.subscribed).toHaveLength(0);
    expect(pushCalls()).toEqual([]);
  });

  it('says unsupported where the browser has no Notification or no service worker', async () => {
    vi.stubGlobal('Notification', undefined);
    expect(await enablePush()).toBe('unsupported');
    expect(await syncPush()).toBe('unsupported');
    installBrowser({ serviceWorker: false });
    permission = 'granted';
    expect(await syncPush()).toBe('unsupported');
    expect(pushCalls()).toEqual([]);
  });

  it('fails when the push service refuses, so the control can say so', async () => {
    pm.fail = new DOMException('Registration failed - push service not available', 'AbortError');
    await expect(enablePush()).rejects.toThrow('push service');
    expect(pushCalls().filter((c) => c.method === 'PUT')).toEqual([]);
  });
});

describe('keeping the server in sync', () => {
  it('never asks for permission by itself', async () => {
    expect(await syncPush()).toBe('off');
    expect(requested).toBe(0);
    expect(pm.subscribed).toHaveLength(0);
    expect(pushCalls()).toEqual([]);
  });

  it('sends an existing subscription again, without making a new one', async () => {
    permission = 'granted';
    pm.current = new FakeSubscription(pm, `${ENDPOINT}/kept`, KEY_BYTES);
    expect(await syncPush()).toBe('on');
    expect(pm.subscribed).toHaveLength(0);
    expect(pushCalls().filter((c) => c.method === 'PUT')).toEqual([
      { method: 'PUT', path: '/api/v1/push/subscription', body: { endpoint: `${ENDPOINT}/kept`, keys: { p256dh: 'BNcR-p256dh', auth: 'auth-secret' } } },
    ]);
  });

  it('replaces a subscription made for another server key', async () => {
    permission = 'granted';
    pm.current = new FakeSubscription(pm, `${ENDPOINT}/old`, new Uint8Array(65).fill(9));
    expect(await syncPush()).toBe('on');
    expect(pm.unsubscribed).toBe(1);
    expect(pm.subscribed).toHaveLength(1);
    expect(pushCalls().find((c) => c.method === 'PUT')?.body).toMatchObject({ endpoint: `${ENDPOINT}/1` });
  });

  it('says blocked when the user blocked notifications for the site', async () => {
    permission = 'denied';
    expect(await syncPush()).toBe('blocked');
    expect(pushCalls()).toEqual([]);
  });

  it('keeps them off once turned off in the app, until turned on again', async () => {
    expect(await enablePush()).toBe('on');
    calls = [];
    expect(await disablePush()).toBe('off');
    expect(pushCalls()).toEqual([{ method: 'DELETE', path: '/api/v1/push/subscription', body: undefined }]);
    expect(pm.current).toBeNull();
    calls = [];
    expect(await syncPush()).toBe('off');
    expect(pm.subscribed).toHaveLength(1);
    expect(pushCalls()).toEqual([]);
    expect(await enablePush()).toBe('on');
    expect(await syncPush()).toBe('on');
  });

  it('drops the local subscription at the end of a session without calling the server', async () => {
    await enablePush();
    calls = [];
    await dropPushSubscription();
    expect(pm.current).toBeNull();
    expect(calls).toEqual([]);
  });
});

class QuietSocket {
  readyState = 0;
  onopen: (() => void) | null = null;
  onmessage: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onclose: (() => void) | null = null;
  send() {}
  close() {}
}

describe('the app', () => {
  beforeEach(() => vi.stubGlobal('WebSocket', QuietSocket));
  afterEach(() => endSession(null));

  it('re-sends the subscription when a session starts, and drops it locally when the session ends', async () => {
    permission = 'granted';
    pm.current = new FakeSubscription(pm, `${ENDPOINT}/kept`, KEY_BYTES);
    await boot();
    await vi.waitFor(() => expect(app.get().push).toBe('on'));
    expect(pushCalls().filter((c) => c.method === 'PUT').map((c) => (c.body as { endpoint: string }).endpoint)).toEqual([`${ENDPOINT}/kept`]);
    expect(requested).toBe(0);

    calls = [];
    endSession(null);
    await vi.waitFor(() => expect(pm.current).toBeNull());
    // The server deletes its copy when the session ends; the app sends nothing for it.
    expect(pushCalls()).toEqual([]);
    expect(app.get().push).toBeNull();
  });

  it('shows the control as off, without asking, when permission was never given', async () => {
    await boot();
    await vi.waitFor(() => expect(app.get().push).toBe('off'));
    expect(requested).toBe(0);
    expect(pushCalls()).toEqual([]);
  });
});

describe('the offer after login', () => {
  afterEach(() => app.set({ push: null }));

  function mount() {
    const root = document.createElement('div');
    document.body.append(root);
    act(() => render(h(PushOffer, null), root));
    return root;
  }
  const button = (root: HTMLElement, name: string) => [...root.querySelectorAll('button')].find((b) => b.textContent === name)!;

  it('asks for permission only when "Turn on notifications" is clicked, then subscribes and goes', async () => {
    app.set({ push: 'off' });
    const root = mount();
    expect(root.querySelector('[data-testid="push-offer"]')).not.toBeNull();
    expect(requested).toBe(0);
    await act(async () => button(root, 'Turn on notifications').click());
    await vi.waitFor(() => expect(app.get().push).toBe('on'));
    expect(requested).toBe(1);
    expect(pushCalls().map((c) => c.method)).toEqual(['GET', 'PUT']);
    await act(async () => undefined);
    expect(root.querySelector('[data-testid="push-offer"]')).toBeNull();
    render(null, root);
  });

  it('goes for good on "Not now", and is not shown when the browser would not ask', async () => {
    app.set({ push: 'off' });
    let root = mount();
    act(() => button(root, 'Not now').click());
    expect(root.querySelector('[data-testid="push-offer"]')).toBeNull();
    render(null, root);
    root = mount();
    expect(root.innerHTML).toBe('');
    render(null, root);
    expect(requested).toBe(0);

    localStorage.clear();
    permission = 'denied';
    root = mount();
    expect(root.innerHTML).toBe('');
    render(null, root);
  });
});

describe('base64url', () => {
  it('decodes with or without padding and refuses other text', () => {
    expect([...base64UrlBytes(SERVER_KEY)]).toEqual([...KEY_BYTES]);
    expect([...base64UrlBytes('-_8')]).toEqual([0xfb, 0xff]);
    expect([...base64UrlBytes('-_8=')]).toEqual([0xfb, 0xff]);
    expect(() => base64UrlBytes('a+b/')).toThrow();
  });
});

describe('what a tapped notification may open', () => {
  it('accepts paths of this app only', () => {
    expect(navigationTarget({ type: 'vo:navigate', url: '/chats/c1?m=2#last' })).toBe('/chats/c1?m=2#last');
    for (const url of ['//evil.example/x', '/\\evil.example', 'https://evil.example/', 'javascript:alert(1)', 'chats/c1', 42]) {
      expect(navigationTarget({ type: 'vo:navigate', url })).toBeNull();
    }
    expect(navigationTarget({ type: 'other', url: '/chats/c1' })).toBeNull();
    expect(navigationTarget(null)).toBeNull();
    expect(navigationTarget('/chats/c1')).toBeNull();
  });
});
