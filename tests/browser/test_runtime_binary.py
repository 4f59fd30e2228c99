"""The runtime binary in Chromium: its first start compiles it from the network as it downloads (run once a copy
of the answer has the settings' sha256), and later ones from the browser's HTTP cache, where that answer stays,
with the settings' sha256 as the fetch's integrity, because Chromium keeps a code cache only for WASM compiled
from a URL's answer; a returning visitor's start then skips the compile. When the HTTP cache cannot give those
bytes, the cached copy is run, checked as before. An in-memory (incognito) profile keeps no
code cache, and its HTTP cache did not keep the 14 MB binary: these tests use profiles on disk."""

import time

import numpy as np
import pytest

from tests.browser.conftest import MEAN_NORM, SENTENCES, config
from tests.browser.test_warm_start import RUNTIME

OPTIONS = {"featureId": "sentence-embeddings"}
WASM_PATH = f"/vendor/ort/{RUNTIME['name']}"

START = """async ([options, texts, runOptions]) => {
  const { createEngine, runPython, runtimeInfo } = await import('./engine.mjs');
  try {
    const engine = await createEngine(options);
    const result = await engine.run({ args: [texts], options: runOptions });
    const warm = await runPython('import ml_bridge\\nml_bridge.warmStarts().to_py()');
    return { ok: true, result, warm, wasmFrom: (await runtimeInfo()).onnxRuntimeWasm };
  } catch (error) {
    return { ok: false, name: error.name, message: error.message };
  }
}"""


@pytest.fixture
def profile(browser, tmp_path):
    """A Chromium profile on disk, as a returning visitor has."""
    context = browser.browser_type.launch_persistent_context(tmp_path / "profile", **config.launch_args())
    context.set_default_timeout(config.TIMEOUT_MS)
    yield context
    context.close()


def start(tab, origin):
    tab.goto(f"{origin}/blank.html")  # a new engine host, same profile
    return tab.evaluate(START, [{**OPTIONS, "settingsBaseUrl": f"{origin}/settings"}, SENTENCES, MEAN_NORM])


def traced_start(context, origin):
    """A start on a new page, with Chromium's trace of it: the code cache's hits are trace events."""
    tab = context.new_page()
    cdp = context.new_cdp_session(tab)
    events, done = [], []
    cdp.on("Tracing.dataCollected", lambda message: events.extend(message["value"]))
    cdp.on("Tracing.tracingComplete", lambda message: done.append(True))
    cdp.send("Tracing.start", {"traceConfig": {"includedCategories": ["disabled-by-default-devtools.timeline"]},
                               "transferMode": "ReportEvents"})
    started = start(tab, origin)
    cdp.send("Tracing.end")
    while not done:
        tab.wait_for_timeout(50)
    tab.close()
    hits = [e["args"]["url"] for e in events if e.get("name") == "v8.wasm.moduleCacheHit"]
    return started, hits


def test_a_returning_visitor_gets_the_runtime_from_chromiums_code_cache(profile, fresh_log, cpython_embeddings):
    """The first start compiles the binary as it downloads, and what it fetched is the cached copy: one GET."""
    server = fresh_log
    cold, cold_hits = traced_start(profile, server.origin)
    fetched = [status for method, path, status in server.log if path == WASM_PATH]
    time.sleep(3)  # Chromium writes the code cache once ONNX Runtime's hot functions are optimised
    warm, warm_hits = traced_start(profile, server.origin)
    assert cold["ok"] and cold["wasmFrom"] == "network", cold
    assert fetched == [200], fetched
    assert not any(url.endswith(WASM_PATH) for url in cold_hits), cold_hits
    assert warm["ok"] and warm["result"] == cold["result"], warm
    assert np.abs(np.array(warm["result"]) - cpython_embeddings).max() <= 1e-4  # as test_lifecycle.py holds it
    assert warm["warm"] == {"replayed": 1, "taken": 1} and warm["wasmFrom"] == "http-cache", warm
    assert f"{server.origin}{WASM_PATH}" in warm_hits, warm_hits


# The HTTP cache's answer for the binary's URL replaced by other bytes, as a fetch of a changed file would.
REFETCH = """async (url) => { await (await fetch(url, { cache: 'reload' })).arrayBuffer(); }"""


@pytest.mark.parametrize("http_cache", ["cleared", "other-bytes"])
def test_a_runtime_the_http_cache_cannot_give_runs_from_its_cached_copy(profile, fresh_log, http_cache,
                                                                       cpython_embeddings):
    server = fresh_log
    tab = profile.new_page()
    try:
        cold = start(tab, server.origin)
        if http_cache == "cleared":
            profile.new_cdp_session(tab).send("Network.clearBrowserCache")
        else:
            changed = bytearray((server.web / WASM_PATH.lstrip("/")).read_bytes())
            changed[4096:4160] = b"\xab" * 64
            server.hook = lambda method, path: (200, bytes(changed), {"Content-Type": "application/wasm"}) \
                if path == WASM_PATH else None
            tab.evaluate(REFETCH, f"{server.origin}{WASM_PATH}")
        server.log.clear()
        warm = start(tab, server.origin)
        fetched = server.requests("GET", WASM_PATH)
    finally:
        tab.close()
    assert cold["ok"] and cold["wasmFrom"] == "network", cold
    assert warm["ok"] and warm["result"] == cold["result"], warm
    assert np.abs(np.array(warm["result"]) - cpython_embeddings).max() <= 1e-4
    assert warm["wasmFrom"] == "cached-copy", warm
    assert fetched == []  # never from the network: the cached copy is there


@pytest.mark.parametrize("fault", ["unavailable", "other-bytes"])
def test_a_first_start_whose_fetch_fails_is_not_run_and_the_engine_starts_again(profile, fresh_log, fault,
                                                                                cpython_embeddings):
    """The first start's fetch of the binary answered 503 once: the copy's own download then fetches it, and the
    runtime starts from there. Answered with other bytes once: they never run, nothing is cached, the engine
    fails with an IntegrityError naming the binary, and the next one fetches it again and starts."""
    server = fresh_log
    binary = (server.web / WASM_PATH.lstrip("/")).read_bytes()
    changed = bytearray(binary)
    changed[4096:4160] = b"\xab" * 64
    answers = [(503, b"busy") if fault == "unavailable" else (200, bytes(changed), {"Content-Type": "application/wasm"})]
    server.hook = lambda method, path: answers.pop() if path == WASM_PATH and method == "GET" and answers else None
    tab = profile.new_page()
    try:
        first = start(tab, server.origin)
        again = start(tab, server.origin) if fault == "other-bytes" else None
    finally:
        tab.close()
    fetched = [int(status) for method, path, status in server.log if path == WASM_PATH]
    if fault == "unavailable":
        assert first["ok"] and first["wasmFrom"] == "http-cache", first
        assert fetched == [503, 200], fetched
        result = first["result"]
    else:
        assert not first["ok"] and first["name"] == "IntegrityError", first
        assert WASM_PATH in first["message"] and RUNTIME["sha256"] in first["message"], first
        assert again["ok"] and again["wasmFrom"] == "network", again
        assert fetched == [200, 200], fetched
        result = again["result"]
    assert np.abs(np.array(result) - cpython_embeddings).max() <= 1e-4
