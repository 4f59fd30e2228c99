// Public entry point: boots Pyodide once per page and wraps the Python engine. Logic lives in Python.
import * as bridge from "./bridge.mjs";

const HERE = new URL(".", import.meta.url);
const config = {
  pyodideIndexURL: new URL("vendor/pyodide/", HERE).href,
  wheelsURL: new URL("vendor/wheels/", HERE).href,
  settingsBaseUrl: new URL("settings/", HERE).href,
};
let booting = null;
let pyodide = null;

/** Point at another Pyodide build (e.g. the official CDN) or settings server before the first engine. */
export function configure(options) {
  if (booting) throw new Error("configure() must be called before the first engine is created");
  Object.assign(config, options);
}

function boot() {
  booting ??= (async () => {
    const { loadPyodide } = await import(new URL("pyodide.mjs", config.pyodideIndexURL).href);
    pyodide = await loadPyodide({ indexURL: config.pyodideIndexURL });
    const wanted = ["numpy", "micropip"];
    await pyodide.loadPackage(wanted);
    const missing = wanted.filter((name) => !(name in pyodide.loadedPackages));
    if (missing.length) throw new Error(`Pyodide could not load ${missing.join(", ")} from ${config.pyodideIndexURL}`);
    pyodide.registerJsModule("ml_bridge", bridge);
    const index = await (await fetch(new URL("index.json", config.wheelsURL))).json();
    const micropip = pyodide.pyimport("micropip");
    const wheels = [...(index.dependencies ?? []), index.wheel].map((name) => new URL(name, config.wheelsURL).href);
    await micropip.install.callKwargs(wheels, { deps: false });
    return pyodide.pyimport("pyodide_pkg.platform.browser_api");
  })();
  booting.catch(() => { booting = null; });
  return booting;
}

function unwrap(answer) {
  const parsed = JSON.parse(answer);
  if (parsed.ok) return parsed.value;
  const error = new Error(parsed.message);
  error.name = parsed.name;
  if (parsed.stack) error.pythonStack = parsed.stack;
  throw error;
}

const abortError = () => new DOMException("createEngine was aborted", "AbortError");

class Engine {
  #handle;
  constructor(handle) {
    this.#handle = handle;
    this.engineId = handle.engine_id;
  }
  get status() { return this.#handle.status(); }
  async run(request) { return unwrap(await this.#handle.run(request)); }
  async *runWithGenerator(request) {
    const stream = this.#handle.stream(request);
    try {
      for (;;) {
        const step = unwrap(await stream.next());
        if (step.done) return;
        yield step.value;
      }
    } finally {
      await stream.close();
      stream.destroy();
    }
  }
  async terminate() { unwrap(await this.#handle.terminate()); }
}

/**
 * createEngine("feature-id") or createEngine({taskName, modelId, ...}, progress => ..., abortSignal)
 */
export async function createEngine(featureIdOrOptions, notificationsCallback = null, signal = null) {
  if (signal?.aborted) throw abortError();
  const options = typeof featureIdOrOptions === "string" ? { featureId: featureIdOrOptions } : { ...featureIdOrOptions };
  const work = (async () => {
    const api = await boot();
    options.settingsBaseUrl ??= config.settingsBaseUrl;
    const result = await api.create_engine(options, notificationsCallback);
    const [answer, handle] = result.toJs({ depth: 1 });
    result.destroy();
    unwrap(answer);
    return new Engine(handle);
  })();
  if (!signal) return work;
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      reject(abortError());
      work.then((engine) => engine.terminate(), () => {});
    };
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** The page's Pyodide, booted once, with pyodide_pkg installed: for scripts that use the Python API directly. */
export async function getPyodide() {
  await boot();
  return pyodide;
}

export async function listModels() { return unwrap(await (await boot()).list_models()); }
export async function listFiles(query) { return unwrap(await (await boot()).list_files(query)); }
export async function deleteModels(query = {}) { return unwrap(await (await boot()).delete_models(query)); }
export async function listEngines() { return unwrap((await boot()).list_engines()); }
