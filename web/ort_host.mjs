// The engine host's side of ONNX Runtime Web, which runs in a worker of its own (ort_worker.mjs): the runtime's
// start, sessions, runs and warm starts. Python calls it through bridge.mjs, which re-exports it. A module of its
// own, imported by engine_worker.mjs on its own, so that the runtime's worker and a warm start's replay in it do
// not wait for bridge.mjs's longer chain of imports.
import { pathOf, writePlan } from "./plans.mjs";
import { workerLink } from "./worker_link.mjs";

const ortLink = workerLink("./ort_worker.mjs", "onnx-runtime",
                           (script, why) => new Error(`ONNX Runtime's worker ${script} failed: ${why}`));
let ortStarting = null, ortStarted = null, ortRuntime = null;

// A downloaded graph's bytes, as the download worker read them to hash them (bridge.download), kept with its body
// for the session made from it: they are the bytes that were hashed, and the runtime's worker need not read the
// file again. Weakly: bytes no session takes go with their body.
const heldBytes = new WeakMap();
export function holdBytes(body, bytes) {
  heldBytes.set(body, bytes);
}

export function prepareRuntime() {
  ortLink.live();
}

// A session stays with the worker that made it, as the runtime's start does: one that failed fails their calls,
// never a newer worker's session of the same number.
const ortCall = (link, op, args, transfer = []) => link.call({ op, args }, transfer);

// ONNX Runtime compiles its WASM and starts its threads at its first session: `warmup` (a one-node graph Python
// gives) is that session, made now, while the model's files download. Its worker compiles the binary from the
// HTTP cache's answer for `url` or, failing that, from `wasm` (its cached copy), and checks either against
// `sha256` before running it; with no copy yet (`wasm` null), from the network. The call is posted at once (file
// handles cross as they are; behind a warm start's replay, once the worker has answered it), so the start goes on
// while Python works; a start a warm start began (replayStart) with the same binary is taken over, one with
// another binary is dropped with its sessions. A runtime whose worker failed since is started anew, in another.
// A start from the network takes the copy its download stored (the next call, with it) for its warm-start plan.
export async function ortInit(wasm, url, numThreads, warmup, sha256) {
  heldBytes.delete(wasm);  // a binary just downloaded: its start does not take the bytes its hash read
  await replaysRead();
  if (ortStarting && ortRuntime.link.failed) ortStarting = ortStarted = ortRuntime = null;
  if (ortStarting && !ortRuntime.adopted && ortRuntime.sha256 !== sha256) resetRuntime();
  startRuntime({ wasm, url, numThreads, warmup, sha256 });
  ortRuntime.adopted = true;
  if (ortRuntime.sha256 === sha256) ortRuntime.wasm ??= wasm;
  return ortStarting;
}

// `runtime`: {wasm, url, numThreads, warmup, sha256}, as init takes it and a plan keeps it.
function startRuntime(runtime) {
  if (ortStarting) return;
  const link = ortLink.live();
  const starting = ortCall(link, "init", runtime).then((info) => { ortStarted = info; });
  starting.catch(() => { if (ortStarting === starting) ortStarting = null; });  // the next engine tries again
  ortStarting = starting;
  ortRuntime = { ...runtime, adopted: false, link };
}

// The answer the runtime's start from the network (`url`, no cached copy yet) received, as a download answers
// (downloads.mjs) but with its bytes rather than a file: {status, headers, size, sha256, bytes}; null when there is
// none (another start, or it failed), and the binary is downloaded.
export async function runtimeReceived(url) {
  if (ortRuntime?.url !== url || ortRuntime.wasm || !ortStarting) return null;
  return ortCall(ortRuntime.link, "received").catch(() => null);
}

function resetRuntime() {
  ortLink.end(new Error("ONNX Runtime's worker was restarted"));
  ortStarting = ortStarted = ortRuntime = null;
  replays.clear();
}

// Whether the runtime Python started is still up: its worker has not failed since.
export function ortRunning() {
  return Boolean(ortStarted && ortRuntime && !ortRuntime.link.failed);
}

// {numThreads, isolated, wasmFrom} once the runtime has started, else null.
export function ortInfo() {
  return ortStarted;
}

// A model is a body (or bytes); external data files are bodies named as the graph names them. The runtime's
// worker reads the files (a body's held bytes move there instead). A session a warm start is making from the
// same files is taken instead; if that one fails (its runtime did not start), the session is made anew, so a
// replay's failure is never the model's. `start` names the createEngine call it is made for (endStart);
// `optimize`: whether ONNX Runtime optimizes the graph (Python decides, pipelines/loading.py).
const makeSession = (model, externalPaths, externalBodies, optimize) => {
  const link = ortRuntime?.link ?? ortLink.live();  // the worker the runtime started in
  const bytes = heldBytes.get(model) ?? null;
  heldBytes.delete(model);
  const external = externalPaths.map((path, i) => [path, externalBodies[i]]);
  return ortCall(link, "create", { model, bytes, optimize, external }, bytes ? [bytes.buffer] : [])
    .then((session) => ({ ...session, link }));
};

export async function ortCreateSession(model, externalPaths, externalBodies, start, optimize) {
  const bodies = [model, ...externalBodies];
  const create = () => makeSession(model, externalPaths, externalBodies, optimize);
  let session = null;
  if (replays.size) {
    await replaysRead();
    const key = signature(await Promise.all(bodies.map(pathOf)), externalPaths, optimize);
    for (const { sessions } of replays.values()) {
      session = sessions.get(key) ?? null;
      if (session) {
        sessions.delete(key);
        session = session.then((taken) => { warm.taken += 1; return taken; }, create);
        break;
      }
    }
  }
  session ??= create();
  if (start) {
    if (!made.has(start)) made.set(start, []);
    const entry = { bodies, externalPaths, optimize };
    made.get(start).push(entry);
    session.then((taken) => { entry.session = taken; }, () => unplanned((e) => e === entry));
  }
  return session;
}

// A session that could not be made, or was released while its createEngine call ran (made while Python walked
// its graph, then made again with the data files the walk found), is left out of the call's plan.
function unplanned(which) {
  for (const entries of made.values()) {
    const at = entries.findIndex(which);
    if (at >= 0) entries.splice(at, 1);
  }
}

// Input buffers are Python's fresh copies, so they are moved, not copied again.
export function ortRun(session, names, types, dims, buffers) {
  return ortCall(session.link, "run", { session: session.id, names, types, dims, buffers },
                 buffers.map((b) => b.buffer));
}

// Whether the worker `session` lives in has failed (and every session in it with it).
export function ortLost(session) {
  return Boolean(session.link.failed);
}

export function ortRelease(session) {
  unplanned((entry) => entry.session === session);
  ortCall(session.link, "release", { session: session.id }).catch(() => {});
}

// Warm starts (plans.mjs). When a createEngine call reaches a host still booting, the plan the same call left is
// replayed by the runtime's worker, which reads it and starts the runtime and the sessions itself: this thread
// is busy starting Python, and each step of the replay waited for it (~200-300 ms). Python, deciding as always
// what to load, takes each session whose files are the ones it chose (ortCreateSession); the rest are released
// when that call ends.
const made = new Map();     // createEngine call -> [{bodies: its sessions' files, externalPaths, optimize}], as
                            // writePlan takes them
const replays = new Map();  // createEngine call -> {read: the worker's answer handled, sessions: Map(files' signature -> session)}
const warm = { replayed: 0, taken: 0 };  // sessions replayed, and replayed sessions Python used

export function warmStarts() {
  return { ...warm };
}

// A session's files, as a replay and Python name them (their paths in OPFS and the graph's names for its data),
// and whether its graph is optimized.
const signature = (paths, externalPaths, optimize) => JSON.stringify([paths, externalPaths, optimize]);

const replaysRead = () => Promise.all([...replays.values()].map(({ read }) => read));

export function replayStart(start) {
  if (ortStarting || replays.has(start)) return;  // Python started the runtime first, or the same call is replaying
  const link = ortLink.live();
  const replay = { sessions: new Map() };
  replay.read = ortCall(link, "replay", { start }).then((plan) => {
    if (!plan || link.failed) return;
    startRuntime(plan.runtime);  // joins the worker's start
    for (const { where, externalPaths, optimize, id } of plan.sessions) {
      const session = ortCall(link, "made", { session: id }).then((described) => ({ ...described, link }));
      session.catch(() => {});  // Python makes it again if it wants it
      replay.sessions.set(signature(where, externalPaths, optimize), session);
      warm.replayed += 1;
    }
  }).catch(() => {});
  replays.set(start, replay);
}

// Whether the createEngine call `start` is being replayed (its sessions are under way without Python), once
// the runtime's worker has read its plan or found none.
export async function replaying(start) {
  const replay = replays.get(start);
  await replay?.read;
  return Boolean(replay?.sessions.size);
}

// The createEngine call `start` ended: sessions its replay made and Python did not take are released, and when
// it made an engine from cached files only, its plan is written.
export async function endStart(start, succeeded) {
  const replay = replays.get(start);
  replays.delete(start);
  replay?.read.then(() => { for (const session of replay.sessions.values()) session.then(ortRelease, () => {}); });
  const sessions = made.get(start) ?? [];
  made.delete(start);
  if (succeeded && sessions.length && ortRuntime) await writePlan(start, ortRuntime, sessions);
}
