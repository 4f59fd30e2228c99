"""Task pipelines, one module per task; which module serves which task is in the task table (tasks.py).

A task's module is imported when the task is first used, so the engine host's boot imports none of them
(nor the generation and image code they bring; the tokenizers come with its memory snapshot)."""

from __future__ import annotations

import importlib

from .. import platform
from ..tasks import Task
from .base import Pipeline
from .loading import LoadContext


async def import_numpy() -> None:
    await platform.load_packages(["numpy"])
    importlib.import_module("numpy")


async def load_pipeline(ctx: LoadContext) -> Pipeline:
    """The task's pipeline with its model loaded; it knows its table entry from then on. The engine host boots
    without numpy, which pipelines need: it is imported while the graphs' sessions get under way."""
    task = ctx.task
    try:
        await ctx.start_sessions(meanwhile=import_numpy)
        cls = getattr(importlib.import_module(f".{task.module}", __name__), task.pipeline)
        pipeline = await cls.load(ctx)
    except BaseException:
        ctx.release_sessions()
        raise
    pipeline.spec = task
    return pipeline


__all__ = ["LoadContext", "Pipeline", "Task", "import_numpy", "load_pipeline"]
