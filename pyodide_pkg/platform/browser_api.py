"""What web/engine.mjs calls: JS values in, JSON strings out, errors as {name, message}."""

from __future__ import annotations

import json
import traceback
from typing import Any, Awaitable

from js import Object
from pyodide.ffi import JsProxy, to_js

from .. import engine as engines
from ..errors import MLError


def _py(value: Any) -> Any:
    return value.to_py() if isinstance(value, JsProxy) else value


async def _answer(work: Awaitable[Any]) -> str:
    try:
        return json.dumps({"ok": True, "value": await work})
    except MLError as error:
        return json.dumps({"ok": False, "name": error.name, "message": str(error)})
    except Exception as error:  # a bug, not bad input: keep the trace for whoever reports it
        return json.dumps({"ok": False, "name": type(error).__name__, "message": str(error),
                           "stack": traceback.format_exc()})


class EngineHandle:
    """The Python engine as JS sees it."""

    def __init__(self, engine: engines.Engine) -> None:
        self.engine = engine

    @property
    def engine_id(self) -> str:
        return self.engine.engine_id

    def status(self) -> str:
        return self.engine.status

    async def run(self, request: Any) -> str:
        return await _answer(self.engine.run(_py(request)))

    def stream(self, request: Any) -> "StreamHandle":
        return StreamHandle(self.engine.run_with_generator(_py(request)))

    async def terminate(self) -> str:
        return await _answer(self.engine.terminate())


class StreamHandle:
    def __init__(self, iterator: Any) -> None:
        self.iterator = iterator

    async def next(self) -> str:
        async def step() -> dict[str, Any]:
            try:
                return {"done": False, "value": await self.iterator.__anext__()}
            except StopAsyncIteration:
                return {"done": True}
        return await _answer(step())

    async def close(self) -> None:
        """The page stopped reading (a `break` in for-await): stop the work and free the engine."""
        await self.iterator.aclose()


async def create_engine(options: Any, callback: Any = None) -> Any:
    notify = None
    if callback is not None:
        def notify(notification: dict[str, Any]) -> None:
            callback(to_js(notification, dict_converter=Object.fromEntries))

    holder: dict[str, EngineHandle] = {}

    async def work() -> str:
        engine = await engines.create_engine(_py(options), notify)
        holder["handle"] = EngineHandle(engine)
        return engine.engine_id

    answer = await _answer(work())
    return [answer, holder.get("handle")]


async def list_models() -> str:
    return await _answer(engines.list_models())


async def list_files(query: Any) -> str:
    q = _py(query) or {}
    return await _answer(engines.list_files(q.get("model"), q.get("revision"), q.get("taskName")))


async def delete_models(query: Any) -> str:
    q = _py(query) or {}
    return await _answer(engines.delete_models(q.get("model"), q.get("revision"), q.get("taskName"), q.get("engineId")))


def list_engines() -> str:
    return json.dumps({"ok": True, "value": engines.list_engines()})
