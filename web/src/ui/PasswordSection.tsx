// Changing one's own password from the profile (PUT /api/v1/me/password).

import { useState } from 'preact/hooks';
import * as api from '../api';
import { ApiError, NetworkError } from '../api';
import { codePoints } from '../format';
import { showToast } from '../state/app';

/** SPEC §7: at least 10 characters (code points, as the server counts them). */
export const MIN_PASSWORD = 10;

/** What is wrong with the form before it is sent, or null. */
export function newPasswordProblem(current: string, next: string, confirm: string): string | null {
  if (current === '') return 'Enter your current password.';
  if (codePoints(next) < MIN_PASSWORD) return `The new password needs at least ${MIN_PASSWORD} characters.`;
  if (next !== confirm) return 'The new password and its confirmation differ.';
  return null;
}

/** What to tell the user when the server refused the change. */
export function passwordChangeProblem(err: unknown): string {
  if (err instanceof NetworkError) return 'Can’t reach the server. Check your connection and try again.';
  if (err instanceof ApiError) {
    if (err.status === 401) return 'Your current password is not right.';
    if (err.status === 429) {
      const minutes = Math.max(1, Math.ceil((err.retryAfter ?? 60) / 60));
      return `Too many wrong passwords. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`;
    }
    if (err.status === 400) return err.message;
  }
  return 'Your password could not be changed. Try again.';
}

export function PasswordSection({ onOthersLoggedOut }: { onOthersLoggedOut?: () => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [others, setOthers] = useState(true);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    const bad = newPasswordProblem(current, next, confirm);
    setProblem(bad);
    if (bad) return;
    setBusy(true);
    try {
      await api.changePassword(current, next, others);
      setCurrent('');
      setNext('');
      setConfirm('');
      showToast(others ? 'Password changed; your other devices are logged out' : 'Password changed');
      if (others) onOthersLoggedOut?.();
    } catch (err) {
      setProblem(passwordChangeProblem(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="card" aria-labelledby="password-title">
      <h2 id="password-title">Change password</h2>
      <form onSubmit={submit} noValidate>
        <div class="field">
          <label for="password-current">Current password</label>
          <input
            id="password-current"
            type="password"
            autocomplete="current-password"
            value={current}
            onInput={(e) => setCurrent(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="password-new">New password</label>
          <input
            id="password-new"
            type="password"
            autocomplete="new-password"
            aria-describedby="password-new-hint"
            value={next}
            onInput={(e) => setNext(e.currentTarget.value)}
          />
          <span id="password-new-hint" class="muted small">
            At least {MIN_PASSWORD} characters.
          </span>
        </div>
        <div class="field">
          <label for="password-confirm">Confirm new password</label>
          <input
            id="password-confirm"
            type="password"
            autocomplete="new-password"
            value={confirm}
            onInput={(e) => setConfirm(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label class="check">
            <input type="checkbox" checked={others} onChange={(e) => setOthers(e.currentTarget.checked)} /> Log out my other devices
          </label>
        </div>
        <p class="form-error" role="alert" data-testid="password-error">
          {problem ?? ''}
        </p>
        <button type="submit" class="btn btn-primary" disabled={busy} aria-busy={busy || undefined}>
          Change password
        </button>
      </form>
    </section>
  );
}
