"""What every task pipeline shares: its table entry, its request options, running a request and streaming
its result (loading is in loading.py)."""

from __future__ import annotations

from typing import Any, AsyncIterator

from ..errors import RequestError
from ..option_rules import check
from ..tasks import Task
from .loading import LoadContext


class Pipeline:
    spec: Task  # set when loaded (pipelines.load_pipeline)

    @property
    def task(self) -> str:
        return self.spec.name

    @classmethod
    async def load(cls, ctx: LoadContext) -> "Pipeline":
        raise NotImplementedError

    def split_request(self, request: Any) -> tuple[list[Any], dict[str, Any]]:
        """A run request's (args, options); a pipeline that takes another request shape reads it here."""
        if not isinstance(request, dict):
            raise RequestError(f"a request is an object {{args, options}}, got {type(request).__name__}")
        unknown = set(request) - {"args", "options"}
        if unknown:
            raise RequestError(f"unknown request field(s): {', '.join(sorted(unknown))}; expected args and options")
        args, options = request.get("args", []), request.get("options") or {}
        if not isinstance(args, list):
            raise RequestError("request.args must be a list")
        if not isinstance(options, dict):
            raise RequestError("request.options must be an object")
        return args, options

    def options(self, options: dict[str, Any]) -> dict[str, Any]:
        """The request's options checked by the task's rules, absent ones at their defaults."""
        return check(self.spec.request_rules, options, self.task, RequestError)

    async def __call__(self, args: list[Any], options: dict[str, Any]) -> Any:
        """Each task reads its args and options, runs the model and shapes the result as transformers does."""
        raise NotImplementedError

    async def stream(self, args: list[Any], options: dict[str, Any]) -> AsyncIterator[Any]:
        """Every stream ends with {output: what run returns}; tasks without partial results yield only that."""
        yield {"output": await self(args, options)}

    def release(self) -> None:
        """Free sessions; the base has none."""
