import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, directoryAll, getMe, login, NetworkError, putPresence, setUnauthenticatedHandler } from '../src/api';

function answer(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
  setUnauthenticatedHandler(null);
});

describe('HTTP calls', () => {
  it('reads the error body and Retry-After of a 429', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => answer(429, { error: { code: 'rate_limited', message: 'slow down' } }, { 'Retry-After': '42' })));
    vi.stubGlobal('navigator', { userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/150.0' });
    const err = await login('liam@demo.test', 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 429, code: 'rate_limited', retryAfter: 42, message: 'slow down' });
  });

  it('sends the login fields, keeps the CSRF token and sends it on unsafe methods', async () => {
    const store = new Map<string, string>();
    vi.stubGlobal('localStorage', {
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => store.set(k, v),
      removeItem: (k: string) => store.delete(k),
    });
    vi.stubGlobal('navigator', { userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148 Safari/604.1' });
    const fetch = vi.fn(async (_url: string, init: RequestInit) =>
      init.method === 'POST' ? answer(200, { token: 't', csrf_token: 'csrf-1', session: {}, user: {} }) : answer(200, { version: 2 }),
    );
    vi.stubGlobal('fetch', fetch);
    await login('ann@demo.test', 'pw');
    const [, sent] = fetch.mock.calls[0];
    expect(JSON.parse(sent.body as string)).toEqual({
      email: 'ann@demo.test',
      password: 'pw',
      device_name: 'Safari on iPhone',
      platform: 'mobile',
    });
    expect(sent.credentials).toBe('same-origin');
    expect(store.get('vo.csrf')).toBe('csrf-1');
    expect(store.has('t')).toBe(false);
    await putPresence({ message: null });
    const [, put] = fetch.mock.calls[1];
    expect((put.headers as Record<string, string>)['X-CSRF-Token']).toBe('csrf-1');
    expect(put.body).toBe('{"message":null}');
  });

  it('reports a 401 as an ended session, except where one is expected', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => answer(401, { error: { code: 'unauthenticated', message: 'not logged in' } })));
    const ended = vi.fn();
    setUnauthenticatedHandler(ended);
    await expect(getMe(true)).rejects.toBeInstanceOf(ApiError);
    expect(ended).not.toHaveBeenCalled();
    await expect(getMe()).rejects.toMatchObject({ status: 401 });
    expect(ended).toHaveBeenCalledTimes(1);
  });

  it('gives up on a request that never answers, as unreachable', async () => {
    vi.useFakeTimers();
    vi.stubGlobal(
      'fetch',
      vi.fn(
        (_url: string, init: RequestInit) =>
          new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))),
      ),
    );
    const result = getMe(true, true).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await result).toBeInstanceOf(NetworkError);
  });

  it('follows next_cursor through the directory and stops on a repeated cursor', async () => {
    const pages: Record<string, unknown> = {
      '': { items: [{ id: 'a' }], next_cursor: 'c1' },
      c1: { items: [{ id: 'b' }], next_cursor: 'c2' },
      c2: { items: [{ id: 'c' }], next_cursor: 'c2' },
    };
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string) => answer(200, pages[new URL(url, 'http://x').searchParams.get('cursor') ?? ''])),
    );
    const items = await directoryAll();
    expect(items.map((c) => c.id)).toEqual(['a', 'b', 'c']);
  });
});
