// Sending the outbox: the first attempt of a form post, and replays of what is waiting.
//
// Rules (DESIGN.md, "Offline outbox protocol"): FIFO and one at a time, per person. An entry is deleted only
// after the server has it: the form answers 303 (a replay gets the stored answer the same way), and the
// server then confirms it holds a receipt for the key (GET /outbox/receipts/KEY) — a redirect or a 200 page
// alone could come from a Wi-Fi login page standing in the way. A network error, no answer in time, 5xx,
// 408, 409 (the first attempt is still running) or 429 keeps it and backs off. 401 keeps it until its maker
// is signed in again. Any other 4xx moves it to "needs attention" with the server's message; it is never
// dropped silently and never expires.
//
// Every attempt carries the entry's idempotency key, the person who made it (the server refuses it from
// anyone else's session) and a CSRF token. Replays fetch a fresh token and the signed-in person first, so
// they still go through after the phone, the browser or the server restarted.
"use strict";

const OUTBOX_ENDPOINTS = ["/incidents/", "/concerns/", "/contact-log/", "/gate/"];  // the offline-capable forms
const RATING = /^\/on-report\/\d+\/rate$/;  // a pupil on report rated from the classroom
const LIVE_TIMEOUT_MS = 6000;      // "no answer within a few seconds": keep it and tell the person
const REPLAY_TIMEOUT_MS = 20000;
const SENDING_GRACE_MS = 30000;    // an entry left "sending" longer than this lost its attempt (worker stopped)
const BACKOFF_SECONDS = [2, 5, 15, 30, 60, 120, 300];
const SYNC_TAG = "corridor-outbox";

const outboxBusy = new Set();      // keys with an attempt in flight from this worker
let replayChain = Promise.resolve();
let replayTimer = null;
let unreachableRuns = 0;           // consecutive runs that could not reach the server: the wait grows

function isOutboxPost(request, url) {
  return request.method === "POST" && url.origin === self.location.origin
    && (OUTBOX_ENDPOINTS.includes(url.pathname) || VISIT_TAP.test(url.pathname)  // visitpack.js: a visit's taps
      || RATING.test(url.pathname));
}

function backoffMs(attempts) {
  const base = BACKOFF_SECONDS[Math.min(Math.max(attempts - 1, 0), BACKOFF_SECONDS.length - 1)] * 1000;
  return base + Math.floor(Math.random() * base * 0.2);
}

// "YYYY-MM-DDTHH:MM" in UK time, as the forms send it: a replayed entry keeps the time it was made.
function londonNow(date) {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Europe/London", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(date || new Date());
  const get = (type) => (parts.find((p) => p.type === type) || {}).value;
  return `${get("year")}-${get("month")}-${get("day")}T${get("hour")}:${get("minute")}`;
}

function fieldValue(fields, name) {
  const hit = fields.find(([k]) => k === name);
  return hit ? hit[1] : "";
}

// The entry's content: the form's fields without transport (names starting with "_": the CSRF token, who
// made it, the summary), without the key (sent as a header) and without the pupil search box. A blank time is
// the moment the entry reached the worker: occurred_at to the minute, made_at (a rating: a replay must not
// replace a newer one) to the millisecond.
function entryFields(fields, madeAt) {
  const content = fields.filter(([k]) => !k.startsWith("_") && k !== "idempotency_key" && k !== "q");
  return content.map(([k, v]) => (k === "occurred_at" && !String(v).trim() ? [k, londonNow(madeAt)]
    : k === "made_at" && !String(v).trim() ? [k, madeAt.toISOString()] : [k, v]));
}

async function readForm(request) {
  const type = request.headers.get("Content-Type") || "";
  if (!type.startsWith("application/x-www-form-urlencoded")) return null;
  return Array.from(new URLSearchParams(await request.text()).entries());
}

function withTimeout(ms) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  return { signal: controller.signal, done: () => clearTimeout(timer) };
}

// One attempt. Resolves with the response, or null when there was no answer (no network, dropped, timed out).
async function postEntry(url, key, person, fields, csrf, timeoutMs, redirect) {
  const body = new URLSearchParams();
  for (const [k, v] of fields) body.append(k, v);
  const headers = {
    "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json",
    "Idempotency-Key": key, "X-Corridor-Outbox": "1",
  };
  if (csrf) headers["X-CSRFToken"] = csrf;
  if (person) headers["X-Corridor-Person"] = String(person);
  const timer = withTimeout(timeoutMs);
  try {
    return await fetch(url, { method: "POST", body, headers, credentials: "same-origin",
      redirect: redirect === "follow" ? "follow" : "manual", cache: "no-store", signal: timer.signal });
  } catch (err) {
    return null;
  } finally {
    timer.done();
  }
}

function outcomeOf(response) {
  if (!response) return "retry";
  if (response.type === "opaqueredirect") return "delivered";  // the forms answer 303 only once it is saved
  const status = response.status;
  if (status >= 200 && status < 300) return "delivered";
  if (status === 401) return "signin";
  // A visit's step that no longer applies (the visit page shown again with why, 409): retrying cannot help, and
  // would hold up the person's later entries. A JSON 409 is the first attempt still running: that one waits.
  if (status === 409 && refusedVisitStep(response)) return "attention";
  if (status === 408 || status === 409 || status === 429 || status >= 500 || status === 0) return "retry";
  return "attention";
}

function decodeEntities(text) {
  return text.replace(/&(#x?[0-9a-f]+|amp|lt|gt|quot|apos);/gi, (all, code) => {
    const named = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }[code.toLowerCase()];
    if (named) return named;
    const n = code[1] === "x" || code[1] === "X" ? parseInt(code.slice(2), 16) : parseInt(code.slice(1), 10);
    return Number.isFinite(n) ? String.fromCodePoint(n) : all;
  });
}

// What the server said, as text: its JSON error, or the messages of a form shown again (400).
async function serverMessage(response) {
  const fallback = `The school's server did not accept this entry (${response.status}).`;
  let text = "";
  try { text = await response.clone().text(); } catch (err) { return fallback; }
  if ((response.headers.get("Content-Type") || "").includes("json")) {
    try { return JSON.parse(text).error || fallback; } catch (err) { return fallback; }
  }
  const found = Array.from(text.matchAll(/<p class="error-text(?: field-error"[^>]*|" role="alert" id="refused")>([\s\S]*?)<\/p>/g))
    .map((m) => decodeEntities(m[1].replace(/<[^>]+>/g, "").trim())).filter(Boolean);
  return found.length ? found.join(" ") : fallback;
}

// Does the server hold this entry? Only a JSON yes from Corridor itself counts (no redirects followed).
async function serverHas(key) {
  const timer = withTimeout(REPLAY_TIMEOUT_MS);
  try {
    const response = await fetch(`/outbox/receipts/${encodeURIComponent(key)}`, { headers: { "Accept": "application/json" },
      credentials: "same-origin", cache: "no-store", redirect: "error", signal: timer.signal });
    if (!response.ok || !(response.headers.get("Content-Type") || "").includes("json")) return false;
    const body = await response.json();
    return body.received === true && body.key === key;
  } catch (err) {
    return false;
  } finally {
    timer.done();
  }
}

// Who is signed in, with a fresh CSRF token (the csrf cookie may be new since the entry was made).
async function currentSession() {
  if (self.navigator && navigator.onLine === false) return { unreachable: true };
  const timer = withTimeout(REPLAY_TIMEOUT_MS);
  try {
    const response = await fetch("/outbox/session", { headers: { "Accept": "application/json" },
      credentials: "same-origin", cache: "no-store", signal: timer.signal });
    if (response.status === 401) return { signedOut: true };
    if (!response.ok) return { unreachable: true };
    return await response.json();
  } catch (err) {
    return { unreachable: true };
  } finally {
    timer.done();
  }
}

// Who the server last said is signed in on this phone ({person, label, at}), kept by the worker: pages and
// the worker show an entry's content only to its maker, and only the server can say who that is now. A 401
// forgets it at once. Without signal the last answer stands for a while: with no request at all, a session
// idles out on the server after SESSION_IDLE_MINUTES (two hours by default) anyway.
const CONFIRMED_OFFLINE_MS = 2 * 60 * 60 * 1000;
const RECONFIRM_MS = 5 * 60 * 1000;   // a page opening re-asks the server after this long

async function confirmedSession() {
  const session = await currentSession();
  if (session.signedOut) {
    await outboxMeta("session", null);
    return session;
  }
  if (!session.unreachable) {
    await outboxMeta("session", { person: String(session.person), label: session.label || "", at: Date.now() });
    return session;
  }
  const last = await outboxMeta("session");
  if (last && last.person && Date.now() - (last.at || 0) < CONFIRMED_OFFLINE_MS) {
    return { unreachable: true, person: last.person, label: last.label, offline: true };
  }
  return session;
}

// Whether the person the server says is signed in (a confirmedSession() answer) made this entry.
function madeBy(entry, session) {
  return Boolean(session && session.person && entry.person && String(entry.person) === String(session.person));
}

async function broadcastOutbox() {
  const counts = await outboxCounts();
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const client of windows) client.postMessage(Object.assign({ type: "outbox:changed" }, counts));
  return counts;
}

async function askForSync() {
  try {
    if (self.registration.sync) await self.registration.sync.register(SYNC_TAG);
  } catch (err) { /* Background Sync is a bonus: online events, app opens and "send now" still replay */ }
}

function replayLater(ms) {
  if (replayTimer) clearTimeout(replayTimer);
  replayTimer = setTimeout(() => { replayTimer = null; replayOutbox("timer"); }, Math.max(ms, 1000));
}

// Replays run one at a time: in this worker through a promise chain, across workers (an old and a new
// version during an update) through a Web Lock. Two at once would still make one record each (the keys),
// but one at a time keeps the order and the server quiet.
function replayOutbox(reason) {
  const run = () => (self.navigator && navigator.locks
    ? navigator.locks.request("corridor-outbox-replay", () => replayOnce(reason))
    : replayOnce(reason));
  const result = replayChain.then(run, run);
  replayChain = result.catch(() => {});
  return result;
}

async function replayOnce(reason) {
  // Background Sync, timers and a worker start respect the backoff; a person's action or the signal
  // coming back (online, app opened, "send now") tries at once.
  const patient = reason === "sync" || reason === "timer" || reason === "start";
  const now = Date.now();
  const entries = (await outboxAll()).filter((e) => outboxKnows(e) && e.state !== "attention"
    && !outboxBusy.has(e.key) && !(e.state === "sending" && now - (e.updated || 0) < SENDING_GRACE_MS));
  const summary = { sent: 0, retry: false, reason };
  if (!entries.length) return Object.assign(summary, await broadcastOutbox());

  const session = await confirmedSession();
  if (session.unreachable) {
    unreachableRuns += 1;
    summary.retry = true;
    await askForSync();
    replayLater(backoffMs(unreachableRuns));
    return Object.assign(summary, await outboxCounts());
  }
  unreachableRuns = 0;
  if (session.signedOut) {
    for (const entry of entries) if (entry.state !== "signin") await outboxPatch(entry.id, { state: "signin", status: 401 });
    return Object.assign(summary, await broadcastOutbox());
  }

  const stopped = new Set();  // people whose queue is held up: FIFO, so their later entries wait too
  for (let entry of entries) {
    if (!entry.person) {
      // Its page could not say who made it: it goes as, and from now on belongs to, the person signed in.
      entry = (await outboxPatch(entry.id, { person: String(session.person) })) || entry;
    }
    const person = String(entry.person || "");
    if (person && person !== String(session.person)) {
      // Made by someone else on this phone: it waits for them, never goes as the person signed in now.
      if (entry.state !== "signin") await outboxPatch(entry.id, { state: "signin" });
      continue;
    }
    if (stopped.has(person)) continue;
    if (patient && (entry.nextAt || 0) > Date.now()) {
      stopped.add(person);
      summary.retry = true;
      replayLater(entry.nextAt - Date.now());
      continue;
    }
    const content = await outboxUnseal(entry);
    if (!content) {
      await outboxPatch(entry.id, { state: "attention", status: 0 });
      continue;
    }
    outboxBusy.add(entry.key);
    await outboxPatch(entry.id, { state: "sending" });
    let response;
    try {
      response = await postEntry(content.url, entry.key, person, content.fields, session.csrf, REPLAY_TIMEOUT_MS);
    } finally {
      outboxBusy.delete(entry.key);
    }
    let outcome = outcomeOf(response);
    if (outcome === "delivered" && !(await serverHas(entry.key))) outcome = "retry";
    if (outcome === "delivered") {
      await outboxDelete(entry.id);
      summary.sent += 1;
      await broadcastOutbox();
    } else if (outcome === "attention") {
      content.message = await serverMessage(response);
      await outboxSave(Object.assign({}, entry, { state: "attention", status: response.status }), content);
      await broadcastOutbox();
    } else if (outcome === "signin") {
      await outboxPatch(entry.id, { state: "signin", status: 401 });
      stopped.add(person);
    } else {
      const attempts = (entry.attempts || 0) + 1;
      const wait = backoffMs(attempts);
      await outboxPatch(entry.id, { state: "pending", attempts, nextAt: Date.now() + wait, status: response ? response.status : 0 });
      stopped.add(person);
      summary.retry = true;
      await askForSync();
      replayLater(wait);
    }
  }
  return Object.assign(summary, await broadcastOutbox());
}

function queuedAnswer(request, why) {
  const tap = visitTap(new URL(request.url));
  if (tap && request.mode === "navigate") {
    // Back to the visit (without signal, the offline visit page), saying the tap is kept.
    return Response.redirect(new URL(`/home-visits/${tap.visit}?queued=${why}`, self.location.origin).href, 303);
  }
  if (request.mode === "navigate") {
    return Response.redirect(new URL(`/outbox/?queued=${why}`, self.location.origin).href, 303);
  }
  // htmx or a script: a small fragment saying it is kept, not sent.
  return new Response('<p class="notice" role="status">Saved on this phone. Not sent yet: it will be sent when there is signal.</p>',
    { status: 202, headers: { "Content-Type": "text/html; charset=utf-8", "X-Corridor-Outbox": why } });
}

// A post to an offline-capable form: kept in the outbox before it leaves the phone (so a worker stopped
// mid-flight loses nothing), sent once at once, then answered as the server answered or as "queued".
async function sendOrKeep(event) {
  const request = event.request;
  const fields = await readForm(request.clone());
  const key = request.headers.get("Idempotency-Key") || (fields && fieldValue(fields, "idempotency_key"));
  if (!fields || !key) return fetch(request);  // not an entry the outbox can replay safely

  const url = new URL(request.url);
  const madeAt = new Date();
  let summary = null;
  try { summary = JSON.parse(fieldValue(fields, "_summary") || "null"); } catch (err) { summary = null; }
  const person = fieldValue(fields, "_person") || request.headers.get("X-Corridor-Person")
    || ((await outboxMeta("session")) || {}).person || "";
  const personLabel = (summary && summary.personLabel) || "";
  const csrf = fieldValue(fields, "_csrf_token") || request.headers.get("X-CSRFToken") || "";
  const content = { url: url.pathname, fields: entryFields(fields, madeAt), summary, personLabel, message: "" };

  const existing = await outboxByKey(key);
  if (existing && !outboxKnows(existing)) return fetch(request);
  const entry = existing
    ? Object.assign({}, existing, { state: "sending" })
    : { key, person: String(person), state: "sending", made: madeAt.getTime(), attempts: 0, nextAt: 0, status: 0 };
  if (existing && !content.summary) {
    const before = await outboxUnseal(existing);
    if (before) { content.summary = before.summary; content.personLabel = before.personLabel; }
  }
  const saved = await outboxSave(entry, content);

  outboxBusy.add(key);
  let response;
  try {
    // A navigation takes the 303 itself; a script's fetch gets what it asked for.
    response = await postEntry(content.url, key, entry.person, content.fields, csrf, LIVE_TIMEOUT_MS,
      request.mode === "navigate" ? "manual" : request.redirect);
  } finally {
    outboxBusy.delete(key);
  }
  let outcome = outcomeOf(response);
  // A refused CSRF token on the first attempt (a page open too long): the replay fetches a fresh one.
  if (outcome === "attention" && response.status === 403) outcome = "retry";

  if (outcome === "delivered") {
    // The person goes on at once; the entry leaves the phone once the server confirms it holds it.
    event.waitUntil(serverHas(key).then(async (held) => {
      if (held) {
        await outboxDelete(saved.id);
      } else {
        await outboxPatch(saved.id, { state: "pending", attempts: 1, nextAt: Date.now() + backoffMs(1), status: 0 });
        await askForSync();
        replayLater(backoffMs(1));
      }
      await broadcastOutbox();
    }));
    return response;
  }
  if (outcome === "attention") {
    const isForm = (response.headers.get("Content-Type") || "").includes("text/html");
    if (isForm && !existing) {
      // The form shown again with its messages, to the person who is looking at it: not an outbox entry.
      await outboxDelete(saved.id);
      return response;
    }
    content.message = await serverMessage(response);
    await outboxSave(Object.assign({}, saved, { state: "attention", status: response.status }), content);
    event.waitUntil(broadcastOutbox());
    return isForm || request.mode !== "navigate" ? response : queuedAnswer(request, "attention");
  }
  if (outcome === "signin") {
    await outboxPatch(saved.id, { state: "signin", status: 401 });
    event.waitUntil(broadcastOutbox());
    return queuedAnswer(request, "signin");
  }
  await outboxPatch(saved.id, { state: "pending", attempts: 1, nextAt: Date.now() + backoffMs(1),
    status: response ? response.status : 0 });
  event.waitUntil(Promise.all([askForSync(), broadcastOutbox()]));
  replayLater(backoffMs(1));
  return queuedAnswer(request, "1");
}

// What a page may ask (static/js/outbox-page.js). Answers carry v: a page and a worker of different versions
// ignore what they do not know.
async function entryView(entry) {
  const view = { key: entry.key, state: entry.state, made: entry.made, status: entry.status || 0,
    person: String(entry.person || ""), attempts: entry.attempts || 0 };
  if (!outboxKnows(entry)) return Object.assign(view, { newer: true });
  const content = await outboxUnseal(entry);
  if (!content) return Object.assign(view, { unreadable: true });
  return Object.assign(view, { url: content.url, fields: content.fields, summary: content.summary,
    personLabel: content.personLabel, message: content.message });
}

async function answerPage(data, reply) {
  const counts = () => outboxCounts();
  if (data.type === "outbox:hello") {
    reply(await counts());
    // A page says who it was made for; only the server's answer is believed, so ask it when that changed
    // or has not been asked for a while.
    const last = await outboxMeta("session");
    if (data.person && (!last || last.person !== String(data.person) || Date.now() - (last.at || 0) > RECONFIRM_MS)) {
      await confirmedSession();
    }
    await replayOutbox("open");
    return;
  }
  if (data.type === "outbox:count") return reply(await counts());
  if (data.type === "outbox:list") {
    // An unsent entry's content (pupils, the child's own words) is shown to its maker only, signed in now as
    // the server says: to anyone else on this phone, and to nobody signed in, it is only counted.
    const session = await confirmedSession();
    const all = await outboxAll();
    const mine = all.filter((entry) => madeBy(entry, session));
    const entries = await Promise.all(mine.map(entryView));
    return reply(Object.assign(await counts(), { entries, others: all.length - mine.length,
      signedIn: Boolean(session.person), offline: Boolean(session.offline) }));
  }
  if (data.type === "outbox:send-now") return reply(await replayOutbox("manual"));
  const entry = data.key ? await outboxByKey(data.key) : null;
  if (!entry) return reply(Object.assign(await counts(), { error: "That entry is no longer on this phone." }));
  // Fixing, resending or discarding is for the entry's maker: nobody else may read it or drop it.
  if (!madeBy(entry, await confirmedSession())) {
    return reply(Object.assign(await counts(), { error: "That entry was made by someone else on this phone: it waits for them to sign in." }));
  }
  if (data.type === "outbox:discard") {
    await outboxDelete(entry.id);
    return reply(await broadcastOutbox());
  }
  if (data.type === "outbox:fix") {
    const content = await outboxUnseal(entry);
    if (!content) return reply({ error: "This entry cannot be read on this phone." });
    return reply({ url: content.url, key: entry.key, person: entry.person,
      fields: content.fields.concat([["idempotency_key", entry.key]]) });
  }
  if (data.type === "outbox:resend") {
    const content = await outboxUnseal(entry);
    if (!content || !outboxKnows(entry)) return reply({ error: "This entry cannot be read on this phone." });
    content.message = "";
    // The server already holds different content under this key (422): this one goes as a new entry.
    const key = entry.status === 422 ? crypto.randomUUID() : entry.key;
    await outboxSave(Object.assign({}, entry, { key, state: "pending", attempts: 0, nextAt: 0, status: 0 }), content);
    await broadcastOutbox();
    return reply(await replayOutbox("manual"));
  }
  return reply({ error: "unknown question", v: OUTBOX_FORMAT });
}
