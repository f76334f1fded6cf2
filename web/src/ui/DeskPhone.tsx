// Profile sections for telephony (SPEC §10): the desk phone's SIP account and call forwarding.

import { useEffect, useState } from 'preact/hooks';
import * as api from '../api';
import { ApiError, NetworkError } from '../api';
import { showToast } from '../state/app';
import type { Forwarding, SipCredential } from '../types';
import { copyText } from './copy';

function problemText(err: unknown, fallback: string): string {
  if (err instanceof NetworkError) return 'Can’t reach the server. Check your connection and try again.';
  if (err instanceof ApiError) return err.message;
  return fallback;
}

export function DeskPhoneSection() {
  const [sip, setSip] = useState<SipCredential | null>(null);
  const [shown, setShown] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    api.getSip().then(setSip, (err) => setProblem(problemText(err, 'The desk phone account could not be loaded.')));
  }, []);
  async function renew() {
    if (!confirm('Make a new desk phone password? Desk phones using the old one are logged out until you enter the new one.')) return;
    setBusy(true);
    setProblem(null);
    try {
      setSip(await api.newSipPassword());
      setShown(true);
      showToast('New desk phone password made');
    } catch (err) {
      setProblem(problemText(err, 'A new password could not be made.'));
    } finally {
      setBusy(false);
    }
  }
  const rows: [string, string, string][] = sip
    ? [
        ['Username', sip.username, 'sip-username'],
        ['Domain', sip.domain, 'sip-domain'],
        ['Registrar', sip.registrar, 'sip-registrar'],
      ]
    : [];
  return (
    <section class="card" aria-labelledby="deskphone-title" data-testid="deskphone">
      <h2 id="deskphone-title">Desk phone</h2>
      {!sip && !problem && <p role="status">Loading…</p>}
      {sip && (
        <dl class="sip">
          {rows.map(([label, value, id]) => (
            <div class="sip-row" key={id}>
              <dt>{label}</dt>
              <dd>
                <code data-testid={id}>{value}</code>{' '}
                <button type="button" class="btn btn-small" onClick={() => void copyText(value, label.toLowerCase())} aria-label={`Copy ${label.toLowerCase()}`}>
                  Copy
                </button>
              </dd>
            </div>
          ))}
          <div class="sip-row">
            <dt>Password</dt>
            <dd>
              <code data-testid="sip-password">{shown ? sip.password : '••••••••'}</code>{' '}
              <button type="button" class="btn btn-small" onClick={() => setShown(!shown)} aria-pressed={shown} data-testid="sip-show">
                {shown ? 'Hide' : 'Show'}
              </button>{' '}
              <button type="button" class="btn btn-small" onClick={() => void copyText(sip.password, 'password')} aria-label="Copy password">
                Copy
              </button>
            </dd>
          </div>
        </dl>
      )}
      {sip && (
        <button type="button" class="btn" disabled={busy} onClick={() => void renew()} data-testid="sip-renew">
          New password
        </button>
      )}
      {problem && (
        <p class="form-error" role="alert" data-testid="sip-error">
          {problem}
        </p>
      )}
    </section>
  );
}

export function ForwardingSection() {
  const [loaded, setLoaded] = useState(false);
  const [mode, setMode] = useState<Forwarding['mode']>('off');
  const [target, setTarget] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    api.getForwarding().then(
      (f) => {
        setMode(f.mode);
        setTarget(f.target ?? '');
        setLoaded(true);
      },
      (err) => setProblem(problemText(err, 'Call forwarding could not be loaded.')),
    );
  }, []);
  async function save(e: Event) {
    e.preventDefault();
    setProblem(null);
    const t = target.trim();
    if (mode !== 'off' && t === '') {
      setProblem('Enter the extension calls go to.');
      return;
    }
    setBusy(true);
    try {
      const f = await api.putForwarding(mode === 'off' ? { mode } : { mode, target: t });
      setMode(f.mode);
      setTarget(f.target ?? '');
      showToast(f.mode === 'off' ? 'Call forwarding is off' : 'Call forwarding saved');
    } catch (err) {
      setProblem(problemText(err, 'Call forwarding could not be saved.'));
    } finally {
      setBusy(false);
    }
  }
  const options: [Forwarding['mode'], string][] = [
    ['off', 'Off'],
    ['always', 'Always'],
    ['unanswered', 'When unanswered'],
  ];
  return (
    <section class="card" aria-labelledby="forwarding-title" data-testid="forwarding">
      <h2 id="forwarding-title">Call forwarding</h2>
      {!loaded && !problem && <p role="status">Loading…</p>}
      {loaded && (
        <form onSubmit={save} noValidate>
          <fieldset>
            <legend>Forward calls</legend>
            {options.map(([m, label]) => (
              <label class="radio" key={m}>
                <input type="radio" name="forwarding-mode" value={m} checked={mode === m} onChange={() => setMode(m)} data-testid={`fwd-${m}`} /> {label}
              </label>
            ))}
          </fieldset>
          {mode !== 'off' && (
            <div class="field">
              <label for="forwarding-target">To extension</label>
              <input id="forwarding-target" inputMode="numeric" autoComplete="off" value={target} onInput={(e) => setTarget((e.currentTarget as HTMLInputElement).value)} data-testid="fwd-target" />
            </div>
          )}
          <button type="submit" class="btn btn-primary" disabled={busy} data-testid="fwd-save">
            Save
          </button>
        </form>
      )}
      {problem && (
        <p class="form-error" role="alert" data-testid="fwd-error">
          {problem}
        </p>
      )}
    </section>
  );
}
