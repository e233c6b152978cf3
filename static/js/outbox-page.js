// Every page: the count of unsent entries, who made an entry, the list of unsent entries with "send now",
// and a warning before signing out with entries still on the phone. The entries themselves live in the
// service worker's outbox (service_worker/outbox.js); this page only asks the worker (messages "outbox:*").
(function () {
  "use strict";
  if (!("serviceWorker" in navigator)) return;

  var OFFLINE_FORMS = ["/incidents/", "/concerns/", "/contact-log/", "/gate/"];  // the same list as service_worker/replay.js
  var VISIT_TAP = /^\/home-visits\/\d+\/(start|arrive|extend|safe|checkout|outcome)$/;  // as service_worker/visitpack.js
  var RATING = /^\/on-report\/\d+\/rate$/;  // as service_worker/replay.js
  // The second check-out (duress) is listed as "I'm safe" too: the list must not give it away to anyone watching.
  var VISIT_STEPS = { start: "Start visit", arrive: "I'm at the door", extend: "15 more minutes", safe: "I'm safe",
    checkout: "I'm safe", outcome: "Doorstep outcome" };
  var badge = document.getElementById("outbox-badge");
  var badgeCount = document.getElementById("outbox-count");
  var meta = document.querySelector('meta[name="person"]');
  var me = meta ? { person: meta.content, label: meta.dataset.label || "" } : null;
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var section = document.getElementById("outbox");

  function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }

  // One question to the worker, answered on a port of our own.
  function ask(question) {
    return navigator.serviceWorker.ready.then(function (registration) {
      var worker = navigator.serviceWorker.controller || registration.active;
      if (!worker) throw new Error("no service worker");
      return new Promise(function (resolve, reject) {
        var channel = new MessageChannel();
        var timer = setTimeout(function () { reject(new Error("the service worker did not answer")); }, 30000);
        channel.port1.onmessage = function (event) { clearTimeout(timer); resolve(event.data || {}); };
        question.v = 1;
        worker.postMessage(question, [channel.port2]);
      });
    });
  }

  function showCount(counts) {
    if (!counts || typeof counts.count !== "number" || !badge) return;
    badge.hidden = counts.count === 0;
    badgeCount.textContent = String(counts.count);
    document.documentElement.dataset.outboxCount = String(counts.count);
  }

  navigator.serviceWorker.addEventListener("message", function (event) {
    var data = event.data || {};
    if (data.type !== "outbox:changed") return;
    showCount(data);
    if (section) refreshList();
  });

  // Opening the app (or coming back to it) and the signal coming back are replay triggers.
  function hello() {
    return ask({ type: "outbox:hello", person: me && me.person, label: me && me.label }).then(showCount, function () {});
  }
  hello();
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "visible") hello(); });
  window.addEventListener("online", function () { ask({ type: "outbox:send-now" }).then(showCount, function () {}); });

  // An entry remembers who made it (the worker sends it only from their session) and what it was, for the
  // list: pupils' names stay on the phone, sealed in the outbox, and are never sent to the server this way.
  function summarise(form, submitter) {
    var tap = VISIT_TAP.exec(new URL(form.action, location.href).pathname);
    if (tap) return { kind: "Home visit", pupils: [], what: VISIT_STEPS[tap[1]], where: "", personLabel: me ? me.label : "" };
    if (RATING.test(new URL(form.action, location.href).pathname)) {
      return { kind: "On report rating", pupils: form.dataset.pupilName ? [form.dataset.pupilName] : [],
        what: (form.dataset.target || "") + (submitter ? ": " + submitter.textContent.trim() : ""), where: "",
        personLabel: me ? me.label : "" };
    }
    var pupils = Array.prototype.map.call(form.querySelectorAll("#chosen > li"), function (li) {
      var name = li.querySelector(".name");
      return name ? name.textContent.trim() : "";
    }).filter(Boolean);
    if (form.dataset.pupilName) pupils.push(form.dataset.pupilName);
    var checked = form.querySelector('input[name="category_id"]:checked');
    var label = checked && checked.closest("label");
    var span = label && label.querySelector("span");
    var what = span && span.firstChild ? span.firstChild.textContent.trim() : "";
    var where = form.querySelector("select[name=location_id]");
    var kind = form.id === "concern-form" ? "Safeguarding concern" : form.id === "contact-form" ? "Contact log"
      : form.classList.contains("gate-late") ? "Late at the gate"
      : (label && label.classList.contains("positive") ? "Reward" : "Incident");
    return { kind: kind, pupils: pupils, what: what,
      where: where && where.value ? where.selectedOptions[0].textContent.trim() : "", personLabel: me ? me.label : "" };
  }

  function setHidden(form, name, value) {
    var input = form.querySelector('input[type=hidden][name="' + name + '"]');
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      form.appendChild(input);
    }
    input.value = value;
  }

  // On submit, not on every FormData: htmx builds FormData from the same form for the pupil search.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!navigator.serviceWorker.controller || !me) return;
    var path = new URL(form.action, location.href).pathname;
    if (OFFLINE_FORMS.indexOf(path) === -1 && !VISIT_TAP.test(path) && !RATING.test(path)) return;
    setHidden(form, "_person", me.person);
    setHidden(form, "_summary", JSON.stringify(summarise(form, event.submitter)));
  }, true);

  if (me && navigator.storage && navigator.storage.persist) {
    // Ask the browser not to evict the outbox under storage pressure.
    navigator.storage.persisted().then(function (yes) { return yes || navigator.storage.persist(); }).catch(function () {});
  }

  // Signing out clears Corridor's data on this phone (Clear-Site-Data): warn first if entries are waiting.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (new URL(form.action, location.href).pathname !== "/signout" || form.dataset.outboxChecked === "yes") return;
    event.preventDefault();
    function signOut() {
      form.dataset.outboxChecked = "yes";
      try { sessionStorage.setItem("corridor-signing-out", "1"); } catch (err) { /* private mode */ }
      form.submit();
    }
    ask({ type: "outbox:count" }).then(function (counts) {
      if (!counts.count) return signOut();
      warnBeforeSignOut(form, counts.count, signOut);
    }, signOut);
  }, true);

  function warnBeforeSignOut(form, count, signOut) {
    var box = document.getElementById("signout-warning");
    if (!box) {
      box = document.createElement("div");
      box.className = "card";
      box.id = "signout-warning";
      box.setAttribute("role", "alert");
      box.innerHTML = '<p id="signout-warning-text"></p>' +
        '<button type="button" class="button wide" id="signout-send">Send them now</button>' +
        '<button type="button" class="button wide danger" id="signout-anyway">Sign out and delete them</button>';
      form.insertAdjacentElement("afterend", box);
      box.querySelector("#signout-anyway").addEventListener("click", signOut);
      box.querySelector("#signout-send").addEventListener("click", function (event) {
        var button = event.currentTarget;
        button.disabled = true;
        ask({ type: "outbox:send-now" }).then(function (result) {
          button.disabled = false;
          showCount(result);
          if (!result.count) {
            text.textContent = "Everything has been sent. Signing you out…";
            return signOut();
          }
          text.textContent = plural(result.count, "entry is", "entries are") + " still not sent: there is no signal, " +
            "or they need attention (see Unsent entries). Signing out now deletes them from this phone.";
        }, function () { button.disabled = false; });
      });
    }
    var text = box.querySelector("#signout-warning-text");
    text.textContent = plural(count, "entry on this phone has", "entries on this phone have") + " not been sent " +
      "to the school yet. Signing out deletes them from this phone.";
    box.querySelector("#signout-send").focus();
  }

  // Where Clear-Site-Data is not supported, the signed-out page clears the outbox itself.
  if (location.pathname === "/signed-out") {
    var signingOut = null;
    try { signingOut = sessionStorage.getItem("corridor-signing-out"); sessionStorage.removeItem("corridor-signing-out"); } catch (err) { /* */ }
    if (signingOut && window.indexedDB) {
      indexedDB.deleteDatabase("corridor-outbox");
      indexedDB.deleteDatabase("corridor-visit-pack");  // the visit packs (service_worker/visitpack.js)
    }
  }

  // The list of unsent entries (/outbox/, and the offline page when something waits) -----------------------
  if (!section) return;
  var list = document.getElementById("outbox-list");
  var empty = document.getElementById("outbox-empty");
  var status = document.getElementById("outbox-status");
  var sendButton = document.getElementById("outbox-send");
  var template = document.getElementById("outbox-entry");
  var FIELD_LABELS = { occurred_at: "When", note: "Note", seen_or_said: "What was seen or heard",
    childs_words: "The child's own words", place: "Where", present: "Who else was there",
    action_taken: "What was done straight away" };
  var queued = new URLSearchParams(location.search).get("queued");
  var QUEUED_TEXT = {
    "1": "Saved on this phone, not sent yet. It will be sent by itself when there is signal.",
    signin: "Saved on this phone, not sent yet. Sign in again and it will be sent.",
    attention: "Not sent: the school's server could not accept it. See below what it said.",
  };
  if (queued) status.textContent = QUEUED_TEXT[queued] || QUEUED_TEXT["1"];

  function when(ms) {
    return new Date(ms).toLocaleString("en-GB", { timeZone: "Europe/London", weekday: "short", day: "numeric",
      month: "short", hour: "2-digit", minute: "2-digit" });
  }

  function title(entry) {
    var s = entry.summary || {};
    var kind = s.kind || (entry.url === "/concerns/" ? "Safeguarding concern" : "Incident or reward");
    var pupils = (s.pupils && s.pupils.length) ? s.pupils.join(", ")
      : plural((entry.fields || []).filter(function (f) { return f[0] === "pupil_id"; }).length, "pupil", "pupils");
    if (kind === "Home visit") return kind + (s.what ? ": " + s.what : "");  // a tap names no pupil
    return kind + (s.what ? ": " + s.what : "") + " · " + pupils;
  }

  function stateText(entry) {
    if (entry.newer) return "Saved by a newer version of Corridor: open Corridor with signal to send it";
    if (entry.unreadable) return "Needs attention: it cannot be read on this phone";
    if (entry.state === "attention") return "Needs attention";
    if (entry.state === "sending") return "Sending…";
    if (entry.state === "signin") {
      if (me && me.person === entry.person) return "Waiting: it will be sent now you are signed in";
      if (me && entry.person) return "Waiting for " + (entry.personLabel || "the person who made it") + " to sign in on this phone";
      return "Waiting for " + (entry.personLabel || "you") + " to sign in again";
    }
    return entry.attempts ? "Waiting for signal (tried " + plural(entry.attempts, "time", "times") + ")" : "Waiting for signal";
  }

  function addTerm(dl, term, value) {
    if (!term || !value) return;
    var dt = document.createElement("dt");
    dt.textContent = term;
    var dd = document.createElement("dd");
    dd.textContent = value;
    dl.appendChild(dt);
    dl.appendChild(dd);
  }

  // Entries the worker does not show here: made by someone else on this phone, or waiting while nobody is
  // signed in. Only their number is said.
  var others = document.getElementById("outbox-others");
  if (!others) {
    others = document.createElement("p");
    others.className = "hint";
    others.id = "outbox-others";
    others.hidden = true;
    list.insertAdjacentElement("afterend", others);
  }

  function render(answer) {
    showCount(answer);
    var entries = answer.entries || [];
    var hidden = answer.others || 0;
    section.dataset.loaded = "true";
    list.textContent = "";
    empty.hidden = entries.length > 0 || hidden > 0;
    others.hidden = hidden === 0;
    others.textContent = !hidden ? "" : answer.signedIn
      ? plural(hidden, "unsent entry", "unsent entries") + " made by someone else on this phone: " +
        (hidden === 1 ? "it waits" : "they wait") + " for them to sign in here again."
      : plural(hidden, "unsent entry is", "unsent entries are") + " waiting on this phone. Sign in to see and send " +
        (hidden === 1 ? "it." : "them.");
    if (section.dataset.compact) section.hidden = entries.length === 0 && hidden === 0 && !queued;
    entries.forEach(function (entry) {
      var item = template.content.firstElementChild.cloneNode(true);
      item.dataset.key = entry.key;
      item.dataset.state = entry.unreadable ? "attention" : entry.state;
      item.querySelector(".entry-what").textContent = title(entry);
      item.querySelector(".entry-when").textContent = "Made " + when(entry.made);
      item.querySelector(".entry-state").textContent = stateText(entry);
      var attention = entry.state === "attention" || entry.unreadable;
      if (attention) {
        var message = item.querySelector(".entry-message");
        message.hidden = false;
        message.textContent = entry.message || "The school's server did not accept this entry.";
        var dl = item.querySelector(".entry-content");
        dl.hidden = false;
        var s = entry.summary || {};
        addTerm(dl, "Pupils", (s.pupils || []).join(", "));
        addTerm(dl, "What", s.what);
        addTerm(dl, "Where", s.where);
        (entry.fields || []).forEach(function (f) { addTerm(dl, FIELD_LABELS[f[0]], f[0] === "occurred_at" ? f[1].replace("T", " ") : f[1]); });
        item.querySelector(".entry-actions").hidden = false;
        // Buttons that do not apply are removed, not hidden (.button sets its own display).
        var fix = item.querySelector('[data-action="fix"]');
        var resend = item.querySelector('[data-action="resend"]');
        if (entry.unreadable || entry.status !== 400) fix.remove();
        if (entry.unreadable || entry.status === 400) resend.remove();
        else if (entry.status === 422) resend.textContent = "Send as a new entry";
      }
      list.appendChild(item);
    });
  }

  function refreshList() {
    return ask({ type: "outbox:list" }).then(render, function () {
      status.textContent = "The list of unsent entries cannot be shown in this browser.";
    });
  }

  function fixInForm(key) {
    ask({ type: "outbox:fix", key: key }).then(function (answer) {
      if (answer.error) { status.textContent = answer.error; return; }
      // The same entry (same key), sent to its form: the server shows the form with its messages and the
      // content as entered; once it is fixed and sent, the outbox lets it go.
      var form = document.createElement("form");
      form.method = "post";
      form.action = answer.url;
      form.dataset.outboxFix = "true";
      form.hidden = true;
      answer.fields.concat([["_csrf_token", csrf], ["_person", answer.person]]).forEach(function (f) {
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = f[0];
        input.value = f[1];
        form.appendChild(input);
      });
      document.body.appendChild(form);
      form.submit();
    }, function () {});
  }

  list.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    if (!button) return;
    var item = button.closest("li");
    var key = item.dataset.key;
    var action = button.dataset.action;
    if (action === "discard") {
      item.querySelector(".entry-actions").hidden = true;
      item.querySelector(".entry-confirm").hidden = false;
      item.querySelector('[data-action="keep"]').focus();
    } else if (action === "keep") {
      item.querySelector(".entry-confirm").hidden = true;
      item.querySelector(".entry-actions").hidden = false;
    } else if (action === "confirm-discard") {
      ask({ type: "outbox:discard", key: key }).then(function () {
        status.textContent = "Discarded. It was deleted from this phone.";
        return refreshList();
      });
    } else if (action === "resend") {
      button.disabled = true;
      status.textContent = "Sending…";
      ask({ type: "outbox:resend", key: key }).then(reportRun, function () { button.disabled = false; });
    } else if (action === "fix") {
      fixInForm(key);
    }
  });

  function reportRun(result) {
    if (result.error) status.textContent = result.error;
    else if (!result.count) status.textContent = result.sent ? "Sent. Nothing is waiting now." : "Nothing is waiting.";
    else if (result.sent) status.textContent = "Sent " + result.sent + ". " + plural(result.count, "entry is", "entries are") + " still waiting.";
    else status.textContent = "Not sent yet: " + plural(result.count, "entry is", "entries are") + " still waiting.";
    return refreshList();
  }

  sendButton.addEventListener("click", function () {
    sendButton.disabled = true;
    status.textContent = "Sending…";
    ask({ type: "outbox:send-now" }).then(reportRun).then(function () { sendButton.disabled = false; },
      function () { sendButton.disabled = false; status.textContent = "Could not reach the service worker."; });
  });

  refreshList();
})();
