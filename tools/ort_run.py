"""Run ONNX graphs with onnxruntime on saved feeds, one row at a time: the program the tests and the
quantization bench start under `qemu-x86_64 -cpu Haswell-v4` to see what a CPU without AVX-512 or
VNNI computes, next to the same program run natively.

    python -m tools.ort_run FEEDS.npz OUT.npz MODEL.onnx [MODEL.onnx ...]

FEEDS.npz holds `<row>.<input name>` arrays; OUT.npz gets `<model stem>.<row>` = the first output.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def main(argv: list[str]) -> int:
    import onnxruntime

    feeds_path, out_path, *models = argv
    stored = np.load(feeds_path)
    rows: dict[str, dict[str, np.ndarray]] = {}
    for key in stored.files:
        row, name = key.split(".", 1)
        rows.setdefault(row, {})[name] = stored[key]
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    results = {}
    for model in models:
        session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        wanted = {i.name for i in session.get_inputs()}
        for row, feeds in rows.items():
            results[f"{Path(model).stem}.{row}"] = session.run(None, {k: v for k, v in feeds.items() if k in wanted})[0]
    np.savez(out_path, **results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
