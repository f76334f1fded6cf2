import { describe, expect, it } from 'vitest';
import {
  AVATAR_COLOURS,
  avatarColour,
  chatTime,
  fileSize,
  namesText,
  codePoints,
  endOfToday,
  endOfWeek,
  formatPhone,
  initials,
  photoSrc,
  presenceText,
  presetEnd,
  rfc3339,
  STATUS_OPTIONS,
  toLocalInput,
  waitText,
} from '../src/format';

function luminance(hex: string): number {
  const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
  const [r, g, b] = c.map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

describe('photoSrc', () => {
  it('adds the size to a URL with or without a query string', () => {
    expect(photoSrc('/api/v1/users/u1/photo', 64)).toBe('/api/v1/users/u1/photo?size=64');
    expect(photoSrc('/api/v1/users/u1/photo?v=abcd', 256)).toBe('/api/v1/users/u1/photo?v=abcd&size=256');
    expect(photoSrc('/api/v1/users/u1/photo?size=64&v=1', 512)).toBe('/api/v1/users/u1/photo?size=512&v=1');
  });
});

describe('initials and colours', () => {
  it('takes the first letters of the first and last names', () => {
    expect(initials('Ann Lee')).toBe('AL');
    expect(initials('  farid  al haddad ')).toBe('FH');
    expect(initials('Keiko')).toBe('K');
    expect(initials('')).toBe('?');
    expect(initials('Émile Zola')).toBe('ÉZ');
  });

  it('picks a stable colour on which white initials pass WCAG AA', () => {
    expect(avatarColour('u123')).toBe(avatarColour('u123'));
    for (const c of AVATAR_COLOURS) {
      const ratio = (1 + 0.05) / (luminance(c) + 0.05);
      expect(ratio, c).toBeGreaterThanOrEqual(4.5);
    }
  });
});

describe('presence words', () => {
  it('says what others see, with the activity', () => {
    expect(presenceText('busy', 'on_call')).toBe('Busy — On a call');
    expect(presenceText('available', null)).toBe('Available');
  });

  it('describes every status in one line, DND as specified', () => {
    expect(STATUS_OPTIONS.map((o) => o.value)).toEqual(['available', 'busy', 'dnd', 'away', 'invisible']);
    expect(STATUS_OPTIONS.find((o) => o.value === 'dnd')?.help).toBe(
      'Only messages reach you; calls go to voicemail; others see you as busy',
    );
  });
});

describe('durations and expiries', () => {
  const now = new Date(2026, 2, 11, 14, 20, 5); // Wednesday 11 March 2026, 14:20:05 local

  it('computes relative presets', () => {
    expect(presetEnd('30m', now)?.getTime()).toBe(now.getTime() + 30 * 60_000);
    expect(presetEnd('1h', now)?.getTime()).toBe(now.getTime() + 3_600_000);
    expect(presetEnd('2h', now)?.getTime()).toBe(now.getTime() + 7_200_000);
    expect(presetEnd('none', now)).toBeNull();
    expect(presetEnd('never', now)).toBeNull();
  });

  it('ends today at the next local midnight and this week before next Monday', () => {
    expect(endOfToday(now)).toEqual(new Date(2026, 2, 12, 0, 0, 0));
    expect(endOfWeek(now)).toEqual(new Date(2026, 2, 16, 0, 0, 0));
    expect(endOfWeek(new Date(2026, 2, 15, 23, 0))).toEqual(new Date(2026, 2, 16, 0, 0, 0));
    expect(endOfWeek(new Date(2026, 2, 16, 9, 0))).toEqual(new Date(2026, 2, 23, 0, 0, 0));
  });

  it('reads a custom local time and round-trips it', () => {
    const d = presetEnd('custom', now, '2026-03-12T09:30');
    expect(d).toEqual(new Date(2026, 2, 12, 9, 30));
    expect(toLocalInput(d as Date)).toBe('2026-03-12T09:30');
    expect(presetEnd('custom', now, 'garbage')).toBeNull();
  });

  it('writes RFC 3339 UTC without fractions', () => {
    expect(rfc3339(new Date(Date.UTC(2026, 2, 11, 13, 5, 9, 123)))).toBe('2026-03-11T13:05:09Z');
  });
});

describe('text helpers', () => {
  it('counts code points like the server', () => {
    expect(codePoints('👋🏽 hi')).toBe(5);
  });

  it('groups North American numbers for reading', () => {
    expect(formatPhone('+14155550101')).toBe('+1 415 555 0101');
    expect(formatPhone('+442071838750')).toBe('+442071838750');
  });
});

describe('waitText', () => {
  it('says short waits in seconds and long ones in minutes', () => {
    expect(waitText(0)).toBe('');
    expect(waitText(1)).toBe('1 second');
    expect(waitText(42)).toBe('42 seconds');
    expect(waitText(900)).toBe('15 minutes');
    expect(waitText(61 * 60)).toBe('61 minutes');
  });
});

describe('chat formatting', () => {
  it('gives the time today, the weekday this week, else the date', () => {
    const now = new Date(2026, 2, 12, 15, 0);
    expect(chatTime(new Date(2026, 2, 12, 9, 5).toISOString(), now, 'en-GB')).toMatch(/^0?9:05$/);
    expect(chatTime(new Date(2026, 2, 10, 9, 5).toISOString(), now, 'en-GB')).toBe('Tue');
    expect(chatTime(new Date(2026, 0, 2, 9, 5).toISOString(), now, 'en-GB')).toBe('2 Jan');
  });

  it('writes file sizes and lists of names for people', () => {
    expect([fileSize(820), fileSize(14_200), fileSize(3_210_000)]).toEqual(['820 B', '14 KB', '3.2 MB']);
    expect(namesText(['Ann'])).toBe('Ann');
    expect(namesText(['Ann', 'Bob'])).toBe('Ann and Bob');
    expect(namesText(['Ann', 'Bob', 'Cy', 'Di'])).toBe('Ann, Bob and 2 others');
  });
});
