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
