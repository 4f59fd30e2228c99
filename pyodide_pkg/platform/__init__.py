"""The only door to the host: fetch bytes with progress, a record store, an ONNX session.

In Pyodide the browser implementation talks to fetch, IndexedDB and ONNX Runtime Web through the
`ml_bridge` JS module; under CPython the same interface is backed by urllib, sqlite on disk and
the `onnxruntime` package, so the lifecycle logic above it is shared and testable.

Interface:
    async fetch(url, method="GET", on_progress=None, timeout_s=None) -> Response
    async open_store(name, schema) -> store with write(puts, deletes), get(store, key),
        get_blob(store, key), get_all(store, index=None, prefix=())
    async init_runtime(wasm: bytes, num_threads: int) -> None
    async create_session(model: bytes, num_threads: int) -> session with input_names,
        output_names, async run(feeds) -> dict[str, ndarray], release()
    async load_packages(names) -> None: packages Pyodide ships but does not load at boot (Pillow)
    async page_image(value) -> encoded bytes, (width, height, rgba bytes), or None: a page's
        Blob or ImageData (nothing under CPython)
"""

import sys

IN_BROWSER = sys.platform == "emscripten"

if IN_BROWSER:
    from .browser import create_session, fetch, init_runtime, load_packages, open_store, page_image
else:
    from .cpython import create_session, fetch, init_runtime, load_packages, open_store, page_image

from .common import Response

__all__ = ["IN_BROWSER", "Response", "create_session", "fetch", "init_runtime", "load_packages", "open_store",
           "page_image"]
