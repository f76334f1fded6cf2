import { useState } from 'preact/hooks';
import { canAskPermission, dismissOffer, offerDismissed } from '../push';
import { turnOnNotifications } from '../state/app';
import { useApp } from './hooks';

/**
 * After login, offers to turn notifications on (SPEC §9). The browser's permission prompt
 * comes only from the click on "Turn on notifications", never by itself.
 */
export function PushOffer() {
  const push = useApp((s) => s.push);
  const [hidden, setHidden] = useState(offerDismissed);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  if (hidden || push !== 'off' || (!canAskPermission() && problem === null)) return null;

  async function turnOn() {
    setBusy(true);
    setProblem(null);
    try {
      const state = await turnOnNotifications();
      if (state !== 'on') setHidden(true);
    } catch {
      setProblem('Notifications could not be turned on. Try again from your profile.');
    } finally {
      setBusy(false);
    }
  }

  function notNow() {
    dismissOffer();
    setHidden(true);
  }

  return (
    <section class="card push-offer" aria-label="Notifications" data-testid="push-offer">
      <p class="push-offer-text">Get notified of messages and calls while Virtual Office is closed.</p>
      <div class="push-offer-actions">
        <button type="button" class="btn btn-primary btn-small" onClick={turnOn} disabled={busy} aria-busy={busy || undefined}>
          Turn on notifications
        </button>
        <button type="button" class="btn btn-quiet btn-small" onClick={notNow}>
          Not now
        </button>
      </div>
      <p class="form-error" role="alert">
        {problem ?? ''}
      </p>
    </section>
  );
}
