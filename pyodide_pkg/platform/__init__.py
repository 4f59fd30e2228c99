"""The only door to the host: downloads that stay in the host, a record store, ONNX sessions.

In Pyodide the browser implementation talks to fetch, IndexedDB and ONNX Runtime Web through the
`ml_bridge` JS module; under CPython the same interface is backed by urllib, sqlite with files on disk
and the `onnxruntime` package, so the lifecycle logic above it is shared and testable. Model bytes are
a `Body` handle Python passes along (an OPFS file, a file on disk); only the small files Python parses are
read.

Interface:
    async fetch(url, method="GET", timeout_s=None) -> Response with the body as bytes (small files, HEAD)
    async download(url, on_progress=None, timeout_s=None, stall_s=None, http_cache=False) -> Download(status,
        headers, size, sha256, body); fails with DownloadError when no data arrives for stall_s, StorageError
        on a full quota; with http_cache the browser's HTTP cache keeps the answer too (the runtime binary)
    async read_body(body, start=None, end=None) -> bytes
    async discard(body): a downloaded body that will not be stored
    async open_store(name, schema) -> store with write(puts, deletes) (a record's "data" may be a Body
        or bytes), get(store, key), get_body(store, key), get_all(store, index=None, prefix=())
    RUNTIME_BINARY: whether sessions need ONNX Runtime Web's WASM binary (CPython's onnxruntime does not)
    init_runtime(wasm: Body | None, url: str, num_threads: int, warmup: bytes, sha256: str) -> Awaitable[None]:
        the browser only; posted to the runtime's worker by the call itself, which compiles the binary from `url`
        (the browser keeps a code cache for that) or else from `wasm`, its cached copy (None: there is none yet;
        then from the network, as its copy downloads), and runs it only if it has that sha256 (an
        IntegrityError otherwise); `warmup` is a graph whose session starts the runtime
        (compiles its WASM, starts its threads) ahead of the model's
    runtime_running() -> bool: the browser only; whether the runtime init_runtime started is still up (its
        worker can fail later, taking its sessions along)
    runtime_wasm_source() -> str | None: the browser only; what the started runtime's WASM was compiled from,
        "network", "http-cache" or "cached-copy" (None before it started)
    async create_session(model: Body | bytes, num_threads, external={graph name: Body}, optimize=True) -> session
        with input_names, output_names, async run(feeds) -> dict[str, ndarray], release(); `optimize`: ONNX
        Runtime Web's graph optimizations (tasks.Task.optimizes; the CPython platform always optimizes)
    async load_gguf(body, params) -> a wllama model with info, async complete(params) (llama-server's streamed
        chunks) and release(); under CPython an OptionsError naming the backend (no llama.cpp there)
    cores() -> int: the cores this host reports (ONNX Runtime's threads are clamped to it)
    async load_packages(names) -> None: packages Pyodide ships but does not load at boot (Pillow); in the browser,
        one the memory snapshot imported (numpy) has its files unpacked when an import first needs one
    async page_blob(value) -> bytes or None: a page's Blob/File (nothing under CPython)
    async page_image(value) -> encoded bytes, (width, height, rgba bytes), or None: a page's
        Blob or ImageData (nothing under CPython)
"""

import importlib
import sys
from typing import Any

from .common import Body, Download, Response

IN_BROWSER = sys.platform == "emscripten"

RUNTIME_BINARY = IN_BROWSER

_IMPLEMENTED = ("cores", "create_session", "discard", "download", "fetch", "load_gguf", "load_packages", "open_store",
                "page_blob", "page_image", "read_body")
_BROWSER_ONLY = ("init_runtime", "runtime_running", "runtime_wasm_source")
_PROVIDED = _IMPLEMENTED + (_BROWSER_ONLY if IN_BROWSER else ())


def __getattr__(name: str) -> Any:
    """The implementation is imported at its first use, not with this package: the browser's binds JavaScript as
    it is imported, which a memory snapshot cannot hold, and the modules that use it (the engine, the cache, the
    pipelines' loading) are in the engine host's snapshot (tools/vendor.py) because they import only this."""
    if name not in _PROVIDED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    implementation = importlib.import_module(".browser" if IN_BROWSER else ".cpython", __name__)
    for found in _PROVIDED:
        globals()[found] = getattr(implementation, found)
    return globals()[name]


__all__ = ["IN_BROWSER", "RUNTIME_BINARY", "Body", "Download", "Response", *_IMPLEMENTED, *_BROWSER_ONLY]
