import { totalUnread } from '../state/chat';
import { unheardCount } from '../state/calls';
import { useApp, useCalls } from './hooks';
import { linkProps, type Route } from './router';

/** The bottom tab bar: People and Chats, the latter with the number of unread messages. */
export function TabBar({ route }: { route: Route }) {
  const unread = useApp((s) => totalUnread(s.chat));
  const people = route.name === 'directory' || route.name === 'contact';
  const chats = route.name === 'chats';
  const shown = unread > 99 ? '99+' : String(unread);
  const unheard = useCalls((s) => unheardCount(s.voicemails));
  const calls = route.name === 'calls' || route.name === 'dial' || route.name === 'call';
  return (
    <nav class="tabbar" aria-label="Sections">
      <a class="tab" {...linkProps('/')} aria-current={people ? 'page' : undefined} data-testid="tab-people">
        <svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false">
          <path
            d="M16 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm-8 0a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm0 2c-2.3 0-7 1.2-7 3.5V19h14v-2.5C15 14.2 10.3 13 8 13zm8 0c-.3 0-.6 0-1 .1 1.2.8 2 2 2 3.4V19h6v-2.5c0-2.3-4.7-3.5-7-3.5z"
            fill="currentColor"
          />
        </svg>
        <span>People</span>
      </a>
      <a class="tab" {...linkProps('/chats')} aria-current={chats ? 'page' : undefined} data-testid="tab-chats">
        <span class="tab-icon">
          <svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false">
            <path d="M20 2H4a2 2 0 0 0-2 2v18l4-4h14a2 2 0 0 0 2-2V4a2 2 0 0 0-2-2zm0 14H5.2L4 17.2V4h16v12z" fill="currentColor" />
          </svg>
          {unread > 0 && (
            <span class="badge tab-badge" data-testid="chats-badge" aria-hidden="true">
              {shown}
            </span>
          )}
        </span>
        <span>Chats</span>
        {unread > 0 && <span class="sr-only">, {unread} unread</span>}
      </a>
      <a class="tab" {...linkProps('/calls')} aria-current={calls ? 'page' : undefined} data-testid="tab-calls">
        <span class="tab-icon">
          <svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false">
            <path
              d="M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1z"
              fill="currentColor"
            />
          </svg>
          {unheard > 0 && (
            <span class="badge tab-badge" data-testid="calls-badge" aria-hidden="true">
              {unheard > 99 ? '99+' : String(unheard)}
            </span>
          )}
        </span>
        <span>Calls</span>
        {unheard > 0 && <span class="sr-only">, {unheard} new voicemail{unheard === 1 ? '' : 's'}</span>}
      </a>
    </nav>
  );
}
