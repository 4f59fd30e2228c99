// The worker bench/storage.py runs on a cross-origin isolated page: a dedicated module Worker, as the engine host
// is. It stores a downloaded file body in one of three ways and reads it back; every answer is a plain object
// ({error} when something threw: a failure is a result).
//   page -> worker: {op: "write", mechanism, url, id}  ·  {op: "read", mechanism, id, size, head, tail}
//   mechanism: "idb-parts" (a Blob per 16 MB of chunks, then one Blob of those), "idb-one" (one Blob of every
//              chunk), "opfs" (a FileSystemSyncAccessHandle, metadata in IndexedDB), "none" (download and hash only)
import { createSHA256 } from "./index.esm.min.js";

const PART = 16 << 20;

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function open() {
  const req = indexedDB.open("bench-storage", 1);
  req.onupgradeneeded = () => req.result.createObjectStore("files", { keyPath: "id" });
  return request(req);
}

async function put(record) {
  const db = await open();
  try {
    const tx = db.transaction("files", "readwrite");
    const done = new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new DOMException("transaction aborted", "AbortError"));
    });
    tx.objectStore("files").put(record);
    await done;
  } finally {
    db.close();
  }
}

async function get(id) {
  const db = await open();
  try {
    return await request(db.transaction("files", "readonly").objectStore("files").get(id));
  } finally {
    db.close();
  }
}

// Download `url`, hashing each chunk; `store(chunk, offset)` keeps it.
async function download(url, store) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const hasher = await createSHA256();
  hasher.init();
  const reader = response.body.getReader();
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    hasher.update(value);
    store(value, size);
    size += value.length;
  }
  return { size, sha256: hasher.digest("hex") };
}

async function write(mechanism, url, id) {
  if (mechanism === "none") return download(url, () => {});
  if (mechanism === "opfs") {
    const root = await navigator.storage.getDirectory();
    const access = await (await root.getFileHandle(id, { create: true })).createSyncAccessHandle();
    let got;
    try {
      access.truncate(0);
      got = await download(url, (chunk, at) => {
        if (access.write(chunk, { at }) !== chunk.length) throw new Error(`short write at ${at}`);
      });
      access.flush();
    } finally {
      access.close();
    }
    await put({ id, file: id, ...got });
    return got;
  }
  const parts = [];
  let pending = [], pendingBytes = 0;
  const got = await download(url, (chunk) => {
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (mechanism === "idb-parts" && pendingBytes >= PART) {
      parts.push(new Blob(pending));
      pending = [];
      pendingBytes = 0;
    }
  });
  parts.push(new Blob(pending));
  pending = [];
  const blob = parts.length === 1 ? parts[0] : new Blob(parts);
  parts.length = 0;
  await put({ id, data: blob, ...got });
  return got;
}

async function read(mechanism, id, size, head, tail) {
  const record = await get(id);
  if (!record) throw new Error(`no record ${id}`);
  let bytes;
  if (mechanism === "opfs") {
    const root = await navigator.storage.getDirectory();
    bytes = new Uint8Array(await (await (await root.getFileHandle(record.file)).getFile()).arrayBuffer());
  } else {
    bytes = new Uint8Array(await record.data.arrayBuffer());
  }
  const same = (want, at) => want.every((b, i) => bytes[at + i] === b);
  return { size: bytes.length, ok: bytes.length === size && same(head, 0) && same(tail, size - tail.length) };
}

self.onmessage = async ({ data: { op, mechanism, url, id, size, head, tail } }) => {
  const start = performance.now();
  try {
    const answer = op === "write" ? await write(mechanism, url, id) : await read(mechanism, id, size, head, tail);
    const seconds = (performance.now() - start) / 1000;
    const { usage, quota } = await navigator.storage.estimate();
    self.postMessage({ ...answer, seconds, usage, quota });
  } catch (error) {
    self.postMessage({ error: `${error.name}: ${error.message}`, seconds: (performance.now() - start) / 1000 });
  }
};
