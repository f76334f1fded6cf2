import { useEffect, useRef, useState } from 'preact/hooks';
import * as api from '../api';
import { ApiError } from '../api';
import { app, mergeContacts, showToast } from '../state/app';
import { startDirect } from '../state/chats';
import { presenceOf } from '../state/view';
import { ContactCard } from './ContactCard';
import { useApp } from './hooks';
import { navigate } from './router';
import { callLinkProps } from './Calls';

/** The contact card of one colleague, live. */
export function ContactPage({ id }: { id: string }) {
  const contact = useApp((s) => s.view.contacts[id]);
  const presence = useApp((s) => presenceOf(s.view, id));
  const current = useApp((s) => s.stream.current);
  const loaded = useApp((s) => s.directoryLoaded);
  const isMe = useApp((s) => s.view.me?.id === id);
  const [opening, setOpening] = useState(false);
  const [missing, setMissing] = useState(false);
  const headingRef = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    headingRef.current?.focus();
  }, [contact === undefined]);

  useEffect(() => {
    if (contact || !loaded) return;
    let cancelled = false;
    const stamps = app.get().view.contactStamps;
    api.getUser(id).then(
      (c) => {
        if (!cancelled) mergeContacts([c], stamps);
      },
      (err) => {
        if (!cancelled && err instanceof ApiError && err.status === 404) setMissing(true);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [id, contact === undefined, loaded]);

  if (!contact) {
    return (
      <section class="page" aria-labelledby="contact-missing">
        <h1 id="contact-missing" tabIndex={-1} ref={headingRef}>
          {missing ? 'Not in the directory' : 'Loading…'}
        </h1>
        {missing && <p class="muted">This person is not, or no longer, in your organization’s directory.</p>}
      </section>
    );
  }
  return (
    <section class="page">
      <ContactCard contact={contact} presence={presence} stale={!current} level={1} headingRef={headingRef} />
      {!isMe && (
        <a class="btn btn-primary btn-block" {...callLinkProps(contact.extension)} data-testid="call-contact">
          Call {contact.name}
        </a>
      )}
      {!isMe && (
        <button
          type="button"
          class="btn btn-block"
          data-testid="message-contact"
          disabled={opening}
          onClick={async () => {
            setOpening(true);
            try {
              const cid = await startDirect(id);
              navigate(`/chats/${encodeURIComponent(cid)}`);
            } catch {
              showToast('The chat could not be opened. Try again.');
              setOpening(false);
            }
          }}
        >
          {opening ? 'Opening chat…' : `Message ${contact.name}`}
        </button>
      )}
    </section>
  );
}
