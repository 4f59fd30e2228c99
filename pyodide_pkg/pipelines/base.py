"""What every task pipeline shares: running a request and streaming its result (loading is in loading.py)."""

from __future__ import annotations

from typing import Any, AsyncIterator

from .loading import LoadContext


class Pipeline:
    task: str = ""

    @classmethod
    async def load(cls, ctx: LoadContext) -> "Pipeline":
        raise NotImplementedError

    async def __call__(self, args: list[Any], options: dict[str, Any]) -> Any:
        """Each task reads its args and options, runs the model and shapes the result as transformers does."""
        raise NotImplementedError

    async def stream(self, args: list[Any], options: dict[str, Any]) -> AsyncIterator[Any]:
        """Every stream ends with {output: what run returns}; tasks without partial results yield only that."""
        yield {"output": await self(args, options)}

    def release(self) -> None:
        """Free sessions; the base has none."""
