// Passkey ceremonies: sign in (usernameless), enrol from a link, add another, and step-up (before removing a
// passkey, and on the "Confirm it's you" page of a safeguarding record).
(function () {
  "use strict";
  var statusEl = document.getElementById("passkey-status");
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function say(text, isError) {
    if (!statusEl) return;
    statusEl.textContent = text;
    statusEl.classList.toggle("error", !!isError);
  }

  function b64urlToBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function bufToB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // Prefer the browser's JSON helpers; keep a small fallback for browsers that lack them.
  function creationOptions(json) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    var o = Object.assign({}, json);
    o.challenge = b64urlToBuf(json.challenge);
    o.user = Object.assign({}, json.user, { id: b64urlToBuf(json.user.id) });
    o.excludeCredentials = (json.excludeCredentials || []).map(function (c) { return Object.assign({}, c, { id: b64urlToBuf(c.id) }); });
    return o;
  }
  function requestOptions(json) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    var o = Object.assign({}, json);
    o.challenge = b64urlToBuf(json.challenge);
    o.allowCredentials = (json.allowCredentials || []).map(function (c) { return Object.assign({}, c, { id: b64urlToBuf(c.id) }); });
    return o;
  }
  function credentialJSON(cred) {
    if (typeof cred.toJSON === "function") return cred.toJSON();
    var r = cred.response, out = { id: cred.id, rawId: bufToB64url(cred.rawId), type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}, response: {} };
    out.response.clientDataJSON = bufToB64url(r.clientDataJSON);
    if (r.attestationObject) {
      out.response.attestationObject = bufToB64url(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = bufToB64url(r.authenticatorData);
      out.response.signature = bufToB64url(r.signature);
      if (r.userHandle) out.response.userHandle = bufToB64url(r.userHandle);
    }
    return out;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body || {})
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) throw new Error(data.error || ("The server answered " + res.status + "."));
        return data;
      });
    });
  }

  function explain(err) {
    if (err && err.name === "NotAllowedError") return "The passkey request was cancelled or timed out. Please try again.";
    if (err && err.name === "InvalidStateError") return "This device already has a passkey for you.";
    return (err && err.message) || "Something went wrong. Please try again.";
  }

  function register(optionsUrl, verifyUrl, name) {
    say("Follow your device's prompt…");
    return post(optionsUrl).then(function (opts) {
      return navigator.credentials.create({ publicKey: creationOptions(opts.publicKey) }).then(function (cred) {
        return post(verifyUrl, { key: opts.key, credential: credentialJSON(cred), name: name });
      });
    });
  }

  function assert(optionsUrl, verifyUrl) {
    say("Follow your device's prompt…");
    return post(optionsUrl).then(function (opts) {
      return navigator.credentials.get({ publicKey: requestOptions(opts.publicKey) }).then(function (cred) {
        return post(verifyUrl, { key: opts.key, credential: credentialJSON(cred) });
      });
    });
  }

  function busy(el, on) { var b = el.querySelector("button") || el; b.disabled = on; }

  var signin = document.querySelector('[data-passkey="signin"]');
  if (signin) signin.addEventListener("click", function () {
    busy(signin, true);
    assert("/auth/signin/options", "/auth/signin").then(function (data) {
      say("Signed in.");
      window.location.assign(data.redirect || "/");
    }).catch(function (err) { say(explain(err), true); busy(signin, false); });
  });

  document.querySelectorAll('form[data-passkey="enrol"], form[data-passkey="add"]').forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      busy(form, true);
      var name = (form.querySelector('input[name="name"]') || {}).value || "";
      register(form.dataset.options, form.dataset.verify, name).then(function (data) {
        say("Passkey created.");
        window.location.assign(data.redirect || "/");
      }).catch(function (err) { say(explain(err), true); busy(form, false); });
    });
  });

  // A safeguarding record asked for a fresh check ("Confirm it's you"): do it here, then go on to the record.
  document.querySelectorAll('form[data-passkey="step-up"]').forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      busy(form, true);
      assert("/account/verify/options", "/account/verify").then(function () {
        say("Confirmed. Opening the record…");
        form.submit();
      }).catch(function (err) { say(explain(err), true); busy(form, false); });
    });
  });

  // Removing a passkey needs a fresh verification: do it first, then send the form as usual.
  document.querySelectorAll('form[data-step-up="needed"]').forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.stepUp === "done") return;
      event.preventDefault();
      busy(form, true);
      assert("/account/verify/options", "/account/verify").then(function () {
        form.dataset.stepUp = "done";
        form.submit();
      }).catch(function (err) { say(explain(err), true); busy(form, false); });
    });
  });
})();
