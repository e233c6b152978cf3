// Corridor's service worker: wiring only. offline.js precaches the shell and answers navigations without
// network; outbox.js keeps entries made without signal (IndexedDB, encrypted); replay.js sends them. The
// server serves these files as one script (src/app/controllers/home.py), with SHELL and VERSION filled in.
"use strict";

const VERSION = "__VERSION__";
const SHELL = __SHELL__;

self.addEventListener("install", (event) => {
  event.waitUntil(precacheShell().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(dropOldShells().then(() => self.clients.claim()).then(() => replayOutbox("start"))
    .then(() => wipeOldPacks()));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (isOutboxPost(request, url)) {
    const tap = visitTap(url);
    if (tap && (tap.step === "safe" || tap.step === "checkout")) event.waitUntil(wipePack(tap.visit));  // checked out: the pack goes now
    event.respondWith(sendOrKeep(event));
    return;
  }
  if (request.method !== "GET") return;
  if (request.mode === "navigate") {
    event.respondWith(navigate(request, url));
    return;
  }
  if (SHELL.includes(url.pathname)) event.respondWith(shellFile(request, url));
});

// Background Sync fires when the signal is back. A failed run must reject, or Chromium will not retry.
self.addEventListener("sync", (event) => {
  if (event.tag !== SYNC_TAG) return;
  event.waitUntil(replayOutbox("sync").then((result) => {
    if (result.retry) throw new Error("outbox: entries still waiting");
  }));
});

self.addEventListener("online", () => { replayOutbox("online"); });

// Pages ask through messages ({type: "outbox:..."} or "visitpack:...", answered on the port they send); see
// static/js/outbox-page.js and static/js/visit-pack.js.
self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (typeof data.type !== "string") return;
  const answer = data.type.startsWith("outbox:") ? answerPage : data.type.startsWith("visitpack:") ? answerPack : null;
  if (!answer) return;
  const reply = (answer) => { if (event.ports && event.ports[0]) event.ports[0].postMessage(answer); };
  event.waitUntil(answer(data, reply).catch((err) => reply({ error: String(err && err.message || err) })));
});

// The worker starts when the browser wakes it: whatever is waiting gets a try (once every part has loaded).
queueMicrotask(() => { replayOutbox("start"); wipeOldPacks().catch(() => {}); });
