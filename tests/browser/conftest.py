"""Real Chromium through Playwright, configured in one place (playwright.config.py)."""

import importlib.util
import json

import numpy as np
import pytest
from playwright.sync_api import sync_playwright

import pyodide_pkg
from tests.conftest import ROOT, run

_spec = importlib.util.spec_from_file_location("playwright_config", ROOT / "playwright.config.py")
config = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(config)


@pytest.fixture(scope="session", autouse=True)
def vendored_wheel_is_current():
    """The page installs web/vendor/wheels; a stale wheel would test old code."""
    import zipfile

    index = json.loads((ROOT / "web" / "vendor" / "wheels" / "index.json").read_text())
    with zipfile.ZipFile(ROOT / "web" / "vendor" / "wheels" / index["wheel"]) as wheel:
        packed = {n: wheel.read(n) for n in wheel.namelist() if n.startswith("pyodide_pkg/") and n.endswith(".py")}
    source = {str(p.relative_to(ROOT)): p.read_bytes() for p in (ROOT / "pyodide_pkg").rglob("*.py")}
    stale = sorted(set(source) ^ set(packed) | {n for n in source if n in packed and source[n] != packed[n]})
    assert not stale, f"web/vendor/wheels is older than the source ({stale[:3]}...): run `make vendor`"


SENTENCES = json.loads((ROOT / "tests" / "data" / "sentences.json").read_text())
MEAN_NORM = {"pooling": "mean", "normalize": True}


@pytest.fixture(scope="module")
def cpython_embeddings(server, tmp_path_factory):
    """Our own code under CPython on the same model and inputs: what the browser must reproduce."""
    import os

    os.environ["PYODIDE_PKG_STORE_DIR"] = str(tmp_path_factory.mktemp("store"))

    async def go():
        engine = await pyodide_pkg.create_engine({"featureId": "sentence-embeddings", "engineId": "cpython-ref",
                                                  "settingsBaseUrl": f"{server.origin}/settings"})
        out = await engine.run({"args": [SENTENCES], "options": MEAN_NORM})
        await engine.terminate()
        return np.array(out)
    try:
        return run(go())
    finally:
        del os.environ["PYODIDE_PKG_STORE_DIR"]


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        instance = p.chromium.launch(**config.launch_args())
        yield instance
        instance.close()


@pytest.fixture
def page(browser, fresh_log):
    """A new context (empty IndexedDB) on the served page, with the engine module imported."""
    context = browser.new_context()
    context.set_default_timeout(config.TIMEOUT_MS)
    tab = context.new_page()
    tab.console_messages = []
    tab.on("console", lambda m: tab.console_messages.append(m.text))
    tab.goto(fresh_log.origin + "/")
    tab.wait_for_function("document.body.dataset.ready === 'true'", timeout=config.TIMEOUT_MS)
    yield tab
    context.close()


CALL = """async ([fn, args]) => {
  const api = await import('./engine.mjs');
  window.__notes = window.__notes || [];
  try {
    const value = await ({
      embed: async ([options, texts, runOptions]) => {
        const engine = await api.createEngine(options, n => window.__notes.push(n));
        return await engine.run({ args: [texts], options: runOptions });
      },
      create: async ([options]) => (await api.createEngine(options, n => window.__notes.push(n))).engineId,
      listModels: () => api.listModels(),
      listFiles: ([query]) => api.listFiles(query),
      deleteModels: ([query]) => api.deleteModels(query),
      listEngines: () => api.listEngines(),
    })[fn](args);
    return { ok: true, value };
  } catch (e) {
    return { ok: false, name: e.name, message: e.message };
  }
}"""


def call(page, fn, *args):
    """Call an engine.mjs function in the page; returns {ok, value} or {ok: false, name, message}."""
    return page.evaluate(CALL, [fn, list(args)])


def notes(page, clear=True):
    found = page.evaluate("() => { const n = window.__notes || []; return JSON.parse(JSON.stringify(n)); }")
    if clear:
        page.evaluate("() => { window.__notes = []; }")
    return found


def dumps(value):
    return json.dumps(value)
