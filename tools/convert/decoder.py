"""Decoder-only causal LMs as one `model.onnx` with past key values (the Transformers.js layout).

Inputs `input_ids`, `attention_mask` (past + new tokens), `position_ids` and
`past_key_values.<i>.key/value` (past length may be 0); outputs `logits` and `present.<i>.key/value`.
The tracer cannot follow transformers' mask builder (it uses vmap and bakes shapes in), so the
wrapper passes its own 4-D additive mask and cache positions, computed with tensor operations only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .export import cap_ir_version
from .external import save_graph

INPUTS = ("input_ids", "attention_mask", "position_ids")


def _layers(config: Any) -> tuple[int, int, int]:
    heads = config.num_attention_heads
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    return config.num_hidden_layers, kv_heads, head_dim


def names(config: Any) -> tuple[list[str], list[str]]:
    layers = _layers(config)[0]
    past = [f"past_key_values.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
    present = [f"present.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
    return [*INPUTS, *past], ["logits", *present]


def wrapper(model: Any):
    import torch
    from transformers import DynamicCache

    layers = _layers(model.config)[0]

    class Decoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, position_ids, *past):
            cache = DynamicCache()
            for i in range(layers):
                cache.update(past[2 * i], past[2 * i + 1], i)
            q, k = input_ids.shape[1], attention_mask.shape[1]
            rows = torch.arange(q)[:, None] + (k - q)
            allowed = (torch.arange(k)[None, :] <= rows)[None, None] & attention_mask[:, None, None, :].bool()
            mask = torch.zeros(allowed.shape, dtype=torch.float32).masked_fill(~allowed, torch.finfo(torch.float32).min)
            out = self.model(input_ids=input_ids, attention_mask=mask, position_ids=position_ids,
                             past_key_values=cache, use_cache=True, cache_position=torch.arange(q) + (k - q))
            presents = []
            for layer in out.past_key_values.layers:
                presents += [layer.keys, layer.values]
            return (out.logits, *presents)

    return Decoder().eval()


def feeds(config: Any, past_length: int, length: int, batch: int = 2, seed: int = 0) -> dict[str, np.ndarray]:
    """Random tokens, a left-padded second row, and random past keys/values of the given length."""
    rng = np.random.default_rng(seed)
    layers, kv_heads, head_dim = _layers(config)
    mask = np.ones((batch, past_length + length), dtype=np.int64)
    mask[-1, : min(2, past_length + length - 1)] = 0
    position = np.clip(np.cumsum(mask, axis=1) - 1, 0, None)[:, past_length:]
    out = {"input_ids": rng.integers(0, config.vocab_size, (batch, length)), "attention_mask": mask,
           "position_ids": position.astype(np.int64)}
    for i in range(layers):
        for kv in ("key", "value"):
            out[f"past_key_values.{i}.{kv}"] = rng.standard_normal((batch, kv_heads, past_length, head_dim)).astype(np.float32)
    return out


def text_feeds(model: Any, tokenizer: Any, texts: list[str], past_length: int, length: int) -> dict[str, np.ndarray]:
    """Real tokens (the second row left-padded) and the past the model itself computed for the first
    `past_length` of them: activations as a prompt gives them, where random past values have outliers
    no prompt produces (SmolLM2, 30 layers: 2e-4 on logits with random past, 4e-5 with a real one)."""
    total = past_length + length
    ids = np.zeros((2, total), dtype=np.int64)
    mask = np.ones((2, total), dtype=np.int64)
    for row, text in enumerate(texts[:2]):
        tokens = tokenizer(text, add_special_tokens=False)["input_ids"]
        skip = min(2, total - 1) if row == 1 else 0
        ids[row, skip:] = (tokens * (total // max(len(tokens), 1) + 1))[:total - skip]
        mask[row, :skip] = 0
    position = np.clip(np.cumsum(mask, axis=1) - 1, 0, None).astype(np.int64)
    empty = feeds(model.config, 0, 1)
    past = {n: v[:2] for n, v in empty.items() if n.startswith("past_key_values.")}
    if past_length:
        prefix = {"input_ids": ids[:, :past_length], "attention_mask": mask[:, :past_length],
                  "position_ids": position[:, :past_length], **past}
        presents = reference(model, prefix)
        past = {n: presents[n.replace("past_key_values", "present")] for n in past}
    return {"input_ids": ids[:, past_length:], "attention_mask": mask, "position_ids": position[:, past_length:], **past}


def export(model: Any, path: Path, opset: int) -> None:
    import torch
    import transformers.masking_utils as masking

    inputs, outputs = names(model.config)
    axes = {"input_ids": {0: "batch_size", 1: "sequence_length"}, "attention_mask": {0: "batch_size", 1: "total_length"},
            "position_ids": {0: "batch_size", 1: "sequence_length"}, "logits": {0: "batch_size", 1: "sequence_length"}}
    axes.update({n: {0: "batch_size", 2: "past_sequence_length"} for n in inputs[3:]})
    axes.update({n: {0: "batch_size", 2: "total_length"} for n in outputs[1:]})
    sample = feeds(model.config, past_length=3, length=4)
    original = masking.sdpa_mask
    masking.sdpa_mask = masking.sdpa_mask_older_torch  # the recent one uses vmap, which tracing cannot follow
    try:
        with torch.no_grad():
            torch.onnx.export(wrapper(model), tuple(torch.from_numpy(sample[n]) for n in inputs), str(path),
                              input_names=inputs, output_names=outputs, dynamic_axes=axes, opset_version=opset,
                              dynamo=False)
    finally:
        masking.sdpa_mask = original
    share_tied_embedding(path)
    cap_ir_version(path)


def share_tied_embedding(path: Path) -> bool:
    """A model with tied input and output embeddings (SmolLM2) exports the output projection as a second,
    transposed copy of the embedding: 113 MB more of SmolLM2's 653 MB. Read it through a Transpose of the
    embedding instead (ONNX Runtime folds it when the session starts). Returns whether a copy was dropped."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    tensors = {t.name: t for t in graph.initializer}
    tables = {n.input[0] for n in graph.node if n.op_type == "Gather" and n.input[0] in tensors}
    dropped = set()
    for node in graph.node:
        if node.op_type != "MatMul" or node.input[1] not in tensors or node.input[1] in dropped:
            continue
        copy = tensors[node.input[1]]
        for name in tables:
            table = tensors[name]
            if list(table.dims) == list(copy.dims)[::-1] and \
                    np.array_equal(numpy_helper.to_array(table).T, numpy_helper.to_array(copy)):
                for reader in graph.node:
                    reader.input[:] = [f"{name}_transposed" if i == copy.name else i for i in reader.input]
                graph.node.insert(0, helper.make_node("Transpose", [name], [f"{name}_transposed"],
                                                      name=f"{name}_Transpose", perm=[1, 0]))
                dropped.add(copy.name)
                break
    if not dropped:
        return False
    kept = [t for t in graph.initializer if t.name not in dropped]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    save_graph(model, path)
    return True


def reference(model: Any, sample: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    import torch

    inputs, outputs = names(model.config)
    with torch.no_grad():
        got = wrapper(model)(*(torch.from_numpy(sample[n]) for n in inputs))
    return {name: value.numpy() for name, value in zip(outputs, got)}
