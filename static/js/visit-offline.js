// The offline visit page (templates/home_visits/offline.html), shown by the service worker for a visit's page
// when there is no signal: fills it in from the visit pack kept on this phone (service_worker/visitpack.js),
// with text nodes only. Its taps are ordinary form posts: the service worker keeps them in the outbox and
// sends them once there is signal, each with its own idempotency key so that it counts once.
(function () {
  "use strict";
  var status = document.getElementById("pack-status");
  var match = /^\/home-visits\/(\d+)$/.exec(location.pathname);
  if (!("serviceWorker" in navigator) || !match) {
    status.textContent = "No signal. Open a home visit while you have signal to keep its pack on this phone.";
    return;
  }
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

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function fill(id, text) {
    document.getElementById(id).textContent = text || "None";
  }

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    return Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
  }

  function show(pack) {
    var queued = new URLSearchParams(location.search).get("queued");
    status.textContent = queued
      ? "Saved on this phone, not sent yet: it will be sent by itself when there is signal."
      : "No signal: this is the visit pack kept on this phone.";
    document.getElementById("visit-h").textContent = "Home visit, " + pack.start;
    fill("pack-when", pack.start + ", " + pack.minutes + " minutes (planned)");
    fill("address", pack.address);
    fill("pack-purpose", pack.purpose);
    fill("pack-staff", pack.staff.map(function (s) { return s.name + (s.phone ? " (" + s.phone + ")" : ""); }).join(", "));
    fill("pack-adults", pack.adults_dogs);
    fill("pack-incidents", pack.past_incidents);
    fill("pack-notes", pack.notes);
    var holder = document.getElementById("pack-pupils");
    pack.pupils.forEach(function (pupil, i) {
      var card = el("section", "", "card");
      var headingId = "pupil-h-" + i;
      card.setAttribute("aria-labelledby", headingId);
      var heading = el("h2", pupil.name + (pupil.form ? " (" + pupil.form + ")" : ""));
      heading.id = headingId;
      card.appendChild(heading);
      if (pupil.photo && pupil.photo.indexOf("data:image/jpeg;base64,") === 0) {
        var img = el("img", "", "pupil-photo");
        img.src = pupil.photo;
        img.alt = "Photo of " + pupil.name;
        img.width = 96;
        card.appendChild(img);
      }
      var list = el("ul", "", "contacts");
      pupil.contacts.forEach(function (c) {
        var item = el("li");
        item.appendChild(el("strong", c.name));
        item.appendChild(document.createTextNode(" (" + c.relationship + ")" +
          (c.parental_responsibility ? ", parental responsibility" : "")));
        if (c.no_contact) item.appendChild(el("span", " No contact: do not share information.", "alert"));
        else if (c.phone) {
          var call = el("a", c.phone);
          call.href = "tel:" + c.phone.replace(/[^\d+]/g, "");
          item.appendChild(document.createTextNode(" "));
          item.appendChild(call);
        }
        list.appendChild(item);
      });
      if (!pupil.contacts.length) list.appendChild(el("li", "No contacts recorded."));
      card.appendChild(list);
      holder.appendChild(card);
    });
    ["start", "arrive", "extend", "safe", "checkout", "outcome"].forEach(function (step) {
      var form = document.getElementById(step === "outcome" ? "pack-outcome-form" : "pack-" + step);
      form.action = "/home-visits/" + visit + "/" + step;
      form.querySelector('[name="idempotency_key"]').value = uuid();
      form.querySelector('[name="_person"]').value = pack.person;
      var summary = document.createElement("input");
      summary.type = "hidden";
      summary.name = "_summary";
      summary.value = JSON.stringify({ kind: "Home visit", pupils: [],
        // The second check-out is kept as "I'm safe": nothing on this phone tells it apart.
        what: step === "outcome" ? "Doorstep outcome" : step === "checkout" ? "I'm safe" : form.querySelector("button").textContent,
        where: "", personLabel: "" });
      form.appendChild(summary);
    });
    // The pack says how the visit stood when it was kept; a start made since is waiting in the outbox. Before
    // the start only "Start visit" is offered; after it, the rest (the server refuses a step that does not apply).
    document.getElementById("pack-taps").hidden = false;
    document.getElementById("pack-plan").hidden = false;
    function started(yes) {
      document.getElementById("pack-start").hidden = yes;
      ["safe", "arrive", "extend", "checkout", "outcome"].forEach(function (step) { document.getElementById("pack-" + step).hidden = !yes; });
    }
    if (pack.state !== "authorised") return started(true);
    started(false);
    ask({ type: "outbox:list" }).then(function (answer) {
      started((answer.entries || []).some(function (e) { return e.url === "/home-visits/" + visit + "/start"; }));
    }, function () { started(false); });
  }

  ask({ type: "visitpack:get", visit: visit }).then(function (answer) {
    if (answer.pack) return show(answer.pack);
    status.textContent = answer.notYours
      ? "No signal. The visit pack on this phone belongs to someone else: sign in as them when there is signal."
      : "No signal, and no visit pack for this visit on this phone (it is wiped at check-out and at the end " +
        "of the day).";
  }, function () {
    status.textContent = "No signal, and the visit pack could not be read on this phone.";
  });
})();
