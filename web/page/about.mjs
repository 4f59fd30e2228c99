// About: the runtime this page runs on, from the engine host (versions, how Python started, settings counts)
// and the page (isolation, SIMD, storage).
import { runtimeInfo } from "../engine.mjs";
import { $, el, storageText } from "./ui.mjs";

// A module returning i8x16.popcnt(i8x16.splat(0)) (wasm-feature-detect's probe): valid only with SIMD.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0,
  65, 0, 253, 15, 253, 98, 11]);

const WASM_FROM = {
  network: "compiled from the network as it downloaded (its first start; its code cache serves later visits)",
  "http-cache": "compiled from the browser's HTTP cache (its code cache serves later visits)",
  "cached-copy": "compiled from its cached copy (the browser's HTTP cache did not have it)",
};

export async function show() {
  const body = $("about-table").querySelector("tbody");
  const [info, storage] = await Promise.all([runtimeInfo(), storageText()]);
  const threads = crossOriginIsolated ? navigator.hardwareConcurrency : 1;
  const rows = [
    ["Pyodide", info.pyodide], ["Python", info.python],
    ["Python's start", info.snapshot === "used" ? "restored from its memory snapshot"
      : info.snapshot ? `started anew: the snapshot was ${info.snapshot}` : "started anew (no snapshot)"],
    ["numpy", info.numpy],
    ["ONNX Runtime Web", info.onnxRuntime.join(", ") || "no record"],
    ["ONNX Runtime's WASM", WASM_FROM[info.onnxRuntimeWasm] ?? "not started yet"],
    ["Cross-origin isolated", crossOriginIsolated ? "yes" : "no"],
    ["ONNX Runtime threads", `${threads} (of ${navigator.hardwareConcurrency} cores; ${crossOriginIsolated
      ? "threads need cross-origin isolation, which this page has" : "one thread: the page is not cross-origin isolated"})`],
    ["WebAssembly SIMD", WebAssembly.validate(SIMD_PROBE) ? "yes" : "no"],
    ["Settings base URL", info.settingsBaseUrl],
    ...Object.entries(info.collections).map(([name, count]) => [`${name} records`, count ?? "could not be read"]),
    ["Storage", storage],
  ];
  body.replaceChildren(...rows.map(([k, v]) => el("tr", { dataset: { key: k } }, el("th", {}, k), el("td", {}, v))));
  body.dataset.ready = "true";
}
