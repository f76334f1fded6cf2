// The Calls tab (SPEC §10): recent calls and voicemail, a dial pad, and the route that places a
// call (the calling screens themselves are CallOverlay's, over every tab).

import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, NetworkError, voicemailAudioUrl } from '../api';
import { chatTime } from '../format';
import { showToast } from '../state/app';
import {
  callDurationMs,
  callPath,
  callResultLabel,
  dialProblem,
  formatDuration,
  isMissed,
  loadCalls,
  loadGreeting,
  loadVoicemails,
  markHeard,
  peerLabel,
  removeVoicemail,
  resetGreeting,
  saveGreeting,
  unheardCount,
} from '../state/calls';
import { MAX_GREETING_SECONDS, recordGreeting, type GreetingRecorder } from '../wav';
import type { Call, Voicemail } from '../types';
import { calls as liveCalls } from '../state/call';
import { useCalls, useLiveCall, useNow } from './hooks';
import { linkProps, navigate } from './router';

export function CallsScreen({ tab, focusHeading }: { tab: 'recent' | 'voicemail'; focusHeading: boolean }) {
  const unheard = useCalls((s) => unheardCount(s.voicemails));
  const headingRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (focusHeading) headingRef.current?.focus();
  }, []);
  return (
    <section class="directory calls" aria-labelledby="calls-title">
      <div class="directory-head chats-head">
        <h1 id="calls-title" tabIndex={-1} ref={headingRef}>
          Calls
        </h1>
        <a class="btn btn-small" {...linkProps('/calls/dial')} data-testid="open-dialpad">
          Dial pad
        </a>
      </div>
      <nav class="segments" aria-label="Calls sections">
        <a class="segment" {...linkProps('/calls')} aria-current={tab === 'recent' ? 'page' : undefined} data-testid="seg-recent">
          Recent
        </a>
        <a class="segment" {...linkProps('/calls/voicemail')} aria-current={tab === 'voicemail' ? 'page' : undefined} data-testid="seg-voicemail">
          Voicemail{unheard > 0 && <span class="badge"> {unheard}<span class="sr-only"> unheard</span></span>}
        </a>
      </nav>
      {tab === 'recent' ? (
        <RecentList />
      ) : (
        <>
          <VoicemailList />
          <GreetingSection />
        </>
      )}
    </section>
  );
}

function DirectionIcon({ c }: { c: Call }) {
  // An arrow out for outgoing calls, in for incoming ones; the text beside it says which.
  const d = c.direction === 'out' ? 'M7 17 17 7M9 7h8v8' : 'M17 7 7 17M15 17H7V9';
  return (
    <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">
      <path d={d} fill="none" stroke="currentColor" stroke-width="2" />
    </svg>
  );
}

function RecentList() {
  const calls = useCalls((s) => s.calls);
  const loaded = useCalls((s) => s.callsLoaded);
  const error = useCalls((s) => s.error);
  const now = useNow();
  useEffect(() => {
    void loadCalls().catch(() => undefined);
  }, []);
  if (!loaded) return <p role="status">{error ?? 'Loading calls…'}</p>;
  if (calls.length === 0) return <p class="empty">No calls yet.</p>;
  return (
    <ul class="call-list" data-testid="call-list">
      {calls.map((c) => {
        const missed = isMissed(c);
        const ms = callDurationMs(c);
        const who = peerLabel(c.peer);
        return (
          <li key={c.id}>
            <a class={missed ? 'call-row missed' : 'call-row'} {...callLinkProps(c.peer.number)} data-testid="call-row" aria-label={`Call ${who} back`}>
              <DirectionIcon c={c} />
              <span class="call-main">
                <span class="call-peer">{who}</span>
                <span class="call-meta">
                  {c.direction === 'out' ? 'Outgoing' : 'Incoming'} · <span data-testid="call-result">{callResultLabel(c)}</span>
                  {ms !== null && ` · ${formatDuration(ms)}`}
                </span>
              </span>
              <time dateTime={c.started_at}>{chatTime(c.started_at, now)}</time>
            </a>
          </li>
        );
      })}
    </ul>
  );
}

function VoicemailList() {
  const voicemails = useCalls((s) => s.voicemails);
  const loaded = useCalls((s) => s.voicemailsLoaded);
  const error = useCalls((s) => s.error);
  useEffect(() => {
    void loadVoicemails().catch(() => undefined);
  }, []);
  if (!loaded) return <p role="status">{error ?? 'Loading voicemail…'}</p>;
  if (voicemails.length === 0) return <p class="empty">No voicemail.</p>;
  return (
    <ul class="call-list" data-testid="voicemail-list">
      {voicemails.map((v) => (
        <VoicemailRow key={v.id} v={v} />
      ))}
    </ul>
  );
}

function VoicemailRow({ v }: { v: Voicemail }) {
  const now = useNow();
  const [busy, setBusy] = useState(false);
  const who = peerLabel(v.from);
  async function played() {
    try {
      await markHeard(v.id);
    } catch {
      showToast('Couldn’t mark the voicemail heard');
    }
  }
  async function remove() {
    if (!confirm(`Delete the voicemail from ${who}? This cannot be undone.`)) return;
    setBusy(true);
    try {
      await removeVoicemail(v.id);
      showToast('Voicemail deleted');
    } catch {
      showToast('Couldn’t delete the voicemail');
      setBusy(false);
    }
  }
  return (
    <li class="voicemail" data-testid="voicemail-row" data-heard={v.heard ? 'true' : 'false'}>
      <div class="call-row">
        {!v.heard && <span class="unheard-dot" data-testid="unheard-dot" aria-hidden="true" />}
        <span class="call-main">
          <span class="call-peer">
            {who}
            {!v.heard && <span class="sr-only"> (new)</span>}
          </span>
          <span class="call-meta">
            <time dateTime={v.created_at}>{chatTime(v.created_at, now)}</time> · {formatDuration(v.duration_ms)}
          </span>
        </span>
        <button type="button" class="btn btn-small btn-danger" disabled={busy} onClick={() => void remove()} aria-label={`Delete voicemail from ${who}`} data-testid="voicemail-delete">
          Delete
        </button>
      </div>
      <audio controls preload="none" src={voicemailAudioUrl(v.id)} onPlay={() => void played()} aria-label={`Voicemail from ${who}`} data-testid="voicemail-audio" />
    </li>
  );
}

/** An object URL for a blob while it is shown, revoked after. */
function useObjectUrl(blob: Blob | null): string | null {
  const url = useMemo(() => (blob && typeof URL.createObjectURL === 'function' ? URL.createObjectURL(blob) : null), [blob]);
  useEffect(() => () => {
    if (url) URL.revokeObjectURL(url);
  }, [url]);
  return url;
}

function greetingProblem(err: unknown): string {
  if (err instanceof NetworkError) return 'Can’t reach the server. Check your connection and try again.';
  if (err instanceof ApiError) return err.message;
  if (err instanceof DOMException && (err.name === 'NotAllowedError' || err.name === 'SecurityError')) return 'The microphone is blocked: allow it for this site to record.';
  if (err instanceof DOMException && err.name === 'NotFoundError') return 'No microphone was found.';
  return 'Something went wrong.';
}

/** One's voicemail greeting: record one from the microphone, listen, keep it, or go back to the default. */
function GreetingSection() {
  const greeting = useCalls((s) => s.greeting);
  const loaded = useCalls((s) => s.greetingLoaded);
  const [recorder, setRecorder] = useState<GreetingRecorder | null>(null);
  const [seconds, setSeconds] = useState(0);
  const [draft, setDraft] = useState<Blob | null>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const own = useObjectUrl(greeting);
  const draftUrl = useObjectUrl(draft);
  const recorderRef = useRef<GreetingRecorder | null>(null);
  recorderRef.current = recorder;
  useEffect(() => {
    loadGreeting().catch((err) => setProblem(greetingProblem(err)));
    return () => recorderRef.current?.cancel();
  }, []);

  async function start() {
    setProblem(null);
    setDraft(null);
    setSeconds(0);
    try {
      setRecorder(await recordGreeting(setSeconds, () => void stop()));
    } catch (err) {
      setProblem(greetingProblem(err));
    }
  }
  async function stop() {
    const r = recorderRef.current;
    if (!r) return;
    recorderRef.current = null;
    setRecorder(null);
    setDraft(await r.stop());
  }
  async function save() {
    if (!draft) return;
    setBusy(true);
    setProblem(null);
    try {
      await saveGreeting(draft);
      setDraft(null);
      showToast('Greeting saved: callers hear it now');
    } catch (err) {
      setProblem(greetingProblem(err));
    } finally {
      setBusy(false);
    }
  }
  async function reset() {
    if (!confirm('Go back to the default greeting? Your recording is deleted.')) return;
    setBusy(true);
    setProblem(null);
    try {
      await resetGreeting();
      showToast('Callers hear the default greeting');
    } catch (err) {
      setProblem(greetingProblem(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="card greeting" aria-labelledby="greeting-title" data-testid="greeting">
      <h2 id="greeting-title">Greeting</h2>
      {!loaded && !problem && <p role="status">Loading…</p>}
      {loaded && (
        <p data-testid="greeting-kind">{greeting ? 'Callers who reach your voicemail hear your own greeting.' : 'Callers who reach your voicemail hear the default greeting.'}</p>
      )}
      {own && !draft && !recorder && <audio controls preload="none" src={own} aria-label="Your greeting" data-testid="greeting-audio" />}
      {recorder && (
        <p role="status" data-testid="greeting-recording">
          Recording… {formatDuration(Math.floor(seconds) * 1000)} of {formatDuration(MAX_GREETING_SECONDS * 1000)}
        </p>
      )}
      {draft && <audio controls src={draftUrl ?? undefined} aria-label="Your new greeting, not saved yet" data-testid="greeting-draft" />}
      {problem && (
        <p class="form-error" role="alert" data-testid="greeting-error">
          {problem}
        </p>
      )}
      <div class="actions">
        {recorder ? (
          <button type="button" class="btn btn-primary" onClick={() => void stop()} data-testid="greeting-stop">
            Stop
          </button>
        ) : draft ? (
          <>
            <button type="button" class="btn btn-primary" disabled={busy} onClick={() => void save()} data-testid="greeting-save">
              Use this greeting
            </button>
            <button type="button" class="btn" disabled={busy} onClick={() => setDraft(null)} data-testid="greeting-discard">
              Discard
            </button>
          </>
        ) : (
          <>
            <button type="button" class="btn" disabled={busy || !loaded} onClick={() => void start()} data-testid="greeting-record">
              {greeting ? 'Record a new greeting' : 'Record a greeting'}
            </button>
            {greeting && (
              <button type="button" class="btn" disabled={busy} onClick={() => void reset()} data-testid="greeting-reset">
                Use the default greeting
              </button>
            )}
          </>
        )}
      </div>
    </section>
  );
}

const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];

export function DialPad() {
  const [value, setValue] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  function press(k: string) {
    setProblem(null);
    setValue((v) => (v.length < 16 ? v + k : v));
  }
  function submit(e: Event) {
    e.preventDefault();
    const bad = dialProblem(value);
    setProblem(bad);
    if (bad) return;
    // In the app one's voicemail is a tab away: *97 (what a desk phone dials for it) opens it.
    if (value.trim() === '*97') navigate('/calls/voicemail');
    else startCall(value);
  }
  return (
    <section class="directory dialpad" aria-labelledby="dial-title">
      <h1 id="dial-title">Dial pad</h1>
      <form onSubmit={submit} noValidate>
        <div class="field">
          <label for="dial-number">Extension or number</label>
          <input
            id="dial-number"
            type="tel"
            inputMode="tel"
            autoComplete="off"
            value={value}
            onInput={(e) => {
              setProblem(null);
              setValue((e.currentTarget as HTMLInputElement).value.replace(/[^\d*#+]/g, ''));
            }}
            aria-invalid={problem ? 'true' : undefined}
            aria-describedby={problem ? 'dial-error' : undefined}
            data-testid="dial-input"
          />
        </div>
        <div class="dial-keys">
          {KEYS.map((k) => (
            <button type="button" class="dial-key" key={k} onClick={() => press(k)} data-testid={`key-${k}`}>
              {k}
            </button>
          ))}
          <button type="button" class="dial-key" onClick={() => press('+')} aria-label="Plus" data-testid="key-plus">
            +
          </button>
          <button type="button" class="dial-key" onClick={() => setValue((v) => v.slice(0, -1))} aria-label="Delete last digit" disabled={value === ''} data-testid="key-back">
            ⌫
          </button>
        </div>
        {problem && (
          <p class="form-error" role="alert" id="dial-error" data-testid="dial-error">
            {problem}
          </p>
        )}
        <button type="submit" class="btn btn-primary dial-call" data-testid="dial-call">
          Call
        </button>
      </form>
    </section>
  );
}

/**
 * The route of a call to `to`. Opened from a call link or the dial pad the call is placed at
 * once (the calling screen shows over it); opened otherwise (a reload, "back") it asks first,
 * so that no call is placed that the user did not just ask for.
 */
export function CallScreen({ to }: { to: string }) {
  const active = useLiveCall((s) => s.active);
  const problem = dialProblem(to);
  const started = useRef(false);
  useEffect(() => {
    const asked = dialAsked === to.trim();
    dialAsked = null;
    if (asked && !problem && !liveCalls.get().active && !started.current) {
      started.current = true;
      void liveCalls.dial(to);
    }
  }, []);
  // The call this screen placed is over: back to the history, which says how it went.
  const hadCall = useRef(false);
  useEffect(() => {
    if (active) hadCall.current = true;
    else if (hadCall.current) navigate('/calls', true);
  }, [active]);
  return (
    <section class="directory call-screen" aria-labelledby="call-title">
      <h1 id="call-title">Call {to}</h1>
      {problem ? (
        <p class="form-error" role="alert" data-testid="call-problem">
          {problem}
        </p>
      ) : (
        <button type="button" class="btn btn-primary" disabled={active !== null} onClick={() => void liveCalls.dial(to)} data-testid="call-start">
          Call {to}
        </button>
      )}
      <a class="btn" {...linkProps('/calls')}>
        Back to calls
      </a>
    </section>
  );
}

/** What a call link or the dial pad just asked to call: the call route places it once. */
let dialAsked: string | null = null;

/** Opens the call route and places the call. */
export function startCall(to: string): void {
  dialAsked = to.trim();
  navigate(callPath(to));
}

/** Props of a link that calls `to` (a contact, a call back from the history). */
export function callLinkProps(to: string): { href: string; onClick: (e: MouseEvent) => void } {
  const link = linkProps(callPath(to));
  return {
    href: link.href,
    onClick: (e: MouseEvent) => {
      if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
      e.preventDefault();
      startCall(to);
    },
  };
}
