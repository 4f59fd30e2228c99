// Downloads in a worker of their own, started by bridge.mjs in the engine host: fetching and writing a 90 MB
// graph ran on the host's thread, between Python's steps (numpy's import, the tokenizer, cache writes), which
// held its chunks back. bridge.mjs's own streamFile runs here; hashing goes on in hash_worker.mjs beside it.
// Byte plumbing only.
//   host -> here: {id, url, timeoutMs, stallMs}
//   here -> host: {id, progress: [loaded, chunk, length]} · {id, value} · {id, error: {name, message}}
import { streamFile } from "./bridge.mjs";

self.onmessage = async ({ data: { id, url, timeoutMs, stallMs } }) => {
  try {
    const value = await streamFile(url, timeoutMs, stallMs, (...progress) => self.postMessage({ id, progress }));
    self.postMessage({ id, value });
  } catch (error) {
    self.postMessage({ id, error: { name: error?.name ?? "Error", message: error?.message ?? String(error) } });
  }
};
