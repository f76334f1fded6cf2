import { describe, expect, it } from 'vitest';
import { matchesContact } from '../src/state/search';
import type { Contact } from '../src/types';

const ann: Contact = {
  id: 'u1',
  name: 'Ann Lee',
  email: 'ann@demo.test',
  extension: '101',
  phone_number: '+14155550101',
  photo_url: null,
  presence: { shown: 'available', activity: null, message: null, version: 1 },
};

describe('matchesContact', () => {
  it.each([
    ['', true],
    ['ann', true],
    ['LEE', true],
    ['ann l', true],
    ['ann@', true],
    ['10', true],
    ['101', true],
    ['+1415', true],
    ['415 555', true],
    ['5550101', true],
    ['102', false],
    ['bob', false],
    ['nn', false],
    ['1-2', false],
  ])('%j → %s', (q, expected) => {
    expect(matchesContact(ann, q)).toBe(expected);
  });
});
