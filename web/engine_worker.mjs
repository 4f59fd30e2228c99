// The engine host: a dedicated module Worker started by engine.mjs. It boots Pyodide, numpy, our wheel
// and (through bridge.mjs) ONNX Runtime Web, then hands every page message to Python
// (pyodide_pkg/platform/browser_api.py) and posts back the JSON text Python answers.
//   page -> host: {id, op: "boot", config} once, then {id, op, args}
//   host -> page: {id, answer} (JSON text) · {id, event} (a progress notification, JSON text) · {status} (JSON text)
import * as bridge from "./bridge.mjs";

let calling = null;

async function boot(config) {
  const { loadPyodide } = await import(new URL("pyodide.mjs", config.pyodideIndexURL).href);
  const pyodide = await loadPyodide({ indexURL: config.pyodideIndexURL });
  const wanted = ["numpy", "micropip"];
  await pyodide.loadPackage(wanted);
  const missing = wanted.filter((name) => !(name in pyodide.loadedPackages));
  if (missing.length) throw new Error(`Pyodide could not load ${missing.join(", ")} from ${config.pyodideIndexURL}`);
  pyodide.registerJsModule("ml_bridge", bridge);
  const index = await (await fetch(new URL("index.json", config.wheelsURL))).json();
  const micropip = pyodide.pyimport("micropip");
  const wheels = [...(index.dependencies ?? []), index.wheel].map((name) => new URL(name, config.wheelsURL).href);
  await micropip.install.callKwargs(wheels, { deps: false });
  const api = pyodide.pyimport("pyodide_pkg.platform.browser_api");
  api.start((status) => self.postMessage({ status }));
  return api.call;
}

self.onmessage = async ({ data: { id, op, args, config } }) => {
  if (op === "boot") {
    calling = boot(config);
    calling.then(() => self.postMessage({ id, answer: '{"ok": true, "value": null}' }),
                 (error) => self.postMessage({ id, answer: JSON.stringify({ ok: false, name: error.name, message: error.message }) }));
    return;
  }
  const emit = op === "create" ? (event) => self.postMessage({ id, event }) : undefined;
  let answer;
  try {
    answer = await (await calling)(op, args, emit);
  } catch (error) {  // Python answers every error itself; this is Pyodide failing (e.g. out of memory)
    answer = JSON.stringify({ ok: false, name: "InternalError", message: `${error.name}: ${error.message}` });
  }
  self.postMessage({ id, answer });
};
