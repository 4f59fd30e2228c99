// A memory snapshot of Pyodide's Python after its start and a few imports, for tools/vendor.py: the engine host
// restores it instead of starting Python. Made in Node from the byte-compiled stdlib the page loads; Pyodide
// refuses it under another build (its build id is in the snapshot) and the host with another stdlib or archive
// (vendor.py records the stdlib's name, which carries its sha256, and each archive's sha256).
// Nothing in it may hold a JavaScript object: only modules that do not touch `js` are imported.
//
//   node tools/snapshot_python.mjs <stdlib zip> <out> [--archive <file> <path>]... <module> [<module> ...]
//
// Each archive (our byte-compiled wheel) is written at <path> in Pyodide's file system and put on sys.path first,
// so that modules are imported from it; the engine host writes the same bytes there before it imports anything.
//
// Prints one JSON line: Pyodide's build id and the snapshot's size.
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(fileURLToPath(import.meta.url), "..", "..");
const [stdlib, out, ...rest] = process.argv.slice(2);
if (!out) {
  console.error("usage: node tools/snapshot_python.mjs <stdlib zip> <out> [--archive <file> <path>]... [<module> ...]");
  process.exit(2);
}
const archives = [];
while (rest[0] === "--archive") {
  const [, file, path] = rest.splice(0, 3);
  archives.push({ file, path });
}
const modules = rest;
const { loadPyodide } = await import(resolve(ROOT, "node_modules", "pyodide", "pyodide.mjs"));
const pyodide = await loadPyodide({ indexURL: resolve(ROOT, "node_modules", "pyodide") + "/",
                                    stdLibURL: resolve(stdlib), _makeSnapshot: true });
for (const { file, path } of archives) {
  pyodide.FS.mkdirTree(path.slice(0, path.lastIndexOf("/")));
  pyodide.FS.writeFile(path, readFileSync(file));
}
pyodide.pyimport("sys").path.extend(pyodide.toPy(archives.map(({ path }) => path)));
pyodide.globals.set("MODULES", pyodide.toPy(modules));
pyodide.runPython("import importlib\nfor name in MODULES: importlib.import_module(name)\ndel importlib, MODULES");
const snapshot = pyodide.makeMemorySnapshot();
writeFileSync(out, snapshot);
console.log(JSON.stringify({ build: pyodide._api.config.BUILD_ID, bytes: snapshot.length }));
