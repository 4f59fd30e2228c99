"""feature-extraction: token embeddings, or pooled and normalized sentence embeddings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..dtypes import onnx_file
from ..errors import ModelError, RequestError
from .. import tokenizers
from .base import LoadContext, Pipeline

POOLINGS = ("none", "mean", "cls")
# Dynamically quantized graphs scale activations per tensor, so batch-mates and padding would change
# each other's results (all-MiniLM q8: min cosine to fp32 0.9894 batched, 0.993 alone): run one by one.
DYNAMIC_QUANTIZED = frozenset({"q8", "int8", "uint8"})
KNOWN_OPTIONS = frozenset({"pooling", "normalize"})


@dataclass
class Batch:
    input_ids: np.ndarray
    attention_mask: np.ndarray
    token_type_ids: np.ndarray
    single: bool


class FeatureExtractionPipeline(Pipeline):
    task = "feature-extraction"
    aliases = ("sentence-similarity",)

    def __init__(self, tokenizer: Any, session: Any, max_length: int, one_by_one: bool = False) -> None:
        self.tokenizer = tokenizer
        self.session = session
        self.one_by_one = one_by_one
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length)

    @classmethod
    async def load(cls, ctx: LoadContext) -> "FeatureExtractionPipeline":
        config = await ctx.json("config.json")
        try:
            tokenizer = tokenizers.load(await ctx.tokenizer_file("tokenizer.json"))
        except (ValueError, NotImplementedError) as error:
            raise ModelError(f"{ctx.options.tokenizerId or ctx.options.modelId}: tokenizer.json: {error}") from None
        tokenizer_config = await ctx.json("tokenizer_config.json", tokenizer=True, optional=True) or {}
        limit = min(int(tokenizer_config.get("model_max_length", 512)), int(config.get("max_position_embeddings", 512)))
        session = await ctx.session(onnx_file("model", ctx.options.dtype))
        return cls(tokenizer, session, limit, one_by_one=ctx.options.dtype in DYNAMIC_QUANTIZED)

    def preprocess(self, args: list[Any], options: dict[str, Any]) -> Batch:
        unknown = set(options) - KNOWN_OPTIONS
        if unknown:
            raise RequestError(f"feature-extraction: unknown option(s) {', '.join(sorted(unknown))}")
        if options.get("pooling", "none") not in POOLINGS:
            raise RequestError(f"feature-extraction: pooling must be one of {', '.join(POOLINGS)}, got {options['pooling']!r}")
        if not args:
            raise RequestError("feature-extraction: args must hold a text or a list of texts")
        texts = args[0]
        single = isinstance(texts, str)
        texts = [texts] if single else texts
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            raise RequestError("feature-extraction: args[0] must be a string or a non-empty list of strings")
        encodings = self.tokenizer.encode_batch(texts)
        width = max(len(e) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            ids[row, : len(e)] = e.ids
            mask[row, : len(e)] = e.attention_mask
            types[row, : len(e)] = e.type_ids
        return Batch(ids, mask, types, single)

    async def _run(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        outputs = await self.session.run({k: v for k, v in feeds.items() if k in self.session.input_names})
        name = "last_hidden_state" if "last_hidden_state" in outputs else self.session.output_names[0]
        return outputs[name].astype(np.float32)

    async def forward(self, inputs: Batch, options: dict[str, Any]) -> np.ndarray:
        if not self.one_by_one or len(inputs.input_ids) == 1:
            return await self._run(inputs.input_ids, inputs.attention_mask, inputs.token_type_ids)
        hidden = None
        for row, length in enumerate(inputs.attention_mask.sum(axis=1)):
            part = slice(row, row + 1), slice(0, int(length))
            out = await self._run(inputs.input_ids[part], inputs.attention_mask[part], inputs.token_type_ids[part])
            if hidden is None:
                hidden = np.zeros((*inputs.input_ids.shape, out.shape[-1]), dtype=np.float32)
            hidden[row, : int(length)] = out[0]
        return hidden

    def postprocess(self, hidden: np.ndarray, inputs: Batch, options: dict[str, Any]) -> list:
        pooling = options.get("pooling", "none")
        mask = inputs.attention_mask.astype(np.float32)
        if pooling == "mean":
            summed = (hidden * mask[:, :, None]).sum(axis=1)
            pooled = summed / np.clip(mask.sum(axis=1, keepdims=True), 1e-9, None)
        elif pooling == "cls":
            pooled = hidden[:, 0]
        else:
            pooled = None
        if pooled is not None:
            if options.get("normalize"):
                pooled = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            return pooled.tolist()
        lengths = inputs.attention_mask.sum(axis=1)
        tokens = [hidden[i, : lengths[i]] for i in range(len(hidden))]
        if options.get("normalize"):
            tokens = [t / np.clip(np.linalg.norm(t, axis=-1, keepdims=True), 1e-12, None) for t in tokens]
        return [t.tolist() for t in tokens]

    def release(self) -> None:
        self.session.release()
