// Engines: a live table (refreshed every second while the tab is open) of the engine host's engines, with
// the idle time left before each is released, its runs served and a terminate button; and the host's memory.
import { hostMemory, listEngines, terminateEngine } from "../engine.mjs";
import { $, bytes, describeError, el } from "./ui.mjs";

let timer = null;
let measured = "";  // the last performance.measureUserAgentSpecificMemory() answer, worker share first

// The page (not the worker) may measure the whole agent, dedicated workers included, when cross-origin
// isolated; Chromium answers after its next garbage collection (up to ~20 s), so it runs in the background.
async function measureAgent() {
  if (!crossOriginIsolated || !performance.measureUserAgentSpecificMemory) {
    measured = "measureUserAgentSpecificMemory: not available (it needs cross-origin isolation)";
    return;
  }
  try {
    const { bytes: total, breakdown } = await performance.measureUserAgentSpecificMemory();
    const worker = breakdown.filter((b) => b.attribution.some((a) => a.scope === "DedicatedWorkerGlobalScope"))
      .reduce((sum, b) => sum + b.bytes, 0);
    measured = `measureUserAgentSpecificMemory: workers ${bytes(worker)} of ${bytes(total)} for the page`;
  } catch (error) {
    measured = `measureUserAgentSpecificMemory: ${describeError(error)}`;
  }
}

const seconds = (ms) => (ms == null ? "never" : `${(ms / 1000).toFixed(0)} s`);

async function refresh() {
  try {
    const [engines, memory] = await Promise.all([listEngines(), hostMemory()]);
    const body = $("engine-table").querySelector("tbody");
    body.replaceChildren(...engines.map((e) => {
      const button = el("button", { type: "button", textContent: "Terminate" });
      button.onclick = async () => { await terminateEngine(e.engineId); await refresh(); };
      const idle = e.busy ? "busy" : e.timeoutMS < 0 ? "never (timeoutMS -1)" : seconds(e.idleMsLeft);
      return el("tr", { dataset: { engine: e.engineId } }, [e.engineId, e.status, e.taskName, e.modelId, e.modelRevision,
        e.dtype, e.numThreads || "auto", idle, e.runsServed].map((v) => el("td", {}, v)), el("td", {}, button));
    }));
    if (!engines.length) body.append(el("tr", {}, el("td", { colSpan: 10, className: "muted" }, "No engine is open.")));
    const js = memory.jsHeapUsedBytes == null ? "performance.memory: not available in this worker"
      : `JS heap ${bytes(memory.jsHeapUsedBytes)} used of ${bytes(memory.jsHeapTotalBytes)} (limit ${bytes(memory.jsHeapLimitBytes)})`;
    $("memory").textContent = `Engine host memory: Pyodide's WebAssembly heap ${bytes(memory.wasmHeapBytes)}; ${js}` +
      `${measured ? `; ${measured}` : ""}.`;
    body.dataset.ready = "true";
  } catch (error) {
    $("memory").textContent = describeError(error);
  }
}

export function show() {
  if (!measured) measureAgent();
  refresh();
  timer = setInterval(refresh, 1000);
}

export function hide() {
  clearInterval(timer);
  timer = null;
}
