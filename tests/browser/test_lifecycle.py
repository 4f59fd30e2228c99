"""The whole lifecycle in Chromium: settings, hub, IndexedDB cache, ORT Web, the engine API, the page."""

import json
from collections import Counter

import numpy as np
import pytest

from tests.browser.conftest import MEAN_NORM, SENTENCES, call, notes
from tests.conftest import REAL_MODEL, REAL_REVISION, assert_cache_intact

MODEL_FILES = {f"/hub/{REAL_MODEL}/{REAL_REVISION}/{f}" for f in
               ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "sentence_bert_config.json",
                "onnx/model.onnx")}
RUNTIME = "/vendor/ort/ort-wasm-simd-threaded.wasm"


def ok(answer):
    assert answer["ok"], answer
    return answer["value"]


def test_feature_embeddings_cache_and_reload(page, fresh_log, cpython_embeddings):
    server = fresh_log
    server.log.clear()
    ours = np.array(ok(call(page, "embed", "sentence-embeddings", SENTENCES, MEAN_NORM)))
    assert ours.shape == (20, 384)
    assert np.abs(ours - cpython_embeddings).max() <= 1e-4

    gets = Counter(server.requests("GET", "/hub"))
    assert set(gets) == MODEL_FILES and set(gets.values()) == {1}, gets
    assert server.requests("GET", RUNTIME) == [RUNTIME]
    assert server.requests("HEAD") == []  # pinned revision: never revalidated
    first = notes(page)
    hub_notes = [n for n in first if n["type"] != "running_inference"]
    assert {n["type"] for n in hub_notes} == {"downloading"}
    for path in MODEL_FILES:
        statuses = [n["statusText"] for n in hub_notes if n["id"].endswith(path)]
        assert statuses[0] == "initiate" and statuses[1] == "size_estimate" and statuses[-1] == "done"
        assert statuses.count("initiate") == statuses.count("size_estimate") == statuses.count("done") == 1

    files = ok(call(page, "listFiles", {"model": REAL_MODEL, "revision": REAL_REVISION}))
    assert {f"/hub/{REAL_MODEL}/{REAL_REVISION}/{f['path']}" for f in files} == MODEL_FILES
    assert all(f["headers"]["ETag"].startswith('"') and f["headers"]["fileSize"] > 0 for f in files)

    page.reload()
    page.wait_for_function("document.body.dataset.ready === 'true'")
    server.log.clear()
    again = np.array(ok(call(page, "embed", {"featureId": "sentence-embeddings", "engineId": "after-reload"},
                             SENTENCES[:3], MEAN_NORM)))
    assert np.abs(again - cpython_embeddings[:3]).max() <= 1e-4
    assert server.requests(prefix="/hub") == [] and server.requests(prefix=RUNTIME) == []
    cached = [n for n in notes(page) if n["type"] != "running_inference"]
    assert cached and {n["type"] for n in cached} == {"loading_from_cache"}

    ok(call(page, "deleteModels", {"model": REAL_MODEL, "revision": REAL_REVISION}))
    assert [m for m in ok(call(page, "listModels")) if m["name"] == REAL_MODEL] == []
    ok(call(page, "embed", {"featureId": "sentence-embeddings", "engineId": "after-delete"}, "x", MEAN_NORM))
    assert Counter(server.requests("GET", "/hub")) == Counter(MODEL_FILES)


# Each ONNX Runtime run's input shape, recorded in the engine host while one request runs.
BATCHES = """async ([texts, options, record, read]) => {
  const { createEngine, runPython } = await import('./engine.mjs');
  const engine = await createEngine({ featureId: 'sentence-embeddings', engineId: 'batches' });
  await runPython(record);
  try {
    const vectors = await engine.run({ args: [texts], options });
    return { vectors, shapes: await runPython(read) };
  } finally {
    await runPython(read);
  }
}"""
RECORD = """
from pyodide_pkg.platform.browser import OrtWebSession
plain = OrtWebSession.run
async def recorded(self, feeds):
    recorded.shapes.append(list(feeds["input_ids"].shape))
    return await plain(self, feeds)
recorded.shapes, recorded.plain = [], plain
OrtWebSession.run = recorded
"""
READ = """
from pyodide_pkg.platform.browser import OrtWebSession
recorded = OrtWebSession.run
OrtWebSession.run = getattr(recorded, "plain", recorded)
getattr(recorded, "shapes", None)
"""


def test_a_batch_runs_in_runs_of_similar_length(page, cpython_embeddings):
    """Rows of 3 to 23 tokens go to ONNX Runtime Web in batches cut by length (encoder.length_batches), with
    the results our CPython engine gives."""
    from tests.unit.test_engine import expected_batch_shapes

    got = page.evaluate(BATCHES, [SENTENCES, MEAN_NORM, RECORD, READ])
    assert [tuple(shape) for shape in got["shapes"]] == expected_batch_shapes() and len(got["shapes"]) > 1
    assert np.abs(np.array(got["vectors"]) - cpython_embeddings).max() <= 1e-4


# Counts the byte arrays beside each answer the engine host posts to the page.
WATCH_ANSWERS = """window.__arrays = [];
window.Worker = class extends Worker {
  constructor(...args) {
    super(...args);
    this.addEventListener('message', ({ data }) => {
      if (data && 'answer' in data) window.__arrays.push((data.arrays || []).length);
    });
  }
};"""
VECTORS = """async ([texts, options]) => {
  const { createEngine } = await import('./engine.mjs');
  const engine = await createEngine({ featureId: 'sentence-embeddings' });
  window.__arrays = [];
  const pooled = await engine.run({ args: [texts], options });
  const pooledArrays = window.__arrays;
  window.__arrays = [];
  const tokens = await engine.run({ args: [texts.slice(0, 2)] });
  const exact = [pooled, tokens].flat(3).every((x) => typeof x === 'number' && Math.fround(x) === x);
  return { pooled, pooledArrays, tokens, tokenArrays: window.__arrays, exact };
}"""


def test_vectors_reach_the_page_as_bytes_with_their_float32_values(browser, fresh_log, cpython_embeddings):
    """Embeddings cross from the engine host as float32 bytes beside the JSON answer (results.py), one array
    per vector, and arrive as nested arrays of the same float32 numbers, in the shapes of lists."""
    context = browser.new_context()
    try:
        context.add_init_script(WATCH_ANSWERS)
        tab = context.new_page()
        tab.set_default_timeout(120_000)
        tab.goto(fresh_log.origin + "/blank.html")
        got = tab.evaluate(VECTORS, [SENTENCES, MEAN_NORM])
    finally:
        context.close()
    assert got["pooledArrays"] == [len(SENTENCES)] and got["tokenArrays"] == [2] and got["exact"]
    assert np.abs(np.array(got["pooled"]) - cpython_embeddings).max() <= 1e-4
    for sentence, vectors in enumerate(got["tokens"]):  # [tokens][384], each row's own tokens
        mean = np.mean(np.array(vectors), axis=0)
        assert np.abs(mean / np.linalg.norm(mean) - np.array(got["pooled"][sentence])).max() <= 1e-5


# Engines of the sentence-embeddings feature made one after another (each with its own extra options): each one's
# vectors and its session's description as the runtime's worker gives it (handed, optimized).
SESSIONS = """async ([texts, options, engines]) => {
  const { createEngine, runPython } = await import('./engine.mjs');
  const found = [];
  for (const extra of engines) {
    const engine = await createEngine({ featureId: 'sentence-embeddings', ...extra });
    const vectors = await engine.run({ args: [texts], options });
    const [handed, optimized] = await runPython(`from pyodide_pkg.platform import browser_api
engine = next(e for e in browser_api._engines.values() if e.engine_id == "${extra.engineId}")
session = engine.pipeline.encoder.session.session
[bool(session.handed), bool(session.optimized)]`);
    await engine.terminate();
    found.push({ vectors, handed, optimized });
  }
  return found;
}"""


def test_a_downloaded_graph_is_made_a_session_from_the_bytes_its_hash_read(page, cpython_embeddings):
    """The 90 MB graph, read back once to be hashed, goes to ONNX Runtime's worker as those bytes; a graph from
    the cache is read from its file. Both give our CPython engine's results."""
    downloaded, cached = page.evaluate(SESSIONS, [SENTENCES, MEAN_NORM, [{"engineId": "downloaded"},
                                                                        {"engineId": "from-the-cache"}]])
    assert downloaded["handed"] is True and cached["handed"] is False
    for got in (downloaded, cached):
        assert np.abs(np.array(got["vectors"]) - cpython_embeddings).max() <= 1e-4


def test_an_fp32_text_encoder_runs_its_graph_unoptimized_and_a_quantized_one_optimized(page, cpython_embeddings):
    """tasks.Task.optimizes: ONNX Runtime Web makes an fp32 encoder's session without graph optimizations (its
    runs are as fast, its session comes sooner), a quantized one's with them. Results hold either way."""
    fp32, q8 = page.evaluate(SESSIONS, [SENTENCES, MEAN_NORM, [{"engineId": "fp32", "dtype": "fp32"},
                                                                {"engineId": "q8", "dtype": "q8"}]])
    assert fp32["optimized"] is False and q8["optimized"] is True
    assert np.abs(np.array(fp32["vectors"]) - cpython_embeddings).max() <= 1e-4
    q8 = np.array(q8["vectors"])  # against fp32, as test_embeddings_match_sentence_transformers holds q8
    assert (np.sum(q8 * cpython_embeddings, axis=1) / np.linalg.norm(q8, axis=1)).min() >= 0.99


def test_the_cache_opens_while_the_settings_are_fetched(browser, server, cpython_embeddings):
    """The model files' IndexedDB is opened (and swept) while the settings are on their way, not after."""
    from tests.browser.test_main_thread import blank_page

    seen = []

    def held(route):
        for _ in range(50):  # up to ~5 s with the settings held back
            names = tab.evaluate("async () => (await indexedDB.databases()).map((db) => db.name)")
            if "modelFiles" in names:
                break
            tab.wait_for_timeout(100)
        seen.append("modelFiles" in names)
        route.continue_()

    context, tab = blank_page(browser, server.origin)
    try:
        tab.route("**/settings/ml-inference-options.json", held)
        found = call(tab, "embed", {"featureId": "sentence-embeddings", "settingsBaseUrl": f"{server.origin}/settings"},
                     SENTENCES, MEAN_NORM)
    finally:
        context.close()
    assert seen == [True], seen
    assert found["ok"] and np.abs(np.array(found["value"]) - cpython_embeddings).max() <= 1e-4


def test_main_revision_revalidates_with_head(page, fresh_log):
    options = {"taskName": "feature-extraction", "modelId": REAL_MODEL, "modelRevision": "main", "dtype": "q8"}
    ok(call(page, "create", options))
    gets = fresh_log.requests("GET", "/hub")
    ok(call(page, "create", {**options, "engineId": "second"}))
    heads = fresh_log.requests("HEAD", "/hub")
    assert sorted(heads) == sorted(gets) and fresh_log.requests("GET", "/hub") == gets
    # The hub goes down: cached files are still used.
    fresh_log.hook = lambda method, path: (503, b"down") if path.startswith("/hub/") else None
    ok(call(page, "create", {**options, "engineId": "third"}))
    assert fresh_log.requests("GET", "/hub") == gets


def test_wrong_runtime_hash_fails_clearly(page, fresh_log):
    def tamper(route):
        body = json.loads(route.fetch().text())
        body["data"][0]["sha256"] = "cd" * 32
        route.fulfill(body=json.dumps(body), content_type="application/json")
    page.route("**/settings/ml-onnx-runtime.json", tamper)
    answer = call(page, "create", "sentence-embeddings")
    assert not answer["ok"] and answer["name"] == "IntegrityError"
    assert "sha256 mismatch" in answer["message"] and "ort-wasm-simd-threaded.wasm" in answer["message"]
    assert "cd" * 32 in answer["message"]
    # the model's files downloaded beside the runtime are kept whole
    assert_cache_intact(ok(call(page, "listFiles", {"model": REAL_MODEL, "revision": REAL_REVISION})))


@pytest.mark.parametrize("options,problem", [
    ({"modelHubRootUrl": "https://model-hub.mozilla.org.evil.com"}, "is not localhost or a hub named"),
    ({"modelHubRootUrl": "ftp://localhost/hub"}, "scheme 'ftp'"),
    ({"modelId": "org--x/m"}, "invalid organization"),
    ({"modelRevision": "../v1"}, "invalid revision"),
    ({"modelHubUrlTemplate": "{model}/../{revision}"}, "invalid URL template"),
])
def test_disallowed_hub_fails_and_downloads_nothing(page, fresh_log, options, problem):
    answer = call(page, "create", {"featureId": "sentence-embeddings", **options})
    assert not answer["ok"] and answer["name"] == "HubError" and problem in answer["message"], answer
    assert fresh_log.requests(prefix="/hub") == []


def test_deny_list_blocks_downloads(page, fresh_log):
    def deny(route):
        body = json.loads(route.fetch().text())
        body["data"].append({"id": "deny", "filter": "DENY", "urlPrefix": f"{fresh_log.origin}/hub/sentence-transformers/"})
        route.fulfill(body=json.dumps(body), content_type="application/json")
    page.route("**/settings/ml-model-allow-deny-list.json", deny)
    answer = call(page, "create", "sentence-embeddings")
    assert not answer["ok"] and "not allowed by ml-model-allow-deny-list" in answer["message"]
    assert fresh_log.requests(prefix="/hub") == []


def test_bad_options_are_named(page):
    for options, name, problem in [({"featureId": "sentence-embeddings", "dtype": "q7"}, "OptionsError",
                                    "options: option 'dtype' must be one of fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4, got 'q7'"),
                                   ({"featureId": "sentence-embeddings", "colour": 1}, "OptionsError", "unknown option 'colour'"),
                                   ("no-such-feature", "SettingsError", "has no record")]:
        answer = call(page, "create", options)
        assert not answer["ok"] and answer["name"] == name and problem in answer["message"], answer
