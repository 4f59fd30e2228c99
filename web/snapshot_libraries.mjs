// The shared libraries a memory snapshot's imports loaded (numpy's), loaded again after it is restored, for the
// engine host (engine_worker.mjs) and the tests of tools/vendor.py. Byte plumbing on Pyodide 0.27.7's private
// loader API, pinned with it.
//
// A snapshot is Python's memory only: the WASM instances of those libraries are not in it. Each is loaded again
// where the snapshot's run placed it (tools/snapshot_python.mjs lists them), in the same order, before Python runs:
// its handle tells Emscripten's loader the memory and table bases to reuse, and the library's memory gets the
// snapshot's bytes back after instantiation wrote its initial data there. The table is first filled with empty
// slots up to the first library's base (the snapshot left room for functions Pyodide's start adds in a browser and
// not in Node); a library that would not land at its base throws, and the host then starts Python without the
// snapshot.
//
// `libraries`: [{path, handle, global, memoryBase, memorySize, tableBase, bytes}], in the snapshot's order.
export async function loadLibrariesAgain(pyodide, libraries) {
  const module = pyodide._module;
  const [first] = libraries;
  if (first && module.wasmTable.length <= first.tableBase) module.wasmTable.grow(first.tableBase - module.wasmTable.length);
  for (const { path, handle, global, memoryBase, memorySize, tableBase, bytes } of libraries) {
    if (module.wasmTable.length !== tableBase) {
      throw new Error(`${path} was at table index ${tableBase}; the table now ends at ${module.wasmTable.length}`);
    }
    const state = module.HEAPU8.slice(memoryBase, memoryBase + memorySize);
    const fs = { findObject: () => true, readFile: () => bytes };
    await module.loadDynamicLibrary(path, { global, nodelete: true, loadAsync: true, allowUndefined: true, fs },
                                    global ? null : {}, handle);
    module.HEAPU8.set(state, memoryBase);
  }
}
