"""Model bytes in Chromium: external data reaches ONNX Runtime Web, a 1 GiB model loads, and no model byte
passes through Pyodide's heap on the way (downloads stream into OPFS files, hashed by hash-wasm in a worker)."""

import hashlib

import pytest

from tests import text_task_cases as cases
from tests.browser.test_faults_in_browser import download_worker, recorded
from tests.conftest import HUB, assert_cache_intact
from tests.unit.test_external_data import onnx_locations
from tests.unit.test_text_tasks import assert_same, engine_options, our_results
from tools.external_models import EXTERNAL, GIANT, GIANT_BYTES, UNDECLARED

HEAP = "import pyodide_js\npyodide_js._module.HEAPU8.length"

LOAD_AND_RUN = """async ([options, requests, heap]) => {
  const { createEngine, listFiles, runPython } = await import('./engine.mjs');
  const before = await runPython(heap);
  const engine = await createEngine(options);
  const results = [];
  for (const request of requests) results.push(await engine.run(request));
  const after = await runPython(heap);
  const files = await listFiles({ model: options.modelId, revision: options.modelRevision });
  await engine.terminate();
  return { results, before, after, files };
}"""


def load_and_run(page, server, model, requests):
    options = {k: v for k, v in engine_options(server, model, "feature-extraction").items() if k != "settingsBaseUrl"}
    return page.evaluate(LOAD_AND_RUN, [options, [{"args": a, "options": o} for a, o in requests], HEAP])


def assert_like_cpython(got, want):
    assert_same(got, want, tolerance=1e-4)


@pytest.mark.parametrize("model", [EXTERNAL, UNDECLARED], ids=["declared", "only-the-graph-names-it"])
def test_onnx_community_style_export_in_browser(page, server, store_dir, model):
    requests = cases.feature_extraction()
    found = load_and_run(page, server, model, requests)
    assert_like_cpython(found["results"], our_results(server, model, "feature-extraction", requests))
    assert "onnx/model.onnx_data" in {f["path"] for f in found["files"]}


REMEMBERED = """async ([options, key, marker]) => {
  const { createEngine } = await import('./engine.mjs');
  await (await createEngine(options)).terminate();
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open('modelFiles');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  const store = (mode) => db.transaction('headers', mode).objectStore('headers');
  const record = await new Promise((resolve) => { const get = store('readonly').get(key); get.onsuccess = () => resolve(get.result); });
  const walked = structuredClone(record.externalData);
  record.externalData.names.push(marker);  // what only the record can tell the next load
  await new Promise((resolve) => { store('readwrite').put(record).onsuccess = resolve; });
  db.close();
  try {
    await createEngine({ ...options, engineId: 'again' });
    return { walked, error: null };
  } catch (error) {
    return { walked, error: `${error.name}: ${error.message}` };
  }
}"""


def test_a_graph_walk_is_kept_in_its_cache_record_and_the_next_load_goes_by_it(page, server, store_dir):
    """A warm start reads which data files the graph needs from the graph's record instead of walking it."""
    options = {k: v for k, v in engine_options(server, EXTERNAL, "feature-extraction").items() if k != "settingsBaseUrl"}
    graph = HUB / EXTERNAL / "v1" / "onnx" / "model.onnx"
    found = page.evaluate(REMEMBERED, [options, [EXTERNAL, "v1", "onnx/model.onnx"], "marker.onnx_data"])
    assert found["walked"] == {"sha256": hashlib.sha256(graph.read_bytes()).hexdigest(),
                               "names": onnx_locations(graph)}
    assert f"/hub/{EXTERNAL}/v1/onnx/marker.onnx_data" in server.requests("GET")
    assert "DownloadError" in found["error"] and "marker.onnx_data" in found["error"]


def test_gigabyte_model_loads_without_passing_through_python(page, server, store_dir):
    requests = cases.feature_extraction()[:3]
    found = load_and_run(page, server, GIANT, requests)
    assert_like_cpython(found["results"], our_results(server, GIANT, "feature-extraction", requests))
    assert found["after"] - found["before"] < GIANT_BYTES // 16  # one copy through Python would add 1 GiB
    stored = {f["path"]: f for f in found["files"]}
    data = HUB / GIANT / "v1" / "onnx" / "model.onnx_data"
    digest = hashlib.sha256()
    with data.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            digest.update(chunk)
    assert stored["onnx/model.onnx_data"]["sha256"] == digest.hexdigest()  # hashed while it streamed
    assert stored["onnx/model.onnx_data"]["headers"]["fileSize"] == data.stat().st_size


OLD_FORMAT = """async ([options, file, asBlob]) => {
  const { createEngine } = await import('./engine.mjs');
  const first = await (await createEngine(options)).run({ args: [['a cached sentence']] });
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open('modelFiles');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  const done = (tx) => new Promise((resolve, reject) => { tx.oncomplete = resolve; tx.onerror = () => reject(tx.error); });
  const get = async () => {
    const read = db.transaction('files').objectStore('files').get(file);
    return await new Promise((resolve) => { read.onsuccess = () => resolve(read.result); });
  };
  const record = await get();
  const root = await navigator.storage.getDirectory();
  const stored = await (await root.getDirectoryHandle('modelFiles')).getFileHandle(record.bodyFile);
  const bytes = new Uint8Array(await (await stored.getFile()).arrayBuffer());
  const tx = db.transaction('files', 'readwrite');  // as earlier versions wrote it: the body inside the record
  tx.objectStore('files').put({ id: file, data: asBlob ? new Blob([bytes]) : bytes });
  await done(tx);
  const again = await (await createEngine({ ...options, engineId: 'again' })).run({ args: [['a cached sentence']] });
  const migrated = await get();
  db.close();
  return { first, again, before: Object.keys(record).sort(), after: Object.keys(migrated).sort() };
}"""


@pytest.mark.parametrize("as_blob", [True, False], ids=["Blob", "bytes"])
def test_bodies_kept_in_indexeddb_by_earlier_versions_move_to_opfs(page, server, store_dir, as_blob):
    model = "test/tiny-bert-feature-extraction"
    options = {k: v for k, v in engine_options(server, model, "feature-extraction").items() if k != "settingsBaseUrl"}
    found = page.evaluate(OLD_FORMAT, [options, f"{model}/v1/onnx/model.onnx", as_blob])
    assert found["before"] == ["bodyFile", "id"] and found["after"] == ["bodyFile", "id"]
    assert found["again"] == found["first"]
    assert server.requests("GET", prefix=f"/hub/{model}/v1/onnx/model.onnx").count(f"/hub/{model}/v1/onnx/model.onnx") == 1


LISTING = """async (folder) => {
  const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(folder, { create: true });
  const names = [];
  for await (const name of dir.keys()) names.push(name);
  return names;
}"""


def test_a_reload_mid_download_resumes_in_the_next_attempt(page, server, store_dir):
    """The 1 GiB download is cut by a reload after its first checkpoint (flushed: the hasher's state it keeps
    vouches for the bytes before it): no record names it, the next attempt asks only for the rest (206), and the
    stored file is whole (its sha256 hashed across the two halves)."""
    import time

    options = {k: v for k, v in engine_options(server, GIANT, "feature-extraction").items() if k != "settingsBaseUrl"}
    flushes = recorded(download_worker(page), "flush")
    page.evaluate("(options) => { import('./engine.mjs').then((api) => { window.loading = api.createEngine(options); }); }",
                  options)
    deadline = time.time() + 90
    while not any(n.endswith(".json") for n in page.evaluate(LISTING, "partial")) and time.time() < deadline:
        time.sleep(0.2)
    assert any(n.endswith(".json") for n in page.evaluate(LISTING, "partial")), "no checkpoint was written"
    # hashed on the way in, its checkpoint vouches for the bytes flushed before it
    assert [size for size, _ in flushes() if 32 << 20 <= size < GIANT_BYTES]
    page.reload()
    page.wait_for_function("document.body.dataset.ready === 'true'")
    server.log.clear()
    found = page.evaluate("""async (options) => {
      const { listFiles, createEngine } = await import('./engine.mjs');
      const before = await listFiles({ model: options.modelId, revision: options.modelRevision });
      const engine = await createEngine(options);
      const vectors = await engine.run({ args: [['after the reload']] });
      const after = await listFiles({ model: options.modelId, revision: options.modelRevision });
      return { before: before.map((f) => f.path), after, dims: vectors[0][0].length };
    }""", options)
    assert "onnx/model.onnx_data" not in found["before"] and found["dims"] == 32
    data = f"/hub/{GIANT}/v1/onnx/model.onnx_data"
    assert [int(status) for _, path, status in server.log if path == data] == [206]
    assert_cache_intact([f for f in found["after"] if f["path"] == "onnx/model.onnx_data"])
    assert page.evaluate(LISTING, "incoming") == [] and page.evaluate(LISTING, "partial") == []
