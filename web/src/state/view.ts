// The client's picture of the org, and the pure rules that move it forward.
//
// Every function here takes a View and returns a new one (or the same object when nothing
// changed), so the rules of SPEC.md §2 and §5 are tested without a browser: presence is kept
// per user at its highest version, older versions are ignored, and the event stream cursor
// follows every frame that carries one.

import type { Contact, Frame, Me, OtherFrame, OwnPresence, PresenceView } from '../types';

export interface View {
  me: Me | null;
  /** Profiles of colleagues by id (their `presence` field is not read: see `presence`). */
  contacts: Record<string, Contact>;
  /** What everyone sees of each user, at the highest version received from any source. */
  presence: Record<string, PresenceView>;
  /** The cursor of the last stream frame applied: where a reconnect resumes. */
  cursor: string | null;
  /**
   * Bumped for a user at every live `contact` event, so that a directory answer that was
   * already on its way cannot undo a newer profile or photo change.
   */
  contactStamps: Record<string, number>;
}

export function emptyView(): View {
  return { me: null, contacts: {}, presence: {}, cursor: null, contactStamps: {} };
}

/** Whether `incoming` should replace `current`: only a strictly higher version does. */
export function isNewer(current: { version: number } | undefined, incoming: { version: number }): boolean {
  return current === undefined || incoming.version > current.version;
}

function pickPresence(p: PresenceView): PresenceView {
  return { shown: p.shown, activity: p.activity ?? null, message: p.message ?? null, version: p.version };
}

/** Records `p` as the presence of `userId` unless a version as new or newer is known. */
export function mergePresence(view: View, userId: string, p: PresenceView): View {
  if (!isNewer(view.presence[userId], p)) return view;
  return { ...view, presence: { ...view.presence, [userId]: pickPresence(p) } };
}

/** Applies the user's own presence (SPEC `Presence`), keeping the highest version. */
export function mergeOwnPresence(view: View, p: OwnPresence): View {
  if (!view.me) return view;
  let next = view;
  if (isNewer(view.me.presence, p)) {
    next = { ...view, me: { ...view.me, presence: { ...p } } };
  }
  // The own view also says what others see (`shown`, `activity`, `message`).
  return mergePresence(next, view.me.id, p);
}

/** Installs the signed-in user, keeping a newer presence already received from the stream. */
export function setMe(view: View, me: Me): View {
  const presence = view.me && view.me.id === me.id && !isNewer(view.me.presence, me.presence)
    ? view.me.presence
    : me.presence;
  const next: View = { ...view, me: { ...me, presence } };
  return mergePresence(next, me.id, me.presence);
}

function withProfile(view: View, c: Contact): View {
  let next: View = { ...view, contacts: { ...view.contacts, [c.id]: c } };
  if (next.me && next.me.id === c.id) {
    const me = next.me;
    next = {
      ...next,
      me: {
        ...me,
        name: c.name,
        email: c.email,
        extension: c.extension,
        phone_number: c.phone_number,
        photo_url: c.photo_url,
      },
    };
  }
  return mergePresence(next, c.id, c.presence);
}

/**
 * Applies a page of the directory fetched over HTTP. `stampsAtStart` are the contact stamps
 * when the request was sent: a profile that changed live since then is left as it is (its
 * presence still merges by version, which is always safe).
 */
export function applyDirectory(view: View, items: Contact[], stampsAtStart?: Record<string, number>): View {
  let next = view;
  for (const c of items) {
    const changedSince = stampsAtStart !== undefined && (next.contactStamps[c.id] ?? 0) !== (stampsAtStart[c.id] ?? 0);
    next = changedSince ? mergePresence(next, c.id, c.presence) : withProfile(next, c);
  }
  return next;
}

function removeContact(view: View, userId: string): View {
  const contacts = { ...view.contacts };
  delete contacts[userId];
  const presence = { ...view.presence };
  delete presence[userId];
  return { ...view, contacts, presence };
}

function bumpStamp(view: View, userId: string): View {
  return { ...view, contactStamps: { ...view.contactStamps, [userId]: (view.contactStamps[userId] ?? 0) + 1 } };
}

/**
 * Applies one stream frame. `hello` never moves the cursor: the events after the cursor we
 * resumed from are still to come, and a connection lost before they arrive must ask for them
 * again.
 */
export function applyFrame(view: View, frame: Frame | OtherFrame): View {
  let next = view;
  const f = frame as Frame;
  switch (f.type) {
    case 'hello':
      return view;
    case 'snapshot':
      for (const p of f.presence ?? []) next = mergePresence(next, p.user_id, p);
      if (f.me) next = mergeOwnPresence(next, f.me);
      break;
    case 'presence':
      next = mergePresence(next, f.user_id, f);
      break;
    case 'me.presence':
      next = mergeOwnPresence(next, f);
      break;
    case 'contact':
      if ('removed' in f && f.removed) {
        next = bumpStamp(removeContact(next, f.user_id), f.user_id);
      } else if ('user' in f && f.user) {
        next = bumpStamp(withProfile(next, f.user), f.user.id);
      }
      break;
    default:
      break;
  }
  if (typeof frame.cursor === 'string' && frame.cursor !== '') {
    next = next === view ? { ...view, cursor: frame.cursor } : { ...next, cursor: frame.cursor };
  }
  return next;
}

/** The presence everyone sees for `userId`, or undefined when none is known yet. */
export function presenceOf(view: View, userId: string): PresenceView | undefined {
  return view.presence[userId] ?? view.contacts[userId]?.presence;
}

/** The signed-in user as a colleague sees them on their contact card. */
export function meAsContact(view: View): Contact | null {
  const me = view.me;
  if (!me) return null;
  return {
    id: me.id,
    name: me.name,
    email: me.email,
    extension: me.extension,
    phone_number: me.phone_number,
    photo_url: me.photo_url,
    presence: presenceOf(view, me.id) ?? pickPresence(me.presence),
  };
}

/** All contacts sorted by name as the directory lists them (SPEC §4), self included. */
export function sortedContacts(view: View): Contact[] {
  const list = Object.values(view.contacts);
  if (view.me && !view.contacts[view.me.id]) {
    const self = meAsContact(view);
    if (self) list.push(self);
  }
  return list.sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }) || a.id.localeCompare(b.id));
}
