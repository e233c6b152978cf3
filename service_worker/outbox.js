// The outbox store: entries made without signal, kept in IndexedDB until the school's server has them.
//
// Only the service worker opens this database; pages ask the worker (see sw.js, "outbox:*" messages).
// Every entry's content (the form's fields, the summary shown in the list, the server's message) is sealed
// with AES-GCM under one key that is generated here as non-extractable: the CryptoKey object is stored in
// IndexedDB, so its bytes never exist anywhere a script could read them. The entry's idempotency key is the
// additional authenticated data, so sealed content cannot be moved from one entry to another.
//
// The record format is versioned (OUTBOX_FORMAT). A worker only sends, changes or deletes records of a
// format it knows and leaves newer ones alone; the database version only ever goes up, and an upgrade only
// adds stores. So neither an update of the worker nor a page of another version can drop an entry.
//
// Record (format 1), plain fields: id (FIFO order), v, key (the idempotency key), person (who made it, as
// the page said), state ("sending" | "pending" | "signin" | "attention"), made and updated (ms), attempts,
// nextAt (ms), status (the last HTTP status), iv and data (the sealed content).
// Sealed content: { url, fields: [[name, value], ...], summary, personLabel, message }.
"use strict";

const OUTBOX_DB = "corridor-outbox";
const OUTBOX_DB_VERSION = 1;
const OUTBOX_FORMAT = 1;
const OUTBOX_KEY_ID = "outbox-aes-gcm";

let outboxDbPromise = null;

function outboxDb() {
  if (outboxDbPromise) return outboxDbPromise;
  outboxDbPromise = new Promise((resolve, reject) => {
    const opening = indexedDB.open(OUTBOX_DB, OUTBOX_DB_VERSION);
    opening.onupgradeneeded = () => {
      const db = opening.result;
      if (!db.objectStoreNames.contains("entries")) {
        const entries = db.createObjectStore("entries", { keyPath: "id", autoIncrement: true });
        entries.createIndex("key", "key", { unique: true });
      }
      if (!db.objectStoreNames.contains("secrets")) db.createObjectStore("secrets");
      if (!db.objectStoreNames.contains("meta")) db.createObjectStore("meta");
    };
    opening.onsuccess = () => {
      const db = opening.result;
      // Sign-out deletes the database (and a newer worker may upgrade it): let go rather than block it.
      db.onversionchange = () => { db.close(); outboxDbPromise = null; };
      db.onclose = () => { outboxDbPromise = null; };
      resolve(db);
    };
    opening.onerror = () => { outboxDbPromise = null; reject(opening.error); };
    opening.onblocked = () => { /* an older connection will close on versionchange */ };
  });
  return outboxDbPromise;
}

// One IndexedDB transaction; resolves with what `work` produced once the transaction has committed.
async function outboxTx(stores, mode, work) {
  const db = await outboxDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(stores, mode);
    let result;
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("outbox transaction aborted"));
    const pick = (name) => tx.objectStore(name);
    Promise.resolve(work(pick)).then((value) => { result = value; }, (err) => { tx.abort(); reject(err); });
  });
}

function outboxRequest(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

let outboxKeyPromise = null;

async function outboxKey() {
  if (outboxKeyPromise) return outboxKeyPromise;
  outboxKeyPromise = (async () => {
    const stored = await outboxTx(["secrets"], "readonly", (s) => outboxRequest(s("secrets").get(OUTBOX_KEY_ID)));
    if (stored) return stored;
    const fresh = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
    // add, not put: if another worker made a key a moment ago, theirs wins and we read it back.
    try {
      await outboxTx(["secrets"], "readwrite", (s) => outboxRequest(s("secrets").add(fresh, OUTBOX_KEY_ID)));
      return fresh;
    } catch (err) {
      return outboxTx(["secrets"], "readonly", (s) => outboxRequest(s("secrets").get(OUTBOX_KEY_ID)));
    }
  })();
  outboxKeyPromise.catch(() => { outboxKeyPromise = null; });
  return outboxKeyPromise;
}

async function outboxSeal(key, content) {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plain = new TextEncoder().encode(JSON.stringify(content));
  const data = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: new TextEncoder().encode(key) },
    await outboxKey(), plain);
  return { iv, data };
}

// The entry's content, or null if it cannot be read on this device (it is then shown, never dropped).
async function outboxUnseal(entry) {
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: entry.iv, additionalData: new TextEncoder().encode(entry.key) }, await outboxKey(), entry.data);
    return JSON.parse(new TextDecoder().decode(plain));
  } catch (err) {
    return null;
  }
}

function outboxKnows(entry) {
  return (entry.v || 1) <= OUTBOX_FORMAT;
}

// Store an entry (new or changed) with its content sealed. Sealing happens before the transaction opens:
// an IndexedDB transaction cannot wait for WebCrypto.
async function outboxSave(entry, content) {
  const sealed = await outboxSeal(entry.key, content);
  const record = Object.assign({}, entry, { v: OUTBOX_FORMAT, iv: sealed.iv, data: sealed.data, updated: Date.now() });
  const id = await outboxTx(["entries"], "readwrite", (s) => outboxRequest(s("entries").put(record)));
  record.id = id;
  return record;
}

// Change plain fields only (state, attempts, ...), keeping fields this version does not know.
async function outboxPatch(id, changes) {
  return outboxTx(["entries"], "readwrite", async (s) => {
    const store = s("entries");
    const current = await outboxRequest(store.get(id));
    if (!current) return null;
    const next = Object.assign({}, current, changes, { updated: Date.now() });
    await outboxRequest(store.put(next));
    return next;
  });
}

async function outboxAll() {
  return outboxTx(["entries"], "readonly", (s) => outboxRequest(s("entries").getAll()));  // in id order: FIFO
}

async function outboxByKey(key) {
  return outboxTx(["entries"], "readonly", (s) => outboxRequest(s("entries").index("key").get(key)));
}

async function outboxGet(id) {
  return outboxTx(["entries"], "readonly", (s) => outboxRequest(s("entries").get(id)));
}

async function outboxDelete(id) {
  return outboxTx(["entries"], "readwrite", (s) => outboxRequest(s("entries").delete(id)));
}

async function outboxMeta(name, value) {
  if (value === undefined) return outboxTx(["meta"], "readonly", (s) => outboxRequest(s("meta").get(name)));
  return outboxTx(["meta"], "readwrite", (s) => outboxRequest(s("meta").put(value, name)));
}

// Counts for the badge: every entry on this device, whoever made it, is unsent.
async function outboxCounts() {
  const all = await outboxAll();
  const counts = { v: OUTBOX_FORMAT, count: all.length, attention: 0, signin: 0, waiting: 0 };
  for (const entry of all) {
    if (entry.state === "attention") counts.attention += 1;
    else if (entry.state === "signin") counts.signin += 1;
    else counts.waiting += 1;
  }
  return counts;
}
