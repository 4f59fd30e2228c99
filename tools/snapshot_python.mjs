// A memory snapshot of Pyodide's Python after its start and a few imports, for tools/vendor.py: the engine host
// restores it instead of starting Python. Made in Node from the byte-compiled stdlib the page loads; Pyodide
// refuses it under another build (its build id is in the snapshot) and the host with another stdlib or archive
// (vendor.py records the stdlib's name, which carries its sha256, and each archive's sha256).
// Nothing in it may hold a JavaScript object: only modules that do not touch `js` are imported.
//
//   node tools/snapshot_python.mjs <stdlib zip> <out> [--archive <file> <path>]... [--package <wheel>]...
//        <module> [<module> ...]
//
// Each archive (our byte-compiled wheel) is written at <path> in Pyodide's file system and put on sys.path first,
// so that modules are imported from it; the engine host writes the same bytes there before it imports anything.
// Each package wheel (numpy) is unpacked into site-packages, and its modules' imports load its shared libraries
// (dlopen). A snapshot is only memory: those libraries' WASM instances are not in it. So the output lists them in
// the order they were loaded, with where the loader placed each one (its handle, memory and table bases): the
// engine host loads them again at the same places, in that order, before Python runs (engine_worker.mjs). Their
// function-table slots come after TABLE_SLACK empty ones: Pyodide's start adds functions to the table that
// depend on where it runs (Chromium's start has one more than Node's), and the host fills the table up to the
// first library's base, or refuses the snapshot when its start went past it.
//
// Prints one JSON line: Pyodide's build id, the snapshot's size and the libraries.
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(fileURLToPath(import.meta.url), "..", "..");
const [stdlib, out, ...rest] = process.argv.slice(2);
if (!out) {
  console.error("usage: node tools/snapshot_python.mjs <stdlib zip> <out> [--archive <file> <path>]... "
                + "[--package <wheel>]... [<module> ...]");
  process.exit(2);
}
const archives = [], packages = [];
while (rest[0] === "--archive" || rest[0] === "--package") {
  if (rest[0] === "--archive") {
    const [, file, path] = rest.splice(0, 3);
    archives.push({ file, path });
  } else {
    packages.push(rest.splice(0, 2)[1]);
  }
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
for (const wheel of packages) {
  pyodide.FS.writeFile("/tmp/package.whl", readFileSync(wheel));
  pyodide.runPython("import site, zipfile\nzipfile.ZipFile('/tmp/package.whl').extractall(site.getsitepackages()[0])"
                    + "\ndel site, zipfile");
  pyodide.FS.unlink("/tmp/package.whl");
}
const TABLE_SLACK = 64;
const module = pyodide._module;
if (packages.length) module.wasmTable.grow(TABLE_SLACK);
const tableLength = module.wasmTable.length;
pyodide.globals.set("MODULES", pyodide.toPy(modules));
pyodide.runPython("import importlib\nfor name in MODULES: importlib.import_module(name)\ndel importlib, MODULES");
// The loader's record of a library (Emscripten's dso struct, at its handle): +12 memory base, +16 memory size,
// +20 table base, +24 table size. Handle 0 is the main module.
const libraries = Object.entries(module.LDSO.loadedLibsByHandle).filter(([handle]) => Number(handle))
  .map(([handle, dso]) => ({ path: dso.name, handle: Number(handle), global: dso.global,
                             memoryBase: module.HEAPU32[(Number(handle) + 12) >>> 2],
                             memorySize: module.HEAP32[(Number(handle) + 16) >>> 2],
                             tableBase: module.HEAPU32[(Number(handle) + 20) >>> 2] }))
  .sort((a, b) => a.tableBase - b.tableBase);
if (libraries.length && libraries[0].tableBase !== tableLength) {
  throw new Error(`the first library's table base is ${libraries[0].tableBase}, not the table's length ${tableLength}`);
}
const snapshot = pyodide.makeMemorySnapshot();
writeFileSync(out, snapshot);
console.log(JSON.stringify({ build: pyodide._api.config.BUILD_ID, bytes: snapshot.length, libraries }));
