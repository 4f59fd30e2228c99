"""Warm starts: a createEngine call that made an engine leaves a plan, and the same call on the next page load
starts ONNX Runtime and makes its sessions while Pyodide boots (web/bridge.mjs). Python still decides: it takes
a replayed session only when it chose the same files, and a plan whose files are gone is dropped. The runtime's
worker checks the binary's sha256 before it runs it, whoever started it."""

import json

from tests.browser.test_main_thread import blank_page
from tests.conftest import ROOT
from tests.unit.test_text_tasks import engine_options
from tools.external_models import EXTERNAL, UNDECLARED

START = """async ([options, texts]) => {
  const { createEngine, runPython } = await import('./engine.mjs');
  try {
    const engine = await createEngine(options);
    const result = await engine.run({ args: [texts], options: { pooling: 'mean', normalize: true } });
    const warm = await runPython('import ml_bridge\\nml_bridge.warmStarts().to_py()');
    return { ok: true, result, warm };
  } catch (error) {
    return { ok: false, name: error.name, message: error.message };
  }
}"""

RUNTIME = json.loads((ROOT / "web" / "settings" / "ml-onnx-runtime.json").read_text())["data"][0]
TEXTS = ["a warm start", "the same sentence twice, the same vector twice"]

# The cached runtime binary, changed in place (as a disk fault or another program could).
CORRUPT_RUNTIME = """async (version) => {
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open('modelFiles');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  const read = db.transaction('files').objectStore('files').get(`onnxruntime/onnxruntime-web/${version}/ort-wasm-simd-threaded.wasm`);
  const record = await new Promise((resolve) => { read.onsuccess = () => resolve(read.result); });
  db.close();
  const handle = await (await (await navigator.storage.getDirectory()).getDirectoryHandle('modelFiles')).getFileHandle(record.bodyFile);
  const writable = await handle.createWritable({ keepExistingData: true });
  await writable.write({ type: 'write', position: 4096, data: new Uint8Array(64).fill(0xab) });
  await writable.close();
}"""


def start(tab, origin, options):
    tab.goto(f"{origin}/blank.html")  # a new engine host, same profile
    return tab.evaluate(START, [options, TEXTS])


def test_the_same_call_on_the_next_load_replays_its_sessions(browser, server):
    options = engine_options(server, EXTERNAL, "feature-extraction")  # a graph and its external data
    context, tab = blank_page(browser, server.origin)
    try:
        cold = start(tab, server.origin, options)
        warm = start(tab, server.origin, options)
        other = start(tab, server.origin, {**options, "engineId": "another-call"})
        tab.evaluate("async () => (await import('./engine.mjs')).deleteModels({})")
        gone = start(tab, server.origin, options)  # its files were deleted: downloaded again, not replayed
        again = start(tab, server.origin, options)
    finally:
        context.close()
    assert cold["ok"] and cold["warm"] == {"replayed": 0, "taken": 0}, cold
    assert warm["warm"] == {"replayed": 1, "taken": 1}, warm
    assert other["warm"] == {"replayed": 0, "taken": 0}, other
    assert gone["warm"] == {"replayed": 0, "taken": 0}, gone
    assert again["warm"] == {"replayed": 1, "taken": 1}, again
    for found in (warm, other, gone, again):
        assert found["result"] == cold["result"]


def test_a_session_made_while_its_graph_was_walked_and_dropped_is_not_replayed(browser, server):
    """config.json declares no data file: the session made while the new graph was walked, without the file the
    walk found, is dropped (ONNX Runtime refuses it, or it is released), and the plan holds only the one kept."""
    options = engine_options(server, UNDECLARED, "feature-extraction")
    context, tab = blank_page(browser, server.origin)
    try:
        cold = start(tab, server.origin, options)
        warm = start(tab, server.origin, options)
    finally:
        context.close()
    assert cold["ok"] and cold["warm"] == {"replayed": 0, "taken": 0}, cold
    assert warm["warm"] == {"replayed": 1, "taken": 1}, warm
    assert warm["result"] == cold["result"]


TWICE = """async ([options, texts]) => {
  const { createEngine, runPython } = await import('./engine.mjs');
  const [first, second] = await Promise.all([createEngine(options), createEngine(options)]);
  const result = await second.run({ args: [texts], options: { pooling: 'mean', normalize: true } });
  const warm = await runPython('import ml_bridge\\nml_bridge.warmStarts().to_py()');
  return { same: first.engineId === second.engineId, result, warm };
}"""


def test_the_same_call_twice_while_the_host_boots_shares_one_replay(browser, server):
    """Both calls reach the booting host with the same JSON: the second joins the first's replay (when it replaced
    it, the replayed session was neither taken nor ever released)."""
    options = engine_options(server, EXTERNAL, "feature-extraction")
    context, tab = blank_page(browser, server.origin)
    try:
        cold = start(tab, server.origin, options)
        tab.goto(f"{server.origin}/blank.html")
        twice = tab.evaluate(TWICE, [options, TEXTS])
    finally:
        context.close()
    assert twice["same"] and twice["result"] == cold["result"]
    assert twice["warm"] == {"replayed": 1, "taken": 1}, twice


def test_a_changed_runtime_binary_is_never_run_and_is_fetched_again(browser, server):
    """The cached copy changed, and the HTTP cache (which ONNX Runtime's worker compiles from when it can,
    test_runtime_binary.py) no longer has the binary."""
    options = {"featureId": "sentence-embeddings", "settingsBaseUrl": f"{server.origin}/settings"}
    context, tab = blank_page(browser, server.origin)
    try:
        cold = start(tab, server.origin, options)
        tab.evaluate(CORRUPT_RUNTIME, RUNTIME["version"])
        context.new_cdp_session(tab).send("Network.clearBrowserCache")
        server.log.clear()
        failed = start(tab, server.origin, options)  # the plan's replay starts the runtime: its worker refuses it
        refetched_before = server.requests("GET", "/vendor/ort/ort-wasm-simd-threaded.wasm")
        fixed = tab.evaluate(START, [{**options, "engineId": "after-the-fault"}, TEXTS])
        refetched = server.requests("GET", "/vendor/ort/ort-wasm-simd-threaded.wasm")
    finally:
        context.close()
    assert cold["ok"], cold
    assert not failed["ok"] and failed["name"] == "IntegrityError", failed
    assert "ort-wasm-simd-threaded.wasm" in failed["message"] and f"expected {RUNTIME['sha256']}" in failed["message"]
    assert refetched_before == []
    assert fixed["ok"] and fixed["result"] == cold["result"], fixed
    assert refetched == ["/vendor/ort/ort-wasm-simd-threaded.wasm"]


# The plan's runtime, made to state another sha256 (as a plan written for another binary would).
RETARGET_PLAN = """async () => {
  const starts = await (await navigator.storage.getDirectory()).getDirectoryHandle('starts');
  for await (const [name, handle] of starts.entries()) {
    const plan = JSON.parse(await (await handle.getFile()).text());
    plan.runtime.sha256 = 'ab'.repeat(32);
    const writable = await handle.createWritable();
    await writable.write(JSON.stringify(plan));
    await writable.close();
  }
}"""


def test_a_plan_for_another_runtime_binary_gives_way_to_the_settings(browser, server):
    """The replay's start is refused by the runtime's worker (or dropped when Python's start names another
    binary first); Python's own start goes on, the replayed sessions are not used, and their failure is not
    taken for the model's (its files stay cached)."""
    options = engine_options(server, EXTERNAL, "feature-extraction")
    context, tab = blank_page(browser, server.origin)
    try:
        cold = start(tab, server.origin, options)
        tab.evaluate(RETARGET_PLAN)
        server.log.clear()
        retargeted = start(tab, server.origin, options)
        fetched = server.requests("GET", "/hub")
    finally:
        context.close()
    assert cold["ok"], cold
    assert retargeted["ok"] and retargeted["result"] == cold["result"], retargeted
    assert retargeted["warm"] == {"replayed": 1, "taken": 0}, retargeted
    assert fetched == [], fetched
