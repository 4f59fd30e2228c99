// The JS half of pyodide_pkg/platform/browser.py: downloads, file bodies, IndexedDB and ONNX Runtime Web.
// Model bytes stay here. A download streams into a file of the origin private file system (OPFS) in
// download_worker.mjs (downloads.mjs), hashed on the way in hash_worker.mjs; storing it moves the file beside its
// store's other bodies and IndexedDB keeps only its name with the metadata; ONNX Runtime reads the file in
// ort_worker.mjs. Python holds a body as a handle (a FileSystemFileHandle) and reads only the small files it parses.
// OPFS rather than IndexedDB Blobs: writing a 1 GB Blob into IndexedDB held the whole file in the browser process's
// memory (1.2 GB peak, bench/storage), OPFS held none.
import { sweepPartials } from "./downloads.mjs";
import { folder, named, ownerLock, uniqueName, writeAll } from "./files.mjs";
import { pathOf, writePlan } from "./plans.mjs";
import { workerLink } from "./worker_link.mjs";

export { discard } from "./files.mjs";

// ONNX Runtime Web lives in a worker of its own (ort_worker.mjs), started with the host so that its module
// loads beside Pyodide.
const ortLink = workerLink("./ort_worker.mjs", "onnx-runtime",
                           (script, why) => new Error(`ONNX Runtime's worker ${script} failed: ${why}`));
let ortStarting = null, ortStarted = null, ortRuntime = null;

export function prepareRuntime() {
  ortLink.live();
}

// A session stays with the worker that made it, as the runtime's start does: one that failed fails their calls,
// never a newer worker's session of the same number.
const ortCall = (link, op, args, transfer = []) => link.call({ op, args }, transfer);

// Downloads run in download_worker.mjs (downloads.mjs): {status, headers (JSON text), size, sha256, body}.
const downloads = workerLink("./download_worker.mjs", "downloads",
                             (script, why) => new Error(`the download worker ${script} failed: ${why}`));

export function download(url, timeoutMs, stallMs, onProgress) {
  return downloads.live().call({ url, timeoutMs, stallMs }, [], onProgress);
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
  await sweepPartials();
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
// binary is dropped with its sessions. A runtime whose worker failed since is started anew, in another.
export async function ortInit(wasm, numThreads, warmup, sha256) {
  await replaysRead();
  if (ortStarting && ortRuntime.link.failed) ortStarting = ortStarted = ortRuntime = null;
  if (ortStarting && !ortRuntime.adopted && ortRuntime.sha256 !== sha256) resetRuntime();
  startRuntime(wasm, numThreads, warmup, sha256);
  ortRuntime.adopted = true;
  return ortStarting;
}

function startRuntime(wasm, numThreads, warmup, sha256) {
  if (ortStarting) return;
  const link = ortLink.live();
  const starting = ortCall(link, "init", { wasm, numThreads, warmup, sha256 }).then((info) => { ortStarted = info; });
  starting.catch(() => { if (ortStarting === starting) ortStarting = null; });  // the next engine tries again
  ortStarting = starting;
  ortRuntime = { wasm, numThreads, warmup, sha256, adopted: false, link };
}

function resetRuntime() {
  ortLink.end(new Error("ONNX Runtime's worker was restarted"));
  ortStarting = ortStarted = ortRuntime = null;
  replays.clear();
}

// Whether the runtime Python started is still up: its worker has not failed since.
export function ortRunning() {
  return Boolean(ortStarted && ortRuntime && !ortRuntime.link.failed);
}

// {numThreads, isolated} once the runtime has started, else null.
export function ortInfo() {
  return ortStarted;
}

// A model is a body (or bytes); external data files are bodies named as the graph names them. The runtime's
// worker reads the files. A session a warm start is making from the same files is taken instead; if that one
// fails (its runtime did not start), the session is made anew, so a replay's failure is never the model's.
// `start` names the createEngine call it is made for (endStart).
const makeSession = (model, externalPaths, externalBodies) => {
  const link = ortRuntime?.link ?? ortLink.live();  // the worker the runtime started in
  return ortCall(link, "create", { model, external: externalPaths.map((path, i) => [path, externalBodies[i]]) })
    .then((session) => ({ ...session, link }));
};

export async function ortCreateSession(model, externalPaths, externalBodies, start) {
  const bodies = [model, ...externalBodies];
  const create = () => makeSession(model, externalPaths, externalBodies);
  let session = null;
  if (replays.size) {
    await replaysRead();
    const signature = JSON.stringify([await Promise.all(bodies.map(pathOf)), externalPaths]);
    for (const { sessions } of replays.values()) {
      session = sessions.get(signature) ?? null;
      if (session) {
        sessions.delete(signature);
        session = session.then((taken) => { warm.taken += 1; return taken; }, create);
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
  return ortCall(session.link, "run", { session: session.id, names, types, dims, buffers },
                 buffers.map((b) => b.buffer));
}

// Whether the worker `session` lives in has failed (and every session in it with it).
export function ortLost(session) {
  return Boolean(session.link.failed);
}

export function ortRelease(session) {
  ortCall(session.link, "release", { session: session.id }).catch(() => {});
}

// Warm starts (plans.mjs). When a createEngine call reaches a host still booting, the plan the same call left is
// replayed by the runtime's worker, which reads it and starts the runtime and the sessions itself: this thread
// is busy starting Python, and each step of the replay waited for it (~200-300 ms). Python, deciding as always
// what to load, takes each session whose files are the ones it chose (ortCreateSession); the rest are released
// when that call ends.
const made = new Map();     // createEngine call -> [{bodies: its sessions' files, externalPaths}]
const replays = new Map();  // createEngine call -> {read: the worker's answer, handled, sessions: Map(files' signature -> session)}
const warm = { replayed: 0, taken: 0 };  // sessions replayed, and replayed sessions Python used

export function warmStarts() {
  return { ...warm };
}

const replaysRead = () => Promise.all([...replays.values()].map(({ read }) => read));

export function replayStart(start) {
  if (ortStarting) return;  // Python started the runtime first
  const link = ortLink.live();
  const replay = { sessions: new Map() };
  replay.read = ortCall(link, "replay", { start }).then((plan) => {
    if (!plan || link.failed) return;
    const { wasm, numThreads, warmup, sha256 } = plan.runtime;
    startRuntime(wasm, numThreads, warmup, sha256);  // joins the worker's start
    for (const { where, externalPaths, id } of plan.sessions) {
      const session = ortCall(link, "made", { session: id }).then((described) => ({ ...described, link }));
      session.catch(() => {});  // Python makes it again if it wants it
      replay.sessions.set(JSON.stringify([where, externalPaths]), session);
      warm.replayed += 1;
    }
  }).catch(() => {});
  replays.set(start, replay);
}

// Whether the createEngine call `start` is being replayed: its sessions are under way without Python.
export function replaying(start) {
  return Boolean(replays.get(start)?.sessions.size);
}

// The createEngine call `start` ended: sessions its replay made and Python did not take are released, and when
// it made an engine from cached files only, its plan is written.
export async function endStart(start, succeeded) {
  const replay = replays.get(start);
  replays.delete(start);
  replay?.read.then(() => { for (const session of replay.sessions.values()) session.then(ortRelease, () => {}); });
  const sessions = made.get(start) ?? [];
  made.delete(start);
  if (succeeded && sessions.length && ortRuntime) await writePlan(start, ortRuntime, sessions);
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
