import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import * as api from '../api';
import { app, mergeContacts } from '../state/app';
import { matchesContact } from '../state/search';
import { presenceOf, sortedContacts } from '../state/view';
import type { Contact } from '../types';
import { Avatar } from './Avatar';
import { useApp } from './hooks';
import { PresenceLine } from './Presence';
import { linkProps } from './router';

const SEARCH_DEBOUNCE_MS = 250;

/** The server's matches for a query, kept so contacts beyond the loaded directory show too. */
interface ServerHits {
  q: string;
  ids: string[];
}

export function Directory({ focusHeading }: { focusHeading: boolean }) {
  const view = useApp((s) => s.view);
  const loaded = useApp((s) => s.directoryLoaded);
  const current = useApp((s) => s.stream.current);
  const [query, setQuery] = useState('');
  const [hits, setHits] = useState<ServerHits | null>(null);
  const [searchFailed, setSearchFailed] = useState(false);
  const headingRef = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    if (focusHeading) headingRef.current?.focus();
  }, []);

  const q = query.trim();
  useEffect(() => {
    setSearchFailed(false);
    if (q === '') return;
    let cancelled = false;
    const t = setTimeout(async () => {
      const stamps = app.get().view.contactStamps;
      try {
        const page = await api.directoryPage(q);
        if (cancelled) return;
        mergeContacts(page.items ?? [], stamps);
        setHits({ q, ids: (page.items ?? []).map((c) => c.id) });
      } catch {
        if (!cancelled) setSearchFailed(true);
      }
    }, SEARCH_DEBOUNCE_MS);
    return () => {
      cancelled = true;
      clearTimeout(t);
    };
  }, [q]);

  const list = useMemo(() => {
    const all = sortedContacts(view);
    if (q === '') return all;
    const serverIds = hits && hits.q === q ? new Set(hits.ids) : null;
    return all.filter((c) => matchesContact(c, q) || (serverIds?.has(c.id) ?? false));
  }, [view, q, hits]);

  const meId = view.me?.id;
  const stale = !current;
  return (
    <section class="directory" aria-labelledby="directory-title">
      <div class="directory-head">
        <h1 id="directory-title" tabIndex={-1} ref={headingRef}>
          People
        </h1>
        <div class="search">
          <label for="directory-search" class="sr-only">
            Search people by name, extension or number
          </label>
          <svg class="search-icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
            <path
              d="M15.5 14h-.8l-.3-.3A6.5 6.5 0 1 0 14 15.5l.3.3v.8l5 5 1.5-1.5-5-5zm-6 0a4.5 4.5 0 1 1 0-9 4.5 4.5 0 0 1 0 9z"
              fill="currentColor"
            />
          </svg>
          <input
            id="directory-search"
            type="search"
            placeholder="Name, extension or number"
            autocomplete="off"
            enterKeyHint="search"
            value={query}
            onInput={(e) => setQuery(e.currentTarget.value)}
          />
        </div>
      </div>
      <p class="sr-only" role="status" aria-live="polite">
        {loaded ? `${list.length} ${list.length === 1 ? 'person' : 'people'}` : ''}
      </p>
      {searchFailed && <p class="hint">Showing matches from this device only: the server search didn’t answer.</p>}
      {!loaded && list.length <= 1 ? (
        <p class="empty" aria-busy="true">
          Loading colleagues…
        </p>
      ) : list.length === 0 ? (
        <p class="empty">No one matches “{q}”.</p>
      ) : (
        <ul class="people" data-testid="directory-list" aria-label="Colleagues">
          {list.map((c) => (
            <PersonRow key={c.id} contact={c} isMe={c.id === meId} stale={stale} presence={presenceOf(view, c.id)} />
          ))}
        </ul>
      )}
    </section>
  );
}

interface RowProps {
  contact: Contact;
  isMe: boolean;
  stale: boolean;
  presence: ReturnType<typeof presenceOf>;
}

function PersonRow({ contact, isMe, stale, presence }: RowProps) {
  const href = isMe ? '/profile' : `/people/${encodeURIComponent(contact.id)}`;
  return (
    <li data-testid="contact-row" data-user-id={contact.id} data-email={contact.email}>
      <a class="person" {...linkProps(href)}>
        <Avatar id={contact.id} name={contact.name} photoUrl={contact.photo_url} size="md" shown={presence?.shown} stale={stale} />
        <span class="person-text">
          <span class="person-name">
            {contact.name}
            {isMe && <span class="muted"> (you)</span>}
          </span>
          <span class="person-meta">
            <PresenceLine presence={presence} stale={stale} />
            <span class="ext">Ext {contact.extension}</span>
          </span>
          {presence?.message && (
            <span class="person-message" data-testid="status-message">
              <span class="sr-only">Status message: </span>
              {presence.message}
            </span>
          )}
        </span>
      </a>
    </li>
  );
}
