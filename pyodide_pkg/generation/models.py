"""ONNX decoders as step models: feed the new tokens, keep the key/value cache, reorder it for beams.

Decoder-only graphs (`model.onnx`) take `past_key_values.<i>.key/value`; merged seq2seq decoders
(`decoder_model_merged.onnx`) take `.decoder.`/`.encoder.` caches and `use_cache_branch`, and give
the cross-attention cache on the first step only. A graph without past inputs (a plain
`decoder_model.onnx`) or `use_cache: false` re-reads the whole sequence every step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..model_config import cache_dims

PAST = "past_key_values."


class DecoderCache:
    """The past inputs of one request's decoding and how they are filled from the present outputs.

    One per request, never on the shared model: concurrent runs of one engine interleave their steps.
    """

    def __init__(self, names: list[str], heads: int, size: int, enabled: bool) -> None:
        self.names = names
        self.heads, self.size = heads, size
        self.enabled = enabled and bool(names)
        self.past: dict[str, np.ndarray] | None = None
        self.length = 0

    def empty(self, rows: int, encoder_length: int) -> dict[str, np.ndarray]:
        """Placeholders for the first step (the graph ignores them there): no past tokens."""
        return {n: np.zeros((rows, self.heads, encoder_length if ".encoder." in n else 0, self.size), np.float32)
                for n in self.names}

    def feeds(self, ids: np.ndarray, encoder_length: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The tokens to feed and the past to feed with them."""
        if self.enabled and self.past is not None:
            return ids[:, self.length:], self.past
        return ids, self.empty(len(ids), encoder_length)

    def keep(self, outputs: dict[str, np.ndarray], total: int) -> None:
        if not self.enabled:
            return
        first = self.past is None
        self.past = {n: outputs[n.replace(PAST, "present.")] if first or ".encoder." not in n else self.past[n]
                     for n in self.names}
        self.length = total

    def reorder(self, index: np.ndarray) -> None:
        if self.past is not None:
            self.past = {n: v[index] for n, v in self.past.items()}


class DecoderModel:
    """What a decoder session needs to know about its cache; each request decodes with its own state."""

    def __init__(self, decoder: Any, config: dict[str, Any]) -> None:
        self.decoder = decoder
        self.past_names = [n for n in decoder.input_names if n.startswith(PAST)]
        self.heads, self.head_size = cache_dims(config)

    def new_cache(self, use_cache: bool) -> DecoderCache:
        return DecoderCache(self.past_names, self.heads, self.head_size, use_cache)


class CausalModel(DecoderModel):
    """A decoder-only model: input_ids, attention_mask, position_ids (when the graph takes them), past."""

    def start(self, use_cache: bool = True) -> "CausalDecoding":
        return CausalDecoding(self, self.new_cache(use_cache))

    def release(self) -> None:
        self.decoder.release()


class CausalDecoding:
    """One request's decoding on a CausalModel."""

    def __init__(self, model: CausalModel, cache: DecoderCache) -> None:
        self.session = model.decoder
        self.cache = cache

    async def step(self, ids: np.ndarray) -> np.ndarray:
        new, past = self.cache.feeds(ids)
        total = ids.shape[1]
        feeds = {"input_ids": new, "attention_mask": np.ones((len(ids), total), np.int64),
                 "position_ids": np.broadcast_to(np.arange(total - new.shape[1], total, dtype=np.int64), new.shape).copy(),
                 **past}
        outputs = await self.session.run({k: v for k, v in feeds.items() if k in self.session.input_names})
        self.cache.keep(outputs, total)
        return outputs["logits"][:, -1, :]

    def reorder(self, index: np.ndarray) -> None:
        self.cache.reorder(index)


class Seq2SeqModel(DecoderModel):
    """An encoder run once per request, and a decoder attending to its output (text or vision encoders)."""

    def __init__(self, encoder: Any, decoder: Any, config: dict[str, Any]) -> None:
        super().__init__(decoder, config)
        self.encoder = encoder

    async def encode(self, feeds: dict[str, np.ndarray], use_cache: bool = True) -> "Seq2SeqDecoding":
        outputs = await self.encoder.run({k: v for k, v in feeds.items() if k in self.encoder.input_names})
        hidden = outputs["last_hidden_state"].astype(np.float32)
        mask = feeds.get("attention_mask")
        return Seq2SeqDecoding(self.decoder, self.new_cache(use_cache), hidden,
                               np.ones(hidden.shape[:2], np.int64) if mask is None else mask)

    def release(self) -> None:
        self.encoder.release()
        self.decoder.release()


class Seq2SeqDecoding:
    """One request's decoding: its encoder output and its cache."""

    def __init__(self, decoder: Any, cache: DecoderCache, hidden: np.ndarray, mask: np.ndarray) -> None:
        self.decoder = decoder
        self.cache = cache
        self.hidden, self.mask = hidden, mask

    async def step(self, ids: np.ndarray) -> np.ndarray:
        rows = len(ids)
        if len(self.hidden) != rows:  # beams or several return sequences share one encoding
            self.hidden = np.repeat(self.hidden[:1], rows, axis=0)
            self.mask = np.repeat(self.mask[:1], rows, axis=0)
        new, past = self.cache.feeds(ids, self.hidden.shape[1])
        feeds = {"input_ids": new, "encoder_hidden_states": self.hidden, "encoder_attention_mask": self.mask,
                 "use_cache_branch": np.array([self.cache.past is not None]), **past}
        outputs = await self.decoder.run({k: v for k, v in feeds.items() if k in self.decoder.input_names})
        self.cache.keep(outputs, ids.shape[1])
        return outputs["logits"][:, -1, :]

    def reorder(self, index: np.ndarray) -> None:
        self.cache.reorder(index)
