// The JS half of pyodide_pkg/platform/browser.py: downloads, file bodies, IndexedDB and ONNX Runtime Web.
// Model bytes stay here. A download streams into a file of the origin private file system (OPFS) in
// download_worker.mjs, hashed on the way in hash_worker.mjs; storing it moves the file beside its store's other bodies
// and IndexedDB keeps only its name with the metadata; ONNX Runtime reads the file. Python holds a body as a handle (a
// FileSystemFileHandle) and reads only the small files it parses. OPFS rather than IndexedDB Blobs: writing a 1 GB Blob
// into IndexedDB held the whole file in the browser process's memory (1.2 GB peak, bench/storage), OPFS held none.
import { createSHA256 } from "./vendor/hash-wasm/index.esm.min.js";

// ONNX Runtime Web lives in a worker of its own (ort_worker.mjs), started with the host so that its module
// loads beside Pyodide; calls to it are messages answered in order of completion.
let ortWorker = null, ortStarting = null, ortStarted = null, ortRuntime = null, ortCalls = 0;
const ortPending = new Map();

export function prepareRuntime() {
  if (ortWorker) return;
  ortWorker = new Worker(new URL("./ort_worker.mjs", import.meta.url), { type: "module", name: "onnx-runtime" });
  ortWorker.onmessage = ({ data: { id, value, error } }) => {
    const { resolve, reject } = ortPending.get(id);
    ortPending.delete(id);
    if (error) reject(Object.assign(new Error(error.message), { name: error.name }));
    else resolve(value);
  };
  ortWorker.onerror = (event) => {  // the worker itself failed (its script did not load): every call fails
    for (const { reject } of ortPending.values()) reject(new Error(`ONNX Runtime's worker failed: ${event.message}`));
    ortPending.clear();
  };
}

function ortCall(op, args, transfer = []) {
  prepareRuntime();
  return new Promise((resolve, reject) => {
    const id = ++ortCalls;
    ortPending.set(id, { resolve, reject });
    ortWorker.postMessage({ id, op, args }, transfer);
  });
}

// Every body and unresumable download this engine host writes carries its name; the host holds a Web Lock of
// that name for its whole life, so such a file whose owner's lock is free was left by a host that is gone (a
// closed tab, a crash). Resumable downloads are kept apart, in partial/, for the next attempt.
const OWNER = crypto.randomUUID();
const ownerLock = (owner) => `ml-engine-host-${owner}`;
navigator.locks.request(ownerLock(OWNER), () => new Promise(() => {}));

const folder = async (...names) => {
  let dir = await navigator.storage.getDirectory();
  for (const name of names) dir = await dir.getDirectoryHandle(name, { create: true });
  return dir;
};
const uniqueName = () => `${OWNER}.${Date.now().toString(36)}-${crypto.randomUUID()}`;

// A JS error Python can tell apart by name (a DOMException's name, e.g. QuotaExceededError, is kept).
const named = (error, message) => Object.assign(new Error(`${message}: ${error?.message ?? error}`), { name: error?.name ?? "Error" });

// A full quota can show as a short write rather than an exception: both are a QuotaExceededError.
function writeAt(access, chunk, at, total) {
  if (access.write(chunk, { at }) !== chunk.byteLength) {
    throw new DOMException(`the storage quota ran out after ${at} of ${total ?? "?"} bytes`, "QuotaExceededError");
  }
  return chunk.byteLength;
}

async function writeAll(handle, chunks) {
  const access = await handle.createSyncAccessHandle();
  try {
    let at = 0;
    for await (const chunk of chunks) at += writeAt(access, chunk, at);
    access.flush();
  } finally {
    access.close();
  }
}

// streamFile (a download, in download_worker.mjs): {status, headers (JSON text), size, sha256, body}; a body only for
// 2xx answers. A download that receives nothing for stallMs fails; onProgress(loaded, chunk, length) runs per chunk
// read. A download cut off by a network error resumes where it stopped with a Range request (If-Range: the file must
// not have changed), up to RESUMES times; one cut off for good (a reload, a closed tab) resumes in the next attempt,
// from its last checkpoint: it is written to partial/<sha256 of the URL>, and every CHECKPOINT bytes <that>.json
// records its ETag, the bytes flushed and the hasher's state there.
const RESUMES = 3;
const CHECKPOINT = 32 << 20;
const PARTIAL_DAYS = 7;  // an unfinished download nobody resumed is dropped after this

// A hasher in hash_worker.mjs: update() hands the chunk over (it is written already); caughtUp(), save() and
// digest() answer once every chunk before them is hashed. A worker that fails fails its hashers' answers; the
// next download starts another. A download waits for the hasher every HASH_AHEAD bytes, for the previous mark
// only: the two keep working side by side, and at most about twice that waits in the worker's queue (writing
// can outrun hashing, ~240 MB/s).
const HASH_AHEAD = 16 << 20;
let hashing = null, hashers = 0, asks = 0;

function offThreadHasher() {
  if (!hashing) {
    const script = new URL("./hash_worker.mjs", import.meta.url);
    const started = hashing = {
      worker: new Worker(script, { type: "module", name: "sha256" }), failure: null, answers: new Map(),
    };
    started.worker.onmessage = ({ data: { ask, value } }) => {
      started.answers.get(ask).resolve(value);
      started.answers.delete(ask);
    };
    started.worker.onerror = (event) => {
      const why = event.message ?? "its script did not load";
      started.failure = Object.assign(new Error(`the SHA-256 worker ${script} failed: ${why}`), { name: "HashWorkerError" });
      for (const { reject } of started.answers.values()) reject(started.failure);
      started.answers.clear();
      if (hashing === started) hashing = null;
    };
  }
  const host = hashing, id = ++hashers;
  const answer = (op) => new Promise((resolve, reject) => {
    if (host.failure) return reject(host.failure);
    const ask = ++asks;
    host.answers.set(ask, { resolve, reject });
    host.worker.postMessage({ id, op, ask });
  });
  return {
    update: (chunk) => host.worker.postMessage({ id, op: "update", chunk }, [chunk.buffer]),
    load: (state) => host.worker.postMessage({ id, op: "load", state }),
    drop: () => host.worker.postMessage({ id, op: "drop" }),
    caughtUp: () => answer("caughtUp"),
    save: () => answer("save"),
    digest: () => answer("digest"),
  };
}

const base64 = (bytes) => btoa(String.fromCharCode(...bytes));
const unbase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

// The URL's partial file, opened exclusively, with what its last checkpoint says; null when another engine
// host is downloading the same URL (this one then writes a file of its own).
async function partialKey(url) {
  return { dir: await folder("partial"), key: (await createSHA256()).init().update(url).digest("hex") };
}

async function partialFor(url) {
  const { dir, key } = await partialKey(url);
  const handle = await dir.getFileHandle(key, { create: true });
  let access;
  try {
    access = await handle.createSyncAccessHandle();
  } catch {
    return null;
  }
  let saved = null;
  try {
    saved = JSON.parse(await (await (await dir.getFileHandle(`${key}.json`)).getFile()).text());
    if (!(saved.size > 0 && saved.size <= access.getSize() && saved.etag && saved.state)) saved = null;
  } catch {
    saved = null;
  }
  return { dir, key, handle, access, saved };
}

async function checkpoint(partial, etag, size, hasher) {
  partial.access.flush();
  const writable = await (await partial.dir.getFileHandle(`${partial.key}.json`, { create: true })).createWritable();
  await writable.write(JSON.stringify({ etag, size, state: base64(await hasher.save()) }));
  await writable.close();
}

async function forget(partial) {
  await partial.dir.removeEntry(`${partial.key}.json`).catch(() => {});
  if (!partial.handle) await partial.dir.removeEntry(partial.key).catch(() => {});  // unless it became the body
}

// A download whose chunks arrive faster than they are written would run as one chain of microtasks and hold
// off every other task of its worker (other downloads' steps) until it ends: it steps aside every YIELD_MS of
// work, behind the tasks already queued (a message to itself: setTimeout would be clamped to 4 ms, and
// scheduler.yield() resumes ahead of other tasks).
const YIELD_MS = 8;
const stepAside = () => new Promise((resolve) => {
  const { port1, port2 } = new MessageChannel();
  port1.onmessage = () => { port1.close(); resolve(); };
  port2.postMessage(null);
});

// Downloads run in download_worker.mjs (streamFile there), answered in order of completion.
let downloader = null, downloads = 0;
const downloading = new Map();

export function download(url, timeoutMs, stallMs, onProgress) {
  if (!downloader) {
    const script = new URL("./download_worker.mjs", import.meta.url);
    downloader = new Worker(script, { type: "module", name: "downloads" });
    downloader.onmessage = ({ data: { id, progress, value, error } }) => {
      const call = downloading.get(id);
      if (progress) return call.onProgress?.(...progress);
      downloading.delete(id);
      if (error) call.reject(Object.assign(new Error(error.message), { name: error.name }));
      else call.resolve(value);
    };
    downloader.onerror = (event) => {  // every download in it fails; the next one starts another worker
      const failure = new Error(`the download worker ${script} failed: ${event.message ?? "its script did not load"}`);
      for (const { reject } of downloading.values()) reject(failure);
      downloading.clear();
      downloader = null;
    };
  }
  return new Promise((resolve, reject) => {
    const id = ++downloads;
    downloading.set(id, { resolve, reject, onProgress });
    downloader.postMessage({ id, url, timeoutMs, stallMs });
  });
}

export async function streamFile(url, timeoutMs, stallMs, onProgress) {
  const abort = new AbortController();
  const signal = AbortSignal.any([abort.signal, ...(timeoutMs ? [AbortSignal.timeout(timeoutMs)] : [])]);
  let stalled = null;
  const watch = () => {
    clearTimeout(stalled);
    if (stallMs) stalled = setTimeout(() => abort.abort(new DOMException(`no data for ${stallMs} ms`, "TimeoutError")), stallMs);
  };
  watch();
  let partial = null, hasher = null;
  try {
    partial = await partialFor(url);
    const saved = partial?.saved;
    const ranged = saved ? { headers: { Range: `bytes=${saved.size}-`, "If-Range": saved.etag } } : {};
    let response = await fetch(url, { signal, cache: "no-store", ...ranged });
    if (saved && response.status === 416) {  // what was saved no longer fits the file: start over
      await response.body?.cancel();
      response = await fetch(url, { signal, cache: "no-store" });
    }
    const found = Object.fromEntries(response.headers);
    let start = 0;
    if (saved && response.status === 206 && found["content-range"]?.startsWith(`bytes ${saved.size}-`)) {
      start = saved.size;  // the file as a whole is described to Python, as a plain answer would have
      found["content-length"] = found["content-range"].split("/")[1];
      delete found["content-range"];
    }
    const status = start ? 200 : response.status;
    const headers = JSON.stringify(found);
    if (!(status >= 200 && status < 300) || !response.body) {
      await response.body?.cancel();
      partial?.access.close();
      return { status, headers, size: 0, sha256: null, body: null };
    }
    const length = Number(found["content-length"]) || null;
    if (length) {  // a file that cannot fit fails before any of it is written
      const { quota, usage } = await navigator.storage.estimate();
      if (length - start > quota - usage) {
        await response.body.cancel();
        throw new DOMException(`it needs ${length - start} bytes and ${quota - usage} are free`, "QuotaExceededError");
      }
    }
    const etag = response.headers.get("etag");
    const resumable = response.headers.get("accept-ranges") === "bytes" && etag && !etag.startsWith("W/");
    hasher = offThreadHasher();
    if (start) hasher.load(unbase64(saved.state));
    const body = partial?.handle ?? await (await folder("incoming")).getFileHandle(uniqueName(), { create: true });
    const access = partial?.access ?? await body.createSyncAccessHandle();
    access.truncate(start);
    let size = start, unsaved = 0, worked = performance.now(), handed = 0, hashed = null, sha256;
    try {
      for (let resumes = 0; ; resumes++) {
        try {
          const reader = response.body.getReader();
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            watch();
            const written = writeAt(access, value, size, length);
            hasher.update(value);
            handed += written;
            if (handed >= HASH_AHEAD) {
              await hashed;
              hashed = hasher.caughtUp();
              hashed.catch(() => {});  // its failure is digest()'s to report
              handed = 0;
            }
            size += written;
            unsaved += written;
            if (partial && resumable && unsaved >= CHECKPOINT) {
              await checkpoint(partial, etag, size, hasher);
              unsaved = 0;
            }
            onProgress?.(size, written, length);
            if (performance.now() - worked > YIELD_MS) {
              await stepAside();
              worked = performance.now();
            }
          }
          break;
        } catch (error) {
          if (signal.aborted || ["QuotaExceededError", "HashWorkerError"].includes(error.name) || !resumable
              || resumes >= RESUMES) throw error;
          response = await fetch(url, { signal, cache: "no-store", headers: { Range: `bytes=${size}-`, "If-Range": etag } });
          if (response.status !== 206 || !response.headers.get("content-range")?.startsWith(`bytes ${size}-`)) {
            await response.body?.cancel();
            throw error;
          }
        }
      }
      access.flush();
      sha256 = await hasher.digest();
    } catch (error) {
      const keep = partial && resumable && size > 0 && error.name !== "QuotaExceededError";
      if (keep) await checkpoint(partial, etag, size, hasher).catch(() => {});
      access.close();
      if (!keep) {
        if (partial) await forget(partial);
        await discard(body);
      }
      throw error;
    }
    access.close();
    await forget(partial ?? await partialKey(url));  // a partial file another host held is stale now
    return { status, headers, size, sha256, body };
  } catch (error) {
    hasher?.drop();
    throw named(signal.aborted ? signal.reason ?? error : error, `download of ${url} failed`);
  } finally {
    clearTimeout(stalled);
  }
}

export async function discard(body) {
  try { await body.remove(); } catch { /* already gone */ }
}

export async function readBody(body, start, end) {
  const file = await body.getFile();
  return new Uint8Array(await (start === undefined ? file : file.slice(start, end)).arrayBuffer());
}

const request = (req) => new Promise((resolve, reject) => {
  req.onsuccess = () => resolve(req.result);
  req.onerror = () => reject(req.error);
});

const sameKeyPath = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// Creates missing stores and indexes; a store or index whose key path changed is rebuilt. The store's
// bodies live in the OPFS folder of its name; leftovers (a download never stored, a body no record names)
// are swept when the host that wrote them is gone.
export async function idbOpen(name, schemaJson) {
  const schema = JSON.parse(schemaJson);
  const open = indexedDB.open(name, schema.version);
  open.onupgradeneeded = () => {
    const db = open.result;
    for (const [storeName, spec] of Object.entries(schema.stores)) {
      if (db.objectStoreNames.contains(storeName) &&
          !sameKeyPath(open.transaction.objectStore(storeName).keyPath, spec.keyPath)) {
        db.deleteObjectStore(storeName);
      }
      const store = db.objectStoreNames.contains(storeName)
        ? open.transaction.objectStore(storeName)
        : db.createObjectStore(storeName, { keyPath: spec.keyPath });
      for (const [indexName, keyPath] of Object.entries(spec.indexes)) {
        if (store.indexNames.contains(indexName)) {
          if (sameKeyPath(store.index(indexName).keyPath, keyPath)) continue;
          store.deleteIndex(indexName);
        }
        store.createIndex(indexName, keyPath);
      }
    }
  };
  const db = await request(open);
  db.onversionchange = () => db.close();
  db.bodies = await folder(name);
  await sweep(db);
  return db;
}

async function sweep(db) {
  const named = new Set();
  for (const storeName of db.objectStoreNames) {
    for (const record of await request(db.transaction(storeName).objectStore(storeName).getAll())) {
      if (record?.bodyFile) named.add(record.bodyFile);
    }
  }
  const partial = await folder("partial");
  const names = [];
  for await (const entry of partial.keys()) names.push(entry);
  for (const entry of names) {
    try {  // a partial file being written is locked: getFile() or removeEntry() fails, and it stays
      const handle = await partial.getFileHandle(entry);
      const useless = !entry.endsWith(".json") && !names.includes(`${entry}.json`);  // nothing to resume from
      if (useless || Date.now() - (await handle.getFile()).lastModified > PARTIAL_DAYS * 86400_000) await partial.removeEntry(entry);
    } catch { /* in use */ }
  }
  const alive = new Set((await navigator.locks.query()).held.map((lock) => lock.name));
  for (const dir of [await folder("incoming"), db.bodies]) {
    for await (const [entry, handle] of dir.entries()) {
      if (handle.kind !== "file" || named.has(entry) || alive.has(ownerLock(entry.split(".")[0]))) continue;
      await dir.removeEntry(entry).catch(() => {});
    }
  }
}

// pyodide_pkg/platform/common.py's merged(): list fields in `union` keep the stored values too; an
// `existing`-only put of a record that is not stored writes nothing.
function merged(value, old, { union = [], existing = false }) {
  if (!old) return existing ? null : value;
  const out = existing ? { ...old, ...value } : { ...value };
  for (const name of union) out[name] = [...new Set([...(old[name] ?? []), ...(value[name] ?? [])])].sort();
  return out;
}

const keyOf = (keyPath, value) => (Array.isArray(keyPath) ? keyPath.map((p) => value[p]) : value[keyPath]);

// A body into the store's folder under a new name: a download's file is moved (its handle follows it),
// bytes and Blobs (Python's small bodies, earlier versions' records) are written.
async function place(dir, body) {
  const name = uniqueName();
  if (body instanceof FileSystemFileHandle) {
    await body.move(dir, name);
  } else {
    await writeAll(await dir.getFileHandle(name, { create: true }), body instanceof Blob ? body.stream() : [body]);
  }
  return name;
}

// One transaction for the records; bodies are placed under new names before it and the ones it replaced
// or deleted are removed after it, so a failed write leaves every record with the body it had.
export async function idbWrite(db, opsJson, bodies) {
  const ops = JSON.parse(opsJson);
  const stores = [...new Set(ops.map((op) => op.store))];
  if (!stores.length) return;
  const placed = [];
  const unplace = () => Promise.all(placed.map((name) => db.bodies.removeEntry(name).catch(() => {})));
  try {
    for (const body of bodies) placed.push(await place(db.bodies, body));
  } catch (error) {
    await unplace();
    throw named(error, "storing a file body failed");
  }
  const replaced = [];
  const tx = db.transaction(stores, "readwrite");
  for (const op of ops) {  // each op reads its record first, so it can merge with it inside the transaction
    const store = tx.objectStore(op.store);
    const key = op.op === "delete" ? op.key : keyOf(store.keyPath, op.value);
    store.get(key).onsuccess = ({ target }) => {
      const old = target.result;
      if (op.op === "delete") {
        if (old?.bodyFile) replaced.push(old.bodyFile);
        store.delete(key);
        return;
      }
      const value = merged(op.body === null ? op.value : { ...op.value, bodyFile: placed[op.body] }, old, op);
      if (!value) return;
      if (old?.bodyFile && old.bodyFile !== value.bodyFile) replaced.push(old.bodyFile);
      store.put(value);
    };
  }
  try {
    await new Promise((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("IndexedDB transaction aborted"));
    });
  } catch (error) {
    await unplace();
    throw named(error, "IndexedDB write failed");
  }
  await Promise.all(replaced.map((name) => db.bodies.removeEntry(name).catch(() => {})));
}

export async function idbGetJson(db, storeName, keyJson) {
  const found = await request(db.transaction(storeName).objectStore(storeName).get(JSON.parse(keyJson)));
  if (found) delete found.bodyFile;
  return JSON.stringify(found ?? null);
}

// A record's body; one an earlier version kept inside IndexedDB (a Blob or bytes) moves to OPFS on first read.
export async function idbGetBody(db, storeName, keyJson) {
  const key = JSON.parse(keyJson);
  const found = await request(db.transaction(storeName).objectStore(storeName).get(key));
  if (found?.bodyFile) {
    try {
      return await db.bodies.getFileHandle(found.bodyFile);
    } catch {
      return null;  // its file is gone (storage cleared under us): the caller fetches it again
    }
  }
  if (!found?.data) return null;
  const { data, ...rest } = found;
  await idbWrite(db, JSON.stringify([{ op: "put", store: storeName, value: rest, body: 0 }]), [data]);
  return db.bodies.getFileHandle((await request(db.transaction(storeName).objectStore(storeName).get(key))).bodyFile);
}

// An empty prefix lists the store; arrays sort after strings, so [...prefix, []] bounds a prefix.
export async function idbGetAllJson(db, storeName, indexName, prefixJson) {
  const prefix = JSON.parse(prefixJson);
  const store = db.transaction(storeName).objectStore(storeName);
  const source = indexName ? store.index(indexName) : store;
  const range = prefix.length ? IDBKeyRange.bound(prefix, [...prefix, []]) : null;
  const records = await request(source.getAll(range));
  for (const record of records) delete record.bodyFile;
  return JSON.stringify(records);
}

// ONNX Runtime compiles its WASM and starts its threads at its first session: `warmup` (a one-node graph Python
// gives) is that session, made now, while the model's files download. Its worker checks the binary's sha256
// before running it. The call is posted at once (file handles cross as they are), so the start goes on while
// Python works; a start a warm start began (replayStart) with the same binary is taken over, one with another
// binary is dropped with its sessions.
export function ortInit(wasm, numThreads, warmup, sha256) {
  if (ortStarting && !ortRuntime.adopted && ortRuntime.sha256 !== sha256) resetRuntime();
  startRuntime(wasm, numThreads, warmup, sha256);
  ortRuntime.adopted = true;
  return ortStarting;
}

function startRuntime(wasm, numThreads, warmup, sha256) {
  if (ortStarting) return;
  const starting = ortCall("init", { wasm, numThreads, warmup, sha256 }).then((info) => { ortStarted = info; });
  starting.catch(() => { if (ortStarting === starting) ortStarting = null; });  // the next engine tries again
  ortStarting = starting;
  ortRuntime = { wasm, numThreads, warmup, sha256, adopted: false };
}

function resetRuntime() {
  ortWorker.terminate();
  for (const { reject } of ortPending.values()) reject(new Error("ONNX Runtime's worker was restarted"));
  ortPending.clear();
  ortWorker = ortStarting = ortStarted = ortRuntime = null;
  replays.clear();
}

// {numThreads, isolated} once the runtime has started, else null.
export function ortInfo() {
  return ortStarted;
}

// A model is a body (or bytes); external data files are bodies named as the graph names them. The runtime's
// worker reads the files. A session a warm start is making from the same files is taken instead; if that one
// fails (its runtime did not start), the session is made anew, so a replay's failure is never the model's.
// `start` names the createEngine call it is made for (endStart).
const makeSession = (model, externalPaths, externalBodies) =>
  ortCall("create", { model, external: externalPaths.map((path, i) => [path, externalBodies[i]]) });

export async function ortCreateSession(model, externalPaths, externalBodies, start) {
  const bodies = [model, ...externalBodies];
  const create = () => makeSession(model, externalPaths, externalBodies);
  let session = null;
  if (replays.size) {
    const signature = JSON.stringify([await Promise.all(bodies.map(pathOf)), externalPaths]);
    for (const replay of replays.values()) {
      session = replay.get(signature) ?? null;
      if (session) {
        replay.delete(signature);
        session = session.then((made) => { warm.taken += 1; return made; }, create);
        break;
      }
    }
  }
  session ??= create();
  if (start) {
    if (!made.has(start)) made.set(start, []);
    made.get(start).push({ bodies, externalPaths });
  }
  return session;
}

// Input buffers are Python's fresh copies, so they are moved, not copied again.
export function ortRun(session, names, types, dims, buffers) {
  return ortCall("run", { session: session.id, names, types, dims, buffers }, buffers.map((b) => b.buffer));
}

export function ortRelease(session) {
  ortCall("release", { session: session.id }).catch(() => {});
}

// Warm starts. A createEngine call that made an engine leaves a plan under starts/ (named by the sha256 of the
// call's JSON): the runtime binary and the cached files each session was made from. When the same call reaches
// a host still booting, the plan is replayed: the runtime starts and the sessions are made while Pyodide boots,
// and Python, deciding as always what to load, takes each session whose files are the ones it chose
// (ortCreateSession); the rest are released when that call ends. A plan whose files are gone is dropped.
const made = new Map();     // createEngine call -> [{bodies: its sessions' files, externalPaths}]
const replays = new Map();  // createEngine call -> Map(files' signature -> session being made)
const warm = { replayed: 0, taken: 0 };  // sessions replayed, and replayed sessions Python used

export function warmStarts() {
  return { ...warm };
}

const pathOf = async (body) => (body instanceof FileSystemFileHandle
  ? (await navigator.storage.getDirectory()).resolve(body) : null);

async function handleAt(path) {
  let dir = await navigator.storage.getDirectory();
  for (const name of path.slice(0, -1)) dir = await dir.getDirectoryHandle(name);
  return dir.getFileHandle(path.at(-1));
}

const planName = async (start) => `${(await createSHA256()).init().update(start).digest("hex")}.json`;

export async function replayStart(start) {
  let dir, name, plan;
  try {
    dir = await folder("starts");
    name = await planName(start);
    plan = JSON.parse(await (await (await dir.getFileHandle(name)).getFile()).text());
  } catch {
    return;  // none
  }
  let wasm, bodies;
  try {
    wasm = await handleAt(plan.runtime.where);
    bodies = await Promise.all(plan.sessions.map(({ where }) => Promise.all(where.map(handleAt))));
  } catch {
    await dir.removeEntry(name).catch(() => {});
    return;
  }
  if (ortStarting) return;  // Python started the runtime first
  startRuntime(wasm, plan.runtime.numThreads, plan.runtime.warmup && unbase64(plan.runtime.warmup), plan.runtime.sha256);
  const replay = new Map();
  plan.sessions.forEach(({ where, externalPaths }, i) => {
    const [model, ...external] = bodies[i];
    const session = makeSession(model, externalPaths, external);
    session.catch(() => {});  // Python makes it again if it wants it
    replay.set(JSON.stringify([where, externalPaths]), session);
    warm.replayed += 1;
  });
  replays.set(start, replay);
}

// Whether the createEngine call `start` is being replayed: its sessions are under way without Python.
export function replaying(start) {
  return replays.has(start);
}

// The createEngine call `start` ended: sessions its replay made and Python did not take are released, and when
// it made an engine from cached files only, its plan is written.
export async function endStart(start, succeeded) {
  for (const session of replays.get(start)?.values() ?? []) session.then(ortRelease, () => {});
  replays.delete(start);
  const sessions = made.get(start) ?? [];
  made.delete(start);
  if (!succeeded || !sessions.length || !ortRuntime) return;
  const wheres = await Promise.all(sessions.map(({ bodies }) => Promise.all(bodies.map(pathOf))));
  const runtime = await pathOf(ortRuntime.wasm);
  if (!runtime || wheres.some((where) => where.includes(null))) return;
  const plan = {
    runtime: { where: runtime, numThreads: ortRuntime.numThreads, sha256: ortRuntime.sha256,
               warmup: ortRuntime.warmup ? base64(ortRuntime.warmup) : null },
    sessions: sessions.map(({ externalPaths }, i) => ({ where: wheres[i], externalPaths })),
  };
  try {
    const writable = await (await (await folder("starts")).getFileHandle(await planName(start), { create: true })).createWritable();
    await writable.write(JSON.stringify(plan));
    await writable.close();
  } catch { /* the next start is a cold one */ }
}

// wllama (llama.cpp in WebAssembly) for the GGUF backend. It gets the cached file as a File (a Blob read from
// OPFS), never a URL: its own downloader and cache are not used. A generation is a job Python pulls chunks from
// (llama-server's streamed JSON, one text each) and can abort; Python decides when to stop.
let wllamaModule = null;

export async function wllamaLoad(body, paramsJson) {
  wllamaModule ??= await import(new URL("./vendor/wllama/index.js", import.meta.url));
  const { Wllama } = wllamaModule;
  const wllama = new Wllama({ default: new URL("./vendor/wllama/wasm/wllama.wasm", import.meta.url).href },
                            { suppressNativeLog: true, allowOffline: true });
  const file = await body.getFile();
  try {
    await wllama.loadModel([file], JSON.parse(paramsJson));
  } catch (error) {
    await wllama.exit().catch(() => {});
    throw named(error, "wllama could not load the model");
  }
  const info = wllama.getLoadedContextInfo();
  if (!(info?.n_vocab > 0)) {  // wllama does not check llama.cpp's load result: a file it cannot read loads "empty"
    await wllama.exit().catch(() => {});
    throw new Error("llama.cpp could not read it as a GGUF model (no vocabulary)");
  }
  return { wllama, info: JSON.stringify({ ...info, chat_template: wllama.getChatTemplate(),
                                          multithread: wllama.isMultithread(), threads: wllama.getNumThreads() }) };
}

export function wllamaComplete(loaded, paramsJson) {
  const abort = new AbortController();
  const queue = [];
  let wake = null, finished = false, failure = null;
  const push = (item) => { queue.push(item); wake?.(); wake = null; };
  loaded.wllama.createCompletion({ ...JSON.parse(paramsJson), stream: true, abortSignal: abort.signal,
                                   onData: (chunk) => push(JSON.stringify(chunk)) })
    .catch((error) => { if (!abort.signal.aborted) failure = error; })
    .finally(() => { finished = true; wake?.(); wake = null; });
  return {
    async next() {  // the next chunk's JSON text, or null at the end
      while (!queue.length && !finished) await new Promise((resolve) => { wake = resolve; });
      if (queue.length) return queue.shift();
      if (failure) throw named(failure, "wllama generation failed");
      return null;
    },
    abort() { abort.abort(); },
  };
}

export async function wllamaRelease(loaded) {
  await loaded.wllama.exit();
}
