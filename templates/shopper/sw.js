// Service worker for the shopper's pages, rendered by the server so that the files it keeps
// are the ones the pages load (url_for) and its cache is named after their content hash: a
// deploy that changes any of them starts a fresh cache and drops the old one.
// Pages: network first, else the copy kept on the phone, else the app's offline page.
// Static files: cache first. Queued reports: sent on Background Sync (store.js's outbox).
importScripts({{ url_for("static", filename="js/store.js")|tojson }});
const CACHE = {{ cache_name|tojson }};
const OFFLINE = {{ url_for("shopper.offline")|tojson }};
const PRECACHE = {{ precache|tojson }};
const HOME = {{ url_for("shopper.index")|tojson }};

// The assignment list too (the shopper's own, not a login page it was redirected to), so that
// the phone can show it offline even when the first visit left before it was kept.
self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(PRECACHE).then(() =>
    fetch(HOME, { credentials: "same-origin" })
      .then((r) => (r.ok && !r.redirected ? cache.put(HOME, r) : null))
      .catch(() => null)))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("tp-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

function keep(request, response) {
  if (response.ok && !response.redirected && response.type === "basic") {
    const copy = response.clone();
    caches.open(CACHE).then((cache) => cache.put(request, copy));
  }
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request).then((r) => keep(request, r))));
    return;
  }
  if (url.pathname.startsWith("/shopper/") || url.pathname.startsWith("/review/photos/")) {
    event.respondWith(fetch(request).then((r) => keep(request, r)).catch(() =>
      caches.match(request, { ignoreVary: true }).then((hit) => {
        if (hit) return hit;
        if (request.mode === "navigate") return caches.match(OFFLINE, { ignoreVary: true });
        return Response.error();
      })));
  }
});

// Background Sync: the browser wakes the worker when the connection is back, even with no
// page open; the pages retry on load and on "online" where the browser has no Background Sync.
self.addEventListener("sync", (event) => {
  if (event.tag !== "tp-outbox") return;
  // the open pages are told what became of their report: sent, or refused (to be fixed there)
  event.waitUntil(self.tpStore.flush(null).then((results) => {
    const told = results.filter((r) => r.status === "sent" || r.status === "refused").map((r) =>
      ({ type: "tp-" + r.status, assignment: r.assignment, url: r.url, message: r.message, errors: r.errors }));
    return self.clients.matchAll().then((clients) => {
      clients.forEach((c) => told.forEach((m) => c.postMessage(m)));
      if (results.some((r) => r.status === "retry")) throw new Error("retry later");
    });
  }));
});
