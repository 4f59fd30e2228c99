// A memory snapshot of Pyodide's Python after its start and a few stdlib imports, for tools/vendor.py: the
// engine host restores it instead of starting Python. Made in Node from the byte-compiled stdlib the page
// loads; Pyodide refuses it under another build (its build id is in the snapshot) and the host with another
// stdlib (vendor.py records the stdlib's name, which carries its sha256).
// Nothing in it may hold a JavaScript object: only stdlib modules that do not touch `js` are imported.
//
//   node tools/snapshot_python.mjs <stdlib zip> <out> <module> [<module> ...]
//
// Prints one JSON line: Pyodide's build id and the snapshot's size.
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(fileURLToPath(import.meta.url), "..", "..");
const [stdlib, out, ...modules] = process.argv.slice(2);
if (!out) {
  console.error("usage: node tools/snapshot_python.mjs <stdlib zip> <out> [<module> ...]");
  process.exit(2);
}
const { loadPyodide } = await import(resolve(ROOT, "node_modules", "pyodide", "pyodide.mjs"));
const pyodide = await loadPyodide({ indexURL: resolve(ROOT, "node_modules", "pyodide") + "/",
                                    stdLibURL: resolve(stdlib), _makeSnapshot: true });
pyodide.globals.set("MODULES", pyodide.toPy(modules));
pyodide.runPython("import importlib\nfor name in MODULES: importlib.import_module(name)\ndel importlib, MODULES");
const snapshot = pyodide.makeMemorySnapshot();
writeFileSync(out, snapshot);
console.log(JSON.stringify({ build: pyodide._api.config.BUILD_ID, bytes: snapshot.length }));
