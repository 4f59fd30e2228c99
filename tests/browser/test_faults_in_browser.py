"""Faults in Chromium on the real byte path: a full storage quota (set through the DevTools protocol), a body
cut short, wrong bytes, a stalled server. Each gives its named error naming the file, createEngine settles,
every cached file equals the hub's, and the next attempt works."""

import hashlib
import random
import re
import time

import pytest

from tests.conftest import HUB, REAL_MODEL, REAL_REVISION, assert_cache_intact
from tests.unit.test_faults import GRAPH, MODEL, REVISION, cut_once, faulty
from tools.external_models import GIANT

ATTEMPT = """async ([options, stallSeconds]) => {
  const { createEngine, listFiles, runPython } = await import('./engine.mjs');
  if (stallSeconds) await runPython(`import pyodide_pkg.model_files as m\\nm.STALL_TIMEOUT_S = ${stallSeconds}`);
  let answer;
  try {
    const engine = await createEngine(options);
    answer = { ok: true, value: await engine.run({ args: [['one sentence']] }) };
    await engine.terminate();
  } catch (e) {
    answer = { ok: false, name: e.name, message: e.message };
  }
  const files = await listFiles({ model: options.modelId, revision: options.modelRevision });
  return { answer, files };
}"""


def options(engine_id, **model):
    return {"taskName": "feature-extraction", "modelId": MODEL, "modelRevision": REVISION, "dtype": "q8",
            "engineId": engine_id, **model}


def attempt(page, engine_id, stall_seconds=0, **model):
    found = page.evaluate(ATTEMPT, [options(engine_id, **model), stall_seconds])
    assert_cache_intact(found["files"])
    return found


def test_full_quota_is_a_storage_error_and_settles(page, fresh_log):
    cdp = page.context.new_cdp_session(page)
    cdp.send("Storage.overrideQuotaForOrigin", {"origin": fresh_log.origin, "quotaSize": 1_000_000})
    failed = attempt(page, "small-quota")["answer"]
    assert not failed["ok"] and failed["name"] == "StorageError", failed
    # Files download in parallel: a big one fails its space check first, or a small one fails to be stored.
    assert "storage quota" in failed["message"], failed["message"]
    assert re.search(rf"could not (download|store) \S*{MODEL}", failed["message"]), failed["message"]
    cdp.send("Storage.overrideQuotaForOrigin", {"origin": fresh_log.origin})
    assert attempt(page, "small-quota")["answer"]["ok"]


CELLS = {
    "cut short": (GRAPH, lambda b: (200, b[: len(b) // 2], {"Content-Length": str(len(b))}), "DownloadError"),
    "wrong bytes": (GRAPH, lambda b: (200, random.Random(0).randbytes(len(b)), {"X-Linked-Etag": None}), "ModelError"),
    "stated hash differs": (GRAPH, lambda b: (200, b[::-1], {"X-Linked-Etag": f'"{hashlib.sha256(b).hexdigest()}"'}),
                            "IntegrityError"),
    "corrupt tokenizer.json": ("tokenizer.json", lambda b: (200, b[:-40], {}), "ModelError"),
}


@pytest.mark.parametrize("cell", list(CELLS))
def test_a_bad_file_fails_by_name_and_is_not_kept(page, fresh_log, cell):
    path, answer, name = CELLS[cell]
    fresh_log.hook = faulty(path, answer)
    found = attempt(page, cell)
    assert not found["answer"]["ok"] and found["answer"]["name"] == name, found["answer"]
    assert path.split("/")[-1] in found["answer"]["message"]
    assert path not in {f["path"] for f in found["files"]}
    fresh_log.hook = None
    assert attempt(page, cell)["answer"]["ok"]


def test_a_stalled_download_fails_by_name(page, fresh_log):
    def stall(method, url):
        if method == "GET" and url.endswith(GRAPH):
            time.sleep(3)
        return None
    fresh_log.hook = stall
    found = attempt(page, "stalled", stall_seconds=1)
    assert not found["answer"]["ok"] and found["answer"]["name"] == "DownloadError", found["answer"]
    assert GRAPH.split("/")[-1] in found["answer"]["message"] and "no data for 1000 ms" in found["answer"]["message"]
    fresh_log.hook = None
    assert attempt(page, "stalled")["answer"]["ok"]
    for _ in range(50):  # the held request is answered late: let it land in this test's log, not the next one's
        if len(fresh_log.requests("GET", f"/hub/{MODEL}/{REVISION}/{GRAPH}")) >= 2:
            break
        time.sleep(0.1)


def test_a_download_cut_off_resumes_where_it_stopped(page, fresh_log):
    fresh_log.hook = faulty(GRAPH, cut_once, times=1)
    assert attempt(page, "resumed")["answer"]["ok"]
    url = f"/hub/{MODEL}/{REVISION}/{GRAPH}"
    statuses = [int(s) for m, p, s in fresh_log.log if p == url]
    assert statuses == [200, 206], statuses


# Run in the download worker before its downloads: each call of a FileSystemSyncAccessHandle method, as the file's
# size at the call and the byte length of the buffer it was given (null for none).
RECORD = """(method) => {
  const calls = (self.recorded ??= {})[method] = [];
  const original = FileSystemSyncAccessHandle.prototype[method];
  FileSystemSyncAccessHandle.prototype[method] = function (...args) {
    calls.push([this.getSize(), args[0]?.byteLength ?? null]);
    return original.apply(this, args);
  };
}"""


def recorded(worker, method):
    """Calls of `method` in `worker` from now on (RECORD): a function that reads those made so far."""
    worker.evaluate(RECORD, method)
    return lambda: worker.evaluate(f"self.recorded[{method!r}]")


def download_worker(page):
    """The engine host's download worker, started as the host boots."""
    page.evaluate("async () => { await (await import('./engine.mjs')).listModels(); }")
    deadline = time.time() + 30
    while not (found := [w for w in page.workers if w.url.endswith("/download_worker.mjs")]) and time.time() < deadline:
        time.sleep(0.05)
    assert len(found) == 1, [w.url for w in page.workers]
    return found[0]


def test_a_graph_hashed_whole_is_flushed_once_complete_and_resumes_from_its_checkpoint(page, fresh_log):
    """A 90 MB graph is hashed whole once written: its checkpoint (every 32 MB) is not flushed to disk, only the
    complete file is (the fsyncs held a fresh profile's download back). Cut off after 40 MB, it resumes where it
    stopped all the same, and its record's sha256 is the hub's (attempt checks)."""
    url = f"/hub/{REAL_MODEL}/{REAL_REVISION}/onnx/model.onnx"
    graph = (HUB / REAL_MODEL / REAL_REVISION / "onnx/model.onnx").read_bytes()
    cut = []

    def hook(method, path):
        if method == "GET" and path == url and not cut:
            cut.append(path)
            return 200, graph[:40 << 20], {"Content-Length": str(len(graph)), "Accept-Ranges": "bytes", "ETag": '"v1"'}
        return None
    fresh_log.hook = hook
    flushes = recorded(download_worker(page), "flush")
    found = attempt(page, "flushed-once", modelId=REAL_MODEL, modelRevision=REAL_REVISION, dtype="fp32")
    assert found["answer"]["ok"], found["answer"]
    assert [int(s) for m, p, s in fresh_log.log if p == url] == [200, 206]
    flushed = [size for size, _ in flushes()]
    assert len(graph) in flushed and not [size for size in flushed if 32 << 20 <= size < len(graph)], flushed


def test_a_download_is_written_to_its_file_in_slices_of_at_most_a_mebibyte(page, fresh_log):
    """On a profile's first download Chromium's sync access handle wrote buffers of more than 1 MiB 2-5 times slower
    per byte (bench.opfs_writes): the 90 MB graph, which fetch reads here in chunks of up to 2 MiB, is written in
    slices of at most 1 MiB, and its record's sha256 is the hub's (attempt checks)."""
    graph = (HUB / REAL_MODEL / REAL_REVISION / "onnx/model.onnx").stat().st_size
    writes = recorded(download_worker(page), "write")
    found = attempt(page, "sliced", modelId=REAL_MODEL, modelRevision=REAL_REVISION, dtype="fp32")
    assert found["answer"]["ok"], found["answer"]
    written = [length for _, length in writes()]
    assert sum(written) >= graph and max(written) <= 1 << 20, (len(written), max(written))


def test_a_small_download_is_hashed_whole_once_written_without_the_hash_worker(page, fresh_log):
    """hash-wasm's ~200 MB/s bounded a 90 MB graph's download; the browser's own SHA-256 hashes it whole once
    written. Its records' sha256 are the hub files' (attempt checks), and a wrong byte is still caught (CELLS)."""
    found = attempt(page, "hashed-whole")
    assert found["answer"]["ok"], found["answer"]
    assert GRAPH in {f["path"] for f in found["files"]}
    assert fresh_log.requests("GET", "/hash_worker.mjs") == []


# Only a file larger than downloads.mjs's WHOLE_HASH (128 MiB) is hashed on the way in, in hash_worker.mjs.
LARGE = {"modelId": GIANT, "modelRevision": "v1", "dtype": "fp32"}
# A worker of the engine host's: the error a call that needs it gets when it cannot start, and a model that needs it.
HELPERS = {
    "download_worker.mjs": (
        "DownloadError", r"could not download \S+: .*the download worker \S+/download_worker.mjs failed", {}),
    "hash_worker.mjs": (
        "DownloadError", r"could not download \S+: .*the SHA-256 worker \S+/hash_worker.mjs failed", LARGE),
    "ort_worker.mjs": (
        "BackendError", r"ONNX Runtime Web could not start: .*ONNX Runtime's worker \S+/ort_worker.mjs failed", {}),
}


@pytest.mark.parametrize("script", HELPERS)
def test_a_worker_that_cannot_start_fails_the_engine_by_name_and_the_next_engine_starts_another(page, fresh_log,
                                                                                                 script):
    """Downloads stream in web/download_worker.mjs and large ones are hashed in web/hash_worker.mjs, and ONNX
    Runtime Web runs in web/ort_worker.mjs, beside the engine host: when one cannot start, creating the engine
    fails naming the worker's script (and the file, for a download), nothing is stored, and the next engine
    starts another worker (a failed worker used to take every later call with it)."""
    name, message, model = HELPERS[script]
    fresh_log.log.clear()
    fresh_log.hook = lambda method, url: (404, b"gone") if url == f"/{script}" else None
    page.reload()  # the page's engine host started its runtime and download workers as it booted; this one's cannot
    failed = attempt(page, "no-helper", **model)["answer"]
    assert not failed["ok"] and failed["name"] == name, failed
    assert re.search(message, failed["message"]), failed["message"]
    fresh_log.hook = None
    found = attempt(page, "no-helper", **model)
    assert found["answer"]["ok"], found["answer"]
    assert (GRAPH if not model else "onnx/model.onnx_data") in {f["path"] for f in found["files"]}
    statuses = [int(status) for method, path, status in fresh_log.log if path == f"/{script}"]
    assert set(statuses[:-1]) == {404} and statuses[-1] == 200, statuses  # each failed call asked for it anew


# Appended to web/ort_worker.mjs as served: the worker fails (an uncaught error) when asked for its first run.
FAIL_AT_FIRST_RUN = b"""
const serveCall = self.onmessage;
self.onmessage = (event) => {
  if (event.data.op !== "run") return serveCall(event);
  setTimeout(() => { throw new Error("simulated failure after load"); });
};
"""

RUN_ONCE = """async (options) => {
  const { createEngine } = await import('./engine.mjs');
  const engine = await createEngine(options);
  try {
    await engine.run({ args: [['one sentence']] });
    return { ok: true, status: engine.status };
  } catch (e) {
    return { ok: false, name: e.name, message: e.message, status: engine.status };
  }
}"""


def test_a_runtime_worker_that_fails_after_load_closes_its_engine_and_the_next_engine_starts_another(page, fresh_log):
    """The worker's sessions go with it: the run fails naming the worker, the engine closes (createEngine would
    otherwise hand back an engine that can never run), and the next createEngine runs on a new worker."""
    from tests.conftest import ROOT

    failing = (ROOT / "web" / "ort_worker.mjs").read_bytes() + FAIL_AT_FIRST_RUN
    fresh_log.hook = lambda method, url: ((200, failing, {"Content-Type": "text/javascript"})
                                          if url == "/ort_worker.mjs" else None)
    page.reload()  # the host starts its runtime worker as it boots
    failed = page.evaluate(RUN_ONCE, options("worker-lost"))
    assert not failed["ok"] and failed["name"] == "BackendError", failed
    assert re.search(r"ONNX Runtime Web could not run the model: .*ONNX Runtime's worker \S+/ort_worker.mjs failed: "
                     r".*simulated failure after load", failed["message"]), failed["message"]
    assert failed["status"] == "closed"
    fresh_log.hook = None
    again = page.evaluate(RUN_ONCE, options("worker-lost"))
    assert again == {"ok": True, "status": "ready"}, again
    assert attempt(page, "worker-lost")["answer"]["ok"]


def test_a_file_larger_than_the_free_space_fails_before_it_is_written(page, fresh_log):
    """navigator.storage.estimate() is asked first (Chromium's DevTools quota override does not show in the
    estimate, so the file here announces 20 GB instead)."""
    fresh_log.hook = faulty(GRAPH, lambda b: (200, b[:1000], {"Content-Length": str(20 * 10**9),
                                                              "Connection": "keep-alive"}))
    failed = attempt(page, "too-large")["answer"]
    assert not failed["ok"] and failed["name"] == "StorageError", failed
    assert re.search(r"could not download \S+model_quantized.onnx: .*needs 20000000000 bytes and \d+ are free",
                     failed["message"]), failed["message"]
    fresh_log.hook = None
    assert attempt(page, "too-large")["answer"]["ok"]


def test_a_cached_model_starts_with_the_hub_out_of_reach(page, fresh_log):
    """An optional file the hub does not have (sentence_bert_config.json) is remembered as absent in IndexedDB,
    so the second start needs nothing from the hub."""
    optional = f"/hub/{MODEL}/{REVISION}/sentence_bert_config.json"
    first = attempt(page, "offline")
    assert first["answer"]["ok"], first["answer"]
    assert fresh_log.requests("GET", optional) == [optional]
    assert "sentence_bert_config.json" not in {f["path"] for f in first["files"]}
    fresh_log.log.clear()
    fresh_log.hook = lambda method, url: (503, b"down", {}) if url.startswith("/hub/") else None
    second = attempt(page, "offline")
    assert second["answer"] == first["answer"]
    assert fresh_log.requests(prefix="/hub/") == []
