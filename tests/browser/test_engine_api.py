"""Engine API behaviour in Chromium: one engine per id, abort, idle release, threads, the demo page."""

from collections import Counter

from tests.browser.conftest import call
from tests.conftest import REAL_MODEL


def test_concurrent_creates_share_one_engine_and_one_download(page, fresh_log):
    result = page.evaluate("""async () => {
      const { createEngine, listEngines } = await import('./engine.mjs');
      const options = { taskName: 'feature-extraction', modelId: '%s', modelRevision: 'v1.0', dtype: 'q8', numThreads: 2 };
      const [a, b] = await Promise.all([createEngine(options), createEngine(options)]);
      const out = await a.run({ args: ['threads'], options: { pooling: 'cls' } });
      return { same: a.engineId === b.engineId, status: a.status, engines: await listEngines(),
               dims: out[0].length, isolated: crossOriginIsolated };
    }""" % REAL_MODEL)
    assert result["same"] and result["status"] == "ready" and result["isolated"] and result["dims"] == 384
    assert [e["engineId"] for e in result["engines"]] == ["default-engine"]
    assert set(Counter(fresh_log.requests("GET", "/hub")).values()) == {1}


def test_abort_signal_rejects_with_abort_error(page):
    result = page.evaluate("""async () => {
      const { createEngine } = await import('./engine.mjs');
      const names = [];
      const pre = new AbortController(); pre.abort();
      try { await createEngine('sentence-embeddings', null, pre.signal); } catch (e) { names.push(e.name); }
      const during = new AbortController();
      const pending = createEngine({ featureId: 'sentence-embeddings', engineId: 'aborted' }, null, during.signal);
      during.abort();
      try { await pending; } catch (e) { names.push(e.name); }
      const engine = await createEngine({ featureId: 'sentence-embeddings', engineId: 'after-abort' });
      return { names, works: (await engine.run({ args: ['ok'], options: { pooling: 'mean' } }))[0].length };
    }""")
    assert result == {"names": ["AbortError", "AbortError"], "works": 384}


def test_one_callers_abort_leaves_the_engine_another_caller_holds(page):
    """Two callers create one engine and the first aborts: the engine the second holds stays open."""
    result = page.evaluate("""async () => {
      const { createEngine } = await import('./engine.mjs');
      const options = { featureId: 'sentence-embeddings', engineId: 'shared' };
      const abort = new AbortController();
      const first = createEngine(options, null, abort.signal);
      const second = createEngine(options);
      abort.abort();
      let firstName;
      try { await first; } catch (e) { firstName = e.name; }
      const engine = await second;
      await new Promise((r) => setTimeout(r, 500));  // the abandoned hold has been handed back by now
      const vector = await engine.run({ args: ['still here'], options: { pooling: 'mean' } });
      return { firstName, dims: vector[0].length, status: engine.status };
    }""")
    assert result == {"firstName": "AbortError", "dims": 384, "status": "ready"}


def test_idle_engine_is_released_and_says_so(page):
    result = page.evaluate("""async () => {
      const { createEngine } = await import('./engine.mjs');
      const engine = await createEngine({ featureId: 'sentence-embeddings', timeoutMS: 300 });
      await engine.run({ args: ['warm'] });
      await new Promise(r => setTimeout(r, 900));
      try { await engine.run({ args: ['late'] }); return { status: engine.status }; }
      catch (e) { return { status: engine.status, name: e.name, message: e.message }; }
    }""")
    assert result["status"] == "closed" and result["name"] == "EngineClosedError"
    assert "released after 300 ms idle" in result["message"]


def test_bad_request_leaves_engine_usable(page):
    result = page.evaluate("""async () => {
      const { createEngine } = await import('./engine.mjs');
      const engine = await createEngine('sentence-embeddings');
      let error;
      try { await engine.run({ args: [42] }); } catch (e) { error = `${e.name}: ${e.message}`; }
      const pieces = [];
      for await (const piece of engine.runWithGenerator({ args: ['streamed'], options: { pooling: 'mean' } })) pieces.push(piece);
      return { error, after: (await engine.run({ args: ['fine'], options: { pooling: 'mean' } }))[0].length, pieces };
    }""")
    assert result["error"].startswith("RequestError: feature-extraction: args[0] must be a string")
    assert result["after"] == 384 and len(result["pieces"]) == 1 and len(result["pieces"][0]["output"][0]) == 384


def test_demo_page_runs_and_manages_cache(page, fresh_log):
    assert page.evaluate("typeof window.createEngine") == "function"
    page.click("#run")
    page.wait_for_function("document.querySelector('#result').dataset.ready !== undefined")
    assert page.get_attribute("#result", "data-ready") == "true", page.text_content("#status")
    assert "Shape 3 × 384" in page.text_content("#view")  # the feature-extraction example: three sentences
    assert page.text_content("#result").startswith("[[")
    assert page.locator("#downloads progress").count() >= 4
    assert all(v == "100" for v in page.eval_on_selector_all("#downloads progress", "els => els.map(e => String(e.value))"))
    page.click("#tab-models")
    page.wait_for_function("document.querySelector('#model-table tbody').dataset.ready === 'true'")
    row = page.locator("#model-table tr.model", has_text=REAL_MODEL)
    assert row.count() == 1 and "MB" in row.inner_text()
    row.locator("button.delete").click()
    page.click("#confirm-ok")
    page.wait_for_function("![...document.querySelectorAll('#model-table tr.model')].some(r => r.textContent.includes('%s'))" % REAL_MODEL)
    assert [m for m in call(page, "listModels")["value"] if m["name"] == REAL_MODEL] == []


def test_python_runs_in_the_engine_host_and_no_bare_python_error_reaches_the_page(page):
    """runPython replaces getPyodide; an unexpected Python exception is an InternalError naming its type."""
    found = page.evaluate("""async () => {
      const api = await import('./engine.mjs');
      const named = async (work) => { try { return { value: await work() }; } catch (e) { return { name: e.name, message: e.message }; } };
      const engine = await api.createEngine('sentence-embeddings');
      const value = await api.runPython('import asyncio, sys\\nawait asyncio.sleep(0)\\n{"platform": sys.platform, "n": n + 1}', { n: 41 });
      const raised = await named(() => api.runPython('raise LookupError("nothing here")'));
      const notJson = await named(() => api.runPython('object()'));
      const getPyodide = await named(() => api.getPyodide());
      await api.runPython(`
from pyodide_pkg import engine as engines
session = engines._engines["default-engine"].pipeline.encoder.session
async def broken(feeds):
    raise KeyError("a bug")
session.run = broken`);
      const bug = await named(() => engine.run({ args: ['x'] }));
      await api.runPython('from pyodide_pkg import engine as engines\\ndel engines._engines["default-engine"].pipeline.encoder.session.run');
      const after = (await engine.run({ args: ['x'], options: { pooling: 'mean' } }))[0].length;
      return { value, raised, notJson, getPyodide, bug, after, status: engine.status };
    }""")
    assert found["value"] == {"platform": "emscripten", "n": 42}
    assert found["raised"] == {"name": "PythonError", "message": "LookupError: nothing here"}
    assert found["notJson"]["name"] == "RequestError" and "JSON" in found["notJson"]["message"]
    assert found["getPyodide"]["name"] == "NotSupportedError" and "runPython" in found["getPyodide"]["message"]
    assert found["bug"] == {"name": "InternalError", "message": "KeyError: 'a bug'"}
    assert found["after"] == 384 and found["status"] == "ready"


def test_status_changes_reach_the_page_without_a_call(page):
    """engine.status is synchronous: the host pushes an idle release before the page asks anything."""
    found = page.evaluate("""async () => {
      const { createEngine } = await import('./engine.mjs');
      const engine = await createEngine({ featureId: 'sentence-embeddings', engineId: 'short-lived', timeoutMS: 200 });
      const before = engine.status;
      for (let i = 0; i < 100 && engine.status === 'ready'; i++) await new Promise((r) => setTimeout(r, 100));
      const twin = await createEngine({ featureId: 'sentence-embeddings', engineId: 'twin', timeoutMS: -1 });
      await twin.terminate();
      return { before, after: engine.status, twin: twin.status };
    }""")
    assert found == {"before": "ready", "after": "closed", "twin": "closed"}


def test_configure_before_the_first_engine_takes_page_relative_urls(browser, server):
    from tests.browser.test_main_thread import blank_page

    context, tab = blank_page(browser, server.origin)
    try:
        found = tab.evaluate("""async () => {
          const api = await import('./engine.mjs');
          api.configure({ pyodideIndexURL: 'vendor/pyodide/', wheelsURL: './vendor/wheels/', settingsBaseUrl: 'settings/' });
          const engine = await api.createEngine('sentence-embeddings');
          let late;
          try { api.configure({ settingsBaseUrl: 'elsewhere/' }); } catch (e) { late = e.message; }
          return { dims: (await engine.run({ args: ['x'], options: { pooling: 'mean' } }))[0].length, late };
        }""")
    finally:
        context.close()
    assert found["dims"] == 384 and "before the first engine" in found["late"]


def test_micropip_is_not_loaded_at_boot_but_loads_on_demand(page):
    """The engine host boots without micropip (loadPyodide loads numpy and our wheels); a page script that
    wants to install packages loads it itself."""
    found = page.evaluate("""async () => {
      const { runPython } = await import('./engine.mjs');
      return runPython(`import sys
before = "micropip" in sys.modules
import pyodide_js
await pyodide_js.loadPackage("micropip")
import micropip
[before, micropip.__version__]`);
    }""")
    assert found == [False, "0.9.0"]


def test_persist_storage_is_asked_from_the_page(page):
    result = page.evaluate("""async () => {
      const { persistStorage } = await import('./engine.mjs');
      const granted = await persistStorage();
      return { granted, persisted: await navigator.storage.persisted() };
    }""")
    assert isinstance(result["granted"], bool) and result["granted"] == result["persisted"]


def test_two_engines_on_one_model_share_downloads_and_both_hold_its_files(page, fresh_log):
    result = page.evaluate("""async () => {
      const { createEngine, listFiles } = await import('./engine.mjs');
      const options = { taskName: 'feature-extraction', modelId: 'test/tiny-bert-feature-extraction', modelRevision: 'v1', dtype: 'q8' };
      await Promise.all([createEngine({ ...options, engineId: 'one' }), createEngine({ ...options, engineId: 'two' })]);
      return await listFiles({ model: options.modelId, revision: options.modelRevision });
    }""")
    gets = fresh_log.requests("GET", "/hub")
    assert gets and len(gets) == len(set(gets))
    assert result and all(f["engines"] == ["one", "two"] for f in result)
