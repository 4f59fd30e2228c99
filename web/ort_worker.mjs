// ONNX Runtime Web in a worker of its own, started by ort_host.mjs in the engine host. Its start (compiling the
// WASM, starting its threads) and a session's creation (~0.4 s for a 90 MB graph) run here, beside Python, which
// meanwhile loads numpy, the tokenizer and the task's code. Byte plumbing only: sessions by number, tensors as
// transferred buffers.
// Calls (worker_link.mjs): {op: "replay" | "init" | "create" | "made" | "run" | "release", args}.
import { base64, digestHex, unhex } from "./encoding.mjs";
import { readPlan } from "./plans.mjs";
import { answerCalls, moved } from "./worker_link.mjs";

const loading = import(new URL("./vendor/ort/ort.wasm.min.mjs", import.meta.url));
loading.catch(() => {});  // reported by init, which awaits it
let ort = null, starting = null;
const sessions = new Map();  // number -> the session being made, then made
let nextSession = 1;
// number -> how the session is made: {handed: from bytes its download handed over (ort_host.holdBytes), not read
// from its file again; optimized: with ONNX Runtime's graph optimizations (Python says which graphs go without)}
const howMade = new Map();

const ARRAYS = {
  float32: Float32Array, int64: BigInt64Array, int32: Int32Array, bool: Uint8Array,
  uint8: Uint8Array, int8: Int8Array, float16: Uint16Array,
};

// A result's own buffer is moved, anything else (a view of a larger buffer) copied.
const movable = (data) => (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
  && data.buffer instanceof ArrayBuffer ? data : data.slice());

// What the runtime started with: threads need a cross-origin isolated worker (SharedArrayBuffer); `wasmFrom`:
// "network" (fromNetwork), "http-cache" or "cached-copy" (compiledFrom).
let wasmFrom = null;
const started = () => ({ numThreads: ort.env.wasm.numThreads, isolated: crossOriginIsolated, wasmFrom });

const file = (body) => (body instanceof FileSystemFileHandle ? body.getFile() : body);  // a cached body

// A graph's bytes, read while the runtime starts.
async function bytesOf(model) {
  const graph = await file(model);
  return graph instanceof Blob ? new Uint8Array(await graph.arrayBuffer()) : graph;
}

// The runtime's WASM compiled from the browser's HTTP cache, where its download left it (runtime.py), the fetch
// given the settings' sha256 as its integrity (the browser refuses other bytes). The browser keeps a code cache
// for a module compiled from a URL's answer, never for one compiled from bytes: a later start then neither
// compiles it nor runs its first sessions on baseline code. Never from the network ("only-if-cached", which
// only a same-origin URL may ask): null when the HTTP cache has no such answer, and the cached copy is run.
async function compiledFrom(url, sha256) {
  if (!url) return null;
  try {
    const integrity = `sha256-${base64(unhex(sha256))}`;
    return await WebAssembly.compileStreaming(fetch(url, { integrity, cache: "only-if-cached", mode: "same-origin" }));
  } catch {
    return null;
  }
}

// A first start, before the binary has a cached copy: compiled from its answer as it arrives, and run only if a
// copy of the answer has the settings' sha256 (a fetch given that as its integrity is only answered once the
// whole binary is in and hashed: 130-200 ms against 80 for 14 MB, and the compile could not begin before). A later
// start compiles from the HTTP cache (compiledFrom), with the code cache this compile leaves for the URL.
// `received`: that answer, {status, headers (JSON text), size, sha256, bytes}, once whole and hashed (null if it
// failed), which becomes the binary's cached copy (ort_host.runtimeReceived): a second download of it would have
// come from the network again wherever the HTTP cache does not keep 14 MB (an in-memory profile).
let received = null;

function fromNetwork(url, sha256) {
  const answer = fetch(url).then((response) => {
    if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
    return { response, whole: response.clone().arrayBuffer() };
  });
  const hashed = answer.then(async ({ response, whole }) => {
    const bytes = new Uint8Array(await whole);
    return { status: response.status, headers: JSON.stringify(Object.fromEntries(response.headers)),
             size: bytes.byteLength, sha256: await digestHex(bytes), bytes };
  });
  received = hashed.catch(() => null);
  return answer.then(async ({ response }) => {
    const [compiled, copy] = await Promise.all([WebAssembly.compileStreaming(response), hashed]);
    if (copy.sha256 !== sha256) throw Object.assign(new Error(`its sha256 is ${copy.sha256}`), { name: "IntegrityError" });
    return compiled;
  });
}

// ONNX Runtime takes a binary (or fetches one itself, without an integrity check): it is given a stand-in, and its
// one call to instantiate the stand-in instantiates `compiled` instead.
function standIn(compiled) {
  const marker = new ArrayBuffer(0);
  const instantiate = WebAssembly.instantiate;
  WebAssembly.instantiate = (source, imports) => {
    if (source !== marker && source?.buffer !== marker) return instantiate(source, imports);
    WebAssembly.instantiate = instantiate;
    return instantiate(compiled, imports).then((instance) => ({ instance, module: compiled }));
  };
  return marker;
}

// The cached binary, run only once its bytes have the `sha256` the settings name (hashed whole by the browser, as
// ONNX Runtime takes it whole: 20-25 ms for 14 MB where hash-wasm took 62-97).
async function checked(wasm, sha256) {
  const binary = await (await file(wasm)).arrayBuffer();
  const digest = await digestHex(binary);
  if (digest !== sha256) throw Object.assign(new Error(`its sha256 is ${digest}`), { name: "IntegrityError" });
  return binary;
}

const ops = {
  // The binary comes from `url` in the HTTP cache (compiledFrom), else from `wasm`, its cached copy, or, with no
  // copy yet, from the network (fromNetwork); `warmup` is a one-node graph whose session starts the runtime now. A
  // session asked for meanwhile waits for the start (messages arrive in order: init is posted first).
  async init({ wasm, url, numThreads, warmup, sha256 }) {
    starting ??= (async () => {
      const compiled = wasm ? await compiledFrom(url, sha256) : await fromNetwork(url, sha256);
      const binary = compiled ? standIn(compiled) : await checked(wasm, sha256);
      const module = await loading;
      module.env.wasm.wasmBinary = binary;
      module.env.wasm.wasmPaths = { mjs: new URL("./vendor/ort/ort-wasm-simd-threaded.mjs", import.meta.url).href };
      // 0 means automatic: every core when the page is cross-origin isolated (threads need it).
      module.env.wasm.numThreads = numThreads || (crossOriginIsolated ? navigator.hardwareConcurrency : 1);
      if (warmup) await (await module.InferenceSession.create(warmup, { executionProviders: ["wasm"] })).release();
      wasmFrom = !wasm ? "network" : compiled ? "http-cache" : "cached-copy";
      ort = module;
    })();
    starting.catch(() => { starting = null; });  // the next init tries again
    await starting;
    return started();
  },
  // A start from the network's answer (fromNetwork), moved to the engine host once; null for any other start.
  async received() {
    const copy = await received;
    received = null;
    return copy ? moved(copy, [copy.bytes.buffer]) : null;
  },
  // `model` is a cached body or bytes, `bytes` its bytes when its download handed them over (then its file is
  // not read); external data files are bodies named as the graph names them. ONNX Runtime copies each into its
  // heap and lets go of them once the session exists.
  create(files) {
    return described(begin(files));
  },
  // A warm start (plans.mjs): the plan the createEngine call `start` left is read and its runtime and sessions
  // started here, as the message arrives, while the engine host's thread is still busy starting Python. Answers
  // {runtime, sessions: [{where, externalPaths, id}]} (each session by the number `made` waits on), or null.
  async replay({ start }) {
    const plan = await readPlan(start);
    if (!plan || starting) return null;  // none, or the engine host started the runtime first
    // The host's init for the same binary joins this one. No warm-up graph: the plan's sessions start the runtime.
    ops.init({ ...plan.runtime, warmup: null }).catch(() => {});
    const sessions = plan.sessions.map(({ where, externalPaths, optimize, model, external }) => (
      { where, externalPaths, optimize, id: begin({ model, external, optimize }) }));
    return { runtime: plan.runtime, sessions };
  },
  made({ session }) {
    return described(session);
  },
  async run({ session, names, types, dims, buffers }) {
    const feeds = {};
    names.forEach((name, i) => {
      const Kind = ARRAYS[types[i]];
      if (!Kind) throw new Error(`input ${name}: unsupported dtype ${types[i]}`);
      const bytes = buffers[i];
      feeds[name] = new ort.Tensor(types[i], new Kind(bytes.buffer, bytes.byteOffset, bytes.byteLength / Kind.BYTES_PER_ELEMENT), dims[i]);
    });
    const results = await (await sessions.get(session)).run(feeds);
    const out = { names: [], types: [], dims: [], buffers: [] };
    for (const [name, tensor] of Object.entries(results)) {
      const data = movable(tensor.data);
      out.names.push(name);
      out.types.push(tensor.type);
      out.dims.push(Array.from(tensor.dims));
      out.buffers.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      tensor.dispose?.();
    }
    return moved(out, out.buffers.map((b) => b.buffer));
  },
  async release({ session }) {
    const made = sessions.get(session);
    sessions.delete(session);
    howMade.delete(session);
    await (await made?.catch(() => null))?.release();
    return null;
  },
};

function begin({ model, bytes, external, optimize = true }) {
  const id = nextSession++;
  howMade.set(id, { handed: Boolean(bytes), optimized: optimize });
  const making = (async () => {
    if (!starting) throw new Error("ONNX Runtime has not been started");
    const reading = Promise.all([bytes ?? bytesOf(model),
                                 ...external.map(async ([path, body]) => ({ path, data: await file(body) }))]);
    reading.catch(() => {});  // the runtime's failure, if it fails, is the one to report
    await starting;
    const [graph, ...externalData] = await reading;
    return ort.InferenceSession.create(graph, {
      executionProviders: ["wasm"], graphOptimizationLevel: optimize ? "all" : "disabled",
      ...(externalData.length ? { externalData } : {}) });
  })();
  making.catch(() => { sessions.delete(id); howMade.delete(id); });
  sessions.set(id, making);
  return id;
}

async function described(id) {
  const session = await sessions.get(id);
  if (!session) throw new Error(`no session ${id}`);
  return { id, inputNames: session.inputNames, outputNames: session.outputNames, ...howMade.get(id) };
}

answerCalls(({ op, args }) => ops[op](args));
