// SHA-256 of downloads in a worker of its own, started by bridge.mjs: hashing a 90 MB graph took ~0.4 s of the
// engine host's thread, which meanwhile writes the next chunk and runs Python. Byte plumbing only: hashers by
// number, fed in message order (chunks are transferred, never copied).
//   host -> here: {id, op: "update", chunk} | {id, op: "load", state} | {id, op: "drop"}
//                 | {id, op: "caughtUp" | "save" | "digest", ask}
//   here -> host: {ask, value}
import { createSHA256 } from "./vendor/hash-wasm/index.esm.min.js";

const hashers = new Map();

self.onmessage = async ({ data: { id, op, chunk, state, ask } }) => {
  if (op === "drop") {
    hashers.delete(id);
    return;
  }
  if (!hashers.has(id)) hashers.set(id, createSHA256().then((hasher) => hasher.init()));
  const hasher = await hashers.get(id);  // earlier messages' continuations were queued first: order holds
  if (op === "update") hasher.update(chunk);
  else if (op === "load") hasher.load(state);
  else if (op === "caughtUp") self.postMessage({ ask, value: null });
  else if (op === "save") self.postMessage({ ask, value: hasher.save() });
  else if (op === "digest") {
    hashers.delete(id);
    self.postMessage({ ask, value: hasher.digest("hex") });
  }
};
