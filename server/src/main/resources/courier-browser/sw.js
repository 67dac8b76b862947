// The service worker keeps a copy of the page's files so that the page opens, with its outbox and
// history from IndexedDB, while the server cannot be reached. Network first: when the server
// answers, its current files are used (and cached); only when it does not is the copy served.
// It touches nothing but this page's own files: the transports' requests pass it by.

const CACHE = 'courier-browser-2';
const SCOPE = new URL('./', self.location).pathname;
const FILES = ['./', 'index.html', 'style.css', 'app.js', 'client.js', 'store.js', 'transports.js', 'e2e.js', 'secure.js', 'config.json'];

self.addEventListener('install', (event) => {
    event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
    event.waitUntil(caches.keys()
        .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
        .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
    const url = new URL(event.request.url);
    if (event.request.method !== 'GET' || url.origin !== self.location.origin || !url.pathname.startsWith(SCOPE)) {
        return;
    }
    event.respondWith(fetch(event.request).then((response) => {
        if (response.ok) {
            const copy = response.clone();
            event.waitUntil(caches.open(CACHE).then((cache) => cache.put(event.request, copy)));
        }
        return response;
    }).catch(() => caches.match(event.request, { ignoreSearch: true })
        .then((cached) => cached ?? Response.error())));
});
