import { useEffect, useRef, useState } from 'preact/hooks';
import * as api from '../api';
import { ApiError, NetworkError } from '../api';
import {
  agoText,
  codePoints,
  formatPhone,
  MESSAGE_EXPIRIES,
  MESSAGE_MAX,
  type MessageExpiry,
  presetEnd,
  rfc3339,
  STATUS_DURATIONS,
  STATUS_OPTIONS,
  type StatusDuration,
  toLocalInput,
  untilText,
} from '../format';
import { removePhoto, setPresence, showToast, signOut, turnOffNotifications, turnOnNotifications } from '../state/app';
import { meAsContact } from '../state/view';
import type { Me, Session, Status } from '../types';
import { Avatar } from './Avatar';
import { ContactCard, CopyButton } from './ContactCard';
import { useApp, useNow } from './hooks';
import { PasswordSection } from './PasswordSection';
import { DeskPhoneSection, ForwardingSection } from './DeskPhone';
import { MAX_PHOTO_BYTES, PhotoDialog, uploadProblem } from './PhotoDialog';

function problemOf(err: unknown, fallback: string): string {
  if (err instanceof NetworkError) return 'Can’t reach the server. Check your connection and try again.';
  if (err instanceof ApiError && err.status === 400) return err.message;
  return fallback;
}

export function Profile({ focusHeading }: { focusHeading: boolean }) {
  const me = useApp((s) => s.view.me);
  const headingRef = useRef<HTMLHeadingElement>(null);
  // Remounting the list reloads it once a password change has logged the other devices out.
  const [devices, setDevices] = useState(0);
  useEffect(() => {
    if (focusHeading) headingRef.current?.focus();
  }, []);
  if (!me) return null;
  return (
    <div class="page profile">
      <h1 class="sr-only" tabIndex={-1} ref={headingRef}>
        Your profile
      </h1>
      <PhotoSection me={me} />
      <NumbersSection me={me} />
      <StatusSection me={me} />
      <MessageSection me={me} />
      <PreviewSection />
      <NotificationsSection />
      <DeskPhoneSection />
      <ForwardingSection />
      <DevicesSection key={devices} />
      <PasswordSection onOthersLoggedOut={() => setDevices((n) => n + 1)} />
      <LogoutSection />
    </div>
  );
}

function PhotoSection({ me }: { me: Me }) {
  const fileRef = useRef<HTMLInputElement>(null);
  const [open, setOpen] = useState<{ key: number; start: { kind: 'camera' } | { kind: 'file'; file: Blob } } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const canCapture = typeof navigator !== 'undefined' && !!navigator.mediaDevices?.getUserMedia;

  function chooseFile() {
    fileRef.current?.click();
  }

  function fileChosen(e: Event) {
    const input = e.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    if (file.size > MAX_PHOTO_BYTES) {
      setProblem('This photo is larger than 10 MB. Choose a smaller one.');
      return;
    }
    setProblem(null);
    setOpen({ key: Date.now(), start: { kind: 'file', file } });
  }

  async function remove() {
    setBusy(true);
    setProblem(null);
    try {
      await removePhoto();
      showToast('Photo removed');
    } catch (err) {
      setProblem(uploadProblem(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="card profile-head" aria-labelledby="photo-title">
      <Avatar id={me.id} name={me.name} photoUrl={me.photo_url} size="xl" alt={me.photo_url ? `Your photo` : `Your initials, ${me.name}`} />
      <div class="profile-who">
        <h2 id="photo-title" class="profile-name">
          {me.name}
        </h2>
        <p class="muted">{me.email}</p>
      </div>
      <div class="actions" role="group" aria-label="Photo">
        {canCapture && (
          <button type="button" class="btn" onClick={() => setOpen({ key: Date.now(), start: { kind: 'camera' } })}>
            Take photo
          </button>
        )}
        <button type="button" class="btn" onClick={chooseFile}>
          Choose photo
        </button>
        {me.photo_url && (
          <button type="button" class="btn btn-quiet" onClick={remove} disabled={busy}>
            Remove photo
          </button>
        )}
      </div>
      <input
        ref={fileRef}
        type="file"
        accept="image/jpeg,image/png,image/webp,image/gif"
        class="hidden-input"
        tabIndex={-1}
        aria-hidden="true"
        onChange={fileChosen}
        data-testid="photo-file"
      />
      <p class="form-error" role="alert">
        {problem ?? ''}
      </p>
      {open && (
        <PhotoDialog key={open.key} start={open.start} onClose={() => setOpen(null)} onChooseAnother={chooseFile} />
      )}
    </section>
  );
}

function NumbersSection({ me }: { me: Me }) {
  return (
    <section class="card" aria-labelledby="numbers-title">
      <h2 id="numbers-title">Your numbers</h2>
      <dl class="details">
        <div class="detail">
          <dt>Phone number</dt>
          <dd>
            {me.phone_number ? (
              <CopyButton text={me.phone_number} shown={formatPhone(me.phone_number)} what="phone number" testId="my-number" />
            ) : (
              <span class="muted">None assigned</span>
            )}
          </dd>
        </div>
        <div class="detail">
          <dt>Extension</dt>
          <dd>
            <CopyButton text={me.extension} shown={me.extension} what="extension" testId="my-extension" />
          </dd>
        </div>
      </dl>
    </section>
  );
}

type DurationChoice = StatusDuration | 'keep';

function StatusSection({ me }: { me: Me }) {
  const now = useNow();
  const p = me.presence;
  const [duration, setDuration] = useState<DurationChoice>(p.status_until ? 'keep' : 'none');
  const [custom, setCustom] = useState(() => toLocalInput(new Date(Date.now() + 60 * 60_000)));
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  // The status being applied shows as chosen until the server answers (or refuses it).
  const [pending, setPending] = useState<Status | null>(null);
  const requests = useRef(0);
  const shownStatus = pending ?? p.status;

  // Another device (or the server's own expiry) may change the end time.
  useEffect(() => {
    setDuration((d) => (p.status_until ? (d === 'none' ? 'keep' : d) : d === 'keep' ? 'none' : d));
  }, [p.status_until]);

  function untilFor(choice: DurationChoice): string | null | undefined {
    if (choice === 'keep') return undefined;
    const end = presetEnd(choice, new Date(), custom);
    if (choice === 'custom' && (!end || end.getTime() <= Date.now())) throw new Error('custom');
    return end ? rfc3339(end) : null;
  }

  async function apply(status: Status, choice: DurationChoice) {
    setProblem(null);
    let until: string | null | undefined;
    try {
      until = status === 'available' ? null : untilFor(choice);
    } catch {
      setProblem('Choose a time in the future.');
      return;
    }
    const request = ++requests.current;
    setBusy(true);
    setPending(status);
    try {
      await setPresence(until === undefined ? { status } : { status, status_until: until });
    } catch (err) {
      if (request === requests.current) setProblem(problemOf(err, 'Your status could not be changed. Try again.'));
    } finally {
      // Only the latest choice decides what shows once the answers are in.
      if (request === requests.current) {
        setBusy(false);
        setPending(null);
      }
    }
  }

  const showDuration = shownStatus !== 'available';
  return (
    <section class="card" aria-labelledby="status-title">
      <h2 id="status-title">Status</h2>
      <fieldset class="status-options" aria-busy={busy || undefined}>
        <legend class="sr-only">Your status</legend>
        {STATUS_OPTIONS.map((o) => (
          <label class={`status-option${shownStatus === o.value ? ' is-selected' : ''}`} key={o.value} data-testid={`status-${o.value}`}>
            <input
              type="radio"
              name="status"
              value={o.value}
              checked={shownStatus === o.value}
              aria-labelledby={`status-name-${o.value}`}
              aria-describedby={`status-help-${o.value}`}
              onChange={() => apply(o.value, duration === 'keep' ? 'none' : duration)}
            />
            <span class={`dot dot-inline dot-${o.value === 'dnd' ? 'busy' : o.value === 'invisible' ? 'offline' : o.value}`} aria-hidden="true" />
            <span class="status-text">
              <span class="status-name" id={`status-name-${o.value}`}>
                {o.label}
              </span>
              <span class="status-help" id={`status-help-${o.value}`}>
                {o.help}
              </span>
            </span>
          </label>
        ))}
      </fieldset>
      {showDuration && (
        <div class="field">
          <label for="status-duration">Reset to Available after</label>
          <select
            id="status-duration"
            value={duration}
            disabled={busy}
            onChange={(e) => {
              const v = e.currentTarget.value as DurationChoice;
              setDuration(v);
              if (v !== 'custom' && v !== 'keep') void apply(p.status, v);
            }}
          >
            {p.status_until && <option value="keep">{untilText(p.status_until, now).replace(/^until/, 'Until')} (current)</option>}
            {STATUS_DURATIONS.map((d) => (
              <option value={d.value} key={d.value}>
                {d.label}
              </option>
            ))}
          </select>
          {duration === 'custom' && (
            <div class="inline-form">
              <label for="status-custom" class="sr-only">
                Reset status at
              </label>
              <input id="status-custom" type="datetime-local" value={custom} min={toLocalInput(now)} onInput={(e) => setCustom(e.currentTarget.value)} />
              <button type="button" class="btn" onClick={() => apply(p.status, 'custom')} disabled={busy}>
                Set
              </button>
            </div>
          )}
        </div>
      )}
      {p.status_until && showDuration && (
        <p class="muted" data-testid="status-until">
          {STATUS_OPTIONS.find((o) => o.value === p.status)?.label} {untilText(p.status_until, now)}, then Available.
        </p>
      )}
      <p class="form-error" role="alert">
        {problem ?? ''}
      </p>
    </section>
  );
}

function MessageSection({ me }: { me: Me }) {
  const now = useNow();
  const p = me.presence;
  const [text, setText] = useState(p.message ?? '');
  const [dirty, setDirty] = useState(false);
  const [expiry, setExpiry] = useState<MessageExpiry>('never');
  const [custom, setCustom] = useState(() => toLocalInput(new Date(Date.now() + 60 * 60_000)));
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  // A change made on another device shows here unless the user is typing.
  useEffect(() => {
    if (!dirty) setText(p.message ?? '');
  }, [p.message, p.version]);

  const length = codePoints(text.trim());
  const tooLong = length > MESSAGE_MAX;

  async function save(e: Event) {
    e.preventDefault();
    setProblem(null);
    const message = text.trim();
    if (tooLong) {
      setProblem(`Keep it to ${MESSAGE_MAX} characters.`);
      return;
    }
    if (message === '') {
      await clear();
      return;
    }
    const end = presetEnd(expiry, new Date(), custom);
    if (expiry === 'custom' && (!end || end.getTime() <= Date.now())) {
      setProblem('Choose a time in the future.');
      return;
    }
    setBusy(true);
    try {
      await setPresence({ message, message_expires_at: end ? rfc3339(end) : null });
      setDirty(false);
      showToast('Status message saved');
    } catch (err) {
      setProblem(problemOf(err, 'Your message could not be saved. Try again.'));
    } finally {
      setBusy(false);
    }
  }

  async function clear() {
    setBusy(true);
    setProblem(null);
    try {
      await setPresence({ message: null, message_expires_at: null });
      setText('');
      setDirty(false);
      showToast('Status message cleared');
    } catch (err) {
      setProblem(problemOf(err, 'Your message could not be cleared. Try again.'));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="card" aria-labelledby="message-title">
      <h2 id="message-title">Status message</h2>
      <form onSubmit={save} class="message-form">
        <label for="status-message" class="sr-only">
          Status message
        </label>
        <div class="input-with-button">
          <input
            id="status-message"
            type="text"
            placeholder="e.g. In the Berlin office"
            value={text}
            autocomplete="off"
            aria-describedby="status-message-count"
            aria-invalid={tooLong || undefined}
            onInput={(e) => {
              setText(e.currentTarget.value);
              setDirty(true);
            }}
          />
          {(text !== '' || p.message) && (
            <button type="button" class="icon-btn" aria-label="Clear status message" onClick={clear} disabled={busy}>
              <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
                <path d="M19 6.4 17.6 5 12 10.6 6.4 5 5 6.4 10.6 12 5 17.6 6.4 19 12 13.4 17.6 19 19 17.6 13.4 12z" fill="currentColor" />
              </svg>
            </button>
          )}
        </div>
        <p id="status-message-count" class={`counter${tooLong ? ' over' : ''}`}>
          {length}/{MESSAGE_MAX} characters
        </p>
        <div class="field">
          <label for="message-expiry">Clear message after</label>
          <select id="message-expiry" value={expiry} onChange={(e) => setExpiry(e.currentTarget.value as MessageExpiry)}>
            {MESSAGE_EXPIRIES.map((x) => (
              <option value={x.value} key={x.value}>
                {x.label}
              </option>
            ))}
          </select>
        </div>
        {expiry === 'custom' && (
          <div class="field">
            <label for="message-custom">Clear message at</label>
            <input id="message-custom" type="datetime-local" value={custom} min={toLocalInput(now)} onInput={(e) => setCustom(e.currentTarget.value)} />
          </div>
        )}
        {p.message && p.message_expires_at && (
          <p class="muted" data-testid="message-expiry">
            Your current message shows {untilText(p.message_expires_at, now)}.
          </p>
        )}
        <p class="form-error" role="alert">
          {problem ?? ''}
        </p>
        <button type="submit" class="btn btn-primary" disabled={busy || tooLong} aria-busy={busy || undefined}>
          Save message
        </button>
      </form>
    </section>
  );
}

function PreviewSection() {
  const self = useApp((s) => meAsContact(s.view));
  const current = useApp((s) => s.stream.current);
  if (!self) return null;
  return (
    <section class="preview-section" aria-labelledby="preview-title">
      <h2 id="preview-title">How others see me</h2>
      <ContactCard contact={self} presence={self.presence} stale={!current} level={3} testId="my-card-preview" />
    </section>
  );
}

const PLATFORM_LABEL: Record<Session['platform'], string> = {
  web: 'Web browser',
  mobile: 'Phone',
  desktop: 'Desktop app',
  sip: 'Desk phone',
};

function DevicesSection() {
  const now = useNow();
  const [sessions, setSessions] = useState<Session[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [ending, setEnding] = useState<string | null>(null);

  async function load() {
    try {
      const items = await api.listSessions();
      items.sort((a, b) => Number(b.current) - Number(a.current) || b.last_seen_at.localeCompare(a.last_seen_at));
      setSessions(items);
      setProblem(null);
    } catch (err) {
      setProblem(problemOf(err, 'The list of devices could not be loaded.'));
    }
  }

  useEffect(() => {
    void load();
  }, []);

  async function end(s: Session) {
    setEnding(s.id);
    setProblem(null);
    try {
      await api.endSession(s.id);
      setSessions((list) => (list ? list.filter((x) => x.id !== s.id) : list));
      showToast(`Logged out ${s.device_name}`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        setSessions((list) => (list ? list.filter((x) => x.id !== s.id) : list));
      } else {
        setProblem(problemOf(err, `${s.device_name} could not be logged out. Try again.`));
      }
    } finally {
      setEnding(null);
    }
  }

  return (
    <section class="card" aria-labelledby="devices-title">
      <div class="card-head">
        <h2 id="devices-title">Logged-in devices</h2>
        <button type="button" class="btn btn-small btn-quiet" onClick={load}>
          Refresh
        </button>
      </div>
      {sessions === null ? (
        <p class="muted">{problem ? '' : 'Loading…'}</p>
      ) : (
        <ul class="devices" data-testid="devices">
          {sessions.map((s) => (
            <li key={s.id} class="device" data-testid="device" data-session-id={s.id} data-current={s.current ? 'true' : 'false'}>
              <span class="device-text">
                <span class="device-name">
                  {s.device_name || PLATFORM_LABEL[s.platform]}
                  {s.current && <span class="badge">This device</span>}
                </span>
                <span class="muted small">
                  {PLATFORM_LABEL[s.platform] ?? s.platform} · active {agoText(s.last_seen_at, now)} · signed in {agoText(s.created_at, now)}
                </span>
              </span>
              {!s.current && (
                <button
                  type="button"
                  class="btn btn-small"
                  aria-label={`Log out ${s.device_name}`}
                  onClick={() => end(s)}
                  disabled={ending === s.id}
                >
                  Log out
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <p class="form-error" role="alert">
        {problem ?? ''}
      </p>
    </section>
  );
}

const PUSH_TEXT = {
  unsupported: 'This browser can’t show notifications from Virtual Office. On an iPhone or iPad, add Virtual Office to the Home Screen first.',
  blocked: 'Notifications are blocked for this site. Allow them in your browser’s site settings, then come back here.',
  off: 'Get notified of messages, calls and voicemail while Virtual Office is closed.',
  on: 'Notifications are on for this device.',
} as const;

/** Notifications on this device (SPEC §9): the browser's permission is asked only from here. */
function NotificationsSection() {
  const push = useApp((s) => s.push);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  async function run(fn: () => Promise<unknown>, failed: string) {
    setBusy(true);
    setProblem(null);
    try {
      await fn();
    } catch (err) {
      setProblem(problemOf(err, failed));
    } finally {
      setBusy(false);
    }
  }
  return (
    <section class="card" aria-labelledby="notifications-title" data-testid="notifications" data-state={push ?? 'unknown'}>
      <h2 id="notifications-title">Notifications</h2>
      <p class="muted">{push ? PUSH_TEXT[push] : 'Checking…'}</p>
      {push === 'off' && (
        <button
          type="button"
          class="btn btn-primary"
          disabled={busy}
          aria-busy={busy || undefined}
          onClick={() => void run(turnOnNotifications, 'Notifications could not be turned on. Try again.')}
        >
          Turn on notifications
        </button>
      )}
      {push === 'on' && (
        <button
          type="button"
          class="btn"
          disabled={busy}
          aria-busy={busy || undefined}
          onClick={() => void run(turnOffNotifications, 'Notifications could not be turned off. Try again.')}
        >
          Turn off notifications
        </button>
      )}
      <p class="form-error" role="alert">
        {problem ?? ''}
      </p>
    </section>
  );
}

function LogoutSection() {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  async function logout() {
    setBusy(true);
    setProblem(null);
    try {
      await signOut();
    } catch (err) {
      setProblem(
        err instanceof NetworkError
          ? 'Can’t reach the server, so this device is still logged in. Try again when you’re back online.'
          : 'Logging out failed. Try again.',
      );
      setBusy(false);
    }
  }
  return (
    <section class="logout-section">
      <button type="button" class="btn btn-danger btn-block" onClick={logout} disabled={busy} aria-busy={busy || undefined}>
        {busy ? 'Logging out…' : 'Log out'}
      </button>
      <p class="form-error" role="alert">
        {problem ?? ''}
      </p>
    </section>
  );
}
