import { describe, expect, it } from 'vitest';
import {
  applyDirectory,
  applyFrame,
  emptyView,
  meAsContact,
  mergePresence,
  presenceOf,
  setMe,
  sortedContacts,
  type View,
} from '../src/state/view';
import type { Contact, Me, OwnPresence, PresenceView } from '../src/types';

function pres(shown: PresenceView['shown'], version: number, message: string | null = null): PresenceView {
  return { shown, activity: null, message, version };
}

function contact(id: string, name: string, p: PresenceView = pres('available', 1)): Contact {
  return {
    id,
    name,
    email: `${name.split(' ')[0].toLowerCase()}@demo.test`,
    extension: '1' + id.slice(-2),
    phone_number: null,
    photo_url: null,
    presence: p,
  };
}

function own(status: OwnPresence['status'], version: number, extra: Partial<OwnPresence> = {}): OwnPresence {
  const shown = status === 'dnd' ? 'busy' : status === 'invisible' ? 'offline' : status;
  return { status, status_until: null, message: null, message_expires_at: null, shown, activity: null, version, ...extra };
}

function me(version = 1): Me {
  return {
    id: 'u01',
    name: 'Ann Lee',
    email: 'ann@demo.test',
    role: 'admin',
    org: { id: 'o1', name: 'Demo Co' },
    extension: '101',
    phone_number: '+14155550101',
    photo_url: null,
    presence: own('available', version),
  };
}

describe('presence version ordering', () => {
  it('keeps the highest version and ignores older or equal ones', () => {
    let v = emptyView();
    v = applyFrame(v, { type: 'presence', cursor: 'c1', user_id: 'u02', ...pres('busy', 5, 'In a meeting room') });
    v = applyFrame(v, { type: 'presence', cursor: 'c2', user_id: 'u02', ...pres('available', 4) });
    expect(presenceOf(v, 'u02')).toEqual(pres('busy', 5, 'In a meeting room'));
    v = applyFrame(v, { type: 'presence', cursor: 'c3', user_id: 'u02', ...pres('away', 5) });
    expect(presenceOf(v, 'u02')?.shown).toBe('busy');
    v = applyFrame(v, { type: 'presence', cursor: 'c4', user_id: 'u02', ...pres('offline', 6) });
    expect(presenceOf(v, 'u02')).toEqual(pres('offline', 6));
  });

  it('does not let an out-of-order directory answer undo a live event', () => {
    let v = applyFrame(emptyView(), { type: 'presence', cursor: 'c9', user_id: 'u03', ...pres('busy', 7, 'Back at 3') });
    v = applyDirectory(v, [contact('u03', 'Chloe Nguyen', pres('available', 6))]);
    expect(presenceOf(v, 'u03')).toEqual(pres('busy', 7, 'Back at 3'));
    expect(v.contacts.u03.name).toBe('Chloe Nguyen');
  });

  it('takes a newer presence from the directory', () => {
    let v = applyFrame(emptyView(), { type: 'presence', cursor: 'c1', user_id: 'u03', ...pres('busy', 2) });
    v = applyDirectory(v, [contact('u03', 'Chloe Nguyen', pres('away', 3))]);
    expect(presenceOf(v, 'u03')?.shown).toBe('away');
  });

  it('returns the same view object when nothing changes', () => {
    const v = mergePresence(emptyView(), 'u1', pres('busy', 3));
    expect(mergePresence(v, 'u1', pres('away', 2))).toBe(v);
  });
});

describe('cursor tracking', () => {
  it('follows every frame with a cursor, but not hello', () => {
    let v = emptyView();
    v = applyFrame(v, { type: 'hello', cursor: 'head-1' });
    expect(v.cursor).toBeNull();
    v = applyFrame(v, { type: 'snapshot', cursor: 's1', presence: [], me: own('available', 1) });
    expect(v.cursor).toBe('s1');
    v = applyFrame(v, { type: 'presence', cursor: 's2', user_id: 'u9', ...pres('away', 1) });
    expect(v.cursor).toBe('s2');
    // An older presence is ignored, yet its cursor still counts as seen.
    v = applyFrame(v, { type: 'presence', cursor: 's3', user_id: 'u9', ...pres('busy', 1) });
    expect(v.cursor).toBe('s3');
    expect(presenceOf(v, 'u9')?.shown).toBe('away');
    // Frames of later features move the cursor too.
    v = applyFrame(v, { type: 'message', cursor: 's4' });
    expect(v.cursor).toBe('s4');
  });

  it('keeps the cursor when a frame has none', () => {
    const v = applyFrame({ ...emptyView(), cursor: 'x' }, { type: 'presence', user_id: 'u1', ...pres('busy', 1) });
    expect(v.cursor).toBe('x');
  });
});

describe('snapshot', () => {
  it('merges every user by version and updates the own presence', () => {
    let v = setMe(emptyView(), me(1));
    v = applyFrame(v, { type: 'presence', cursor: 'c1', user_id: 'u05', ...pres('busy', 9) });
    v = applyFrame(v, {
      type: 'snapshot',
      cursor: 'c20',
      presence: [
        { user_id: 'u05', ...pres('available', 8) },
        { user_id: 'u06', ...pres('away', 3) },
        { user_id: 'u01', ...pres('busy', 4, 'Focus time') },
      ],
      me: own('dnd', 4, { message: 'Focus time' }),
    });
    expect(presenceOf(v, 'u05')?.shown).toBe('busy');
    expect(presenceOf(v, 'u06')?.shown).toBe('away');
    expect(v.me?.presence.status).toBe('dnd');
    expect(meAsContact(v)?.presence).toEqual(pres('busy', 4, 'Focus time'));
    expect(v.cursor).toBe('c20');
  });
});

describe('own presence', () => {
  it('applies me.presence by version, and shows others what they see', () => {
    let v = setMe(emptyView(), me(1));
    v = applyFrame(v, { type: 'me.presence', cursor: 'c1', ...own('dnd', 3, { message: 'Heads down' }) });
    expect(v.me?.presence.status).toBe('dnd');
    expect(meAsContact(v)?.presence.shown).toBe('busy');
    v = applyFrame(v, { type: 'me.presence', cursor: 'c2', ...own('available', 2) });
    expect(v.me?.presence.status).toBe('dnd');
    expect(v.me?.presence.message).toBe('Heads down');
  });

  it('keeps a newer own presence when /me answers with an older one', () => {
    let v = setMe(emptyView(), me(1));
    v = applyFrame(v, { type: 'me.presence', cursor: 'c1', ...own('away', 5) });
    v = setMe(v, { ...me(4), name: 'Ann Lee-Smith' });
    expect(v.me?.presence.status).toBe('away');
    expect(v.me?.name).toBe('Ann Lee-Smith');
  });
});

describe('contact events', () => {
  it('adds, changes and removes contacts', () => {
    let v: View = emptyView();
    v = applyFrame(v, { type: 'contact', cursor: 'c1', user: contact('u07', 'Grace Kim') });
    expect(v.contacts.u07.name).toBe('Grace Kim');
    v = applyFrame(v, { type: 'contact', cursor: 'c2', user: { ...contact('u07', 'Grace Kim'), photo_url: '/api/v1/users/u07/photo?v=1' } });
    expect(v.contacts.u07.photo_url).toBe('/api/v1/users/u07/photo?v=1');
    v = applyFrame(v, { type: 'contact', cursor: 'c3', user_id: 'u07', removed: true });
    expect(v.contacts.u07).toBeUndefined();
    expect(presenceOf(v, 'u07')).toBeUndefined();
    expect(v.cursor).toBe('c3');
  });

  it('updates the signed-in user’s own profile (a photo taken on another device)', () => {
    let v = setMe(emptyView(), me());
    v = applyFrame(v, { type: 'contact', cursor: 'c1', user: { ...contact('u01', 'Ann Lee'), photo_url: '/api/v1/users/u01/photo?v=2' } });
    expect(v.me?.photo_url).toBe('/api/v1/users/u01/photo?v=2');
  });

  it('does not let a directory answer sent before a live change undo it', () => {
    let v = applyDirectory(emptyView(), [contact('u08', 'Hugo Martin')]);
    const stampsAtRequest = v.contactStamps;
    v = applyFrame(v, { type: 'contact', cursor: 'c1', user: { ...contact('u08', 'Hugo Martin'), photo_url: '/p?v=new' } });
    v = applyDirectory(v, [{ ...contact('u08', 'Hugo Martin', pres('busy', 2)), photo_url: null }], stampsAtRequest);
    expect(v.contacts.u08.photo_url).toBe('/p?v=new');
    expect(presenceOf(v, 'u08')?.shown).toBe('busy');
  });
});

describe('sortedContacts', () => {
  it('sorts by name and includes the signed-in user once', () => {
    let v = setMe(emptyView(), me());
    v = applyDirectory(v, [contact('u02', 'ben Ortiz'), contact('u03', 'Chloe Nguyen')]);
    expect(sortedContacts(v).map((c) => c.name)).toEqual(['Ann Lee', 'ben Ortiz', 'Chloe Nguyen']);
    v = applyDirectory(v, [contact('u01', 'Ann Lee')]);
    expect(sortedContacts(v).map((c) => c.id)).toEqual(['u01', 'u02', 'u03']);
  });
});
