"""An encoder model as the text tasks use it: config, tokenizer with its configs, one ONNX session.

Rows are tokenized without padding and padded here, so each row's outputs are cut back to its own
tokens and a result never depends on its batch mates. Dynamically quantized graphs scale activations
per tensor over the whole batch, padding included, so there rows run one by one (all-MiniLM q8:
min cosine to fp32 0.9894 batched, 0.993 alone).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..dtypes import onnx_file
from ..errors import ModelError, RequestError
from .loading import LoadContext

DYNAMIC_QUANTIZED = frozenset({"q8", "int8", "uint8"})
# Position ids of these architectures start after the padding index (1), so two positions are unusable.
OFFSET_POSITIONS = frozenset({"roberta", "xlm-roberta", "camembert", "mpnet", "longformer", "data2vec-text"})


class TextEncoder:
    def __init__(self, name: str, config: dict[str, Any], tokenizer: Any, session: Any, per_token: bool,
                 one_by_one: bool) -> None:
        self.name = name
        self.config = config
        self.tokenizer = tokenizer
        self.session = session
        self.per_token = per_token
        self.one_by_one = one_by_one

    @classmethod
    async def load(cls, ctx: LoadContext, task: str, outputs: tuple[str, ...], per_token: bool,
                   head: str | None = None) -> "TextEncoder":
        """Refuses a model without the head the task needs, before and after its weights are fetched."""
        name = ctx.options.modelId
        config = await ctx.json("config.json")
        architectures = config.get("architectures") or []
        if head and architectures and not any(a.endswith(head) for a in architectures):
            raise ModelError(f"{name}: task {task!r} needs a model with a {head} head, but config.json "
                             f"names {', '.join(architectures)}")
        tokenizer, session = await ctx.together(ctx.pretrained_tokenizer(),
                                                ctx.session(onnx_file("model", ctx.options.dtype)))
        missing = [o for o in outputs if o not in session.output_names]
        if missing:
            session.release()
            raise ModelError(f"{name}: task {task!r} needs the ONNX output(s) {', '.join(missing)}, but "
                             f"{onnx_file('model', ctx.options.dtype)} has {', '.join(session.output_names)}")
        return cls(name, config, tokenizer, session, per_token, ctx.options.dtype in DYNAMIC_QUANTIZED)

    @property
    def max_length(self) -> int:
        """The longest row the model takes: the tokenizer's limit, capped by the position embeddings."""
        limit = self.tokenizer.model_max_length
        positions = self.config.get("max_position_embeddings")
        if positions:
            if self.config.get("model_type") in OFFSET_POSITIONS:
                positions -= 2
            limit = min(limit, int(positions))
        return limit

    def check_lengths(self, task: str, rows: list[Any]) -> None:
        """Over-long rows would index past the position embeddings: say so instead."""
        for row in rows:
            if len(row.ids) > self.max_length:
                raise RequestError(f"{task}: an input has {len(row.ids)} tokens but {self.name} takes at most "
                                   f"{self.max_length}; shorten it or pass truncation: true")

    @property
    def labels(self) -> dict[int, str]:
        return {int(k): v for k, v in (self.config.get("id2label") or {}).items()}

    def _feeds(self, rows: list[Any]) -> tuple[dict[str, np.ndarray], list[slice]]:
        width = max(len(r.ids) for r in rows)
        pad = self.tokenizer.pad_token_id or 0
        ids = np.full((len(rows), width), pad, dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        with_types = "token_type_ids" in self.tokenizer.model_input_names
        spans = []
        for i, row in enumerate(rows):
            n = len(row.ids)
            part = slice(width - n, width) if self.tokenizer.padding_side == "left" else slice(0, n)
            ids[i, part] = row.ids
            mask[i, part] = row.attention_mask
            if with_types:
                types[i, part] = row.type_ids
            spans.append(part)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        return {k: v for k, v in feeds.items() if k in self.session.input_names}, spans

    async def run(self, rows: list[Any]) -> list[dict[str, np.ndarray]]:
        """Each row's outputs (float32), per-token outputs cut to the row's own tokens."""
        if not rows:
            return []
        groups = [[r] for r in rows] if self.one_by_one else [rows]
        results = []
        for group in groups:
            feeds, spans = self._feeds(group)
            outputs = await self.session.run(feeds)
            width = feeds["input_ids"].shape[1]
            for i, span in enumerate(spans):
                results.append({name: (value[i, span] if self.per_token and value.ndim >= 2 and value.shape[1] == width
                                       else value[i]).astype(np.float32) for name, value in outputs.items()})
        return results

    def release(self) -> None:
        self.session.release()
