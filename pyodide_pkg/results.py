"""A result's float vectors stay numpy float32 arrays until they reach their caller, in the caller's form.

Python callers get lists, as transformers' pipelines give them. The page gets JSON text with each array moved
beside it as bytes: written as JSON numbers, 20 embeddings of 384 floats took Pyodide 5.8 ms, about 4% of the
whole run.
"""

from __future__ import annotations

import json
from typing import Any

ARRAY = "$float32"  # {ARRAY: index of its bytes, "shape": [...]}, which web/engine.mjs revives as nested arrays


def is_array(value: Any) -> bool:
    """A numpy array or scalar, told without importing numpy (the engine host boots without it)."""
    return hasattr(value, "dtype") and hasattr(value, "tolist")


def as_lists(value: Any) -> Any:
    """Arrays anywhere in lists and dicts, as (nested) lists of Python numbers."""
    if isinstance(value, list):
        return [as_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: as_lists(v) for k, v in value.items()}
    return value.tolist() if is_array(value) else value


def to_json(value: Any) -> tuple[str, list[bytes]]:
    """JSON text, and the little-endian bytes of each float32 array it names in place of its numbers."""
    buffers: list[bytes] = []

    def moved(item: Any) -> Any:
        if not is_array(item):
            raise TypeError(f"Object of type {type(item).__name__} is not JSON serializable")
        if item.dtype.name != "float32" or item.ndim == 0:
            return item.tolist()
        buffers.append(item.astype("<f4", copy=False).tobytes())
        return {ARRAY: len(buffers) - 1, "shape": list(item.shape)}
    return json.dumps(value, default=moved), buffers
