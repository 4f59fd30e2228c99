// Warm-start plans. A createEngine call that made an engine from cached files leaves one under starts/ in the
// origin private file system, named by the sha256 of the call's JSON: the runtime binary and the files each
// session was made from, by their paths. Written by the engine host (bridge.mjs), read by ONNX Runtime's worker
// (ort_worker.mjs), which replays it while the host is still busy starting Python.
import { base64, sha256Hex, unbase64 } from "./encoding.mjs";

const starts = async () => (await navigator.storage.getDirectory()).getDirectoryHandle("starts", { create: true });
const planName = async (start) => `${await sha256Hex(start)}.json`;

// A cached body's path in the origin private file system; null for bytes.
export const pathOf = async (body) => (body instanceof FileSystemFileHandle
  ? (await navigator.storage.getDirectory()).resolve(body) : null);

async function handleAt(path) {
  let dir = await navigator.storage.getDirectory();
  for (const name of path.slice(0, -1)) dir = await dir.getDirectoryHandle(name);
  return dir.getFileHandle(path.at(-1));
}

// {runtime: {wasm, url, numThreads, warmup, sha256}, sessions: [{where, externalPaths, optimize, model, external}]}
// with file handles (`external`: [[path as the graph names it, handle]], as the runtime's worker takes it), or
// null: none, or one whose files are gone (then it is dropped). Plans written before `optimize` optimize.
export async function readPlan(start) {
  let dir, name, plan;
  try {
    dir = await starts();
    name = await planName(start);
    plan = JSON.parse(await (await (await dir.getFileHandle(name)).getFile()).text());
  } catch {
    return null;
  }
  try {
    const { where, url, numThreads, warmup, sha256 } = plan.runtime;
    const wasm = await handleAt(where);
    const sessions = await Promise.all(plan.sessions.map(async ({ where: paths, externalPaths, optimize = true }) => {
      const [model, ...external] = await Promise.all(paths.map(handleAt));
      return { where: paths, externalPaths, optimize, model,
               external: externalPaths.map((path, i) => [path, external[i]]) };
    }));
    return { runtime: { wasm, url, numThreads, warmup: warmup && unbase64(warmup), sha256 }, sessions };
  } catch {
    await dir.removeEntry(name).catch(() => {});
    return null;
  }
}

// `runtime` as readPlan gives it; `sessions`: [{bodies: [model, ...external], externalPaths, optimize}]. Nothing is
// written when a file is not a cached one (bytes).
export async function writePlan(start, { wasm, url, numThreads, warmup, sha256 }, sessions) {
  const wheres = await Promise.all(sessions.map(({ bodies }) => Promise.all(bodies.map(pathOf))));
  const where = await pathOf(wasm);
  if (!where || wheres.some((paths) => paths.includes(null))) return;
  const plan = {
    runtime: { where, url, numThreads, sha256, warmup: warmup ? base64(warmup) : null },
    sessions: sessions.map(({ externalPaths, optimize }, i) => ({ where: wheres[i], externalPaths, optimize })),
  };
  try {
    const writable = await (await (await starts()).getFileHandle(await planName(start), { create: true })).createWritable();
    await writable.write(JSON.stringify(plan));
    await writable.close();
  } catch { /* the next start is a cold one */ }
}
