"""feature-extraction (sentence-similarity): token embeddings, or pooled and normalized sentence embeddings."""

from __future__ import annotations

from typing import Any

import numpy as np

from .arguments import texts
from .base import Pipeline
from .loading import LoadContext
from .encoder import TextEncoder



def normalized(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.clip(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12, None)


class FeatureExtractionPipeline(Pipeline):
    def __init__(self, encoder: TextEncoder) -> None:
        self.encoder = encoder

    @classmethod
    async def load(cls, ctx: LoadContext) -> "FeatureExtractionPipeline":
        return cls(await TextEncoder.load(ctx, sentence_transformers=True))

    async def __call__(self, args: list[Any], options: dict[str, Any]) -> list:
        opts = self.options(options)
        pooling, normalize = opts["pooling"], opts["normalize"]
        items, _ = texts(self.task, args)
        rows, _ = self.encoder.tokenizer.encode_rows(items, truncation=True, max_length=self.encoder.max_length)
        outputs = await self.encoder.run(rows)
        names = self.encoder.session.output_names
        name = "last_hidden_state" if "last_hidden_state" in names else names[0]
        results = []
        for row, out in zip(rows, outputs):
            hidden = out[name]
            mask = np.array(row.attention_mask, dtype=np.float32)[:, None]
            if pooling == "mean":
                vector = (hidden * mask).sum(axis=0) / np.clip(mask.sum(), 1e-9, None)
            elif pooling == "cls":
                vector = hidden[0]
            elif pooling == "max":
                vector = np.where(mask > 0, hidden, np.float32(-1e9)).max(axis=0)
            else:
                vector = hidden
            results.append(normalized(vector) if normalize else vector)
        return results

    def release(self) -> None:
        self.encoder.release()
