import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api';
import { createGroup } from '../state/chats';
import { matchesContact } from '../state/search';
import { sortedContacts } from '../state/view';
import { Avatar } from './Avatar';
import { useApp } from './hooks';
import { navigate } from './router';

/** A group needs a name and at least two members besides the user (SPEC §8). */
export const GROUP_MIN_OTHERS = 2;

/** Creating a group chat: a name and the colleagues in it. */
export function NewGroup() {
  const view = useApp((s) => s.view);
  const [name, setName] = useState('');
  const [filter, setFilter] = useState('');
  const [chosen, setChosen] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => headingRef.current?.focus(), []);

  const meId = view.me?.id;
  const people = useMemo(() => sortedContacts(view).filter((c) => c.id !== meId), [view, meId]);
  const q = filter.trim();
  const shown = q === '' ? people : people.filter((c) => matchesContact(c, q) || chosen.includes(c.id));
  const ready = name.trim() !== '' && chosen.length >= GROUP_MIN_OTHERS;

  async function submit(e: Event) {
    e.preventDefault();
    if (!ready || busy) return;
    setBusy(true);
    setError(null);
    try {
      const id = await createGroup(name.trim(), chosen);
      navigate(`/chats/${encodeURIComponent(id)}`, true);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'The server could not be reached. Try again.');
      setBusy(false);
    }
  }

  return (
    <section class="page" aria-labelledby="new-group-title">
      <h1 id="new-group-title" tabIndex={-1} ref={headingRef}>
        New group
      </h1>
      <form class="card new-group" onSubmit={(e) => void submit(e)} data-testid="new-group-form">
        <label for="group-name">Group name</label>
        <input id="group-name" type="text" required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} autocomplete="off" />
        <fieldset class="group-members">
          <legend>Members (at least {GROUP_MIN_OTHERS})</legend>
          <label for="group-filter" class="sr-only">
            Find people
          </label>
          <input id="group-filter" type="search" placeholder="Find people" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} autocomplete="off" />
          <ul class="pick-list">
            {shown.map((c) => {
              const checked = chosen.includes(c.id);
              return (
                <li key={c.id}>
                  <label class="pick" data-testid="member-option" data-user-id={c.id}>
                    <input
                      type="checkbox"
                      checked={checked}
                      onChange={() => setChosen((ids) => (checked ? ids.filter((x) => x !== c.id) : [...ids, c.id]))}
                    />
                    <Avatar id={c.id} name={c.name} photoUrl={c.photo_url} size="sm" />
                    <span>{c.name}</span>
                  </label>
                </li>
              );
            })}
          </ul>
        </fieldset>
        <p class="muted" role="status">
          {chosen.length} selected
        </p>
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="btn btn-primary" disabled={!ready || busy}>
          {busy ? 'Creating…' : 'Create group'}
        </button>
      </form>
    </section>
  );
}
