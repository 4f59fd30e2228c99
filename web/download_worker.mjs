// Downloads in a worker of their own, started by bridge.mjs in the engine host: fetching and writing a 90 MB
// graph ran on the host's thread, between Python's steps (numpy's import, the tokenizer, cache writes), which
// held its chunks back. downloads.mjs's streamFile runs here; hashing goes on in hash_worker.mjs beside it.
// Calls (worker_link.mjs): {url, timeoutMs, stallMs, httpCache}, with progress [loaded, chunk, length] per chunk.
import { streamFile } from "./downloads.mjs";
import { answerCalls, moved } from "./worker_link.mjs";

// A graph's bytes, read back to be hashed (`read`), are moved to the host with the answer, not copied.
answerCalls(async ({ url, timeoutMs, stallMs, httpCache }, progress) => {
  const answer = await streamFile(url, timeoutMs, stallMs, progress, httpCache);
  return answer.read ? moved(answer, [answer.read.buffer]) : answer;
});
