"""An encoder model as the text tasks use it: config, tokenizer with its configs, one ONNX session.

Rows are tokenized without padding and padded here, so each row's outputs are cut back to its own
tokens and a result never depends on its batch mates. That leaves the batching free: a run pads every row
to its longest, so rows run in batches of similar length (sentence-transformers sorts by length for the
same reason). Dynamically quantized graphs scale activations per tensor over the whole batch, padding
included, so there rows run one by one (all-MiniLM q8: min cosine to fp32 0.9894 batched, 0.993 alone).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ModelError, RequestError
from ..model_config import encoder_positions, labels
from .loading import LoadContext

DYNAMIC_QUANTIZED = frozenset({"q8", "int8", "uint8"})
# A run's fixed cost, in tokens: all-MiniLM-L6-v2 fp32 on 2 threads ran one 3-token row in about what 16 more
# tokens in a batch cost (under CPython 1.4 ms against 0.075 ms a token; in the browser ~5 ms against ~0.33).
RUN_COST_IN_TOKENS = 16
# At most this many rows per run: it bounds a run's memory (a long input's outputs grow with its rows) and the
# batching's own work (linear in the rows, not quadratic).
MAX_BATCH_ROWS = 256


def length_batches(lengths: list[int], run_cost: int = RUN_COST_IN_TOKENS,
                   max_rows: int = MAX_BATCH_ROWS) -> list[list[int]]:
    """Row indices batched for the least padded tokens plus `run_cost` per run, at most `max_rows` per batch:
    rows sorted by length, cut where a cut saves more padding than a run costs (exact, by dynamic programming
    over the cut points)."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    ordered = np.array([lengths[i] for i in order], dtype=np.int64)
    best = np.zeros(len(order) + 1, dtype=np.int64)  # least cost of the first j sorted rows
    cut = np.zeros(len(order) + 1, dtype=np.int64)   # where their last batch starts
    starts = np.arange(len(order) + 1)
    for end in range(1, len(order) + 1):
        first = max(0, end - max_rows)
        costs = best[first:end] + run_cost + (end - starts[first:end]) * ordered[end - 1]
        cut[end] = first + int(np.argmin(costs))
        best[end] = costs[cut[end] - first]
    batches, end = [], len(order)
    while end:
        batches.append(order[cut[end]:end])
        end = int(cut[end])
    return batches[::-1]


async def _none() -> None:
    return None


class TextEncoder:
    def __init__(self, name: str, config: dict[str, Any], tokenizer: Any, session: Any, per_token: bool,
                 one_by_one: bool) -> None:
        self.name = name
        self.config = config
        self.tokenizer = tokenizer
        self.session = session
        self.per_token = per_token
        self.one_by_one = one_by_one
        self.row_limit: int | None = None  # sentence-transformers' own cut
        self._pair_specials: int | None = None

    @classmethod
    async def load(cls, ctx: LoadContext, sentence_transformers: bool = False) -> "TextEncoder":
        """Refuses a model without the head and outputs its task needs (tasks.py), before and after its
        weights are fetched. With `sentence_transformers`, a sentence_bert_config.json's max_seq_length
        limits rows as sentence-transformers does (all-MiniLM-L6-v2: 256 of its tokenizer's 512)."""
        name, task = ctx.options.modelId, ctx.task
        config = await ctx.json("config.json")
        architectures = config.get("architectures") or []
        if task.head and architectures and not any(a.endswith(task.head) for a in architectures):
            raise ModelError(f"{name}: task {task.name!r} needs a model with a {task.head} head, but config.json "
                             f"names {', '.join(architectures)}")
        sentence = ctx.json("sentence_bert_config.json", optional=True) if sentence_transformers else None
        tokenizer, session, sentence_config = await ctx.together(ctx.pretrained_tokenizer(), ctx.model(),
                                                                 sentence or _none())
        encoder = cls(name, config, tokenizer, session, task.per_token, ctx.options.dtype in DYNAMIC_QUANTIZED)
        limit = (sentence_config or {}).get("max_seq_length")
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                session.release()
                raise ModelError(f"{name}: sentence_bert_config.json max_seq_length must be a positive integer, "
                                 f"got {limit!r}")
            encoder.row_limit = limit
        return encoder

    @property
    def max_length(self) -> int:
        """The longest row the model takes: the tokenizer's limit, capped by the position embeddings."""
        limits = [self.tokenizer.model_max_length, encoder_positions(self.config), self.row_limit]
        return min(limit for limit in limits if limit)

    def token_count(self, text: str) -> int:
        return len(self.tokenizer.encode_rows(text, add_special_tokens=False)[0][0].ids)

    @property
    def pair_specials(self) -> int:
        """How many special tokens a pair of texts gets (e.g. BERT's [CLS] a [SEP] b [SEP]: 3)."""
        if self._pair_specials is None:
            pair = len(self.tokenizer.encode_rows("a", "b")[0][0].ids)
            self._pair_specials = pair - self.token_count("a") - self.token_count("b")
        return self._pair_specials

    def pair_room(self, other: str, limit: int) -> int:
        """Tokens left for one text of a pair beside `other` within `limit`; below 1, no truncation of the
        first can make the pair fit."""
        return limit - self.pair_specials - self.token_count(other)

    def check_lengths(self, task: str, rows: list[Any]) -> None:
        """Over-long rows would index past the position embeddings: say so instead."""
        for row in rows:
            if len(row.ids) > self.max_length:
                raise RequestError(f"{task}: an input has {len(row.ids)} tokens but {self.name} takes at most "
                                   f"{self.max_length}; shorten it or pass truncation: true")

    @property
    def labels(self) -> dict[int, str]:
        return labels(self.config)

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
        batches = ([[i] for i in range(len(rows))] if self.one_by_one
                   else length_batches([len(row.ids) for row in rows]))
        results: list[dict[str, np.ndarray]] = [{} for _ in rows]
        for batch in batches:
            feeds, spans = self._feeds([rows[i] for i in batch])
            outputs = await self.session.run(feeds)
            width = feeds["input_ids"].shape[1]
            for i, (row, span) in enumerate(zip(batch, spans)):
                results[row] = {name: (value[i, span] if self.per_token and value.ndim >= 2 and value.shape[1] == width
                                       else value[i]).astype(np.float32) for name, value in outputs.items()}
        return results

    def release(self) -> None:
        self.session.release()
