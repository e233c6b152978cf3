// A home visit's page, for someone going on it: asks the service worker to keep the visit pack on this phone
// (service_worker/visitpack.js fetches it no-store and seals it in IndexedDB), or to drop it once the server
// no longer gives it (checked out, cancelled). Nothing of the pack passes through this page.
(function () {
  "use strict";
  var match = /^\/home-visits\/(\d+)$/.exec(location.pathname);
  if (!match || !("serviceWorker" in navigator)) return;
  var visit = Number(match[1]);

  function ask(question) {
    return navigator.serviceWorker.ready.then(function (registration) {
      var worker = navigator.serviceWorker.controller || registration.active;
      if (!worker) throw new Error("no service worker");
      return new Promise(function (resolve, reject) {
        var channel = new MessageChannel();
        var timer = setTimeout(function () { reject(new Error("the service worker did not answer")); }, 30000);
        channel.port1.onmessage = function (event) { clearTimeout(timer); resolve(event.data || {}); };
        worker.postMessage(question, [channel.port2]);
      });
    });
  }

  function say(text) {
    var status = document.getElementById("pack-kept");
    if (!status) {
      status = document.createElement("p");
      status.id = "pack-kept";
      status.className = "notice";
      status.setAttribute("role", "status");
      var heading = document.getElementById("visit-h");
      if (heading && heading.parentNode) heading.parentNode.insertBefore(status, heading.nextSibling);
    }
    status.textContent = text;
  }

  if (new URLSearchParams(location.search).get("queued")) {
    say("Saved on this phone, not sent yet: it will be sent by itself when there is signal.");
  }
  ask({ type: "visitpack:keep", visit: visit }).then(function (answer) {
    document.documentElement.dataset.visitPack = answer.kept ? "kept" : answer.wiped ? "wiped" : "not-kept";
    if (answer.kept) {
      say("The visit pack is on this phone: the address, contacts and notes can be read without signal until " +
        "you check out.");
    }
  }, function () {});
})();
