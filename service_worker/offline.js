// The app shell: precached static files and the offline page, versioned with the worker. Pupil data is never
// put in Cache Storage: pages and fragments go straight to the network and are not stored. The unsent
// entries' list is part of the offline page and is filled in from the outbox, on the phone.
"use strict";

const SHELL_CACHE = "corridor-shell-" + VERSION;
const OUTBOX_PAGE_TIMEOUT_MS = 4000;

function precacheShell() {
  return caches.open(SHELL_CACHE)
    .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload", credentials: "omit" }))));
}

// Old shells go; the outbox (IndexedDB) is never touched by an update.
function dropOldShells() {
  return caches.keys().then((keys) => Promise.all(
    keys.filter((k) => k.startsWith("corridor-shell-") && k !== SHELL_CACHE).map((k) => caches.delete(k))));
}

function offlinePage() {
  return caches.match("/offline", { cacheName: SHELL_CACHE });
}

// Network first, always: a page may hold pupil data and must never come from a cache. The list of unsent
// entries is wanted most when the network is bad, so it does not wait long for it.
function navigate(request, url) {
  // A home visit's page without signal: the offline visit page, which reads the visit pack from IndexedDB.
  if (/^\/home-visits\/\d+$/.test(url.pathname)) {
    return fetch(request).catch(() => caches.match("/home-visits/offline", { cacheName: SHELL_CACHE })
      .then((hit) => hit || offlinePage()));
  }
  if (url.pathname !== "/outbox/") return fetch(request).catch(() => offlinePage());
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(offlinePage()), OUTBOX_PAGE_TIMEOUT_MS);
    fetch(request).then((response) => { clearTimeout(timer); resolve(response); },
      () => { clearTimeout(timer); resolve(offlinePage()); });
  });
}

// Shell files: from the cache (they change only with a new worker version), else the network.
function shellFile(request, url) {
  return caches.match(url.pathname, { cacheName: SHELL_CACHE }).then((hit) => hit || fetch(request));
}
