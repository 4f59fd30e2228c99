// The JS half of pyodide_pkg/platform/browser.py: downloads, file bodies, IndexedDB and ONNX Runtime Web.
// Model bytes stay here. A download streams into a file of the origin private file system (OPFS) in
// download_worker.mjs (downloads.mjs) and is hashed there; storing it moves the file beside its
// store's other bodies and IndexedDB keeps only its name with the metadata; ONNX Runtime reads the file in
// ort_worker.mjs, or, for a graph just downloaded, gets the bytes its hash read. Python holds a body as a handle
// (a FileSystemFileHandle) and reads only the small files it parses.
// OPFS rather than IndexedDB Blobs: writing a 1 GB Blob into IndexedDB held the whole file in the browser process's
// memory (1.2 GB peak, bench/storage), OPFS held none.
import { sweepPartials } from "./downloads.mjs";
import { discard, folder, named, ownerLock, uniqueName, writeAll } from "./files.mjs";
import { holdBytes, runtimeReceived } from "./ort_host.mjs";
import { workerLink } from "./worker_link.mjs";

export { discard } from "./files.mjs";
// ONNX Runtime Web: its worker, sessions and warm starts (engine_worker.mjs imports it on its own too, sooner).
export * from "./ort_host.mjs";

// Downloads run in download_worker.mjs (downloads.mjs): {status, headers (JSON text), size, sha256, body}. A
// graph's bytes, read there to be hashed, stay here beside its body (ort_host.holdBytes) until a session is made.
const downloads = workerLink("./download_worker.mjs", "downloads",
                             (script, why) => new Error(`the download worker ${script} failed: ${why}`));

// Started with the host, so that its module (and its imports) load beside Pyodide: started by the first download,
// a fresh profile's downloads began ~0.5 s after Python asked for them.
export function prepareDownloads() {
  downloads.live();
}

// `httpCache`: the runtime's binary, which its first start may have fetched already (ort_host.runtimeReceived):
// those bytes, hashed there, become the download's file.
export async function download(url, timeoutMs, stallMs, onProgress, httpCache) {
  const received = httpCache ? await runtimeReceived(url) : null;
  if (received) {
    const { bytes, ...answer } = received;
    const body = await (await folder("incoming")).getFileHandle(uniqueName(), { create: true });
    try {
      await writeAll(body, [bytes]);
    } catch (error) {
      await discard(body);
      throw named(error, `download of ${url} failed`);
    }
    onProgress?.(answer.size, answer.size, answer.size);
    return { ...answer, body };
  }
  const { read, ...answer } = await downloads.live().call({ url, timeoutMs, stallMs, httpCache }, [], onProgress);
  if (read) holdBytes(answer.body, read);
  return answer;
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
