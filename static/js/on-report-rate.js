// Rating a pupil on report (the 'on report now' list, the rating page, the pupil's profile): a tap on a rating is
// sent without leaving the page, carrying the moment it was made (made_at: a rating kept on the phone without
// signal and sent later must not replace a newer one). The service worker's outbox (service_worker/replay.js)
// keeps it when there is no signal; this script says which happened, next to the target.
// Without this script the form still posts and the server shows the page again.
(function () {
  "use strict";

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function say(form, text) {
    var state = form.querySelector(".rate-state");
    if (state) state.textContent = text;
  }

  function press(form, button) {
    Array.prototype.forEach.call(form.querySelectorAll("button.score"), function (b) {
      var on = b === button;
      b.classList.toggle("secondary", !on);
      if (on) b.setAttribute("aria-pressed", "true"); else b.removeAttribute("aria-pressed");
    });
  }

  // The pupil's line in the 'on report now' list: how many of the targets are rated now.
  function recount(form) {
    var item = form.closest(".now-pupil");
    var count = item && item.querySelector(".now-count");
    if (!count) return;
    var forms = item.querySelectorAll("form.rate-form");
    var rated = item.querySelectorAll('form.rate-form[data-rated="yes"]').length;
    count.textContent = rated >= forms.length ? "rated" : rated + " of " + forms.length + " targets rated";
  }

  function refusal(response) {
    return response.text().then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var found = doc.getElementById("refused");
      return found ? found.textContent.trim() : "Not saved: the school's server did not accept it (" + response.status + ").";
    }, function () { return "Not saved (" + response.status + ")."; });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("rate-form")) return;
    var made = form.querySelector("input.made-at");
    if (made) made.value = new Date().toISOString();
    if (!window.fetch || !window.URLSearchParams || !window.DOMParser) return;  // the plain post
    event.preventDefault();
    if (form.dataset.sending === "yes") return;  // one rating at a time per target: a double tap sends one
    var button = event.submitter;
    var body = new URLSearchParams();
    new FormData(form).forEach(function (value, name) { body.append(name, value); });
    if (button && button.name) body.append(button.name, button.value);
    var label = button ? button.textContent.trim() : "";
    form.dataset.sending = "yes";
    say(form, "Sending " + label + "…");
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin", redirect: "manual",
      headers: { "Accept": "text/html" } }).then(function (response) {
      var kept = response.headers.get("X-Corridor-Outbox");
      if (kept) {
        press(form, button);
        form.dataset.rated = "yes";
        say(form, kept === "signin"
          ? "Saved on this phone, not sent yet: " + label + ". Sign in again and it will be sent."
          : "Saved on this phone, not sent yet: " + label + ". It will be sent by itself when there is signal.");
      } else if (response.type === "opaqueredirect" || response.ok) {
        press(form, button);
        form.dataset.rated = "yes";
        say(form, "Saved: " + label + ".");
      } else if (response.status === 400) {
        return refusal(response).then(function (text) { say(form, text); });
      } else {
        say(form, "Not saved: the school's server did not accept it (" + response.status + "). See Unsent entries.");
        return;
      }
      // The next tap on this target is a new rating (a change of mind), with a key of its own.
      form.querySelector('input[name="idempotency_key"]').value = newKey();
      recount(form);
    }, function () {
      say(form, "No signal and this phone cannot keep it: not saved. Try again when there is signal.");
    }).then(function () { form.dataset.sending = ""; }, function () { form.dataset.sending = ""; });
  });
})();
