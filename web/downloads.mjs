// Downloads, as download_worker.mjs runs them: each streams from fetch into an OPFS file (files.mjs), is hashed
// whole once written or, when large, on the way in (hash_worker.mjs), and can resume. Byte plumbing only.
import { base64, digestHex, sha256Hex, unbase64 } from "./encoding.mjs";
import { discard, folder, named, uniqueName, writeAt } from "./files.mjs";
import { workerLink } from "./worker_link.mjs";

// streamFile (a download, in download_worker.mjs): {status, headers (JSON text), size, sha256, body}; a body only for
// 2xx answers. A download that receives nothing for stallMs fails; onProgress(loaded, chunk, length) runs per chunk
// read. A download cut off by a network error resumes where it stopped with a Range request (If-Range: the file must
// not have changed), up to RESUMES times; one cut off for good (a reload, a closed tab) resumes in the next attempt,
// from its last checkpoint: it is written to partial/<sha256 of the URL>, and every CHECKPOINT bytes <that>.json
// records its ETag, the bytes flushed and the hasher's state there (none for a file hashed whole).
const RESUMES = 3;
const CHECKPOINT = 32 << 20;
const PARTIAL_DAYS = 7;  // an unfinished download nobody resumed is dropped after this

// A hasher in hash_worker.mjs: update() hands the chunk over (it is written already); caughtUp(), save() and
// digest() answer once every chunk before them is hashed. A worker that fails fails its hashers' answers; the
// next download starts another. A download waits for the hasher every HASH_AHEAD bytes, for the previous mark
// only: the two keep working side by side, and at most about twice that waits in the worker's queue (writing
// can outrun hashing, ~240 MB/s).
const HASH_AHEAD = 16 << 20;
const hashing = workerLink("./hash_worker.mjs", "sha256", (script, why) =>
  Object.assign(new Error(`the SHA-256 worker ${script} failed: ${why}`), { name: "HashWorkerError" }));
let hashers = 0;

// A file of up to WHOLE_HASH bytes is hashed whole once written, by the browser (WebCrypto): hash-wasm's ~200 MB/s
// bounded its download (a 90 MB graph's took 0.62-0.81 s, where fetching it took ~0.2 s). A larger one is hashed
// on the way in, as hashing it whole holds its bytes in memory twice over (ours, and WebCrypto's copy): the bench's
// peak renderer memory rose ~40 MB with a 90 MB graph.
const WHOLE_HASH = 128 << 20;

// The bytes it hashed, of HAND_OVER bytes or more (a graph), go with the answer (`read`): the runtime's worker makes
// a session from them rather than reading the file again (~160-280 ms for a 90 MB graph on a fresh profile).
const HAND_OVER = 8 << 20;

function wholeFileHasher(access) {
  return {
    read: null,
    update() {},
    load() {},
    drop() {},
    caughtUp: async () => null,
    save: async () => null,
    async digest() {
      const bytes = new Uint8Array(access.getSize());
      if (access.read(bytes, { at: 0 }) !== bytes.byteLength) {
        throw new Error("the written file could not be read back");
      }
      if (bytes.byteLength >= HAND_OVER) this.read = bytes;
      return digestHex(bytes);
    },
  };
}

function offThreadHasher() {
  const link = hashing.live(), id = ++hashers;  // a hasher stays with its worker, even one that failed
  return {
    update: (chunk) => link.post({ id, op: "update", chunk }, [chunk.buffer]),
    load: (state) => link.post({ id, op: "load", state }),
    drop: () => link.post({ id, op: "drop" }),
    caughtUp: () => link.call({ id, op: "caughtUp" }),
    save: () => link.call({ id, op: "save" }),
    digest: () => link.call({ id, op: "digest" }),
  };
}

// The URL's partial file, opened exclusively, with what its last checkpoint says; null when another engine
// host is downloading the same URL (this one then writes a file of its own). A host that was just closed (a
// reload) lets go of the file a moment later: one with a checkpoint to resume from is asked for again for
// ~1.5 s (with the download worker started at boot, a reloaded page's download came before that release).
const HELD_RETRIES_MS = [100, 200, 400, 800];

async function partialKey(url) {
  return { dir: await folder("partial"), key: await sha256Hex(url) };
}

async function partialFor(url) {
  const { dir, key } = await partialKey(url);
  const handle = await dir.getFileHandle(key, { create: true });
  const exclusive = () => handle.createSyncAccessHandle().catch(() => null);  // null while another holds it
  let access = await exclusive();
  if (!access && await dir.getFileHandle(`${key}.json`).then(() => true, () => false)) {  // something to resume
    for (const wait of HELD_RETRIES_MS) {
      await new Promise((resolve) => setTimeout(resolve, wait));
      if ((access = await exclusive())) break;
    }
  }
  if (!access) return null;
  let saved = null;
  try {
    saved = JSON.parse(await (await (await dir.getFileHandle(`${key}.json`)).getFile()).text());
    if (!(saved.size > 0 && saved.size <= access.getSize() && saved.etag && saved.state !== undefined)) saved = null;
  } catch {
    saved = null;
  }
  return { dir, key, handle, access, saved };
}

// A checkpoint's bytes are flushed to disk first only when it carries the hasher's state (a file hashed on the way
// in, whose sha256 vouches for bytes the file must hold). A file hashed whole is hashed from what the file holds
// once complete, so bytes a system crash took from it fail that hash, and a file cut shorter fails the size check
// above. Its checkpoints' fsyncs held a 90 MB graph's download back: on a fresh profile it was hashed ~100 ms later.
async function checkpoint(partial, etag, size, hasher) {
  const state = await hasher.save();
  if (state) partial.access.flush();
  const writable = await (await partial.dir.getFileHandle(`${partial.key}.json`, { create: true })).createWritable();
  await writable.write(JSON.stringify({ etag, size, state: state && base64(state) }));
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

// Partial files nothing can resume from, or that nobody resumed for PARTIAL_DAYS, are dropped.
export async function sweepPartials() {
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
}

// `httpCache`: the browser's HTTP cache keeps the answer too (the runtime binary: ort_worker.mjs compiles it from
// there); model files bypass it, which would hold a second copy of each.
export async function streamFile(url, timeoutMs, stallMs, onProgress, httpCache = false) {
  const cache = httpCache ? "no-cache" : "no-store";
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
    let response = await fetch(url, { signal, cache, ...ranged });
    if (saved && response.status === 416) {  // what was saved no longer fits the file: start over
      await response.body?.cancel();
      response = await fetch(url, { signal, cache });
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
    const body = partial?.handle ?? await (await folder("incoming")).getFileHandle(uniqueName(), { create: true });
    const access = partial?.access ?? await body.createSyncAccessHandle();
    access.truncate(start);
    const whole = (length !== null && length <= WHOLE_HASH) || (start > 0 && !saved.state);
    hasher = whole ? wholeFileHasher(access) : offThreadHasher();
    if (start && !whole) hasher.load(unbase64(saved.state));
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
          response = await fetch(url, { signal, cache, headers: { Range: `bytes=${size}-`, "If-Range": etag } });
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
    return { status, headers, size, sha256, body, read: hasher.read ?? null };
  } catch (error) {
    hasher?.drop();
    throw named(signal.aborted ? signal.reason ?? error : error, `download of ${url} failed`);
  } finally {
    clearTimeout(stalled);
  }
}
