"""The engine host's side of the page protocol, called by web/engine_worker.mjs for every page message.

The page (web/engine.mjs) and the engine host (a dedicated Worker running Pyodide) share no objects:
every call is a message `{id, op, args}` whose answer is the JSON text this module returns, so the
worker's JavaScript only forwards messages. Engines and streams stay here, named by numbers.
"""

from __future__ import annotations

import asyncio
import json
import traceback
from typing import Any, AsyncIterator, Awaitable, Callable

from pyodide.ffi import JsProxy, to_js

from .. import engine as engines
from .. import host_info, platform
from . import browser
from ..errors import MLError, RequestError
from ..results import to_json
from ..pipelines import import_numpy

Post = Callable[[str], None]

_engines: dict[int, engines.Engine] = {}
_handle_of: dict[int, int] = {}  # id(engine) -> handle; _engines keeps each engine alive, so ids are not reused
_streams: dict[int, AsyncIterator[Any]] = {}
_counter = [0]
_post_status: list[Post] = []


def _next() -> int:
    _counter[0] += 1
    return _counter[0]


def _py(value: Any) -> Any:
    return value.to_py() if isinstance(value, JsProxy) else value


def _status_changed(engine: engines.Engine) -> None:
    handle = _handle_of.get(id(engine))
    if handle is not None and _post_status:
        _post_status[0](json.dumps({"handle": handle, "status": engine.status}))


def start(post_status: Post, packages: str = "{}", boot: str = "{}") -> None:
    """Called once at boot: `engine.status` is a synchronous getter on the page, so every status change
    (an idle release included) is pushed to it rather than asked for. `packages` maps Pyodide packages to the
    URLs of their byte-compiled copies (JSON); `boot` is how the host started Python (runtimeInfo's)."""
    browser.PACKAGE_URLS.update(json.loads(packages))
    host_info.BOOT.update(json.loads(boot))
    _post_status[:] = [post_status]
    engines.status_listener = _status_changed


def _handle(engine: engines.Engine) -> dict[str, Any]:
    handle = _handle_of.get(id(engine))
    if handle is None:
        handle = _next()
        _handle_of[id(engine)] = handle
        _engines[handle] = engine
    return {"handle": handle, "engineId": engine.engine_id, "status": engine.status}


def _engine(handle: Any) -> engines.Engine:
    found = _engines.get(handle)
    if found is None:
        raise RequestError(f"no engine with handle {handle!r} in this engine host")
    return found


_holders: dict[int, int] = {}  # handle -> createEngine calls that got it and have not abandoned it


async def _numpy_if_replaying(start: str) -> None:
    """A replayed call's sessions are under way: numpy loads while the settings are fetched. Not on a cold start,
    where numpy's load held this thread while Python read the settings (a fresh profile's engine came ~300 ms
    later); known once the runtime's worker has read the call's plan or found none."""
    if await browser.replaying(start):
        await import_numpy()


async def _create(options: Any, emit: Post | None = None, start: str | None = None) -> dict[str, Any]:
    notify = None
    if emit is not None:
        def notify(notification: dict[str, Any]) -> None:
            emit(json.dumps(notification))
    if start is None:
        made = _handle(await engines.create_engine(options, notify))
    else:
        asyncio.ensure_future(_numpy_if_replaying(start)).add_done_callback(lambda f: f.cancelled() or f.exception())
        browser.start_call.set(start)
        succeeded = False
        try:
            made = _handle(await engines.create_engine(options, notify))
            succeeded = True
        finally:
            await browser.end_start(start, succeeded)
    _holders[made["handle"]] = _holders.get(made["handle"], 0) + 1
    return made


async def _abandon(handle: int) -> None:
    """A caller's createEngine was aborted after the engine was made: it lets go of its hold, and the engine
    closes only when no other caller holds it (one caller's abort never closes another's engine)."""
    _holders[handle] = _holders.get(handle, 1) - 1
    if _holders[handle] <= 0:
        del _holders[handle]
        await _engine(handle).terminate()


async def _run(handle: int, request: Any) -> Any:
    return await _engine(handle).run(request, arrays=True)


async def _stream(handle: int, request: Any) -> int:
    stream_id = _next()
    _streams[stream_id] = _engine(handle).run_with_generator(request)
    return stream_id


async def _stream_next(stream_id: int) -> dict[str, Any]:
    iterator = _streams.get(stream_id)
    if iterator is None:
        raise RequestError(f"stream {stream_id!r} is closed")
    try:
        return {"done": False, "value": await iterator.__anext__()}
    except StopAsyncIteration:
        return {"done": True}


async def _stream_close(stream_id: int) -> None:
    """The page stopped reading (a `break` in for-await) or the stream ended: stop the work, free the engine."""
    iterator = _streams.pop(stream_id, None)
    if iterator is not None:
        await iterator.aclose()


async def _terminate(handle: int) -> None:
    await _engine(handle).terminate()


async def _list_files(query: dict | None = None) -> list[dict]:
    q = query or {}
    return await engines.list_files(q.get("model"), q.get("revision"), q.get("taskName"))


async def _delete_models(query: dict | None = None) -> int:
    q = query or {}
    return await engines.delete_models(q.get("model"), q.get("revision"), q.get("taskName"), q.get("engineId"))


async def _list_engines() -> list[dict[str, Any]]:
    return engines.list_engines()


async def _run_python(code: str, names: dict[str, Any] | None = None) -> Any:
    """What replaces the page's Pyodide object now that Pyodide lives in the worker: code runs in a fresh
    namespace of the engine host (top-level await allowed) and its last expression comes back as JSON."""
    from pyodide.code import eval_code_async

    if not isinstance(code, str):
        raise RequestError("runPython needs Python source text")
    await platform.load_packages(["numpy"])  # page code finds numpy, as it always has
    namespace: dict[str, Any] = {"__name__": "__engine_host__", **(names or {})}
    try:
        value = await eval_code_async(code, globals=namespace)
    except Exception as error:
        raise PythonError(f"{type(error).__name__}: {error}", traceback.format_exc()) from None
    try:
        json.dumps(value)
    except (TypeError, ValueError) as error:
        raise RequestError(f"runPython returns its last expression as JSON, and this one is not: {error}") from None
    return value


class PythonError(MLError):
    """An exception raised by code a page ran with runPython (Pyodide's own name for such errors)."""

    name = "PythonError"

    def __init__(self, message: str, stack: str) -> None:
        super().__init__(message)
        self.stack = stack


async def _describe() -> dict[str, Any]:
    return host_info.describe()


async def _host_memory() -> dict[str, Any]:
    """What this worker can tell of its memory: Pyodide's WebAssembly heap always, and performance.memory
    (Chromium's JS heap, non-standard) where the worker has it."""
    import js
    import pyodide_js

    found: dict[str, Any] = {"wasmHeapBytes": int(pyodide_js._module.HEAPU8.length)}
    memory = getattr(js.performance, "memory", None)
    if memory is not None:
        found.update(jsHeapUsedBytes=int(memory.usedJSHeapSize), jsHeapTotalBytes=int(memory.totalJSHeapSize),
                     jsHeapLimitBytes=int(memory.jsHeapSizeLimit))
    return found


OPS: dict[str, Callable[..., Awaitable[Any]]] = {
    "create": _create, "run": _run, "stream": _stream, "next": _stream_next, "close": _stream_close,
    "terminate": _terminate, "abandon": _abandon, "listModels": engines.list_models, "listFiles": _list_files,
    "deleteModels": _delete_models, "listEngines": _list_engines, "runPython": _run_python,
    "describe": _describe, "resolveOptions": host_info.resolved, "hubDtypes": host_info.hub_dtypes,
    "runtimeInfo": host_info.runtime, "hostMemory": _host_memory, "terminateEngine": engines.terminate_engine,
}


async def call(op: str, args: Any, emit: Any = None, start: str | None = None) -> Any:
    """One page message: `{"ok": true, "value": ...}` or `{"ok": false, "name", "message"}` as JSON text, or,
    when the value holds float arrays, a JS array of that text and the arrays' bytes (results.to_json).

    Every error keeps a name the page can test; one this runtime did not raise on purpose (a bug) is an
    `InternalError` carrying the Python type in its message and the trace in `stack`. `start` names a
    createEngine call (its JSON) for warm starts (platform.browser.start_call)."""
    try:
        handler = OPS.get(op)
        if handler is None:
            raise RequestError(f"the engine host has no operation {op!r}")
        arguments = list(_py(args) or [])
        value = await (handler(*arguments, emit, start) if op == "create" else handler(*arguments))
        text, buffers = to_json({"ok": True, "value": value})
        return to_js([text, *map(browser.to_uint8, buffers)]) if buffers else text
    except PythonError as error:
        return json.dumps({"ok": False, "name": error.name, "message": str(error), "stack": error.stack})
    except MLError as error:
        return json.dumps({"ok": False, "name": error.name, "message": str(error)})
    except Exception as error:
        return json.dumps({"ok": False, "name": "InternalError", "message": f"{type(error).__name__}: {error}",
                           "stack": traceback.format_exc()})
