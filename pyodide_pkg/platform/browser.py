"""Browser implementation: fetch, OPFS file bodies with IndexedDB records, ONNX Runtime Web, via ml_bridge.

A body is a JsProxy of the body file's FileSystemFileHandle: Python passes it along and never reads a model."""

from __future__ import annotations

import asyncio
import importlib
import importlib.abc
import json
import site
import sys
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable

import ml_bridge  # registered by web/engine.mjs before this package is imported
from js import AbortSignal, Object, Uint8Array
from js import fetch as js_fetch
from pyodide import _package_loader
from pyodide.ffi import JsException, JsProxy, create_proxy, to_js

from ..errors import BackendError, DownloadError, IntegrityError, MLError, StorageError
from . import zip_imports
from .common import BLOB_FIELD, Body, Download, ProgressCallback, Response, deferred_library

if TYPE_CHECKING:
    import numpy as np


def js_object(value: Any) -> Any:
    return to_js(value, dict_converter=Object.fromEntries)


def to_uint8(data: bytes) -> Any:
    array = Uint8Array.new(len(data))
    array.assign(data)
    return array


async def fetch(url: str, method: str = "GET", timeout_s: float | None = None) -> Response:
    """For small bodies Python reads (settings, images by URL) and HEAD; model files use download()."""
    init: dict[str, Any] = {"method": method}
    if timeout_s:
        init["signal"] = AbortSignal.timeout(int(timeout_s * 1000))
    try:
        raw = await js_fetch(url, js_object(init))
        headers = {str(pair[0]).lower(): str(pair[1]) for pair in raw.headers.entries()}
        body = b"" if method == "HEAD" else (await raw.arrayBuffer()).to_bytes()
    except JsException as error:
        raise DownloadError(f"could not reach {url}: {error}") from None
    return Response(url, int(raw.status), headers, body)


def _failure(error: JsException, what: str, kind: type[MLError]) -> MLError:
    """A JS error as ours, by its name: a full quota is a StorageError wherever it happens."""
    if getattr(error, "name", "") == "QuotaExceededError":
        return StorageError(f"{what}: the browser's storage quota for this site is used up ({error}); free space "
                            "with deleteModels or the site's settings and try again")
    return kind(f"{what}: {error}")


async def download(url: str, on_progress: ProgressCallback | None = None, timeout_s: float | None = None,
                   stall_s: float | None = None, http_cache: bool = False) -> Download:
    progress = create_proxy(on_progress) if on_progress else None
    try:
        found = await ml_bridge.download(url, int(timeout_s * 1000) if timeout_s else 0,
                                         int(stall_s * 1000) if stall_s else 0, progress, http_cache)
    except JsException as error:
        raise _failure(error, f"could not download {url}", DownloadError) from None
    finally:
        if progress is not None:
            progress.destroy()
    return Download(url, int(found.status), json.loads(found.headers), int(found.size),
                    found.sha256 or None, found.body)


async def read_body(body: Body, start: int | None = None, end: int | None = None) -> bytes:
    if isinstance(body, (bytes, bytearray)):
        return bytes(body[start:end])
    return (await ml_bridge.readBody(body, start, end)).to_bytes()


async def discard(body: Body) -> None:
    """A download that will not be stored (it failed a check): its file goes now."""
    await ml_bridge.discard(body)


class IndexedDBStore:
    def __init__(self, db: Any) -> None:
        self.db = db

    async def write(self, puts: list[tuple], deletes: list[tuple[str, Any]]) -> None:
        """`puts` are (store, record) or (store, record, {"union": [fields], "existing": bool}): see merged()."""
        ops, bodies = [], []
        for store, key in deletes:
            ops.append({"op": "delete", "store": store, "key": key})
        for store, record, *how in puts:
            record = dict(record)
            body = record.pop(BLOB_FIELD, None)
            op = {"op": "put", "store": store, "value": record, "body": None, **(how[0] if how else {})}
            if body is not None:
                op["body"] = len(bodies)
                bodies.append(to_uint8(body) if isinstance(body, (bytes, bytearray)) else body)
            ops.append(op)
        try:
            await ml_bridge.idbWrite(self.db, json.dumps(ops), to_js(bodies))
        except JsException as error:
            files = [str(op["value"].get("id")) for op in ops if op.get("body") is not None]
            raise _failure(error, f"could not store {', '.join(files) or 'the cache records'}", StorageError) from None

    async def get(self, store: str, key: Any) -> dict | None:
        found = await ml_bridge.idbGetJson(self.db, store, json.dumps(key))
        return json.loads(found)

    async def get_body(self, store: str, key: Any) -> Body | None:
        return await ml_bridge.idbGetBody(self.db, store, json.dumps(key))

    async def get_all(self, store: str, index: str | None = None, prefix: tuple = ()) -> list[dict]:
        found = await ml_bridge.idbGetAllJson(self.db, store, index, json.dumps(list(prefix)))
        return json.loads(found)


async def open_store(name: str, schema: dict[str, Any]) -> IndexedDBStore:
    return IndexedDBStore(await ml_bridge.idbOpen(name, json.dumps(schema)))


# The page's createEngine call being served (its JSON): sessions made for it are named in the plan its next
# call replays while the host boots (web/bridge.mjs, warm starts).
start_call: ContextVar[str | None] = ContextVar("start_call", default=None)


async def replaying(start: str) -> bool:
    return bool(await ml_bridge.replaying(start))


async def end_start(start: str, succeeded: bool) -> None:
    """Awaited, so the call's plan is written before createEngine answers: a reload right after found none."""
    await ml_bridge.endStart(start, succeeded)


def init_runtime(wasm: Body | None, url: str, num_threads: int, warmup: bytes, sha256: str) -> Awaitable[None]:
    """Posted to the runtime's worker by the call itself, which compiles the binary from `url` (or, failing
    that, from `wasm`, its cached copy; with no copy yet, from the network) and checks its sha256 off this thread
    before it runs it; the result says when the start is done."""
    started = ml_bridge.ortInit(wasm, url, num_threads, to_uint8(warmup) if warmup else None, sha256)

    async def done() -> None:
        try:
            await started
        except JsException as error:
            if getattr(error, "name", "") == "IntegrityError":
                raise IntegrityError(str(getattr(error, "message", error))) from None
            raise BackendError(f"ONNX Runtime Web could not start: {error}") from None
    return done()


def runtime_running() -> bool:
    return bool(ml_bridge.ortRunning())


def runtime_wasm_source() -> str | None:
    started = ml_bridge.ortInfo()
    return str(started.wasmFrom) if started else None


class OrtWebSession:
    def __init__(self, session: Any) -> None:
        self.session = session
        self.input_names = list(session.inputNames)
        self.output_names = list(session.outputNames)

    async def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import numpy as np  # the host boots without numpy (web/engine_worker.mjs); a pipeline has loaded it

        names = list(feeds)
        arrays = [np.ascontiguousarray(feeds[n]) for n in names]
        types = [a.dtype.name for a in arrays]
        dims = [list(a.shape) for a in arrays]
        buffers = [to_uint8(a.tobytes()) for a in arrays]
        try:
            out = await ml_bridge.ortRun(self.session, to_js(names), to_js(types), to_js(dims), to_js(buffers))
        except JsException as error:
            raise BackendError(f"ONNX Runtime Web could not run the model: {error}",
                               lost=bool(ml_bridge.ortLost(self.session))) from None
        result = {}
        for name, dtype, shape, data in zip(out.names, out.types, out.dims, out.buffers):
            result[str(name)] = np.frombuffer(data.to_bytes(), dtype=str(dtype)).reshape(list(shape)).copy()
        return result

    def release(self) -> None:
        if self.session is not None:
            ml_bridge.ortRelease(self.session)
            self.session = None


async def create_session(model: Body | bytes, num_threads: int, external: dict[str, Body] | None = None,
                         optimize: bool = True) -> OrtWebSession:
    """`external` maps the names the graph gives its external data files to their bodies."""
    if isinstance(model, (bytes, bytearray)):
        model = to_uint8(model)
    names = list(external or {})
    try:
        return OrtWebSession(await ml_bridge.ortCreateSession(model, to_js(names), to_js([external[n] for n in names]),
                                                              start_call.get(), optimize))
    except JsException as error:
        raise RuntimeError(f"ONNX Runtime Web could not create a session: {error}") from None


def cores() -> int:
    from js import navigator

    return int(navigator.hardwareConcurrency or 1)


PACKAGE_URLS: dict[str, str] = {}  # a Pyodide package's byte-compiled copy (web/engine_worker.mjs)


class _UnpackOnImport(importlib.abc.MetaPathFinder):
    """A package the memory snapshot imported (numpy, tools/vendor.py) came with its modules and its loaded
    libraries, not with its files: those are the host's, not Python's memory. They are unpacked, as Pyodide's
    loader would without loading libraries, when an import first needs one (numpy.random, numpy.fft): unpacking
    numpy held the host's thread 300-400 ms on a fresh profile, and a text task's load needs none of them."""

    def __init__(self, name: str, url: str, wheel: bytes) -> None:
        self.name, self.url, self.wheel = name, url, wheel

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname.partition(".")[0] == self.name:
            self.unpack()
        return None  # the usual finders find it now

    def unpack(self) -> None:
        sys.meta_path.remove(self)
        _package_loader.unpack_buffer(to_uint8(self.wheel), filename=self.url.rpartition("/")[2],
                                      extract_dir=site.getsitepackages()[0], installer="pyodide.loadPackage",
                                      source=self.url)
        importlib.invalidate_caches()


_taking: dict[str, asyncio.Future] = {}


async def _take_imported(name: str) -> None:
    """A package the snapshot imported, listed as loaded; its wheel is fetched now (once however many ask),
    unpacked on a first import that needs its files."""
    import pyodide_js

    async def take() -> None:
        url = PACKAGE_URLS[name]
        response = await fetch(url)
        if not response.ok:
            raise RuntimeError(f"could not load {name}: {url} answered HTTP {response.status}")
        sys.meta_path.insert(0, _UnpackOnImport(name, url, response.body))
        setattr(pyodide_js.loadedPackages, name, url)

    taking = _taking.get(name)
    if taking is None or taking.done() and (taking.cancelled() or taking.exception() is not None):  # again
        taking = _taking[name] = asyncio.ensure_future(take())
    await asyncio.shield(taking)


def _without_deferred_libraries(listed: Any) -> Any:
    """Pyodide's list of a package's shared libraries to load as it installs it, less the deferred ones."""
    return lambda *args: [path for path in listed(*args) if not deferred_library(path)]


_package_loader.get_dynlibs = _without_deferred_libraries(_package_loader.get_dynlibs)
zip_imports.install()


async def load_packages(names: list[str]) -> None:
    import pyodide_js

    def loaded() -> set[str]:  # keys are the distributions' own names ("Pillow" for "pillow")
        return {name.lower() for name in pyodide_js.loadedPackages.to_py()}

    missing = [n for n in names if n.lower() not in loaded()]
    for name in [n for n in missing if n.lower() in sys.modules and n.lower() in PACKAGE_URLS]:
        await _take_imported(name.lower())
        missing.remove(name)
    if missing:
        await pyodide_js.loadPackage(to_js([PACKAGE_URLS.get(n.lower(), n) for n in missing]))
        failed = [n for n in missing if n.lower() not in loaded()]
        if failed:  # loadPackage reports failures to the console, not by raising
            raise RuntimeError(f"Pyodide could not load the package(s) {', '.join(failed)}")


async def page_blob(value: Any) -> bytes | None:
    """A page's Blob (or File) as its bytes; anything else is not one."""
    if isinstance(value, JsProxy) and hasattr(value, "arrayBuffer"):
        return (await value.arrayBuffer()).to_bytes()
    return None


async def page_image(value: Any) -> bytes | tuple[int, int, bytes] | None:
    """A Blob (or File) as its bytes; an ImageData as (width, height, RGBA bytes)."""
    if not isinstance(value, JsProxy):
        return None
    if hasattr(value, "arrayBuffer"):
        return (await value.arrayBuffer()).to_bytes()
    if hasattr(value, "data") and hasattr(value, "width") and hasattr(value, "height"):
        return int(value.width), int(value.height), value.data.to_bytes()
    return None


class WllamaModel:
    """A GGUF model loaded by wllama in the engine host; Python drives each generation chunk by chunk."""

    def __init__(self, loaded: Any) -> None:
        self.loaded = loaded
        self.info = json.loads(str(loaded.info))

    async def complete(self, params: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """llama-server's streamed completion chunks; leaving the loop early aborts the generation."""
        job = ml_bridge.wllamaComplete(self.loaded, json.dumps(params))
        done = False
        try:
            while True:
                try:
                    chunk = await job.next()
                except JsException as error:
                    done = True
                    raise RuntimeError(str(error)) from None
                if chunk is None:
                    done = True
                    return
                yield json.loads(str(chunk))
        finally:
            if not done:
                job.abort()

    def release(self) -> None:
        if self.loaded is not None:
            ml_bridge.wllamaRelease(self.loaded)
            self.loaded = None


async def load_gguf(body: Body, params: dict[str, Any]) -> WllamaModel:
    try:
        return WllamaModel(await ml_bridge.wllamaLoad(body, json.dumps(params)))
    except JsException as error:
        raise RuntimeError(str(error)) from None
