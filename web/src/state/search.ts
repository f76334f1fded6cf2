// Local filtering of the directory, so the list narrows at every keystroke while the server
// search (SPEC §4: prefix of name, email, extension or number) is on its way.

import type { Contact } from '../types';

function digitsOf(s: string): string {
  return s.replace(/\D/g, '');
}

/** Whether `c` matches the search text `query` (case-insensitive prefixes). */
export function matchesContact(c: Contact, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (q === '') return true;
  const name = c.name.toLowerCase();
  if (name.startsWith(q) || name.split(/\s+/).some((w) => w.startsWith(q))) return true;
  if (c.email.toLowerCase().startsWith(q)) return true;
  if (c.extension.startsWith(q)) return true;
  const qd = digitsOf(q);
  // Only a query made of a number (digits, spaces, + - ( ) .) is looked up in phone numbers.
  if (qd !== '' && /^[\d\s+().-]+$/.test(q) && c.phone_number) {
    const pd = digitsOf(c.phone_number);
    return pd.startsWith(qd) || (qd.length >= 4 && pd.includes(qd));
  }
  return false;
}
