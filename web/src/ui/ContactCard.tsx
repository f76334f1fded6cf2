import { formatPhone } from '../format';
import type { Contact, PresenceView } from '../types';
import { Avatar } from './Avatar';
import { copyText } from './copy';
import { PresenceLine } from './Presence';

interface Props {
  contact: Contact;
  presence: PresenceView | undefined;
  stale: boolean;
  /** The heading level of the name: 1 on the contact screen, 3 inside the profile preview. */
  level: 1 | 3;
  headingRef?: preact.Ref<HTMLHeadingElement>;
  testId?: string;
}

/** A colleague's card: photo, name, presence, status message, extension, number and email. */
export function ContactCard({ contact, presence, stale, level, headingRef, testId = 'contact-card' }: Props) {
  const Heading = level === 1 ? 'h1' : 'h3';
  const headingId = `${testId}-name`;
  return (
    <article class="card contact-card" aria-labelledby={headingId} data-testid={testId} data-user-id={contact.id}>
      <div class="contact-card-top">
        <Avatar id={contact.id} name={contact.name} photoUrl={contact.photo_url} size="xl" shown={presence?.shown} stale={stale} />
        <Heading id={headingId} class="contact-name" tabIndex={-1} ref={headingRef}>
          {contact.name}
        </Heading>
        <PresenceLine presence={presence} stale={stale} />
        {presence?.message && (
          <p class="status-message" data-testid="status-message">
            <span class="sr-only">Status message: </span>
            {presence.message}
          </p>
        )}
      </div>
      <dl class="details">
        <div class="detail">
          <dt>Extension</dt>
          <dd>
            <CopyButton text={contact.extension} shown={contact.extension} what="extension" testId="extension" />
          </dd>
        </div>
        <div class="detail">
          <dt>Phone number</dt>
          <dd>
            {contact.phone_number ? (
              <CopyButton text={contact.phone_number} shown={formatPhone(contact.phone_number)} what="phone number" testId="phone-number" />
            ) : (
              <span class="muted">None</span>
            )}
          </dd>
        </div>
        <div class="detail">
          <dt>Email</dt>
          <dd>
            <a href={`mailto:${contact.email}`} class="link">
              {contact.email}
            </a>
          </dd>
        </div>
      </dl>
    </article>
  );
}

/** A number shown as a button that copies it, labelled for screen readers. */
export function CopyButton({ text, shown, what, testId }: { text: string; shown: string; what: string; testId: string }) {
  return (
    <button type="button" class="copy" aria-label={`Copy ${what} ${shown}`} onClick={() => copyText(text, `${what} ${text}`)} data-testid={testId}>
      <span>{shown}</span>
      <CopyIcon />
    </button>
  );
}

export function CopyIcon() {
  return (
    <svg class="copy-icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">
      <path
        d="M16 1H4a2 2 0 0 0-2 2v14h2V3h12V1zm3 4H8a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h11a2 2 0 0 0 2-2V7a2 2 0 0 0-2-2zm0 16H8V7h11v14z"
        fill="currentColor"
      />
    </svg>
  );
}
