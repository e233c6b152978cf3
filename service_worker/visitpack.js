// The visit pack (issue 14, point 2): what the visiting staff need on a doorstep without signal (address,
// pupils with photo, contacts and restrictions, the planner's notes), kept on the phone of each person going.
//
// Its own IndexedDB database, so the outbox's database and its versioning stay as they are; sealed with
// AES-GCM under the outbox's own non-extractable key (outboxKey(), outbox.js), the visit as additional
// authenticated data. Never in Cache Storage: the pack is fetched no-store and only ever written here.
// Wiped at check-out ("I'm safe" tapped, whether or not it could be sent yet), when the server no longer gives
// it (finished, cancelled), after the visit's day (checked whenever the worker starts and before any read),
// and on sign-out (Clear-Site-Data, or the signed-out page deleting the database).
//
// Record: visit (key), person (who fetched it), day ("YYYY-MM-DD", UK), kept (ms), iv, data (the sealed pack).
"use strict";

const PACK_DB = "corridor-visit-pack";
const PACK_DB_VERSION = 1;
const VISIT_TAP = /^\/home-visits\/(\d+)\/(start|arrive|extend|safe|checkout|outcome)$/;

let packDbPromise = null;

function packDb() {
  if (packDbPromise) return packDbPromise;
  packDbPromise = new Promise((resolve, reject) => {
    const opening = indexedDB.open(PACK_DB, PACK_DB_VERSION);
    opening.onupgradeneeded = () => {
      if (!opening.result.objectStoreNames.contains("packs")) opening.result.createObjectStore("packs", { keyPath: "visit" });
    };
    opening.onsuccess = () => {
      const db = opening.result;
      db.onversionchange = () => { db.close(); packDbPromise = null; };  // sign-out deletes it: let go
      db.onclose = () => { packDbPromise = null; };
      resolve(db);
    };
    opening.onerror = () => { packDbPromise = null; reject(opening.error); };
  });
  return packDbPromise;
}

async function packTx(mode, work) {
  const db = await packDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(["packs"], mode);
    let result;
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("visit pack transaction aborted"));
    Promise.resolve(work(tx.objectStore("packs"))).then((value) => { result = value; }, (err) => { tx.abort(); reject(err); });
  });
}

function ukDay(date) {
  return londonNow(date).slice(0, 10);  // replay.js: "YYYY-MM-DDTHH:MM" in UK time
}

function packAad(visit) {
  return new TextEncoder().encode("visit-pack:" + String(visit));
}

async function wipePack(visit) {
  return packTx("readwrite", (store) => outboxRequest(store.delete(Number(visit))));
}

// The end of the day: a pack of an earlier day goes, read or not.
async function wipeOldPacks() {
  const today = ukDay();
  const all = await packTx("readonly", (store) => outboxRequest(store.getAll()));
  for (const record of all) if (record.day !== today) await wipePack(record.visit);
  return all.filter((record) => record.day === today).length;
}

// Fetch the pack from the server (the page asks while it has signal) and keep it sealed; a 404 means the visit
// is not (or no longer) this person's to carry: any copy goes.
async function keepPack(visit) {
  let response;
  try {
    response = await fetch(`/home-visits/${Number(visit)}/pack`, { headers: { "Accept": "application/json" },
      credentials: "same-origin", cache: "no-store", redirect: "error" });
  } catch (err) {
    return { kept: false, offline: true };
  }
  if (response.status === 404 || response.status === 401) {
    await wipePack(visit);
    return { kept: false, wiped: true };
  }
  if (!response.ok) return { kept: false };
  const pack = await response.json();
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: packAad(visit) }, await outboxKey(),
    new TextEncoder().encode(JSON.stringify(pack)));
  await packTx("readwrite", (store) => outboxRequest(store.put({ visit: Number(visit), person: String(pack.person),
    day: pack.day, kept: Date.now(), iv, data })));
  return { kept: true, visit: Number(visit) };
}

// The pack, to the person who fetched it only (signed in as the server last said), on its day only.
async function readPack(visit) {
  await wipeOldPacks();
  const record = await packTx("readonly", (store) => outboxRequest(store.get(Number(visit))));
  if (!record) return { none: true };
  const session = await confirmedSession();
  if (!session.person || String(session.person) !== record.person) return { none: true, notYours: true };
  try {
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: record.iv, additionalData: packAad(visit) },
      await outboxKey(), record.data);
    return { pack: JSON.parse(new TextDecoder().decode(plain)), offline: Boolean(session.offline) };
  } catch (err) {
    return { none: true, unreadable: true };
  }
}

// A visit tap leaving the phone: "I'm safe" (either of its two forms, /safe and /checkout) is the check-out,
// and the pack goes at once.
function visitTap(url) {
  const match = VISIT_TAP.exec(url.pathname);
  return match ? { visit: Number(match[1]), step: match[2] } : null;
}

// The visit page answering a tap with why it was refused (home_visits.py: 409, the page with #refused).
function refusedVisitStep(response) {
  let url;
  try { url = new URL(response.url); } catch (err) { return false; }
  return Boolean(visitTap(url)) && (response.headers.get("Content-Type") || "").includes("text/html");
}

async function answerPack(data, reply) {
  if (data.type === "visitpack:keep") return reply(await keepPack(data.visit));
  if (data.type === "visitpack:get") return reply(await readPack(data.visit));
  if (data.type === "visitpack:wipe") { await wipePack(data.visit); return reply({ wiped: true }); }
  if (data.type === "visitpack:count") return reply({ count: await wipeOldPacks() });
  return reply({ error: "unknown question" });
}
