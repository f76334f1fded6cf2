import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api';
import * as chats from '../state/chats';
import { matchesContact } from '../state/search';
import { sortedContacts } from '../state/view';
import { Avatar } from './Avatar';
import { useApp } from './hooks';
import { navigate } from './router';

function reason(err: unknown): string {
  return err instanceof ApiError ? err.message : 'The server could not be reached. Try again.';
}

/**
 * A conversation's details: its members, and for a group the name, adding and removing
 * members (any member may, SPEC §8) and leaving.
 */
export function ChatDetails({ id }: { id: string }) {
  const conv = useApp((s) => s.chat.conversations[id]);
  const view = useApp((s) => s.view);
  const meId = view.me?.id ?? '';
  const [name, setName] = useState<string>(conv?.name ?? '');
  const [filter, setFilter] = useState('');
  const [chosen, setChosen] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [missing, setMissing] = useState(false);
  const headingRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => headingRef.current?.focus(), [conv === undefined]);
  useEffect(() => {
    let cancelled = false;
    chats.ensureConversation(id).then(
      (c) => {
        if (cancelled) return;
        if (!c) setMissing(true);
        else setName(c.name ?? "");
      },
      () => undefined,
    );
    return () => {
      cancelled = true;
    };
  }, [id]);

  const memberIds = useMemo(() => new Set(conv?.members.map((m) => m.id) ?? []), [conv]);
  const candidates = useMemo(() => sortedContacts(view).filter((c) => !memberIds.has(c.id)), [view, memberIds]);

  if (!conv) {
    return (
      <section class="page" aria-labelledby="details-title">
        <h1 id="details-title" tabIndex={-1} ref={headingRef}>
          {missing ? 'Chat not found' : 'Loading…'}
        </h1>
      </section>
    );
  }
  const group = conv.kind === 'group';
  const q = filter.trim();
  const shown = q === '' ? candidates : candidates.filter((c) => matchesContact(c, q) || chosen.includes(c.id));

  async function run(action: () => Promise<void>) {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(reason(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="page" aria-labelledby="details-title" data-testid="chat-details" data-conversation-id={id}>
      <h1 id="details-title" tabIndex={-1} ref={headingRef}>
        {group ? 'Group details' : 'Chat details'}
      </h1>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {group && (
        <form
          class="card"
          data-testid="rename-form"
          onSubmit={(e) => {
            e.preventDefault();
            const next = name.trim();
            if (next !== '' && next !== conv.name) void run(() => chats.renameGroup(id, next));
          }}
        >
          <label for="group-rename">Group name</label>
          <input id="group-rename" type="text" required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} autocomplete="off" />
          <button type="submit" class="btn" disabled={busy || name.trim() === '' || name.trim() === conv.name}>
            Rename
          </button>
        </form>
      )}
      <section class="card" aria-labelledby="members-title">
        <h2 id="members-title">Members ({conv.members.length})</h2>
        <ul class="pick-list" aria-label="Members" data-testid="member-list">
          {conv.members.map((m) => (
            <li key={m.id} class="pick" data-testid="member" data-user-id={m.id}>
              <Avatar id={m.id} name={m.name} photoUrl={m.photo_url} size="sm" />
              <span>{m.id === meId ? `${m.name} (you)` : m.name}</span>
              {group && m.id !== meId && (
                <button type="button" class="btn btn-small btn-quiet" disabled={busy} aria-label={`Remove ${m.name}`} onClick={() => void run(() => chats.removeFromGroup(id, m.id))}>
                  Remove
                </button>
              )}
            </li>
          ))}
        </ul>
      </section>
      {group && (
        <form
          class="card"
          data-testid="add-members-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (chosen.length > 0)
              void run(async () => {
                await chats.addToGroup(id, chosen);
                setChosen([]);
                setFilter('');
              });
          }}
        >
          <fieldset class="group-members">
            <legend>Add people</legend>
            <label for="add-filter" class="sr-only">
              Find people to add
            </label>
            <input id="add-filter" type="search" placeholder="Find people" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} autocomplete="off" />
            <ul class="pick-list">
              {shown.map((c) => {
                const checked = chosen.includes(c.id);
                return (
                  <li key={c.id}>
                    <label class="pick" data-testid="add-option" data-user-id={c.id}>
                      <input type="checkbox" checked={checked} onChange={() => setChosen((ids) => (checked ? ids.filter((x) => x !== c.id) : [...ids, c.id]))} />
                      <Avatar id={c.id} name={c.name} photoUrl={c.photo_url} size="sm" />
                      <span>{c.name}</span>
                    </label>
                  </li>
                );
              })}
            </ul>
          </fieldset>
          <button type="submit" class="btn btn-primary" disabled={busy || chosen.length === 0}>
            Add {chosen.length > 0 ? chosen.length : ''}
          </button>
        </form>
      )}
      {group && (
        <button
          type="button"
          class="btn btn-danger"
          disabled={busy}
          onClick={() => {
            if (!confirm('Leave this group? You will no longer see its messages.')) return;
            void run(async () => {
              await chats.removeFromGroup(id, meId);
              navigate('/chats', true);
            });
          }}
        >
          Leave group
        </button>
      )}
    </section>
  );
}
