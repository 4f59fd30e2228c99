"""PyTorch checkpoint → one fp32 ONNX file with dynamic batch and sequence axes.

torch's legacy (TorchScript) exporter writes one self-contained file; the dynamo exporter puts
weights in a `.onnx.data` side file, which the browser loader would need to fetch separately.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from .external import save_graph
from .tasks import Head

MAX_IR_VERSION = 13  # onnxruntime-web 1.30 rejects newer IR versions
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def named_outputs(model: Any, head: Head, names: list[str]):
    """The model as a module taking positional inputs and returning the head's outputs as a tuple."""
    import torch

    class Wrapper(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors):
            out = self.model(**dict(zip(names, tensors)))
            return tuple(getattr(out, name) for name in head.outputs)

    return Wrapper().eval()


def load(source: Path, head: Head):
    import transformers

    model = getattr(transformers, head.auto_class).from_pretrained(source).eval()
    accepted = inspect.signature(model.forward).parameters
    return model, [n for n in INPUTS if n in accepted]


def sample_batch(tokenizer: Any, head: Head, names: list[str], texts, pairs):
    batch = tokenizer(*zip(*pairs), return_tensors="pt", padding=True) if head.pairs else \
        tokenizer(texts, return_tensors="pt", padding=True)
    return {n: batch[n] for n in names if n in batch}


def export_fp32(model: Any, head: Head, names: list[str], sample: dict, path: Path, opset: int) -> list[str]:
    import torch

    used = [n for n in names if n in sample]
    axes = {n: {0: "batch_size", 1: "sequence_length"} for n in used}
    for name in head.outputs:
        axes[name] = {0: "batch_size", 1: "sequence_length"} if head.per_token else {0: "batch_size"}
    with torch.no_grad():
        torch.onnx.export(named_outputs(model, head, used), tuple(sample[n] for n in used), str(path), input_names=used,
                          output_names=list(head.outputs), dynamic_axes=axes, opset_version=opset, dynamo=False)
    cap_ir_version(path)
    return used


def cap_ir_version(path: Path) -> None:
    import onnx

    model = onnx.load(str(path))
    if model.ir_version > MAX_IR_VERSION:
        model.ir_version = 9
        save_graph(model, path)
