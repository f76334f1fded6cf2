import { presenceText } from '../format';
import type { PresenceView } from '../types';

/** The presence of a user as text ("Busy — On a call"), marked when it may be out of date. */
export function PresenceLine({ presence, stale }: { presence: PresenceView | undefined; stale: boolean }) {
  if (!presence) {
    return (
      <span class="presence-label presence-unknown" data-testid="presence-label" data-shown="unknown">
        Status unknown
      </span>
    );
  }
  return (
    <span
      class={`presence-label presence-${presence.shown}${stale ? ' is-stale' : ''}`}
      data-testid="presence-label"
      data-shown={presence.shown}
      data-stale={stale ? 'true' : 'false'}
    >
      {presenceText(presence.shown, presence.activity)}
      {stale && <span class="sr-only"> (may be out of date)</span>}
    </span>
  );
}
