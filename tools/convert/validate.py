"""Every produced file against the PyTorch model on the same sample batch: drift per mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .tasks import Head

FP32_TOLERANCE = 1e-4


def _cosine(rows_a: list[np.ndarray], rows_b: list[np.ndarray]) -> float:
    """The smallest cosine between matching rows (one row per token vector, or per sequence)."""
    worst = 1.0
    for a, b in zip(rows_a, rows_b):
        a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
        denominator = np.linalg.norm(a) * np.linalg.norm(b)
        worst = min(worst, float(a @ b / denominator) if denominator else 1.0)
    return worst


def _rows(value: np.ndarray, mask: np.ndarray, per_token: bool) -> list[np.ndarray]:
    """Token vectors when each token has one; otherwise one row per sequence (real tokens only)."""
    if not per_token:
        return list(value)
    if value.ndim >= 3:
        return list(value[mask])
    return [value[r][mask[r]] for r in range(len(value))]


def reference_outputs(model: Any, head: Head, sample: dict) -> dict[str, np.ndarray]:
    import torch

    with torch.no_grad():
        out = model(**sample)
    return {name: getattr(out, name).numpy() for name in head.outputs}


def validate(reference: dict[str, np.ndarray], head: Head, sample: dict, files: dict[str, Path]) -> dict[str, dict]:
    """Per mode: file size, and per output the max abs diff and the min cosine over real tokens."""
    import onnxruntime

    mask = sample["attention_mask"].numpy().astype(bool)
    feeds = {n: t.numpy() for n, t in sample.items()}
    report = {}
    for mode, path in files.items():
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = dict(zip([o.name for o in session.get_outputs()],
                       session.run(None, {i.name: feeds[i.name] for i in session.get_inputs()})))
        outputs = {}
        for name, want in reference.items():
            a, b = _rows(got[name], mask, head.per_token), _rows(want, mask, head.per_token)
            outputs[name] = {"max_abs_diff": max(float(np.max(np.abs(x - y))) for x, y in zip(a, b)),
                             "min_cosine": _cosine(a, b)}
        report[mode] = {"size_bytes": path.stat().st_size, "outputs": outputs,
                        "max_abs_diff": max(o["max_abs_diff"] for o in outputs.values()),
                        "min_cosine": min(o["min_cosine"] for o in outputs.values())}
    return report


def _decoder_rows(name: str, value: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Vectors at real (unpadded) positions: logits per new token, keys/values per past-or-new token."""
    if name == "logits":
        return value[mask[:, -value.shape[1]:].astype(bool)]
    return value.transpose(0, 2, 1, 3)[mask.astype(bool)].reshape(int(mask.sum()), -1)


def validate_decoder(samples: list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]],
                     files: dict[str, Path]) -> dict[str, dict]:
    """Per mode, over several (feeds, PyTorch outputs) samples with and without past: every output at
    real positions (padded ones are masked out of attention and carry no meaning)."""
    import onnxruntime

    report = {}
    for mode, path in files.items():
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        outputs: dict[str, dict] = {}
        for sample, want in samples:
            got = dict(zip([o.name for o in session.get_outputs()], session.run(None, sample)))
            for name, expected in want.items():
                a = _decoder_rows(name, got[name], sample["attention_mask"])
                b = _decoder_rows(name, expected, sample["attention_mask"])
                row = outputs.setdefault(name, {"max_abs_diff": 0.0, "min_cosine": 1.0})
                row["max_abs_diff"] = max(row["max_abs_diff"], float(np.max(np.abs(a - b))))
                row["min_cosine"] = min(row["min_cosine"], _cosine(list(a), list(b)))
        report[mode] = {"size_bytes": path.stat().st_size, "outputs": outputs,
                        "max_abs_diff": max(o["max_abs_diff"] for o in outputs.values()),
                        "min_cosine": min(o["min_cosine"] for o in outputs.values())}
    return report


def print_report(model_id: str, report: dict[str, dict]) -> None:
    print(f"validation of {model_id} against PyTorch (sample batch, real tokens only)")
    print(f"{'mode':<8} {'size MB':>9} {'max abs diff':>13} {'min cosine':>11}")
    for mode, row in report.items():
        print(f"{mode:<8} {row['size_bytes'] / 1e6:>9.2f} {row['max_abs_diff']:>13.2e} {row['min_cosine']:>11.6f}")
