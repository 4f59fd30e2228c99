"""Graphs over protobuf's 2 GB limit keep their weights in `<graph>.onnx_data` beside them, as Transformers.js'
converter writes them, and config.json declares them (transformers.js_config.use_external_data_format per
file), so Transformers.js fetches them too; our runtime also finds them from the graph itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LIMIT = 2 * 1024**3 - 64 * 1024**2  # protobuf refuses messages of 2 GiB; the graph's nodes need room too
INLINE_UNDER = 1024  # small tensors stay in the graph, as onnx's own default does


def weight_bytes(model: Any) -> int:
    return sum(t.ByteSize() for t in model.graph.initializer)


def save_graph(model: Any, path: Path, limit: int | None = None) -> bool:
    """onnx.save, with external data when the weights pass `limit`; True when they were put outside."""
    import onnx

    if weight_bytes(model) <= (LIMIT if limit is None else limit):
        onnx.save(model, str(path))
        return False
    data = path.with_name(path.name + "_data")
    data.unlink(missing_ok=True)  # onnx appends to an existing file
    onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location=data.name,
              size_threshold=INLINE_UNDER)
    return True


def package(work: Path, limit: int | None = None) -> list[str]:
    """The published folder's graphs, each in one piece or with one data file; returns those with data."""
    import onnx
    from onnx.external_data_helper import uses_external_data

    outside = []
    for path in sorted((work / "onnx").glob("*.onnx")):
        graph = onnx.load(str(path), load_external_data=False)
        if not any(uses_external_data(t) for t in graph.graph.initializer) and path.stat().st_size <= \
                (LIMIT if limit is None else limit):
            continue
        model = onnx.load(str(path))  # whatever the exporter wrote (torch writes a file per tensor), read whole
        previous = {e.value for t in graph.graph.initializer for e in t.external_data if e.key == "location"}
        if save_graph(model, path, limit):
            outside.append(path.name)
        for name in previous - {path.name + "_data"}:
            (path.parent / name).unlink(missing_ok=True)
    if outside:
        config_path = work / "config.json"
        config = json.loads(config_path.read_text())
        declared = config.setdefault("transformers.js_config", {}).setdefault("use_external_data_format", {})
        declared.update({name: True for name in outside})
        config_path.write_text(json.dumps(config, indent=2) + "\n")
    return outside
