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
