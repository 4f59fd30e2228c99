"""What the converter reads of the task table (pyodide_pkg/tasks.py): how a task is exported for an
architecture, and the sample inputs our own exports are traced and checked with."""

from __future__ import annotations

from dataclasses import dataclass

from pyodide_pkg.tasks import NAMES, Export, Task, find

SAMPLES = ["Hello world", "The quick brown fox jumps over the lazy dog.",
           "Models run in the browser, privately, with ONNX Runtime Web."]
PAIRS = [("Where do models run?", "Models run in the browser, privately, with ONNX Runtime Web."),
         ("Who jumps?", "The quick brown fox jumps over the lazy dog."), ("Hi", "Hello world")]


@dataclass(frozen=True)
class Head:
    """Our own torch.onnx export of a transformers head class."""

    auto_class: str
    outputs: tuple[str, ...]
    per_token: bool  # outputs have a sequence axis
    pairs: bool = False  # sample inputs are (question, context) pairs
    decoder: bool = False  # causal LM with past key values in, present key values out


def supported(task: str) -> list[str]:
    return sorted({a for e in find(task).exports for a in e.architectures})


def export_for(task: str, model_type: str) -> tuple[Task, Export]:
    """The task's entry and its export for this architecture; unsupported pairs are a ValueError."""
    if task not in NAMES:
        raise ValueError(f"unknown task {task!r}; known: {', '.join(sorted(NAMES))}")
    entry = find(task)
    export = entry.export_for(model_type)
    if export is None:
        raise ValueError(f"task {task!r} is not supported for architecture {model_type!r} "
                         f"(supported: {', '.join(supported(task))})")
    return entry, export


def head(task: str, model_type: str) -> Head | None:
    """Our export's head for this pair, or None when Optimum exports it."""
    entry, export = export_for(task, model_type)
    if not export.auto_class:
        return None
    return Head(export.auto_class, export.outputs or entry.outputs, entry.per_token, export.pairs, export.decoder)
