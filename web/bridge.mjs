// The JS half of pyodide_pkg/platform/browser.py: IndexedDB and ONNX Runtime Web, nothing more.
let ort = null;

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

// File bodies are stored as Blobs: Chromium aborts a transaction whose value holds a Uint8Array of about
// 200 MB (SmolLM2's q4 file; 130 MB still passed), while a Blob of that size is kept (and a 100 MB Blob
// is stored in 0.3 s against 0.8 s as a Uint8Array). Records written as Uint8Array before still read back.
export function idbWrite(db, opsJson, blobs) {
  const ops = JSON.parse(opsJson);
  const stores = [...new Set(ops.map((op) => op.store))];
  if (!stores.length) return Promise.resolve();
  const bodies = blobs.map((bytes) => new Blob([bytes]));
  const tx = db.transaction(stores, "readwrite");
  for (const op of ops) {
    const store = tx.objectStore(op.store);
    if (op.op === "delete") store.delete(op.key);
    else store.put(op.blob === null ? op.value : { ...op.value, data: bodies[op.blob] });
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

export async function idbGetBlob(db, storeName, keyJson) {
  const found = await request(db.transaction(storeName).objectStore(storeName).get(JSON.parse(keyJson)));
  if (!found) return null;
  return new Uint8Array(found.data instanceof Blob ? await found.data.arrayBuffer() : found.data);
}

// An empty prefix lists the store; arrays sort after strings, so [...prefix, []] bounds a prefix.
export async function idbGetAllJson(db, storeName, indexName, prefixJson) {
  const prefix = JSON.parse(prefixJson);
  const store = db.transaction(storeName).objectStore(storeName);
  const source = indexName ? store.index(indexName) : store;
  const range = prefix.length ? IDBKeyRange.bound(prefix, [...prefix, []]) : null;
  return JSON.stringify(await request(source.getAll(range)));
}

export async function ortInit(wasmBinary, numThreads) {
  if (ort) return;
  const module = await import(new URL("./vendor/ort/ort.wasm.min.mjs", import.meta.url));
  module.env.wasm.wasmBinary = wasmBinary.buffer.slice(wasmBinary.byteOffset, wasmBinary.byteOffset + wasmBinary.byteLength);
  module.env.wasm.wasmPaths = { mjs: new URL("./vendor/ort/ort-wasm-simd-threaded.mjs", import.meta.url).href };
  // 0 means automatic: every core when the page is cross-origin isolated (threads need it).
  module.env.wasm.numThreads = numThreads || (crossOriginIsolated ? navigator.hardwareConcurrency : 1);
  ort = module;
}

export function ortCreateSession(model) {
  return ort.InferenceSession.create(model, { executionProviders: ["wasm"] });
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
