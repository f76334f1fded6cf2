// The calling screens (SPEC §10), over whatever tab is open: an incoming call rings as a modal
// dialog with the caller's name and photo (Answer, Decline), and the call in progress fills the
// screen with the peer, how long it has lasted, Mute and Hang up.

import { useEffect, useRef } from 'preact/hooks';
import { calls } from '../state/call';
import { formatDuration, peerLabel } from '../state/calls';
import { showToast } from '../state/app';
import type { Call, CallPeer } from '../types';
import { Avatar } from './Avatar';
import { startRingtone } from './ringtone';
import { useApp, useLiveCall, useNow } from './hooks';

function PeerAvatar({ peer }: { peer: CallPeer }) {
  const contact = useApp((s) => (peer.user_id ? s.view.contacts[peer.user_id] : undefined));
  const name = contact?.name ?? peerLabel(peer);
  return <Avatar id={peer.user_id ?? peer.number} name={name} photoUrl={contact?.photo_url ?? null} size="xl" />;
}

/** Shows a native dialog modally while it is mounted (focus moves into it; the rest is inert). */
function useModal() {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open && typeof d.showModal === 'function') d.showModal();
    d?.focus();
    return () => {
      if (d?.open) d.close();
    };
  }, []);
  return ref;
}

export function CallOverlay() {
  const ringing = useLiveCall((s) => s.ringing);
  const active = useLiveCall((s) => s.active);
  const ended = useLiveCall((s) => s.ended);
  const problem = useLiveCall((s) => s.problem);
  // A call that ended, or could not be made, is said once, in a toast.
  useEffect(() => {
    if (problem) {
      showToast(problem);
      calls.dismiss();
    } else if (ended) {
      showToast(`Call with ${peerLabel(ended.peer)} ended`);
      calls.dismiss();
    }
  }, [problem, ended]);
  return (
    <>
      {active && <InCall key={active.id ?? 'new'} />}
      {ringing.length > 0 && <Incoming key={ringing[0].id} call={ringing[0]} />}
    </>
  );
}

function Incoming({ call }: { call: Call }) {
  const answering = useLiveCall((s) => s.answering === call.id);
  const onCall = useLiveCall((s) => s.active !== null);
  const ref = useModal();
  useEffect(() => {
    // While on a call, the second one rings silently (the dialog shows it) rather than over the talk.
    if (onCall || answering) return;
    const ring = startRingtone();
    return () => ring.stop();
  }, [onCall, answering]);
  const who = peerLabel(call.peer);
  return (
    <dialog
      ref={ref}
      class="sheet call-dialog incoming"
      aria-labelledby="incoming-title"
      aria-describedby="incoming-who"
      tabIndex={-1}
      onCancel={(e) => e.preventDefault()}
      data-testid="incoming-call"
    >
      <h2 id="incoming-title">{onCall ? 'Another call' : 'Incoming call'}</h2>
      <PeerAvatar peer={call.peer} />
      <p class="call-who" id="incoming-who" data-testid="incoming-name">
        {who}
      </p>
      {call.peer.name && <p class="muted">{call.peer.number}</p>}
      <div class="call-actions">
        <button type="button" class="btn btn-danger call-btn" disabled={answering} onClick={() => void calls.decline(call.id)} aria-label={`Decline call from ${who}`} data-testid="decline-call">
          Decline
        </button>
        <button type="button" class="btn btn-answer call-btn" disabled={answering} onClick={() => void calls.answer(call.id)} aria-label={`Answer call from ${who}${onCall ? ' and hang up the current one' : ''}`} data-testid="answer-call">
          {answering ? 'Answering…' : 'Answer'}
        </button>
      </div>
    </dialog>
  );
}

const PHASE_TEXT = { starting: 'Calling…', ringing: 'Ringing…', connected: 'Connected' } as const;

function InCall() {
  const active = useLiveCall((s) => s.active);
  const remote = useLiveCall((s) => s.remote);
  const now = useNow(1_000);
  const ref = useModal();
  const audioRef = useRef<HTMLAudioElement>(null);
  useEffect(() => {
    const el = audioRef.current;
    if (!el) return;
    el.srcObject = remote;
    if (remote) el.play().catch(() => undefined);
  }, [remote]);
  if (!active) return null;
  const who = peerLabel(active.peer);
  const since = active.answeredAt;
  return (
    <dialog ref={ref} class="sheet call-dialog in-call" aria-labelledby="in-call-title" tabIndex={-1} onCancel={(e) => e.preventDefault()} data-testid="in-call" data-phase={active.phase}>
      <h2 id="in-call-title" data-testid="in-call-peer">
        {who}
      </h2>
      <PeerAvatar peer={active.peer} />
      {active.peer.name && <p class="muted">{active.peer.number}</p>}
      <p role="status" data-testid="call-status">
        {PHASE_TEXT[active.phase]}
        {active.muted && ' · Muted'}
      </p>
      <p class="call-duration">
        {since !== null ? (
          <>
          <span class="sr-only">Duration </span>
          <time data-testid="call-duration" dateTime={`PT${Math.max(0, Math.round((now.getTime() - since) / 1000))}S`}>
            {formatDuration(Math.max(0, now.getTime() - since))}
          </time>
          </>
        ) : (
          '\u00a0'
        )}
      </p>
      <audio ref={audioRef} autoplay data-testid="remote-audio" />
      <div class="call-actions">
        <button type="button" class="btn call-btn" aria-pressed={active.muted ? 'true' : 'false'} onClick={() => calls.toggleMute()} data-testid="mute-call">
          Mute
        </button>
        <button type="button" class="btn btn-danger call-btn" onClick={() => void calls.hangup()} aria-label={`Hang up the call with ${who}`} data-testid="hangup-call">
          Hang up
        </button>
      </div>
    </dialog>
  );
}
