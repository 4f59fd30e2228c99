// The JS half of pyodide_pkg/platform/browser.py: downloads, IndexedDB and ONNX Runtime Web, nothing more.
// Model bytes stay here: a download streams into a Blob (hashed on the way), IndexedDB keeps the Blob, and
// ONNX Runtime reads it; Python holds the Blob as a handle and reads only the small files it parses.
import { createSHA256 } from "./vendor/hash-wasm/index.esm.min.js";

let ort = null;
const BLOB_PART = 16 << 20;  // chunks are handed to Blob storage in parts of this size, not kept on the JS heap

// {status, headers (JSON text), size, sha256, body: Blob}; a body only for 2xx answers. onProgress(loaded,
// chunk, length) runs per chunk read.
export async function download(url, timeoutMs, onProgress) {
  const response = await fetch(url, timeoutMs ? { signal: AbortSignal.timeout(timeoutMs) } : {});
  const headers = JSON.stringify(Object.fromEntries(response.headers));
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    return { status: response.status, headers, size: 0, sha256: null, body: null };
  }
  const length = Number(response.headers.get("content-length")) || null;
  const hasher = await createSHA256();
  const reader = response.body.getReader();
  const parts = [];
  let pending = [], pendingBytes = 0, size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    hasher.update(value);
    pending.push(value);
    pendingBytes += value.byteLength;
    size += value.byteLength;
    if (pendingBytes >= BLOB_PART) {
      parts.push(new Blob(pending));
      pending = [];
      pendingBytes = 0;
    }
    onProgress?.(size, value.byteLength, length);
  }
  parts.push(new Blob(pending));
  return { status: response.status, headers, size, sha256: hasher.digest("hex"), body: new Blob(parts) };
}

export async function sha256Of(blob) {
  const hasher = await createSHA256();
  const reader = blob.stream().getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return hasher.digest("hex");
    hasher.update(value);
  }
}

export async function readBody(blob, start, end) {
  return new Uint8Array(await (start === undefined ? blob : blob.slice(start, end)).arrayBuffer());
}

const request = (req) => new Promise((resolve, reject) => {
  req.onsuccess = () => resolve(req.result);
  req.onerror = () => reject(req.error);
});

const sameKeyPath = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// Creates missing stores and indexes; a store or index whose key path changed is rebuilt.
export function idbOpen(name, schemaJson) {
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
  return request(open).then((db) => {
    db.onversionchange = () => db.close();
    return db;
  });
}

// File bodies are Blobs: Chromium aborts a transaction whose value holds a Uint8Array of about 200 MB (a Blob
// of that size is kept, and stored in 0.3 s against 0.8 s). A body is a Blob from download() or bytes Python
// made (small records in tests); records written as Uint8Array by earlier versions still read back.
export function idbWrite(db, opsJson, bodies) {
  const ops = JSON.parse(opsJson);
  const stores = [...new Set(ops.map((op) => op.store))];
  if (!stores.length) return Promise.resolve();
  const blobs = bodies.map((body) => (body instanceof Blob ? body : new Blob([body])));
  const tx = db.transaction(stores, "readwrite");
  for (const op of ops) {
    const store = tx.objectStore(op.store);
    if (op.op === "delete") store.delete(op.key);
    else store.put(op.body === null ? op.value : { ...op.value, data: blobs[op.body] });
  }
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("IndexedDB transaction aborted"));
  });
}

export async function idbGetJson(db, storeName, keyJson) {
  const found = await request(db.transaction(storeName).objectStore(storeName).get(JSON.parse(keyJson)));
  return JSON.stringify(found ?? null);
}

export async function idbGetBody(db, storeName, keyJson) {
  const found = await request(db.transaction(storeName).objectStore(storeName).get(JSON.parse(keyJson)));
  if (!found) return null;
  return found.data instanceof Blob ? found.data : new Blob([found.data]);
}

// An empty prefix lists the store; arrays sort after strings, so [...prefix, []] bounds a prefix.
export async function idbGetAllJson(db, storeName, indexName, prefixJson) {
  const prefix = JSON.parse(prefixJson);
  const store = db.transaction(storeName).objectStore(storeName);
  const source = indexName ? store.index(indexName) : store;
  const range = prefix.length ? IDBKeyRange.bound(prefix, [...prefix, []]) : null;
  return JSON.stringify(await request(source.getAll(range)));
}

export async function ortInit(wasm, numThreads) {
  if (ort) return;
  const module = await import(new URL("./vendor/ort/ort.wasm.min.mjs", import.meta.url));
  module.env.wasm.wasmBinary = await wasm.arrayBuffer();
  module.env.wasm.wasmPaths = { mjs: new URL("./vendor/ort/ort-wasm-simd-threaded.mjs", import.meta.url).href };
  // 0 means automatic: every core when the page is cross-origin isolated (threads need it).
  module.env.wasm.numThreads = numThreads || (crossOriginIsolated ? navigator.hardwareConcurrency : 1);
  ort = module;
}

// A model is a Blob (or bytes); external data files are Blobs named as the graph names them. ONNX Runtime
// copies each into its heap and lets go of them once the session exists.
export async function ortCreateSession(model, externalPaths, externalBodies) {
  const bytes = model instanceof Blob ? new Uint8Array(await model.arrayBuffer()) : model;
  const externalData = externalPaths.map((path, i) => ({ path, data: externalBodies[i] }));
  return ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], ...(externalData.length ? { externalData } : {}) });
}

const ARRAYS = {
  float32: Float32Array, int64: BigInt64Array, int32: Int32Array, bool: Uint8Array,
  uint8: Uint8Array, int8: Int8Array, float16: Uint16Array,
};

export async function ortRun(session, names, types, dims, buffers) {
  const feeds = {};
  names.forEach((name, i) => {
    const Kind = ARRAYS[types[i]];
    if (!Kind) throw new Error(`input ${name}: unsupported dtype ${types[i]}`);
    const bytes = buffers[i];
    const data = new Kind(bytes.buffer, bytes.byteOffset, bytes.byteLength / Kind.BYTES_PER_ELEMENT);
    feeds[name] = new ort.Tensor(types[i], data, dims[i]);
  });
  const results = await session.run(feeds);
  const out = { names: [], types: [], dims: [], buffers: [] };
  for (const [name, tensor] of Object.entries(results)) {
    const data = tensor.data;
    out.names.push(name);
    out.types.push(tensor.type);
    out.dims.push(Array.from(tensor.dims));
    out.buffers.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  for (const tensor of Object.values(feeds)) tensor.dispose?.();
  return out;
}

export function ortRelease(session) {
  session.release();
}
