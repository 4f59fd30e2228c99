"""Engines: one per engineId, built from resolved options, released after an idle timeout."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any, AsyncIterator, Callable
from urllib.parse import urljoin

from . import platform
from . import settings as remote_settings
from .cache import Cache
from .errors import BackendError, EngineClosedError, OptionsError, SettingsError
from .hub import ModelHub, is_loopback
from .model_files import FileSource
from .options import PipelineOptions, check_caller_options, merge, record_options
from .pipelines import LoadContext, Pipeline, load_pipeline
from .progress import DONE, INITIATE, RUNNING_INFERENCE, Notify
from .results import as_lists
from .runtime import ensure_runtime
from .tasks import find as find_task
from .tasks import for_backend

UNINITIALIZED, READY, ERROR, CLOSED = "uninitialized", "ready", "error", "closed"

_engines: dict[str, "Engine"] = {}
_pending: dict[str, tuple[PipelineOptions | dict, asyncio.Future]] = {}

status_listener: Callable[["Engine"], None] | None = None
"""Told of every status change; the browser engine host forwards it to the page, where status is synchronous."""


class Engine:
    def __init__(self, options: PipelineOptions, notify: Notify | None, notes: list[str] | None = None) -> None:
        self.options = options
        self.notify = notify
        self.notes = notes or []  # what was adjusted in the options, e.g. numThreads clamped
        self.status = UNINITIALIZED
        self.pipeline: Pipeline | None = None
        self.closed_reason = ""
        self._timer: asyncio.TimerHandle | None = None
        self._deadline = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._busy = 0
        self.runs_served = 0  # requests that ended, with a result or an error (the Engines tab shows it)

    @property
    def status(self) -> str:
        return self._status

    @status.setter
    def status(self, value: str) -> None:
        self._status = value
        if status_listener is not None:
            status_listener(self)

    @property
    def engine_id(self) -> str:
        return self.options.engineId

    async def _start(self, allow_deny: list[dict], runtime_records: list[dict], cache: Cache) -> None:
        o = self.options
        task = for_backend(find_task(o.taskName), o.backend)
        hub = ModelHub.allowed_by(o.modelHubRootUrl, o.modelHubUrlTemplate, allow_deny)
        files = FileSource(hub, cache, allow_deny, o.taskName, o.engineId, self.notify)
        for model, revision in {o.model_repo, o.tokenizer_repo, o.processor_repo}:
            hub.file_url(model, revision, "config.json")  # validates before anything is fetched
        starting = asyncio.Event()
        runtime = asyncio.ensure_future(ensure_runtime(runtime_records, cache, o.numThreads, self.notify, starting)
                                        if o.backend == "onnx" else asyncio.sleep(0))  # wllama brings its own
        try:
            self.pipeline = await load_pipeline(LoadContext(o, files, task, runtime, starting))
        finally:
            await asyncio.wait([runtime])  # its cache writes end before the engine reports either way
            failure = runtime.exception()  # taken here even when the load's own error is the one raised
        if failure is not None:
            raise failure
        if o.modelRevision != "main":
            await cache.delete_models(task=o.taskName, model=o.modelId, keep_revision=o.modelRevision)
        self.status = READY
        self._arm_timer()

    def _arm_timer(self) -> None:
        if self._timer:
            self._timer.cancel()
            self._timer = None
        if self.options.timeoutMS >= 0 and self.status == READY:
            loop = asyncio.get_event_loop()
            self._timer = loop.call_later(self.options.timeoutMS / 1000, self._idle)
            self._deadline = loop.time() + self.options.timeoutMS / 1000  # Pyodide's timer handles have no when()
            self._loop = loop

    def _idle(self) -> None:
        if self._busy:
            self._arm_timer()
            return
        self._close(f"engine {self.engine_id!r} was released after {self.options.timeoutMS} ms idle (timeoutMS); "
                    "create it again with createEngine")

    def _close(self, reason: str) -> None:
        if self._timer:
            self._timer.cancel()
            self._timer = None
        if self.pipeline:
            self.pipeline.release()
            self.pipeline = None
        self.status = CLOSED
        self.closed_reason = reason
        if _engines.get(self.engine_id) is self:
            del _engines[self.engine_id]

    def _close_if_lost(self, error: BackendError) -> None:
        """A backend whose worker is gone took this engine's sessions with it; a new engine gets a new worker."""
        if error.lost:
            self._close(f"engine {self.engine_id!r} was closed because its backend stopped: {error}")

    def _check_open(self) -> Pipeline:
        if self.status != READY or self.pipeline is None:
            raise EngineClosedError(self.closed_reason or f"engine {self.engine_id!r} is {self.status}")
        return self.pipeline

    def _notify_inference(self, status: str, ok: bool = True) -> None:
        if self.notify:
            o = self.options
            self.notify({"type": RUNNING_INFERENCE, "statusText": status, "id": o.engineId, "ok": ok,
                         "progress": None, "totalLoaded": None, "currentLoaded": None, "total": None,
                         "units": None, "metadata": {"model": o.modelId, "revision": o.modelRevision,
                                                     "file": None, "url": None, "taskName": o.taskName}})

    async def run(self, request: dict[str, Any], arrays: bool = False) -> Any:
        """The pipeline's result, its float vectors as lists (transformers' form), or as the numpy arrays they
        are with `arrays` (the page's protocol moves those as bytes: results.py)."""
        pipeline = self._check_open()
        args, options = pipeline.split_request(request)
        self._busy += 1
        self._notify_inference(INITIATE)
        ok = False
        try:
            result = await pipeline(args, options)
            ok = True
            return result if arrays else as_lists(result)
        except BackendError as error:
            self._close_if_lost(error)
            raise
        finally:
            self._busy -= 1
            self.runs_served += 1
            self._notify_inference(DONE, ok)
            self._arm_timer()

    async def run_with_generator(self, request: dict[str, Any]) -> AsyncIterator[Any]:
        pipeline = self._check_open()
        args, options = pipeline.split_request(request)
        self._busy += 1
        try:
            async for piece in pipeline.stream(args, options):
                yield piece
        except BackendError as error:
            self._close_if_lost(error)
            raise
        finally:
            self._busy -= 1
            self.runs_served += 1
            self._arm_timer()

    async def terminate(self) -> None:
        self._close(f"engine {self.engine_id!r} was terminated")

    @property
    def idle_ms_left(self) -> int | None:
        """Milliseconds until the idle release; None when none is due (busy, never released, or closed)."""
        if self._timer is None or self._busy:
            return None
        return max(0, round((self._deadline - self._loop.time()) * 1000))

    def describe(self) -> dict[str, Any]:
        o = self.options
        return {"engineId": self.engine_id, "status": self.status, "taskName": o.taskName, "modelId": o.modelId,
                "modelRevision": o.modelRevision, "dtype": o.dtype, "device": o.device, "numThreads": o.numThreads,
                "timeoutMS": o.timeoutMS, "idleMsLeft": self.idle_ms_left, "busy": self._busy > 0,
                "runsServed": self.runs_served, "notes": self.notes}


async def resolve_options(options: Any) -> tuple[PipelineOptions, list[dict], list[dict]]:
    """Caller options over the settings record; also returns the allow/deny and runtime collections."""
    caller = check_caller_options(options)
    base = caller.get("settingsBaseUrl") or None  # none: the collections bundled with the package
    names = (remote_settings.INFERENCE_OPTIONS, remote_settings.ALLOW_DENY, remote_settings.ONNX_RUNTIME)
    records, allow_deny, runtime = await asyncio.gather(  # fetched at once; failures surface in this order
        *(remote_settings.load_collection(base, name) for name in names), return_exceptions=True)
    for found in (records, allow_deny, runtime):
        if isinstance(found, BaseException):
            raise found
    record = remote_settings.find_record(records, caller.get("featureId"), caller.get("taskName"))
    if caller.get("featureId") and not record and not caller.get("taskName"):
        raise SettingsError(f"featureId {caller['featureId']!r} has no record in ml-inference-options")
    merged = merge(record_options(record, remote_settings.INFERENCE_OPTIONS) if record else {}, caller)
    if merged.modelHubRootUrl is None:
        if base is None:
            raise OptionsError(f"no modelHubRootUrl for model {merged.modelId!r}: without settingsBaseUrl the bundled "
                               "settings name no hub (theirs is beside the page); pass modelHubRootUrl")
        merged = replace(merged, modelHubRootUrl=urljoin(base.rstrip("/") + "/", "../hub"))
    if base is None and is_loopback(merged.modelHubRootUrl):  # the bundled list's own hub is the page's
        allow_deny.append({"id": "loopback-hub", "filter": "ALLOW", "urlPrefix": merged.modelHubRootUrl.rstrip("/") + "/"})
    return merged, allow_deny, runtime


def within_host(options: PipelineOptions) -> tuple[PipelineOptions, list[str]]:
    """Options the host cannot honour, brought within it and said so (a million threads would freeze it)."""
    cores = platform.cores()
    if options.numThreads > cores:
        return replace(options, numThreads=cores), [f"numThreads {options.numThreads} was clamped to {cores}, "
                                                    "the cores this host reports"]
    return options, []


async def create_engine(options: Any, notifications_callback: Callable[[dict], None] | None = None) -> Engine:
    """One engine per engineId: concurrent calls share it, other options replace it. The cache opens beside
    the settings' fetch (on a fresh profile its IndexedDB open and sweep took ~60 ms after it)."""
    opening = asyncio.ensure_future(Cache.open())
    # its failure is seen even when a call returns before it awaits it (an engine already made)
    opening.add_done_callback(lambda future: future.cancelled() or future.exception())
    resolved, allow_deny, runtime = await resolve_options(options)
    resolved, notes = within_host(resolved)
    engine_id = resolved.engineId
    current = _engines.get(engine_id)
    if current and current.options == resolved and current.status == READY:
        current._arm_timer()
        return current
    pending = _pending.get(engine_id)
    if pending and pending[0] == resolved:
        return await asyncio.shield(pending[1])
    if pending:
        try:
            await asyncio.shield(pending[1])
        except Exception:
            pass
        return await create_engine(options, notifications_callback)
    future: asyncio.Future = asyncio.get_event_loop().create_future()
    _pending[engine_id] = (resolved, future)
    try:
        if current:
            await current.terminate()
        engine = Engine(resolved, notifications_callback, notes)
        try:
            await engine._start(allow_deny, runtime, await opening)
        except Exception:
            engine.status = ERROR
            raise
        _engines[engine_id] = engine
        future.set_result(engine)
        return engine
    except Exception as error:
        future.set_exception(error)
        future.exception()  # a failure nobody else awaits is still reported through this call
        raise
    finally:
        del _pending[engine_id]


async def terminate_engine(engine_id: str) -> bool:
    """Ends an engine by its engineId, for a page listing engines it holds no handle of; False if none is open."""
    found = _engines.get(engine_id)
    if found is None:
        return False
    await found.terminate()
    return True


def list_engines() -> list[dict[str, Any]]:
    return [e.describe() for e in _engines.values()]


async def list_models() -> list[dict[str, Any]]:
    return await (await Cache.open()).list_models()


async def list_files(model: str | None = None, revision: str | None = None, task: str | None = None) -> list[dict]:
    return await (await Cache.open()).list_files(model=model, revision=revision, task=task)


async def delete_models(model: str | None = None, revision: str | None = None, task: str | None = None,
                        engine_id: str | None = None) -> int:
    return await (await Cache.open()).delete_models(model=model, revision=revision, task=task, engine_id=engine_id)
