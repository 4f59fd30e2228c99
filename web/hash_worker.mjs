// SHA-256 of large downloads (smaller ones are hashed whole once written), in a worker of its own, started by
// downloads.mjs: hashing a 90 MB graph took ~0.4 s of the thread that also writes the chunks. Byte plumbing
// only: hashers by number, fed in message order (chunks are transferred, never copied).
// Messages (worker_link.mjs): {id, op: "update", chunk} | {id, op: "load", state} | {id, op: "drop"}, and the calls
// {id, op: "caughtUp" | "save" | "digest"}.
import { answerCalls } from "./worker_link.mjs";
import { createSHA256 } from "./vendor/hash-wasm/index.esm.min.js";

const hashers = new Map();

answerCalls(async ({ id, op, chunk, state }) => {
  if (op === "drop") {
    hashers.delete(id);
    return null;
  }
  if (!hashers.has(id)) hashers.set(id, createSHA256().then((hasher) => hasher.init()));
  const hasher = await hashers.get(id);  // earlier messages' continuations were queued first: order holds
  if (op === "update") hasher.update(chunk);
  else if (op === "load") hasher.load(state);
  else if (op === "save") return hasher.save();
  else if (op === "digest") {
    hashers.delete(id);
    return hasher.digest("hex");
  }
  return null;  // caughtUp: every message before it is done
});
