import { describe, expect, it } from 'vitest';
import { describeDevice, eventsUrl, parseRetryAfter } from '../src/api';

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('30')).toBe(30);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter('soon')).toBeNull();
    const now = Date.parse('2026-03-11T10:00:00Z');
    expect(parseRetryAfter('Wed, 11 Mar 2026 10:00:45 GMT', now)).toBe(45);
  });
});

describe('eventsUrl', () => {
  it('uses ws or wss for the page’s host and escapes the cursor', () => {
    expect(eventsUrl(null, { protocol: 'http:', host: '127.0.0.1:8080' })).toBe('ws://127.0.0.1:8080/api/v1/events');
    expect(eventsUrl('a b/c', { protocol: 'https:', host: 'vo.example' })).toBe('wss://vo.example/api/v1/events?cursor=a%20b%2Fc');
  });
});

describe('describeDevice', () => {
  it('names the browser and system, and tells phones apart', () => {
    expect(
      describeDevice('Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36'),
    ).toEqual({ device_name: 'Chrome on Android', platform: 'mobile' });
    expect(
      describeDevice('Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1'),
    ).toEqual({ device_name: 'Safari on iPhone', platform: 'mobile' });
    expect(describeDevice('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0 Safari/537.36')).toEqual({
      device_name: 'Chrome on Linux',
      platform: 'web',
    });
    expect(describeDevice('Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0')).toEqual({
      device_name: 'Firefox on Windows',
      platform: 'web',
    });
  });
});
