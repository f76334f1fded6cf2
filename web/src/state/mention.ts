// @-completion of a conversation's members in the compose box. The server stores `@Name` of a
// member, as the app completes it, as a mention (SPEC §8): so completion writes the full name.

import type { Contact } from '../types';

export interface MentionQuery {
  /** Where the `@` is in the text. */
  start: number;
  /** What was typed after it, up to the caret. */
  query: string;
}

/**
 * The mention being typed at `caret`, if any: an `@` at the start or after a space, and no
 * line break between it and the caret. A query may hold a space ("@Ann L"), as names do.
 */
export function mentionAt(text: string, caret: number): MentionQuery | null {
  const before = text.slice(0, caret);
  const at = before.lastIndexOf('@');
  if (at < 0) return null;
  if (at > 0 && !/\s/.test(before[at - 1])) return null;
  const query = before.slice(at + 1);
  if (/[\n\t]/.test(query) || query.length > 40 || /\s\s/.test(query) || query.startsWith(' ')) return null;
  return { start: at, query };
}

function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** Members (not the user) whose name has a word starting with the query, at most `max`. */
export function mentionCandidates(members: Contact[], query: string, meId: string, max = 6): Contact[] {
  const q = fold(query.trim());
  return members
    .filter((m) => m.id !== meId)
    .filter((m) => q === '' || fold(m.name).startsWith(q) || fold(m.name).split(/\s+/).some((w) => w.startsWith(q)))
    .sort((a, b) => a.name.localeCompare(b.name))
    .slice(0, max);
}

/** The text with the mention being typed replaced by `@Full Name ` and where the caret goes. */
export function insertMention(text: string, m: MentionQuery, caret: number, name: string): { text: string; caret: number } {
  const inserted = `@${name} `;
  const after = text.slice(caret).replace(/^ /, '');
  return { text: text.slice(0, m.start) + inserted + after, caret: m.start + inserted.length };
}
