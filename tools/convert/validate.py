"""Every produced file against the PyTorch model on the same sample batch: drift per mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .tasks import Head

FP32_TOLERANCE = 1e-4
FP32_RELATIVE_TOLERANCE = 1e-5


def fp32_tolerance(scale: float) -> float:
    """How far the fp32 export may be from PyTorch's float32 run, for an output whose largest magnitude
    (over the checked real positions) is `scale`: max(1e-4, 1e-5 * scale).

    Float32 rounding grows with the size of the values and with depth, so an absolute bound alone fails
    big, deep models for no fault of the export. Measured on the converter's own samples (PyTorch float32
    against the same model in float64, and onnxruntime against PyTorch float32, relative to `scale`):

        model                     scale   |torch32-torch64|   |ort-torch32|
        all-MiniLM-L6-v2           5.9      3.1e-7              4.0e-7
        categorium/topics-en      11.3      1.2e-7              1.1e-7
        tiny BERT / RoBERTa QA     3.2      2.0e-7 / 1.4e-7     1.5e-7 / 3.0e-7
        tiny Llama / Qwen2         0.5      3.1e-7 / 2.6e-7     2.9e-7 / 2.6e-7
        SmolLM2-135M (30 layers)  32.3      2.3e-6              3.5e-6   (1.12e-4 absolute)

    A correct export stays within about twice PyTorch's own float32 error of PyTorch (ratio 0.7-2.2
    above). SmolLM2's massive activations (residual norms near 25000 at the first position) make its
    float32 error ten times that of the small models; 1e-5 of the scale is three times what it shows,
    and the absolute 1e-4 floor keeps the gate exactly as it was for every output up to magnitude 10
    (all tiny models and MiniLM; categorium's logits, at 11.3, get 1.13e-4 for a drift of 1.2e-6).
    Logits must also pick the same token as PyTorch (see `argmax_mismatches`).
    """
    return max(FP32_TOLERANCE, FP32_RELATIVE_TOLERANCE * scale)


def argmax_mismatches(got: np.ndarray, want: np.ndarray) -> int:
    """Rows (real positions) whose best logit differs from PyTorch's, where PyTorch's best two are further
    apart than the fp32 tolerance (closer than that, float32 rounding alone may swap them)."""
    if want.shape[-1] < 2:
        return 0
    want = want.reshape(-1, want.shape[-1]).astype(np.float64)
    got = got.reshape(-1, got.shape[-1])
    top_two = np.sort(want, axis=-1)[:, -2:]
    clear = (top_two[:, 1] - top_two[:, 0]) > fp32_tolerance(float(np.max(np.abs(want))))
    return int(np.sum(clear & (got.argmax(axis=-1) != want.argmax(axis=-1))))


def fp32_failures(row: dict) -> list[str]:
    """Why the fp32 file fails the gate (empty when it passes): per output, the scale-aware bound of
    `fp32_tolerance` and, for logits, the same argmax at every real position."""
    failures = []
    for name, output in row["outputs"].items():
        bound = fp32_tolerance(output["max_abs_reference"])
        if output["max_abs_diff"] > bound:
            failures.append(f"{name} differs from PyTorch by {output['max_abs_diff']:.2e} > {bound:.2e} "
                            f"(max(1e-4, 1e-5 x its largest magnitude {output['max_abs_reference']:.3g}))")
        if output.get("argmax_mismatches"):
            failures.append(f"{name}: another best token than PyTorch at {output['argmax_mismatches']} position(s)")
    return failures


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
                             "min_cosine": _cosine(a, b),
                             "max_abs_reference": max(float(np.max(np.abs(y))) for y in b)}
            if name == "logits":
                outputs[name]["argmax_mismatches"] = sum(argmax_mismatches(x, y) for x, y in zip(a, b))
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
                row = outputs.setdefault(name, {"max_abs_diff": 0.0, "min_cosine": 1.0, "max_abs_reference": 0.0})
                row["max_abs_diff"] = max(row["max_abs_diff"], float(np.max(np.abs(a - b))))
                row["min_cosine"] = min(row["min_cosine"], _cosine(list(a), list(b)))
                row["max_abs_reference"] = max(row["max_abs_reference"], float(np.max(np.abs(b))))
                if name == "logits":  # top-1 agreement: the share of real positions whose best token is PyTorch's
                    row["argmax_mismatches"] = row.get("argmax_mismatches", 0) + argmax_mismatches(a, b)
                    same, count = row.pop("_same", 0) + int(np.sum(a.argmax(-1) == b.argmax(-1))), \
                        row.pop("_count", 0) + len(a)
                    row.update(_same=same, _count=count, top1_agreement=same / count)
        for row in outputs.values():
            row.pop("_same", None), row.pop("_count", None)
        report[mode] = {"size_bytes": path.stat().st_size, "outputs": outputs,
                        "max_abs_diff": max(o["max_abs_diff"] for o in outputs.values()),
                        "min_cosine": min(o["min_cosine"] for o in outputs.values())}
        if "logits" in outputs:
            report[mode]["top1_agreement"] = outputs["logits"]["top1_agreement"]
    return report


def print_report(model_id: str, report: dict[str, dict]) -> None:
    print(f"validation of {model_id} against PyTorch (sample batch, real tokens only)")
    print(f"{'mode':<8} {'size MB':>9} {'max abs diff':>13} {'min cosine':>11} {'top-1':>6}")
    for mode, row in report.items():
        top1 = f"{row['top1_agreement']:>6.3f}" if "top1_agreement" in row else ""
        print(f"{mode:<8} {row['size_bytes'] / 1e6:>9.2f} {row['max_abs_diff']:>13.2e} "
              f"{row['min_cosine']:>11.6f} {top1}")
