// Corridor's service worker: wiring only. It precaches the app shell (static files and the offline page)
// and answers a navigation with the offline page when there is no network. Pupil data is never put in
// Cache Storage: pages and fragments go straight to the network and are not stored.
"use strict";

const VERSION = "__VERSION__";
const SHELL_CACHE = "corridor-shell-" + VERSION;
const SHELL = __SHELL__;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL_CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload", credentials: "omit" }))))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("corridor-shell-") && k !== SHELL_CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;

  if (request.mode === "navigate") {
    // Network first, always: a page may hold pupil data and must never come from a cache.
    event.respondWith(
      fetch(request).catch(() => caches.match("/offline", { cacheName: SHELL_CACHE }))
    );
    return;
  }
  if (SHELL.includes(url.pathname)) {
    // Shell files: from the cache (they change only with a new worker version), else the network.
    event.respondWith(
      caches.match(url.pathname, { cacheName: SHELL_CACHE }).then((hit) => hit || fetch(request))
    );
  }
});
