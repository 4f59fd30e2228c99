"""The page the browser benchmarks run in: Debian's Chromium as playwright.config.py sets it up."""

from __future__ import annotations

import importlib.util
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent


def config() -> Any:
    spec = importlib.util.spec_from_file_location("playwright_config", ROOT / "playwright.config.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def booted_page(origin: str) -> Iterator[Any]:
    """The demo page at `origin`, booted (Pyodide, numpy, our wheel) and ready for engine.mjs calls;
    `page.boot_seconds` says how long the boot took."""
    from playwright.sync_api import sync_playwright

    settings = config()
    with sync_playwright() as p:
        browser = p.chromium.launch(**settings.launch_args())
        try:
            page = browser.new_page()
            page.set_default_timeout(settings.TIMEOUT_MS)
            start = time.perf_counter()
            page.goto(origin + "/")
            page.wait_for_function("document.body.dataset.ready === 'true'")
            page.boot_seconds = time.perf_counter() - start
            yield page
        finally:
            browser.close()


TRANSFORMERS_JS = "vendor/transformers-js/"


def load_transformers_js(page: Any, origin: str) -> str:
    """Import Transformers.js into `page` as `window.transformersJs`, set up the way a page without
    internet needs it: models from our hub, ONNX Runtime's wasm from web/vendor; returns its version.

    tools/vendor.py copies these files when the npm dev dependency is installed."""
    if not (ROOT / "web" / TRANSFORMERS_JS / "transformers.min.js").is_file():
        raise SystemExit("web/vendor/transformers-js is missing: run `npm ci` and `python -m tools.vendor`")
    return page.evaluate("""async ([origin, folder]) => {
      const tjs = await import(`${origin}/${folder}transformers.min.js`);
      tjs.env.allowLocalModels = false;
      tjs.env.remoteHost = `${origin}/hub/`;
      tjs.env.remotePathTemplate = '{model}/{revision}/';
      tjs.env.useBrowserCache = false;
      tjs.env.backends.onnx.wasm.wasmPaths = {
        mjs: `${origin}/${folder}ort-wasm-simd-threaded.asyncify.mjs`,
        wasm: `${origin}/${folder}ort-wasm-simd-threaded.asyncify.wasm`,
      };
      window.transformersJs = tjs;
      return tjs.env.version;
    }""", [origin, TRANSFORMERS_JS])
