// Web Push for responders and the DSL team (loaded by the on-call board and the list of concerns): subscribe
// this device (again each time the app opens, as subscriptions can change) so an on-call alert or a new
// safeguarding concern wakes the phone when Corridor is in the background.
(function () {
  "use strict";
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !window.Notification) return;
  var button = document.getElementById("enable-push");
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function b64urlToBytes(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function subscribe() {
    return Promise.all([navigator.serviceWorker.ready, fetch("/notifications/push/key").then(function (r) { return r.json(); })])
      .then(function (both) {
        return both[0].pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64urlToBytes(both[1].key) });
      })
      .then(function (subscription) {
        return fetch("/notifications/push/subscribe", {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
          body: JSON.stringify(subscription.toJSON())
        });
      });
  }

  if (Notification.permission === "granted") {
    subscribe().catch(function (err) { console.warn("Corridor: push subscription failed", err); });
  } else if (button && Notification.permission !== "denied") {
    button.hidden = false;
    button.addEventListener("click", function () {
      Notification.requestPermission().then(function (answer) {
        if (answer === "granted") return subscribe().then(function () { button.hidden = true; });
      });
    });
  }
})();
