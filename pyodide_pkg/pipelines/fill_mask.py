"""fill-mask: the likeliest tokens for each mask token, with the completed sequence."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ModelError, RequestError
from .activations import softmax
from .arguments import texts
from .base import Pipeline
from .loading import LoadContext
from .encoder import TextEncoder


class FillMaskPipeline(Pipeline):
    def __init__(self, encoder: TextEncoder) -> None:
        self.encoder = encoder
        self.mask_id = encoder.tokenizer.token_id("mask_token")
        if self.mask_id is None:
            encoder.release()
            raise ModelError(f"{encoder.name}: fill-mask needs a tokenizer with a mask_token, and this one has none")

    @classmethod
    async def load(cls, ctx: LoadContext) -> "FillMaskPipeline":
        return cls(await TextEncoder.load(ctx))

    def target_ids(self, targets: list[str]) -> np.ndarray:
        """Each target's id; a word outside the vocabulary stands for its first token, as in transformers."""
        tok = self.encoder.tokenizer
        vocab = tok.tokenizer.get_vocab()
        ids = []
        for target in targets:
            found = vocab.get(target)
            if found is None:
                first = tok(target, add_special_tokens=False, max_length=1, truncation=True)["input_ids"]
                if not first:
                    continue
                found = first[0]
            ids.append(found)
        ids = list(set(ids))
        if not ids:
            raise RequestError("fill-mask: none of the targets is in the model's vocabulary")
        return np.array(ids)

    async def __call__(self, args: list[Any], options: dict[str, Any]) -> Any:
        opts = self.options(options)
        top_k, targets = opts["top_k"], opts["targets"]
        target_ids = self.target_ids(targets) if targets is not None else None
        if target_ids is not None:
            top_k = min(top_k, len(target_ids))
        sentences, single = texts(self.task, args)
        tok = self.encoder.tokenizer
        rows, _ = tok.encode_rows(sentences)
        for sentence, row in zip(sentences, rows):
            if self.mask_id not in row.ids:
                raise RequestError(f"fill-mask: no mask token ({tok.mask_token}) in the input {sentence[:80]!r}")
        self.encoder.check_lengths(self.task, rows)
        outputs = await self.encoder.run(rows)
        results = [self.postprocess_row(row.ids, out["logits"], top_k, target_ids) for row, out in zip(rows, outputs)]
        return results[0] if single or len(results) == 1 else results

    def postprocess_row(self, ids: list[int], logits: np.ndarray, top_k: int, target_ids: np.ndarray | None) -> list:
        tok = self.encoder.tokenizer
        ids = np.array(ids)
        masked = np.nonzero(ids == self.mask_id)[0]
        probs = softmax(logits[masked].astype(np.float32))
        if target_ids is not None:
            probs = probs[:, target_ids]
        single = len(masked) == 1
        rows = []
        for i, row_probs in enumerate(probs):
            order = np.argsort(-row_probs, kind="stable")[:top_k]
            row = []
            for p in order:
                token = int(target_ids[p]) if target_ids is not None else int(p)
                filled = ids.copy()
                filled[masked[i]] = token
                filled = filled[filled != tok.pad_token_id] if tok.pad_token_id is not None else filled
                row.append({"score": float(row_probs[p]), "token": token,
                            "token_str": tok.decode([token]),
                            "sequence": tok.decode(filled.tolist(), skip_special_tokens=single)})
            rows.append(row)
        return rows[0] if single else rows

    def release(self) -> None:
        self.encoder.release()
