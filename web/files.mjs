// Files of the origin private file system (OPFS), as the engine host (bridge.mjs) and its download worker
// (downloads.mjs) both write them. Every body and unresumable download a context writes carries its owner's name;
// the context holds a Web Lock of that name for its whole life, so such a file whose owner's lock is free was left
// by a context that is gone (a closed tab, a crash). Resumable downloads are kept apart, in partial/.
const OWNER = crypto.randomUUID();
export const ownerLock = (owner) => `ml-engine-host-${owner}`;
navigator.locks.request(ownerLock(OWNER), () => new Promise(() => {}));

export const folder = async (...names) => {
  let dir = await navigator.storage.getDirectory();
  for (const name of names) dir = await dir.getDirectoryHandle(name, { create: true });
  return dir;
};
export const uniqueName = () => `${OWNER}.${Date.now().toString(36)}-${crypto.randomUUID()}`;

// A JS error Python can tell apart by name (a DOMException's name, e.g. QuotaExceededError, is kept).
export const named = (error, message) => Object.assign(new Error(`${message}: ${error?.message ?? error}`),
                                                       { name: error?.name ?? "Error" });

// A chunk is written in slices of at most WRITE_SLICE bytes: on a profile's first download Chromium's sync access
// handle wrote fetch's larger chunks (up to 2 MiB) 2-5 times slower per byte. 100 MB spent 188 ms in write()
// in chunks as fetch gave them, 74 ms in slices (bench/opfs_writes.py). A full quota can show as a short write
// rather than an exception: both are a QuotaExceededError.
const WRITE_SLICE = 1 << 20;

export function writeAt(access, chunk, at, total) {
  for (let done = 0; done < chunk.byteLength; done += WRITE_SLICE) {
    const slice = chunk.subarray(done, done + WRITE_SLICE);
    if (access.write(slice, { at: at + done }) !== slice.byteLength) {
      throw new DOMException(`the storage quota ran out after ${at + done} of ${total ?? "?"} bytes`,
                             "QuotaExceededError");
    }
  }
  return chunk.byteLength;
}

export async function writeAll(handle, chunks) {
  const access = await handle.createSyncAccessHandle();
  try {
    let at = 0;
    for await (const chunk of chunks) at += writeAt(access, chunk, at);
    access.flush();
  } finally {
    access.close();
  }
}

export async function discard(body) {
  try { await body.remove(); } catch { /* already gone */ }
}
