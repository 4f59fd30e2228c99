"""text-classification (sentiment-analysis): labels and scores for texts or text pairs."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import RequestError
from .activations import classification_function, scores_of
from .base import Pipeline
from .loading import LoadContext
from .encoder import TextEncoder


class TextClassificationPipeline(Pipeline):
    def __init__(self, encoder: TextEncoder) -> None:
        self.encoder = encoder

    @classmethod
    async def load(cls, ctx: LoadContext) -> "TextClassificationPipeline":
        return cls(await TextEncoder.load(ctx))

    @staticmethod
    def _pairs(value: Any) -> tuple[list[tuple[str, str | None]], bool, bool]:
        """(text, pair) items; whether the input was one item; whether that item was a plain text."""
        def item(v: Any) -> tuple[str, str | None]:
            if isinstance(v, str):
                return v, None
            if isinstance(v, dict) and isinstance(v.get("text"), str) and set(v) <= {"text", "text_pair"} \
                    and isinstance(v.get("text_pair", ""), str):
                return v["text"], v.get("text_pair")
            raise RequestError("text-classification: an input is a text or {text, text_pair}, got "
                               f"{type(v).__name__}")
        if isinstance(value, (str, dict)):
            return [item(value)], True, isinstance(value, str)
        if isinstance(value, list) and value:
            return [item(v) for v in value], False, False
        raise RequestError("text-classification: args[0] must be a text, {text, text_pair}, or a non-empty list of them")

    async def __call__(self, args: list[Any], options: dict[str, Any]) -> Any:
        opts = self.options(options)
        legacy = "top_k" not in options
        top_k, function, truncation = opts["top_k"], opts["function_to_apply"], opts["truncation"]
        function = classification_function(self.encoder.config) if function == "default" else function
        if not args:
            raise RequestError("text-classification: args must hold a text or a list of texts")
        items, one, plain = self._pairs(args[0])
        tok = self.encoder.tokenizer
        rows = []
        for text, pair in items:  # a pair changes the encoding, so texts with and without one are encoded apart
            found, _ = tok.encode_rows(text, pair, truncation=truncation, max_length=self.encoder.max_length)
            rows.extend(found)
        self.encoder.check_lengths(self.task, rows)
        outputs = await self.encoder.run(rows)
        results = [self._scores(out["logits"], function, top_k, legacy) for out in outputs]
        if one:
            return [results[0]] if plain and legacy else results[0]
        return results

    def _scores(self, logits: np.ndarray, function: str, top_k: int | None, legacy: bool) -> Any:
        scores = scores_of(logits, function)
        labels = self.encoder.labels
        if top_k == 1 and legacy:
            best = int(scores.argmax())
            return {"label": labels.get(best, f"LABEL_{best}"), "score": float(scores[best])}
        ranked = [{"label": labels.get(i, f"LABEL_{i}"), "score": float(s)} for i, s in enumerate(scores)]
        if not legacy:
            ranked.sort(key=lambda r: r["score"], reverse=True)
            if top_k is not None:
                ranked = ranked[:top_k]
        return ranked

    def release(self) -> None:
        self.encoder.release()
