// The outbox on disk: messages composed here that the server has not confirmed, kept in
// IndexedDB so they survive a tunnel, a closed tab or a restart, and are sent again with the
// same client_id (the server then keeps one message however often it is sent, SPEC §8).
// Without IndexedDB (private mode, some tests) the outbox lives only in memory.

import type { Outgoing } from './chat';

const DB_NAME = 'vo-outbox';
const STORE = 'outgoing';

export interface SavedOutgoing extends Outgoing {
  /** Whose message it is: a different user signing in on this device never sends it. */
  user_id: string;
}

export interface OutboxStore {
  put(o: Outgoing): Promise<void>;
  remove(clientId: string): Promise<void>;
  /** The user's saved messages, oldest first. */
  all(userId: string): Promise<Outgoing[]>;
  clear(): Promise<void>;
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

/** An outbox in IndexedDB for the user `owner()` says is signed in. */
export function indexedDbOutbox(idb: IDBFactory | undefined, owner: () => string | null): OutboxStore {
  let db: Promise<IDBDatabase | null> | null = null;
  function open(): Promise<IDBDatabase | null> {
    if (!idb) return Promise.resolve(null);
    db ??= new Promise((resolve) => {
      let r: IDBOpenDBRequest;
      try {
        r = idb.open(DB_NAME, 1);
      } catch {
        resolve(null);
        return;
      }
      r.onupgradeneeded = () => {
        const s = r.result.createObjectStore(STORE, { keyPath: 'client_id' });
        s.createIndex('user_id', 'user_id');
      };
      r.onsuccess = () => resolve(r.result);
      // Storage refused: the outbox is then as good as the page's memory.
      r.onerror = () => resolve(null);
      r.onblocked = () => resolve(null);
    });
    return db;
  }
  async function withStore<T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T | undefined> {
    const d = await open();
    if (!d) return undefined;
    try {
      const tx = d.transaction(STORE, mode);
      const result = await request(fn(tx.objectStore(STORE)));
      return result;
    } catch {
      return undefined;
    }
  }
  return {
    async put(o) {
      const user = owner();
      if (!user) return;
      const saved: SavedOutgoing = { ...o, user_id: user };
      await withStore('readwrite', (s) => s.put(saved));
    },
    async remove(clientId) {
      await withStore('readwrite', (s) => s.delete(clientId));
    },
    async all(userId) {
      const rows = ((await withStore('readonly', (s) => s.index('user_id').getAll(userId))) ?? []) as SavedOutgoing[];
      return rows
        .map(({ user_id: _owner, ...o }) => o)
        .sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0));
    },
    async clear() {
      await withStore('readwrite', (s) => s.clear());
    },
  };
}

/** The app's outbox, for whoever is signed in (set by the app when a session starts). */
let currentUser: string | null = null;

export function setOutboxUser(id: string | null): void {
  currentUser = id;
}

export const outboxStore: OutboxStore = indexedDbOutbox(
  typeof indexedDB === 'undefined' ? undefined : indexedDB,
  () => currentUser,
);
