// The Virtual Office service worker: keeps the app shell (this build's HTML, scripts,
// styles, icons and manifest) available offline. The build fills in the cache name and the
// list of files. API calls and the event stream are never cached: they go to the network.

const CACHE = self.__VO_CACHE__;
const PRECACHE = self.__VO_PRECACHE__;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(PRECACHE.map((url) => new Request(url, { cache: 'reload' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('vo-shell-') && k !== CACHE).map((k) => caches.delete(k)))),
    // No clients.claim(): a page keeps the network it loaded with, and the next page load is
    // served by this worker. Taking over pages mid-load stalled their first API call.
  );
});

function isApi(url) {
  return url.pathname.startsWith('/api/');
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || isApi(url)) return;

  // Pages: the network first, so a new build shows at once; the cached shell when offline.
  if (req.mode === 'navigate') {
    event.respondWith(
      fetch(req)
        .then((res) => {
          if (res.ok) {
            const copy = res.clone();
            caches.open(CACHE).then((cache) => cache.put('/', copy));
          }
          return res;
        })
        .catch(() => caches.open(CACHE).then((cache) => cache.match('/')).then((res) => res || Response.error())),
    );
    return;
  }

  // Hashed assets never change under the same name: the cache first.
  event.respondWith(
    caches.open(CACHE).then((cache) =>
      cache.match(req).then(
        (hit) =>
          hit ||
          fetch(req).then((res) => {
            if (res.ok && url.pathname.startsWith('/assets/')) cache.put(req, res.clone());
            return res;
          }),
      ),
    ),
  );
});

// Web Push (SPEC §9): the server pushes JSON {type, title, body, url, tag} to a logged-in
// session whose app is closed. The payload is data only: it is parsed, never run.

const TITLE_MAX = 200;
const BODY_MAX = 1000;

/** The payload of a push, or null when it is not one of ours. */
function readPush(data) {
  if (!data) return null;
  let p;
  try {
    p = data.json();
  } catch {
    return null;
  }
  if (!p || typeof p !== 'object' || typeof p.title !== 'string' || p.title === '') return null;
  return {
    title: p.title.slice(0, TITLE_MAX),
    body: typeof p.body === 'string' ? p.body.slice(0, BODY_MAX) : '',
    tag: typeof p.tag === 'string' ? p.tag.slice(0, 200) : '',
    url: appPath(p.url),
  };
}

/**
 * The path inside this app that `url` names: a path ("/chats/c1") or an absolute URL of this
 * origin. Anything else (another origin, "//host", "javascript:") opens the app's start page.
 */
function appPath(url) {
  if (typeof url !== 'string' || url.length > 2048) return '/';
  let u;
  try {
    u = new URL(url, self.location.origin);
  } catch {
    return '/';
  }
  if (u.origin !== self.location.origin) return '/';
  return u.pathname + u.search + u.hash;
}

self.addEventListener('push', (event) => {
  const p = readPush(event.data);
  if (!p) return;
  const options = { body: p.body, data: { url: p.url }, icon: '/icons/icon-192.png', badge: '/icons/icon-192.png' };
  if (p.tag) options.tag = p.tag;
  event.waitUntil(self.registration.showNotification(p.title, options));
});

/**
 * Opens `path` in the app: an open window of it is focused and told to show that screen
 * (the app routes without reloading, its event stream stays up); without one, a new window.
 */
async function openApp(path) {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const client = windows.find((c) => new URL(c.url).origin === self.location.origin);
  if (!client) return self.clients.openWindow(path);
  try {
    await client.focus();
  } catch {
    // Focusing needs the click's user activation; the screen still changes.
  }
  client.postMessage({ type: 'vo:navigate', url: path });
  return client;
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const done = openApp(appPath(event.notification.data && event.notification.data.url));
  try {
    event.waitUntil(done);
  } catch {
    // An event the browser did not dispatch itself cannot be extended; the work still runs.
  }
});
