// Web Push: a visible notification every time (browsers require it), opening what it is about when tapped (an
// on-call request, a concern). Its text and URL reach lock screens and push services: ids, never a pupil's name.
// Push is only a wake-up hint: the page always reads the server's state.
self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  event.waitUntil(self.registration.showNotification(data.title || "Corridor", {
    body: data.body || "Open Corridor to see what needs you.",
    tag: data.url || "corridor",
    renotify: true,
    requireInteraction: true,
    data: { url: data.url || "/oncall/board" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL(event.notification.data && event.notification.data.url || "/", self.location.origin);
  if (url.origin !== self.location.origin) return;
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
    for (const client of windows) {
      if ("focus" in client) { client.navigate(url.href); return client.focus(); }
    }
    return self.clients.openWindow(url.href);
  }));
});
