// Path routing on the History API; the server answers index.html for every app path.

import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { name: 'directory' }
  | { name: 'profile' }
  | { name: 'contact'; id: string }
  | { name: 'chats' }
  | { name: 'new-group' }
  | { name: 'chat'; id: string }
  | { name: 'chat-details'; id: string }
  | { name: 'calls'; tab: 'recent' | 'voicemail' }
  | { name: 'dial' }
  | { name: 'call'; to: string };

export function parseRoute(pathname: string, search = ''): Route {
  if (pathname === '/calls') return { name: 'calls', tab: 'recent' };
  if (pathname === '/calls/voicemail') return { name: 'calls', tab: 'voicemail' };
  if (pathname === '/calls/dial') return { name: 'dial' };
  if (pathname === '/call') return { name: 'call', to: new URLSearchParams(search).get('to') ?? '' };
  if (pathname === '/profile') return { name: 'profile' };
  if (pathname === '/chats') return { name: 'chats' };
  if (pathname === '/chats/new') return { name: 'new-group' };
  const details = /^\/chats\/([^/]+)\/details$/.exec(pathname);
  if (details) return { name: 'chat-details', id: decodeURIComponent(details[1]) };
  const chat = /^\/chats\/([^/]+)$/.exec(pathname);
  if (chat) return { name: 'chat', id: decodeURIComponent(chat[1]) };
  const m = /^\/people\/([^/]+)$/.exec(pathname);
  if (m) return { name: 'contact', id: decodeURIComponent(m[1]) };
  return { name: 'directory' };
}

const ROUTE_EVENT = 'vo:route';

export function navigate(path: string, replace = false): void {
  if (path === location.pathname + location.search) return;
  // Entries the app pushed are marked, so "back" knows it stays inside the app.
  if (replace) history.replaceState(history.state, '', path);
  else history.pushState({ inApp: true }, '', path);
  window.dispatchEvent(new Event(ROUTE_EVENT));
}

/** Goes back when the previous entry is this app's, else to `fallback`. */
export function goBack(fallback = '/'): void {
  if (history.state && (history.state as { inApp?: boolean }).inApp) history.back();
  else navigate(fallback, true);
}

export function useRoute(): Route {
  const [path, setPath] = useState(location.pathname + location.search);
  useEffect(() => {
    const update = () => setPath(location.pathname + location.search);
    window.addEventListener('popstate', update);
    window.addEventListener(ROUTE_EVENT, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(ROUTE_EVENT, update);
    };
  }, []);
  const q = path.indexOf('?');
  return q < 0 ? parseRoute(path) : parseRoute(path.slice(0, q), path.slice(q));
}

/** Props for an <a> that navigates inside the app without reloading it. */
export function linkProps(path: string): { href: string; onClick: (e: MouseEvent) => void } {
  return {
    href: path,
    onClick: (e: MouseEvent) => {
      if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
      e.preventDefault();
      navigate(path);
    },
  };
}
