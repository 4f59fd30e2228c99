// Public entry point: a thin client of the engine host, a dedicated module Worker (engine_worker.mjs) that
// runs Pyodide (and ONNX Runtime Web in a worker of its own), so the page never blocks. Every call is one message; logic is in Python.
const HERE = new URL(".", import.meta.url);
const config = {
  pyodideIndexURL: new URL("vendor/pyodide/", HERE).href,
  wheelsURL: new URL("vendor/wheels/", HERE).href,
  settingsBaseUrl: new URL("settings/", HERE).href,
};
let worker = null;
let booting = null;
let nextId = 1;
const pending = new Map();   // message id -> {resolve, reject}
const listeners = new Map(); // createEngine message id -> progress callback, for as long as its engine lives
const statuses = new Map();  // engine handle -> status, pushed by the host on every change
const listenersOf = new Map(); // engine handle -> listener ids

/** Point at another Pyodide build (e.g. the official CDN) or settings server before the first engine. */
export function configure(options) {
  if (booting) throw new Error("configure() must be called before the first engine is created");
  // The worker resolves URLs against its own script: relative ones are made absolute against the page here.
  for (const [key, value] of Object.entries(options)) config[key] = new URL(value, location.href).href;
}

function onMessage({ data }) {
  if (data.status !== undefined) {
    const { handle, status } = JSON.parse(data.status);
    statuses.set(handle, status);
    if (status === "closed") for (const id of listenersOf.get(handle) ?? []) listeners.delete(id);
    return;
  }
  if (data.event !== undefined) {
    const listener = listeners.get(data.id);
    if (listener) {
      try { listener(JSON.parse(data.event)); } catch (error) { reportError(error); }
    }
    return;
  }
  const call = pending.get(data.id);
  pending.delete(data.id);
  call?.resolve(data);
}

function post(message, transfer = []) {
  const id = nextId++;
  return [id, new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    try {
      worker.postMessage({ id, ...message }, transfer);
    } catch (error) {  // e.g. a DataCloneError: the request holds something that cannot be sent
      pending.delete(id);
      throw error;
    }
  })];
}

function stop(error) {
  worker?.terminate();
  worker = booting = null;
  for (const call of pending.values()) call.reject(error);
  pending.clear();
  statuses.clear();
  listeners.clear();
  listenersOf.clear();
}

function boot() {
  if (booting) return booting;
  const started = (async () => {
    worker = new Worker(new URL("engine_worker.mjs", import.meta.url), { type: "module", name: "engine-host" });
    worker.onmessage = onMessage;
    worker.onerror = (event) => {
      stop(new Error(`the engine host (engine_worker.mjs) failed: ${event.message ?? "it could not be loaded"}`));
    };
    unwrap(await post({ op: "boot", config: { ...config } })[1]);
    return worker;
  })();
  booting = started;
  started.catch(() => { if (booting === started) stop(new Error("the engine host could not boot")); });
  return started;
}

async function call(op, args = [], transfer = [], host = null) {
  if (host && host !== worker) {  // the host this engine lived in failed and was stopped; a new one knows nothing of it
    const error = new Error("the engine host stopped: create the engine again with createEngine");
    error.name = "EngineClosedError";
    throw error;
  }
  await boot();
  return unwrap(await post({ op, args }, transfer)[1]);
}

// Float32 arrays the host moved beside its JSON text, in their places as (nested) arrays of numbers.
function revived(arrays) {
  return (key, value) => {
    if (value === null || typeof value !== "object" || !("$float32" in value)) return value;
    const bytes = arrays[value.$float32];
    const floats = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const nested = (at, [size, ...inner]) => {
      if (!inner.length) return Array.from(floats.subarray(at, at + size));
      const step = inner.reduce((n, d) => n * d, 1);
      return Array.from({ length: size }, (_, i) => nested(at + i * step, inner));
    };
    return nested(0, value.shape);
  };
}

function unwrap({ answer, arrays }) {
  const parsed = arrays?.length ? JSON.parse(answer, revived(arrays)) : JSON.parse(answer);
  if (parsed.ok) return parsed.value;
  const error = new Error(parsed.message);
  error.name = parsed.name;
  if (parsed.stack) error.pythonStack = parsed.stack;
  throw error;
}

const abortError = () => new DOMException("createEngine was aborted", "AbortError");
const ABANDON = Symbol("abandon");

class Engine {
  #handle;
  #host;
  constructor({ handle, engineId, status }, host) {
    this.#handle = handle;
    this.#host = host;
    this.engineId = engineId;
    if (!statuses.has(handle)) statuses.set(handle, status);
  }
  get status() { return this.#host === worker ? statuses.get(this.#handle) : "closed"; }
  /** `transfer` (optional) lists ArrayBuffers of the request, e.g. an image's pixels, to move to the engine
   *  host instead of copying them, as postMessage does; the page can no longer read them afterwards. */
  run(request, { transfer = [] } = {}) { return call("run", [this.#handle, request], transfer, this.#host); }
  async *runWithGenerator(request, { transfer = [] } = {}) {
    const stream = await call("stream", [this.#handle, request], transfer, this.#host);
    try {
      for (;;) {
        const step = await call("next", [stream], [], this.#host);
        if (step.done) return;
        yield step.value;
      }
    } finally {
      if (this.#host === worker) await call("close", [stream]);
    }
  }
  async terminate() { await call("terminate", [this.#handle], [], this.#host); }
  // An aborted createEngine gives up its hold; the engine closes only if no other caller holds it.
  async [ABANDON]() { await call("abandon", [this.#handle], [], this.#host); }
}

/**
 * createEngine("feature-id") or createEngine({taskName, modelId, ...}, progress => ..., abortSignal)
 */
export async function createEngine(featureIdOrOptions, notificationsCallback = null, signal = null) {
  if (signal?.aborted) throw abortError();
  const options = typeof featureIdOrOptions === "string" ? { featureId: featureIdOrOptions } : { ...featureIdOrOptions };
  const work = (async () => {
    const booted = boot();
    options.settingsBaseUrl ??= config.settingsBaseUrl;
    // Posted now, behind the boot: the host starts what this call needed last time while Pyodide boots.
    const [id, answer] = post({ op: "create", args: [options] });
    answer.catch(() => {});  // a failed boot is reported as itself, below
    if (notificationsCallback) listeners.set(id, notificationsCallback);
    let made, host;
    try {
      host = await booted;
      made = unwrap(await answer);
    } catch (error) {
      listeners.delete(id);
      throw error;
    }
    if (notificationsCallback) listenersOf.set(made.handle, [...(listenersOf.get(made.handle) ?? []), id]);
    return new Engine(made, host);
  })();
  if (!signal) return work;
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      reject(abortError());
      work.then((engine) => engine[ABANDON](), () => {});
    };
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * Runs Python source in the engine host (the worker's Pyodide, pyodide_pkg installed) in a fresh namespace
 * holding `globals`; top-level await works. Resolves to the last expression, which must be JSON-serialisable;
 * a Python exception rejects with a PythonError. This replaces getPyodide: Pyodide is no longer on the page.
 */
export function runPython(code, globals = {}) {
  return call("runPython", [code, globals]);
}

/** Pyodide now runs in the engine host (a Worker), not on the page: use runPython instead. */
export async function getPyodide() {
  const error = new Error("Pyodide runs in the engine host worker, not on the page: use runPython(code, globals) from engine.mjs");
  error.name = "NotSupportedError";
  throw error;
}

/** Asks the browser to keep this site's storage (the model cache) under storage pressure; resolves to whether
 *  it will. Runs on the page: the permission is the page's to ask for. */
export async function persistStorage() {
  return navigator.storage?.persist ? await navigator.storage.persist() : false;
}

export function listModels() { return call("listModels"); }
export function listFiles(query) { return call("listFiles", [query]); }
export function deleteModels(query = {}) { return call("deleteModels", [query]); }
export function listEngines() { return call("listEngines"); }

// Read-only facts for pages such as about:inference, answered from the task table and settings in Python.
/** {tasks: [{name, aliases, inputs, form, example, streams, options}], engineOptions, dtypes} */
export function describeTasks() { return call("describe"); }
/** {options, notes}: what createEngine(options) would really run with (settings record + caller fields). */
export function resolveOptions(options) {
  const resolved = typeof options === "string" ? { featureId: options } : { ...options };
  resolved.settingsBaseUrl ??= config.settingsBaseUrl;
  return call("resolveOptions", [resolved]);
}
/** The dtypes the model's hub folder has an ONNX file for (HEAD requests from the engine host). */
export function hubDtypes(options) {
  const resolved = typeof options === "string" ? { featureId: options } : { ...options };
  resolved.settingsBaseUrl ??= config.settingsBaseUrl;
  return call("hubDtypes", [resolved]);
}
/** Versions (Python, Pyodide, numpy, ONNX Runtime records), cores and settings record counts. */
export function runtimeInfo() { return call("runtimeInfo", [config.settingsBaseUrl]); }
/** The engine host's memory: Pyodide's WebAssembly heap, and performance.memory where the worker has it. */
export function hostMemory() { return call("hostMemory"); }
/** Ends the engine of this engineId (whoever created it); resolves to whether one was open. */
export function terminateEngine(engineId) { return call("terminateEngine", [engineId]); }
