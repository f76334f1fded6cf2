import { describe, expect, it } from 'vitest';
import { insertMention, mentionAt, mentionCandidates } from '../src/state/mention';
import type { Contact } from '../src/types';

function person(id: string, name: string): Contact {
  return { id, name, email: `${id}@demo.test`, extension: '1', phone_number: null, photo_url: null, presence: { shown: 'available', activity: null, message: null, version: 1 } };
}

const members = [person('me', 'Ann Lee'), person('a', 'Ángela Ruiz'), person('b', 'Bob Stone'), person('c', 'Lee Park')];

describe('@-completion', () => {
  it('finds the mention being typed, and not an email address or an earlier line', () => {
    expect(mentionAt('hi @An', 6)).toEqual({ start: 3, query: 'An' });
    expect(mentionAt('@', 1)).toEqual({ start: 0, query: '' });
    expect(mentionAt('mail ann@demo', 13)).toBeNull();
    expect(mentionAt('@Ann\nhello', 10)).toBeNull();
    expect(mentionAt('no mention', 10)).toBeNull();
  });

  it('offers other members whose name or a word of it starts with the query, accents folded', () => {
    expect(mentionCandidates(members, 'an', 'me').map((m) => m.id)).toEqual(['a']);
    expect(mentionCandidates(members, 'lee', 'me').map((m) => m.id)).toEqual(['c']);
    expect(mentionCandidates(members, '', 'me')).toHaveLength(3);
  });

  it('writes the full name and puts the caret after it', () => {
    const text = 'hi @bo and more';
    const q = mentionAt(text, 6);
    expect(q).not.toBeNull();
    const out = insertMention(text, q!, 6, 'Bob Stone');
    expect(out.text).toBe('hi @Bob Stone and more');
    expect(out.caret).toBe('hi @Bob Stone '.length);
  });
});
