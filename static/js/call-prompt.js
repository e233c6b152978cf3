// A pupil's profile: after a tap-to-call, coming back to Corridor offers "Log this call to <name>?".
// The tel: link's click keeps which pupil and which contact were called (ids only) in sessionStorage: this tab
// only, gone when it closes, and never in a URL. The name shown comes from the page itself.
(function () {
  "use strict";
  var KEY = "corridor-call";
  var MAX_AGE_MS = 2 * 60 * 60 * 1000;  // a call made hours ago is not "this call"
  var prompt = document.getElementById("call-prompt");
  if (!prompt) return;
  var pupil = prompt.dataset.pupil;

  function read() {
    try { return JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch (err) { return null; }
  }
  function forget() {
    try { sessionStorage.removeItem(KEY); } catch (err) { /* private mode */ }
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-call-contact]");
    if (!link) return;
    try {
      sessionStorage.setItem(KEY, JSON.stringify({ pupil: pupil, contact: link.dataset.callContact, at: Date.now() }));
    } catch (err) { /* private mode: no prompt, the "Log a call" link still works */ }
  });

  function offer() {
    if (document.visibilityState !== "visible") return;
    var call = read();
    if (!call || call.pupil !== pupil || Date.now() - call.at > MAX_AGE_MS) return;
    var link = document.querySelector('a[data-call-contact="' + CSS.escape(String(call.contact)) + '"]');
    if (!link) return;
    document.getElementById("call-prompt-text").textContent = "Log this call to " + link.dataset.callName + "?";
    document.getElementById("call-prompt-link").href = "/contact-log/new?pupil=" + encodeURIComponent(pupil)
      + "&contact=" + encodeURIComponent(call.contact) + "&method=phone";
    prompt.hidden = false;
  }

  document.getElementById("call-prompt-link").addEventListener("click", forget);
  document.getElementById("call-prompt-dismiss").addEventListener("click", function () {
    forget();
    prompt.hidden = true;
  });
  document.addEventListener("visibilitychange", offer);
  window.addEventListener("pageshow", offer);
  window.addEventListener("focus", offer);
})();
