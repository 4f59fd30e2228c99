// The engine host: a dedicated module Worker started by engine.mjs. It boots Pyodide and our wheel (numpy comes
// with the memory snapshot, or loads when the first engine needs it; ONNX Runtime Web gets a worker of its own,
// ort_worker.mjs, through bridge.mjs), then hands every page message to Python
// (pyodide_pkg/platform/browser_api.py) and posts back the JSON text Python answers.
//   page -> host: {id, op: "boot", config} once, then {id, op, args}
//   host -> page: {id, answer, arrays} (JSON text, and the bytes of the float32 arrays it names: results.py) ·
//   {id, event} (a progress notification, JSON text) · {status} (JSON text)
// bridge.mjs and the modules it imports load beside Pyodide's start: as a static import they came first, and the
// boot message waited ~140 ms for them on a warm start. ort_host.mjs (bridge.mjs's ONNX Runtime half) is imported
// on its own, as it is a shorter chain: it starts the runtime's worker, and a warm start's replay in it, sooner.
const bridgeLoaded = import("./bridge.mjs");
const ortHostLoaded = import("./ort_host.mjs");
const librariesLoader = import("./snapshot_libraries.mjs");  // a snapshot's numpy libraries, loaded again
librariesLoader.catch(() => {});  // a failed import refuses the snapshot below
let calling = null, booted = false;

// Our wheels are pure Python: Python imports them from their archives as they are, put on sys.path (zipimport,
// as it imports the stdlib), fetched while Pyodide starts. Pyodide's package loader unpacked every file in Python
// first: 240 ms of a warm boot against 50. Without the snapshot numpy is not loaded here: it takes ~0.6 s to load
// and import, and the engine needs it only once a task's code runs, so Python loads it then
// (platform.load_packages; beside the settings when a warm start is replayed). Loading it here, in the background,
// held this thread while Python read the settings: in A B B A order, a warm start's first result came ~180 ms later
// and a fresh profile's engine ~300 ms later with it (README). micropip is not loaded at boot, a page script can
// still load it with runPython. index.json's "compiled" names the stdlib, the same wheels and Pyodide's numpy and
// Pillow wheels (sha256-checked against its lock when vendored) byte-compiled by tools/vendor.py for one Pyodide
// version, and a memory snapshot of Python started on that stdlib, with our pure modules imported from our wheel
// and numpy imported, its shared libraries beside it: used when the loaded Pyodide is that one (no module compiled
// from source at boot), the plain stdlib, wheels and packages otherwise (e.g. another Pyodide).
const WHEELS = "/lib/wheels";  // tools/vendor.py's HOST_WHEELS: a snapshot's archives say where they were read

async function boot(config) {
  ortHostLoaded.then((ort) => ort.prepareRuntime(), () => {});  // a failed import fails the boot below
  bridgeLoaded.then((bridge) => bridge.prepareDownloads(), () => {});
  const [{ loadPyodide, version }, index] = await Promise.all([
    import(new URL("pyodide.mjs", config.pyodideIndexURL).href),
    fetch(new URL("index.json", config.wheelsURL)).then((response) => response.json()),
  ]);
  const wheels = [...(index.dependencies ?? []), index.wheel];
  const compiled = index.compiled?.pyodide === version ? new URL(index.compiled.folder, config.wheelsURL) : null;
  const wheelBytes = Promise.all(wheels.map((name) => fetchBytes(new URL(name, compiled ?? config.wheelsURL))));
  wheelBytes.catch(() => {});  // awaited once Python is up
  const start = (snapshot) => loadPyodide({
    indexURL: config.pyodideIndexURL,
    ...(compiled && { stdLibURL: new URL(index.compiled.stdlib, compiled).href }),
    ...(snapshot && { _loadSnapshot: snapshot }),
  });
  const snapshot = compiled && index.compiled.snapshot;
  let pyodide, snapshotUse = snapshot ? "used" : null;
  try {
    const checking = snapshot && checkedSnapshot(compiled, index.compiled.stdlib, snapshot, wheels, wheelBytes);
    pyodide = await start(checking && checking.then(({ bytes }) => bytes));
    if (checking) await (await librariesLoader).loadLibrariesAgain(pyodide, (await checking).libraries);
  } catch (error) {
    if (!snapshot) throw error;
    snapshotUse = `not used: ${error.message.split("\n")[0]}`;
    pyodide = await start(null);
  }
  pyodide.FS.mkdirTree(WHEELS);
  const archives = (await wheelBytes).map((bytes, i) => {
    pyodide.FS.writeFile(`${WHEELS}/${wheels[i]}`, bytes);
    return `${WHEELS}/${wheels[i]}`;
  });
  const path = pyodide.pyimport("sys").path;  // a snapshot's archives are on it already
  const onPath = new Set(path.toJs());
  path.extend(pyodide.toPy(archives.filter((archive) => !onPath.has(archive))));
  // numpy's import from the compiled copy took 257-448 ms against 483-697 from source (Pyodide in Node).
  const packages = Object.fromEntries(Object.entries(compiled ? index.compiled.packages ?? {} : {})
    .map(([name, file]) => [name, new URL(file, compiled).href]));
  pyodide.registerJsModule("ml_bridge", await bridgeLoaded);
  const api = pyodide.pyimport("pyodide_pkg.platform.browser_api");
  api.start((status) => self.postMessage({ status }), JSON.stringify(packages), JSON.stringify({ snapshot: snapshotUse }));
  return api.call;
}

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${response.url} answered HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

// Python's memory snapshot (tools/snapshot_python.mjs), restored instead of starting Python: only with the stdlib
// it was made on (its name, which carries its sha256; Pyodide checks its own build id) and the very wheels whose
// modules it imported, where it read them (their code is in it, and zipimport's index of each archive), and the
// very shared libraries its imports loaded (snapshot_libraries.mjs loads them again). Refused or broken, the host
// starts Python as usual and runtimeInfo says why.
async function checkedSnapshot(compiled, stdlib, snapshot, wheels, wheelBytes) {
  if (snapshot.stdlib !== stdlib) throw new Error(`${snapshot.file} was made on ${snapshot.stdlib}, not on ${stdlib}`);
  const url = new URL(snapshot.file, compiled);
  const fetching = fetchBytes(url);
  fetching.catch(() => {});  // awaited below, once the archives are checked
  const libraries = checkedLibraries(compiled, snapshot);
  libraries.catch(() => {});
  await Promise.all((snapshot.archives ?? []).map(async ({ file, path, sha256 }) => {
    const at = wheels.indexOf(file);
    if (at < 0 || path !== `${WHEELS}/${file}`) {
      throw new Error(`${snapshot.file} imported ${path}, which this host does not load`);
    }
    await checkSha256((await wheelBytes)[at], sha256, `${snapshot.file} was made on another ${file}`);
  }));
  const bytes = await fetching;  // its size becomes the heap's: a cut one would never start
  if (bytes.byteLength !== snapshot.bytes) throw new Error(`${url} has ${bytes.byteLength} bytes, not ${snapshot.bytes}`);
  return { bytes, libraries: await libraries };
}

// The shared libraries the snapshot's imports loaded (numpy's), each with the sha256 it was made with.
async function checkedLibraries(compiled, snapshot) {
  return Promise.all((snapshot.libraries ?? []).map(async (library) => {
    const bytes = await fetchBytes(new URL(library.file, compiled));
    await checkSha256(bytes, library.sha256, `${snapshot.file} was made with another ${library.file}`);
    return { ...library, bytes };
  }));
}

// Refuses bytes the snapshot was not made with: `mismatch` says which, and the two hashes follow it.
async function checkSha256(bytes, sha256, mismatch) {
  const { digestHex } = await import("./encoding.mjs");
  const found = await digestHex(bytes);
  if (found !== sha256) throw new Error(`${mismatch} (sha256 ${sha256}, not ${found})`);
}

// A createEngine call that arrives while Pyodide boots replays the plan the same call left last time
// (ort_host.replayStart): its runtime and sessions start now. Python gets the call's JSON as its name.
self.onmessage = async ({ data: { id, op, args, config } }) => {
  if (op === "boot") {
    calling = boot(config);
    calling.then(() => { booted = true; self.postMessage({ id, answer: '{"ok": true, "value": null}' }); },
                 (error) => self.postMessage({ id, answer: JSON.stringify({ ok: false, name: error.name, message: error.message }) }));
    return;
  }
  const start = op === "create" ? JSON.stringify(args) : undefined;
  if (start && !booted) ortHostLoaded.then((ort) => ort.replayStart(start)).catch(() => {});
  const emit = op === "create" ? (event) => self.postMessage({ id, event }) : undefined;
  let answer;
  try {
    answer = await (await calling)(op, args, emit, start);
  } catch (error) {  // Python answers every error itself; this is Pyodide failing (e.g. out of memory)
    answer = JSON.stringify({ ok: false, name: "InternalError", message: `${error.name}: ${error.message}` });
  }
  const [text, ...arrays] = typeof answer === "string" ? [answer] : answer;
  self.postMessage({ id, answer: text, arrays }, arrays.map((bytes) => bytes.buffer));
};
