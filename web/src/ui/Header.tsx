import { statusLabel } from '../format';
import { retryStreamNow } from '../state/app';
import { conversationTitle } from '../state/chat';
import { meAsContact } from '../state/view';
import { Avatar } from './Avatar';
import { Logo } from './Logo';
import { useApp } from './hooks';
import { goBack, linkProps, type Route } from './router';

const TITLES: Record<Route['name'], string> = {
  directory: '',
  profile: 'Profile',
  contact: 'Contact',
  chats: '',
  chat: 'Chat',
  'new-group': 'New group',
  'chat-details': 'Details',
  calls: '',
  dial: 'Dial pad',
  call: 'Call',
};

/** The sections of the tab bar: their screens have no back button. */
const TOP_LEVEL = new Set<Route['name']>(['directory', 'chats', 'calls']);

export function Header({ route }: { route: Route }) {
  const me = useApp((s) => s.view.me);
  const self = useApp((s) => meAsContact(s.view));
  const current = useApp((s) => s.stream.current);
  const chatTitle = useApp((s) => {
    const c = route.name === 'chat' ? s.chat.conversations[route.id] : undefined;
    return c && s.view.me ? conversationTitle(c, s.view.me.id) : null;
  });
  const sub = !TOP_LEVEL.has(route.name);
  const title = chatTitle ?? (TITLES[route.name] || me?.org.name || 'Virtual Office');
  return (
    <header class="topbar">
      {sub ? (
        <button type="button" class="icon-btn" aria-label="Back" onClick={() => goBack(route.name === 'chat-details' ? `/chats/${encodeURIComponent(route.id)}` : route.name === 'chat' || route.name === 'new-group' ? '/chats' : route.name === 'dial' || route.name === 'call' ? '/calls' : '/')}>
          <svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false">
            <path d="M15.4 5.4 14 4l-8 8 8 8 1.4-1.4L8.8 12z" fill="currentColor" />
          </svg>
        </button>
      ) : (
        <span class="topbar-logo">
          <Logo size={32} />
        </span>
      )}
      {/* The screen's own heading names it for screen readers; this is the visual title. */}
      <div class="topbar-title" aria-hidden="true" title={title}>
        {title}
      </div>
      {me && self && (
        <a
          class="me-btn"
          {...linkProps('/profile')}
          aria-current={route.name === 'profile' ? 'page' : undefined}
          aria-label={`Your profile: ${me.name}, ${statusLabel(me.presence.status)}`}
          data-testid="header-avatar"
          data-status={me.presence.status}
        >
          <Avatar id={me.id} name={me.name} photoUrl={me.photo_url} size="sm" shown={self.presence.shown} stale={!current} />
        </a>
      )}
    </header>
  );
}

/** Says when the live view may be out of date, and why. */
export function ConnectionBanner() {
  const stream = useApp((s) => s.stream);
  const show = !stream.current && (stream.everCurrent || stream.attempt > 0);
  return (
    <div class="banner-slot" role="status" aria-live="polite">
      {show && (
        <div class="banner" data-testid="conn-banner">
          <span>
            {stream.connected ? 'Reconnected — catching up…' : 'Offline — reconnecting…'}
            <span class="sr-only"> Presence shown may be out of date.</span>
          </span>
          {!stream.connected && stream.retryAt !== null && (
            <button type="button" class="btn btn-small" onClick={retryStreamNow}>
              Retry now
            </button>
          )}
        </div>
      )}
    </div>
  );
}
