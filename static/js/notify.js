// Live alerts on every signed-in page: a Server-Sent Events stream renders the same partial as /notifications/,
// and keeps the header's unread count.
(function () {
  "use strict";
  var list = document.getElementById("live-alerts");
  if (!list || !window.EventSource) return;
  var count = document.getElementById("alert-count");
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var source = new EventSource(list.dataset.stream);
  function show(n) {
    if (!count) return;
    count.textContent = String(n);
    count.hidden = n < 1;
  }
  // The stream opens with the person's unread count (on every page load, and again after a reconnect).
  source.addEventListener("count", function (event) {
    show(parseInt(event.data, 10) || 0);
  });
  source.addEventListener("notification", function (event) {
    var holder = document.createElement("ul");
    holder.innerHTML = event.data;  // server-rendered, escaped by the template engine
    var item = holder.firstElementChild;
    if (!item || document.getElementById(item.id)) return;
    item.querySelectorAll('input[name="_csrf_token"]').forEach(function (input) { input.value = csrf; });
    list.prepend(item);
    if (count) show((parseInt(count.textContent || "0", 10) || 0) + 1);
    if (navigator.vibrate && (!navigator.userActivation || navigator.userActivation.hasBeenActive)) navigator.vibrate(200);
  });
  // The session ended: no more alerts on this page (it is not reloaded: a form being filled in stays, and the
  // outbox keeps what is sent from it until its maker signs in again).
  source.addEventListener("ended", function () { source.close(); });
  window.addEventListener("pagehide", function () { source.close(); });
})();
